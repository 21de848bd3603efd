//! An ingest instance's idle partitions, checked against their end offsets
//! before they are reported idle. The consumer learns of new messages at
//! its next fetch, which may come late (a busy or stopped process, a broker
//! that holds an empty fetch back); a partition reported idle while
//! messages wait in it lets the rollup close its windows without them,
//! once another instance reports its own partitions past them.

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::Runner;
use crate::stream::PartitionKey;

/// How long a look at the partitions' end offsets may take; a partition
/// whose end is not known in time counts as having more to read (an outage
/// never makes a partition idle).
const END_TIMEOUT: Duration = Duration::from_millis(500);

impl Runner<'_> {
    /// Each partition that would be reported idle: its end offset now,
    /// against the one when it first counted as idle. A partition whose end
    /// moved since, or that cannot be looked at, is not idle until the
    /// consumer reaches its end again. The ends of all of them are asked
    /// for at once (one `ListOffsets` request per broker).
    pub(super) fn confirm_idle(&mut self, now: Instant) {
        let candidates = self.shared.job().idle_candidates(now);
        self.idle_ends.retain(|k, _| candidates.contains(k));
        if candidates.is_empty() {
            return;
        }
        let ends = end_offsets(&self.consumer, &self.shared.topics, &candidates);
        for (key, end) in candidates.into_iter().zip(ends) {
            let moved = match (end, self.idle_ends.get(&key)) {
                (None, _) => true,
                (Some(end), Some(&first)) => end > first,
                (Some(end), None) => {
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
}
