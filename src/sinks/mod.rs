//! Sinks: where records go. Each sink writes the records whose kinds it
//! asked for and returns only once they are durable, so the stream job can
//! commit the offsets that depend on them.
//!
//! This module is the one place sinks are built. Each kind's module owns
//! how its `[[sink]]` becomes a running [`Sink`] for a [`Mode`] (`build`),
//! and the kinds that can read back what they wrote (`file`, `postgres`)
//! give their window records as a [`History`], from which the objectives
//! are rebuilt. [`build_all`] and [`history`] dispatch on the configured
//! kind; the stream job, backfill and the rebuild all go through them.

pub mod file;
pub mod kafka;
pub mod postgres;
pub mod webhook;

use std::path::Path;

use anyhow::{bail, Context as _};
use rdkafka::config::ClientConfig;

use crate::config::{Config, SinkConfig, SinkKind};
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

    /// The file holding what is staged until [`Sink::commit`], to remove
    /// when the run is interrupted; `None` for sinks that stage nothing.
    fn staged(&self) -> Option<&Path> {
        None
    }

    /// The file the records end up in, for sinks that write one.
    fn target(&self) -> Option<&Path> {
        None
    }
}

/// Which run a sink is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The stream job: records as windows close, each write durable at once.
    Live,
    /// A backfill: records of the past, staged where the sink can, and put
    /// in place once every sink has them; webhooks get nothing.
    Backfill,
}

/// What building a sink needs beyond its own `[[sink]]`.
pub struct Context<'a> {
    pub config: &'a Config,
    /// The librdkafka settings of `[source.kafka]`, which `kafka` sinks
    /// share.
    pub kafka: Option<&'a ClientConfig>,
    pub mode: Mode,
    /// Whether some sink keeps window records it can read back: without
    /// one, a backfill has no history to continue `slo` and `alert`
    /// records from.
    pub history: bool,
}

impl Context<'_> {
    /// The Kafka settings a `kafka` sink needs.
    pub fn kafka(&self) -> anyhow::Result<&ClientConfig> {
        self.kafka.with_context(|| {
            format!(
                "{}: a `kafka` sink needs [source.kafka] for its brokers",
                self.config.path.display()
            )
        })
    }
}

/// Builds one configured sink for `ctx.mode`; `None` when the kind has
/// nothing to do in that mode (a webhook in a backfill).
pub fn build(sink: &SinkConfig, ctx: &Context<'_>) -> anyhow::Result<Option<Box<dyn Sink>>> {
    match &sink.kind {
        SinkKind::File { path } => file::build(path, sink.records, ctx),
        SinkKind::Kafka { topic } => kafka::build(topic, sink.records, ctx),
        SinkKind::Postgres { url } => postgres::build(url, sink.records, ctx),
        SinkKind::Webhook { url, timeout } => webhook::build(url, *timeout, sink.records, ctx),
    }
}

/// Where a sink kind keeps the window records it wrote, if it can read
/// them back.
pub fn history(kind: &SinkKind) -> Option<Box<dyn History + '_>> {
    match kind {
        SinkKind::File { path } => Some(Box::new(file::History { path })),
        SinkKind::Postgres { url } => Some(Box::new(postgres::History { url })),
        SinkKind::Kafka { .. } | SinkKind::Webhook { .. } => None,
    }
}

/// Builds every configured sink for `mode`, each beside its `[[sink]]`, in
/// configuration order. Fails when none is left to write to.
pub fn build_all<'c>(
    config: &'c Config,
    kafka: Option<&ClientConfig>,
    mode: Mode,
) -> anyhow::Result<Vec<(&'c SinkConfig, Box<dyn Sink>)>> {
    let ctx = Context {
        config,
        kafka,
        mode,
        history: config
            .sinks
            .iter()
            .any(|s| s.records.window && history(&s.kind).is_some()),
    };
    let mut sinks = Vec::new();
    for s in &config.sinks {
        if let Some(sink) = build(s, &ctx)? {
            sinks.push((s, sink));
        }
    }
    if sinks.is_empty() {
        match mode {
            Mode::Live => bail!(
                "{}: no [[sink]] is configured: add a `file` or `kafka` sink",
                config.path.display()
            ),
            Mode::Backfill => bail!(
                "nowhere to write records: {} has no [[sink]]; add a file sink or pass --output PATH",
                config.path.display()
            ),
        }
    }
    Ok(sinks)
}

/// Window records a sink wrote earlier, read back.
pub trait History {
    /// Where they are read, for messages (`window_records in PostgreSQL`).
    fn name(&self) -> String;

    /// The window records of the `history_ns` before `before_ns` (every
    /// one the sink holds up to its newest when `None`; a sink may give
    /// more, the rebuild keeps what it needs), one JSON object a line.
    fn windows(&self, before_ns: Option<i64>, history_ns: i64) -> anyhow::Result<WindowLines>;
}

/// Window records as JSON lines, however the sink held them.
pub enum WindowLines {
    /// A file's text, one record a line.
    Text(String),
    /// One record each.
    Rows(Vec<String>),
}

impl WindowLines {
    pub fn lines(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            WindowLines::Text(t) => Box::new(t.lines()),
            WindowLines::Rows(r) => Box::new(r.iter().map(String::as_str)),
        }
    }
}

/// Rebuilds `objectives` from the window records already written to the
/// first sink that keeps them — a `file` sink's JSONL or a `postgres`
/// sink's `window_records` — using only windows that start before
/// `before_ns` when given. Returns where they were read and how many
/// windows were used; `None` without such a sink.
pub fn rebuild_objectives(
    config: &Config,
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
    config: &Config,
    objectives: &mut crate::slo::Objectives,
    before_ns: Option<i64>,
    keep: &dyn Fn(usize, i64) -> bool,
) -> anyhow::Result<Option<(String, usize)>> {
    let Some(history) = config
        .sinks
        .iter()
        .filter(|s| s.records.window)
        .find_map(|s| history(&s.kind))
    else {
        return Ok(None);
    };
    let windows = history.windows(before_ns, objectives.history_ns())?;
    let n = objectives.rebuild_where(config, windows.lines(), keep);
    Ok(Some((history.name(), n)))
}
