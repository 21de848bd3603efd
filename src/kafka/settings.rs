//! The librdkafka settings of slipstream's clients, from `[source.kafka]`:
//! the base every client shares (brokers and the pass-through, which wins
//! over slipstream's defaults) and the consumer's group settings.

use rdkafka::config::ClientConfig;

use crate::config::KafkaSource;

/// librdkafka settings slipstream chooses; the config's pass-through wins.
pub fn client_config(source: &KafkaSource) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &source.brokers);
    for (k, v) in &source.librdkafka {
        cfg.set(k, v);
    }
    cfg
}

/// The consumer's configuration: the base plus the group settings.
pub fn consumer_config(source: &KafkaSource) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &source.brokers)
        .set("group.id", &source.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        // Bounded memory under a fast producer: at most ~32 MB prefetched.
        .set("queued.max.messages.kbytes", "32768")
        .set("queued.min.messages", "20000")
        .set("fetch.max.bytes", "16777216")
        // librdkafka's default (1 s) idles a consumer that keeps its queue
        // above queued.min.messages for a whole second per partition.
        .set("fetch.queue.backoff.ms", "10")
        // End-of-partition events tell a caught-up partition from an
        // unreachable one (see stream::Job::watermark).
        .set("enable.partition.eof", "true")
        .set("statistics.interval.ms", "5000");
    for (k, v) in &source.librdkafka {
        cfg.set(k, v);
    }
    cfg
}
