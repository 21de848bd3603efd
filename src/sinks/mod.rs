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

    /// [`Sink::write`], also saying how many of `records`, from the first,
    /// are delivered even when the write fails, so that a retry resumes
    /// after them: a sink that delivers records one at a time (a webhook)
    /// then never sends one twice. The default: all or nothing.
    fn write_from(&mut self, records: &[Record]) -> (usize, anyhow::Result<usize>) {
        match self.write(records) {
            Ok(n) => (records.len(), Ok(n)),
            Err(e) => (0, Err(e)),
        }
    }

    /// Makes what was written visible, for sinks that stage it first (a
    /// backfill's files); the others have nothing left to do.
    fn commit(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Rebuilds `objectives` from the window records already written to the
/// first sink that keeps them — a `file` sink's JSONL or a `postgres`
/// sink's `window_records` — using only windows that start before
/// `before_ns` when given. Returns where they were read and how many
/// windows were used; `None` without such a sink.
pub fn rebuild_objectives(
    config: &crate::config::Config,
    objectives: &mut crate::slo::Objectives,
    before_ns: Option<i64>,
) -> anyhow::Result<Option<(String, usize)>> {
    let before = before_ns.unwrap_or(i64::MAX);
    rebuild_objectives_where(config, objectives, before_ns, &|_, start| start < before)
}

/// [`rebuild_objectives`] from the windows `keep(sli, start)` accepts (see
/// [`crate::slo::Objectives::rebuild_where`]); `before_ns` only narrows
/// what is read.
pub fn rebuild_objectives_where(
    config: &crate::config::Config,
    objectives: &mut crate::slo::Objectives,
    before_ns: Option<i64>,
    keep: &dyn Fn(usize, i64) -> bool,
) -> anyhow::Result<Option<(String, usize)>> {
    use anyhow::Context;

    use crate::config::SinkKind;
    for s in config.sinks.iter().filter(|s| s.records.window) {
        match &s.kind {
            SinkKind::File { path } => {
                let text = match std::fs::read_to_string(path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot read {} to rebuild the objectives", path.display())
                        })
                    }
                };
                let n = objectives.rebuild_where(config, text.lines(), keep);
                return Ok(Some((path.display().to_string(), n)));
            }
            SinkKind::Postgres { url } => {
                let lines =
                    postgres::window_history_before(url, before_ns, objectives.history_ns())
                        .context(
                            "cannot read window_records from PostgreSQL to rebuild the objectives",
                        )?;
                let n = objectives.rebuild_where(config, lines.iter().map(String::as_str), keep);
                return Ok(Some(("window_records in PostgreSQL".into(), n)));
            }
            SinkKind::Kafka { .. } | SinkKind::Webhook { .. } => {}
        }
    }
    Ok(None)
}
