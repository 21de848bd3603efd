//! The five answers a report gives for each SLO, as one model: the
//! Markdown and HTML reports word it (`questions.rs`), and
//! `report --format json` serialises it as it is (docs/report-json.md).
//!
//! 1. Met or not, with the share of good events and how much of the
//!    objective's window the data covers.
//! 2. The error budget left: as a share, as bad events, as minutes of full
//!    outage at the period's traffic.
//! 3. What spent it: incidents (overlapping alerts merged) ranked by bad
//!    events.
//! 4. Whether the target is realistic, with the reason.
//! 5. What other targets would have given.
//!
//! [`answers`] is a function of the records of a period alone — `window`,
//! `slo` and `alert` records, wherever they were kept — so any holder of
//! those records gives the same answers.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::data::{Records, WindowRow};
use super::incidents::{self, Contributors};
use super::verdict::{self, Days, Why};
use super::whatif::{replay, replayable, with_target};
use crate::config::{Config, Objective, ObjectiveWindow};
use crate::record::OrderedMap;
use crate::slo::Tracker;
use crate::time::format_rfc3339;

/// The version of the JSON document; raised when a field changes meaning
/// or goes away (new fields do not raise it).
pub const VERSION: u32 = 1;

/// The targets every what-if table shows, with the current one.
pub const WHAT_IF_TARGETS: [f64; 5] = [0.99, 0.995, 0.999, 0.9995, 0.9999];

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// `report --format json`: the version and one object per SLO.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub version: u32,
    pub slos: Vec<&'a SloAnswer>,
}

/// The answers for one SLO.
#[derive(Debug, Clone, Serialize)]
pub struct SloAnswer {
    pub name: String,
    pub objective: ObjectiveAnswer,
    pub period: PeriodAnswer,
    /// Whether the objective's window at the period's end met the target;
    /// `null` when no event could be judged.
    pub met: Option<bool>,
    pub compliance: Option<f64>,
    /// Good and bad events (time slices for `method = "timeslices"`) of
    /// the objective's window at the period's end.
    pub good: u64,
    pub bad: u64,
    /// The period's latency percentiles, from the windows' histograms
    /// merged; `null` when the SLI's windows carry none.
    pub latency: Option<LatencyAnswer>,
    pub budget: BudgetAnswer,
    /// Most bad events first.
    pub incidents: Vec<IncidentAnswer>,
    pub verdict: VerdictAnswer,
    /// Lowest target first.
    pub what_if: Vec<WhatIfRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyAnswer {
    /// Requests of the period with a latency.
    pub count: u64,
    /// Per percentile of the SLI's `percentiles` (`p50`, `p99`...), in
    /// milliseconds, in that order.
    pub percentiles_ms: OrderedMap<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveAnswer {
    pub target: f64,
    /// As configured: `30d`, `calendar:month`.
    pub window: String,
    /// `occurrences` or `timeslices`.
    pub method: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodAnswer {
    pub from: String,
    pub to: String,
    /// The share of the objective's window (the one that ends at `to`)
    /// that the period's window records cover, from the first record's
    /// start to the last one's end; at most 1.
    pub covered_ratio: f64,
    #[serde(skip)]
    pub from_ns: i64,
    #[serde(skip)]
    pub to_ns: i64,
    /// How long the data covers, and how long the objective's window is.
    #[serde(skip)]
    pub covered_ns: i64,
    #[serde(skip)]
    pub window_ns: i64,
    #[serde(skip)]
    pub window_kind: WindowKind,
}

/// How the objective's window is named in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Rolling,
    CalendarMonth,
    CalendarWeek,
}

#[derive(Debug, Clone, Serialize)]
pub struct BudgetAnswer {
    /// Bad events the target allows in the objective's window.
    pub allowed_events: f64,
    /// Spent, as a share of the budget (above 1 when overspent).
    pub spent_ratio: Option<f64>,
    /// Left, as a share of the budget (negative when overspent); `null`
    /// without valid events.
    pub left_ratio: Option<f64>,
    /// Left, as bad events (negative when overspent).
    pub left_events: f64,
    /// Minutes of full outage the budget left would last at the period's
    /// traffic (valid events per minute of the data covered); 0 when
    /// nothing is left or there was no traffic.
    pub left_outage_minutes: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentAnswer {
    /// When its first alert fired.
    pub start: String,
    /// When its last alert resolved; `null` while one still fires.
    pub end: Option<String>,
    /// `page` when any of its alerts paged, else `ticket`.
    pub severity: String,
    /// Bad events from `counted_from` to the end.
    pub bad_events: u64,
    /// Its bad events inside the objective's window, as a share of that
    /// window's budget. The shares add up to at most `budget.spent_ratio`.
    pub budget_share: Option<f64>,
    pub peak_burn_rate: Option<f64>,
    /// Per `breakdown` field of the SLI, the values with most bad events.
    pub top_contributors: Vec<Contributor>,
    /// One long alert window before its first alert, but not before the
    /// previous incident's end nor the period's start.
    pub counted_from: String,
    /// How many alerts (firing to resolved) it merges.
    pub alerts: usize,
    #[serde(skip)]
    pub start_ns: i64,
    #[serde(skip)]
    pub end_ns: Option<i64>,
    #[serde(skip)]
    pub counted_from_ns: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Contributor {
    pub field: String,
    pub values: Vec<ContributorValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContributorValue {
    pub value: String,
    pub bad_events: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictAnswer {
    pub value: verdict::Value,
    /// In English; the reports word it in their language.
    pub reason: String,
    #[serde(skip)]
    pub why: Why,
}

#[derive(Debug, Clone, Serialize)]
pub struct WhatIfRow {
    pub target: f64,
    /// The objective's current target.
    pub current: bool,
    /// As `met` above, under this target.
    pub met: Option<bool>,
    pub budget_left_ratio: Option<f64>,
    /// Alerts that would have fired in the period.
    pub pages: usize,
    pub tickets: usize,
}

/// The answers for every SLI of `config` with an objective, from the
/// records of the period `[from, to)` (as [`Records::within`] keeps them).
pub fn answers(config: &Config, records: &Records, from_ns: i64, to_ns: i64) -> Vec<SloAnswer> {
    (0..config.slis.len())
        .filter_map(|i| answer(config, i, records, from_ns, to_ns))
        .collect()
}

/// The length of the objective's window that starts at `start_ns`.
fn window_len_ns(o: &Objective, start_ns: i64) -> i64 {
    match o.window {
        ObjectiveWindow::Rolling(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        ObjectiveWindow::CalendarWeek => 7 * DAY_NS,
        ObjectiveWindow::CalendarMonth => {
            use chrono::{Datelike, TimeZone};
            let tz = o.timezone.unwrap_or(chrono_tz::UTC);
            let d = tz.timestamp_nanos(start_ns).date_naive();
            let next = if d.month() == 12 {
                chrono::NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
            } else {
                chrono::NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
            };
            let first = chrono::NaiveDate::from_ymd_opt(d.year(), d.month(), 1);
            match (first, next) {
                (Some(a), Some(b)) => (b - a).num_days() * DAY_NS,
                _ => 30 * DAY_NS,
            }
        }
    }
}

/// The answers for SLI `i`; `None` when it has no objective.
pub fn answer(
    config: &Config,
    i: usize,
    records: &Records,
    from_ns: i64,
    to_ns: i64,
) -> Option<SloAnswer> {
    let s = &config.slis[i];
    let o = s.objective.as_ref()?;
    let size = config.window.size_ns;
    let mut windows: Vec<&WindowRow> = records.windows.iter().filter(|w| w.sli == s.name).collect();
    windows.sort_by_key(|w| w.start_ns);
    let series: Vec<_> = records
        .slos
        .iter()
        .filter(|r| r.sli == s.name)
        .cloned()
        .collect();
    let last = series.last();

    // 1. Met, and how much of the objective's window the data covers.
    let window_start = last.map_or_else(
        || to_ns.saturating_sub(window_len_ns(o, to_ns)),
        |l| l.period_start_ns,
    );
    let window_ns = window_len_ns(o, window_start).max(1);
    let covered_ns = match (windows.first(), windows.last()) {
        (Some(a), Some(b)) => {
            ((b.start_ns + size).min(to_ns) - a.start_ns.max(window_start)).max(0)
        }
        _ => 0,
    };
    let covered_ratio = (covered_ns as f64 / window_ns as f64).min(1.0);
    let (good, bad) = last.map_or((0, 0), |l| (l.good, l.bad));
    let compliance = last.and_then(|l| l.compliance);
    let met = compliance.and(last.map(|l| l.remaining >= 0.0));

    // 2. The budget left.
    let allowed = last.map_or(0.0, |l| l.allowed);
    let left_events = last.map_or(0.0, |l| l.remaining);
    let left_ratio = last.and_then(|l| l.remaining_ratio);
    let per_minute = (good + bad) as f64 / (covered_ns as f64 / 60e9);
    let left_outage_minutes = if left_events > 0.0 && per_minute.is_finite() && per_minute > 0.0 {
        left_events / per_minute
    } else {
        0.0
    };

    // 3. The incidents, each counting its own bad events.
    let alerts: Vec<_> = records.alerts.iter().filter(|a| a.sli == s.name).collect();
    let mut merged = incidents::merge(&incidents::episodes(&alerts, &series), from_ns, to_ns);
    let mut tracker = Tracker::new(o, size);
    for w in &windows {
        tracker.observe(w.start_ns, w.good, w.bad);
    }
    let fields: Vec<String> = s.breakdown.iter().map(|(f, _)| f.clone()).collect();
    incidents::measure(&mut merged, &windows, &fields, to_ns, |from, to| {
        (allowed > 0.0).then(|| tracker.sum(from.max(window_start), to).bad as f64 / allowed)
    });

    // 5. Other targets, and 4. the verdict from the current one's periods.
    let mut daily: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for w in &windows {
        let d = daily.entry(w.start_ns.div_euclid(DAY_NS)).or_default();
        d.0 += w.good;
        d.1 += w.bad;
    }
    let days = Days::of(daily.into_values(), o.target);
    let (what_if, verdict) = what_if_and_verdict(config, i, records, covered_ratio, days);

    let mut a = SloAnswer {
        name: s.name.clone(),
        objective: ObjectiveAnswer {
            target: o.target,
            window: o.window_text.clone(),
            method: match o.method {
                crate::config::BudgetMethod::Occurrences => "occurrences",
                crate::config::BudgetMethod::Timeslices => "timeslices",
            }
            .into(),
        },
        period: PeriodAnswer {
            from: format_rfc3339(from_ns),
            to: format_rfc3339(to_ns),
            covered_ratio,
            from_ns,
            to_ns,
            covered_ns,
            window_ns,
            window_kind: match o.window {
                ObjectiveWindow::Rolling(_) => WindowKind::Rolling,
                ObjectiveWindow::CalendarMonth => WindowKind::CalendarMonth,
                ObjectiveWindow::CalendarWeek => WindowKind::CalendarWeek,
            },
        },
        met,
        compliance,
        good,
        bad,
        latency: super::period_latency(s, windows.iter().copied()).map(|l| LatencyAnswer {
            count: l.count,
            percentiles_ms: OrderedMap(l.percentiles),
        }),
        budget: BudgetAnswer {
            allowed_events: allowed,
            spent_ratio: left_ratio.map(|r| crate::slo::tidy(1.0 - r)),
            left_ratio,
            left_events,
            left_outage_minutes,
        },
        incidents: merged.into_iter().map(incident_answer).collect(),
        verdict: VerdictAnswer {
            value: verdict.value,
            reason: String::new(),
            why: verdict.why,
        },
        what_if,
    };
    a.verdict.reason = super::verdict::reason(&a.verdict.why, a.objective.target, super::Lang::En);
    Some(a)
}

/// The what-if rows of SLI `i` (the period replayed under each target) and
/// the verdict on its target from the current one's replay.
fn what_if_and_verdict(
    config: &Config,
    i: usize,
    records: &Records,
    covered_ratio: f64,
    days: Days,
) -> (Vec<WhatIfRow>, verdict::Verdict) {
    let s = &config.slis[i];
    let not_judged = |why| verdict::Verdict {
        value: verdict::Value::NotEnoughHistory,
        why,
    };
    let Some(o) = s.objective.as_ref().filter(|_| replayable(s)) else {
        return (Vec::new(), not_judged(Why::NotReplayable));
    };
    let starts: BTreeSet<i64> = records.windows.iter().map(|w| w.start_ns).collect();
    let mut targets: Vec<f64> = WHAT_IF_TARGETS.to_vec();
    if !targets.iter().any(|t| (t - o.target).abs() < 1e-12) {
        targets.push(o.target);
    }
    targets.sort_by(f64::total_cmp);
    let mut rows = Vec::new();
    let mut verdict = None;
    for t in targets {
        let current = (t - o.target).abs() < 1e-12;
        let c = if current {
            config.clone()
        } else {
            with_target(config, i, t)
        };
        let Ok(out) = replay(&c, i, String::new(), &records.windows, &starts) else {
            continue;
        };
        if current {
            verdict = Some(verdict::judge(o.target, covered_ratio, &out.periods, days));
        }
        rows.push(WhatIfRow {
            target: t,
            current,
            met: out.end_budget_left.map(|l| l >= 0.0),
            budget_left_ratio: out.end_budget_left,
            pages: out.pages,
            tickets: out.tickets,
        });
    }
    (rows, verdict.unwrap_or_else(|| not_judged(Why::NoEvents)))
}

fn incident_answer(i: incidents::Incident) -> IncidentAnswer {
    IncidentAnswer {
        start: format_rfc3339(i.start_ns),
        end: i.end_ns.map(format_rfc3339),
        severity: i.severity,
        bad_events: i.bad_events,
        budget_share: i.budget_share,
        peak_burn_rate: i.peak_burn,
        top_contributors: contributors(i.top),
        counted_from: format_rfc3339(i.counted_from_ns),
        counted_from_ns: i.counted_from_ns,
        alerts: i.alerts,
        start_ns: i.start_ns,
        end_ns: i.end_ns,
    }
}

fn contributors(top: Contributors) -> Vec<Contributor> {
    top.into_iter()
        .map(|(field, values)| Contributor {
            field,
            values: values
                .into_iter()
                .map(|(value, bad_events)| ContributorValue { value, bad_events })
                .collect(),
        })
        .collect()
}

/// The JSON document of `answers`, pretty-printed, with a final newline.
pub fn to_json(answers: &[&SloAnswer]) -> String {
    let doc = Document {
        version: VERSION,
        slos: answers.to_vec(),
    };
    // Serialising plain structs of strings and numbers cannot fail; NaN
    // and infinities become null.
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
