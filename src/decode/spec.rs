//! A text format compiled from `[decode]`: its [`Format`], its columns by
//! name, how a line is split into them, and the fields its roles read by
//! default.

use super::settings::{LatencyUnit, TimestampFormat};
use super::template;

/// `[decode] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Nginx,
    Apache,
    Alb,
    Envoy,
    CloudFront,
    Haproxy,
    Logfmt,
    Regex,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Json,
        Format::Nginx,
        Format::Apache,
        Format::Alb,
        Format::Envoy,
        Format::CloudFront,
        Format::Haproxy,
        Format::Logfmt,
        Format::Regex,
    ];

    /// The name written in `[decode] format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Nginx => "nginx",
            Format::Apache => "apache",
            Format::Alb => "alb",
            Format::Envoy => "envoy",
            Format::CloudFront => "cloudfront",
            Format::Haproxy => "haproxy",
            Format::Logfmt => "logfmt",
            Format::Regex => "regex",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One column a text format exposes, by the name its documentation uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// How the column is read as a time when it is the timestamp role and
    /// `timestamp_format` is `auto`.
    pub time: Option<TimestampFormat>,
    /// `-1` means "not measured" (ALB processing times, HAProxy timers).
    pub minus_one_missing: bool,
    /// A status of zeros (`0`, `000`) or `-1` means no response was sent:
    /// the client left first (Envoy, CloudFront, HAProxy).
    pub zero_missing: bool,
}

impl Column {
    pub fn new(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            time: None,
            minus_one_missing: false,
            zero_missing: false,
        }
    }

    pub fn time(name: &str, kind: TimestampFormat) -> Column {
        Column {
            time: Some(kind),
            ..Column::new(name)
        }
    }

    pub fn timer(name: &str) -> Column {
        Column {
            minus_one_missing: true,
            ..Column::new(name)
        }
    }

    /// A response's status, missing where no response was sent.
    pub fn status(name: &str) -> Column {
        Column {
            minus_one_missing: true,
            zero_missing: true,
            ..Column::new(name)
        }
    }
}

/// How a format's lines are split into columns.
#[derive(Debug, Clone)]
pub enum Splitter {
    Json,
    /// nginx, Apache and Envoy: literal text and variables.
    Template(template::Template),
    Alb,
    CloudFront,
    Haproxy,
    Logfmt,
    Regex(regex::Regex),
}

/// A format compiled from `[decode]`: what `format`, `log_format` and
/// `pattern` say, checked once.
#[derive(Debug, Clone)]
pub struct Spec {
    pub format: Format,
    /// The columns by name; empty for logfmt, whose keys are whatever the
    /// lines hold.
    pub columns: Vec<Column>,
    pub splitter: Splitter,
    /// The fields the roles read when `[decode.fields]` does not say.
    pub timestamp: String,
    pub status: String,
    pub latency: String,
    pub latency_unit: LatencyUnit,
}

impl Spec {
    pub fn json() -> Spec {
        Spec {
            format: Format::Json,
            columns: Vec::new(),
            splitter: Splitter::Json,
            timestamp: "timestamp".into(),
            status: "status".into(),
            latency: "latency".into(),
            latency_unit: LatencyUnit::Millis,
        }
    }

    /// The column of a field name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}
