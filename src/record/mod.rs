//! Records: what slipstream writes. Every sink receives the same JSON (the
//! README's "Records"), filtered by the kinds it asked for, and keyed so
//! that stores can upsert.
//!
//! This module owns the records' shape: [`WindowRecord`], [`SloRecord`] and
//! [`AlertRecord`] serialize to exactly the bytes sinks write and parse them
//! back, so the PostgreSQL flattening, the report and the rebuild of
//! objectives after a restart read typed fields, never a
//! `serde_json::Value` walked by hand. What fills them lives with the stage
//! that knows the numbers: `window::window_record`, `slo::slo_record` and
//! `slo::alert::alert_record`.

mod alert;
mod map;
mod slo;
mod window;

use serde::{Deserialize, Serialize};

pub use alert::AlertRecord;
pub use map::OrderedMap;
pub use slo::{Budget, ObjectiveJson, SloRecord};
pub use window::{
    Breakdown, BreakdownField, Group, LatencySummary, TopValue, WindowCounts, WindowRecord,
};

/// The kind of a record: its `kind` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Window,
    Slo,
    Alert,
}

impl RecordKind {
    /// The kind as its `kind` field holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Window => "window",
            RecordKind::Slo => "slo",
            RecordKind::Alert => "alert",
        }
    }

    /// True when a sink with these kinds takes this record.
    pub fn wanted_by(self, kinds: &crate::config::RecordKinds) -> bool {
        match self {
            RecordKind::Window => kinds.window,
            RecordKind::Slo => kinds.slo,
            RecordKind::Alert => kinds.alert,
        }
    }
}

/// One rendered record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordKind,
    /// The record's key: `sli|window_start` for a window record.
    pub key: String,
    /// The record as one line of JSON, without the newline.
    pub json: String,
}

impl From<&AnyRecord> for Record {
    /// The record rendered for the sinks, with its key.
    fn from(record: &AnyRecord) -> Record {
        Record {
            kind: record.kind(),
            key: record.key(),
            json: record.to_json(),
        }
    }
}

impl Record {
    /// The line's typed record; `None` if it is not one of slipstream's.
    pub fn parse(&self) -> Option<AnyRecord> {
        AnyRecord::parse(&self.json)
    }
}

/// A record of any kind, as read back from a sink.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRecord {
    Window(WindowRecord),
    Slo(SloRecord),
    Alert(AlertRecord),
}

impl AnyRecord {
    /// Parses one line written by a sink; `None` for a line that is not a
    /// record (another kind, a truncated line, a foreign object).
    pub fn parse(line: &str) -> Option<AnyRecord> {
        #[derive(Deserialize)]
        struct Kind {
            kind: RecordKind,
        }
        let Kind { kind } = serde_json::from_str(line).ok()?;
        let mut de = serde_json::Deserializer::from_str(line);
        let record = AnyRecord::read(kind, &mut de)?;
        de.end().ok()?;
        Some(record)
    }

    /// A record from a JSON object built in memory (a store's row put back
    /// into the records' shape); `None` if it is not one of slipstream's.
    pub fn from_value(value: serde_json::Value) -> Option<AnyRecord> {
        let kind = RecordKind::deserialize(value.get("kind")?).ok()?;
        AnyRecord::read(kind, value)
    }

    /// The record of `kind` that `from` holds.
    fn read<'de, D: serde::Deserializer<'de>>(kind: RecordKind, from: D) -> Option<AnyRecord> {
        Some(match kind {
            RecordKind::Window => AnyRecord::Window(WindowRecord::deserialize(from).ok()?),
            RecordKind::Slo => AnyRecord::Slo(SloRecord::deserialize(from).ok()?),
            RecordKind::Alert => AnyRecord::Alert(AlertRecord::deserialize(from).ok()?),
        })
    }

    /// The record as the line a sink writes, without the newline.
    pub fn to_json(&self) -> String {
        match self {
            AnyRecord::Window(w) => w.to_json(),
            _ => to_line(self),
        }
    }

    /// The key stores upsert the record by: `sli|window_start` for a
    /// window, `sli|at` for an `slo` record, `sli|severity|at` for an alert;
    /// for a grouped SLI, `sli` is its series name ([`series_name`]).
    pub fn key(&self) -> String {
        match self {
            AnyRecord::Window(w) => keyed(&w.sli, w.group.as_ref(), &w.window_start),
            AnyRecord::Slo(s) => keyed(&s.sli, s.group.as_ref(), &s.at),
            AnyRecord::Alert(a) => format!(
                "{}|{}|{}",
                series_name(&a.sli, a.group.as_ref()),
                a.severity,
                a.at
            ),
        }
    }

    /// The SLI's group, for a grouped SLI.
    pub fn group(&self) -> Option<&Group> {
        match self {
            AnyRecord::Window(w) => w.group.as_ref(),
            AnyRecord::Slo(s) => s.group.as_ref(),
            AnyRecord::Alert(a) => a.group.as_ref(),
        }
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            AnyRecord::Window(_) => RecordKind::Window,
            AnyRecord::Slo(_) => RecordKind::Slo,
            AnyRecord::Alert(_) => RecordKind::Alert,
        }
    }
}

/// The name of one series: the SLI's name, followed for a group by its
/// values, `checkout {http.route=/a}` (`(none)` for a missing field).
pub fn series_name(sli: &str, group: Option<&Group>) -> String {
    let mut name = String::new();
    series_name_into(&mut name, sli, group);
    name
}

/// [`series_name`] onto the end of `out`.
fn series_name_into(out: &mut String, sli: &str, group: Option<&Group>) {
    out.push_str(sli);
    let Some(group) = group else {
        return;
    };
    // Written piece by piece: a grouped SLI names a series for each of
    // thousands of records.
    out.reserve(40);
    out.push_str(" {");
    for (i, (field, v)) in group.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(field);
        out.push('=');
        out.push_str(v.as_deref().unwrap_or("(none)"));
    }
    out.push('}');
}

/// `series|at`, a record's key, in one allocation for most.
fn keyed(sli: &str, group: Option<&Group>, at: &str) -> String {
    let mut key =
        String::with_capacity(sli.len() + 1 + at.len() + if group.is_some() { 40 } else { 0 });
    series_name_into(&mut key, sli, group);
    key.push('|');
    key.push_str(at);
    key
}

/// A record serializes as the record it holds.
impl Serialize for AnyRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AnyRecord::Window(r) => r.serialize(s),
            AnyRecord::Slo(r) => r.serialize(s),
            AnyRecord::Alert(r) => r.serialize(s),
        }
    }
}

/// Serializes a record built in memory; plain data with string keys cannot
/// fail, so a failure would be a bug and gives an empty line.
pub(crate) fn to_line<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).unwrap_or_default()
}
