//! The consumer's context, for any job that reads a consumer group and
//! commits its own offsets: librdkafka's logs and errors without the
//! configuration's secrets, failed broker connections and consumer lag
//! from its statistics, background commits that failed, and the rebalance
//! protocol. What a job keeps per partition is not known here: it answers
//! the [`Hooks`] it implements for its state.
//!
//! When partitions are revoked, the context commits synchronously what the
//! job says is safe, clears the pause librdkafka keeps across a revocation,
//! and tells the job which partitions went; when partitions are assigned,
//! it reads their committed offsets (with the metadata the job stored in
//! them) and hands them to the job. [`committed_assignment`] and
//! [`seek_to`] re-read kept partitions from their committed offsets.

use std::time::Duration;

use anyhow::Result;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use tracing::{info, warn};

use crate::kafka::Redactor;

/// How long reading committed offsets or seeking may take.
const COMMITTED_TIMEOUT: Duration = Duration::from_secs(10);

/// What a job does when its consumer's group or connections change. Every
/// hook runs on the thread that polls the consumer (inside `poll`), except
/// [`Hooks::commit_failed`] and [`Hooks::stats`], which librdkafka may call
/// from its own threads.
pub trait Hooks: Send + Sync + 'static {
    /// The offsets (with their metadata) safe to commit before partitions
    /// are taken away; `Ok(None)` when there is nothing to commit, an error
    /// when nothing may be committed.
    fn commit_before_revoke(&self) -> Result<Option<TopicPartitionList>>;
    /// Partitions were taken away: forget what is kept for them.
    fn revoked(&self, revoked: &TopicPartitionList);
    /// Partitions were given, with their committed offsets and metadata.
    fn assigned(&self, committed: &TopicPartitionList);
    /// A background (asynchronous) commit failed.
    fn commit_failed(&self, error: &KafkaError);
    /// A broker could not be reached, and why ("connection refused").
    fn broker_unreachable(&self, broker: String, why: String);
    /// librdkafka's statistics: the brokers that are up and the consumer
    /// lag of each topic and partition.
    fn stats(&self, up: &[&str], lag: &[(&str, i32, i64)]);
}

/// A consumer's context over a job's [`Hooks`].
pub struct GroupContext<H: Hooks> {
    pub hooks: H,
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

impl<H: Hooks> ClientContext for GroupContext<H> {
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
                self.hooks.broker_unreachable(broker, why);
            }
        }
        crate::telemetry::librdkafka::error(&error, &reason);
    }

    fn stats(&self, stats: Statistics) {
        let up: Vec<&str> = stats
            .brokers
            .values()
            .filter(|b| b.state == "UP")
            .map(|b| b.nodename.as_str())
            .collect();
        let mut lag = Vec::new();
        for (topic, t) in &stats.topics {
            for (&partition, p) in &t.partitions {
                if partition >= 0 && p.consumer_lag >= 0 {
                    lag.push((topic.as_str(), partition, p.consumer_lag));
                }
            }
        }
        self.hooks.stats(&up, &lag);
    }
}

impl<H: Hooks> ConsumerContext for GroupContext<H> {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            self.hooks.commit_failed(&e);
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
        match self.hooks.commit_before_revoke() {
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
        self.hooks.revoked(revoked);
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(assigned) = rebalance else {
            return;
        };
        let committed = consumer
            .committed_offsets((*assigned).clone(), COMMITTED_TIMEOUT)
            .unwrap_or_else(|e| {
                warn!(error = %e, "Cannot read the committed checkpoints; starting without them.");
                (*assigned).clone()
            });
        self.hooks.assigned(&committed);
    }
}

/// The partitions assigned now, with their committed offsets and metadata.
pub fn committed_assignment<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
) -> Result<TopicPartitionList> {
    let assignment = consumer.assignment()?;
    Ok(consumer.committed_offsets(assignment, COMMITTED_TIMEOUT)?)
}

/// Seeks the partitions of `committed` that `keep` accepts (by topic) to
/// their committed offsets, or to the beginning when none is committed.
pub fn seek_to<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    committed: &TopicPartitionList,
    keep: impl Fn(&str) -> bool,
) -> Result<()> {
    let mut seek = TopicPartitionList::new();
    for e in committed.elements() {
        if !keep(e.topic()) {
            continue;
        }
        let offset = match e.offset() {
            Offset::Offset(o) => Offset::Offset(o),
            _ => Offset::Beginning,
        };
        seek.add_partition_offset(e.topic(), e.partition(), offset)?;
    }
    if seek.count() > 0 {
        consumer.seek_partitions(seek, COMMITTED_TIMEOUT)?;
    }
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
