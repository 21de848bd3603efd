//! Sinks: where records go. Each sink writes the records whose kinds it
//! asked for and returns only once they are durable, so the stream job can
//! commit the offsets that depend on them.

pub mod file;
pub mod kafka;
pub mod postgres;
pub mod webhook;

use crate::record::Record;

/// A destination for records.
pub trait Sink: Send {
    /// A short description for logs and metrics (`file:out/records.jsonl`).
    fn name(&self) -> String;

    /// Writes the records this sink wants and returns once they are
    /// acknowledged (fsynced, delivered). Writing the same records again is
    /// harmless: they carry the same keys and numbers.
    fn write(&mut self, records: &[Record]) -> anyhow::Result<usize>;
}
