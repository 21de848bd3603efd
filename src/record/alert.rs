//! The `alert` record: an incident firing or resolving at one severity.

use serde::{Deserialize, Serialize};

use super::RecordKind;

/// A `kind = "alert"` record. Its fields are serialized in alphabetical
/// order, as alert records have always been written, so stores that compare
/// lines see the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub at: String,
    /// Share of the objective's budget spent from one long window before
    /// the incident started until this record.
    pub budget_spent_in_incident: Option<f64>,
    pub burn_rate_long: Option<f64>,
    pub burn_rate_short: Option<f64>,
    /// When the budget runs out at the long window's rate, if it does.
    pub exhaustion_at: Option<String>,
    /// For a grouped SLI: the group's value of each `group_by` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<super::Group>,
    pub incident_start: String,
    pub kind: RecordKind,
    pub long_window: String,
    /// `page` or `ticket`.
    pub severity: String,
    pub short_window: String,
    pub sli: String,
    /// `firing` or `resolved`.
    pub state: String,
    pub summary: String,
    pub threshold: f64,
}

impl AlertRecord {
    pub fn firing(&self) -> bool {
        self.state == "firing"
    }
}
