//! Bytes to [`Event`]: UTF-8 checks, field extraction in the configured
//! format (JSON, or one of the text formats of web servers and load
//! balancers), and the timestamp, status and latency roles.
//!
//! JSON has its own scanner ([`json`]); the text formats share [`text`],
//! each with a module that splits its lines (`nginx`, `apache`, `alb`,
//! `envoy`, `cloudfront`, `haproxy`, `logfmt`, `pattern`). A line that
//! cannot become an event is a [`Reject`] with a reason; it is counted and
//! dead-lettered by the caller, never fatal. [`sniff`] tells which format
//! would read a line.

mod alb;
mod apache;
mod cloudfront;
mod compact;
mod envoy;
mod haproxy;
mod json;
mod logfmt;
mod nginx;
mod order;
mod paths;
mod pattern;
mod sniff;
mod template;
mod text;
mod timestamp;

use std::fmt;

pub use json::{parse_number, unescape, ScanError};
pub use paths::PathTree;
pub use sniff::sniff;
pub use text::{compile, Column, Format, Spec};
pub use timestamp::parse_text as parse_timestamp;

use crate::config::{Config, TimestampFormat};
use crate::event::{Event, LatencyFault, Value, LATENCY_SLOT, STATUS_SLOT, TIMESTAMP_SLOT};
use crate::time;

/// Why an input line or message did not become an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    NotUtf8,
    NotJson,
    NotObject,
    NoTimestamp,
    BadTimestamp,
    TooLarge,
    /// Later than the allowed lateness of its window.
    TooLate,
    /// A message of the partials topic that cannot be read (rollup stage).
    BadPartial,
    /// A text line that does not have the shape of its format.
    BadLine,
    /// A header line of the format (CloudFront's `#Version`, `#Fields`):
    /// read for the columns it names, not an event.
    Header,
    /// A line of nothing but whitespace.
    Blank,
}

impl Reject {
    pub const ALL: [Reject; 11] = [
        Reject::NotUtf8,
        Reject::NotJson,
        Reject::NotObject,
        Reject::NoTimestamp,
        Reject::BadTimestamp,
        Reject::TooLarge,
        Reject::TooLate,
        Reject::BadPartial,
        Reject::BadLine,
        Reject::Header,
        Reject::Blank,
    ];

    /// The reason as it appears in summaries, metrics and dead letters.
    pub fn name(self) -> &'static str {
        match self {
            Reject::NotUtf8 => "not_utf8",
            Reject::NotJson => "not_json",
            Reject::NotObject => "not_object",
            Reject::NoTimestamp => "no_timestamp",
            Reject::BadTimestamp => "bad_timestamp",
            Reject::TooLarge => "too_large",
            Reject::TooLate => "too_late",
            Reject::BadPartial => "bad_partial",
            Reject::BadLine => "bad_line",
            Reject::Header => "header",
            Reject::Blank => "blank",
        }
    }

    /// Lines that are no input to look at: a format's header lines and blank
    /// lines are skipped and counted, not dead-lettered, and a setup is not
    /// judged by them.
    pub fn is_skipped(self) -> bool {
        matches!(self, Reject::Header | Reject::Blank)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Event times slipstream accepts: 1678-01-01 to 2262-01-01 UTC, the span
/// of `i64` nanoseconds less a margin, so that every window and objective
/// period around an event can still be written down.
pub const EVENT_TIME_RANGE: std::ops::Range<i64> =
    -9_214_560_000 * time::NANOS_PER_SEC..9_214_646_400 * time::NANOS_PER_SEC;

/// Decodes lines into events, per the `[decode]` section.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// The text format's decoder; `None` for JSON.
    text: Option<Box<text::TextDecoder>>,
    tree: PathTree,
    slots: usize,
    timestamp_format: TimestampFormat,
    latency_unit_ns: f64,
    max_latency_ns: f64,
    max_event_bytes: usize,
    times: timestamp::Parsers,
    order: order::KeyOrder,
}

impl Decoder {
    pub fn new(config: &Config) -> Decoder {
        let d = &config.decode;
        let mut tree = PathTree::default();
        tree.insert(&d.timestamp_field, TIMESTAMP_SLOT);
        tree.insert(&d.status_field, STATUS_SLOT);
        tree.insert(&d.latency_field, LATENCY_SLOT);
        for (slot, path) in config.fields.paths() {
            tree.insert(path, slot);
        }
        Decoder {
            text: (d.spec.format != Format::Json)
                .then(|| Box::new(text::TextDecoder::new(d, config.fields.paths()))),
            tree,
            slots: config.fields.len(),
            timestamp_format: d.timestamp_format.clone(),
            latency_unit_ns: d.latency_unit.nanos(),
            max_latency_ns: d.max_latency_ns,
            max_event_bytes: d.max_event_bytes,
            times: timestamp::Parsers::default(),
            order: order::KeyOrder::default(),
        }
    }

    /// Number of value slots an event needs.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Largest accepted event, in bytes.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// Decodes one line (without its newline) into `event`, whose `values`
    /// must have [`Decoder::slots`] entries; they are overwritten.
    pub fn decode<'a>(&mut self, line: &'a [u8], event: &mut Event<'a>) -> Result<(), Reject> {
        let text = self.text(line)?;
        event.clear();
        self.decode_text(text, event)
    }

    /// A line as text: not too large, and UTF-8.
    #[inline]
    pub fn text<'a>(&self, line: &'a [u8]) -> Result<&'a str, Reject> {
        if line.len() > self.max_event_bytes {
            return Err(Reject::TooLarge);
        }
        simdutf8::basic::from_utf8(line).map_err(|_| Reject::NotUtf8)
    }

    /// [`Decoder::decode`] for a line already known to be UTF-8, into an
    /// event whose values are all `None` (as [`Event::clear`] leaves them).
    pub fn decode_text<'a>(&mut self, text: &'a str, event: &mut Event<'a>) -> Result<(), Reject> {
        // Only a line that could not be read is looked at again for blanks.
        self.decode_line(text, event).map_err(|reason| {
            if reason != Reject::TooLarge && text.trim_ascii().is_empty() {
                Reject::Blank
            } else {
                reason
            }
        })
    }

    fn decode_line<'a>(&mut self, text: &'a str, event: &mut Event<'a>) -> Result<(), Reject> {
        if text.len() > self.max_event_bytes {
            return Err(Reject::TooLarge);
        }
        debug_assert!(event.values.iter().all(Option::is_none));
        event.latency_ns = None;
        if let Some(t) = &mut self.text {
            return t.decode(text, event);
        }
        let ts_raw = json::scan(text, &self.tree, &mut event.values, &mut self.order).map_err(
            |e| match e {
                ScanError::NotJson => Reject::NotJson,
                ScanError::NotObject => Reject::NotObject,
            },
        )?;
        event.time_ns = self.timestamp(event.values[TIMESTAMP_SLOT].as_ref(), ts_raw)?;
        event.values[TIMESTAMP_SLOT] = Some(Value::Num(event.time_ns as f64 / 1e9));
        (event.latency_ns, event.latency_fault) =
            roles(&mut event.values, self.latency_unit_ns, self.max_latency_ns);
        Ok(())
    }

    fn timestamp(
        &mut self,
        v: Option<&Value<'_>>,
        raw_number: Option<&str>,
    ) -> Result<i64, Reject> {
        let v = v.ok_or(Reject::NoTimestamp)?;
        let parsed = match (v, &self.timestamp_format) {
            (Value::Null, _) => return Err(Reject::NoTimestamp),
            (Value::Str(s), _) if s.is_empty() || s == "-" => return Err(Reject::NoTimestamp),
            (Value::Str(s), f) => timestamp::parse_text(f, s, &mut self.times),
            (Value::Num(_), TimestampFormat::Unix(unit)) => match raw_number {
                Some(raw) => timestamp::unix_text(raw, *unit),
                None => None,
            },
            _ => None,
        };
        parsed
            .filter(|t| EVENT_TIME_RANGE.contains(t))
            .ok_or(Reject::BadTimestamp)
    }
}

/// A status written as a string of digits (`"503"`), as its number; the
/// contract accepts that form of `status`, in events and in rules.
pub fn status_digits(s: &str) -> Option<f64> {
    ((1..=9).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())).then(|| parse_number(s))
}

/// The status and latency roles once a line's fields are in: a status
/// written as digits is a number; a latency written as a string is read as
/// a number (`"0.123"`), or as the sum of a list of numbers (nginx's
/// `"0.100, 0.004"` and `"0.100 : 0.004"`: the time spent in all the
/// upstreams tried); `-` and empty strings are missing. Returns the
/// latency in nanoseconds.
#[inline]
fn roles(
    values: &mut [Option<Value<'_>>],
    latency_unit_ns: f64,
    max_latency_ns: f64,
) -> (Option<u64>, Option<LatencyFault>) {
    let status = match &values[STATUS_SLOT] {
        Some(Value::Str(s)) => match status_digits(s) {
            Some(n) => Some(Some(Value::Num(n))),
            None if s.is_empty() || s == "-" => Some(None),
            None => None,
        },
        _ => None,
    };
    if let Some(v) = status {
        values[STATUS_SLOT] = v;
    }
    let latency = match &values[LATENCY_SLOT] {
        Some(Value::Str(s)) => match latency_text(s) {
            Some(n) => Some(Some(Value::Num(n))),
            None if s.is_empty() || s == "-" => Some(None),
            None => None,
        },
        _ => None,
    };
    if let Some(v) = latency {
        values[LATENCY_SLOT] = v;
    }
    let Some(Value::Num(v)) = values[LATENCY_SLOT] else {
        return (None, None);
    };
    let ns = v * latency_unit_ns;
    // `max_latency` is at most a year: far below what a u64 holds.
    if (0.0..=max_latency_ns).contains(&ns) {
        return (Some(ns.round() as u64), None);
    }
    values[LATENCY_SLOT] = None;
    let fault = if !ns.is_finite() {
        LatencyFault::NotFinite
    } else if ns < 0.0 {
        LatencyFault::Negative(v)
    } else {
        LatencyFault::AboveMax(v)
    };
    (None, Some(fault))
}

/// A latency written as text: one number, or a list of them separated by
/// `,` or `:` (summed); `-` items in a list are left out.
#[cold]
fn latency_text(s: &str) -> Option<f64> {
    if text::is_plain_number(s) {
        return Some(parse_number(s));
    }
    let mut sum = 0.0;
    let mut any = false;
    for part in s.split([',', ':']) {
        let part = part.trim();
        if part == "-" {
            continue;
        }
        if !text::is_plain_number(part) {
            return None;
        }
        sum += parse_number(part);
        any = true;
    }
    any.then_some(sum)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
