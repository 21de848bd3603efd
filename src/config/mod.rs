//! Configuration: TOML in, a validated [`Config`] out.
//!
//! Loading happens in two steps, as in ripgrep: [`raw`] mirrors the file with
//! serde (unknown keys are errors, spans are kept), then [`Config::from_raw`]
//! checks every value once — durations, rules, units, sinks — and builds types
//! that cannot hold an invalid value. Errors name the file, the line and
//! column, and the field ([`ConfigError`]). `${VAR}` in string values is read
//! from the environment.

mod error;
pub mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, SourceMap};
use raw::{RawConfig, RawSli, SpanStr};

use crate::event::FieldTable;
use crate::rules::{self, Rule};
use crate::time::UnixUnit;

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub source: Option<KafkaSource>,
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

/// True for librdkafka keys whose values are secrets.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.starts_with("ssl.key")
        || k.contains("token")
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

/// `[decode]`.
#[derive(Debug, Clone)]
pub struct DecodeConfig {
    pub max_event_bytes: usize,
    pub timestamp_field: String,
    pub timestamp_format: TimestampFormat,
    pub status_field: String,
    pub latency_field: String,
    pub latency_unit: LatencyUnit,
}

/// `decode.fields.timestamp_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    Rfc3339,
    Unix(UnixUnit),
}

/// `decode.fields.latency_unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl LatencyUnit {
    /// Nanoseconds in one unit.
    pub fn nanos(self) -> f64 {
        match self {
            LatencyUnit::Seconds => 1e9,
            LatencyUnit::Millis => 1e6,
            LatencyUnit::Micros => 1e3,
            LatencyUnit::Nanos => 1.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LatencyUnit::Seconds => "s",
            LatencyUnit::Millis => "ms",
            LatencyUnit::Micros => "us",
            LatencyUnit::Nanos => "ns",
        }
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
}

#[derive(Clone)]
pub enum SinkKind {
    File { path: PathBuf },
    Kafka { topic: String },
    Postgres { url: String },
}

impl fmt::Debug for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkKind::File { path } => f.debug_struct("File").field("path", path).finish(),
            SinkKind::Kafka { topic } => f.debug_struct("Kafka").field("topic", topic).finish(),
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
        let v = Validator { map };
        let source = match raw.source.and_then(|s| s.kafka) {
            Some(k) => Some(v.kafka_source(k)?),
            None => None,
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
        for (i, s) in raw.sli.iter().enumerate() {
            let sli = v.sli(i, s, &mut fields, decode.latency_unit)?;
            if slis.iter().any(|o| o.name == sli.name) {
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

/// Validation of the raw values, with the source map for error positions.
struct Validator<'a> {
    map: &'a SourceMap<'a>,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> ConfigError {
        self.map.error(span, field, message)
    }

    /// Replaces `${VAR}` with the environment variable; `$$` is a literal `$`.
    fn expand(&self, s: &SpanStr, field: &str) -> Result<String, ConfigError> {
        expand_env(s.get_ref()).map_err(|m| self.err(s.span(), field, m))
    }

    fn duration(&self, s: &SpanStr, field: &str) -> Result<Duration, ConfigError> {
        humantime::parse_duration(s.get_ref().trim()).map_err(|e| {
            self.err(
                s.span(),
                field,
                format!(
                    "`{}` is not a duration ({e}); write it like `500ms`, `5s`, `1m` or `28d`",
                    s.get_ref()
                ),
            )
        })
    }

    fn kafka_source(&self, k: raw::RawKafkaSource) -> Result<KafkaSource, ConfigError> {
        let brokers = self.expand(&k.brokers, "source.kafka.brokers")?;
        if brokers.trim().is_empty() {
            return Err(self.err(
                k.brokers.span(),
                "source.kafka.brokers",
                "must name at least one broker",
            ));
        }
        if k.topics.get_ref().is_empty() {
            return Err(self.err(
                k.topics.span(),
                "source.kafka.topics",
                "must name at least one topic",
            ));
        }
        let group_id = match &k.group_id {
            Some(g) => self.expand(g, "source.kafka.group_id")?,
            None => "slipstream".to_string(),
        };
        let mut librdkafka = BTreeMap::new();
        for (key, value) in &k.librdkafka {
            let field = format!("source.kafka.librdkafka.\"{key}\"");
            librdkafka.insert(key.clone(), self.expand(value, &field)?);
        }
        Ok(KafkaSource {
            brokers,
            topics: k.topics.into_inner(),
            group_id,
            librdkafka,
        })
    }

    fn decode(&self, d: &raw::RawDecode) -> Result<DecodeConfig, ConfigError> {
        if let Some(f) = &d.format {
            if f.get_ref() != "json" {
                return Err(self.err(
                    f.span(),
                    "decode.format",
                    format!(
                        "unknown format `{}`; the only format is `json`",
                        f.get_ref()
                    ),
                ));
            }
        }
        let max_event_bytes = match &d.max_event_bytes {
            Some(m) if *m.get_ref() < 64 => {
                return Err(self.err(m.span(), "decode.max_event_bytes", "must be at least 64"))
            }
            Some(m) => *m.get_ref() as usize,
            None => 1_048_576,
        };
        let f = &d.fields;
        let path =
            |v: &Option<SpanStr>, default: &str, field: &str| -> Result<String, ConfigError> {
                match v {
                    Some(s) if !valid_path(s.get_ref()) => Err(self.err(
                        s.span(),
                        field,
                        format!(
                            "`{}` is not a field path like `ts` or `http.duration_ms`",
                            s.get_ref()
                        ),
                    )),
                    Some(s) => Ok(s.get_ref().clone()),
                    None => Ok(default.to_string()),
                }
            };
        let timestamp_format = match &f.timestamp_format {
            None => TimestampFormat::Unix(UnixUnit::Auto),
            Some(s) => match s.get_ref().as_str() {
                "auto" => TimestampFormat::Unix(UnixUnit::Auto),
                "rfc3339" => TimestampFormat::Rfc3339,
                "unix_s" => TimestampFormat::Unix(UnixUnit::Seconds),
                "unix_ms" => TimestampFormat::Unix(UnixUnit::Millis),
                "unix_us" => TimestampFormat::Unix(UnixUnit::Micros),
                "unix_ns" => TimestampFormat::Unix(UnixUnit::Nanos),
                other => {
                    return Err(self.err(
                        s.span(),
                        "decode.fields.timestamp_format",
                        format!("unknown format `{other}`; expected one of auto, rfc3339, unix_s, unix_ms, unix_us, unix_ns"),
                    ))
                }
            },
        };
        let latency_unit = match &f.latency_unit {
            None => LatencyUnit::Millis,
            Some(s) => match s.get_ref().as_str() {
                "s" => LatencyUnit::Seconds,
                "ms" => LatencyUnit::Millis,
                "us" => LatencyUnit::Micros,
                "ns" => LatencyUnit::Nanos,
                other => {
                    return Err(self.err(
                        s.span(),
                        "decode.fields.latency_unit",
                        format!("unknown unit `{other}`; expected one of s, ms, us, ns"),
                    ))
                }
            },
        };
        Ok(DecodeConfig {
            max_event_bytes,
            timestamp_field: path(&f.timestamp, "timestamp", "decode.fields.timestamp")?,
            timestamp_format,
            status_field: path(&f.status, "status", "decode.fields.status")?,
            latency_field: path(&f.latency, "latency", "decode.fields.latency")?,
            latency_unit,
        })
    }

    fn window(&self, w: &raw::RawWindow) -> Result<WindowConfig, ConfigError> {
        let get = |v: &Option<SpanStr>, default: Duration, field: &str| match v {
            Some(s) => self.duration(s, field),
            None => Ok(default),
        };
        let size = get(&w.size, Duration::from_secs(60), "window.size")?;
        if size < Duration::from_secs(1)
            || size > Duration::from_secs(86_400)
            || size.subsec_nanos() != 0
        {
            let span = w.size.as_ref().map_or(0..0, |s| s.span());
            return Err(self.err(
                span,
                "window.size",
                "must be a whole number of seconds between 1s and 1d",
            ));
        }
        Ok(WindowConfig {
            size_ns: size.as_nanos() as i64,
            max_out_of_orderness: get(
                &w.max_out_of_orderness,
                Duration::from_secs(5),
                "window.max_out_of_orderness",
            )?,
            allowed_lateness: get(
                &w.allowed_lateness,
                Duration::from_secs(60),
                "window.allowed_lateness",
            )?,
            idle_timeout: get(
                &w.idle_timeout,
                Duration::from_secs(30),
                "window.idle_timeout",
            )?,
        })
    }

    fn rule(
        &self,
        s: &SpanStr,
        field: &str,
        fields: &mut FieldTable,
        unit: LatencyUnit,
    ) -> Result<Rule, ConfigError> {
        rules::compile(s.get_ref(), fields, unit.nanos()).map_err(|e| {
            // Point at the character inside the TOML string: the span starts at
            // the opening quote (one character; three for multi-line strings).
            let span = s.span();
            let quote = if self.map.text[span.clone()].starts_with("'''")
                || self.map.text[span.clone()].starts_with("\"\"\"")
            {
                3
            } else {
                1
            };
            let mut err = self.err(span.clone(), field, e.message().to_string());
            if let Some((line, col)) = err.position {
                let single_line = !s.get_ref().contains('\n');
                if single_line {
                    err.position = Some((line, col + quote + e.column() - 1));
                }
            }
            // `render` starts with the message, which the error already shows.
            let rendered = e.render(s.get_ref());
            err.detail = Some(
                rendered
                    .split_once('\n')
                    .map_or(rendered.clone(), |(_, rest)| rest.to_string()),
            );
            err
        })
    }

    fn sli(
        &self,
        i: usize,
        s: &RawSli,
        fields: &mut FieldTable,
        unit: LatencyUnit,
    ) -> Result<Sli, ConfigError> {
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() || name.contains(['|', '\n']) {
            return Err(self.err(
                s.name.span(),
                &format!("sli[{i}].name"),
                "must be a non-empty name without `|` or line breaks",
            ));
        }
        let filter = match &s.filter {
            Some(f) => Some(self.rule(f, &format!("sli[{i}].filter"), fields, unit)?),
            None => None,
        };
        let good = self.rule(&s.good, &format!("sli[{i}].good"), fields, unit)?;
        let percentiles = match &s.percentiles {
            None => [0.5, 0.9, 0.99]
                .iter()
                .filter_map(|&q| Percentile::from_quantile(q))
                .collect(),
            Some(list) => {
                let mut out: Vec<Percentile> = Vec::new();
                for &q in list.get_ref() {
                    let p = Percentile::from_quantile(q).ok_or_else(|| {
                        self.err(
                            list.span(),
                            &format!("sli[{i}].percentiles"),
                            format!("{q} is not a quantile in (0, 1] with at most 9 decimals, like 0.99"),
                        )
                    })?;
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
                out
            }
        };
        let objective = match &s.objective {
            Some(o) => Some(self.objective(i, o)?),
            None => None,
        };
        if let Some(r) = &s.reviewed {
            if crate::time::parse_rfc3339_str(&format!("{}T00:00:00Z", r.get_ref())).is_none() {
                return Err(self.err(
                    r.span(),
                    &format!("sli[{i}].reviewed"),
                    "must be a date like `2026-11-02`",
                ));
            }
        }
        Ok(Sli {
            name,
            description: s.description.clone(),
            owner: s.owner.clone(),
            reviewed: s.reviewed.as_ref().map(|r| r.get_ref().clone()),
            filter,
            good,
            percentiles,
            objective,
        })
    }

    fn objective(&self, i: usize, o: &raw::RawObjective) -> Result<Objective, ConfigError> {
        let field = |f: &str| format!("sli[{i}].objective.{f}");
        let target = *o.target.get_ref();
        if !(target > 0.0 && target < 1.0) {
            return Err(self.err(
                o.target.span(),
                &field("target"),
                format!("{target} must be a ratio strictly between 0 and 1, like 0.999"),
            ));
        }
        let window = match o.window.get_ref().as_str() {
            "calendar:month" => ObjectiveWindow::CalendarMonth,
            "calendar:week" => ObjectiveWindow::CalendarWeek,
            other if other.starts_with("calendar:") => {
                return Err(self.err(
                    o.window.span(),
                    &field("window"),
                    format!("unknown calendar period `{other}`; expected `calendar:month` or `calendar:week`"),
                ))
            }
            _ => {
                let d = self.duration(&o.window, &field("window"))?;
                if d < Duration::from_secs(3600) {
                    return Err(self.err(o.window.span(), &field("window"), "a rolling objective window must be at least 1h"));
                }
                ObjectiveWindow::Rolling(d)
            }
        };
        let method = match o.method.as_ref().map(|m| m.get_ref().as_str()) {
            None | Some("occurrences") => BudgetMethod::Occurrences,
            Some("timeslices") => BudgetMethod::Timeslices,
            Some(other) => {
                let span = o.method.as_ref().map_or(0..0, |m| m.span());
                return Err(self.err(
                    span,
                    &field("method"),
                    format!("unknown method `{other}`; expected `occurrences` or `timeslices`"),
                ));
            }
        };
        let timezone = match &o.timezone {
            None => None,
            Some(tz) if matches!(window, ObjectiveWindow::Rolling(_)) => {
                return Err(self.err(
                    tz.span(),
                    &field("timezone"),
                    "only calendar windows take a timezone",
                ));
            }
            Some(tz) => Some(tz.get_ref().parse::<chrono_tz::Tz>().map_err(|_| {
                self.err(
                    tz.span(),
                    &field("timezone"),
                    format!(
                        "unknown time zone `{}`; use an IANA name like `Asia/Tokyo` or `UTC`",
                        tz.get_ref()
                    ),
                )
            })?),
        };
        Ok(Objective {
            target,
            window,
            window_text: o.window.get_ref().trim().to_string(),
            method,
            timezone,
        })
    }

    fn sink(&self, i: usize, s: &raw::RawSink) -> Result<SinkConfig, ConfigError> {
        let field = |f: &str| format!("sink[{i}].{f}");
        let records = match &s.records {
            None => RecordKinds::default(),
            Some(list) => {
                let mut kinds = RecordKinds {
                    window: false,
                    slo: false,
                    alert: false,
                };
                for r in list.get_ref() {
                    match r.as_str() {
                        "window" => kinds.window = true,
                        "slo" => kinds.slo = true,
                        "alert" => kinds.alert = true,
                        other => {
                            return Err(self.err(
                                list.span(),
                                &field("records"),
                                format!(
                                    "unknown record kind `{other}`; expected window, slo or alert"
                                ),
                            ))
                        }
                    }
                }
                kinds
            }
        };
        let require = |v: &Option<SpanStr>, name: &str| -> Result<String, ConfigError> {
            match v {
                Some(s) => self.expand(s, &field(name)),
                None => Err(self.err(
                    s.kind.span(),
                    &field(name),
                    format!("a `{}` sink needs `{name}`", s.kind.get_ref()),
                )),
            }
        };
        let forbid = |v: &Option<SpanStr>, name: &str| -> Result<(), ConfigError> {
            match v {
                Some(x) => Err(self.err(
                    x.span(),
                    &field(name),
                    format!("a `{}` sink takes no `{name}`", s.kind.get_ref()),
                )),
                None => Ok(()),
            }
        };
        let kind = match s.kind.get_ref().as_str() {
            "file" => {
                forbid(&s.topic, "topic")?;
                forbid(&s.url, "url")?;
                SinkKind::File {
                    path: PathBuf::from(require(&s.path, "path")?),
                }
            }
            "kafka" => {
                forbid(&s.path, "path")?;
                forbid(&s.url, "url")?;
                SinkKind::Kafka {
                    topic: require(&s.topic, "topic")?,
                }
            }
            "postgres" => {
                forbid(&s.path, "path")?;
                forbid(&s.topic, "topic")?;
                SinkKind::Postgres {
                    url: require(&s.url, "url")?,
                }
            }
            other => {
                return Err(self.err(
                    s.kind.span(),
                    &field("type"),
                    format!("unknown sink type `{other}`; expected file, kafka or postgres"),
                ))
            }
        };
        Ok(SinkConfig { records, kind })
    }

    fn dead_letter(&self, d: &raw::RawDeadLetter) -> Result<DeadLetterConfig, ConfigError> {
        match d.kind.get_ref().as_str() {
            "kafka" => match &d.topic {
                Some(t) => Ok(DeadLetterConfig::Kafka {
                    topic: self.expand(t, "dead_letter.topic")?,
                }),
                None => Err(self.err(
                    d.kind.span(),
                    "dead_letter.topic",
                    "a `kafka` dead-letter destination needs `topic`",
                )),
            },
            "file" => match &d.path {
                Some(p) => Ok(DeadLetterConfig::File {
                    path: PathBuf::from(self.expand(p, "dead_letter.path")?),
                }),
                None => Err(self.err(
                    d.kind.span(),
                    "dead_letter.path",
                    "a `file` dead-letter destination needs `path`",
                )),
            },
            other => Err(self.err(
                d.kind.span(),
                "dead_letter.type",
                format!("unknown dead-letter type `{other}`; expected kafka or file"),
            )),
        }
    }
}

/// True for a dotted field path: non-empty segments without spaces or quotes.
fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('.')
            .all(|seg| !seg.is_empty() && !seg.contains(|c: char| c.is_whitespace() || c == '"'))
}

/// Replaces `${VAR}` by the environment variable's value. `$$` stands for `$`.
/// The error names the variable, never a value.
pub fn expand_env(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "unclosed `${` (write `$$` for a literal `$`)".to_string())?;
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not an environment variable reference"
                ));
            }
            let value = std::env::var(name)
                .map_err(|_| format!("the environment variable `{name}` is not set (it is referenced as `${{{name}}}`)"))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
