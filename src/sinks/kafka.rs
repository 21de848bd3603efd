//! The `kafka` sink: records to an output topic, keyed `sli|window_start`
//! so a compacted topic keeps the latest of each key. The producer is
//! idempotent, and a batch counts as written only once every message of it
//! is acknowledged by the broker ([`ConfirmingProducer`]).

use std::time::Duration;

use anyhow::Result;
use rdkafka::config::ClientConfig;

use super::{Context, Mode, Sink};
use crate::config::RecordKinds;
use crate::kafka::producer::ConfirmingProducer;
use crate::record::Record;

/// A `kafka` sink, on the brokers of `[source.kafka]`. In a backfill
/// without a sink to read history back from, it gets window records only:
/// `slo` and `alert` records continue the history read back from a file
/// or postgres sink; a topic cannot give it back, and records from no
/// history would replace the stream job's under the same keys.
pub fn build(topic: &str, kinds: RecordKinds, ctx: &Context<'_>) -> Result<Option<Box<dyn Sink>>> {
    let base = ctx.kafka()?;
    let mut kinds = kinds;
    if ctx.mode == Mode::Backfill && !ctx.history {
        (kinds.slo, kinds.alert) = (false, false);
        eprintln!(
            "note: kafka:{topic} gets window records only: slo and alert records continue the history of a file or postgres sink, and there is none"
        );
    }
    Ok(Some(Box::new(KafkaSink::new(base, topic, kinds)?)))
}

/// Records to a Kafka topic.
pub struct KafkaSink {
    topic: String,
    kinds: RecordKinds,
    producer: ConfirmingProducer,
}

impl KafkaSink {
    pub fn new(base: &ClientConfig, topic: &str, kinds: RecordKinds) -> Result<KafkaSink> {
        Ok(KafkaSink {
            topic: topic.to_string(),
            kinds,
            producer: ConfirmingProducer::new(base)?,
        })
    }
}

impl Sink for KafkaSink {
    fn name(&self) -> String {
        format!("kafka:{}", self.topic)
    }

    fn write(&mut self, records: &[Record]) -> Result<usize> {
        let mut n = 0;
        for r in records.iter().filter(|r| r.kind.wanted_by(&self.kinds)) {
            self.producer
                .send(&self.topic, &r.key, r.json.as_bytes(), None)?;
            n += 1;
        }
        self.producer.confirm(Duration::from_secs(30))?;
        Ok(n)
    }
}
