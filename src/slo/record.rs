//! The `slo` record (see the contract's "Records").

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::{tidy, SloState, Tracker};
use crate::config::BudgetMethod;
use crate::time::format_rfc3339;

/// A `kind = "slo"` record.
#[derive(Debug, Clone, Serialize)]
pub struct SloRecord<'a> {
    pub kind: &'static str,
    pub sli: &'a str,
    pub at: String,
    pub objective: ObjectiveJson<'a>,
    pub period_start: String,
    pub period_end: String,
    pub good: u64,
    pub bad: u64,
    pub compliance: Option<f64>,
    pub budget: Budget,
    pub burn_rate: BurnRates,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveJson<'a> {
    pub target: f64,
    pub window: &'a str,
    pub method: &'static str,
    /// The slice rule, for timeslices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub allowed: f64,
    pub spent: u64,
    pub remaining: f64,
    pub remaining_ratio: Option<f64>,
    pub outage_minutes_left: Option<f64>,
}

/// Burn rates keyed by span, in the contract's order.
#[derive(Debug, Clone)]
pub struct BurnRates(pub [(&'static str, Option<f64>); 7]);

impl Serialize for BurnRates {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One `slo` record as a JSON line (without the newline).
pub fn render_slo_record(sli: &str, tracker: &Tracker, state: &SloState) -> String {
    let o = tracker.objective();
    let rec = SloRecord {
        kind: "slo",
        sli,
        at: format_rfc3339(state.at_ns),
        objective: ObjectiveJson {
            target: o.target,
            window: &o.window_text,
            method: match o.method {
                BudgetMethod::Occurrences => "occurrences",
                BudgetMethod::Timeslices => "timeslices",
            },
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
        burn_rate: BurnRates(state.burn.map(|(k, v)| (k, v.map(tidy)))),
    };
    serde_json::to_string(&rec).unwrap_or_default()
}
