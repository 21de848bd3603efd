//! The producer every part of slipstream writes to Kafka with (the `kafka`
//! sink, dead letters, partials, `gen` and the demo): idempotent, and
//! confirmed as a batch, so a caller knows when what it sent is
//! acknowledged by the brokers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::ClientContext;

use super::{create_with_context, describe, Redactor};

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
