//! Objectives: error budgets and burn rates, exact from the window counts.
//!
//! A [`Tracker`] follows one SLI's objective. It is fed every closed window
//! in time order and keeps running sums (one entry per window index, so any
//! span is a subtraction), which makes a `slo` record O(1) whatever the
//! objective's length. Budgets are weighted by events — never an average of
//! ratios — and every ratio without events is `null`, never NaN.
//!
//! With `method = "timeslices"` a window is a slice: good when its `slice`
//! rule holds (by default: its compliance meets the target), bad when it does
//! not, neither without valid events; the same sums then count slices.

pub mod alert;
mod grouped;
mod objectives;
mod record;

use std::collections::VecDeque;

use chrono::{Datelike, TimeZone};

pub use crate::config::{AlertPair, AlertPolicy};
pub use alert::{alert_record, AlertChange, Alerts, Severity};
pub use grouped::window_series;
pub use objectives::{records, records_into, typed_records_into, ObjectiveGauge, Objectives};
pub use record::slo_record;

use crate::config::{BudgetMethod, Objective, ObjectiveWindow};

/// The burn-rate spans reported in every `slo` record.
pub const BURN_SPANS: [(&str, i64); 7] = [
    ("5m", 300),
    ("30m", 1_800),
    ("1h", 3_600),
    ("2h", 7_200),
    ("6h", 21_600),
    ("1d", 86_400),
    ("3d", 259_200),
];

const NS: i64 = 1_000_000_000;

/// What the configured window size changes: burn rates over spans shorter
/// than a window are always `null` in `slo` records, and alert windows are
/// whole windows, so scaled ones may be rounded or clamped (see
/// [`crate::config::effective_pairs`]). One line per problem, empty when
/// there is none.
pub fn window_size_warnings(config: &crate::config::Config) -> Vec<String> {
    let size_ns = config.window.size_ns;
    let size = alert::span_name(size_ns / NS);
    let mut out = Vec::new();
    let short: Vec<&str> = BURN_SPANS
        .iter()
        .filter(|(_, secs)| secs * NS < size_ns)
        .map(|(name, _)| *name)
        .collect();
    if !short.is_empty() {
        out.push(format!(
            "windows of {size} are longer than the {} burn-rate span(s): those burn rates are always null in slo records",
            short.join(", ")
        ));
    }
    for sli in &config.slis {
        let Some(o) = &sli.objective else {
            continue;
        };
        if !o.alerts.adjustments.is_empty() {
            out.push(format!(
                "SLI {}: alert windows are whole windows of {size}: {}; {ADJUSTED}",
                sli.name,
                o.alerts.adjustments.join("; ")
            ));
        }
    }
    out
}

/// What to do about alert windows rounded to whole windows.
const ADJUSTED: &str = "the Workbook's pairs are scaled from a 30-day objective: a longer objective window or a smaller [window] size keeps their spans, [sli.alerts] pairs sets them by hand, and `slipstream validate` prints the pairs in effect";

/// Good and bad counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub good: u64,
    pub bad: u64,
}

impl Counts {
    pub fn valid(&self) -> u64 {
        self.good + self.bad
    }
}

/// The state of one SLI's objective.
#[derive(Debug, Clone)]
pub struct Tracker {
    objective: Objective,
    size_ns: i64,
    /// Window index of `cumulative[0]`.
    first: i64,
    /// Running sums through each window index.
    cumulative: VecDeque<Counts>,
    /// The running sum before `first`: what the windows no longer kept add up to.
    before_first: Counts,
    /// How many windows to keep: the objective's span, the longest burn span
    /// and the longest alert window.
    keep: usize,
}

impl Tracker {
    pub fn new(objective: &Objective, size_ns: i64) -> Tracker {
        let span_ns = match objective.window {
            ObjectiveWindow::Rolling(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            ObjectiveWindow::CalendarMonth => 32 * 86_400 * NS,
            ObjectiveWindow::CalendarWeek => 8 * 86_400 * NS,
        };
        let longest_alert = objective
            .alerts
            .pairs
            .iter()
            .map(|p| p.long_secs.saturating_mul(NS))
            .max()
            .unwrap_or(0);
        let longest = span_ns
            .max(BURN_SPANS[BURN_SPANS.len() - 1].1 * NS)
            .max(longest_alert);
        Tracker {
            objective: objective.clone(),
            size_ns,
            first: 0,
            cumulative: VecDeque::new(),
            before_first: Counts::default(),
            keep: (longest / size_ns) as usize + 2,
        }
    }

    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// Adds a closed window's counts. Windows come in time order; a window at
    /// or before the last one seen is ignored (it was already counted).
    pub fn observe(&mut self, start_ns: i64, good: u64, bad: u64) {
        self.observe_window(start_ns, good, bad, None);
    }

    /// Adds a closed window with its latency percentiles (milliseconds, in
    /// the SLI's order, as its window record carries them), which a
    /// timeslice rule on a percentile needs.
    pub fn observe_window(
        &mut self,
        start_ns: i64,
        good: u64,
        bad: u64,
        latency_ms: Option<&[f64]>,
    ) {
        let counts = match self.objective.method {
            BudgetMethod::Occurrences => Counts { good, bad },
            BudgetMethod::Timeslices => match self.objective.slice.verdict(good, bad, latency_ms) {
                None => Counts::default(),
                Some(true) => Counts { good: 1, bad: 0 },
                Some(false) => Counts { good: 0, bad: 1 },
            },
        };
        let k = start_ns.div_euclid(self.size_ns);
        let Some(last) = self.cumulative.back().copied() else {
            self.first = k;
            self.cumulative.push_back(counts);
            return;
        };
        let last_k = self.first + self.cumulative.len() as i64 - 1;
        if k <= last_k {
            return;
        }
        if k - last_k > self.keep as i64 {
            // A gap longer than everything kept: start over from here, the
            // windows before it summed up behind.
            self.cumulative.clear();
            self.before_first = last;
            self.first = k;
            self.cumulative.push_back(Counts {
                good: last.good + counts.good,
                bad: last.bad + counts.bad,
            });
            return;
        }
        for _ in last_k + 1..k {
            self.cumulative.push_back(last);
        }
        self.cumulative.push_back(Counts {
            good: last.good + counts.good,
            bad: last.bad + counts.bad,
        });
        while self.cumulative.len() > self.keep {
            if let Some(dropped) = self.cumulative.pop_front() {
                self.before_first = dropped;
            }
            self.first += 1;
        }
    }

    /// How much history the tracker keeps, in nanoseconds.
    pub fn history_ns(&self) -> i64 {
        self.keep as i64 * self.size_ns
    }

    /// The end of the last window observed.
    pub fn last_end_ns(&self) -> Option<i64> {
        (!self.cumulative.is_empty())
            .then(|| (self.first + self.cumulative.len() as i64) * self.size_ns)
    }

    /// Running sum through window index `k`.
    fn through(&self, k: i64) -> Counts {
        if self.cumulative.is_empty() {
            return Counts::default();
        }
        if k < self.first {
            return self.before_first;
        }
        let i = ((k - self.first) as usize).min(self.cumulative.len() - 1);
        self.cumulative[i]
    }

    /// Counts of the windows whose start lies in `[from_ns, to_ns)`.
    pub fn sum(&self, from_ns: i64, to_ns: i64) -> Counts {
        let first_k =
            from_ns.div_euclid(self.size_ns) + i64::from(from_ns.rem_euclid(self.size_ns) != 0);
        let last_k =
            to_ns.div_euclid(self.size_ns) - i64::from(to_ns.rem_euclid(self.size_ns) == 0);
        if last_k < first_k {
            return Counts::default();
        }
        let hi = self.through(last_k);
        let lo = self.through(first_k - 1);
        Counts {
            good: hi.good - lo.good,
            bad: hi.bad - lo.bad,
        }
    }

    /// Start of the objective's period that ends at `at_ns`.
    pub fn period_start(&self, at_ns: i64) -> i64 {
        match self.objective.window {
            ObjectiveWindow::Rolling(d) => {
                at_ns.saturating_sub(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            }
            ObjectiveWindow::CalendarMonth | ObjectiveWindow::CalendarWeek => calendar_start(
                at_ns,
                self.objective.window == ObjectiveWindow::CalendarMonth,
                self.objective.timezone,
            ),
        }
    }

    /// The objective's state at `at_ns`, the end of the window just observed.
    pub fn state(&self, at_ns: i64) -> SloState {
        let period_start = self.period_start(at_ns);
        let period = self.sum(period_start, at_ns);
        let burn = BURN_SPANS.map(|(name, secs)| {
            let c = self.sum(at_ns - secs * NS, at_ns);
            let rate = (c.valid() > 0)
                .then(|| (c.bad as f64 / c.valid() as f64) / (1.0 - self.objective.target));
            (name, rate)
        });
        let hour = self.sum(at_ns - 3_600 * NS, at_ns);
        SloState {
            at_ns,
            period_start_ns: period_start,
            period,
            last_hour: hour,
            burn,
            target: self.objective.target,
        }
    }
}

/// The start, in UTC nanoseconds, of the calendar month or ISO week (from
/// Monday) in `tz` that holds the instant just before `at_ns`.
fn calendar_start(at_ns: i64, month: bool, tz: Option<chrono_tz::Tz>) -> i64 {
    let tz = tz.unwrap_or(chrono_tz::UTC);
    let t = at_ns - 1;
    let local = tz.timestamp_nanos(t);
    let date = local.date_naive();
    let first = if month {
        date.with_day(1).unwrap_or(date)
    } else {
        date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()))
    };
    let midnight = first.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Midnight may not exist or repeat around a DST change: take the earliest.
    match tz.from_local_datetime(&midnight).earliest() {
        Some(dt) => dt.timestamp_nanos_opt().unwrap_or(t),
        None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .and_then(|dt| dt.timestamp_nanos_opt())
            .unwrap_or(t),
    }
}

/// Rounds away float noise (`(1 - 0.99) * 1000` is 10.000000000000009)
/// to 12 significant digits, without losing meaningful ones.
pub fn tidy(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let digits = 12 - v.abs().log10().ceil() as i32;
    let scale = 10f64.powi(digits.clamp(0, 15));
    (v * scale).round() / scale
}

/// Everything a `slo` record says, before rendering.
#[derive(Debug, Clone)]
pub struct SloState {
    pub at_ns: i64,
    pub period_start_ns: i64,
    pub period: Counts,
    pub last_hour: Counts,
    pub burn: [(&'static str, Option<f64>); 7],
    pub target: f64,
}

impl SloState {
    pub fn compliance(&self) -> Option<f64> {
        let v = self.period.valid();
        (v > 0).then(|| self.period.good as f64 / v as f64)
    }

    /// Bad events (or slices) the period may have: (1 - target) x valid.
    pub fn allowed(&self) -> f64 {
        tidy((1.0 - self.target) * self.period.valid() as f64)
    }

    pub fn remaining(&self) -> f64 {
        tidy(self.allowed() - self.period.bad as f64)
    }

    pub fn remaining_ratio(&self) -> Option<f64> {
        let allowed = self.allowed();
        (allowed > 0.0).then(|| tidy(self.remaining() / allowed))
    }

    /// Minutes of total outage at the last hour's traffic that would spend
    /// what is left; `None` without traffic or when nothing is left.
    pub fn outage_minutes_left(&self) -> Option<f64> {
        let per_minute = self.last_hour.valid() as f64 / 60.0;
        let remaining = self.remaining();
        (per_minute > 0.0 && remaining > 0.0).then(|| remaining / per_minute)
    }

    pub fn burn_rate(&self, span: &str) -> Option<f64> {
        self.burn
            .iter()
            .find(|(n, _)| *n == span)
            .and_then(|(_, r)| *r)
    }
}

#[cfg(test)]
mod tests;
