//! The stream job's wiring: the Kafka consumer, the job state, the sinks, the
//! dead letters and the HTTP endpoints, on one thread.
//!
//! The loop polls one message at a time and hands it to the [`Job`]. Every
//! 200 ms it closes the windows the watermark has passed, writes their
//! records to every sink — retrying with backoff while a sink fails, with
//! the partitions paused so memory stays bounded — and only then commits the
//! offsets that depend on them, with the checkpoint in the commit metadata.
//! SIGTERM/SIGINT stop the loop: complete windows are flushed, the offsets
//! committed, and the consumer closed with a deadline.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use tracing::{error, info, warn};

use crate::config::{Config, SinkKind};
use crate::dead_letter::DeadLetters;
use crate::record::{records, Objectives};
use crate::sinks::file::FileSink;
use crate::sinks::kafka::KafkaSink;
use crate::sinks::postgres::PostgresSink;
use crate::sinks::webhook::WebhookSink;
use crate::sinks::Sink;
use crate::sources::kafka::{client_config, consumer_config, rewind, JobContext, Shared};
use crate::stream::Job;
use crate::telemetry::{serve, JobStats, Telemetry};

mod worker;
use worker::Worker;

const CLOSE_EVERY: Duration = Duration::from_millis(200);
const COMMIT_EVERY: Duration = Duration::from_secs(5);
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// SIGTERM must end the process within 10 s: stop waiting on sinks at 7 s.
const SHUTDOWN_BUDGET: Duration = Duration::from_secs(7);

/// Builds the configured sinks.
pub fn build_sinks(
    config: &Config,
    kafka: Option<&rdkafka::ClientConfig>,
) -> Result<Vec<Box<dyn Sink>>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for s in &config.sinks {
        match &s.kind {
            SinkKind::File { path } => sinks
                .push(Box::new(FileSink::append(path, s.records).with_context(
                    || format!("cannot open the file sink {}", path.display()),
                )?)),
            SinkKind::Kafka { topic } => {
                let base = kafka.context("a `kafka` sink needs [source.kafka] for its brokers")?;
                sinks.push(Box::new(KafkaSink::new(base, topic, s.records)?));
            }
            SinkKind::Webhook { url } => sinks.push(Box::new(WebhookSink::new(url, s.records)?)),
            SinkKind::Postgres { url } => sinks.push(Box::new(PostgresSink::new(url, s.records)?)),
        }
    }
    if sinks.is_empty() {
        bail!(
            "{}: no [[sink]] is configured: add a `file` or `kafka` sink",
            config.path.display()
        );
    }
    Ok(sinks)
}

/// The running job's pieces.
struct Runner<'a> {
    config: &'a Config,
    consumer: BaseConsumer<JobContext>,
    shared: Arc<Shared>,
    sinks: Vec<Box<dyn Sink>>,
    telemetry: Arc<Telemetry>,
    stats: JobStats,
    /// Decodes and counts batches of messages on its own thread.
    worker: Worker,
    shutdown: Arc<AtomicBool>,
    sink_failing: bool,
    last_commit: Instant,
    /// Objective state; rebuilt from the file sink's records at start.
    objectives: Objectives,
}

/// Runs the stream job until `shutdown` is set. Returns once offsets are
/// committed and the consumer is closed (or the close deadline passed).
pub fn run(config: &Config, shutdown: Arc<AtomicBool>) -> Result<()> {
    let source = config.source.as_ref().with_context(|| {
        format!(
            "{}: `run` needs a [source.kafka] section with brokers and topics",
            config.path.display()
        )
    })?;
    let base = client_config(source);
    let sinks = build_sinks(config, Some(&base))?;
    let dead_letters = DeadLetters::new(
        config.dead_letter.as_ref(),
        Some(&base),
        config.decode.max_event_bytes,
    )?;
    let telemetry = Arc::new(Telemetry::default());
    telemetry.set_ready(false, "waiting for a partition assignment");
    let addr = serve(&config.http.listen, telemetry.clone())?;
    info!(%addr, "Serving /metrics, /healthz and /readyz.");

    let shared = Arc::new(Shared {
        job: Mutex::new(Job::new(config)),
        dead_letters: Mutex::new(dead_letters),
        topics: source.topics.clone(),
        lag: Mutex::new(Default::default()),
        writing: AtomicBool::new(false),
        rewind: AtomicBool::new(false),
        assigned_once: AtomicBool::new(false),
        async_commit_failures: AtomicU64::new(0),
        counters: Mutex::new(Default::default()),
    });
    let consumer: BaseConsumer<JobContext> = consumer_config(source)
        .create_with_context(JobContext {
            shared: shared.clone(),
        })
        .context(
            "cannot create the Kafka consumer (check [source.kafka] and its librdkafka settings)",
        )?;
    let topics: Vec<&str> = source.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .context("cannot subscribe to the topics")?;
    info!(brokers = %source.brokers, topics = ?source.topics, group = %source.group_id, "Consuming.");

    let mut objectives = Objectives::new(config);
    if let Some((from, windows)) = crate::sinks::rebuild_objectives(config, &mut objectives, None)?
    {
        info!(%from, windows, "Rebuilt the objectives from written window records.");
    }
    let mut runner = Runner {
        config,
        consumer,
        shared: shared.clone(),
        sinks,
        telemetry,
        stats: JobStats::default(),
        worker: Worker::start(shared.clone()),
        shutdown,
        sink_failing: false,
        last_commit: Instant::now(),
        objectives,
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
        while !self.shutdown.load(Ordering::Relaxed) {
            self.poll_once(Duration::from_millis(100))?;
            let now = Instant::now();
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

    /// Polls at most one message and adds it to the batch for the worker.
    fn poll_once(&mut self, timeout: Duration) -> Result<()> {
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
                warn!(error = %e, "Kafka consumer error; librdkafka retries.");
                None
            }
            Some(Ok(m)) => Some(m),
        };
        if self.shared.rewind.swap(false, Ordering::AcqRel) {
            // Messages fetched before the rewind are read again after it.
            drop(msg);
            self.worker.discard_and_wait();
            rewind(&self.consumer, &self.shared)?;
            return Ok(());
        }
        let Some(msg) = msg else {
            // Nothing new: let the worker catch up with what there is.
            self.worker.flush();
            return Ok(());
        };
        if let Some(topic) = self.shared.topic_index(msg.topic()) {
            self.worker.push(
                (topic, msg.partition()),
                msg.offset(),
                msg.payload().unwrap_or(&[]),
            );
        }
        Ok(())
    }

    /// Closes the windows the watermark passed (only complete windows are
    /// ever emitted), writes them to every sink, retrying until each
    /// acknowledges, then commits.
    fn emit(&mut self, shutting_down: bool) -> Result<bool> {
        self.worker.wait();
        let windows = self.shared.job().close_windows(Instant::now());
        if windows.is_empty() {
            return Ok(true);
        }
        let records = records(self.config, &windows, &mut self.objectives);
        self.shared.writing.store(true, Ordering::Release);
        let deadline = Instant::now() + SHUTDOWN_BUDGET;
        for i in 0..self.sinks.len() {
            let mut backoff = Duration::from_millis(100);
            loop {
                let started = Instant::now();
                let name = self.sinks[i].name();
                let result = self.sinks[i].write(&records);
                let st = self.stats.sinks.entry(name.clone()).or_default();
                st.writes += 1;
                st.write_seconds += started.elapsed().as_secs_f64();
                match result {
                    Ok(n) => {
                        st.records += n as u64;
                        if self.sink_failing {
                            info!(sink = %name, "Sink recovered; resuming.");
                            self.sink_failing = false;
                            self.resume();
                        }
                        break;
                    }
                    Err(e) => {
                        st.errors += 1;
                        if !self.sink_failing {
                            error!(sink = %name, error = %format!("{e:#}"), "Sink write failed; pausing consumption and retrying with backoff.");
                            self.sink_failing = true;
                            self.telemetry
                                .set_ready(false, &format!("sink {name} is failing: {e:#}"));
                            self.pause();
                        }
                        if (shutting_down || self.shutdown.load(Ordering::Relaxed))
                            && Instant::now() >= deadline
                        {
                            self.shared.writing.store(false, Ordering::Release);
                            bail!("sink {name} still failing at shutdown; offsets stay at the last commit and the windows are recomputed on restart");
                        }
                        self.wait(backoff)?;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        self.shared.writing.store(false, Ordering::Release);
        self.stats.windows_emitted += windows.len() as u64;
        self.commit_emitted(shutting_down)?;
        Ok(true)
    }

    /// Commits the new frontier synchronously, retrying until it is stored.
    /// No message is handled meanwhile (the partitions are paused): a late
    /// event judged against windows whose frontier is not committed would be
    /// judged differently by a replay after a crash.
    fn commit_emitted(&mut self, shutting_down: bool) -> Result<()> {
        let deadline = Instant::now() + SHUTDOWN_BUDGET;
        let mut backoff = Duration::from_millis(100);
        let mut paused = false;
        loop {
            if self.commit(CommitMode::Sync) {
                if paused {
                    info!("Offsets committed again; resuming.");
                    self.resume();
                }
                return Ok(());
            }
            if (shutting_down || self.shutdown.load(Ordering::Relaxed))
                && Instant::now() >= deadline
            {
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
    fn wait(&mut self, d: Duration) -> Result<()> {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.poll_once(Duration::from_millis(50))?;
            self.publish();
        }
        Ok(())
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

    /// Commits the safe offsets with their checkpoints; true when stored
    /// (or nothing needed committing). Asynchronous commits report their
    /// failures through the consumer context.
    fn commit(&mut self, mode: CommitMode) -> bool {
        self.worker.wait();
        self.last_commit = Instant::now();
        match self.shared.commit_list() {
            Ok(Some(tpl)) => match self.consumer.commit(&tpl, mode) {
                Ok(()) => {
                    if matches!(mode, CommitMode::Sync) {
                        self.stats.commits += 1;
                    }
                    true
                }
                Err(e) => {
                    self.stats.commit_failures += 1;
                    warn!(error = %e, "Offset commit failed.");
                    false
                }
            },
            Ok(None) => !self.shared.writing.load(Ordering::Acquire),
            Err(e) => {
                // A dead letter was not delivered: re-read from the last
                // commit so it is sent again.
                self.stats.commit_failures += 1;
                error!(error = %format!("{e:#}"), "Not committing; re-reading from the last commit.");
                self.shared.rewind.store(true, Ordering::Release);
                false
            }
        }
    }

    fn publish(&mut self) {
        let now = Instant::now();
        {
            let job = self.shared.job();
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
        self.telemetry.publish(self.stats.render());
        if !self.sink_failing {
            if self.shared.assigned_once.load(Ordering::Acquire) {
                self.telemetry.set_ready(true, "");
            } else {
                self.telemetry
                    .set_ready(false, "waiting for a partition assignment");
            }
        }
    }

    /// Flushes complete windows, commits synchronously and closes the consumer.
    fn finish(&mut self) -> Result<()> {
        info!("Stopping: flushing complete windows and committing.");
        let flushed = self.emit(true);
        if flushed.is_ok() {
            if self.commit(CommitMode::Sync) {
                info!("Committed offsets.");
            } else {
                warn!("Final commit failed; a restart replays from the previous commit.");
            }
        }
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
