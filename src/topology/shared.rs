//! The stream job's state, shared between the poll loop, the worker thread
//! and the consumer's rebalance hooks: the stage's per-partition state
//! ([`StreamState`]), the dead letters, the flags that order writing,
//! committing and re-reading, and what the metrics read (consumer lag,
//! unreachable brokers, the worker's counts). [`JobHooks`] is how the
//! consumer's context ([`crate::kafka::consumer`]) keeps it in step with
//! the group: on revocation the job commits, forgets the revoked
//! partitions' open windows and re-reads the kept ones from their committed
//! offsets ([`rewind`]), so nothing is counted twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::{Context, Result};
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tracing::info;

use crate::dead_letter::DeadLetters;
use crate::kafka::consumer::{committed_assignment, seek_to, GroupContext, Hooks};
use crate::stream::{Checkpoint, PartitionKey, StreamState};

/// The stream job's consumer.
pub type JobConsumer = BaseConsumer<GroupContext<JobHooks>>;

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

/// The job's answers to its consumer's group and connections.
pub struct JobHooks(pub Arc<Shared>);

impl Hooks for JobHooks {
    fn commit_before_revoke(&self) -> Result<Option<TopicPartitionList>> {
        self.0.commit_list()
    }

    fn revoked(&self, revoked: &TopicPartitionList) {
        let shared = &self.0;
        let mut job = shared.job();
        for e in revoked.elements() {
            if let Some(t) = shared.topic_index(e.topic()) {
                job.revoke((t, e.partition()));
            }
        }
        shared.rewind.store(true, Ordering::Release);
    }

    fn assigned(&self, committed: &TopicPartitionList) {
        let shared = &self.0;
        let now = Instant::now();
        let mut job = shared.job();
        for e in committed.elements() {
            let Some(t) = shared.topic_index(e.topic()) else {
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
        lock(&shared.unreachable).clear();
        shared.assigned_once.store(true, Ordering::Release);
        shared.reassigned.store(true, Ordering::Release);
    }

    fn commit_failed(&self, error: &KafkaError) {
        self.0.async_commit_failures.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::librdkafka::job_warning(
            "Background offset commit failed; the next commit covers it.",
            error,
        );
    }

    fn broker_unreachable(&self, broker: String, why: String) {
        lock(&self.0.unreachable).insert(broker, why);
    }

    fn stats(&self, up: &[&str], lag: &[(&str, i32, i64)]) {
        {
            let mut unreachable = lock(&self.0.unreachable);
            for broker in up {
                unreachable.remove(*broker);
            }
        }
        let mut lags = lock(&self.0.lag);
        for &(topic, partition, n) in lag {
            lags.insert((topic.to_string(), partition), n);
        }
    }
}

/// Re-reads every kept partition from its committed offset, with a fresh
/// job state (after a revocation).
pub fn rewind(consumer: &JobConsumer, shared: &Shared) -> Result<()> {
    let committed = committed_assignment(consumer)?;
    let now = Instant::now();
    let mut job = shared.job();
    job.reset();
    for e in committed.elements() {
        let Some(t) = shared.topic_index(e.topic()) else {
            continue;
        };
        let key: PartitionKey = (t, e.partition());
        job.assign(key, Checkpoint::decode(e.metadata()), now);
    }
    drop(job);
    seek_to(consumer, &committed, |topic| {
        shared.topic_index(topic).is_some()
    })?;
    info!(
        partitions = committed.count(),
        "Re-reading kept partitions from their committed offsets."
    );
    Ok(())
}
