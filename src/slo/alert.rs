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
pub use crate::config::{AlertRule as Rule, Severity};

/// The threshold of a rule for an objective `period_secs` long.
pub fn threshold(rule: &Rule, period_secs: f64) -> f64 {
    rule.budget_share * period_secs / rule.long_secs as f64
}

/// A span as the records name it: `5m`, `1h`, `1d`, `90s`.
pub fn span_name(secs: i64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// Burn rate over the `secs` before `at_ns`; `None` without valid events.
fn burn(tracker: &Tracker, at_ns: i64, secs: i64) -> (u64, Option<f64>) {
    let c = tracker.sum(at_ns - secs * NS, at_ns);
    let target = tracker.objective().target;
    (
        c.valid(),
        (c.valid() > 0).then(|| c.bad as f64 / c.valid() as f64 / (1.0 - target)),
    )
}

/// The length of an objective's period in seconds, for rescaling thresholds.
pub fn period_secs(window: &ObjectiveWindow) -> f64 {
    match window {
        ObjectiveWindow::Rolling(d) => d.as_secs_f64(),
        ObjectiveWindow::CalendarMonth => 30.0 * 86_400.0,
        ObjectiveWindow::CalendarWeek => 7.0 * 86_400.0,
    }
}

#[derive(Debug, Clone)]
struct Incident {
    /// The rule that opened the incident, reported again when it resolves.
    rule: Rule,
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
        let o = tracker.objective();
        let period = period_secs(&o.window);
        o.alert_rules
            .iter()
            .filter(|r| r.severity == severity)
            .find_map(|r| {
                let threshold = threshold(r, period);
                let (valid, long) = burn(tracker, at_ns, r.long_secs);
                let (_, short) = burn(tracker, at_ns, r.short_secs);
                match (long, short) {
                    (Some(l), Some(s))
                        if valid >= self.min_events && l > threshold && s > threshold =>
                    {
                        Some((r.clone(), threshold, l, s))
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
                        rule: rule.clone(),
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
                    let rule = inc.rule.clone();
                    let threshold = threshold(&rule, period_secs(&tracker.objective().window));
                    changes.push(AlertChange {
                        severity,
                        firing: false,
                        threshold,
                        burn_long: burn(tracker, at_ns, rule.long_secs).1.unwrap_or(0.0),
                        burn_short: burn(tracker, at_ns, rule.short_secs).1.unwrap_or(0.0),
                        rule,
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
            change.incident_start_ns - change.rule.long_secs * NS,
            state.at_ns,
        )
        .bad as f64;
    let share = (allowed > 0.0).then(|| spent_in_incident / allowed);
    // Bad events per second over the long window, to project exhaustion.
    let long = tracker.sum(state.at_ns - change.rule.long_secs * NS, state.at_ns);
    let bad_per_sec = long.bad as f64 / change.rule.long_secs as f64;
    let remaining = state.remaining();
    let exhaustion_ns = if remaining <= 0.0 {
        Some(state.at_ns)
    } else if bad_per_sec > 0.0 && change.firing {
        Some(state.at_ns + (remaining / bad_per_sec * 1e9) as i64)
    } else {
        None
    };
    // The start's time of day, with its date when that is another day.
    let since = format_rfc3339(change.incident_start_ns);
    let since_short = {
        let at = format_rfc3339(state.at_ns);
        if since.get(..10) == at.get(..10) {
            format!("{} UTC", since.get(11..16).unwrap_or(&since))
        } else {
            human_time(change.incident_start_ns)
        }
    };
    let budget = budget_name(&o.window_text);
    // Slow burns are worth a decimal: "0.4x", not "0x".
    let burn_text = if change.burn_long >= 10.0 {
        format!("{:.0}", change.burn_long)
    } else {
        format!("{:.1}", change.burn_long)
    };
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
            "{sli} is burning its error budget {burn_text}x too fast ({} and {} windows): {share_text} of the {budget} budget spent since {since_short}; {when}.",
            span_name(change.rule.long_secs),
            span_name(change.rule.short_secs),
        )
    } else {
        format!(
            "{sli} is no longer burning its error budget too fast: the incident that started at {since_short} spent {share_text} of the {budget} budget; {:.1}% of the budget is left.",
            state.remaining_ratio().unwrap_or(0.0) * 100.0
        )
    };
    let json = serde_json::json!({
        "kind": "alert",
        "sli": sli,
        "at": format_rfc3339(state.at_ns),
        "severity": change.severity.name(),
        "state": if change.firing { "firing" } else { "resolved" },
        "long_window": span_name(change.rule.long_secs),
        "short_window": span_name(change.rule.short_secs),
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
/// An objective's window as the summaries name its budget: `28-day`,
/// `monthly`, `weekly`, or as written.
fn budget_name(window_text: &str) -> String {
    match window_text {
        "calendar:month" => "monthly".to_string(),
        "calendar:week" => "weekly".to_string(),
        w => match w.strip_suffix('d').and_then(|n| n.parse::<u32>().ok()) {
            Some(days) => format!("{days}-day"),
            None => w.to_string(),
        },
    }
}

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
