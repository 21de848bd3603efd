//! Multiwindow, multi-burn-rate alerts (the Google SRE Workbook, "Alerting on
//! SLOs"), with a firing/resolved state machine per SLI and severity.
//!
//! For a 30-day objective: page when the 1h and 5m burn rates both exceed
//! 14.4, or the 6h and 30m both exceed 6; ticket when the 1d and 2h exceed 3,
//! or the 3d and 6h exceed 1. The thresholds are budget shares — 2%, 5%,
//! 10%, 10% of the budget spent within the long window — and are rescaled to
//! the objective's own length (a 28-day objective pages above 13.44).
//!
//! - One `firing` record when an incident starts at a severity and one
//!   `resolved` record when it ends; nothing in between.
//! - A ticket does not fire while a page fires for the same SLI.
//! - No flapping at the threshold: an incident resolves only after its
//!   conditions have been false for `RESOLVE_AFTER` of event time.
//! - Low traffic: a rule holds only when its long window saw at least
//!   `min_events` valid events, so a handful of requests with one failure
//!   pages nobody.

use super::{SloState, Tracker, NS};
use crate::config::ObjectiveWindow;
use crate::time::format_rfc3339;

/// Conditions must stay false this long before an incident resolves.
pub const RESOLVE_AFTER_NS: i64 = 10 * 60 * NS;
/// Valid events a long window needs before its rule can fire.
pub const DEFAULT_MIN_EVENTS: u64 = 100;

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

/// One rule: both windows above the threshold.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub severity: Severity,
    pub long: (&'static str, i64),
    pub short: (&'static str, i64),
    /// Share of the whole budget spent within the long window.
    pub budget_share: f64,
}

pub const RULES: [Rule; 4] = [
    Rule {
        severity: Severity::Page,
        long: ("1h", 3_600),
        short: ("5m", 300),
        budget_share: 0.02,
    },
    Rule {
        severity: Severity::Page,
        long: ("6h", 21_600),
        short: ("30m", 1_800),
        budget_share: 0.05,
    },
    Rule {
        severity: Severity::Ticket,
        long: ("1d", 86_400),
        short: ("2h", 7_200),
        budget_share: 0.10,
    },
    Rule {
        severity: Severity::Ticket,
        long: ("3d", 259_200),
        short: ("6h", 21_600),
        budget_share: 0.10,
    },
];

impl Rule {
    /// The burn-rate threshold for an objective `period_secs` long.
    pub fn threshold(&self, period_secs: f64) -> f64 {
        self.budget_share * period_secs / self.long.1 as f64
    }
}

/// The length of an objective's period in seconds, for rescaling thresholds.
pub fn period_secs(window: &ObjectiveWindow) -> f64 {
    match window {
        ObjectiveWindow::Rolling(d) => d.as_secs_f64(),
        ObjectiveWindow::CalendarMonth => 30.0 * 86_400.0,
        ObjectiveWindow::CalendarWeek => 7.0 * 86_400.0,
    }
}

#[derive(Debug, Clone, Default)]
struct Incident {
    start_ns: i64,
    /// When the conditions were last true.
    last_true_ns: i64,
    peak_long: f64,
}

/// The alert state of one SLI.
#[derive(Debug, Clone)]
pub struct Alerts {
    min_events: u64,
    page: Option<Incident>,
    ticket: Option<Incident>,
}

/// A state change to report.
#[derive(Debug, Clone)]
pub struct AlertChange {
    pub severity: Severity,
    pub firing: bool,
    pub rule: Rule,
    pub threshold: f64,
    pub burn_long: f64,
    pub burn_short: f64,
    pub incident_start_ns: i64,
}

impl Alerts {
    pub fn new(min_events: u64) -> Alerts {
        Alerts {
            min_events,
            page: None,
            ticket: None,
        }
    }

    /// True while an incident of this severity is open.
    pub fn firing(&self, severity: Severity) -> bool {
        match severity {
            Severity::Page => self.page.is_some(),
            Severity::Ticket => self.ticket.is_some(),
        }
    }

    /// The first rule of a severity that holds now, with its burn rates.
    fn holding(
        &self,
        tracker: &Tracker,
        at_ns: i64,
        severity: Severity,
    ) -> Option<(Rule, f64, f64, f64)> {
        let period = period_secs(&tracker.objective().window);
        let target = tracker.objective().target;
        let burn = |secs: i64| {
            let c = tracker.sum(at_ns - secs * NS, at_ns);
            (
                c.valid(),
                (c.valid() > 0).then(|| c.bad as f64 / c.valid() as f64 / (1.0 - target)),
            )
        };
        RULES
            .iter()
            .filter(|r| r.severity == severity)
            .find_map(|r| {
                let threshold = r.threshold(period);
                let (valid, long) = burn(r.long.1);
                let (_, short) = burn(r.short.1);
                match (long, short) {
                    (Some(l), Some(s))
                        if valid >= self.min_events && l > threshold && s > threshold =>
                    {
                        Some((*r, threshold, l, s))
                    }
                    _ => None,
                }
            })
    }

    /// Evaluates the rules at the end of a window and returns the changes.
    pub fn evaluate(&mut self, tracker: &Tracker, at_ns: i64) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        for severity in [Severity::Page, Severity::Ticket] {
            let holding = self.holding(tracker, at_ns, severity);
            let suppressed = severity == Severity::Ticket && self.page.is_some();
            let slot = match severity {
                Severity::Page => &mut self.page,
                Severity::Ticket => &mut self.ticket,
            };
            match (slot.as_mut(), holding) {
                (None, Some((rule, threshold, l, s))) if !suppressed => {
                    *slot = Some(Incident {
                        start_ns: at_ns,
                        last_true_ns: at_ns,
                        peak_long: l,
                    });
                    changes.push(AlertChange {
                        severity,
                        firing: true,
                        rule,
                        threshold,
                        burn_long: l,
                        burn_short: s,
                        incident_start_ns: at_ns,
                    });
                }
                (Some(inc), Some((_, _, l, _))) => {
                    inc.last_true_ns = at_ns;
                    inc.peak_long = inc.peak_long.max(l);
                }
                (Some(inc), None) if at_ns - inc.last_true_ns >= RESOLVE_AFTER_NS => {
                    let rule = *RULES
                        .iter()
                        .find(|r| r.severity == severity)
                        .unwrap_or(&RULES[0]);
                    let threshold = rule.threshold(period_secs(&tracker.objective().window));
                    let state = tracker.state(at_ns);
                    changes.push(AlertChange {
                        severity,
                        firing: false,
                        rule,
                        threshold,
                        burn_long: state.burn_rate(rule.long.0).unwrap_or(0.0),
                        burn_short: state.burn_rate(rule.short.0).unwrap_or(0.0),
                        incident_start_ns: inc.start_ns,
                    });
                    *slot = None;
                }
                _ => {}
            }
        }
        changes
    }
}

/// One `alert` record as a JSON line, with its plain-language summary.
pub fn render_alert_record(
    sli: &str,
    tracker: &Tracker,
    state: &SloState,
    change: &AlertChange,
) -> String {
    let o = tracker.objective();
    let allowed = state.allowed();
    let spent_in_incident = tracker
        .sum(
            change.incident_start_ns - change.rule.long.1 * NS,
            state.at_ns,
        )
        .bad as f64;
    let share = (allowed > 0.0).then(|| spent_in_incident / allowed);
    // Bad events per second over the long window, to project exhaustion.
    let long = tracker.sum(state.at_ns - change.rule.long.1 * NS, state.at_ns);
    let bad_per_sec = long.bad as f64 / change.rule.long.1 as f64;
    let remaining = state.remaining();
    let exhaustion_ns = if remaining <= 0.0 {
        Some(state.at_ns)
    } else if bad_per_sec > 0.0 && change.firing {
        Some(state.at_ns + (remaining / bad_per_sec * 1e9) as i64)
    } else {
        None
    };
    let since = format_rfc3339(change.incident_start_ns);
    let since_short = since.get(11..16).unwrap_or(&since);
    let share_text = share.map_or("an unknown share".to_string(), |s| {
        format!("{:.1}%", s * 100.0)
    });
    let summary = if change.firing {
        let when = match exhaustion_ns {
            Some(t) if t <= state.at_ns => "the budget is already spent".to_string(),
            Some(t) => format!("at this rate it is gone by {}", human_time(t)),
            None => "at this rate it lasts the period".to_string(),
        };
        format!(
            "{sli} is burning its error budget {:.0}x too fast ({} and {} windows): {share_text} of the {} budget spent since {since_short} UTC; {when}.",
            change.burn_long, change.rule.long.0, change.rule.short.0, o.window_text
        )
    } else {
        format!(
            "{sli} is no longer burning its error budget too fast: the incident that started at {since_short} UTC spent {share_text} of the {} budget; {:.1}% of the budget is left.",
            o.window_text,
            state.remaining_ratio().unwrap_or(0.0) * 100.0
        )
    };
    let json = serde_json::json!({
        "kind": "alert",
        "sli": sli,
        "at": format_rfc3339(state.at_ns),
        "severity": change.severity.name(),
        "state": if change.firing { "firing" } else { "resolved" },
        "long_window": change.rule.long.0,
        "short_window": change.rule.short.0,
        "burn_rate_long": round(change.burn_long),
        "burn_rate_short": round(change.burn_short),
        "threshold": round(change.threshold),
        "incident_start": since,
        "budget_spent_in_incident": share.map(round),
        "exhaustion_at": exhaustion_ns.map(format_rfc3339),
        "summary": summary,
    });
    json.to_string()
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// `Nov 29 02:00 UTC`.
fn human_time(ns: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let s = format_rfc3339(ns);
    let month: usize = s.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!(
        "{} {} {} UTC",
        MONTHS[(month - 1).min(11)],
        s.get(8..10).unwrap_or("?"),
        s.get(11..16).unwrap_or("?")
    )
}
