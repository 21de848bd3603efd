//! The `kafka` sink: records to an output topic, keyed `sli|window_start`
//! so a compacted topic keeps the latest of each key. The producer is
//! idempotent, and a batch counts as written only once every message of it
//! is acknowledged by the broker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::{Context, Mode, Sink};
use crate::config::RecordKinds;
use crate::kafka::{create_with_context, describe, Redactor};
use crate::record::Record;

/// Counts failed deliveries, reported by librdkafka's delivery callbacks;
/// shows librdkafka's logs and errors without the configuration's secrets.
pub struct DeliveryCounter {
    failed: AtomicU64,
    last_error: std::sync::Mutex<Option<String>>,
    redactor: Redactor,
}

impl ClientContext for DeliveryCounter {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        crate::kafka::log(&self.redactor, level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        crate::kafka::error(&self.redactor, &error, reason);
    }

    /// Statistics are read by the consumer only.
    fn stats_raw(&self, _: &[u8]) {}
}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = self.last_error.lock() {
                *last = Some(describe(e, &self.redactor));
            }
        }
    }
}

/// A producer whose sends can be confirmed as a batch.
pub struct ConfirmingProducer {
    producer: BaseProducer<DeliveryCounter>,
}

impl ConfirmingProducer {
    /// An idempotent producer on `base` (brokers and security settings,
    /// which win over slipstream's defaults).
    pub fn new(base: &ClientConfig) -> Result<ConfirmingProducer> {
        Self::with_max_message(base, 1_000_000)
    }

    /// Like [`ConfirmingProducer::new`], accepting messages up to `bytes`.
    pub fn with_max_message(base: &ClientConfig, bytes: usize) -> Result<ConfirmingProducer> {
        let mut cfg = ClientConfig::new();
        cfg.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .set("message.max.bytes", bytes.max(1_000_000).to_string())
            .set("queue.buffering.max.kbytes", "65536");
        for (k, v) in base.config_map() {
            cfg.set(k, v);
        }
        let counter = DeliveryCounter {
            failed: AtomicU64::new(0),
            last_error: std::sync::Mutex::new(None),
            redactor: Redactor::of(&cfg),
        };
        let producer: BaseProducer<DeliveryCounter> =
            create_with_context(&cfg, counter, "the Kafka producer")?;
        Ok(ConfirmingProducer { producer })
    }

    /// Queues one message, waiting while librdkafka's queue is full.
    pub fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: Option<OwnedHeaders>,
    ) -> Result<()> {
        let mut record = BaseRecord::to(topic).key(key).payload(payload);
        if let Some(h) = headers {
            record = record.headers(h);
        }
        self.send_record(record)
    }

    /// Queues one message without a key for a given partition.
    pub fn send_to_partition(&self, topic: &str, partition: i32, payload: &[u8]) -> Result<()> {
        self.send_record(
            BaseRecord::<(), [u8]>::to(topic)
                .partition(partition)
                .payload(payload),
        )
    }

    fn send_record<K: rdkafka::message::ToBytes + ?Sized>(
        &self,
        mut record: BaseRecord<'_, K, [u8]>,
    ) -> Result<()> {
        let topic = record.topic.to_string();
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => bail!("cannot queue a message for topic {topic}: {e}"),
            }
        }
    }

    /// Serves delivery reports without waiting.
    pub fn poll(&self) {
        self.producer.poll(Duration::ZERO);
    }

    /// Waits until every queued message is acknowledged; fails when any
    /// delivery failed or the wait timed out.
    pub fn confirm(&self, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        // Not `flush`: rust-rdkafka's flush polls in slices of 100 ms that
        // run to their end even once the acknowledgements are in, so every
        // confirmation would take at least 100 ms.
        let mut acknowledged = false;
        while started.elapsed() < timeout {
            if self.producer.in_flight_count() == 0 {
                acknowledged = true;
                break;
            }
            self.producer.poll(Duration::from_millis(1));
        }
        let ctx = self.producer.context();
        let failed = ctx.failed.swap(0, Ordering::Relaxed);
        if failed > 0 {
            let last = ctx
                .last_error
                .lock()
                .ok()
                .and_then(|l| l.clone())
                .unwrap_or_default();
            bail!("{failed} message(s) were not delivered (last error: {last})");
        }
        if !acknowledged {
            bail!(
                "{} message(s) not acknowledged after {:.1} s",
                self.producer.in_flight_count(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }
}

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
