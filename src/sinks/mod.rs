//! Sinks: where records go. Every sink receives the same JSON records (see the
//! contract's "Records"), filtered by the kinds it asked for.

pub mod file;

use crate::config::RecordKinds;

/// The kind of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Window,
    Slo,
    Alert,
}

impl RecordKind {
    /// True when a sink with these kinds takes this record.
    pub fn wanted_by(self, kinds: &RecordKinds) -> bool {
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
    /// The record as one line of JSON, without the newline.
    pub json: String,
}
