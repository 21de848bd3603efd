//! What the text formats share: the compiled [`Spec`] of a format (its
//! columns, how a line is split, the default roles), and [`TextDecoder`],
//! which fills an [`Event`] from one line of any of them.
//!
//! Each format's module only splits a line into columns and hands every
//! column's text to a [`Fill`]; the fill puts it in the slots that the rules
//! and roles asked for, borrowed from the line (a quoted value with
//! backslash escapes is the one case that allocates). `-` and empty values
//! are missing; a value written as a plain decimal number is a number, any
//! other is a string. The roles are then read as for JSON.

use std::borrow::Cow;

use super::timestamp;
use super::{alb, cloudfront, haproxy, logfmt, pattern, template, Reject, EVENT_TIME_RANGE};
use crate::config::{DecodeConfig, LatencyUnit, TimestampFormat};
use crate::event::{Event, Value, LATENCY_SLOT, STATUS_SLOT, TIMESTAMP_SLOT};
use crate::time::UnixUnit;

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
}

impl Column {
    pub fn new(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            time: None,
            minus_one_missing: false,
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

/// Compiles `[decode]`: the format, its `log_format` or `pattern`. The
/// error is a message and, where known, the byte offset in the given
/// string that it is about.
pub fn compile(
    format: Format,
    log_format: Option<&str>,
    pattern: Option<&str>,
) -> Result<Spec, (String, usize)> {
    match format {
        Format::Json => Ok(Spec::json()),
        Format::Nginx => super::nginx::spec(log_format),
        Format::Apache => super::apache::spec(log_format),
        Format::Envoy => super::envoy::spec(log_format),
        Format::Alb => Ok(alb::spec()),
        Format::CloudFront => Ok(cloudfront::spec()),
        Format::Haproxy => Ok(haproxy::spec()),
        Format::Logfmt => Ok(logfmt::spec()),
        Format::Regex => pattern::spec(pattern.unwrap_or_default()),
    }
}

/// Where one column's text goes.
#[derive(Debug, Clone, Default)]
pub(super) struct Target {
    /// The slots (roles and rule paths, the timestamp's excepted).
    slots: Vec<usize>,
    /// Part of the timestamp role: 1 for a whole time or a date, 2 for the
    /// time of a date and a time given apart.
    ts: u8,
    /// A term of a latency that is a sum of columns.
    sum: bool,
    minus_one_missing: bool,
}

impl Target {
    #[inline]
    fn is_used(&self) -> bool {
        !self.slots.is_empty() || self.ts != 0 || self.sum
    }
}

/// The per-line state that the format modules fill, column by column.
pub(super) struct Fill<'a, 'v> {
    targets: &'v [Target],
    values: &'v mut [Option<Value<'a>>],
    ts: [Option<&'a str>; 2],
    sum: f64,
    sum_terms: u8,
}

impl<'a> Fill<'a, '_> {
    /// Whether column `col` is wanted at all: formats skip the work of
    /// splitting a column nobody reads.
    #[inline]
    pub(super) fn wants(&self, col: usize) -> bool {
        self.targets.get(col).is_some_and(Target::is_used)
    }

    /// Column `col` holds `raw`, as written in the line; `quoted` when it
    /// came from between quotes, where backslash escapes are resolved.
    #[inline(always)]
    pub(super) fn put(&mut self, col: usize, raw: &'a str, quoted: bool) {
        if let Some(t) = self.targets.get(col) {
            if t.is_used() {
                self.put_used(col, raw, quoted);
            }
        }
    }

    fn put_used(&mut self, col: usize, raw: &'a str, quoted: bool) {
        let t = &self.targets[col];
        if is_missing(raw.as_bytes(), t.minus_one_missing) {
            return;
        }
        if t.ts != 0 {
            self.ts[usize::from(t.ts - 1)] = Some(raw);
        }
        if t.sum {
            match raw.parse::<f64>() {
                Ok(v) => {
                    self.sum += v;
                    self.sum_terms += 1;
                }
                Err(_) => self.sum = f64::NAN,
            }
        }
        if let Some((&last, rest)) = t.slots.split_last() {
            let text = if quoted && memchr::memchr(b'\\', raw.as_bytes()).is_some() {
                unescape(raw)
            } else {
                Cow::Borrowed(raw)
            };
            let v = typed(text);
            for &slot in rest {
                self.values[slot] = Some(v.clone());
            }
            self.values[last] = Some(v);
        }
    }
}

/// `-`, empty, or `-1` where that means "not measured": a missing value.
/// Compared byte by byte: a call to `memcmp` per field costs more.
#[inline]
fn is_missing(raw: &[u8], minus_one: bool) -> bool {
    match raw {
        [] | [b'-'] => true,
        [b'-', b'1'] => minus_one,
        _ => false,
    }
}

/// A text value as the rules see it: a plain decimal number is a number.
#[inline]
fn typed(text: Cow<'_, str>) -> Value<'_> {
    if is_plain_number(&text) {
        Value::Num(super::parse_number(&text))
    } else {
        Value::Str(text)
    }
}

/// `200`, `-3`, `0.123`: digits with at most one `.` inside, and an
/// optional leading `-`; not `1e3`, `+1`, `.5`, `0x1f` or `007`-like IDs
/// longer than 15 digits.
#[inline]
pub(super) fn is_plain_number(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    if b.is_empty() || b.len() > 16 || !b[0].is_ascii_digit() || !b[b.len() - 1].is_ascii_digit() {
        return false;
    }
    let mut dots = 0;
    for &c in b {
        if c == b'.' {
            dots += 1;
        } else if !c.is_ascii_digit() {
            return false;
        }
    }
    dots <= 1
}

/// Resolves the backslash escapes servers write in quoted values: `\"`,
/// `\\`, `\xHH` (nginx, Apache), `\n`, `\t`, `\r`. Anything else is kept.
pub(super) fn unescape(raw: &str) -> Cow<'_, str> {
    let b = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i + 1] {
            b'x' => match (
                b.get(i + 2).and_then(|&c| hex(c)),
                b.get(i + 3).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 4;
                    continue;
                }
                _ => out.push(b'\\'),
            },
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            c @ (b'"' | b'\\') => out.push(c),
            c => {
                out.push(b'\\');
                out.push(c);
            }
        }
        i += 2;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes the lines of one text format.
#[derive(Debug, Clone)]
pub(super) struct TextDecoder {
    spec: Spec,
    targets: Vec<Target>,
    /// logfmt: the wanted keys and their targets.
    keys: Vec<(String, usize)>,
    /// The time format of the timestamp role.
    ts_format: TimestampFormat,
    /// The timestamp role is a date column and a time column.
    ts_split: bool,
    /// How many columns a latency that is a sum adds up.
    latency_terms: u8,
    latency_unit_ns: f64,
    max_latency_ns: f64,
    times: timestamp::Parsers,
    /// nginx, Apache and Envoy: the format string, for the wanted columns.
    template: template::Plan,
    cloudfront: cloudfront::Header,
    locations: Option<regex::CaptureLocations>,
}

impl TextDecoder {
    /// The decoder of `d`'s format, filling the roles and the slots of
    /// `paths` (each rule path with its slot).
    pub(super) fn new<'p>(
        d: &DecodeConfig,
        paths: impl Iterator<Item = (usize, &'p str)>,
    ) -> TextDecoder {
        let spec = d.spec.clone();
        let mut keys: Vec<(String, usize)> = Vec::new();
        let mut targets: Vec<Target> = vec![Target::default(); spec.columns.len()];
        for (i, c) in spec.columns.iter().enumerate() {
            targets[i].minus_one_missing = c.minus_one_missing;
        }
        // The column of a name; logfmt learns its columns from the names.
        let mut column = |name: &str, targets: &mut Vec<Target>| -> Option<usize> {
            if spec.format != Format::Logfmt {
                return spec.column(name);
            }
            if let Some((_, c)) = keys.iter().find(|(k, _)| k == name) {
                return Some(*c);
            }
            targets.push(Target::default());
            keys.push((name.to_string(), targets.len() - 1));
            Some(targets.len() - 1)
        };
        let ts_parts: Vec<&str> = d.timestamp_field.split('+').collect();
        for (i, part) in ts_parts.iter().take(2).enumerate() {
            if let Some(c) = column(part, &mut targets) {
                targets[c].ts = i as u8 + 1;
            }
        }
        let ts_format = match (&d.timestamp_format, ts_parts.len()) {
            (TimestampFormat::Unix(UnixUnit::Auto), 1) => spec
                .column(ts_parts[0])
                .and_then(|c| spec.columns[c].time.clone())
                .unwrap_or(TimestampFormat::Unix(UnixUnit::Auto)),
            (f, _) => f.clone(),
        };
        if let Some(c) = column(&d.status_field, &mut targets) {
            targets[c].slots.push(STATUS_SLOT);
        }
        let terms: Vec<&str> = d.latency_field.split('+').collect();
        for term in &terms {
            if let Some(c) = column(term, &mut targets) {
                if terms.len() == 1 {
                    targets[c].slots.push(LATENCY_SLOT);
                } else {
                    targets[c].sum = true;
                }
            }
        }
        for (slot, path) in paths {
            if let Some(c) = column(path, &mut targets) {
                targets[c].slots.push(slot);
            }
        }
        let locations = match &spec.splitter {
            Splitter::Regex(re) => Some(re.capture_locations()),
            _ => None,
        };
        let template = match &spec.splitter {
            Splitter::Template(t) => t.plan(|c| targets.get(c).is_some_and(Target::is_used)),
            _ => template::Plan::default(),
        };
        TextDecoder {
            template,
            cloudfront: cloudfront::Header::new(&spec),
            spec,
            targets,
            keys,
            ts_format,
            ts_split: ts_parts.len() == 2,
            latency_terms: if terms.len() > 1 {
                terms.len() as u8
            } else {
                0
            },
            latency_unit_ns: d.latency_unit.nanos(),
            max_latency_ns: d.max_latency_ns,
            times: timestamp::Parsers::default(),
            locations,
        }
    }

    /// Decodes one line into `event`, whose values are all `None`.
    pub(super) fn decode<'a>(
        &mut self,
        line: &'a str,
        event: &mut Event<'a>,
    ) -> Result<(), Reject> {
        let line = line.trim_end_matches(['\r', ' ']);
        let mut fill = Fill {
            targets: &self.targets,
            values: &mut event.values,
            ts: [None, None],
            sum: 0.0,
            sum_terms: 0,
        };
        match &self.spec.splitter {
            Splitter::Json => return Err(Reject::BadLine),
            Splitter::Template(_) => self.template.split(line, &mut fill)?,
            Splitter::Alb => alb::split(line, &mut fill)?,
            Splitter::CloudFront => self.cloudfront.split(line, &mut fill)?,
            Splitter::Haproxy => haproxy::split(line, &mut fill)?,
            Splitter::Logfmt => logfmt::split(line, &self.keys, &mut fill)?,
            Splitter::Regex(re) => {
                let locs = self.locations.as_mut().ok_or(Reject::BadLine)?;
                pattern::split(re, locs, line, &mut fill)?
            }
        }
        let (ts, sum, sum_terms) = (fill.ts, fill.sum, fill.sum_terms);
        let time_ns = match ts {
            [Some(date), Some(t)] if self.ts_split => {
                timestamp::parse_date_and_time(date.as_bytes(), t.as_bytes())
            }
            [Some(s), None] if !self.ts_split => {
                timestamp::parse_text(&self.ts_format, s, &mut self.times)
            }
            _ => return Err(Reject::NoTimestamp),
        };
        event.time_ns = time_ns
            .filter(|t| EVENT_TIME_RANGE.contains(t))
            .ok_or(Reject::BadTimestamp)?;
        event.values[TIMESTAMP_SLOT] = Some(Value::Num(event.time_ns as f64 / 1e9));
        if sum_terms > 0 && sum_terms == self.latency_terms && sum.is_finite() {
            event.values[LATENCY_SLOT] = Some(Value::Num(sum));
        }
        (event.latency_ns, event.latency_fault) =
            super::roles(&mut event.values, self.latency_unit_ns, self.max_latency_ns);
        Ok(())
    }
}
