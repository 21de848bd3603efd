//! The Kafka consumer: a consumer group over the configured topics with the
//! `cooperative-sticky` assignor, offsets committed only by the job (never
//! automatically), and rebalance hooks that keep the job's state and the
//! committed checkpoints in step.
//!
//! When partitions are revoked, the job commits synchronously, forgets its
//! open windows and re-reads the partitions it keeps from their committed
//! offsets, so nothing is counted twice. Several instances of the ingest or
//! rollup stage share a group this way (see [`crate::scale`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use tracing::{info, warn};

use crate::dead_letter::DeadLetters;
use crate::kafka::Redactor;
use crate::stream::{Checkpoint, PartitionKey, StreamState};

/// State shared between the job loop and the rebalance callbacks, which run
/// inside `poll` on the same thread (the locks are never contended).
pub struct Shared {
    pub job: Mutex<Box<dyn StreamState>>,
    pub dead_letters: Mutex<DeadLetters>,
    pub topics: Vec<String>,
    pub lag: Mutex<BTreeMap<(String, i32), i64>>,
    /// Set while closed windows are being written: commits must wait.
    pub writing: AtomicBool,
    /// Set after a revocation: the kept partitions must be re-read from
    /// their committed offsets before more messages are counted.
    pub rewind: AtomicBool,
    pub assigned_once: AtomicBool,
    /// Set by every assignment: a rollup rebuilds its objectives, since the
    /// SLIs it owns may have changed.
    pub reassigned: AtomicBool,
    /// Background commits that failed (reported by librdkafka).
    pub async_commit_failures: AtomicU64,
    /// Counts kept by the worker thread.
    pub counters: Mutex<Counters>,
    /// Brokers librdkafka could not connect to, with why, until its
    /// statistics show them up or partitions are assigned.
    pub unreachable: Mutex<BTreeMap<String, String>>,
}

/// What the worker thread counts, read by the metrics.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    pub consumed: std::collections::HashMap<PartitionKey, u64>,
    pub rejected: [u64; crate::reject::Reject::ALL.len()],
    pub replayed: u64,
    pub dead_letters: u64,
    pub dead_letter_errors: u64,
    /// Wall-clock Unix seconds when the first batch started and the last one
    /// ended: how long the messages took to handle, for throughput.
    pub first_message_at: Option<f64>,
    pub last_message_at: Option<f64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn job(&self) -> MutexGuard<'_, Box<dyn StreamState>> {
        lock(&self.job)
    }

    pub fn dead_letters(&self) -> MutexGuard<'_, DeadLetters> {
        lock(&self.dead_letters)
    }

    /// Why the brokers cannot be reached, for `/readyz`: "cannot reach
    /// broker 127.0.0.1:9092 (connection refused)"; `None` when no
    /// connection is known to fail.
    pub fn unreachable_brokers(&self) -> Option<String> {
        let unreachable = lock(&self.unreachable);
        let each: Vec<String> = unreachable
            .iter()
            .map(|(broker, why)| format!("cannot reach broker {broker} ({why})"))
            .collect();
        (!each.is_empty()).then(|| each.join("; "))
    }

    pub fn topic_index(&self, topic: &str) -> Option<usize> {
        self.topics.iter().position(|t| t == topic)
    }

    /// The offsets and checkpoints that are safe to commit now, as a
    /// partition list; `None` while windows are being written.
    pub fn commit_list(&self) -> Result<Option<TopicPartitionList>> {
        if self.writing.load(Ordering::Acquire) {
            return Ok(None);
        }
        // The job stays locked while dead letters are confirmed, so no
        // message can be handled (and dead-lettered) between the two.
        let job = self.job();
        self.dead_letters()
            .confirm()
            .context("dead letters are not delivered")?;
        let points = job.commit_points();
        drop(job);
        if points.is_empty() {
            return Ok(None);
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset, checkpoint) in points {
            let name = &self.topics[topic];
            tpl.add_partition_offset(name, partition, Offset::Offset(offset))?;
            if let Some(mut e) = tpl.find_partition(name, partition) {
                e.set_metadata(checkpoint.encode());
            }
        }
        Ok(Some(tpl))
    }
}

/// The consumer's context: statistics and rebalance hooks, and librdkafka's
/// logs and errors without the configuration's secrets.
pub struct JobContext {
    pub shared: Arc<Shared>,
    pub redactor: Redactor,
}

/// The broker and the reason of a failed broker connection, from the text
/// of librdkafka's `BrokerTransportFailure`: "127.0.0.1:9092/bootstrap:
/// Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in
/// state CONNECT)" gives ("127.0.0.1:9092", "connection refused").
pub fn broker_failure(reason: &str) -> Option<(String, String)> {
    let (name, what) = reason.split_once(": ")?;
    // "ssl://host:9093/1" or "host:9092/bootstrap".
    let name = name.split_once("://").map_or(name, |(_, n)| n);
    let (broker, _id) = name.rsplit_once('/')?;
    if broker.is_empty() || broker.contains(' ') {
        return None;
    }
    let what = what.find(" (after ").map_or(what, |i| &what[..i]);
    let what = what.rsplit_once("failed: ").map_or(what, |(_, w)| w).trim();
    let mut chars = what.chars();
    let why = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "disconnected".to_string(),
    };
    Some((broker.to_string(), why))
}

impl ClientContext for JobContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        crate::kafka::log(&self.redactor, level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // End-of-partition is an event the job uses, not an error.
        let end_of_partition = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        );
        if end_of_partition {
            return;
        }
        let reason = self.redactor.redact(reason);
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::BrokerTransportFailure) {
            if let Some((broker, why)) = broker_failure(&reason) {
                lock(&self.shared.unreachable).insert(broker, why);
            }
        }
        crate::telemetry::librdkafka::error(&error, &reason);
    }

    fn stats(&self, stats: Statistics) {
        {
            let mut unreachable = lock(&self.shared.unreachable);
            for b in stats.brokers.values().filter(|b| b.state == "UP") {
                unreachable.remove(&b.nodename);
            }
        }
        let mut lag = lock(&self.shared.lag);
        for (topic, t) in &stats.topics {
            for (&partition, p) in &t.partitions {
                if partition >= 0 && p.consumer_lag >= 0 {
                    lag.insert((topic.clone(), partition), p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for JobContext {
    fn commit_callback(
        &self,
        result: rdkafka::error::KafkaResult<()>,
        _offsets: &TopicPartitionList,
    ) {
        if let Err(e) = result {
            self.shared
                .async_commit_failures
                .fetch_add(1, Ordering::Relaxed);
            crate::telemetry::librdkafka::job_warning(
                "Background offset commit failed; the next commit covers it.",
                &e,
            );
        }
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        info!(
            partitions = revoked.count(),
            "Partitions revoked; committing."
        );
        match self.shared.commit_list() {
            Ok(Some(tpl)) => {
                if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                    warn!(error = %e, "Commit on revocation failed; the next owner replays from the previous commit.");
                }
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "Not committing on revocation."),
        }
        // librdkafka keeps a partition's pause across its revocation: one
        // paused while a sink or a commit was failing would stay paused
        // when the group gives it back.
        if let Err(e) = consumer.resume(revoked) {
            warn!(error = %e, "Cannot clear the pause of revoked partitions.");
        }
        let mut job = self.shared.job();
        for e in revoked.elements() {
            if let Some(t) = self.shared.topic_index(e.topic()) {
                job.revoke((t, e.partition()));
            }
        }
        self.shared.rewind.store(true, Ordering::Release);
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(assigned) = rebalance else {
            return;
        };
        let committed = consumer
            .committed_offsets((*assigned).clone(), Duration::from_secs(10))
            .unwrap_or_else(|e| {
                warn!(error = %e, "Cannot read the committed checkpoints; starting without them.");
                (*assigned).clone()
            });
        let now = Instant::now();
        let mut job = self.shared.job();
        for e in committed.elements() {
            let Some(t) = self.shared.topic_index(e.topic()) else {
                continue;
            };
            let checkpoint = Checkpoint::decode(e.metadata());
            info!(
                topic = e.topic(),
                partition = e.partition(),
                ?checkpoint,
                "Partition assigned."
            );
            job.assign((t, e.partition()), checkpoint, now);
        }
        drop(job);
        lock(&self.shared.unreachable).clear();
        self.shared.assigned_once.store(true, Ordering::Release);
        self.shared.reassigned.store(true, Ordering::Release);
    }
}

/// Re-reads every kept partition from its committed offset, with a fresh
/// job state (after a revocation).
pub fn rewind(consumer: &BaseConsumer<JobContext>, shared: &Shared) -> Result<()> {
    let assignment = consumer.assignment()?;
    let committed = consumer.committed_offsets(assignment, Duration::from_secs(10))?;
    let now = Instant::now();
    let mut job = shared.job();
    job.reset();
    let mut seek = TopicPartitionList::new();
    for e in committed.elements() {
        let Some(t) = shared.topic_index(e.topic()) else {
            continue;
        };
        let key: PartitionKey = (t, e.partition());
        job.assign(key, Checkpoint::decode(e.metadata()), now);
        let offset = match e.offset() {
            Offset::Offset(o) => Offset::Offset(o),
            _ => Offset::Beginning,
        };
        seek.add_partition_offset(e.topic(), e.partition(), offset)?;
    }
    drop(job);
    if seek.count() > 0 {
        consumer.seek_partitions(seek, Duration::from_secs(10))?;
    }
    info!(
        partitions = committed.count(),
        "Re-reading kept partitions from their committed offsets."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::broker_failure;

    #[test]
    fn broker_failures_name_the_broker_and_the_reason() {
        let cases = [
            (
                "127.0.0.1:19092/bootstrap: Connect to ipv4#127.0.0.1:19092 failed: Connection refused (after 0ms in state CONNECT)",
                Some(("127.0.0.1:19092", "connection refused")),
            ),
            (
                "ssl://kafka-1:9093/1: Connect to ipv4#10.0.0.7:9093 failed: Connection timed out (after 30004ms in state CONNECT, 2 identical error(s) suppressed)",
                Some(("kafka-1:9093", "connection timed out")),
            ),
            (
                "nohost:9092/bootstrap: Failed to resolve 'nohost:9092': Name or service not known (after 3ms in state CONNECT)",
                Some(("nohost:9092", "failed to resolve 'nohost:9092': Name or service not known")),
            ),
            ("1/1 brokers are down", None),
        ];
        for (reason, want) in cases {
            let got = broker_failure(reason);
            assert_eq!(
                got.as_ref().map(|(b, w)| (b.as_str(), w.as_str())),
                want,
                "{reason}"
            );
        }
    }
}
