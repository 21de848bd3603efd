//! The configuration exactly as the user writes it: serde structs that mirror
//! the TOML, with spans kept on every value that is checked after parsing so
//! errors can name the line. Nothing here is validated beyond its TOML type;
//! [`super::Config::from_raw`] does that once.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// A string with the byte range it came from.
pub type SpanStr = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub source: Option<RawSource>,
    #[serde(default)]
    pub decode: RawDecode,
    #[serde(default)]
    pub window: RawWindow,
    #[serde(default)]
    pub sli: Vec<RawSli>,
    #[serde(default)]
    pub sink: Vec<RawSink>,
    pub dead_letter: Option<RawDeadLetter>,
    pub http: Option<RawHttp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub kafka: Option<RawKafkaSource>,
    pub s3: Option<RawS3Source>,
    pub gcs: Option<RawGcsSource>,
    pub azure: Option<RawAzureSource>,
}

/// `[source.s3]`: S3 settings the environment does not give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3Source {
    pub endpoint: Option<SpanStr>,
    pub region: Option<SpanStr>,
    pub profile: Option<SpanStr>,
    pub max_retries: Option<Spanned<i64>>,
}

/// `[source.gcs]`: Google Cloud Storage settings the environment does not give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGcsSource {
    pub endpoint: Option<SpanStr>,
    pub max_retries: Option<Spanned<i64>>,
}

/// `[source.azure]`: Azure Blob Storage settings the environment does not give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAzureSource {
    pub account: Option<SpanStr>,
    pub endpoint: Option<SpanStr>,
    pub use_emulator: Option<bool>,
    pub max_retries: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKafkaSource {
    pub brokers: SpanStr,
    pub topics: Spanned<Vec<String>>,
    pub group_id: Option<SpanStr>,
    #[serde(default)]
    pub librdkafka: BTreeMap<String, Spanned<PassThrough>>,
}

/// A librdkafka property as TOML wrote it. librdkafka takes every value
/// as a string; `true` and `5` are as good as `"true"` and `"5"`. Any other
/// type fails without its value in the message: the key may be a secret.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a string, a boolean or a number")]
pub enum PassThrough {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDecode {
    pub format: Option<SpanStr>,
    /// The server's own format string (nginx, apache, envoy).
    pub log_format: Option<SpanStr>,
    /// A regular expression with named groups (regex).
    pub pattern: Option<SpanStr>,
    pub max_event_bytes: Option<Spanned<i64>>,
    pub max_latency: Option<SpanStr>,
    /// The zone of timestamps written without an offset.
    pub timezone: Option<SpanStr>,
    #[serde(default)]
    pub fields: RawFields,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFields {
    pub timestamp: Option<SpanStr>,
    pub timestamp_format: Option<SpanStr>,
    pub status: Option<SpanStr>,
    pub latency: Option<SpanStr>,
    pub latency_unit: Option<SpanStr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub size: Option<SpanStr>,
    pub max_out_of_orderness: Option<SpanStr>,
    pub allowed_lateness: Option<SpanStr>,
    pub idle_timeout: Option<SpanStr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSli {
    pub name: SpanStr,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub reviewed: Option<SpanStr>,
    pub filter: Option<SpanStr>,
    pub good: SpanStr,
    pub percentiles: Option<Spanned<Vec<f64>>>,
    /// Fields whose values are counted among the bad events.
    pub breakdown: Option<Spanned<Vec<String>>>,
    /// How many distinct values of each breakdown field a window counts exactly.
    pub breakdown_limit: Option<Spanned<i64>>,
    /// Fields whose values split the SLI into one series per distinct value.
    pub group_by: Option<Spanned<Vec<String>>>,
    /// How many groups a window keeps apart; the rest go to `__other__`.
    pub group_limit: Option<Spanned<i64>>,
    pub objective: Option<RawObjective>,
    /// Burn-rate alerts of the objective.
    pub alerts: Option<RawAlerts>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObjective {
    pub target: Spanned<Ratio>,
    pub window: SpanStr,
    pub method: Option<SpanStr>,
    pub timezone: Option<SpanStr>,
    /// When a timeslice is good: `compliance >= 0.99` or `p99 <= 300ms`.
    pub slice: Option<SpanStr>,
    /// Gone: `[sli.alerts] min_events`. Kept to say so.
    pub alert_min_events: Option<Spanned<toml::Value>>,
    /// Gone: `[[sli.alerts.pairs]]` with a burn rate. Kept to say so.
    pub alert: Option<Spanned<toml::Value>>,
}

/// A ratio written as a number (`0.999`) or as a percentage string
/// (`"99.9%"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio(pub f64);

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Ratio;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a ratio like 0.999 or a percentage like \"99.9%\"")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Ratio, E> {
                Ok(Ratio(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Ratio, E> {
                Ok(Ratio(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Ratio, E> {
                Ok(Ratio(v as f64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Ratio, E> {
                super::parse_ratio(v).map(Ratio).map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `[sli.alerts]`: how the SLI's objective alerts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// Valid events a pair's long window needs before the pair can fire
    /// (default 100): low traffic pages nobody.
    pub min_events: Option<Spanned<i64>>,
    /// Replaces the Workbook's pairs (windows scaled to the objective) when
    /// given; `pairs = []` means the objective never alerts.
    pub pairs: Option<Vec<RawAlertPair>>,
}

/// One `[[sli.alerts.pairs]]`: fires when the burn rates over both windows
/// exceed `burn_rate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertPair {
    /// `page` or `ticket`.
    pub severity: SpanStr,
    /// A whole multiple of `window.size`, used as written (not scaled).
    pub long_window: SpanStr,
    /// A whole multiple of `window.size`, shorter than `long_window`: it
    /// tells that the burn is still going on.
    pub short_window: SpanStr,
    /// 1 or more: 1 fires as soon as the budget burns faster than it lasts.
    pub burn_rate: Spanned<f64>,
}

/// One `[[sink]]`. A flat struct rather than a tagged enum so that every
/// value keeps its span; fields that do not belong to the `type` are rejected
/// during validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    #[serde(rename = "type")]
    pub kind: SpanStr,
    pub records: Option<Spanned<Vec<String>>>,
    pub path: Option<SpanStr>,
    pub topic: Option<SpanStr>,
    pub url: Option<SpanStr>,
    /// `webhook`: how long one request may take, answer included.
    pub timeout: Option<SpanStr>,
    /// `[sink.buffer]`: the sink's own queue.
    pub buffer: Option<RawBuffer>,
}

/// `[sink.buffer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuffer {
    /// How many records may wait for the sink (`drop_newest` only).
    pub max_records: Option<Spanned<i64>>,
    /// `block` or `drop_newest`.
    pub when_full: Option<SpanStr>,
    /// `memory` or `disk` (`drop_newest` only).
    #[serde(rename = "type")]
    pub kind: Option<SpanStr>,
    /// `disk`: the file of pending batches.
    pub path: Option<SpanStr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeadLetter {
    #[serde(rename = "type")]
    pub kind: SpanStr,
    pub topic: Option<SpanStr>,
    pub path: Option<SpanStr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Option<SpanStr>,
}
