//! logfmt: `key=value` pairs separated by spaces, values optionally between
//! quotes with backslash escapes (`msg="no route" status=503 latency=12.5`).
//! A field is named by its key; a key without `=` is ignored.
//!
//! A line may start with a header that carries its time, as Heroku's router
//! logs do: an RFC 5424 syslog header (`<158>1 2026-12-04T01:02:03.456+00:00
//! host heroku router - at=info ...`, from a log drain) or a first word in
//! RFC 3339 (`2026-12-04T01:02:03.456+00:00 heroku[router]: at=info ...`,
//! as `heroku logs` prints them). That time is the field `timestamp`,
//! unless the line has a `timestamp=` pair of its own.

use super::fill::Fill;
use super::settings::LatencyUnit;
use super::spec::{Format, Spec, Splitter};
use super::LineReject;

pub fn spec() -> Spec {
    Spec {
        format: Format::Logfmt,
        columns: Vec::new(),
        splitter: Splitter::Logfmt,
        timestamp: "timestamp".into(),
        status: "status".into(),
        latency: "latency".into(),
        latency_unit: LatencyUnit::Millis,
    }
}

/// Reads the pairs of one line; `keys` are the wanted keys and their columns.
pub(super) fn split<'a>(
    line: &'a str,
    keys: &[(String, usize)],
    fill: &mut Fill<'a, '_>,
) -> Result<(), LineReject> {
    let (time, body) = header(line);
    if let Some(time) = time {
        if let Some((_, col)) = keys.iter().find(|(k, _)| k == HEADER_TIME) {
            fill.put(*col, time, false);
        }
    }
    let mut pairs = 0;
    for pair in Pairs::new(body) {
        let (key, value, quoted) = pair?;
        pairs += 1;
        if let Some((_, col)) = keys.iter().find(|(k, _)| k == key) {
            fill.put(*col, value, quoted);
        }
    }
    if pairs == 0 {
        return Err(LineReject::BadLine);
    }
    Ok(())
}

/// The field a header's time is read as.
const HEADER_TIME: &str = "timestamp";

/// A header's time, if the line starts with one (see the module's
/// documentation), and the rest of the line.
fn header(line: &str) -> (Option<&str>, &str) {
    // Every header starts with `<` or a digit; most logfmt lines with a key.
    if !matches!(line.as_bytes().first(), Some(b'<' | b'0'..=b'9')) {
        return (None, line);
    }
    // An octet count before the header, as HTTPS drains frame each line.
    let framed = line
        .split_once(' ')
        .filter(|(n, rest)| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with('<')
        })
        .map_or(line, |(_, rest)| rest);
    if let Some(rest) = super::syslog::after_version(framed) {
        // `<PRI>1 TIMESTAMP ...`; `-` when the sender had no clock.
        let time = rest.split(' ').next().filter(|&t| t != "-");
        let body = match super::syslog::rfc5424_header(framed) {
            Some(end) => &framed[end..],
            // Heroku's drains leave the structured data out: the message
            // follows the message id.
            None => rest.splitn(6, ' ').nth(5).unwrap_or(""),
        };
        return (time, body);
    }
    let first = line.split([' ', '\t']).next().unwrap_or("");
    if first.len() >= 20 && !first.contains('=') && crate::time::parse_rfc3339_str(first).is_some()
    {
        return (Some(first), &line[first.len()..]);
    }
    (None, line)
}

/// The keys of one line, in order, or `None` when it is not logfmt: what
/// "did you mean" offers for a field that no line holds.
pub fn keys(line: &str) -> Option<Vec<&str>> {
    let (time, body) = header(line);
    let mut keys: Vec<&str> = time.map(|_| HEADER_TIME).into_iter().collect();
    for pair in Pairs::new(body) {
        let key = pair.ok()?.0;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    (keys.len() > usize::from(time.is_some())).then_some(keys)
}

/// The `key=value` pairs of a line: the key, the value (without its
/// quotes, escapes left in) and whether it was quoted.
struct Pairs<'a> {
    line: &'a str,
    i: usize,
}

impl<'a> Pairs<'a> {
    fn new(line: &'a str) -> Pairs<'a> {
        Pairs { line, i: 0 }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a str, &'a str, bool), LineReject>;

    fn next(&mut self) -> Option<Self::Item> {
        let (line, b) = (self.line, self.line.as_bytes());
        let i = &mut self.i;
        loop {
            while *i < b.len() && matches!(b[*i], b' ' | b'\t') {
                *i += 1;
            }
            if *i >= b.len() {
                return None;
            }
            let start = *i;
            while *i < b.len() && !matches!(b[*i], b'=' | b' ' | b'\t') {
                *i += 1;
            }
            let key = &line[start..*i];
            if b.get(*i) != Some(&b'=') {
                continue;
            }
            *i += 1;
            let (value, quoted) = if b.get(*i) == Some(&b'"') {
                let vs = *i + 1;
                *i = vs;
                loop {
                    match b.get(*i) {
                        None => return Some(Err(LineReject::BadLine)),
                        Some(b'\\') => *i += 2,
                        Some(b'"') => break,
                        Some(_) => *i += 1,
                    }
                }
                let Some(v) = line.get(vs..*i) else {
                    return Some(Err(LineReject::BadLine));
                };
                *i += 1;
                (v, true)
            } else {
                let vs = *i;
                while *i < b.len() && !matches!(b[*i], b' ' | b'\t') {
                    *i += 1;
                }
                (&line[vs..*i], false)
            };
            if key.is_empty() {
                *i = b.len();
                return Some(Err(LineReject::BadLine));
            }
            return Some(Ok((key, value, quoted)));
        }
    }
}
