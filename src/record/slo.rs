//! The `slo` record: one objective's budget and burn rates at the end of a
//! window.

use serde::{Deserialize, Serialize};

use super::{OrderedMap, RecordKind};

/// A `kind = "slo"` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloRecord {
    pub kind: RecordKind,
    pub sli: String,
    /// For a grouped SLI: the group's value of each `group_by` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<super::Group>,
    pub at: String,
    pub objective: ObjectiveJson,
    pub period_start: String,
    pub period_end: String,
    pub good: u64,
    pub bad: u64,
    pub compliance: Option<f64>,
    pub budget: Budget,
    /// Burn rates keyed by span (`5m` ... `3d`), shortest first.
    pub burn_rate: OrderedMap<Option<f64>>,
}

/// The objective a `slo` record measures against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveJson {
    pub target: f64,
    pub window: String,
    /// `occurrences` or `timeslices`.
    pub method: String,
    /// The slice rule, for timeslices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
}

/// The error budget of the objective's period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub allowed: f64,
    pub spent: u64,
    pub remaining: f64,
    pub remaining_ratio: Option<f64>,
    pub outage_minutes_left: Option<f64>,
}
