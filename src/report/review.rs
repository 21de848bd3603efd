//! `slipstream review`: the last N periods of every objective, checked for
//! the patterns that sink SLO programs, each flag with its evidence and a
//! next step. The history is replayed with the same trackers and alert
//! rules as the stream job (see [`super::whatif::replay`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::Result;

use super::data::Records;
use super::whatif::{replay, Period};
use crate::config::{Config, Sli};

/// A finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// A stable name: `never-at-risk`, `repeatedly-missed`, ...
    pub name: &'static str,
    pub evidence: String,
    pub next: String,
}

/// What a review looks at.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many of the latest periods to judge.
    pub periods: usize,
    /// Today, for the age of `reviewed` dates (Unix ns).
    pub today_ns: i64,
}

/// Share of the budget below which a period counts as "never at risk".
const UNUSED_SPEND: f64 = 0.25;
/// One failure spending more than this share of a period's budget is low traffic.
const ONE_FAILURE: f64 = 0.05;
/// An episode spending less than this share of the budget is noise.
const NOISE_SPEND: f64 = 0.05;
/// A review older than this is stale.
const REVIEW_DAYS: i64 = 90;

fn pct(r: f64) -> String {
    super::pct_trimmed(r, 3)
}

/// The flags of one SLI.
pub fn review_sli(
    config: &Config,
    sli: usize,
    records: &Records,
    opts: &Options,
) -> Result<Vec<Flag>> {
    let s = &config.slis[sli];
    let mut flags = Vec::new();
    if let Some(n) = super::all_invalid(records, &s.name) {
        flags.push(Flag {
            name: "all-invalid",
            evidence: format!(
                "all {} events were invalid for this SLI: none was good or bad, so no period can be judged",
                crate::setup::thousands(n)
            ),
            next: "find the field the `good` rule cannot read (`slipstream backfill` over the logs names it and a value it held), then map it in [decode.fields] or fix the rule".into(),
        });
    }
    config_flags(s, opts, &mut flags);
    let Some(o) = s
        .objective
        .as_ref()
        .filter(|_| super::whatif::replayable(s))
    else {
        return Ok(flags);
    };
    let starts: BTreeSet<i64> = records.windows.iter().map(|w| w.start_ns).collect();
    let outcome = replay(config, sli, String::new(), &records.windows, &starts)?;
    let target = o.target;
    let skip = outcome.periods.len().saturating_sub(opts.periods);
    let periods: Vec<&Period> = outcome.periods[skip..]
        .iter()
        .filter(|p| p.good + p.bad > 0)
        .collect();
    let compliance = |p: &Period| p.good as f64 / (p.good + p.bad) as f64;
    let spent = |p: &Period| p.budget_left.map(|l| 1.0 - l);
    let n = periods.len();

    if n > 0
        && periods
            .iter()
            .all(|p| spent(p).is_some_and(|x| x < UNUSED_SPEND))
    {
        let worst = periods.iter().map(|p| compliance(p)).fold(1.0, f64::min);
        flags.push(Flag {
            name: "never-at-risk",
            evidence: format!(
                "in all {n} periods less than {} of the error budget was spent; the worst period still had {} good against a {} target",
                pct(UNUSED_SPEND),
                pct(worst),
                pct(target)
            ),
            next: format!(
                "the SLO tells nobody anything: raise the target toward what users get (`slipstream what-if --target {:.4}` shows the cost) or retire it",
                // Four decimals, and never 1: a target is below 1.
                ((1.0 - (1.0 - worst) * 2.0) * 1e4).floor().max(target * 1e4).min(9_999.0) / 1e4
            ),
        });
    }

    let missed: Vec<&&Period> = periods.iter().filter(|p| compliance(p) < target).collect();
    if missed.len() >= 2 {
        let worst = missed.iter().map(|p| compliance(p)).fold(1.0, f64::min);
        // Option 1: the target every period met. Option 2: keep the target
        // and cut the bad events of the worst period to what it allows.
        let achievable = periods.iter().map(|p| compliance(p)).fold(1.0, f64::min);
        let worst_p = missed
            .iter()
            .min_by(|a, b| compliance(a).total_cmp(&compliance(b)))
            .map_or((0, 0), |p| (p.bad, p.good + p.bad));
        let allowed = ((1.0 - target) * worst_p.1 as f64).floor() as u64;
        let cut = 1.0 - allowed as f64 / worst_p.0.max(1) as f64;
        flags.push(Flag {
            name: "repeatedly-missed",
            evidence: format!(
                "{} of {n} periods missed the {} target (worst: {} good)",
                missed.len(),
                pct(target),
                pct(worst)
            ),
            next: format!(
                "decide between two options: lower the target to {}, which every period met, or keep {} and plan the reliability work that cuts bad events by {} (from {} to at most {} in the worst period); `slipstream what-if` shows both",
                pct(achievable),
                pct(target),
                pct(cut),
                worst_p.0,
                allowed
            ),
        });
    }

    if let Some(threshold_ms) = latency_threshold_ms(s, config) {
        let mut p50: Vec<f64> = records
            .windows
            .iter()
            .filter(|w| w.sli == s.name)
            .filter_map(|w| w.latency_p50)
            .collect();
        if !p50.is_empty() {
            p50.sort_by(f64::total_cmp);
            let typical = p50[p50.len() / 2];
            if threshold_ms <= typical {
                flags.push(Flag {
                    name: "threshold-below-typical",
                    evidence: format!(
                        "the good rule's threshold is {threshold_ms} ms and the typical median latency is {typical} ms: at least half of the requests fail by design"
                    ),
                    next: "set the threshold from what users feel, above typical latency (`slipstream what-if --threshold`), or make the service faster first".into(),
                });
            }
        }
    }

    if let Some(smallest) = periods.iter().map(|p| p.good + p.bad).min() {
        let share = 1.0 / ((1.0 - target) * smallest as f64);
        if share > ONE_FAILURE {
            flags.push(Flag {
                name: "low-traffic",
                evidence: format!(
                    "a period with {smallest} valid events: one failure spends {} of its budget",
                    pct(share.min(1e6))
                ),
                next: "judge longer periods, group this SLI with related traffic, or add synthetic probes, so that one failure does not decide the month".into(),
            });
        }
    }

    let first = periods.first().map_or(i64::MAX, |p| p.start_ns);
    let noisy: Vec<_> = outcome
        .episodes
        .iter()
        .filter(|e| e.start_ns >= first && e.budget_spent.is_some_and(|b| b < NOISE_SPEND))
        .collect();
    if noisy.len() >= 3 {
        flags.push(Flag {
            name: "noisy-alerts",
            evidence: format!(
                "{} alerts each spent less than {} of the budget",
                noisy.len(),
                pct(NOISE_SPEND)
            ),
            next: "raise `[sli.alerts] min_events`, or the burn rates of your `[[sli.alerts.pairs]]` (or go back to the default pairs), so that only budget-threatening burns wake people".into(),
        });
    }

    let blind: Vec<&&Period> = periods
        .iter()
        .filter(|p| p.budget_left.is_some_and(|l| l < 0.0) && !p.alerted)
        .collect();
    if !blind.is_empty() {
        flags.push(Flag {
            name: "blind-spot",
            evidence: format!(
                "{} period(s) overspent the error budget without any alert firing",
                blind.len()
            ),
            next: "the alert pairs are too insensitive for this burn: remove `[[sli.alerts.pairs]]` to use the default pairs, or lower their burn rates".into(),
        });
    }
    Ok(flags)
}

/// Flags from the SLI's configuration alone.
fn config_flags(s: &Sli, opts: &Options, flags: &mut Vec<Flag>) {
    if s.owner.is_none() {
        flags.push(Flag {
            name: "no-owner",
            evidence: "the SLI has no `owner`".into(),
            next: "name the team that answers for it (`owner = \"team-...\"`): an SLO nobody owns is nobody's priority".into(),
        });
    }
    match s.reviewed.as_deref().and_then(|d| {
        crate::time::parse_rfc3339_str(&format!("{d}T00:00:00Z"))
    }) {
        None => flags.push(Flag {
            name: "never-reviewed",
            evidence: "the SLI has no `reviewed` date".into(),
            next: "review the target with product and engineering, then record the date (`reviewed = \"YYYY-MM-DD\"`)".into(),
        }),
        Some(t) => {
            let days = (opts.today_ns - t) / (86_400 * 1_000_000_000);
            if days > REVIEW_DAYS {
                flags.push(Flag {
                    name: "stale-review",
                    evidence: format!("last reviewed {days} days ago"),
                    next: format!("review it again (every {REVIEW_DAYS} days): targets drift from what users feel"),
                });
            }
        }
    }
}

/// The duration in the SLI's good rule, in milliseconds, when the rule
/// compares `latency` with one.
fn latency_threshold_ms(s: &Sli, config: &Config) -> Option<f64> {
    let rule = s.good.source();
    if !rule.contains("latency") {
        return None;
    }
    if let [(_, ms)] = super::whatif::durations(rule).as_slice() {
        return Some(*ms);
    }
    // A bare number compared with latency is in the latency unit.
    let bare = regex::Regex::new(r"latency\s*[<>]=?\s*(\d+(?:\.\d+)?)\b").ok()?;
    let v: f64 = bare.captures(rule)?[1].parse().ok()?;
    Some(v * config.decode.latency_unit.nanos() / 1e6)
}

/// The review as text: each SLI with its flags, or that it looks healthy.
pub fn render(config: &Config, flags: &[(usize, Vec<Flag>)]) -> String {
    let mut o = String::new();
    for (i, list) in flags {
        let s = &config.slis[*i];
        if list.is_empty() {
            let _ = writeln!(o, "{}: healthy — nothing to flag.", s.name);
            continue;
        }
        let _ = writeln!(o, "{}: {} finding(s)", s.name, list.len());
        for f in list {
            let _ = writeln!(o, "  [{}] {}.\n      next: {}.", f.name, f.evidence, f.next);
        }
    }
    o
}

/// Reviews every SLI of `config`.
pub fn review(
    config: &Config,
    records: &Records,
    opts: &Options,
) -> Result<Vec<(usize, Vec<Flag>)>> {
    (0..config.slis.len())
        .map(|i| Ok((i, review_sli(config, i, records, opts)?)))
        .collect()
}
