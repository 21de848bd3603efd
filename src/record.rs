//! Records: what slipstream writes. Every sink receives the same JSON (see
//! the contract's "Records"), filtered by the kinds it asked for, and keyed
//! so that stores can upsert.

use crate::config::{Config, RecordKinds};
use crate::time::format_rfc3339;
use crate::window::{render_window_record, Window};

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
    /// The record's key: `sli|window_start` for a window record.
    pub key: String,
    /// The record as one line of JSON, without the newline.
    pub json: String,
}

/// The window records of closed windows, oldest first and in the
/// configuration's SLI order within a window. An SLI gets a record for a
/// window in which at least one of its events fell.
pub fn window_records(config: &Config, windows: &[Window]) -> Vec<Record> {
    let mut out = Vec::new();
    for w in windows {
        for (sli, sw) in config.slis.iter().zip(w.slis.iter()) {
            if sw.total == 0 {
                continue;
            }
            out.push(Record {
                kind: RecordKind::Window,
                key: format!("{}|{}", sli.name, format_rfc3339(w.start_ns)),
                json: render_window_record(sli, w.start_ns, config.window.size_ns, sw),
            });
        }
    }
    out
}
