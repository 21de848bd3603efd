//! Bytes to [`Event`]: UTF-8 and JSON checks, field extraction, and the
//! timestamp, status and latency roles.
//!
//! A line that cannot become an event is a [`Reject`] with a reason; it is
//! counted and dead-lettered by the caller, never fatal.

mod compact;
mod json;
mod order;
mod paths;

use std::fmt;

pub use json::{parse_number, unescape, ScanError};
pub use paths::PathTree;

use crate::config::{Config, TimestampFormat};
use crate::event::{Event, Value, LATENCY_SLOT, STATUS_SLOT, TIMESTAMP_SLOT};
use crate::time::{self, UnixUnit};

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
}

impl Reject {
    pub const ALL: [Reject; 8] = [
        Reject::NotUtf8,
        Reject::NotJson,
        Reject::NotObject,
        Reject::NoTimestamp,
        Reject::BadTimestamp,
        Reject::TooLarge,
        Reject::TooLate,
        Reject::BadPartial,
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
        }
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

/// Decodes JSON lines into events, per the `[decode]` section.
#[derive(Debug, Clone)]
pub struct Decoder {
    tree: PathTree,
    slots: usize,
    timestamp_format: TimestampFormat,
    latency_unit_ns: f64,
    max_event_bytes: usize,
    rfc3339: time::Rfc3339Parser,
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
            tree,
            slots: config.fields.len(),
            timestamp_format: d.timestamp_format,
            latency_unit_ns: d.latency_unit.nanos(),
            max_event_bytes: d.max_event_bytes,
            rfc3339: time::Rfc3339Parser::default(),
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
        if text.len() > self.max_event_bytes {
            return Err(Reject::TooLarge);
        }
        debug_assert!(event.values.iter().all(Option::is_none));
        event.latency_ns = None;
        let ts_raw = json::scan(text, &self.tree, &mut event.values, &mut self.order).map_err(
            |e| match e {
                ScanError::NotJson => Reject::NotJson,
                ScanError::NotObject => Reject::NotObject,
            },
        )?;
        event.time_ns = self.timestamp(event.values[TIMESTAMP_SLOT].as_ref(), ts_raw)?;
        event.values[TIMESTAMP_SLOT] = Some(Value::Num(event.time_ns as f64 / 1e9));
        if let Some(Value::Str(s)) = &event.values[STATUS_SLOT] {
            if let Some(n) = status_digits(s) {
                event.values[STATUS_SLOT] = Some(Value::Num(n));
            }
        }
        if let Some(Value::Num(v)) = event.values[LATENCY_SLOT] {
            let ns = v * self.latency_unit_ns;
            if (0.0..1.8e19).contains(&ns) {
                event.latency_ns = Some(ns.round() as u64);
            }
        }
        Ok(())
    }

    fn timestamp(
        &mut self,
        v: Option<&Value<'_>>,
        raw_number: Option<&str>,
    ) -> Result<i64, Reject> {
        let v = v.ok_or(Reject::NoTimestamp)?;
        let parsed = match (v, self.timestamp_format) {
            (Value::Null, _) => return Err(Reject::NoTimestamp),
            (Value::Str(s), TimestampFormat::Rfc3339 | TimestampFormat::Unix(UnixUnit::Auto)) => {
                self.rfc3339.parse(s.as_bytes())
            }
            (Value::Str(s), TimestampFormat::Unix(unit)) => unix_text(s, unit),
            (Value::Num(_), TimestampFormat::Unix(unit)) => match raw_number {
                Some(raw) => unix_text(raw, unit),
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

/// A Unix timestamp written as text: integers and plain decimals exactly
/// (`1795773600.25` is 250 ms past the second, not a float's neighbour),
/// anything else (exponents) as a float.
fn unix_text(s: &str, unit: UnixUnit) -> Option<i64> {
    if let Ok(i) = s.parse::<i64>() {
        return time::from_unix_int(i, unit);
    }
    if let Some((int, frac)) = s.split_once('.') {
        if let (Ok(i), true) = (int.parse::<i64>(), frac.bytes().all(|b| b.is_ascii_digit())) {
            let whole = time::from_unix_int(i, unit)?;
            // Nanoseconds per unit of the integer part, found from the whole part.
            let per_unit = if i == 0 { 0 } else { whole / i };
            let mut frac_ns: i64 = 0;
            let mut scale = per_unit;
            for d in frac.bytes().take(18) {
                scale /= 10;
                frac_ns += i64::from(d - b'0') * scale;
            }
            let signed = if int.starts_with('-') {
                -frac_ns
            } else {
                frac_ns
            };
            if per_unit != 0 {
                return whole.checked_add(signed);
            }
        }
    }
    let f: f64 = s.parse().ok()?;
    time::from_unix(f, unit)
}

#[cfg(test)]
mod tests;
