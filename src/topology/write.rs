//! Writing records out: the sinks (built by [`crate::sinks::build_all`])
//! split by their `[sink.buffer]` policy, the `block` sinks written in order and
//! each retried alone while consumption waits, the `drop_newest` sinks fed
//! through their queues, and the partials of an ingest instance.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tracing::{error, info, warn};

use super::queue::{self, Detached, Offer};
use super::Runner;
use crate::config::{Config, RecordKinds, SinkConfig, WhenFull};
use crate::record::Record;
use crate::sinks::{Mode, Sink};

/// The configured sinks, built for the stream job and split by policy.
pub(super) fn build_sinks(
    config: &Config,
    base: &rdkafka::ClientConfig,
) -> Result<(Vec<Blocking>, Vec<Detached>)> {
    split_sinks(crate::sinks::build_all(config, Some(base), Mode::Live)?)
}

/// A `block` sink: written by the job itself, which holds consumption
/// while it fails.
pub(super) struct Blocking {
    sink: Box<dyn Sink>,
    pub(super) name: String,
    kinds: RecordKinds,
}

/// The configured sinks by policy: `block` ones in configuration order,
/// `drop_newest` ones each on its own thread behind its queue.
fn split_sinks(sinks: Vec<(&SinkConfig, Box<dyn Sink>)>) -> Result<(Vec<Blocking>, Vec<Detached>)> {
    let mut blocking = Vec::new();
    let mut detached = Vec::new();
    for (c, sink) in sinks {
        match c.buffer.when_full {
            WhenFull::Block => blocking.push(Blocking {
                name: sink.name(),
                sink,
                kinds: c.records,
            }),
            WhenFull::DropNewest => detached.push(Detached::start(
                sink,
                c.records,
                c.buffer.max_records,
                c.buffer.disk.as_deref(),
            )?),
        }
    }
    Ok((blocking, detached))
}

/// How often a full `drop_newest` queue is logged, per sink.
pub(super) const DROPS_LOGGED_EVERY: Duration = Duration::from_secs(10);

impl Runner<'_> {
    /// Writes records to every sink and partials to the partials topic.
    pub(super) fn write_out(
        &mut self,
        records: &[Record],
        partials: &crate::scale::Outgoing,
        shutting_down: bool,
    ) -> Result<()> {
        // Each `block` sink in turn, each retried alone until it
        // acknowledges: the sinks before it already took the batch and do
        // not get it again.
        let mut sinks = std::mem::take(&mut self.sinks);
        let mut result = Ok(());
        for b in sinks.iter_mut() {
            let wanted = records
                .iter()
                .filter(|r| r.kind.wanted_by(&b.kinds))
                .count();
            let sink = &mut b.sink;
            // A retry resumes after what the sink already took.
            let mut from = 0;
            result = self.retrying(&b.name, wanted, shutting_down, &mut || {
                let (done, written) = sink.write_from(&records[from..]);
                from += done;
                written
            });
            if result.is_err() {
                break;
            }
        }
        self.sinks = sinks;
        result?;
        // Then the `drop_newest` sinks' queues, once the records are
        // durable where they must be: they never wait for these.
        self.offer_detached(records);
        if partials.is_empty() {
            return Ok(());
        }
        let Some(out) = self.partials.take() else {
            return Ok(());
        };
        let name = format!("kafka:{}", out.topic);
        let queued = partials.partials.len() + partials.progress.len();
        let result = self.retrying(&name, queued, shutting_down, &mut || {
            // Progress only once the partials it covers are acknowledged: a
            // partial lost to a timeout must not leave a report behind that
            // says it was sent.
            for batch in [&partials.partials, &partials.progress] {
                for (q, payload) in batch {
                    out.producer.send_to_partition(&out.topic, *q, payload)?;
                }
                out.producer.confirm(Duration::from_secs(30))?;
            }
            Ok(partials.partials.len() + partials.progress.len())
        });
        let mut out = out;
        if result.is_ok() {
            for batch in [&partials.partials, &partials.progress] {
                out.messages += batch.len() as u64;
                out.bytes += batch.iter().map(|(_, p)| p.len() as u64).sum::<u64>();
            }
        }
        self.partials = Some(out);
        result
    }

    /// Runs `write` until it succeeds, with backoff, pausing consumption
    /// while it fails; gives up only at shutdown, after the budget.
    /// `queued`: the records of the batch the sink takes, shown as its
    /// queue while it fails.
    fn retrying(
        &mut self,
        name: &str,
        queued: usize,
        shutting_down: bool,
        write: &mut dyn FnMut() -> Result<usize>,
    ) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let result = write();
            let st = self.stats.sinks.entry(name.to_string()).or_default();
            st.writes += 1;
            st.write_seconds += started.elapsed().as_secs_f64();
            match result {
                Ok(n) => {
                    st.records += n as u64;
                    st.queued = 0;
                    st.failing = false;
                    if self.sink_failing {
                        info!(sink = %name, "Sink recovered; resuming.");
                        self.sink_failing = false;
                        self.resume();
                    }
                    return Ok(());
                }
                Err(e) => {
                    st.errors += 1;
                    st.queued = queued as u64;
                    st.failing = true;
                    if !self.sink_failing {
                        error!(sink = %name, queued, error = %format!("{e:#}"), "Sink write failed; pausing consumption and retrying with backoff.");
                        self.sink_failing = true;
                        self.pause();
                    }
                    // Each failure: the error may change while it lasts.
                    self.telemetry.set_ready(
                        false,
                        &format!("sink {name} is failing ({queued} records queued): {e:#}"),
                    );
                    // The signal may have come at any time during the write;
                    // a retry that would take as long as this write must
                    // end before the budget does.
                    let took = started.elapsed();
                    if self
                        .time_left(shutting_down, started)
                        .is_some_and(|left| left <= took)
                    {
                        bail!("sink {name} still failing at shutdown; offsets stay at the last commit and the windows are recomputed on restart");
                    }
                    self.wait(backoff)?;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Queues `records` for every `drop_newest` sink; a full queue drops
    /// them, counted and logged (once per period per sink).
    pub(super) fn offer_detached(&mut self, records: &[Record]) {
        let now = Instant::now();
        for d in &self.detached {
            if let Offer::Dropped { records, queued } = d.offer(records) {
                let verdict = self.drops.observe(d.name(), d.name().to_string(), now);
                for summary in verdict.summaries {
                    warn!(sink = %summary.what, "Sink queue still full; its newest records were dropped again, {}.", summary.describe());
                }
                if verdict.log {
                    queue::log_dropped(d.name(), records, queued, d.max_records());
                }
            }
        }
    }

    /// At shutdown: gives the `drop_newest` sinks what is left of the stop
    /// budget to send their queues; what is still queued then is lost,
    /// unless the queue is on disk (then it is sent after a restart and
    /// the stop does not wait for it).
    pub(super) fn drain_detached(&mut self) {
        for d in &self.detached {
            d.stop();
        }
        let left = self.time_left(true, Instant::now()).unwrap_or_default();
        let deadline = Instant::now() + left;
        for d in &self.detached {
            if d.on_disk() {
                let queued = d.stats().queued;
                if queued > 0 {
                    info!(sink = %d.name(), records = queued, "Stopping with records queued on disk; they are sent after a restart.");
                }
                continue;
            }
            let queued = d.drain(deadline);
            if queued > 0 {
                warn!(sink = %d.name(), records = queued, "Stopping with records still queued for a drop_newest sink; they are not sent.");
            }
        }
    }
}
