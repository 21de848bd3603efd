//! Fills the `slo` record (see [`crate::record::SloRecord`]) from a
//! tracker's state at the end of a window.

use super::{tidy, SloState, Tracker};
use crate::config::BudgetMethod;
use crate::record::{Budget, ObjectiveJson, OrderedMap, RecordKind, SloRecord};
use crate::time::format_rfc3339;

/// The `slo` record of `sli` at `state.at_ns`.
pub fn slo_record(sli: &str, tracker: &Tracker, state: &SloState) -> SloRecord {
    let o = tracker.objective();
    SloRecord {
        kind: RecordKind::Slo,
        sli: sli.to_string(),
        group: None,
        at: format_rfc3339(state.at_ns),
        objective: ObjectiveJson {
            target: o.target,
            window: o.window_text.clone(),
            method: match o.method {
                BudgetMethod::Occurrences => "occurrences",
                BudgetMethod::Timeslices => "timeslices",
            }
            .to_string(),
            slice: (o.method == BudgetMethod::Timeslices).then(|| o.slice.to_string()),
        },
        period_start: format_rfc3339(state.period_start_ns),
        period_end: format_rfc3339(state.at_ns),
        good: state.period.good,
        bad: state.period.bad,
        compliance: state.compliance(),
        budget: Budget {
            allowed: tidy(state.allowed()),
            spent: state.period.bad,
            remaining: tidy(state.remaining()),
            remaining_ratio: state.remaining_ratio().map(tidy),
            outage_minutes_left: state.outage_minutes_left().map(tidy),
        },
        burn_rate: OrderedMap(
            state
                .burn
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(tidy)))
                .collect(),
        ),
    }
}
