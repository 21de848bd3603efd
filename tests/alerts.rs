//! Alert backtests over generated histories, one per objective window: 1
//! day, 7 days, 28 days, 30 days and a calendar month. Each history is
//! healthy (burn rates of 0.2 to 0.6, with noise), then burns fast for a
//! while, heals, burns slowly for a while and heals again. A healthy stretch
//! must raise nothing, the fast burn must page once and the slow burn ticket
//! once; and every alert must be the one a reference computed here gives:
//! the multiwindow rule written out plainly over the per-minute good and bad
//! counts this file generated, with the pairs of each objective worked out
//! by hand (the Workbook's windows x objective / 30 days, in whole minutes).
//!
//! The 1-day and calendar-month cases go through the binary (`backfill
//! --output` over JSON lines); the others through the library's trackers,
//! fed the same per-minute counts.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

const MIN_NS: i64 = 60 * NS_PER_S;
/// 2026-03-01T00:00:00Z.
const BASE_S: i64 = 1_772_323_200;
const TARGET: f64 = 0.99;
const MIN_EVENTS: u64 = 100;

/// (severity, long window, short window in minutes, burn rate).
type Pair = (&'static str, usize, usize, f64);

/// The effective pairs at 1-minute windows, worked out by hand.
const DAY_1: [Pair; 4] = [
    ("page", 2, 1, 14.4), // 60/30 = 2; 5/30 = 0.17, one window at least
    ("page", 12, 1, 6.0), // 360/30, 30/30
    ("ticket", 48, 4, 3.0),
    ("ticket", 144, 12, 1.0),
];
const DAYS_7: [Pair; 4] = [
    ("page", 14, 1, 14.4), // 60*7/30 = 14; 5*7/30 = 1.17 -> 1
    ("page", 84, 7, 6.0),
    ("ticket", 336, 28, 3.0),
    ("ticket", 1008, 84, 1.0),
];
const DAYS_28: [Pair; 4] = [
    ("page", 56, 5, 14.4), // 60*28/30 = 56; 5*28/30 = 4.67 -> 5
    ("page", 336, 28, 6.0),
    ("ticket", 1344, 112, 3.0),
    ("ticket", 4032, 336, 1.0),
];
const DAYS_30: [Pair; 4] = [
    ("page", 60, 5, 14.4),
    ("page", 360, 30, 6.0),
    ("ticket", 1440, 120, 3.0),
    ("ticket", 4320, 360, 1.0),
];

/// A generated history: good and bad events per minute, and where the
/// burns are (minute ranges).
struct History {
    /// The minutes of the warm-up.
    warm_up: usize,
    good: Vec<u64>,
    bad: Vec<u64>,
    fast: (usize, usize),
    slow: (usize, usize),
}

/// A history for an objective of `days` days whose longest alert window is
/// `longest` minutes: a warm-up as long as that window (see [`assert_script`]),
/// healthy for a day or that window (whichever is longer), 50x for 20
/// minutes x days / 30 (at least one), healthy for the longest window, 3.5x
/// for a day x days / 30, healthy for half the longest window. `per_min`
/// events a minute, each bad with the minute's error ratio.
fn history(days: f64, longest: usize, per_min: u64, seed: u64) -> History {
    let f = days / 30.0;
    let fast_len = ((20.0 * f).round() as usize).max(1);
    let slow_len = (1440.0 * f).round() as usize;
    let fast_start = longest + longest.max(1440);
    let fast = (fast_start, fast_start + fast_len);
    let slow = (fast.1 + longest, fast.1 + longest + slow_len);
    let end = slow.1 + longest / 2;
    let mut rng = Rng::new(seed);
    let (mut good, mut bad) = (vec![0; end], vec![0; end]);
    for m in 0..end {
        let burn = if (fast.0..fast.1).contains(&m) {
            50.0
        } else if (slow.0..slow.1).contains(&m) {
            3.5
        } else {
            0.2 + 0.4 * rng.below(1001) as f64 / 1000.0
        };
        let p = (burn * (1.0 - TARGET) * 1e6) as u64;
        for _ in 0..per_min {
            if rng.below(1_000_000) < p {
                bad[m] += 1;
            } else {
                good[m] += 1;
            }
        }
    }
    History {
        warm_up: longest,
        good,
        bad,
        fast,
        slow,
    }
}

/// (severity, state, minute whose end it is).
type Change = (String, String, usize);

/// The multiwindow rule over per-minute counts: at the end of each minute,
/// a severity holds when one of its pairs has more than `MIN_EVENTS` valid
/// events in its long window and both burn rates exceed its threshold; an
/// incident opens when its severity holds (a ticket not while a page is
/// open) and closes once it has not held for 10 minutes.
fn reference(h: &History, pairs: &[Pair]) -> Vec<Change> {
    let n = h.good.len();
    // Burn rate and valid events over the `span` minutes before `end`.
    let burn = |end: usize, span: usize| -> (u64, Option<f64>) {
        let from = end.saturating_sub(span);
        let g: u64 = h.good[from..end].iter().sum();
        let b: u64 = h.bad[from..end].iter().sum();
        (
            g + b,
            (g + b > 0).then(|| b as f64 / (g + b) as f64 / (1.0 - TARGET)),
        )
    };
    let mut out = Vec::new();
    let mut open: BTreeMap<&str, usize> = BTreeMap::new(); // severity -> last minute it held
    for end in 1..=n {
        for severity in ["page", "ticket"] {
            let holds = pairs.iter().filter(|p| p.0 == severity).any(|p| {
                let (valid, long) = burn(end, p.1);
                let (_, short) = burn(end, p.2);
                valid >= MIN_EVENTS
                    && long.is_some_and(|l| l > p.3)
                    && short.is_some_and(|s| s > p.3)
            });
            let suppressed = severity == "ticket" && open.contains_key("page");
            match open.get(severity).copied() {
                None if holds && !suppressed => {
                    open.insert(severity, end);
                    out.push((severity.into(), "firing".into(), end));
                }
                Some(_) if holds => {
                    open.insert(severity, end);
                }
                Some(last) if end - last >= 10 => {
                    open.remove(severity);
                    out.push((severity.into(), "resolved".into(), end));
                }
                _ => {}
            }
        }
    }
    out
}

/// What the script implies after the warm-up: nothing while healthy, one
/// page that fires
/// during the fast burn and resolves after it, one ticket that fires during
/// the slow burn and resolves after it.
///
/// During the warm-up the long windows hold less than their span, so a
/// ticket over a window of "3 days" may be judged on a few hundred events:
/// the alerts there must match the reference like all others, but they
/// are the noise of a backtest's first days, not of a healthy service.
fn assert_script(h: &History, all: &[Change]) {
    let got: Vec<&Change> = all.iter().filter(|c| c.2 > h.warm_up).collect();
    // An incident of the warm-up is over before the healthy stretch.
    if let Some(last) = all.iter().rfind(|c| c.2 <= h.warm_up) {
        assert_eq!(last.1, "resolved", "{all:?}");
    }
    let show = format!("{got:?}");
    assert_eq!(got.len(), 4, "{show}");
    let (page_on, page_off, ticket_on, ticket_off) = (got[0], got[1], got[2], got[3]);
    assert_eq!((page_on.0.as_str(), page_on.1.as_str()), ("page", "firing"));
    assert!(
        h.fast.0 < page_on.2 && page_on.2 <= h.fast.1,
        "the page fires during the fast burn: {show}"
    );
    assert_eq!(
        (page_off.0.as_str(), page_off.1.as_str()),
        ("page", "resolved")
    );
    assert!(page_off.2 > h.fast.1 && page_off.2 < h.slow.0, "{show}");
    assert_eq!(
        (ticket_on.0.as_str(), ticket_on.1.as_str()),
        ("ticket", "firing")
    );
    assert!(
        h.slow.0 < ticket_on.2 && ticket_on.2 <= h.slow.1,
        "the ticket fires during the slow burn: {show}"
    );
    assert_eq!(
        (ticket_off.0.as_str(), ticket_off.1.as_str()),
        ("ticket", "resolved")
    );
    assert!(ticket_off.2 > h.slow.1, "{show}");
}

fn config_text(window: &str) -> String {
    format!(
        "[[sli]]\nname = \"api\"\ngood = 'status < 500'\n[sli.objective]\ntarget = {TARGET}\nwindow = \"{window}\"\n"
    )
}

/// The alerts of the library's trackers fed the history minute by minute.
fn through_library(window: &str, h: &History) -> Vec<Change> {
    let config = slipstream::config::Config::parse(Path::new("t.toml"), &config_text(window))
        .expect("config");
    let o = config.slis[0].objective.as_ref().expect("objective");
    let mut tracker = slipstream::slo::Tracker::new(o, MIN_NS);
    let mut alerts = slipstream::slo::Alerts::new();
    let base = BASE_S * NS_PER_S;
    let mut out = Vec::new();
    for m in 0..h.good.len() {
        tracker.observe(base + m as i64 * MIN_NS, h.good[m], h.bad[m]);
        for c in alerts.evaluate(&tracker, base + (m as i64 + 1) * MIN_NS) {
            let state = if c.firing { "firing" } else { "resolved" };
            out.push((c.severity.name().to_string(), state.to_string(), m + 1));
        }
    }
    out
}

/// The alert records of `backfill --output` over the history as JSON
/// lines, one event each, spread over its minute; and the run's stderr.
fn through_binary(dir: &Path, window: &str, h: &History) -> (Vec<Change>, Vec<Value>, String) {
    let cfg = dir.join("alerts.toml");
    fs::write(&cfg, config_text(window)).expect("write config");
    let mut lines = String::new();
    for m in 0..h.good.len() {
        let n = h.good[m] + h.bad[m];
        for k in 0..n {
            let ms = (BASE_S + m as i64 * 60) * 1000 + (k * 60_000 / n) as i64;
            let status = if k < h.bad[m] { 503 } else { 200 };
            lines.push_str(&format!("{{\"timestamp\":{ms},\"status\":{status}}}\n"));
        }
    }
    let input = dir.join("history.jsonl");
    fs::write(&input, lines).expect("write history");
    let (run, out) = backfill(&cfg, &dir.join("out.jsonl"), &[], &[&p(&input)], None);
    run.assert_code(0, "backfill");
    let alerts: Vec<Value> = records(&out)
        .into_iter()
        .filter(|r| r["kind"] == "alert")
        .collect();
    let base = BASE_S * NS_PER_S;
    let changes = alerts
        .iter()
        .map(|a| {
            let at = rfc3339_ns(a["at"].as_str().expect("at")).expect("at");
            (
                a["severity"].as_str().expect("severity").to_string(),
                a["state"].as_str().expect("state").to_string(),
                ((at - base) / MIN_NS) as usize,
            )
        })
        .collect();
    (changes, alerts, run.stderr)
}

fn span(minutes: usize) -> String {
    match minutes {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m if m > 60 => format!("{}h{}m", m / 60, m % 60),
        m => format!("{m}m"),
    }
}

/// Each alert record names a pair of the objective, carries its burn rate
/// as the threshold, and says so in its summary.
fn assert_records_name_their_pairs(alerts: &[Value], pairs: &[Pair]) {
    for a in alerts {
        let pair = pairs
            .iter()
            .find(|p| {
                a["severity"] == p.0
                    && a["long_window"] == span(p.1)
                    && a["short_window"] == span(p.2)
            })
            .unwrap_or_else(|| panic!("not a pair of the objective: {a}"));
        assert_eq!(a["threshold"].as_f64(), Some(pair.3), "{a}");
        let summary = a["summary"].as_str().expect("summary");
        let windows = format!("over {} and {}", span(pair.1), span(pair.2));
        assert!(summary.contains(&windows), "{windows}: {summary}");
        if a["state"] == "firing" {
            assert!(summary.contains("x the sustainable rate over"), "{summary}");
            let burn = a["burn_rate_long"].as_f64().expect("burn_rate_long");
            assert!(burn > pair.3, "fires above its threshold: {a}");
        } else {
            assert!(
                summary.contains(&format!(
                    "no longer burns its error budget above {}x",
                    pair.3
                )),
                "{summary}"
            );
        }
    }
}

#[test]
fn a_one_day_objective_pages_and_tickets_only_for_real_burns() {
    let h = history(1.0, 144, 120, 1);
    let want = reference(&h, &DAY_1);
    assert_script(&h, &want);
    let dir = tempfile::tempdir().expect("tempdir");
    let (got, alerts, stderr) = through_binary(dir.path(), "1d", &h);
    assert_eq!(got, want, "backfill against the reference");
    assert_records_name_their_pairs(&alerts, &DAY_1);
    // 5m x 1/30 is 10s: shorter than a window, and said so at start.
    assert!(
        stderr.contains("warning: SLI api: alert windows are whole windows of 1m: the page pair 2m/1m: its short window scales to 10s and is clamped to one window; the Workbook's pairs are scaled from a 30-day objective: a longer objective window or a smaller [window] size keeps their spans, [sli.alerts] pairs sets them by hand, and `slipstream validate` prints the pairs in effect\n"),
        "{stderr}"
    );
}

#[test]
fn a_calendar_month_objective_pages_and_tickets_only_for_real_burns() {
    let h = history(30.0, 4320, 30, 2);
    let want = reference(&h, &DAYS_30);
    assert_script(&h, &want);
    let dir = tempfile::tempdir().expect("tempdir");
    let (got, alerts, stderr) = through_binary(dir.path(), "calendar:month", &h);
    assert_eq!(got, want, "backfill against the reference");
    assert_records_name_their_pairs(&alerts, &DAYS_30);
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn a_seven_day_objective_pages_and_tickets_only_for_real_burns() {
    let h = history(7.0, 1008, 60, 3);
    let want = reference(&h, &DAYS_7);
    assert_script(&h, &want);
    assert_eq!(through_library("7d", &h), want);
}

#[test]
fn a_28_day_objective_pages_and_tickets_only_for_real_burns() {
    let h = history(28.0, 4032, 60, 4);
    let want = reference(&h, &DAYS_28);
    assert_script(&h, &want);
    assert_eq!(through_library("28d", &h), want);
}

#[test]
fn a_30_day_objective_pages_and_tickets_only_for_real_burns() {
    let h = history(30.0, 4320, 60, 5);
    let want = reference(&h, &DAYS_30);
    assert_script(&h, &want);
    assert_eq!(through_library("30d", &h), want);
}

/// The same 1-day history through the library and the binary: one engine.
#[test]
fn a_one_day_objective_reads_the_same_through_the_library() {
    let h = history(1.0, 144, 120, 1);
    assert_eq!(through_library("1d", &h), reference(&h, &DAY_1));
}

/// `validate` prints each SLI's pairs in effect — worked out by hand here —
/// with the share of the budget each spends in its long window, and warns
/// about the windows that were rounded or clamped.
#[test]
fn validate_prints_the_pairs_in_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("pairs.toml");
    fs::write(
        &cfg,
        r#"
[[sli]]
name = "api-1d"
good = 'status < 500'
[sli.objective]
target = 0.999
window = "1d"

[[sli]]
name = "api-28d"
good = 'status < 500'
[sli.objective]
target = 0.999
window = "28d"
[sli.alerts]
min_events = 500

[[sli]]
name = "api-own"
good = 'status < 500'
[sli.objective]
target = 0.99
window = "calendar:month"
[[sli.alerts.pairs]]
severity = "page"
long_window = "2h"
short_window = "10m"
burn_rate = 10
[[sli.alerts.pairs]]
severity = "ticket"
long_window = "1d"
short_window = "1h"
burn_rate = 1
"#,
    )
    .expect("write config");
    let run = slipstream(&["validate", "-c", &p(&cfg)], None, None);
    run.assert_code(0, "validate");
    let text = String::from_utf8(run.stdout).expect("UTF-8");
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let has = |want: &str| {
        assert!(lines.iter().any(|l| l == want), "{want}\n{text}");
    };
    has("warning: SLI api-1d: alert windows are whole windows of 1m: the page pair 2m/1m: its short window scales to 10s and is clamped to one window; the Workbook's pairs are scaled from a 30-day objective: a longer objective window or a smaller [window] size keeps their spans, [sli.alerts] pairs sets them by hand, and `slipstream validate` prints the pairs in effect");
    // 4m40s -> 5m for 28 days is within a quarter: no warning.
    assert_eq!(text.matches("warning:").count(), 1, "{text}");
    has("alerts: the Workbook's pairs, windows scaled to 1d; a pair fires when both its burn rates exceed its threshold and its long window saw 100 valid events or more");
    // 14.4 x 2m / 1d = 2%; 6 x 12m / 1d = 5%; 3 x 48m / 1d = 10%; 1 x 144m / 1d = 10%.
    has("page long 2m short 1m burn rate > 14.4 spends 2.0% of the budget in its long window");
    has("page long 12m short 1m burn rate > 6 spends 5.0% of the budget in its long window");
    has("ticket long 48m short 4m burn rate > 3 spends 10.0% of the budget in its long window");
    has("ticket long 2h24m short 12m burn rate > 1 spends 10.0% of the budget in its long window");
    has("alerts: the Workbook's pairs, windows scaled to 28d; a pair fires when both its burn rates exceed its threshold and its long window saw 500 valid events or more");
    // 5m x 28/30 = 4m40s -> 5m: 14.4 x 56m / 28d = 2%.
    has("page long 56m short 5m burn rate > 14.4 spends 2.0% of the budget in its long window");
    has("ticket long 2d19h12m short 5h36m burn rate > 1 spends 10.0% of the budget in its long window");
    has("alerts: [sli.alerts] pairs; a pair fires when both its burn rates exceed its threshold and its long window saw 100 valid events or more");
    // 10 x 2h / 30d = 2.8%; 1 x 1d / 30d = 3.3%.
    has("page long 2h short 10m burn rate > 10 spends 2.8% of the budget in its long window");
    has("ticket long 1d short 1h burn rate > 1 spends 3.3% of the budget in its long window");
}
