//! Configuration: TOML in, a validated [`Config`] out.
//!
//! Loading happens in two steps, as in ripgrep: [`raw`] mirrors the file with
//! serde (unknown keys are errors, spans are kept), then [`Config::from_raw`]
//! checks every value once — durations, rules, units, sinks — and builds types
//! that cannot hold an invalid value. Errors name the file, the line and
//! column, and the field ([`ConfigError`]). `${VAR}` in string values is read
//! from the environment.
//!
//! Why this file is long: it holds the validated types themselves, the
//! vocabulary every stage reads; their checks are in the files below.

mod alerts;
mod buffer;
mod decode;
mod describe;
mod effective;
mod endpoint;
mod error;
mod groups;
pub mod librdkafka;
mod object;
pub mod raw;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::decode::{DecodeConfig, LatencyUnit, TimestampFormat};
pub use alerts::{
    effective_pairs, period_secs, span_name, threshold_text, AlertPair, AlertPolicy, Severity,
    DEFAULT_MIN_EVENTS, WORKBOOK_PAIRS,
};
pub use buffer::{BufferConfig, WhenFull, DEFAULT_MAX_RECORDS, MAX_RECORDS};
pub use describe::describe;
pub use effective::effective;
pub use endpoint::{Endpoint, DEFAULT_TIMEOUT};
pub use error::{ConfigError, SourceMap};
pub use object::{AzureSettings, GcsSettings, S3Settings};
use raw::RawConfig;
pub use validate::expand_env;
use validate::Validator;

use crate::event::FieldTable;
use crate::rules::Rule;

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub source: Option<KafkaSource>,
    /// `[source.s3]`, for backfill from S3 and S3-compatible stores.
    pub s3: S3Settings,
    /// `[source.gcs]`, for backfill from Google Cloud Storage.
    pub gcs: GcsSettings,
    /// `[source.azure]`, for backfill from Azure Blob Storage.
    pub azure: AzureSettings,
    pub decode: DecodeConfig,
    pub window: WindowConfig,
    /// Every field path the rules read, interned to event slots.
    pub fields: FieldTable,
    pub slis: Vec<Sli>,
    pub sinks: Vec<SinkConfig>,
    pub dead_letter: Option<DeadLetterConfig>,
    pub http: HttpConfig,
}

/// `[source.kafka]`.
#[derive(Clone)]
pub struct KafkaSource {
    pub brokers: String,
    pub topics: Vec<String>,
    pub group_id: String,
    /// Passed to librdkafka as-is. Values of secret keys never print.
    pub librdkafka: BTreeMap<String, String>,
}

/// A ratio as the configuration and the command line take it: `0.999`, or
/// a percentage, `99.9%` (divided by 100).
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    let t = text.trim();
    // `99.9%` is read as `99.9e-2`: the nearest float to 0.999, as `0.999`
    // is, where 99.9 / 100 would be one float off.
    let number = match t.strip_suffix('%') {
        Some(n) if !n.contains(['e', 'E']) => format!("{}e-2", n.trim_end()),
        Some(_) => String::new(),
        None => t.to_string(),
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a ratio like 0.999 or a percentage like 99.9%"))
}

/// True for librdkafka keys whose values are secrets: every property
/// librdkafka itself treats as sensitive but `sasl.username` (a name, shown
/// to tell which account failed) and `ssl.ca.pem` (a public certificate),
/// and any key that looks like one.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("passphrase")
        || k.contains("secret")
        || k.contains("token")
        || k.contains("credential")
        || k.contains("private.key")
        || k.starts_with("ssl.key")
        || k == "ssl_key"
        // Its value carries `clientSecret=...`.
        || k == "sasl.oauthbearer.config"
}

impl fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted: BTreeMap<&str, &str> = self
            .librdkafka
            .iter()
            .map(|(k, v)| {
                let shown = if is_secret_key(k) {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            })
            .collect();
        f.debug_struct("KafkaSource")
            .field("brokers", &self.brokers)
            .field("topics", &self.topics)
            .field("group_id", &self.group_id)
            .field("librdkafka", &redacted)
            .finish()
    }
}

/// `[window]`.
#[derive(Debug, Clone)]
pub struct WindowConfig {
    /// Tumbling window size in nanoseconds, aligned to the Unix epoch.
    pub size_ns: i64,
    pub max_out_of_orderness: Duration,
    pub allowed_lateness: Duration,
    pub idle_timeout: Duration,
}

/// One `[[sli]]`.
#[derive(Debug, Clone)]
pub struct Sli {
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub reviewed: Option<String>,
    /// `None` means every event belongs to the SLI.
    pub filter: Option<Rule>,
    pub good: Rule,
    pub percentiles: Vec<Percentile>,
    /// Fields (path, slot) whose values the window records count among the
    /// bad events: which routes or regions failed.
    pub breakdown: Vec<(String, usize)>,
    /// Distinct values per breakdown field counted exactly in a window;
    /// beyond, a bounded heavy-hitter summary of this many values.
    pub breakdown_limit: usize,
    /// Fields (path, slot) whose values split the SLI into one series per
    /// distinct combination (a group); empty for an ungrouped SLI.
    pub group_by: Vec<(String, usize)>,
    /// Groups a window keeps apart; the others are folded into `__other__`
    /// (see [`crate::window::Groups`]).
    pub group_limit: usize,
    pub objective: Option<Objective>,
}

/// A latency percentile, kept as an exact decimal fraction so ranks are
/// computed with integers: 0.999 is 999/1000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Percentile {
    pub numerator: u64,
    pub denominator: u64,
    /// The record key: `p50`, `p99`, `p999`.
    pub key: String,
}

impl Percentile {
    /// Parses a quantile in (0, 1]. The key is "p" and the digits after "0.",
    /// padded to two: 0.5 is `p50`, 0.999 is `p999`; 1 is `p100`.
    pub fn from_quantile(q: f64) -> Option<Percentile> {
        if !(q > 0.0 && q <= 1.0) {
            return None;
        }
        if q == 1.0 {
            return Some(Percentile {
                numerator: 1,
                denominator: 1,
                key: "p100".into(),
            });
        }
        let text = format!("{q}");
        let digits = text.strip_prefix("0.")?;
        if digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let numerator: u64 = digits.parse().ok()?;
        let denominator = 10u64.pow(digits.len() as u32);
        let mut key = format!("p{digits}");
        if digits.len() == 1 {
            key.push('0');
        }
        Some(Percentile {
            numerator,
            denominator,
            key,
        })
    }

    pub fn quantile(&self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

/// `[sli.objective]`.
#[derive(Debug, Clone)]
pub struct Objective {
    pub target: f64,
    pub window: ObjectiveWindow,
    /// The window as written (`28d`, `calendar:month`), for records.
    pub window_text: String,
    pub method: BudgetMethod,
    /// The time zone of calendar windows (UTC when not given).
    pub timezone: Option<chrono_tz::Tz>,
    /// Burn-rate alerts: the effective pairs ([`effective_pairs`] unless
    /// `[sli.alerts]` sets them) and the low-traffic guard.
    pub alerts: AlertPolicy,
    /// When a slice is good, for `method = "timeslices"`.
    pub slice: SliceRule,
}

/// When a timeslice (one window) is good: its compliance or one of the
/// SLI's latency percentiles compared with a threshold. A slice without
/// valid events (or, for a percentile, without latencies) is neither.
#[derive(Debug, Clone, PartialEq)]
pub enum SliceRule {
    Compliance {
        op: SliceOp,
        threshold: f64,
    },
    /// `index` is the position of the percentile in the SLI's `percentiles`.
    Latency {
        index: usize,
        key: String,
        op: SliceOp,
        threshold_ms: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl SliceOp {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            SliceOp::Lt => value < threshold,
            SliceOp::Le => value <= threshold,
            SliceOp::Gt => value > threshold,
            SliceOp::Ge => value >= threshold,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            SliceOp::Lt => "<",
            SliceOp::Le => "<=",
            SliceOp::Gt => ">",
            SliceOp::Ge => ">=",
        }
    }
}

impl SliceRule {
    /// Whether a slice is good (`Some(true)`), bad, or neither (`None`):
    /// `latency_ms` are the window's percentiles in the SLI's order, as its
    /// window record carries them.
    pub fn verdict(&self, good: u64, bad: u64, latency_ms: Option<&[f64]>) -> Option<bool> {
        match self {
            SliceRule::Compliance { op, threshold } => {
                let valid = good + bad;
                (valid > 0).then(|| op.holds(good as f64 / valid as f64, *threshold))
            }
            SliceRule::Latency {
                index,
                op,
                threshold_ms,
                ..
            } => {
                let value = *latency_ms?.get(*index)?;
                (!value.is_nan()).then(|| op.holds(value, *threshold_ms))
            }
        }
    }
}

impl fmt::Display for SliceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SliceRule::Compliance { op, threshold } => {
                write!(f, "compliance {} {threshold}", op.symbol())
            }
            SliceRule::Latency {
                key,
                op,
                threshold_ms,
                ..
            } => write!(f, "{key} {} {threshold_ms}ms", op.symbol()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectiveWindow {
    Rolling(Duration),
    CalendarMonth,
    CalendarWeek,
}

impl fmt::Display for ObjectiveWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectiveWindow::Rolling(d) => write!(f, "{}", humantime::format_duration(*d)),
            ObjectiveWindow::CalendarMonth => write!(f, "calendar:month"),
            ObjectiveWindow::CalendarWeek => write!(f, "calendar:week"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetMethod {
    Occurrences,
    Timeslices,
}

/// Which kinds of record a sink receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordKinds {
    pub window: bool,
    pub slo: bool,
    pub alert: bool,
}

impl Default for RecordKinds {
    fn default() -> Self {
        RecordKinds {
            window: true,
            slo: true,
            alert: true,
        }
    }
}

/// One `[[sink]]`.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub records: RecordKinds,
    pub kind: SinkKind,
    /// `[sink.buffer]`: how the stream job queues records for this sink.
    pub buffer: BufferConfig,
}

#[derive(Clone)]
pub enum SinkKind {
    File {
        path: PathBuf,
    },
    Kafka {
        topic: String,
    },
    Postgres {
        url: String,
    },
    Webhook {
        url: String,
        /// The deadline of one request: connecting, sending and the answer.
        timeout: Duration,
    },
}

impl fmt::Debug for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkKind::File { path } => f.debug_struct("File").field("path", path).finish(),
            SinkKind::Kafka { topic } => f.debug_struct("Kafka").field("topic", topic).finish(),
            // A webhook URL may carry a token.
            SinkKind::Webhook { timeout, .. } => f
                .debug_struct("Webhook")
                .field("url", &"<redacted>")
                .field("timeout", timeout)
                .finish(),
            // A database URL may carry a password.
            SinkKind::Postgres { .. } => f
                .debug_struct("Postgres")
                .field("url", &"<redacted>")
                .finish(),
        }
    }
}

/// `[dead_letter]`.
#[derive(Debug, Clone)]
pub enum DeadLetterConfig {
    Kafka { topic: String },
    File { path: PathBuf },
}

/// `[http]`.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: String,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(path, format!("cannot read the configuration file: {e}"))
        })?;
        Config::parse(path, &text)
    }

    /// Validates configuration text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let map = SourceMap { file: path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let mut err = ConfigError::new(path, e.message().trim_end_matches('\n').to_string());
            err.position = Some(map.position(span.start));
            err.field = map.key_at(span.start);
            err
        })?;
        Config::from_raw(&map, raw)
    }

    /// Checks every value of a parsed file once.
    pub fn from_raw(map: &SourceMap<'_>, raw: RawConfig) -> Result<Config, ConfigError> {
        let v = Validator {
            map,
            compiled: Default::default(),
        };
        let (kafka, s3, gcs, azure) = raw.source.map_or((None, None, None, None), |s| {
            (s.kafka, s.s3, s.gcs, s.azure)
        });
        let source = match kafka {
            Some(k) => Some(v.kafka_source(k)?),
            None => None,
        };
        let s3 = match s3 {
            Some(s) => v.s3_source(&s)?,
            None => S3Settings::default(),
        };
        let gcs = match gcs {
            Some(s) => v.gcs_source(&s)?,
            None => GcsSettings::default(),
        };
        let azure = match azure {
            Some(s) => v.azure_source(&s)?,
            None => AzureSettings::default(),
        };
        let decode = v.decode(&raw.decode)?;
        let window = v.window(&raw.window)?;
        if raw.sli.is_empty() {
            return Err(ConfigError::new(
                map.file,
                "no [[sli]] is defined: add at least one with a `name` and a `good` rule",
            ));
        }
        let mut fields = FieldTable::default();
        let mut slis: Vec<Sli> = Vec::with_capacity(raw.sli.len());
        // Names seen, looked up rather than compared with every SLI before:
        // configurations hold thousands of SLIs.
        let mut names = std::collections::HashSet::with_capacity(raw.sli.len());
        for (i, s) in raw.sli.iter().enumerate() {
            let sli = v.sli(i, s, &mut fields, decode.latency_unit, window.size_ns)?;
            if !names.insert(sli.name.clone()) {
                return Err(map.error(
                    s.name.span(),
                    &format!("sli[{i}].name"),
                    format!("the name `{}` is already used by another SLI", sli.name),
                ));
            }
            slis.push(sli);
        }
        let sinks = raw
            .sink
            .iter()
            .enumerate()
            .map(|(i, s)| v.sink(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, s) in sinks.iter().enumerate() {
            let Some(disk) = &s.buffer.disk else { continue };
            if sinks[..i]
                .iter()
                .any(|o| o.buffer.disk.as_ref() == Some(disk))
            {
                let span = raw.sink[i]
                    .buffer
                    .as_ref()
                    .and_then(|b| b.path.as_ref())
                    .map_or(0..0, |p| p.span());
                return Err(map.error(
                    span,
                    &format!("sink[{i}].buffer.path"),
                    format!(
                        "{} already keeps the queue of another sink: give each disk buffer its own file",
                        disk.display()
                    ),
                ));
            }
        }
        let dead_letter = match &raw.dead_letter {
            Some(d) => Some(v.dead_letter(d)?),
            None => None,
        };
        let listen = match raw.http.as_ref().and_then(|h| h.listen.as_ref()) {
            Some(l) => {
                let addr = v.expand(l, "http.listen")?;
                if addr.parse::<std::net::SocketAddr>().is_err() {
                    return Err(map.error(
                        l.span(),
                        "http.listen",
                        format!("`{addr}` is not a socket address like `127.0.0.1:9898`"),
                    ));
                }
                addr
            }
            None => "127.0.0.1:9898".to_string(),
        };
        Ok(Config {
            path: map.file.to_path_buf(),
            source,
            s3,
            gcs,
            azure,
            decode,
            window,
            fields,
            slis,
            sinks,
            dead_letter,
            http: HttpConfig { listen },
        })
    }
}

#[cfg(test)]
mod tests;
