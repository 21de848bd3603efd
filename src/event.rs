//! The decoded event: a dense table of field values borrowed from the raw
//! bytes, addressed by slot numbers that the configuration hands out once at
//! start-up.
//!
//! The decoder fills an [`Event`]; rules read it by slot; the window stage reads
//! its time and latency. Slots 0, 1 and 2 are the roles `timestamp`, `status`
//! and `latency`; every other dotted path a rule names gets the next slot.

use std::borrow::Cow;

/// Slot of the `timestamp` role: seconds since the epoch, as a number.
pub const TIMESTAMP_SLOT: usize = 0;
/// Slot of the `status` role: a number (a string of digits is converted).
pub const STATUS_SLOT: usize = 1;
/// Slot of the `latency` role: a number in the configured `latency_unit`.
pub const LATENCY_SLOT: usize = 2;
/// Number of role slots before the first path slot.
pub const ROLE_SLOTS: usize = 3;

/// A status written as a string of digits (`"503"`), as its number; that
/// form of `status` is accepted in events and in rules.
pub fn status_digits(s: &str) -> Option<f64> {
    if !(1..=9).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(f64::from(
        s.bytes().fold(0u32, |n, b| n * 10 + u32::from(b - b'0')),
    ))
}

/// One JSON value as the rules see it. Strings borrow from the input unless
/// they held escapes. Objects and arrays are only known to exist.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    Object,
    Array,
}

impl Value<'_> {
    /// The name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Num(_) => "number",
            Value::Str(_) => "string",
            Value::Object => "object",
            Value::Array => "array",
        }
    }
}

/// The paths that the rules use, interned to slots. Roles are pre-registered
/// under their role names, so `status` in a rule means the status role
/// whatever JSON field it is mapped to.
#[derive(Debug, Clone)]
pub struct FieldTable {
    paths: Vec<String>,
}

impl Default for FieldTable {
    fn default() -> Self {
        FieldTable {
            paths: vec!["timestamp".into(), "status".into(), "latency".into()],
        }
    }
}

impl FieldTable {
    /// The slot for a dotted path, registering it on first use.
    pub fn slot(&mut self, path: &str) -> usize {
        if let Some(i) = self.paths.iter().position(|p| p == path) {
            return i;
        }
        self.paths.push(path.to_string());
        self.paths.len() - 1
    }

    /// The path (or role name) of a slot; `?` for a slot never handed out.
    pub fn path(&self, slot: usize) -> &str {
        self.paths.get(slot).map_or("?", String::as_str)
    }

    /// Number of slots, roles included.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Always false: the roles are always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The dotted paths of the non-role slots, with their slot numbers.
    pub fn paths(&self) -> impl Iterator<Item = (usize, &str)> {
        self.paths
            .iter()
            .enumerate()
            .skip(ROLE_SLOTS)
            .map(|(i, p)| (i, p.as_str()))
    }
}

/// A number in the latency field that is no latency, with the number (in
/// the latency unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyFault {
    Negative(f64),
    /// Too large to be a number at all (`1e400`).
    NotFinite,
    /// Above `[decode] max_latency`.
    AboveMax(f64),
}

impl LatencyFault {
    pub const COUNT: usize = 3;

    /// Which of the three it is, for counting.
    pub fn index(self) -> usize {
        match self {
            LatencyFault::Negative(_) => 0,
            LatencyFault::NotFinite => 1,
            LatencyFault::AboveMax(_) => 2,
        }
    }

    /// The fault in a few words, for a count of them.
    pub fn describe(self) -> &'static str {
        match self {
            LatencyFault::Negative(_) => "below 0",
            LatencyFault::NotFinite => "too large to be a number",
            LatencyFault::AboveMax(_) => "above max_latency",
        }
    }

    /// The number, as the event held it.
    pub fn value(self) -> String {
        match self {
            LatencyFault::Negative(v) | LatencyFault::AboveMax(v) if v.abs() >= 1e15 => {
                format!("{v:e}")
            }
            LatencyFault::Negative(v) | LatencyFault::AboveMax(v) => v.to_string(),
            LatencyFault::NotFinite => "inf".into(),
        }
    }
}

/// A decoded event: its time, its latency for the histograms, and every slot.
#[derive(Debug, Default)]
pub struct Event<'a> {
    /// Event time, nanoseconds since the epoch.
    pub time_ns: i64,
    /// Latency in nanoseconds, when the latency field held a number from 0
    /// to `max_latency`.
    pub latency_ns: Option<u64>,
    /// Why the latency field's number is no latency; the latency role is
    /// then missing, so latency rules judge the event invalid.
    pub latency_fault: Option<LatencyFault>,
    /// One entry per slot of the [`FieldTable`]; `None` when the field is missing.
    pub values: Vec<Option<Value<'a>>>,
}

impl<'a> Event<'a> {
    /// An empty event with room for `slots` values.
    pub fn with_slots(slots: usize) -> Self {
        Event {
            time_ns: 0,
            latency_ns: None,
            latency_fault: None,
            values: vec![None; slots],
        }
    }

    /// Forgets every value, keeping the allocation.
    pub fn clear(&mut self) {
        self.latency_ns = None;
        self.latency_fault = None;
        for v in &mut self.values {
            *v = None;
        }
    }
}
