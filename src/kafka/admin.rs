//! What slipstream asks of the cluster itself: topics' partitions from the
//! metadata, and creating a topic it needs (the partials topic).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{info, warn};

use super::{create, Redacting};

/// A topic slipstream creates for itself.
pub struct NewTopicSpec<'a> {
    /// How messages name it: "the partials topic".
    pub what: &'a str,
    pub name: &'a str,
    pub partitions: i32,
    /// Its `max.message.bytes`.
    pub max_message_bytes: usize,
}

/// Makes sure a topic exists, creating it as `spec` says when missing, and
/// returns its partition count.
pub fn ensure_topic(base: &ClientConfig, spec: &NewTopicSpec<'_>) -> Result<i32> {
    let (what, topic) = (spec.what, spec.name);
    if let Some(n) = partition_count(base, topic)? {
        return Ok(n);
    }
    if let Err(e) = create_topic(base, spec) {
        // Clusters without the CreateTopics API (the embedded broker) create
        // a topic when a producer asks for it, with their default count.
        warn!(topic, error = %format!("{e:#}"), "Cannot create {what} with CreateTopics; asking the cluster to create it on first use.");
        let mut auto_create = base.clone();
        auto_create.set("allow.auto.create.topics", "true");
        let producer: BaseProducer<Redacting> = create(&auto_create, "a Kafka producer")?;
        let _ = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10));
    }
    for _ in 0..50 {
        if let Some(n) = partition_count(base, topic)? {
            return Ok(n);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{what} {topic} was created but does not appear in the cluster's metadata")
}

fn create_topic(base: &ClientConfig, spec: &NewTopicSpec<'_>) -> Result<()> {
    let (what, topic, partitions) = (spec.what, spec.name, spec.partitions);
    let admin: AdminClient<Redacting> = create(base, "a Kafka admin client")?;
    let max_bytes = spec.max_message_bytes.to_string();
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1))
        .set("max.message.bytes", &max_bytes);
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(30)))
        .request_timeout(Some(Duration::from_secs(5)));
    let results = futures_executor::block_on(admin.create_topics([&new], &options))?;
    for r in results {
        match r {
            Ok(_) => info!(topic, partitions, "Created {what}."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => bail!("cannot create {what} {t}: {e} (create it yourself with {partitions} partitions and max.message.bytes={max_bytes}, or give the job the right to)"),
        }
    }
    Ok(())
}

/// The partition count of a topic; `None` when it does not exist.
pub fn partition_count(base: &ClientConfig, topic: &str) -> Result<Option<i32>> {
    Ok(partitions(base, &[topic.to_string()])?
        .iter()
        .filter(|(t, _)| t == topic)
        .count()
        .try_into()
        .ok()
        .filter(|&n: &i32| n > 0))
}

/// Every partition of the given topics, as (topic, partition), from the
/// cluster's metadata.
pub fn partitions(base: &ClientConfig, topics: &[String]) -> Result<Vec<(String, i32)>> {
    let consumer: BaseConsumer<Redacting> = create(base, "a Kafka client for metadata")?;
    let mut out = Vec::new();
    for topic in topics {
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .with_context(|| format!("cannot read the metadata of topic {topic}"))?;
        for t in md.topics() {
            if t.error().is_some() {
                continue;
            }
            out.extend(
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id())),
            );
        }
    }
    Ok(out)
}
