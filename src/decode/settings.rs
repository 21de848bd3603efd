//! What `[decode]` says once validated: the compiled format, the fields and
//! units of the roles, and the limits. The configuration builds it; every
//! decoder reads it.

use crate::time::UnixUnit;

/// `[decode]`.
#[derive(Debug, Clone)]
pub struct DecodeConfig {
    /// `format` (default `json`), with its `log_format` (nginx, apache,
    /// envoy: the server's own format string) or `pattern` (regex: named
    /// groups), compiled: the columns a line has and how to split it.
    pub spec: super::Spec,
    /// `log_format` as written, for `validate --effective`.
    pub log_format: Option<String>,
    /// `pattern` as written, for `validate --effective`.
    pub pattern: Option<String>,
    /// Lines or messages larger than this are rejected as `too_large`.
    pub max_event_bytes: usize,
    /// `max_latency` (default 1h), in nanoseconds: a latency above it, below
    /// zero or not finite makes the event invalid for latency rules.
    pub max_latency_ns: f64,
    /// The field of the timestamp role; the format's own by default
    /// (`timestamp` for JSON and logfmt, `time_local` for nginx...). Two
    /// fields joined by `+` are a date and a time given apart
    /// (CloudFront's `date+time`).
    pub timestamp_field: String,
    /// How the timestamp is written: `auto` (default), `rfc3339`, `clf`,
    /// `unix_s`, `unix_ms`, `unix_us`, `unix_ns`, or a strftime string
    /// (`%d/%b/%Y:%H:%M:%S %z`).
    pub timestamp_format: TimestampFormat,
    /// `timezone`: the zone of times written without an offset (HAProxy's
    /// `accept_date`, a strftime format without `%z`, ISO 8601 without a
    /// zone); UTC when not given. Times with an offset keep theirs.
    pub timezone: Option<chrono_tz::Tz>,
    /// The field of the status role; `status` by default, or the format's own.
    pub status_field: String,
    /// The field of the latency role; `latency` by default, or the format's
    /// own. In text formats, fields joined by `+` are summed (ALB's default).
    pub latency_field: String,
    /// The unit of the latency field: `s`, `ms` (JSON's default), `us`,
    /// `ns`; the format's own by default (nginx `s`, Envoy `ms`...).
    pub latency_unit: LatencyUnit,
}

/// `decode.fields.timestamp_format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampFormat {
    /// RFC 3339 and the ISO 8601 forms around it (`+0900`, no zone = UTC).
    Rfc3339,
    /// A Unix number in a unit; `Auto` also reads every text form.
    Unix(UnixUnit),
    /// Common Log Format, `10/Oct/2026:13:55:36 +0900`.
    Clf,
    /// A strftime format (chrono's syntax).
    Strftime(String),
}

impl TimestampFormat {
    /// The value as `decode.fields.timestamp_format` takes it.
    pub fn name(&self) -> &str {
        match self {
            TimestampFormat::Rfc3339 => "rfc3339",
            TimestampFormat::Clf => "clf",
            TimestampFormat::Unix(UnixUnit::Auto) => "auto",
            TimestampFormat::Unix(UnixUnit::Seconds) => "unix_s",
            TimestampFormat::Unix(UnixUnit::Millis) => "unix_ms",
            TimestampFormat::Unix(UnixUnit::Micros) => "unix_us",
            TimestampFormat::Unix(UnixUnit::Nanos) => "unix_ns",
            TimestampFormat::Strftime(f) => f,
        }
    }
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
