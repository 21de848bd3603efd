use std::time::Duration;

use super::*;
use crate::config::{BudgetMethod, Objective, ObjectiveWindow, SliceOp, SliceRule};
use crate::time::parse_rfc3339_str;

const MIN: i64 = 60 * NS;

fn objective(window: ObjectiveWindow, method: BudgetMethod, tz: Option<&str>) -> Objective {
    Objective {
        target: 0.99,
        alerts: AlertPolicy::workbook(&window, 60, 100),
        window,
        window_text: "test".into(),
        method,
        timezone: tz.map(|t| t.parse().unwrap()),
        slice: SliceRule::Compliance {
            op: SliceOp::Ge,
            threshold: 0.99,
        },
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

/// A tracker of minute windows for a rolling occurrences objective of `secs`.
fn rolling(secs: u64) -> Tracker {
    Tracker::new(
        &objective(
            ObjectiveWindow::Rolling(Duration::from_secs(secs)),
            BudgetMethod::Occurrences,
            None,
        ),
        MIN,
    )
}

/// Every burn rate of `s` against brute force over `data` (target 0.99).
fn assert_burn_rates(s: &SloState, data: &[(i64, u64, u64)], at: i64) {
    for (name, secs) in BURN_SPANS {
        let (g, b) = brute(data, at - secs * NS, at);
        let want = (g + b > 0).then(|| b as f64 / (g + b) as f64 / 0.01);
        match (s.burn_rate(name), want) {
            (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{name} at {at}: {x} vs {y}"),
            (x, y) => assert_eq!(x, y, "{name} at {at}"),
        }
    }
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
    let mut tr = rolling(2 * 86_400);
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
        assert_burn_rates(&s, &data, at);
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

/// Traffic, a silence longer than everything the tracker keeps, traffic
/// again: the sums after the silence hold only what lies in their spans.
#[test]
fn a_long_silence_leaves_nothing_of_before_in_the_sums() {
    let day = 86_400 * NS;
    let mut data = minutes(2 * 24 * 60);
    let after = t("2026-11-27T00:00:00Z") + 10 * day;
    data.extend(
        minutes(24 * 60)
            .into_iter()
            .map(|(s, g, b)| (s - t("2026-11-27T00:00:00Z") + after, g, b)),
    );
    let mut tr = rolling(86_400);
    for (i, &(start, g, b)) in data.iter().enumerate() {
        tr.observe(start, g, b);
        // Every window up to just after the silence, then every 53rd.
        if i % 53 != 0 && start >= after + 3 * MIN {
            continue;
        }
        let at = start + MIN;
        let s = tr.state(at);
        let (g2, b2) = brute(&data, at - day, at);
        assert_eq!((s.period.good, s.period.bad), (g2, b2), "period at {at}");
        assert_burn_rates(&s, &data, at);
    }
}

#[test]
fn zero_traffic_gives_nulls_not_nan() {
    let mut tr = rolling(3600);
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

mod alerts {
    use super::*;
    use crate::slo::alert::{Alerts, Severity};

    /// A 30-day objective at 99.9%, 1-minute windows, `per_min` requests a
    /// minute, with `bad(minute)` failures; returns (minute, severity, firing).
    fn backtest(
        minutes: i64,
        per_min: u64,
        bad: impl Fn(i64) -> u64,
    ) -> Vec<(i64, Severity, bool)> {
        backtest_with(minutes, per_min, 100, bad)
    }

    /// [`backtest`] with another low-traffic guard.
    fn backtest_with(
        minutes: i64,
        per_min: u64,
        min_events: u64,
        bad: impl Fn(i64) -> u64,
    ) -> Vec<(i64, Severity, bool)> {
        let window = ObjectiveWindow::Rolling(Duration::from_secs(30 * 86_400));
        let o = Objective {
            target: 0.999,
            alerts: AlertPolicy::workbook(&window, 60, min_events),
            window,
            window_text: "30d".into(),
            method: BudgetMethod::Occurrences,
            timezone: None,
            slice: SliceRule::Compliance {
                op: SliceOp::Ge,
                threshold: 0.999,
            },
        };
        let mut tr = Tracker::new(&o, MIN);
        let mut alerts = Alerts::new();
        let base = t("2026-11-01T00:00:00Z");
        let mut out = Vec::new();
        for m in 0..minutes {
            let b = bad(m).min(per_min);
            tr.observe(base + m * MIN, per_min - b, b);
            for c in alerts.evaluate(&tr, base + (m + 1) * MIN) {
                out.push((m + 1, c.severity, c.firing));
            }
        }
        out
    }

    #[test]
    fn a_total_outage_pages_once_and_resolves_once() {
        // Minutes 600..620: everything fails. 1h/5m burn = 1000 >> 14.4.
        let changes = backtest(24 * 60, 1000, |m| {
            if (600..620).contains(&m) {
                1000
            } else {
                0
            }
        });
        let pages: Vec<_> = changes.iter().filter(|c| c.1 == Severity::Page).collect();
        assert_eq!(pages.len(), 2, "{changes:?}");
        // Fires at the end of the first failing minute (both windows above 14.4).
        assert_eq!(*pages[0], (601, Severity::Page, true));
        // The 5m window is clean from minute 625, but the 6h/30m rule holds
        // while the 30m window still holds minute 619 (until the window
        // ending at 649); resolved 10 minutes after that.
        assert!(!pages[1].2);
        assert_eq!(pages[1].0, 659);
        // No ticket while the page fires; the 1d/2h rule may ticket later.
        assert!(changes
            .iter()
            .all(|c| c.1 != Severity::Ticket || c.0 >= 659 || c.0 < 601));
    }

    #[test]
    fn a_slow_burn_tickets_but_does_not_page() {
        // 0.4% errors for two days: burn rate 4 — above the 3x ticket
        // threshold (1d/2h), below both page thresholds.
        let changes = backtest(2 * 24 * 60, 1000, |m| u64::from(m % 5 < 2) * 5);
        assert!(
            changes.iter().all(|c| c.1 == Severity::Ticket),
            "{changes:?}"
        );
        assert_eq!(
            changes.iter().filter(|c| c.2).count(),
            1,
            "fires once: {changes:?}"
        );
    }

    #[test]
    fn low_traffic_pages_nobody() {
        // Two requests a minute for ten minutes, one of them failing: a burn
        // rate of 50, but only 20 events.
        let changes = backtest(10, 2, |m| u64::from(m == 5));
        assert!(changes.is_empty(), "{changes:?}");
        // Without the guard the same handful would page: the guard is what stops it.
        let unguarded = backtest_with(10, 2, 0, |m| u64::from(m == 5));
        assert!(
            unguarded.iter().any(|c| c.1 == Severity::Page && c.2),
            "{unguarded:?}"
        );
        // The same 5% error ratio at real traffic does page.
        let busy = backtest(10, 1000, |m| if m >= 5 { 100 } else { 0 });
        assert!(
            busy.iter().any(|c| c.1 == Severity::Page && c.2),
            "{busy:?}"
        );
    }

    #[test]
    fn burn_rates_read_well_at_every_size() {
        use crate::slo::alert::{rate_text, threshold_text};
        let cases = [
            (1604.3, "1604"),
            (160.4, "160"),
            (16.24, "16.2"),
            (14.44, "14.4"),
            (4.0, "4"),
            (2.26, "2.3"),
            (1.04, "1.04"),
            (1.5, "1.5"),
            (0.2, "0.2"),
        ];
        for (v, want) in cases {
            assert_eq!(rate_text(v), want, "{v}");
        }
        assert_eq!(threshold_text(14.4), "14.4");
        assert_eq!(threshold_text(6.0), "6");
        assert_eq!(threshold_text(1.0), "1");
    }

    #[test]
    fn a_burn_rate_below_1_reads_as_within_budget() {
        use crate::slo::alert::pace_text;
        assert_eq!(pace_text(16.24), "16.2x the sustainable rate");
        assert_eq!(pace_text(0.3), "0.3x the sustainable rate, within budget");
        assert_eq!(pace_text(1.0), "1x the sustainable rate, within budget");
        for v in [0.0, 0.05, 0.3, 0.99] {
            let text = pace_text(v);
            assert!(!text.contains("fast"), "{text}");
            assert!(text.ends_with("within budget"), "{text}");
        }
    }

    #[test]
    fn no_flapping_at_the_threshold() {
        // A burn oscillating around the page threshold every minute.
        let changes = backtest(6 * 60, 1000, |m| {
            if (60..240).contains(&m) {
                if m % 2 == 0 {
                    30
                } else {
                    0
                }
            } else {
                0
            }
        });
        let pages: Vec<_> = changes.iter().filter(|c| c.1 == Severity::Page).collect();
        assert_eq!(pages.iter().filter(|c| c.2).count(), 1, "{changes:?}");
        assert!(pages.len() <= 2);
    }
}

#[test]
fn windows_longer_than_a_burn_span_are_warned_about() {
    let config = |size: &str| {
        crate::config::Config::parse(
            std::path::Path::new("w.toml"),
            &format!(
                "[window]\nsize = \"{size}\"\n[[sli]]\nname = \"a\"\ngood = \"status < 500\"\n[sli.objective]\ntarget = 0.999\nwindow = \"30d\"\n[[sli]]\nname = \"b\"\ngood = \"status < 500\"\n"
            ),
        )
        .unwrap()
    };
    // The Workbook's windows are whole windows of 1m and 5m.
    assert!(window_size_warnings(&config("1m")).is_empty());
    assert!(window_size_warnings(&config("5m")).is_empty());
    let w = window_size_warnings(&config("10m"));
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(w[0].contains("5m burn-rate span"), "{}", w[0]);
    assert_eq!(
        w[1],
        format!("SLI a: alert windows are whole windows of 10m: the page pair 1h/10m: its short window scales to 5m and is clamped to one window; {}", super::ADJUSTED)
    );
    assert!(w[1].ends_with("`slipstream validate` prints the pairs in effect"));
    // 1h windows: 5m and 30m are blind, and both page pairs' short windows
    // are clamped, the first down to a single window.
    let w = window_size_warnings(&config("1h"));
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(w[0].contains("5m, 30m"), "{}", w[0]);
    assert!(w[1].contains("the page pair 1h/1h: its short window scales to 5m and is clamped to one window, both windows are one window"), "{}", w[1]);
    assert!(
        w[1].contains(
            "; the page pair 6h/1h: its short window scales to 30m and is clamped to one window"
        ),
        "{}",
        w[1]
    );
}
