//! Bytes to [`Event`]: UTF-8 checks, field extraction in the configured
//! format (JSON, or one of the text formats of web servers and load
//! balancers), and the timestamp, status and latency roles.
//!
//! JSON has its own scanner ([`json`]); the text formats share [`text`],
//! each with a module that splits its lines (`nginx`, `apache`, `alb`,
//! `envoy`, `cloudfront`, `haproxy`, `logfmt`, `pattern`). A line that
//! cannot become an event is a [`LineReject`] with a reason; it is counted and
//! dead-lettered by the caller, never fatal. [`sniff`] tells which format
//! would read a line.

mod alb;
mod apache;
mod cloudfront;
mod compact;
mod digits;
mod envoy;
mod fill;
mod haproxy;
mod json;
mod logfmt;
mod nginx;
mod order;
mod paths;
mod pattern;
mod settings;
mod shape;
mod sniff;
mod spec;
mod syslog;
mod template;
mod text;
mod timestamp;

pub use json::{parse_number, unescape, ScanError};
pub use logfmt::keys as logfmt_keys;
pub use paths::PathTree;
pub use settings::{DecodeConfig, LatencyUnit, TimestampFormat};
pub use sniff::sniff;
pub use spec::{Column, Format, Spec};
pub use text::compile;
pub use timestamp::parse_text as parse_timestamp;

use crate::event::{
    status_digits, Event, FieldTable, LatencyFault, Value, LATENCY_SLOT, STATUS_SLOT,
    TIMESTAMP_SLOT,
};
use crate::reject::LineReject;
use crate::time;

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
    /// The decoder of `d`, filling the roles and every field of `fields`.
    pub fn new(d: &DecodeConfig, fields: &FieldTable) -> Decoder {
        let mut tree = PathTree::default();
        tree.insert(&d.timestamp_field, TIMESTAMP_SLOT);
        tree.insert(&d.status_field, STATUS_SLOT);
        tree.insert(&d.latency_field, LATENCY_SLOT);
        for (slot, path) in fields.paths() {
            tree.insert(path, slot);
        }
        Decoder {
            text: (d.spec.format != Format::Json)
                .then(|| Box::new(text::TextDecoder::new(d, fields.paths()))),
            tree,
            slots: fields.len(),
            timestamp_format: d.timestamp_format.clone(),
            latency_unit_ns: d.latency_unit.nanos(),
            max_latency_ns: d.max_latency_ns,
            max_event_bytes: d.max_event_bytes,
            times: timestamp::Parsers::new(d.timezone),
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
    pub fn decode<'a>(&mut self, line: &'a [u8], event: &mut Event<'a>) -> Result<(), LineReject> {
        let text = self.text(line)?;
        event.clear();
        self.decode_text(text, event)
    }

    /// A line as text: not too large, and UTF-8.
    #[inline]
    /// Starts an input (a file of a backfill) whose leading `#` lines are
    /// `preamble`: a format whose columns its header sets (CloudFront)
    /// takes them from there, wherever in the input the next lines are.
    pub fn start_input(&mut self, preamble: &[u8]) {
        if let (Some(text), Ok(preamble)) = (self.text.as_mut(), std::str::from_utf8(preamble)) {
            text.start_input(preamble);
        }
    }

    pub fn text<'a>(&self, line: &'a [u8]) -> Result<&'a str, LineReject> {
        if line.len() > self.max_event_bytes {
            return Err(LineReject::TooLarge);
        }
        simdutf8::basic::from_utf8(line).map_err(|_| LineReject::NotUtf8)
    }

    /// [`Decoder::decode`] for a line already known to be UTF-8, into an
    /// event whose values are all `None` (as [`Event::clear`] leaves them).
    pub fn decode_text<'a>(
        &mut self,
        text: &'a str,
        event: &mut Event<'a>,
    ) -> Result<(), LineReject> {
        // Only a line that could not be read is looked at again for blanks.
        self.decode_line(text, event).map_err(|reason| {
            if reason != LineReject::TooLarge && text.trim_ascii().is_empty() {
                LineReject::Blank
            } else {
                reason
            }
        })
    }

    fn decode_line<'a>(&mut self, text: &'a str, event: &mut Event<'a>) -> Result<(), LineReject> {
        if text.len() > self.max_event_bytes {
            return Err(LineReject::TooLarge);
        }
        debug_assert!(event.values.iter().all(Option::is_none));
        event.latency_ns = None;
        if let Some(t) = &mut self.text {
            return t.decode(text, event);
        }
        let ts_raw = json::scan(text, &self.tree, &mut event.values, &mut self.order).map_err(
            |e| match e {
                ScanError::NotJson => LineReject::NotJson,
                ScanError::NotObject => LineReject::NotObject,
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
        raw_number: Option<json::NumberText<'_>>,
    ) -> Result<i64, LineReject> {
        let v = v.ok_or(LineReject::NoTimestamp)?;
        let parsed = match (v, &self.timestamp_format) {
            (Value::Null, _) => return Err(LineReject::NoTimestamp),
            (Value::Str(s), _) if s.is_empty() || s == "-" => return Err(LineReject::NoTimestamp),
            (Value::Str(s), f) => timestamp::parse_text(f, s, &mut self.times),
            (Value::Num(_), TimestampFormat::Unix(unit)) => match raw_number {
                Some(json::NumberText {
                    integer: Some(int), ..
                }) => time::from_unix_int(int, *unit),
                Some(number) => timestamp::unix_text(number.raw, *unit),
                None => None,
            },
            _ => None,
        };
        parsed
            .filter(|t| EVENT_TIME_RANGE.contains(t))
            .ok_or(LineReject::BadTimestamp)
    }
}

/// The status and latency roles once a line's fields are in: a status
/// written as digits is a number; a latency written as a string is read as
/// a number (`"0.123"`), or as the sum of a list of numbers (nginx's
/// `"0.100, 0.004"` and `"0.100 : 0.004"`: the time spent in all the
/// upstreams tried); `-` and empty strings are missing. Returns the
/// latency in nanoseconds. Inlined, so that what it returns stays in
/// registers.
#[inline(always)]
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
            // A duration with its unit is that long whatever latency_unit
            // says; the rules read it in latency_unit like any latency.
            None => duration_ns(s).map(|ns| Some(Value::Num(ns / latency_unit_ns))),
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
    if let Some(n) = number_text(s) {
        return Some(n);
    }
    let mut sum = 0.0;
    let mut any = false;
    for part in s.split([',', ':']) {
        let part = part.trim();
        if part == "-" {
            continue;
        }
        sum += number_text(part)?;
        any = true;
    }
    any.then_some(sum)
}

/// A number written as text where a number is expected: `0.123`, and the
/// forms a program prints floats in (`1e3`, `1.5E-4`, `+2`, `.5`); not
/// `inf` or `NaN`.
fn number_text(s: &str) -> Option<f64> {
    if fill::is_plain_number(s) {
        return Some(parse_number(s));
    }
    let numeric = |c: u8| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-');
    if !s.bytes().any(|c| c.is_ascii_digit()) || !s.bytes().all(numeric) {
        return None;
    }
    s.parse().ok()
}

/// A duration written with its units, in nanoseconds: `45ms`, `0.123456s`
/// (Google Cloud's `httpRequest.latency`), `1.5s`, `250us` or `250µs`, and
/// Go's `time.Duration` text (`1m2.5s`, `1h0m0.001s`). `None` for anything
/// else, a bare number included.
#[cold]
fn duration_ns(s: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 8] = [
        ("ns", 1.0),
        ("us", 1e3),
        ("\u{b5}s", 1e3),
        ("\u{3bc}s", 1e3),
        ("ms", 1e6),
        ("s", 1e9),
        ("m", 60e9),
        ("h", 3600e9),
    ];
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let (number, after) = rest.split_at(digits);
        if !fill::is_plain_number(number) {
            return None;
        }
        let (unit, scale) = UNITS.iter().find(|(u, _)| after.starts_with(u))?;
        total += parse_number(number) * scale;
        rest = &after[unit.len()..];
    }
    Some(total)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
