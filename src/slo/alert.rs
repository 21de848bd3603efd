//! Multiwindow, multi-burn-rate alerts (the Google SRE Workbook, "Alerting on
//! SLOs"), with a firing/resolved state machine per SLI and severity.
//!
//! The pairs come from the objective's [`AlertPolicy`](crate::config::AlertPolicy):
//! by default the Workbook's thresholds (page above 14.4 and 6, ticket above
//! 3 and 1) over its windows scaled to the objective's length. A pair holds
//! when the burn rates over both its windows *exceed* its threshold.
//!
//! - One `firing` record when an incident starts at a severity and one
//!   `resolved` record when it ends; nothing in between.
//! - A ticket does not fire while a page fires for the same SLI.
//! - No flapping at the threshold: an incident resolves only after its
//!   conditions have been false for `RESOLVE_AFTER` of event time.
//! - Low traffic: a pair holds only when its long window saw at least
//!   `min_events` valid events, so a handful of requests with one failure
//!   pages nobody.

use super::{SloState, Tracker, NS};
use crate::record::{AlertRecord, RecordKind};
use crate::time::format_rfc3339;

/// Conditions must stay false this long before an incident resolves.
pub const RESOLVE_AFTER_NS: i64 = 10 * 60 * NS;
pub use crate::config::{span_name, threshold_text, AlertPair, Severity};

/// Burn rate over the `secs` before `at_ns`; `None` without valid events.
fn burn(tracker: &Tracker, at_ns: i64, secs: i64) -> (u64, Option<f64>) {
    let c = tracker.sum(at_ns - secs * NS, at_ns);
    let target = tracker.objective().target;
    (
        c.valid(),
        (c.valid() > 0).then(|| c.bad as f64 / c.valid() as f64 / (1.0 - target)),
    )
}

#[derive(Debug, Clone)]
struct Incident {
    /// The pair that opened the incident, reported again when it resolves.
    pair: AlertPair,
    start_ns: i64,
    /// When the conditions were last true.
    last_true_ns: i64,
    peak_long: f64,
}

/// The alert state of one SLI.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    page: Option<Incident>,
    ticket: Option<Incident>,
}

/// A state change to report.
#[derive(Debug, Clone)]
pub struct AlertChange {
    pub severity: Severity,
    pub firing: bool,
    /// The pair that fired (its `burn_rate` is the threshold).
    pub pair: AlertPair,
    pub burn_long: f64,
    pub burn_short: f64,
    pub incident_start_ns: i64,
}

impl Alerts {
    pub fn new() -> Alerts {
        Alerts {
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

    /// The first pair of a severity that holds now, with its burn rates.
    fn holding(
        &self,
        tracker: &Tracker,
        at_ns: i64,
        severity: Severity,
    ) -> Option<(AlertPair, f64, f64)> {
        let policy = &tracker.objective().alerts;
        policy
            .pairs
            .iter()
            .filter(|p| p.severity == severity)
            .find_map(|p| {
                let (valid, long) = burn(tracker, at_ns, p.long_secs);
                let (_, short) = burn(tracker, at_ns, p.short_secs);
                match (long, short) {
                    (Some(l), Some(s))
                        if valid >= policy.min_events && l > p.burn_rate && s > p.burn_rate =>
                    {
                        Some((p.clone(), l, s))
                    }
                    _ => None,
                }
            })
    }

    /// Evaluates the pairs at the end of a window and returns the changes.
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
                (None, Some((pair, l, s))) if !suppressed => {
                    *slot = Some(Incident {
                        pair: pair.clone(),
                        start_ns: at_ns,
                        last_true_ns: at_ns,
                        peak_long: l,
                    });
                    changes.push(AlertChange {
                        severity,
                        firing: true,
                        pair,
                        burn_long: l,
                        burn_short: s,
                        incident_start_ns: at_ns,
                    });
                }
                (Some(inc), Some((_, l, _))) => {
                    inc.last_true_ns = at_ns;
                    inc.peak_long = inc.peak_long.max(l);
                }
                (Some(inc), None) if at_ns - inc.last_true_ns >= RESOLVE_AFTER_NS => {
                    let pair = inc.pair.clone();
                    changes.push(AlertChange {
                        severity,
                        firing: false,
                        burn_long: burn(tracker, at_ns, pair.long_secs).1.unwrap_or(0.0),
                        burn_short: burn(tracker, at_ns, pair.short_secs).1.unwrap_or(0.0),
                        pair,
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

/// The `alert` record of a state change, with its plain-language summary.
pub fn alert_record(
    sli: &str,
    tracker: &Tracker,
    state: &SloState,
    change: &AlertChange,
) -> AlertRecord {
    let o = tracker.objective();
    let allowed = state.allowed();
    let spent_in_incident = tracker
        .sum(
            change.incident_start_ns - change.pair.long_secs * NS,
            state.at_ns,
        )
        .bad as f64;
    let share = (allowed > 0.0).then(|| spent_in_incident / allowed);
    // Bad events per second over the long window, to project exhaustion.
    let long = tracker.sum(state.at_ns - change.pair.long_secs * NS, state.at_ns);
    let bad_per_sec = long.bad as f64 / change.pair.long_secs as f64;
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
    let share_text = share.map_or("an unknown share".to_string(), |s| {
        format!("{:.1}%", s * 100.0)
    });
    let (long, short) = (
        span_name(change.pair.long_secs),
        span_name(change.pair.short_secs),
    );
    let threshold = threshold_text(change.pair.burn_rate);
    // The share counts from one long window before the incident started:
    // when it fires, that is the long window just past.
    let summary = if change.firing {
        let when = match exhaustion_ns {
            Some(t) if t <= state.at_ns => "the budget is already spent".to_string(),
            Some(t) => format!("at this rate it is gone by {}", human_time(t)),
            None => "at this rate it lasts the period".to_string(),
        };
        format!(
            "{sli} is burning its error budget {}x the sustainable rate over {long} and {short} (a {} above {threshold}x): {share_text} of the {budget} budget spent over the last {long}; {when}.",
            rate_text(change.burn_long),
            change.severity.name(),
        )
    } else {
        format!(
            "{sli} no longer burns its error budget above {threshold}x the sustainable rate over {long} and {short} (over {long} it now burns {}): the incident that started at {since_short} spent {share_text} of the {budget} budget, counted from {long} before it started; {:.1}% of the budget is left.",
            pace_text(change.burn_long),
            state.remaining_ratio().unwrap_or(0.0) * 100.0
        )
    };
    AlertRecord {
        at: format_rfc3339(state.at_ns),
        budget_spent_in_incident: share.map(round),
        burn_rate_long: Some(round(change.burn_long)).filter(|v| v.is_finite()),
        burn_rate_short: Some(round(change.burn_short)).filter(|v| v.is_finite()),
        exhaustion_at: exhaustion_ns.map(format_rfc3339),
        group: None,
        incident_start: since,
        kind: RecordKind::Alert,
        long_window: span_name(change.pair.long_secs),
        severity: change.severity.name().to_string(),
        short_window: span_name(change.pair.short_secs),
        sli: sli.to_string(),
        state: if change.firing { "firing" } else { "resolved" }.to_string(),
        summary,
        threshold: round(change.pair.burn_rate),
    }
}

/// A burn rate in words that say which side of 1 it is on: above 1
/// "3.2x the sustainable rate", at or below 1 "0.3x the sustainable rate,
/// within budget" (never "0.3x too fast").
pub fn pace_text(rate: f64) -> String {
    if rate > 1.0 {
        format!("{}x the sustainable rate", rate_text(rate))
    } else {
        format!("{}x the sustainable rate, within budget", rate_text(rate))
    }
}

/// A burn rate as summaries show it: `160`, `16.2`, `4.5`, `1.04`; enough
/// digits to tell it from a threshold like 14.4 or 1, none that mean nothing.
pub fn rate_text(v: f64) -> String {
    let text = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 2.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    match text.split_once('.') {
        Some((int, frac)) if frac.trim_end_matches('0').is_empty() => int.to_string(),
        Some((int, frac)) => format!("{int}.{}", frac.trim_end_matches('0')),
        None => text,
    }
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

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
