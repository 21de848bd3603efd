//! The Kafka client: librdkafka clients as slipstream creates them, with
//! nothing configured as a secret in what they say; their settings
//! ([`settings`]), the confirming producer ([`producer`]), what is asked of
//! the cluster ([`admin`]) and the embedded development broker
//! ([`devbroker`]) and the consumer's context over a job's rebalance and
//! statistics hooks ([`consumer`]).
//!
//! Every client (the consumer, producers of sinks, dead letters and
//! partials, admin and metadata clients) is created through [`create`] or
//! [`create_with_context`]: a failure is worded by
//! [`librdkafka::describe`](crate::config::librdkafka::describe), which
//! never shows the value a configuration error is about nor any secret of
//! the configuration. Every context shows librdkafka's log lines and errors
//! through the same [`Redactor`] ([`log`], [`error`]); [`Redacting`] is the
//! context of clients with no hooks of their own.

pub mod admin;
pub mod consumer;
pub mod devbroker;
pub mod producer;
pub mod settings;

use anyhow::anyhow;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;

pub use crate::config::librdkafka::{describe, Redactor};

/// Creates a client of `config` with a [`Redacting`] context. `what` names
/// it in the error (`a Kafka admin client`).
pub fn create<T>(config: &ClientConfig, what: &str) -> anyhow::Result<T>
where
    T: FromClientConfigAndContext<Redacting>,
{
    create_with_context(config, Redacting::of(config), what)
}

/// Creates a client of `config` with `context`; the error names `what`
/// and librdkafka's reason without any secret of `config`.
pub fn create_with_context<C, T>(config: &ClientConfig, context: C, what: &str) -> anyhow::Result<T>
where
    C: ClientContext,
    T: FromClientConfigAndContext<C>,
{
    config.create_with_context(context).map_err(|e| {
        anyhow!(
            "cannot create {what}: {}",
            describe(&e, &Redactor::of(config))
        )
    })
}

/// Shows a librdkafka log line at its level, without secrets.
pub fn log(redactor: &Redactor, level: RDKafkaLogLevel, facility: &str, message: &str) {
    crate::telemetry::librdkafka::log(level, facility, &redactor.redact(message));
}

/// Shows an error librdkafka reports (it retries), without secrets, once
/// per distinct error (see [`crate::telemetry::librdkafka`]).
pub fn error(redactor: &Redactor, error: &KafkaError, reason: &str) {
    crate::telemetry::librdkafka::error(error, &redactor.redact(reason));
}

/// The context of clients with no hooks of their own: librdkafka's logs and
/// errors, redacted.
pub struct Redacting {
    pub redactor: Redactor,
}

impl Redacting {
    /// Hides the secrets of `config`.
    pub fn of(config: &ClientConfig) -> Redacting {
        Redacting {
            redactor: Redactor::of(config),
        }
    }
}

impl ClientContext for Redacting {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log(&self.redactor, level, facility, message);
    }

    fn error(&self, e: KafkaError, reason: &str) {
        error(&self.redactor, &e, reason);
    }

    /// Statistics are read by the consumer only (a `statistics.interval.ms`
    /// in the pass-through settings reaches these clients too).
    fn stats_raw(&self, _: &[u8]) {}
}

impl ConsumerContext for Redacting {}

impl ProducerContext for Redacting {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::BaseProducer;

    #[test]
    fn a_creation_error_shows_no_configured_secret() {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("sasl.password", "hunter2-pw")
            .set("sasl.oauthbearer.client.secret", "t0p-s3cret");
        let e = create::<BaseProducer<Redacting>>(&config, "a test producer")
            .err()
            .expect("librdkafka refuses the key");
        let shown = format!("{e:#}");
        assert!(
            shown.starts_with("cannot create a test producer: "),
            "{shown}"
        );
        assert!(
            shown.contains("`sasl.oauthbearer.client.secret`"),
            "{shown}"
        );
        assert!(!shown.contains("t0p-s3cret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");

        let mut config = ClientConfig::new();
        config
            .set("sasl.password", "hunter2-pw")
            .set("typo.of.a.key", "0nly-h3re");
        let e = create::<BaseProducer<Redacting>>(&config, "a test producer")
            .err()
            .expect("librdkafka refuses the key");
        let shown = format!("{e:#}");
        assert!(shown.contains("`typo.of.a.key`"), "{shown}");
        assert!(!shown.contains("0nly-h3re"), "{shown}");
    }
}
