//! `slipstream explain`: the first lines of an input as the engine sees
//! them — what was decoded (time in UTC, status, latency, the fields the
//! rules read) and, for every SLI, whether its filter matched and why the
//! event is good, bad or invalid. The first thing to run on one's own logs.
//!
//! It uses the same [`Decoder`] and compiled rules as `run` and `backfill`,
//! so what it says is what they count.

use std::io::{self, BufRead, Write};

use crate::config::Config;
use crate::decode::Decoder;
use crate::event::{Event, Value, LATENCY_SLOT, STATUS_SLOT, TIMESTAMP_SLOT};
use crate::reject::LineReject;
use crate::rules::Rule;
use crate::time::format_rfc3339;

/// How one SLI judged one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The filter did not hold: the event is not the SLI's.
    Skipped,
    Good,
    Bad,
    /// The good rule could not be decided (a field missing or of another type).
    Invalid,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Skipped => "-",
            Verdict::Good => "good",
            Verdict::Bad => "bad",
            Verdict::Invalid => "invalid",
        }
    }
}

/// What the lines explained added up to.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub lines: u64,
    pub blank: u64,
    pub rejected: Vec<(LineReject, u64)>,
    /// Per SLI, in configuration order: good, bad, invalid.
    pub slis: Vec<[u64; 3]>,
}

/// Explains up to `max_lines` lines of `input` (named `name` in messages)
/// on `out`, and returns the tally.
pub fn explain(
    config: &Config,
    input: &mut dyn BufRead,
    max_lines: usize,
    out: &mut dyn Write,
) -> io::Result<Tally> {
    let mut decoder = Decoder::new(&config.decode, &config.fields);
    let mut tally = Tally {
        slis: vec![[0; 3]; config.slis.len()],
        ..Tally::default()
    };
    let width = config.slis.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut raw = Vec::new();
    let mut line_no = 0u64;
    while (tally.lines as usize) < max_lines {
        raw.clear();
        if input.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        line_no += 1;
        let line = trim_newline(&raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            tally.blank += 1;
            writeln!(
                out,
                "line {line_no}: blank, skipped (backfill and run count it as `blank`)"
            )?;
            continue;
        }
        tally.lines += 1;
        let mut event = Event::with_slots(decoder.slots());
        match decoder.decode(line, &mut event) {
            Err(reason) => {
                match tally.rejected.iter_mut().find(|(r, _)| *r == reason) {
                    Some((_, n)) => *n += 1,
                    None => tally.rejected.push((reason, 1)),
                }
                writeln!(out, "line {line_no}: rejected ({reason})")?;
                writeln!(out, "  {}", preview(line))?;
                writeln!(out, "  {}", rejection_hint(config, reason, &event))?;
                if let Some(hint) = format_hint(config, line) {
                    writeln!(out, "  {hint}")?;
                }
            }
            Ok(()) => {
                describe_event(config, line_no, &event, out)?;
                for (i, sli) in config.slis.iter().enumerate() {
                    let (verdict, why) = judge(config, sli.filter.as_ref(), &sli.good, &event);
                    if let Some(k) = match verdict {
                        Verdict::Good => Some(0),
                        Verdict::Bad => Some(1),
                        Verdict::Invalid => Some(2),
                        Verdict::Skipped => None,
                    } {
                        tally.slis[i][k] += 1;
                    }
                    writeln!(out, "  {:width$}  {:7}  {why}", sli.name, verdict.name())?;
                }
            }
        }
    }
    write_tally(config, &tally, out)?;
    Ok(tally)
}

fn trim_newline(raw: &[u8]) -> &[u8] {
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The first 120 characters of a line, as text where it is text.
fn preview(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut cut: String = text.chars().take(120).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

fn rejection_hint(config: &Config, reason: LineReject, event: &Event<'_>) -> String {
    let d = &config.decode;
    match reason {
        LineReject::NoTimestamp => format!(
            "no timestamp: the field `{}` is missing; name the field that holds the time in [decode.fields] timestamp",
            d.timestamp_field
        ),
        LineReject::BadTimestamp => match event.values.get(TIMESTAMP_SLOT).and_then(Option::as_ref) {
            Some(v) => format!(
                "the timestamp field `{}` holds {}, which is not a time this configuration reads; check [decode.fields] timestamp_format",
                d.timestamp_field,
                show(v)
            ),
            None => format!(
                "the timestamp field `{}` is not a time this configuration reads; check [decode.fields] timestamp_format",
                d.timestamp_field
            ),
        },
        LineReject::TooLarge => format!(
            "longer than decode.max_event_bytes ({} bytes)",
            d.max_event_bytes
        ),
        LineReject::NotUtf8 => "not UTF-8 text".to_string(),
        LineReject::Header => {
            "a header line of the format (CloudFront's `#Fields`), not an event: counted, never dead-lettered".to_string()
        }
        other => {
            use crate::decode::Format;
            let check = match d.spec.format {
                Format::Nginx | Format::Apache | Format::Envoy => {
                    "check the format and its log_format, which must be the server's own"
                }
                Format::Regex => "check [decode] pattern against the line",
                _ => "check [decode] format",
            };
            format!("the line is not what [decode] format expects ({other}); {check}")
        }
    }
}

/// For a line of another format than the configured one: which format
/// would read it.
fn format_hint(config: &Config, line: &[u8]) -> Option<String> {
    let configured = config.decode.spec.format.name();
    let sniffed = crate::decode::sniff(std::str::from_utf8(line).ok()?)?;
    (sniffed != configured).then(|| {
        format!(
            "this line looks like the `{sniffed}` format, and [decode] format is `{configured}`: set format = \"{sniffed}\" (see docs/formats.md)"
        )
    })
}

fn describe_event(
    config: &Config,
    line_no: u64,
    event: &Event<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let get = |slot: usize| event.values.get(slot).and_then(Option::as_ref);
    let status = get(STATUS_SLOT).map_or("(missing)".to_string(), show);
    let latency = match (event.latency_ns, get(LATENCY_SLOT)) {
        (Some(ns), _) => format!("{} ms", trim_float(ns as f64 / 1e6)),
        (None, Some(v)) => format!("{} (not a latency)", show(v)),
        (None, None) => "(missing)".to_string(),
    };
    writeln!(
        out,
        "line {line_no}: {}  status {status}  latency {latency}",
        format_rfc3339(event.time_ns)
    )?;
    let fields: Vec<String> = config
        .fields
        .paths()
        .map(|(slot, path)| format!("{path} = {}", get(slot).map_or("(missing)".into(), show)))
        .collect();
    if !fields.is_empty() {
        writeln!(out, "  {}", fields.join("   "))?;
    }
    Ok(())
}

/// An SLI's verdict on one event, with the reason in words.
pub fn judge(
    config: &Config,
    filter: Option<&Rule>,
    good: &Rule,
    event: &Event<'_>,
) -> (Verdict, String) {
    let mut why = String::new();
    if let Some(f) = filter {
        match f.eval(&event.values) {
            Some(true) => why.push_str("filter matched; "),
            Some(false) => {
                return (
                    Verdict::Skipped,
                    format!("filter `{f}` is false: {}", reads(config, f, event, false)),
                )
            }
            None => {
                return (
                    Verdict::Skipped,
                    format!(
                        "filter `{f}` cannot be decided, so it does not match: {}",
                        reads(config, f, event, true)
                    ),
                )
            }
        }
    }
    let (verdict, word) = match good.eval(&event.values) {
        Some(true) => (Verdict::Good, "holds"),
        Some(false) => (Verdict::Bad, "is false"),
        None => (Verdict::Invalid, "cannot be decided"),
    };
    why.push_str(&format!(
        "good `{good}` {word}: {}",
        reads(config, good, event, verdict == Verdict::Invalid)
    ));
    (verdict, why)
}

/// The values a rule reads, `status = 503, latency missing`; with `typed`,
/// each value's type too, for a rule that could not decide.
fn reads(config: &Config, rule: &Rule, event: &Event<'_>, typed: bool) -> String {
    let parts: Vec<String> = rule
        .slots()
        .into_iter()
        .map(|slot| {
            let name = config.fields.path(slot);
            match event.values.get(slot).and_then(Option::as_ref) {
                Some(v) if typed => format!("{name} = {}, {}", show(v), a_type(v)),
                // Rules compare the latency in its unit: say which.
                Some(Value::Num(n)) if slot == LATENCY_SLOT => format!(
                    "{name} = {} {}",
                    trim_float(*n),
                    config.decode.latency_unit.name()
                ),
                Some(v) => format!("{name} = {}", show(v)),
                None => format!("{name} missing"),
            }
        })
        .collect();
    if parts.is_empty() {
        "it reads no field".to_string()
    } else {
        parts.join(", ")
    }
}

/// A value as a rule sees it: numbers bare, strings quoted, with their type
/// where it is not a number.
fn show(v: &Value<'_>) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Num(n) => trim_float(*n),
        Value::Str(s) => format!("{s:?}"),
        Value::Object => "an object".to_string(),
        Value::Array => "an array".to_string(),
    }
}

/// A value's type with its article, for messages: `a string`.
fn a_type(v: &Value<'_>) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Num(_) => "a number",
        Value::Str(_) => "a string",
        Value::Object => "an object",
        Value::Array => "an array",
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn write_tally(config: &Config, tally: &Tally, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    let rejected: u64 = tally.rejected.iter().map(|(_, n)| n).sum();
    write!(
        out,
        "{} line(s) explained: {} decoded, {rejected} rejected",
        tally.lines,
        tally.lines - rejected
    )?;
    for (reason, n) in &tally.rejected {
        write!(out, ", {n} {reason}")?;
    }
    if tally.blank > 0 {
        write!(out, "; {} blank line(s) skipped", tally.blank)?;
    }
    writeln!(out)?;
    for (sli, [good, bad, invalid]) in config.slis.iter().zip(&tally.slis) {
        let matched = good + bad + invalid;
        writeln!(
            out,
            "  {}: matched {matched} — {good} good, {bad} bad, {invalid} invalid",
            sli.name
        )?;
    }
    Ok(())
}
