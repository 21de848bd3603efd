//! Burn-rate alert pairs: the Google SRE Workbook's four pairs, the
//! `[sli.alerts]` table that replaces them, and [`effective_pairs`], the one
//! place that decides which pairs an objective alerts with. The stream job,
//! backfill (the alert backtest), `what-if`, `suggest`, `review` and
//! `validate` all read the pairs it gave, kept in the objective's
//! [`AlertPolicy`].
//!
//! The Workbook's burn-rate thresholds hold for every objective: a page means
//! the budget burns at least 14.4 (or 6) times faster than it can last. Its
//! windows, made for a 30-day objective, are scaled to the objective's length
//! (a calendar month counts as 30 days, a calendar week as 7), rounded to
//! whole windows of `window.size` — burn rates are sums of whole windows —
//! and never shorter than one window. Every window that scaling alone does
//! not give exactly is named in [`AlertPolicy::adjustments`], which
//! `validate`, `run` and `backfill` print as warnings.

use super::raw::{RawAlertPair, RawAlerts};
use super::validate::Validator;
use super::{ConfigError, ObjectiveWindow};

/// Severity of a burn-rate alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One multiwindow burn-rate pair: it holds when the burn rates over both
/// windows exceed `burn_rate` (and the long window saw enough events).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPair {
    pub severity: Severity,
    pub long_secs: i64,
    pub short_secs: i64,
    /// The threshold both burn rates must exceed; 1 is the rate at which
    /// the budget lasts exactly the objective's window.
    pub burn_rate: f64,
}

impl AlertPair {
    /// The share of the budget spent within the long window when it burns
    /// exactly at the threshold.
    pub fn budget_share(&self, period_secs: f64) -> f64 {
        self.burn_rate * self.long_secs as f64 / period_secs
    }
}

/// How an objective alerts: its effective pairs and the low-traffic guard.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPolicy {
    /// Valid events a pair's long window needs before the pair can hold.
    pub min_events: u64,
    /// The pairs in effect, windows in whole windows of `window.size`.
    pub pairs: Vec<AlertPair>,
    /// True when `[sli.alerts] pairs` gave them, false for the Workbook's.
    pub custom: bool,
    /// Each window that scaling alone did not give, and what it became.
    pub adjustments: Vec<String>,
}

impl AlertPolicy {
    /// The Workbook's pairs for an objective, windows scaled to it.
    pub fn workbook(window: &ObjectiveWindow, size_secs: i64, min_events: u64) -> AlertPolicy {
        let (pairs, adjustments) = effective_pairs(window, size_secs);
        AlertPolicy {
            min_events,
            pairs,
            custom: false,
            adjustments,
        }
    }
}

impl AlertPolicy {
    /// The lines `validate` prints for an objective over `window` (written
    /// `window_text`): where the pairs come from, the guard, and each pair
    /// with the share of the budget it spends in its long window.
    pub fn describe(&self, window: &ObjectiveWindow, window_text: &str) -> Vec<String> {
        let source = if self.custom {
            "[sli.alerts] pairs".to_string()
        } else {
            format!("the Workbook's pairs, windows scaled to {window_text}")
        };
        let mut out = vec![format!(
            "  alerts:      {source}; a pair fires when both its burn rates exceed its threshold and its long window saw {} valid events or more",
            self.min_events
        )];
        if self.pairs.is_empty() {
            out.push("               (none: this objective never alerts)".to_string());
        }
        let period = period_secs(window);
        for p in &self.pairs {
            out.push(format!(
                "               {:<6}  long {:<9} short {:<7} burn rate > {:<5} spends {:.1}% of the budget in its long window",
                p.severity.name(),
                span_name(p.long_secs),
                span_name(p.short_secs),
                threshold_text(p.burn_rate),
                p.budget_share(period) * 100.0,
            ));
        }
        out
    }
}

/// The low-traffic guard unless `[sli.alerts] min_events` sets another.
pub const DEFAULT_MIN_EVENTS: u64 = 100;

/// The length the Workbook's windows were made for: 30 days.
pub const WORKBOOK_PERIOD_SECS: f64 = 30.0 * 86_400.0;

/// The Google SRE Workbook's pairs for a 30-day objective: page when the 1h
/// and 5m burn rates both exceed 14.4 or the 6h and 30m both exceed 6;
/// ticket when the 1d and 2h exceed 3 or the 3d and 6h exceed 1.
pub const WORKBOOK_PAIRS: [AlertPair; 4] = [
    AlertPair {
        severity: Severity::Page,
        long_secs: 3_600,
        short_secs: 300,
        burn_rate: 14.4,
    },
    AlertPair {
        severity: Severity::Page,
        long_secs: 21_600,
        short_secs: 1_800,
        burn_rate: 6.0,
    },
    AlertPair {
        severity: Severity::Ticket,
        long_secs: 86_400,
        short_secs: 7_200,
        burn_rate: 3.0,
    },
    AlertPair {
        severity: Severity::Ticket,
        long_secs: 259_200,
        short_secs: 21_600,
        burn_rate: 1.0,
    },
];

/// The length of an objective's period in seconds, as alerting counts it:
/// a calendar month is 30 days, a calendar week 7.
pub fn period_secs(window: &ObjectiveWindow) -> f64 {
    match window {
        ObjectiveWindow::Rolling(d) => d.as_secs_f64(),
        ObjectiveWindow::CalendarMonth => 30.0 * 86_400.0,
        ObjectiveWindow::CalendarWeek => 7.0 * 86_400.0,
    }
}

/// The Workbook's pairs for an objective over `window` with windows of
/// `size_secs`: the thresholds as they are, each window x objective / 30
/// days, rounded to whole windows and at least one. The Workbook's short
/// windows are a twelfth of their long ones, so a short window reaches its
/// long one only when both are clamped to one window: the pair then judges
/// that single window's burn rate. The second list says, per pair, which windows were
/// clamped to one window or rounded by more than a quarter (empty otherwise).
pub fn effective_pairs(window: &ObjectiveWindow, size_secs: i64) -> (Vec<AlertPair>, Vec<String>) {
    let size_secs = size_secs.max(1);
    let period = period_secs(window);
    let mut pairs = Vec::with_capacity(WORKBOOK_PAIRS.len());
    let mut adjustments = Vec::new();
    for wb in &WORKBOOK_PAIRS {
        let long_exact = wb.long_secs as f64 * period / WORKBOOK_PERIOD_SECS;
        let short_exact = wb.short_secs as f64 * period / WORKBOOK_PERIOD_SECS;
        let long_n = whole_windows(long_exact, size_secs);
        let short_n = whole_windows(short_exact, size_secs);
        let pair = AlertPair {
            severity: wb.severity,
            long_secs: long_n * size_secs,
            short_secs: short_n * size_secs,
            burn_rate: wb.burn_rate,
        };
        let name = format!(
            "the {} pair {}/{}",
            pair.severity.name(),
            span_name(pair.long_secs),
            span_name(pair.short_secs)
        );
        let mut notes = Vec::new();
        for (what, exact, got) in [
            ("long", long_exact, pair.long_secs),
            ("short", short_exact, pair.short_secs),
        ] {
            // Rounding by a quarter or less (28 days: 4m40s to 5m) changes
            // nothing anyone acts on, and `validate` prints the pairs: only
            // a clamp or a larger change is worth a warning on every start.
            let clamped = exact < size_secs as f64;
            if clamped || (exact - got as f64).abs() > exact / 4.0 {
                let how = if clamped {
                    "clamped to one window"
                } else {
                    "rounded to whole windows"
                };
                notes.push(format!(
                    "its {what} window scales to {} and is {how}",
                    span_name(exact.round() as i64)
                ));
            }
        }
        if pair.long_secs == pair.short_secs {
            notes.push(
                "both windows are one window, so it judges that single window's burn rate"
                    .to_string(),
            );
        }
        if !notes.is_empty() {
            adjustments.push(format!("{name}: {}", notes.join(", ")));
        }
        pairs.push(pair);
    }
    (pairs, adjustments)
}

/// A threshold as written: `14.4`, `6`, `1`.
pub fn threshold_text(v: f64) -> String {
    format!("{}", (v * 100.0).round() / 100.0)
}

/// The nearest whole number of windows to `secs`, at least one.
fn whole_windows(secs: f64, size_secs: i64) -> i64 {
    ((secs / size_secs as f64).round() as i64).max(1)
}

/// A span as records and messages name it: `5m`, `1h`, `1d`, `2m24s`,
/// `2h24m`, `1d12h`.
pub fn span_name(secs: i64) -> String {
    if secs <= 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= n {
            out.push_str(&format!("{}{unit}", rest / n));
            rest %= n;
        }
    }
    out
}

impl Validator<'_> {
    /// `[sli.alerts]` of SLI `i` for an objective over `window`, with windows
    /// of `size_secs`.
    pub(super) fn alerts(
        &self,
        i: usize,
        raw: Option<&RawAlerts>,
        window: &ObjectiveWindow,
        size_secs: i64,
    ) -> Result<AlertPolicy, ConfigError> {
        let field = |f: &str| format!("sli[{i}].alerts.{f}");
        let min_events = match raw.and_then(|a| a.min_events.as_ref()) {
            None => DEFAULT_MIN_EVENTS,
            Some(n) if *n.get_ref() < 0 => {
                return Err(self.err(n.span(), &field("min_events"), "must be 0 or more"))
            }
            Some(n) => *n.get_ref() as u64,
        };
        let Some(list) = raw.and_then(|a| a.pairs.as_ref()) else {
            return Ok(AlertPolicy::workbook(window, size_secs, min_events));
        };
        let pairs = list
            .iter()
            .enumerate()
            .map(|(j, p)| self.alert_pair(&field(&format!("pairs[{j}]")), p, size_secs))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AlertPolicy {
            min_events,
            pairs,
            custom: true,
            adjustments: Vec::new(),
        })
    }

    fn alert_pair(
        &self,
        field: &str,
        p: &RawAlertPair,
        size_secs: i64,
    ) -> Result<AlertPair, ConfigError> {
        let f = |name: &str| format!("{field}.{name}");
        let severity = match p.severity.get_ref().as_str() {
            "page" => Severity::Page,
            "ticket" => Severity::Ticket,
            other => {
                return Err(self.err(
                    p.severity.span(),
                    &f("severity"),
                    format!("unknown severity `{other}`; expected `page` or `ticket`"),
                ))
            }
        };
        let size = span_name(size_secs);
        let mut windows = [0i64; 2];
        for (slot, (name, text)) in windows.iter_mut().zip([
            ("long_window", &p.long_window),
            ("short_window", &p.short_window),
        ]) {
            let d = self.duration(text, &f(name))?;
            let secs = d.as_secs() as i64;
            if d.subsec_nanos() != 0 || secs < size_secs || secs % size_secs != 0 {
                let next = (secs / size_secs).max(1) * size_secs;
                return Err(self.err(
                    text.span(),
                    &f(name),
                    format!(
                        "`{}` is not a whole number of windows of {size} (window.size): burn rates are sums of whole windows; write `{}` or `{}`",
                        text.get_ref(),
                        span_name(next),
                        span_name(next + size_secs)
                    ),
                ));
            }
            *slot = secs;
        }
        let [long_secs, short_secs] = windows;
        if short_secs >= long_secs {
            return Err(self.err(
                p.short_window.span(),
                &f("short_window"),
                format!(
                    "`{}` must be shorter than long_window `{}`: the short window is what tells that the burn is still going on",
                    p.short_window.get_ref(),
                    p.long_window.get_ref()
                ),
            ));
        }
        let burn_rate = *p.burn_rate.get_ref();
        if !(burn_rate.is_finite() && burn_rate >= 1.0) {
            return Err(self.err(
                p.burn_rate.span(),
                &f("burn_rate"),
                format!(
                    "{burn_rate} is below 1: such a pair fires on traffic that keeps the objective (1 is the rate at which the budget lasts exactly the window); use 1 or more, like the Workbook's 14.4 for a page"
                ),
            ));
        }
        Ok(AlertPair {
            severity,
            long_secs,
            short_secs,
            burn_rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const DAY: u64 = 86_400;

    /// (severity, long, short, burn rate) with windows in minutes.
    fn minutes(window: ObjectiveWindow, size_secs: i64) -> Vec<(Severity, i64, i64, f64)> {
        effective_pairs(&window, size_secs)
            .0
            .iter()
            .map(|p| (p.severity, p.long_secs / 60, p.short_secs / 60, p.burn_rate))
            .collect()
    }

    fn days(n: u64) -> ObjectiveWindow {
        ObjectiveWindow::Rolling(Duration::from_secs(n * DAY))
    }

    use Severity::{Page, Ticket};

    #[test]
    fn windows_scale_with_the_objective_and_thresholds_do_not() {
        // Worked out by hand: Workbook window (minutes) x days / 30, to the
        // nearest whole minute, at least one.
        // 1 day: 60/30 = 2, 5/30 = 0.17 -> 1, 360/30 = 12, 30/30 = 1,
        // 1440/30 = 48, 120/30 = 4, 4320/30 = 144, 360/30 = 12.
        assert_eq!(
            minutes(days(1), 60),
            vec![
                (Page, 2, 1, 14.4),
                (Page, 12, 1, 6.0),
                (Ticket, 48, 4, 3.0),
                (Ticket, 144, 12, 1.0)
            ]
        );
        // 7 days: 60*7/30 = 14, 5*7/30 = 1.17 -> 1, 84, 7, 336, 28, 1008, 84.
        let week = vec![
            (Page, 14, 1, 14.4),
            (Page, 84, 7, 6.0),
            (Ticket, 336, 28, 3.0),
            (Ticket, 1008, 84, 1.0),
        ];
        assert_eq!(minutes(days(7), 60), week);
        assert_eq!(minutes(ObjectiveWindow::CalendarWeek, 60), week);
        // 28 days: 56, 4.67 -> 5, 336, 28, 1344, 112, 4032, 336.
        assert_eq!(
            minutes(days(28), 60),
            vec![
                (Page, 56, 5, 14.4),
                (Page, 336, 28, 6.0),
                (Ticket, 1344, 112, 3.0),
                (Ticket, 4032, 336, 1.0)
            ]
        );
        // 30 days and a calendar month: the Workbook's own windows.
        let month = vec![
            (Page, 60, 5, 14.4),
            (Page, 360, 30, 6.0),
            (Ticket, 1440, 120, 3.0),
            (Ticket, 4320, 360, 1.0),
        ];
        assert_eq!(minutes(days(30), 60), month);
        assert_eq!(minutes(ObjectiveWindow::CalendarMonth, 60), month);
    }

    #[test]
    fn windows_are_whole_windows_of_the_window_size_and_say_so() {
        // 1 day at 5-minute windows: 2m and 10s clamp to one window (both
        // 5m); 12m -> 10m, 1m -> 5m; 48m -> 50m, 4m -> 5m; 144m -> 145m,
        // 12m -> 10m.
        let (pairs, notes) = effective_pairs(&days(1), 300);
        let got: Vec<(i64, i64)> = pairs
            .iter()
            .map(|p| (p.long_secs / 60, p.short_secs / 60))
            .collect();
        assert_eq!(got, vec![(5, 5), (10, 5), (50, 5), (145, 10)]);
        // The clamped windows are named; 12m -> 10m and 144m -> 145m are
        // within a quarter and pass silently.
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(
            notes[0].starts_with("the page pair 5m/5m: its long window scales to 2m and is clamped to one window, its short window scales to 10s and is clamped to one window, both windows are one window"),
            "{}",
            notes[0]
        );
        assert_eq!(
            notes[1],
            "the page pair 10m/5m: its short window scales to 1m and is clamped to one window"
        );
        assert_eq!(
            notes[2],
            "the ticket pair 50m/5m: its short window scales to 4m and is clamped to one window"
        );
        // 28 days at 1-minute windows: 4m40s -> 5m is within a quarter.
        assert!(effective_pairs(&days(28), 60).1.is_empty());
        // 7 days at 1-minute windows: 1m10s -> 1m likewise.
        assert!(effective_pairs(&days(7), 60).1.is_empty());
        // 10 days at 1-hour windows: 20m, 1m40s, 10m and 40m are clamped;
        // 2h, 8h, 1d and 2h are exact.
        let (_, notes) = effective_pairs(&days(10), 3_600);
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(notes.iter().all(|n| !n.contains("rounded")), "{notes:#?}");
        let (_, notes) = effective_pairs(&days(20), 3_600 * 5);
        // 3d x 20/30 = 2d = 48h: 9.6 windows of 5h -> 10 (50h, +4%):
        // silent; 1d x 20/30 = 16h -> 15h (-6%): silent; 6h x 20/30 = 4h is
        // clamped to 5h.
        assert!(notes.iter().any(|n| n.contains("clamped")), "{notes:#?}");
        assert!(notes.iter().all(|n| !n.contains("rounded")), "{notes:#?}");
        // 1h x 45/30 = 1h30m at 1-hour windows -> 2h (+33%): named.
        let (_, notes) = effective_pairs(&days(45), 3_600);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("long window scales to 1h30m and is rounded to whole windows")),
            "{notes:#?}"
        );
        // Exact scaling says nothing.
        assert!(effective_pairs(&days(30), 60).1.is_empty());
        assert!(effective_pairs(&ObjectiveWindow::CalendarMonth, 300)
            .1
            .is_empty());
        // Coarse windows: 2 days at 1h windows: 4m -> 1h, 20s -> 1h; 24m ->
        // 1h, 2m -> 1h; 96m -> 2h, 8m -> 1h; 288m -> 5h, 24m -> 1h.
        let (pairs, notes) = effective_pairs(&days(2), 3_600);
        let got: Vec<(i64, i64)> = pairs
            .iter()
            .map(|p| (p.long_secs / 3_600, p.short_secs / 3_600))
            .collect();
        assert_eq!(got, vec![(1, 1), (1, 1), (2, 1), (5, 1)]);
        assert_eq!(notes.len(), 4, "{notes:#?}");
        assert!(
            notes[1].ends_with("single window's burn rate"),
            "{}",
            notes[1]
        );
        assert!(!notes[2].contains("single window"), "{}", notes[2]);
    }

    #[test]
    fn shares_of_the_budget_are_the_workbooks() {
        // 2%, 5%, 10% and 10% of the budget in the long window, whatever the
        // objective, when scaling is exact.
        for window in [days(30), days(1), days(15)] {
            let period = period_secs(&window);
            let shares: Vec<f64> = effective_pairs(&window, 1)
                .0
                .iter()
                .map(|p| (p.budget_share(period) * 1e6).round() / 1e6)
                .collect();
            assert_eq!(shares, vec![0.02, 0.05, 0.1, 0.1], "{window}");
        }
    }

    #[test]
    fn spans_name_any_window() {
        assert_eq!(span_name(300), "5m");
        assert_eq!(span_name(3_600), "1h");
        assert_eq!(span_name(86_400), "1d");
        assert_eq!(span_name(144), "2m24s");
        assert_eq!(span_name(8_640), "2h24m");
        assert_eq!(span_name(129_600), "1d12h");
        assert_eq!(span_name(90_061), "1d1h1m1s");
        assert_eq!(span_name(10), "10s");
        assert_eq!(span_name(0), "0s");
        // Every name reads back as the same duration.
        for secs in [144, 8_640, 129_600, 90_061, 60_480] {
            let back = humantime::parse_duration(&span_name(secs)).unwrap();
            assert_eq!(back.as_secs() as i64, secs);
        }
    }
}
