use std::time::Duration;

use super::*;
use crate::config::{BudgetMethod, Objective, ObjectiveWindow};
use crate::time::parse_rfc3339_str;

const MIN: i64 = 60 * NS;

fn objective(window: ObjectiveWindow, method: BudgetMethod, tz: Option<&str>) -> Objective {
    Objective {
        target: 0.99,
        window,
        window_text: "test".into(),
        method,
        timezone: tz.map(|t| t.parse().unwrap()),
    }
}

fn t(s: &str) -> i64 {
    parse_rfc3339_str(s).unwrap()
}

/// Deterministic per-minute counts, with gaps (minutes without events).
fn minutes(n: i64) -> Vec<(i64, u64, u64)> {
    let base = t("2026-11-27T00:00:00Z");
    let mut x: u64 = 7;
    let mut out = Vec::new();
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        if (x >> 60) == 3 {
            continue; // no traffic this minute
        }
        let good = (x >> 40) % 500;
        let bad = if (x >> 30) % 10 == 0 {
            (x >> 20) % 80
        } else {
            (x >> 20) % 3
        };
        out.push((base + i * MIN, good, bad));
    }
    out
}

/// Brute force: sums of the minutes starting in [from, to).
fn brute(data: &[(i64, u64, u64)], from: i64, to: i64) -> (u64, u64) {
    data.iter()
        .filter(|(s, _, _)| *s >= from && *s < to)
        .fold((0, 0), |(g, b), (_, wg, wb)| (g + wg, b + wb))
}

#[test]
fn rolling_budget_and_burn_rates_match_brute_force() {
    let data = minutes(5 * 24 * 60);
    let mut tr = Tracker::new(
        &objective(
            ObjectiveWindow::Rolling(Duration::from_secs(2 * 86_400)),
            BudgetMethod::Occurrences,
            None,
        ),
        MIN,
    );
    for (i, &(start, g, b)) in data.iter().enumerate() {
        tr.observe(start, g, b);
        if i % 97 != 0 {
            continue;
        }
        let at = start + MIN;
        let s = tr.state(at);
        let (g2, b2) = brute(&data, at - 2 * 86_400 * NS, at);
        assert_eq!((s.period.good, s.period.bad), (g2, b2), "period at {at}");
        assert_eq!(s.period_start_ns, at - 2 * 86_400 * NS);
        let allowed = 0.01 * (g2 + b2) as f64;
        assert!((s.allowed() - allowed).abs() < 1e-6);
        assert!((s.remaining() - (allowed - b2 as f64)).abs() < 1e-6);
        for (name, secs) in BURN_SPANS {
            let (g3, b3) = brute(&data, at - secs * NS, at);
            let want = (g3 + b3 > 0).then(|| b3 as f64 / (g3 + b3) as f64 / 0.01);
            match (s.burn_rate(name), want) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{name}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "{name}"),
            }
        }
        let (gh, bh) = brute(&data, at - 3_600 * NS, at);
        let per_min = (gh + bh) as f64 / 60.0;
        let left = allowed - b2 as f64;
        let want = (per_min > 0.0 && left > 0.0).then(|| left / per_min);
        assert_eq!(
            s.outage_minutes_left().map(|v| (v * 1e6).round()),
            want.map(|v| (v * 1e6).round())
        );
    }
}

#[test]
fn zero_traffic_gives_nulls_not_nan() {
    let mut tr = Tracker::new(
        &objective(
            ObjectiveWindow::Rolling(Duration::from_secs(3600)),
            BudgetMethod::Occurrences,
            None,
        ),
        MIN,
    );
    let start = t("2026-11-27T00:00:00Z");
    tr.observe(start, 0, 0);
    let s = tr.state(start + MIN);
    assert_eq!(s.compliance(), None);
    assert_eq!(s.remaining_ratio(), None);
    assert_eq!(s.outage_minutes_left(), None);
    assert!(s.burn.iter().all(|(_, r)| r.is_none()));
}

#[test]
fn calendar_month_starts_at_local_midnight_across_the_boundary() {
    let o = objective(
        ObjectiveWindow::CalendarMonth,
        BudgetMethod::Occurrences,
        Some("Asia/Tokyo"),
    );
    let tr = Tracker::new(&o, MIN);
    // The window ending at 2026-12-01 00:00 JST still belongs to November (JST).
    assert_eq!(
        tr.period_start(t("2026-11-30T15:00:00Z")),
        t("2026-10-31T15:00:00Z")
    );
    // One minute later December has begun in Tokyo, though not yet in UTC.
    assert_eq!(
        tr.period_start(t("2026-11-30T15:01:00Z")),
        t("2026-11-30T15:00:00Z")
    );
    let utc = Tracker::new(
        &objective(
            ObjectiveWindow::CalendarMonth,
            BudgetMethod::Occurrences,
            None,
        ),
        MIN,
    );
    assert_eq!(
        utc.period_start(t("2026-11-30T15:01:00Z")),
        t("2026-11-01T00:00:00Z")
    );
}

#[test]
fn calendar_week_starts_on_monday() {
    let tr = Tracker::new(
        &objective(
            ObjectiveWindow::CalendarWeek,
            BudgetMethod::Occurrences,
            None,
        ),
        MIN,
    );
    // 2026-11-27 is a Friday; that week began on Monday 2026-11-23.
    assert_eq!(
        tr.period_start(t("2026-11-27T10:00:00Z")),
        t("2026-11-23T00:00:00Z")
    );
    assert_eq!(
        tr.period_start(t("2026-11-23T00:01:00Z")),
        t("2026-11-23T00:00:00Z")
    );
    assert_eq!(
        tr.period_start(t("2026-11-23T00:00:00Z")),
        t("2026-11-16T00:00:00Z")
    );
}

#[test]
fn calendar_period_sums_only_its_own_windows() {
    let o = objective(
        ObjectiveWindow::CalendarMonth,
        BudgetMethod::Occurrences,
        Some("Asia/Tokyo"),
    );
    let mut tr = Tracker::new(&o, MIN);
    let data: Vec<(i64, u64, u64)> = (0..180)
        .map(|i| {
            (
                t("2026-11-30T14:00:00Z") + i * MIN,
                10 + i as u64 % 7,
                i as u64 % 2,
            )
        })
        .collect();
    for &(s, g, b) in &data {
        tr.observe(s, g, b);
    }
    let at = t("2026-11-30T17:00:00Z");
    let st = tr.state(at);
    let (g, b) = brute(&data, t("2026-11-30T15:00:00Z"), at);
    assert_eq!((st.period.good, st.period.bad), (g, b));
}

#[test]
fn timeslices_count_windows_that_meet_the_target() {
    let o = objective(
        ObjectiveWindow::Rolling(Duration::from_secs(3600)),
        BudgetMethod::Timeslices,
        None,
    );
    let mut tr = Tracker::new(&o, MIN);
    let base = t("2026-11-27T00:00:00Z");
    // 99/100 meets 0.99; 98/100 does not; 0/0 is neither.
    tr.observe(base, 99, 1);
    tr.observe(base + MIN, 98, 2);
    tr.observe(base + 2 * MIN, 0, 0);
    tr.observe(base + 3 * MIN, 1000, 0);
    let s = tr.state(base + 4 * MIN);
    assert_eq!((s.period.good, s.period.bad), (2, 1));
}
