//! The stream job's wiring: the Kafka consumer, the job state, the sinks, the
//! dead letters and the HTTP endpoints, on one thread.
//!
//! The loop polls messages one at a time (up to a burst of them without
//! waiting or reading the clock between them) and hands them to the stage's state
//! ([`StreamState`]). Every 200 ms it closes the windows the watermark has
//! passed, turns them into what its [`Stage`] makes of them (`stage.rs`:
//! records for every sink with `--role all` and `rollup`, partial windows
//! for the partials topic with `ingest`), writes them out,
//! retrying with backoff while that fails, with the partitions paused so
//! memory stays bounded, and only then commits the offsets that depend on
//! them, with the checkpoint in the commit metadata. Only `block` sinks
//! are waited for; `drop_newest` sinks get the records afterwards through
//! their own queues and threads, so their outage holds nothing
//! (`write.rs`, `queue.rs`).
//! SIGTERM/SIGINT stop the loop: complete windows are flushed, the offsets
//! committed, and the consumer closed with a deadline.
//!
//! Why one long file: the order of polling, emitting, committing and
//! rewinding is what the exactly-once guarantee rests on, so the loop keeps
//! it in one place; the stages (`stage.rs`), writing records out
//! (`write.rs`), the sink queues
//! (`queue.rs`, `spool.rs`) and the worker (`worker.rs`) are apart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::Offset;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::dead_letter::DeadLetters;
use crate::kafka::consumer::GroupContext;
use crate::kafka::settings::{client_config, consumer_config};
use crate::report::live::Status;
use crate::telemetry::log_limit::LogLimiter;
use crate::telemetry::{serve, JobStats, Telemetry};

mod idle;
mod queue;
mod shared;
mod spool;
mod stage;
mod worker;
mod write;
use queue::Detached;
use shared::{rewind, JobConsumer, JobHooks};
pub use shared::{Counters, Shared};
use stage::{Ingest, RollupStage, Stage, WholeJob};
use worker::Worker;
use write::{build_sinks, Blocking, DROPS_LOGGED_EVERY};

const CLOSE_EVERY: Duration = Duration::from_millis(200);
/// How long a poll waits for a message when none is queued.
const POLL_WAIT: Duration = Duration::from_millis(100);
/// Messages taken one after another before the loop's timers are checked.
const POLL_BURST: u32 = 256;
const COMMIT_EVERY: Duration = Duration::from_secs(5);
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// SIGTERM must end the process within 10 s: stop waiting on sinks and
/// commits 7 s after it, leaving time to close the consumer.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(7);

/// Past this after SIGTERM, the process ends whatever it is waiting for (a
/// sink write stuck in its own timeout, a consumer group that does not
/// answer): what was not committed is replayed on restart.
pub const HARD_STOP: Duration = Duration::from_millis(9500);

/// Ends the process [`HARD_STOP`] after `shutdown` is set, with status 0,
/// if it has not ended by then. Call once, at start.
pub fn stop_within_hard_deadline(shutdown: Arc<AtomicBool>) {
    let watchdog = move || {
        while !shutdown.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(HARD_STOP);
        error!(
            seconds = HARD_STOP.as_secs_f64(),
            "Still stopping after the shutdown deadline; exiting now. Offsets stay at the last commit, so a restart replays what was not written."
        );
        std::process::exit(0);
    };
    if let Err(e) = std::thread::Builder::new()
        .name("stop-deadline".into())
        .spawn(watchdog)
    {
        warn!(error = %e, "Cannot start the shutdown deadline; a stop waits for sinks.");
    }
}

/// Which part of the work an instance does: `--role`, read once to pick
/// the [`Stage`] that runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything in one process: source partitions in, records out.
    All,
    /// Source partitions in, partial windows out to the partials topic.
    Ingest,
    /// Partial windows in, records out to the sinks.
    Rollup,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Ingest => "ingest",
            Role::Rollup => "rollup",
        }
    }
}

/// Sends an ingest instance's partial windows and progress.
struct PartialsOut {
    producer: crate::kafka::producer::ConfirmingProducer,
    topic: String,
    messages: u64,
    bytes: u64,
}
/// A loop iteration this late means the process was stopped (SIGSTOP) or
/// starved: partitions' silence meanwhile does not make them idle.
const STALL: Duration = Duration::from_secs(2);

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// The offsets are stored (or sent, when asynchronous); `advanced`
    /// partitions moved since the last commit.
    Stored { advanced: usize },
    /// Nothing to commit: no partition has a position yet.
    Nothing,
    /// Not stored: the commit failed, or windows are being written.
    NotStored,
}

impl Commit {
    /// Stored, or nothing needed storing.
    fn ok(self) -> bool {
        self != Commit::NotStored
    }
}

/// The running job's pieces.
struct Runner<'a> {
    config: &'a Config,
    /// What closed windows turn into (`--role`).
    stage: Box<dyn Stage>,
    consumer: JobConsumer,
    shared: Arc<Shared>,
    /// `block` sinks, written in order; consumption waits while one fails.
    sinks: Vec<Blocking>,
    /// `drop_newest` sinks, each behind its own queue.
    detached: Vec<Detached>,
    /// Full queues are logged once per sink and period, then summarized.
    drops: LogLimiter<String>,
    partials: Option<PartialsOut>,
    telemetry: Arc<Telemetry>,
    /// The records written, for the status page (not on an ingest stage).
    status: Option<Arc<Status>>,
    stats: JobStats,
    /// Decodes and counts batches of messages on its own thread.
    worker: Worker,
    shutdown: Arc<AtomicBool>,
    /// When waits for sinks and commits end: [`SHUTDOWN_BUDGET`] after
    /// shutdown was first seen.
    stop_by: Option<Instant>,
    sink_failing: bool,
    /// After a stall: nothing is written until a commit shows this instance
    /// still belongs to the group (a stopped instance may have been replaced).
    prove_membership: bool,
    last_commit: Instant,
    /// The offset last committed per topic and partition: a commit of the
    /// same offsets again is no news.
    committed: BTreeMap<(String, i32), i64>,
    /// Idle partitions: the end offset when each first counted as idle
    /// (see `idle.rs`).
    idle_ends: BTreeMap<crate::stream::PartitionKey, i64>,
    /// One job's idle partitions whose end could not be looked at, and when.
    ends_unknown: BTreeMap<crate::stream::PartitionKey, Instant>,
}

/// Runs the stream job until `shutdown` is set. Returns once offsets are
/// committed and the consumer is closed (or the close deadline passed).
pub fn run(config: &Config, shutdown: Arc<AtomicBool>) -> Result<()> {
    run_role(config, shutdown, Role::All)
}

/// Runs one stage of the stream job (see [`crate::scale`]).
pub fn run_role(config: &Config, shutdown: Arc<AtomicBool>, role: Role) -> Result<()> {
    run_serving(config, shutdown, role, &|_| {})
}

/// [`run_role`], telling `listening` the address the HTTP endpoints were
/// bound to (useful with port 0) once they serve.
pub fn run_serving(
    config: &Config,
    shutdown: Arc<AtomicBool>,
    role: Role,
    listening: &dyn Fn(std::net::SocketAddr),
) -> Result<()> {
    let configured = config.source.as_ref().with_context(|| {
        format!(
            "{}: `run` needs a [source.kafka] section with brokers and topics",
            config.path.display()
        )
    })?;
    let base = client_config(configured);
    let partials_topic = crate::scale::partials_topic(&configured.group_id);
    let partials_partitions = || {
        crate::scale::ensure_partials_topic(
            &base,
            &partials_topic,
            i32::try_from(config.slis.len().clamp(1, 64)).unwrap_or(1),
        )
    };
    let mut source = configured.clone();
    // The only place the role is looked at: the stage it runs, where its
    // input comes from and where its output goes.
    let (stage, sinks, partials): (Box<dyn Stage>, _, _) = match role {
        Role::All => {
            // Built first: a `postgres` sink migrates the schema the
            // rebuild reads.
            let sinks = build_sinks(config, &base)?;
            (Box::new(WholeJob::start(config)?), sinks, None)
        }
        Role::Ingest => (
            Box::new(Ingest::new(config, partials_partitions()?)),
            (Vec::new(), Vec::new()),
            Some(PartialsOut {
                producer: crate::kafka::producer::ConfirmingProducer::with_max_message(
                    &base,
                    crate::scale::MAX_MESSAGE_BYTES,
                )?,
                topic: partials_topic.clone(),
                messages: 0,
                bytes: 0,
            }),
        ),
        Role::Rollup => {
            let partitions = partials_partitions()?;
            // The rollup reads the partials topic in a group of its own.
            source.group_id = crate::scale::rollup_group(&configured.group_id);
            source.topics = vec![partials_topic.clone()];
            let sinks = build_sinks(config, &base)?;
            let stage =
                RollupStage::new(config, partitions, base.clone(), configured.topics.clone());
            (Box::new(stage), sinks, None)
        }
    };
    let source = &source;
    let dead_letters = DeadLetters::new(
        config.dead_letter.as_ref(),
        Some(&base),
        config.decode.max_event_bytes,
    )?;
    let telemetry = Arc::new(Telemetry::default());
    telemetry.set_ready(false, "waiting for a partition assignment");
    // Whoever writes records holds them for the status page.
    let status = (role != Role::Ingest).then(|| Arc::new(Status::new(config)));
    if let Some(status) = &status {
        telemetry.add_pages(status.clone());
    }
    let addr = serve(&config.http.listen, telemetry.clone())?;
    if status.is_some() {
        info!(%addr, "Serving the status page at http://{addr}/ and /api/slo, /metrics, /healthz and /readyz.");
    } else {
        info!(%addr, "Serving /metrics, /healthz and /readyz.");
    }
    listening(addr);

    let state = stage.state(config);
    let shared = Arc::new(Shared {
        job: Mutex::new(state),
        dead_letters: Mutex::new(dead_letters),
        topics: source.topics.clone(),
        lag: Mutex::new(Default::default()),
        writing: AtomicBool::new(false),
        rewind: AtomicBool::new(false),
        assigned_once: AtomicBool::new(false),
        reassigned: AtomicBool::new(false),
        async_commit_failures: AtomicU64::new(0),
        counters: Mutex::new(Default::default()),
        unreachable: Mutex::new(Default::default()),
    });
    let consumer_cfg = consumer_config(source);
    let context = GroupContext {
        hooks: JobHooks(shared.clone()),
        redactor: crate::kafka::Redactor::of(&consumer_cfg),
    };
    let consumer: JobConsumer = crate::kafka::create_with_context(
        &consumer_cfg,
        context,
        "the Kafka consumer (check [source.kafka] and its librdkafka settings)",
    )?;
    let topics: Vec<&str> = source.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .context("cannot subscribe to the topics")?;
    info!(brokers = %source.brokers, topics = ?source.topics, group = %source.group_id, role = stage.name(), "Consuming.");

    let (sinks, detached) = sinks;
    let mut stats = JobStats::default();
    for name in sinks
        .iter()
        .map(|b| b.name.clone())
        .chain(detached.iter().map(|d| d.name().to_string()))
    {
        stats.sinks.entry(name).or_default();
    }
    let mut runner = Runner {
        config,
        stage,
        consumer,
        shared: shared.clone(),
        sinks,
        detached,
        drops: LogLimiter::new(DROPS_LOGGED_EVERY),
        partials,
        telemetry,
        status,
        stats,
        worker: Worker::start(shared.clone()),
        shutdown,
        stop_by: None,
        sink_failing: false,
        prove_membership: false,
        last_commit: Instant::now(),
        committed: BTreeMap::new(),
        idle_ends: BTreeMap::new(),
        ends_unknown: BTreeMap::new(),
    };
    let result = runner.main_loop();
    let finished = runner.finish();
    let Runner {
        consumer, worker, ..
    } = runner;
    worker.stop();
    close_with_deadline(consumer, Duration::from_secs(2));
    result.and(finished)
}

impl Runner<'_> {
    fn main_loop(&mut self) -> Result<()> {
        let mut last_close = Instant::now();
        let mut last_publish = Instant::now();
        let mut last_turn = Instant::now();
        while !self.shutdown.load(Ordering::Relaxed) {
            self.stage.turn(&self.shared);
            // After a message, the next ones are taken without waiting
            // (and without reading the clock, in librdkafka or here) until
            // the queue is empty or a burst is done.
            let mut burst = 0;
            while self.poll_once(if burst == 0 {
                POLL_WAIT
            } else {
                Duration::ZERO
            })? && burst < POLL_BURST
            {
                burst += 1;
            }
            let now = Instant::now();
            if now.duration_since(last_turn) >= STALL {
                warn!(
                    seconds = now.duration_since(last_turn).as_secs_f64(),
                    "The loop was stalled; no partition counts as idle for its silence meanwhile."
                );
                self.worker.wait();
                self.shared.job().restart_idle_clocks(now);
                self.prove_membership = true;
            }
            last_turn = now;
            if now.duration_since(last_close) >= CLOSE_EVERY {
                last_close = now;
                self.emit(false)?;
            }
            if now.duration_since(self.last_commit) >= COMMIT_EVERY {
                self.commit(CommitMode::Async);
            }
            if now.duration_since(last_publish) >= PUBLISH_EVERY {
                last_publish = now;
                self.publish();
            }
        }
        Ok(())
    }

    /// Polls at most one message and adds it to the batch for the worker;
    /// whether one came.
    fn poll_once(&mut self, timeout: Duration) -> Result<bool> {
        let msg = match self.consumer.poll(timeout) {
            None => None,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(partition))) => {
                // The event names no topic: every topic's partition of that
                // number is taken to be at its end.
                for topic in 0..self.shared.topics.len() {
                    self.worker.push_end((topic, partition));
                }
                None
            }
            Some(Err(e)) => {
                // Most were just logged by the consumer's error callback;
                // librdkafka retries either way.
                crate::telemetry::librdkafka::poll_error(&e);
                None
            }
            Some(Ok(m)) => Some(m),
        };
        // Not while closed windows are being written: their frontier is
        // committed first, then the kept partitions are re-read from it.
        // A plain load first: a read-modify-write on every message would
        // pull the flag's cache line away from the worker each time.
        if self.shared.rewind.load(Ordering::Acquire)
            && !self.shared.writing.load(Ordering::Acquire)
            && self.shared.rewind.swap(false, Ordering::AcqRel)
        {
            // Messages fetched before the rewind are read again after it.
            drop(msg);
            self.worker.discard_and_wait();
            rewind(&self.consumer, &self.shared)?;
            return Ok(false);
        }
        let Some(msg) = msg else {
            // Nothing new after a wait: let the worker catch up with what
            // there is (a burst's empty look leaves the batch to fill).
            if !timeout.is_zero() {
                self.worker.flush();
            }
            return Ok(false);
        };
        // One topic (the usual case) needs no look-up by name.
        let topic = match self.shared.topics.len() {
            1 => Some(0),
            _ => self.shared.topic_index(msg.topic()),
        };
        if let Some(topic) = topic {
            self.worker.push(
                (topic, msg.partition()),
                msg.offset(),
                msg.payload().unwrap_or(&[]),
            );
        }
        Ok(true)
    }

    /// Closes the windows the watermark passed (only complete windows are
    /// ever emitted), writes them out, retrying until acknowledged, then
    /// commits.
    fn emit(&mut self, shutting_down: bool) -> Result<bool> {
        self.worker.wait();
        if self.prove_membership {
            if !self.commit(CommitMode::Sync).ok() {
                // Fenced: the group revokes the partitions at a coming poll.
                return Ok(true);
            }
            self.prove_membership = false;
        }
        if !self.stage.prepare(self.config, &self.shared) {
            return Ok(true);
        }
        let now = Instant::now();
        self.confirm_idle(now);
        let closed = self.shared.job().close(now);
        let out = self.stage.emit(self.config, &self.shared, closed, now);
        if out.is_empty() {
            return Ok(true);
        }
        let windows = out.windows;
        self.shared.writing.store(true, Ordering::Release);
        let result = self.write_out(&out.records, &out.partials, shutting_down);
        // A revocation met while writing re-reads the kept partitions only
        // now, after their new frontier is committed (see `poll_once`).
        // Windows that could not be written are closed in the job but in no
        // sink: no commit may follow, or a restart would skip them; the
        // flag stays up for the rest of the process.
        if result.is_ok() {
            self.shared.writing.store(false, Ordering::Release);
        }
        result?;
        stage::count_other(self.config, &out.typed, &mut self.stats.group_other);
        if let Some(status) = &self.status {
            status.hold(out.typed);
        }
        self.stats.windows_emitted += windows as u64;
        self.commit_emitted(shutting_down)?;
        Ok(true)
    }

    /// Commits the new frontier synchronously, retrying until it is stored.
    /// No message is handled meanwhile (the partitions are paused): a late
    /// event judged against windows whose frontier is not committed would be
    /// judged differently by a replay after a crash.
    fn commit_emitted(&mut self, shutting_down: bool) -> Result<()> {
        let mut backoff = Duration::from_millis(100);
        let mut paused = false;
        loop {
            let started = Instant::now();
            if self.commit(CommitMode::Sync).ok() {
                if paused {
                    info!("Offsets committed again; resuming.");
                    self.resume();
                }
                return Ok(());
            }
            if self.time_left(shutting_down, started) == Some(Duration::ZERO) {
                bail!(
                    "cannot commit offsets at shutdown; a restart replays from the previous commit"
                );
            }
            if !paused {
                self.pause();
                paused = true;
                self.telemetry
                    .set_ready(false, "offset commits are failing");
            }
            self.wait(backoff)?;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Waits while a sink is down, still serving the consumer (paused) so the
    /// group keeps this member and rebalances are handled.
    /// A wait ends early at the shutdown budget's end.
    fn wait(&mut self, d: Duration) -> Result<()> {
        let until = Instant::now() + d;
        while Instant::now() < until
            && self.time_left(false, Instant::now()) != Some(Duration::ZERO)
        {
            self.poll_once(Duration::from_millis(50))?;
            self.publish();
        }
        Ok(())
    }

    /// When the job is stopping (`shutting_down`, or a signal came): what is
    /// left of its budget for waiting on sinks and commits; `None` while it
    /// runs. The budget runs from the first time the stop is seen, counted
    /// from `since`: the start of the write or commit that just ended,
    /// during which the signal may have come.
    fn time_left(&mut self, shutting_down: bool, since: Instant) -> Option<Duration> {
        if !shutting_down && !self.shutdown.load(Ordering::Relaxed) {
            return None;
        }
        let stop_by = *self.stop_by.get_or_insert(since + SHUTDOWN_BUDGET);
        Some(stop_by.saturating_duration_since(Instant::now()))
    }

    fn pause(&self) {
        if let Ok(a) = self.consumer.assignment() {
            let _ = self.consumer.pause(&a);
        }
    }

    fn resume(&self) {
        if let Ok(a) = self.consumer.assignment() {
            let _ = self.consumer.resume(&a);
        }
    }

    /// Commits the safe offsets with their checkpoints. Asynchronous
    /// commits report their failures through the consumer context.
    fn commit(&mut self, mode: CommitMode) -> Commit {
        self.worker.wait();
        self.last_commit = Instant::now();
        match self.shared.commit_list() {
            Ok(Some(tpl)) => match self.consumer.commit(&tpl, mode) {
                Ok(()) => {
                    if matches!(mode, CommitMode::Sync) {
                        self.stats.commits += 1;
                    }
                    let mut advanced = 0;
                    for e in tpl.elements() {
                        if let Offset::Offset(o) = e.offset() {
                            let key = (e.topic().to_string(), e.partition());
                            if self.committed.insert(key, o) != Some(o) {
                                advanced += 1;
                            }
                        }
                    }
                    Commit::Stored { advanced }
                }
                Err(e) => {
                    self.stats.commit_failures += 1;
                    crate::telemetry::librdkafka::job_warning("Offset commit failed.", &e);
                    Commit::NotStored
                }
            },
            Ok(None) if self.shared.writing.load(Ordering::Acquire) => Commit::NotStored,
            Ok(None) => Commit::Nothing,
            Err(e) => {
                // A dead letter was not delivered: re-read from the last
                // commit so it is sent again.
                self.stats.commit_failures += 1;
                error!(error = %format!("{e:#}"), "Not committing; re-reading from the last commit.");
                self.shared.rewind.store(true, Ordering::Release);
                Commit::NotStored
            }
        }
    }

    fn publish(&mut self) {
        let now = Instant::now();
        {
            let job = self.shared.job();
            let watch = self.stage.watch();
            if !watch.done() {
                match watch.check(self.config, job.probe()) {
                    Some([]) => info!("The setup checks found nothing wrong."),
                    Some(warnings) => {
                        for w in warnings {
                            let sli = w.sli.as_deref().unwrap_or("");
                            warn!(kind = w.kind, sli, "Setup: {}.", w.message);
                        }
                    }
                    None => {}
                }
            }
            self.stats.open_windows = job.open_windows() as u64;
            self.stats.watermark_seconds = job.watermark(now).map(|w| w as f64 / 1e9);
            let f = job.frontier_ns();
            self.stats.frontier_seconds = (f > i64::MIN).then(|| f as f64 / 1e9);
        }
        if let Ok(c) = self.shared.counters.lock() {
            self.stats.consumed = c
                .consumed
                .iter()
                .map(|(&(t, p), &n)| ((self.shared.topics[t].clone(), p), n))
                .collect();
            self.stats.rejected = c.rejected;
            self.stats.replayed = c.replayed;
            self.stats.dead_letters = c.dead_letters;
            self.stats.dead_letter_errors = c.dead_letter_errors;
            self.stats.first_message_at = c.first_message_at;
            self.stats.last_message_at = c.last_message_at;
        }
        self.stats.async_commit_failures =
            self.shared.async_commit_failures.load(Ordering::Relaxed);
        if let Ok(lag) = self.shared.lag.lock() {
            self.stats.lag = lag.clone();
        }
        self.stats.objectives = self
            .stage
            .objectives()
            .map(|o| o.gauges(self.config))
            .unwrap_or_default();
        for d in &self.detached {
            self.stats.sinks.insert(d.name().to_string(), d.stats());
        }
        for summary in self.drops.due(now) {
            warn!(sink = %summary.what, "Sink queue still full; its newest records were dropped again, {}.", summary.describe());
        }
        let mut text = self.stats.render();
        self.shared.job().render_metrics(now, &mut text);
        self.stage.watch().render_metrics(&mut text);
        self.render_stage(&mut text);
        self.telemetry.publish(text);
        if !self.sink_failing {
            if self.shared.assigned_once.load(Ordering::Acquire) {
                self.telemetry.set_ready(true, "");
            } else {
                let why = self.shared.unreachable_brokers();
                let why = why
                    .as_deref()
                    .unwrap_or("waiting for a partition assignment");
                self.telemetry.set_ready(false, why);
            }
        }
        crate::telemetry::librdkafka::flush();
    }

    fn render_stage(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP slipstream_role The part of the work this instance does.\n# TYPE slipstream_role gauge\nslipstream_role{{role=\"{}\"}} 1",
            self.stage.name()
        );
        if let Some(p) = &self.partials {
            let _ = writeln!(
                out,
                "# HELP slipstream_partials_sent_total Partial-window and progress messages acknowledged by the partials topic.\n# TYPE slipstream_partials_sent_total counter\nslipstream_partials_sent_total {}\n# HELP slipstream_partials_sent_bytes_total Bytes of those messages.\n# TYPE slipstream_partials_sent_bytes_total counter\nslipstream_partials_sent_bytes_total {}",
                p.messages, p.bytes
            );
        }
    }

    /// Flushes complete windows, commits synchronously and closes the consumer.
    fn finish(&mut self) -> Result<()> {
        info!("Stopping: flushing complete windows and committing.");
        let flushed = self.emit(true);
        if flushed.is_ok() {
            match self.commit(CommitMode::Sync) {
                Commit::Stored { advanced } if advanced > 0 => {
                    info!(partitions = advanced, "Committed offsets.");
                }
                // Nothing consumed, or nothing since the last commit.
                Commit::Stored { .. } | Commit::Nothing => {}
                Commit::NotStored => {
                    warn!("Final commit failed; a restart replays from the previous commit.")
                }
            }
        }
        self.drain_detached();
        self.publish();
        flushed.map(|_| ())
    }
}

/// Closes the consumer on another thread and waits at most `deadline`: a
/// consumer that cannot reach its brokers must not keep the process alive.
pub fn close_with_deadline<T: Send + 'static>(consumer: T, deadline: Duration) {
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    std::thread::spawn(move || {
        drop(consumer);
        let _ = tx.send(());
    });
    if rx.recv_timeout(deadline).is_err() {
        warn!("The consumer did not close in time; exiting anyway (offsets were committed).");
    }
}
