//! `slipstream suggest`: a target (and, from the logs, a latency threshold)
//! proposed from history, with the reasoning: what users actually got, how
//! much headroom the proposal leaves, and how often it would have alerted.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::{Context, Result};

use super::data::Records;
use super::series::{series_latency, Subject};
use super::whatif::{replay, with_target, with_threshold, Outcome};
use crate::config::Percentile;

/// The targets a suggestion picks from.
pub const LADDER: [f64; 8] = [0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999];

/// Share of the budget the worst period must leave unspent.
pub const HEADROOM: f64 = 0.25;

/// Thresholds a suggestion rounds up to, in milliseconds.
const NICE_MS: [f64; 20] = [
    5.0, 10.0, 20.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0, 750.0,
    1000.0, 1500.0, 2000.0, 3000.0, 5000.0, 10000.0,
];

/// A proposal and why.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub sli: String,
    pub target: f64,
    /// `200ms`, when a latency threshold was suggested.
    pub threshold: Option<String>,
    pub reasons: Vec<String>,
}

fn pct(r: f64) -> String {
    super::pct_trimmed(r, 3)
}

fn compliances(o: &Outcome) -> Vec<f64> {
    o.periods
        .iter()
        .filter(|p| p.good + p.bad > 0)
        .map(|p| p.good as f64 / (p.good + p.bad) as f64)
        .collect()
}

/// The highest target of the ladder that every period met with
/// [`HEADROOM`] of its budget left; `None` when not even the lowest did.
pub fn pick_target(periods: &[f64]) -> Option<f64> {
    LADDER.iter().rev().copied().find(|&t| {
        periods
            .iter()
            .all(|&c| 1.0 - c <= (1.0 - HEADROOM) * (1.0 - t))
    })
}

/// Rounds a latency up to a threshold people remember.
pub fn nice_ms(ms: f64) -> f64 {
    NICE_MS
        .iter()
        .copied()
        .find(|&n| n >= ms)
        .unwrap_or_else(|| (ms / 1000.0).ceil() * 1000.0)
}

/// The suggestion for one SLI (or one group's series). `logs`, the
/// windows of a backfill of the raw logs read with `subject.file`, allows
/// a threshold suggestion (it needs every event's latency).
pub fn suggest(
    subject: &Subject<'_>,
    records: &Records,
    logs: Option<&[crate::window::Window]>,
) -> Result<Suggestion> {
    let (config, sli) = (subject.config, subject.sli);
    let s = subject.sli();
    let o = s
        .objective
        .as_ref()
        .with_context(|| format!("{} has no objective", s.name))?;
    let starts: BTreeSet<i64> = records.windows.iter().map(|w| w.start_ns).collect();
    let current = replay(config, sli, String::new(), &records.windows, &starts)?;
    let got = compliances(&current);
    let mut reasons = Vec::new();
    if got.is_empty() {
        let reason = match super::all_invalid(records, &s.name) {
            Some(n) => format!(
                "{}; keep the target until the events can be judged",
                super::all_invalid_text(n)
            ),
            None => "no traffic in the history: keep the target until there is some".into(),
        };
        return Ok(Suggestion {
            sli: s.name.clone(),
            target: o.target,
            threshold: None,
            reasons: vec![reason],
        });
    }
    let worst = got.iter().copied().fold(1.0, f64::min);
    let mut sorted = got.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    reasons.push(format!(
        "users got {} good in the worst of {} period(s), {} in the median one",
        pct(worst),
        got.len(),
        pct(median)
    ));
    let target = match pick_target(&got) {
        Some(t) => {
            let left = 1.0 - (1.0 - worst) / (1.0 - t);
            reasons.push(format!(
                "{} leaves {} of the budget in the worst period",
                pct(t),
                pct(left)
            ));
            if let Some(&higher) = LADDER.iter().find(|&&h| h > t) {
                let missed = got.iter().filter(|&&c| c < higher).count();
                reasons.push(format!(
                    "{} would have been missed in {missed} of {} period(s), or met with less than {} to spare",
                    pct(higher),
                    got.len(),
                    pct(HEADROOM)
                ));
            }
            t
        }
        None => {
            reasons.push(format!(
                "not even {} was met with {} to spare: fix reliability before promising more",
                pct(LADDER[0]),
                pct(HEADROOM)
            ));
            LADDER[0]
        }
    };
    let proposed = replay(
        &with_target(config, sli, target),
        sli,
        String::new(),
        &records.windows,
        &starts,
    )?;
    reasons.push(format!(
        "over the history it would have paged {} time(s) and opened {} ticket(s) (the current {} target: {} and {})",
        proposed.pages,
        proposed.tickets,
        pct(o.target),
        current.pages,
        current.tickets
    ));

    let mut threshold = None;
    if let (Some(windows), Ok(_)) = (logs, with_threshold(s.good.source(), "1ms")) {
        let all = series_latency(subject.file, subject.block, &s.name, windows);
        if all.count() > 0 {
            let q = Percentile::from_quantile((target * 1e9).round() / 1e9)
                .context("a target is a quantile")?;
            let at_target_ms = all.quantile_ns(q.numerator, q.denominator) as f64 / 1e6;
            let ms = nice_ms(at_target_ms * 1.2);
            let text = format!("{ms}ms");
            reasons.push(format!(
                "{} of the {} requests with a latency took at most {at_target_ms:.1} ms; {text} adds 20% headroom, rounded up",
                pct(target),
                all.count()
            ));
            threshold = Some(text);
        }
    }
    Ok(Suggestion {
        sli: s.name.clone(),
        target,
        threshold,
        reasons,
    })
}

pub fn render(list: &[Suggestion]) -> String {
    let mut o = String::new();
    for s in list {
        let _ = write!(o, "{}: suggested target {}", s.sli, pct(s.target));
        if let Some(t) = &s.threshold {
            let _ = write!(o, ", latency threshold {t}");
        }
        o.push('\n');
        for r in &s.reasons {
            let _ = writeln!(o, "  - {r}");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_target_with_headroom_in_every_period() {
        assert_eq!(pick_target(&[0.997, 0.998]), Some(0.995));
        assert_eq!(pick_target(&[0.99999, 1.0]), Some(0.9999));
        assert_eq!(pick_target(&[1.0]), Some(0.99999));
        assert_eq!(pick_target(&[0.8]), None);
        // 0.3% bad against 0.5% allowed leaves 40%; against 0.1%, nothing.
        assert_eq!(pick_target(&[0.997]), Some(0.995));
    }

    #[test]
    fn thresholds_round_up() {
        assert_eq!(nice_ms(288.0), 300.0);
        assert_eq!(nice_ms(300.0), 300.0);
        assert_eq!(nice_ms(12_345.0), 13_000.0);
    }
}
