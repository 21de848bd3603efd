//! What an [`crate::engine::Engine`] notes about its input to judge the
//! setup afterwards, at almost no cost per event:
//!
//! - the field names of the first [`FIELD_SAMPLE_LINES`] lines (read only
//!   for the names, and only from JSON objects);
//! - which of the rules' fields held a value, in the first
//!   [`SLOT_SAMPLE_EVENTS`] events and in one event of every
//!   [`SLOT_SAMPLE_EVERY`] after them;
//! - per SLI, why its first invalid event was invalid (invalid events are
//!   the rare case; a valid one costs nothing);
//! - the first line it rejected.

use std::collections::BTreeSet;

use crate::event::{LatencyFault, Value, LATENCY_SLOT};
use crate::reject::LineReject;
use crate::rules::Undecided;

/// Lines whose field names are gathered, per engine.
pub const FIELD_SAMPLE_LINES: u64 = 1000;
/// Events whose rule fields are all checked, per engine, before sampling.
pub const SLOT_SAMPLE_EVENTS: u64 = 10_000;
/// After the first events, one event in this many is checked.
pub const SLOT_SAMPLE_EVERY: u64 = 64;
/// At most this many field names are kept.
const MAX_FIELDS: usize = 512;
/// Longest example kept, in characters.
const MAX_EXAMPLE_CHARS: usize = 160;

/// The value that made an SLI's `good` rule undecided, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidExample {
    /// The slot of the field, and the type its comparison needed.
    pub undecided: Undecided,
    /// The value the field held, written as in JSON (`"0.123"`, `12`,
    /// `null`), and its type; `None` when the field was missing.
    pub held: Option<(String, &'static str)>,
    /// The latency's number was no latency (the role was then missing).
    pub fault: Option<LatencyFault>,
}

/// What one engine noticed; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    lines: u64,
    events: u64,
    /// Events whose slots were checked.
    pub sampled_events: u64,
    /// Per slot: a checked event held a value there.
    pub seen: Vec<bool>,
    /// Dotted field names of the first lines (JSON), or their keys (logfmt).
    pub fields: BTreeSet<String>,
    /// The lines are logfmt.
    logfmt: bool,
    /// Per SLI: why its first invalid event was invalid.
    pub invalid: Vec<Option<InvalidExample>>,
    /// The first rejected line, why, and its text cut to a readable length.
    /// The first rejected line (cut), its reason and the format the whole
    /// line looks like.
    pub first_rejected: Option<(LineReject, String, Option<&'static str>)>,
    /// Header lines of the format (CloudFront's `#Fields`) and blank lines:
    /// not rejections.
    skipped: u64,
    /// Per kind of [`LatencyFault`]: how many events had it, and the first.
    pub latency_faults: [(u64, Option<LatencyFault>); LatencyFault::COUNT],
}

impl Probe {
    /// A probe of `slots` fields and `slis` SLIs; `logfmt` when the lines
    /// are logfmt, whose keys are gathered as JSON lines' fields are.
    pub fn new(slots: usize, slis: usize, logfmt: bool) -> Probe {
        Probe {
            logfmt,
            seen: vec![false; slots],
            invalid: vec![None; slis],
            ..Probe::default()
        }
    }

    /// Called for every line before it is decoded.
    #[inline]
    pub fn line(&mut self, line: &str) {
        if self.lines < FIELD_SAMPLE_LINES {
            self.gather_fields(line);
        }
        self.lines += 1;
    }

    /// Called for every decoded event with its slot values.
    #[inline]
    pub fn event(&mut self, values: &[Option<Value<'_>>]) {
        let n = self.events;
        self.events += 1;
        if n < SLOT_SAMPLE_EVENTS || n % SLOT_SAMPLE_EVERY == 0 {
            self.note_slots(values);
        }
    }

    /// Called for a rejected line.
    #[inline]
    pub fn rejected(&mut self, line: &str, reason: LineReject) {
        if self.first_rejected.is_none() {
            self.first_rejected = Some((reason, cut(line), super::sniff_format(line)));
        }
    }

    /// Called for a line that is skipped: a header line of the format, or a
    /// blank line.
    #[inline]
    pub fn skipped(&mut self) {
        self.skipped += 1;
    }

    /// Header and blank lines seen.
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
    }

    /// Lines seen (UTF-8 lines that reached the decoder).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Lines that became events.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether SLI `sli` still needs an example of an invalid event.
    #[inline]
    pub fn wants_invalid(&self, sli: usize) -> bool {
        matches!(self.invalid.get(sli), Some(None))
    }

    /// Keeps why SLI `sli`'s rule could not decide over `values`.
    #[cold]
    pub fn invalid(
        &mut self,
        sli: usize,
        undecided: Option<Undecided>,
        values: &[Option<Value<'_>>],
        fault: Option<LatencyFault>,
    ) {
        let (Some(undecided), Some(slot)) = (undecided, self.invalid.get_mut(sli)) else {
            return;
        };
        let held = values
            .get(undecided.slot)
            .and_then(Option::as_ref)
            .map(|v| (show(v), v.type_name()));
        let fault = fault.filter(|_| undecided.slot == LATENCY_SLOT);
        *slot = Some(InvalidExample {
            undecided,
            held,
            fault,
        });
    }

    /// Notes an event whose latency field held a number that is no latency.
    #[cold]
    pub fn latency_fault(&mut self, fault: LatencyFault) {
        let (n, first) = &mut self.latency_faults[fault.index()];
        *n += 1;
        first.get_or_insert(fault);
    }

    /// Folds another engine's notes into these.
    pub fn merge(&mut self, o: &Probe) {
        self.lines += o.lines;
        self.skipped += o.skipped;
        self.events += o.events;
        self.sampled_events += o.sampled_events;
        for ((n, first), (m, other)) in self.latency_faults.iter_mut().zip(&o.latency_faults) {
            *n += m;
            if first.is_none() {
                *first = *other;
            }
        }
        if self.seen.len() < o.seen.len() {
            self.seen.resize(o.seen.len(), false);
        }
        for (a, b) in self.seen.iter_mut().zip(&o.seen) {
            *a |= *b;
        }
        for f in &o.fields {
            if self.fields.len() >= MAX_FIELDS {
                break;
            }
            self.fields.insert(f.clone());
        }
        if self.invalid.len() < o.invalid.len() {
            self.invalid.resize(o.invalid.len(), None);
        }
        for (a, b) in self.invalid.iter_mut().zip(&o.invalid) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        if self.first_rejected.is_none() {
            self.first_rejected.clone_from(&o.first_rejected);
        }
    }

    #[cold]
    fn note_slots(&mut self, values: &[Option<Value<'_>>]) {
        self.sampled_events += 1;
        for (seen, v) in self.seen.iter_mut().zip(values) {
            *seen |= v.is_some();
        }
    }

    #[cold]
    fn gather_fields(&mut self, line: &str) {
        if self.fields.len() >= MAX_FIELDS {
            return;
        }
        if self.logfmt {
            for key in crate::decode::logfmt_keys(line).unwrap_or_default() {
                if self.fields.len() < MAX_FIELDS {
                    self.fields.insert(key.to_string());
                }
            }
        } else if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(line) {
            add_fields(&mut self.fields, "", &map, 0);
        }
    }
}

/// Adds the dotted names of an object's fields, nested objects included
/// (down to a few levels).
fn add_fields(
    out: &mut BTreeSet<String>,
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
) {
    for (k, v) in map {
        if out.len() >= MAX_FIELDS {
            return;
        }
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::Object(inner) if depth < 4 => {
                add_fields(out, &name, inner, depth + 1)
            }
            _ => {
                out.insert(name);
            }
        }
    }
}

/// A value as JSON would write it, cut to a readable length.
fn show(v: &Value<'_>) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Num(n) => n.to_string(),
        Value::Str(s) => serde_json::to_string(&cut(s)).unwrap_or_else(|_| format!("{s:?}")),
        Value::Object => "{...}".into(),
        Value::Array => "[...]".into(),
    }
}

/// `s` cut to [`MAX_EXAMPLE_CHARS`] characters, with `...` when cut.
pub fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_EXAMPLE_CHARS) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}
