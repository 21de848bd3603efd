//! Idle partitions, checked against their end offsets before they count as
//! idle. The consumer learns of new messages at its next fetch, which may
//! come late (a busy or stopped process, a broker that holds an empty fetch
//! back, messages queued behind another partition's backlog); a partition
//! counted idle while messages wait in it lets the other partitions'
//! watermarks close its windows without them: in one job, or in the rollup
//! once another ingest instance reports its own partitions past them.

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::Runner;
use crate::stream::PartitionKey;

/// How long a look at the partitions' end offsets may take (see
/// [`Runner::confirm_idle`] for a partition whose end is not known in time).
const END_TIMEOUT: Duration = Duration::from_millis(500);

/// One job: how long an idle partition whose end could not be looked at
/// keeps counting as idle before the next look, so that a leader's outage
/// does not block the loop for [`END_TIMEOUT`] at every emit.
const UNKNOWN_RETRY: Duration = Duration::from_secs(2);

impl Runner<'_> {
    /// Each partition that would count as idle: its end offset now, against
    /// the consumer's position in it and against its end when it first
    /// counted as idle. A partition with messages past the consumer's
    /// position, or whose end moved since, is not idle until the consumer
    /// reaches its end again. The ends of all of them are asked for at once
    /// (one `ListOffsets` request per broker).
    ///
    /// A partition whose end cannot be looked at (its leader is down) is not
    /// idle for an ingest instance: the rollup cannot tell an outage from
    /// silence. One job goes on its silence, as it did without the look (an
    /// outage of an empty partition's leader would otherwise hold every
    /// window open until it ends), and looks at that end again only after
    /// [`UNKNOWN_RETRY`].
    pub(super) fn confirm_idle(&mut self, now: Instant) {
        let unknown_is_more = self.partials.is_some();
        let mut candidates = self.shared.job().idle_candidates(now);
        self.idle_ends.retain(|k, _| candidates.contains(k));
        self.ends_unknown.retain(|k, at| {
            candidates.contains(k) && now.saturating_duration_since(*at) < UNKNOWN_RETRY
        });
        candidates.retain(|k| !self.ends_unknown.contains_key(k));
        if candidates.is_empty() {
            return;
        }
        let ends = end_offsets(&self.consumer, &self.shared.topics, &candidates);
        let read = positions(&self.consumer, &self.shared.topics, &candidates);
        for ((key, end), read) in candidates.into_iter().zip(ends).zip(read) {
            if end.is_none() && !unknown_is_more {
                self.ends_unknown.insert(key, now);
            }
            let moved = match (end, read, self.idle_ends.get(&key)) {
                (None, _, _) => unknown_is_more,
                (Some(end), Some(read), _) if end > read => true,
                (Some(end), _, Some(&first)) => end > first,
                (Some(end), _, None) => {
                    self.idle_ends.insert(key, end);
                    false
                }
            };
            if moved {
                self.idle_ends.remove(&key);
                self.shared.job().more_to_read(key);
            }
        }
    }
}

/// The end offsets of `keys` (topic index, partition), in their order: the
/// latest, as a `ListOffsets` request with the timestamp -1 gives them, all
/// asked at once. `None` for a partition whose end is not known in time.
fn end_offsets<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
    topics: &[String],
    keys: &[PartitionKey],
) -> Vec<Option<i64>> {
    let mut latest = TopicPartitionList::new();
    for &(topic, partition) in keys {
        if latest
            .add_partition_offset(&topics[topic], partition, Offset::End)
            .is_err()
        {
            return vec![None; keys.len()];
        }
    }
    let Ok(ends) = consumer.offsets_for_times(latest, END_TIMEOUT) else {
        return vec![None; keys.len()];
    };
    keys.iter()
        .map(|&(topic, partition)| {
            let e = ends.find_partition(&topics[topic], partition)?;
            match (e.error(), e.offset()) {
                (Ok(()), Offset::Offset(o)) => Some(o),
                _ => None,
            }
        })
        .collect()
}

/// The consumer's position in each of `keys`, in their order: the offset
/// after the last message it delivered (librdkafka steps it over
/// transaction markers too). `None` where it has delivered none yet.
fn positions<X: ConsumerContext, C: Consumer<X>>(
    consumer: &C,
    topics: &[String],
    keys: &[PartitionKey],
) -> Vec<Option<i64>> {
    let Ok(at) = consumer.position() else {
        return vec![None; keys.len()];
    };
    keys.iter()
        .map(
            |&(topic, partition)| match at.find_partition(&topics[topic], partition)?.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    use rdkafka::ClientConfig;

    use super::*;

    fn produce(producer: &BaseProducer, topic: &str, partition: i32, n: usize) {
        for i in 0..n {
            let payload = format!("event {i}");
            producer
                .send(
                    BaseRecord::<(), str>::to(topic)
                        .partition(partition)
                        .payload(&payload),
                )
                .expect("queued");
        }
        producer
            .flush(Duration::from_secs(10))
            .expect("every message acknowledged");
    }

    #[test]
    fn the_ends_of_several_partitions_are_the_messages_written_to_each() {
        let cluster = MockCluster::new(1).expect("a mock cluster");
        cluster.create_topic("a", 2, 1).expect("topic a");
        cluster.create_topic("b", 1, 1).expect("topic b");
        let client = |extra: &[(&str, &str)]| {
            let mut c = ClientConfig::new();
            c.set("bootstrap.servers", cluster.bootstrap_servers());
            for (k, v) in extra {
                c.set(*k, *v);
            }
            c
        };
        let producer: BaseProducer = client(&[]).create().expect("a producer");
        produce(&producer, "a", 0, 5);
        produce(&producer, "b", 0, 3);
        let consumer: BaseConsumer = client(&[("group.id", "ends")])
            .create()
            .expect("a consumer");
        let topics = vec!["a".to_string(), "b".to_string()];

        let keys = [(0, 0), (0, 1), (1, 0)];
        assert_eq!(
            end_offsets(&consumer, &topics, &keys),
            vec![Some(5), Some(0), Some(3)]
        );
        // The end moves with what is written after.
        produce(&producer, "a", 1, 2);
        assert_eq!(
            end_offsets(&consumer, &topics, &keys),
            vec![Some(5), Some(2), Some(3)]
        );
        // A partition that does not exist has no end to compare.
        assert_eq!(end_offsets(&consumer, &topics, &[(1, 7)]), vec![None]);
    }

    /// The position is what the consumer delivered, not what the partition
    /// holds: messages written since show as an end past it.
    #[test]
    fn the_position_is_after_the_last_message_delivered() {
        let cluster = MockCluster::new(1).expect("a mock cluster");
        cluster.create_topic("a", 2, 1).expect("topic a");
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", cluster.bootstrap_servers());
        let producer: BaseProducer = config.create().expect("a producer");
        produce(&producer, "a", 0, 4);
        let consumer: BaseConsumer = config
            .clone()
            .set("group.id", "positions")
            .set("enable.partition.eof", "true")
            .create()
            .expect("a consumer");
        let mut assigned = TopicPartitionList::new();
        for p in [0, 1] {
            assigned
                .add_partition_offset("a", p, Offset::Beginning)
                .expect("add");
        }
        consumer.assign(&assigned).expect("assign");
        let topics = vec!["a".to_string()];
        let keys = [(0, 0), (0, 1)];
        let (mut delivered, mut eofs) = (0, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        while (delivered < 4 || eofs < 2) && Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(_)) => delivered += 1,
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => eofs += 1,
                _ => {}
            }
        }
        assert_eq!((delivered, eofs), (4, 2), "read to the end of both");
        assert_eq!(positions(&consumer, &topics, &keys), vec![Some(4), None]);
        produce(&producer, "a", 0, 3);
        assert_eq!(positions(&consumer, &topics, &keys), vec![Some(4), None]);
        assert_eq!(
            end_offsets(&consumer, &topics, &keys),
            vec![Some(7), Some(0)]
        );
    }
}
