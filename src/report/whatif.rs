//! `slipstream what-if`: history replayed under other targets (from any
//! source of window records) and other latency thresholds (from archived
//! logs, as the threshold changes which events are good). Each option gets
//! the objective's periods with their compliance and budget, how often the
//! budget ran out, and the pages and tickets that would have fired — the
//! same trackers and alert rules as the stream job, fed window by window.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{bail, Context, Result};

use super::data::{Records, WindowRow};
use super::series::Subject;
use crate::config::{BudgetMethod, Config, ObjectiveWindow, SliceOp, SliceRule};
use crate::slo::{Alerts, Severity, Tracker};
use crate::time::format_rfc3339;

/// One objective period of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub start_ns: i64,
    pub end_ns: i64,
    pub good: u64,
    pub bad: u64,
    /// The budget left at the period's last window, as a share.
    pub budget_left: Option<f64>,
    /// Whether an alert fired in the period.
    pub alerted: bool,
}

/// One alert episode of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub severity: Severity,
    pub start_ns: i64,
    pub end_ns: Option<i64>,
    /// Bad events from one long window before the start to the end, as a
    /// share of the budget allowed when the episode ended.
    pub budget_spent: Option<f64>,
}

/// What one option would have given.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub label: String,
    pub target: f64,
    pub periods: Vec<Period>,
    /// Times the budget went from left to overspent.
    pub exhaustions: usize,
    pub pages: usize,
    pub tickets: usize,
    pub episodes: Vec<Episode>,
    /// Compliance and budget left (share) at the last window.
    pub end_compliance: Option<f64>,
    pub end_budget_left: Option<f64>,
}

/// The config of `sli` with another target: the default timeslice rule
/// (compliance meets the target) follows the target.
pub fn with_target(config: &Config, sli: usize, target: f64) -> Config {
    let mut c = config.clone();
    if let Some(o) = c.slis[sli].objective.as_mut() {
        if o.slice
            == (SliceRule::Compliance {
                op: SliceOp::Ge,
                threshold: o.target,
            })
        {
            o.slice = SliceRule::Compliance {
                op: SliceOp::Ge,
                threshold: target,
            };
        }
        o.target = target;
    }
    c
}

/// Whether the window counts are enough to replay an SLI's objective: a
/// timeslice rule on a latency percentile needs the percentiles too.
pub fn replayable(sli: &crate::config::Sli) -> bool {
    sli.objective.as_ref().is_some_and(|o| {
        !(o.method == BudgetMethod::Timeslices && matches!(o.slice, SliceRule::Latency { .. }))
    })
}

/// Replays the window records of `sli` (evaluated at every window end in
/// `ends`, as the stream job evaluates at every closed window) under the
/// objective of `config`.
pub fn replay(
    config: &Config,
    sli: usize,
    label: String,
    windows: &[WindowRow],
    starts: &BTreeSet<i64>,
) -> Result<Outcome> {
    let s = &config.slis[sli];
    let o = s
        .objective
        .as_ref()
        .with_context(|| format!("{} has no objective", s.name))?;
    if o.method == BudgetMethod::Timeslices && matches!(o.slice, SliceRule::Latency { .. }) {
        bail!(
            "{}: a what-if over a percentile slice rule needs the percentiles; replay the logs with a changed config instead",
            s.name
        );
    }
    let size = config.window.size_ns;
    let counts: BTreeMap<i64, (u64, u64)> = windows
        .iter()
        .filter(|w| w.sli == s.name)
        .map(|w| (w.start_ns, (w.good, w.bad)))
        .collect();
    let mut tracker = Tracker::new(o, size);
    let mut alerts = Alerts::new();
    let first = starts.iter().next().copied().unwrap_or(0);
    let mut periods: Vec<Period> = Vec::new();
    let mut out = Outcome {
        label,
        target: o.target,
        periods: Vec::new(),
        exhaustions: 0,
        pages: 0,
        tickets: 0,
        episodes: Vec::new(),
        end_compliance: None,
        end_budget_left: None,
    };
    let mut overspent = false;
    for &start in starts {
        let (g, b) = counts.get(&start).copied().unwrap_or((0, 0));
        tracker.observe(start, g, b);
        let at = start + size;
        let state = tracker.state(at);
        let mut fired = false;
        for change in alerts.evaluate(&tracker, at) {
            let spent = |end: i64| {
                let allowed = state.allowed();
                let bad = tracker
                    .sum(
                        change.incident_start_ns - change.pair.long_secs * 1_000_000_000,
                        end,
                    )
                    .bad;
                (allowed > 0.0).then(|| bad as f64 / allowed)
            };
            if change.firing {
                fired = true;
                match change.severity {
                    Severity::Page => out.pages += 1,
                    Severity::Ticket => out.tickets += 1,
                }
                out.episodes.push(Episode {
                    severity: change.severity,
                    start_ns: at,
                    end_ns: None,
                    budget_spent: spent(at),
                });
            } else if let Some(e) = out
                .episodes
                .iter_mut()
                .rev()
                .find(|e| e.severity == change.severity && e.end_ns.is_none())
            {
                e.end_ns = Some(at);
                e.budget_spent = spent(at);
            }
        }
        let now_over = state.remaining() < 0.0;
        if now_over && !overspent {
            out.exhaustions += 1;
        }
        overspent = now_over;
        // The objective's periods: calendar ones as they fall, rolling ones
        // as consecutive blocks from the first window.
        let period_start = match o.window {
            ObjectiveWindow::Rolling(d) => {
                let len = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
                first + (start - first).div_euclid(len) * len
            }
            _ => state.period_start_ns,
        };
        if periods.last().map(|p| p.start_ns) != Some(period_start) {
            periods.push(Period {
                start_ns: period_start,
                end_ns: at,
                good: 0,
                bad: 0,
                budget_left: None,
                alerted: false,
            });
        }
        let p = periods.last_mut().context("a period")?;
        p.end_ns = at;
        p.alerted |= fired;
        // Slices or events, as the objective counts them.
        let c = tracker.sum(start, at);
        p.good += c.good;
        p.bad += c.bad;
        let allowed = (1.0 - o.target) * (p.good + p.bad) as f64;
        p.budget_left = (allowed > 0.0).then(|| (allowed - p.bad as f64) / allowed);
        out.end_compliance = state.compliance();
        out.end_budget_left = state.remaining_ratio();
    }
    out.periods = periods;
    Ok(out)
}

/// The duration literals of a rule outside its string literals (a route
/// like `"/v2/5m"` holds none): where each stands, and its milliseconds.
pub fn durations(rule: &str) -> Vec<(std::ops::Range<usize>, f64)> {
    // Blank out string literals, keeping every byte offset.
    let mut masked = String::with_capacity(rule.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in rule.chars() {
        let quote = c == '"' && !escaped;
        let keep = !in_string || quote;
        escaped = in_string && c == '\\' && !escaped;
        if quote {
            in_string = !in_string;
        }
        if keep {
            masked.push(c);
        } else {
            masked.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    let Ok(re) = regex::Regex::new(r"\b(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)\b") else {
        return Vec::new();
    };
    re.captures_iter(&masked)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let v: f64 = c[1].parse().ok()?;
            let ms = match &c[2] {
                "ns" => v / 1e6,
                "us" | "µs" => v / 1e3,
                "ms" => v,
                "s" => v * 1e3,
                "m" => v * 60e3,
                _ => v * 3_600e3,
            };
            Some((whole.range(), ms))
        })
        .collect()
}

/// The good rule of `rule` with its one duration literal replaced by
/// `threshold` (`latency <= 300ms` with `200ms` is `latency <= 200ms`).
pub fn with_threshold(rule: &str, threshold: &str) -> Result<String> {
    // Only a duration can stand where a duration stood: anything else would
    // turn every event invalid without a word.
    let t = threshold.trim();
    if !matches!(durations(t).as_slice(), [(whole, _)] if *whole == (0..t.len())) {
        bail!("--threshold `{threshold}` is not a duration; write it like `250ms` or `1.5s`");
    }
    match durations(rule).as_slice() {
        [(one, _)] => Ok(format!("{}{t}{}", &rule[..one.start], &rule[one.end..])),
        [] => bail!("the good rule `{rule}` has no duration to replace; --threshold needs a rule like `latency <= 300ms`"),
        _ => bail!("the good rule `{rule}` has several durations; --threshold cannot tell which to replace"),
    }
}

/// Every option for one SLI: the current objective first, then each
/// target, then each threshold (which need the logs).
pub fn what_if(
    subject: &Subject<'_>,
    records: &Records,
    targets: &[f64],
    thresholds: &[String],
    logs: Option<&[String]>,
) -> Result<Vec<Outcome>> {
    let (config, sli) = (subject.config, subject.sli);
    let s = subject.sli();
    let o = s
        .objective
        .as_ref()
        .with_context(|| format!("{} has no objective to replay", s.name))?;
    let starts: BTreeSet<i64> = records.windows.iter().map(|w| w.start_ns).collect();
    let mut out = vec![replay(
        config,
        sli,
        format!(
            "target {} (current), good: {}",
            pct(o.target),
            s.good.source()
        ),
        &records.windows,
        &starts,
    )?];
    for &t in targets {
        out.push(replay(
            &with_target(config, sli, t),
            sli,
            format!("target {}, good: {}", pct(t), s.good.source()),
            &records.windows,
            &starts,
        )?);
    }
    for th in thresholds {
        let logs = logs.context(
            "--threshold changes which events are good: it needs the raw events (--logs)",
        )?;
        let rule = with_threshold(s.good.source(), th)?;
        let changed = config_with_rule(subject.text, &config.path, subject.block, &rule)?;
        let replayed = Records::windows_from_logs(&changed, logs)?;
        // The same SLI, or group, in the configuration the logs were read with.
        let changed = super::series::expand(&changed, &replayed);
        let at = changed
            .slis
            .iter()
            .position(|c| c.name == s.name)
            .with_context(|| format!("the logs hold no events of {}", s.name))?;
        let starts: BTreeSet<i64> = replayed.windows.iter().map(|w| w.start_ns).collect();
        out.push(replay(
            &changed,
            at,
            format!("target {}, good: {rule}", pct(o.target)),
            &replayed.windows,
            &starts,
        )?);
    }
    Ok(out)
}

/// The configuration with another `good` rule for one SLI.
fn config_with_rule(text: &str, path: &std::path::Path, sli: usize, rule: &str) -> Result<Config> {
    let mut doc: toml::Table = text.parse().context("the configuration is not TOML")?;
    let slis = doc
        .get_mut("sli")
        .and_then(|v| v.as_array_mut())
        .context("no [[sli]]")?;
    let table = slis
        .get_mut(sli)
        .and_then(|v| v.as_table_mut())
        .context("no such [[sli]]")?;
    table.insert("good".into(), toml::Value::String(rule.to_string()));
    let changed = toml::to_string(&doc).context("cannot write the changed configuration")?;
    Ok(Config::parse(path, &changed)?)
}

fn pct(r: f64) -> String {
    super::pct_trimmed(r, 4)
}

fn day(ns: i64) -> String {
    let s = format_rfc3339(ns);
    format!("{} {}", &s[..10], &s[11..16])
}

/// The tables, as aligned plain text, after the latency percentiles of the
/// whole history (the windows' histograms merged), when it has latencies.
pub fn render(sli: &str, latency: Option<&super::PeriodLatency>, outcomes: &[Outcome]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{sli}: what if");
    if let Some(l) = latency {
        let _ = writeln!(
            o,
            "  latency over the history ({} requests): {}",
            crate::setup::thousands(l.count),
            l.listed(|ms| format!("{ms:.1}"))
        );
    }
    for oc in outcomes {
        let _ = writeln!(o, "\n  {}", oc.label);
        let _ = writeln!(
            o,
            "    {:<35} {:>10} {:>8} {:>11} {:>4} {:>12}",
            "period (UTC)", "good", "bad", "compliance", "met", "budget left"
        );
        for p in &oc.periods {
            let valid = p.good + p.bad;
            let compliance = (valid > 0).then(|| p.good as f64 / valid as f64);
            let met = compliance.map_or("-", |c| if c >= oc.target { "yes" } else { "no" });
            let _ = writeln!(
                o,
                "    {:<35} {:>10} {:>8} {:>11} {:>4} {:>12}",
                format!("{} – {}", day(p.start_ns), day(p.end_ns)),
                p.good,
                p.bad,
                compliance.map_or("-".into(), |c| format!("{:.3}%", c * 100.0)),
                met,
                p.budget_left
                    .map_or("-".into(), |b| format!("{:.1}%", b * 100.0)),
            );
        }
        let met = oc
            .periods
            .iter()
            .filter(|p| p.good + p.bad > 0 && p.good as f64 / (p.good + p.bad) as f64 >= oc.target)
            .count();
        let _ = writeln!(
            o,
            "    periods met {met}/{} · budget exhaustions {} · pages {} · tickets {} · at the end: compliance {}, budget left {}",
            oc.periods.len(),
            oc.exhaustions,
            oc.pages,
            oc.tickets,
            oc.end_compliance.map_or("-".into(), |c| format!("{:.3}%", c * 100.0)),
            oc.end_budget_left.map_or("-".into(), |b| format!("{:.1}%", b * 100.0)),
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_duration_of_a_rule_is_replaced() {
        assert_eq!(
            with_threshold("latency <= 300ms", "200ms").unwrap(),
            "latency <= 200ms"
        );
        assert_eq!(
            with_threshold("status < 500 && latency < 1.5s", "800ms").unwrap(),
            "status < 500 && latency < 800ms"
        );
        assert!(with_threshold("status < 500", "1s").is_err());
        for bad in ["x", "5OOms", "300", "ms", "1s && true", ""] {
            let e = with_threshold("latency <= 300ms", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
        assert_eq!(
            with_threshold("latency <= 300ms", "1.5s").unwrap(),
            "latency <= 1.5s"
        );
        assert!(with_threshold("latency < 1s || latency > 5s", "2s").is_err());
        // A duration-looking string is not a duration.
        assert_eq!(
            with_threshold(r#"route != "/v2/5m" && latency <= 300ms"#, "200ms").unwrap(),
            r#"route != "/v2/5m" && latency <= 200ms"#
        );
        assert_eq!(durations(r#"a == "x\"5m" && latency < 1.5s"#)[0].1, 1500.0);
    }
}
