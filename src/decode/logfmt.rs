//! logfmt: `key=value` pairs separated by spaces, values optionally between
//! quotes with backslash escapes (`msg="no route" status=503 latency=12.5`).
//! A field is named by its key; a key without `=` is ignored.

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
    let mut pairs = 0;
    for pair in Pairs::new(line) {
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

/// The keys of one line, in order, or `None` when it is not logfmt: what
/// "did you mean" offers for a field that no line holds.
pub fn keys(line: &str) -> Option<Vec<&str>> {
    let keys: Vec<&str> = Pairs::new(line)
        .map(|p| p.map(|(k, _, _)| k))
        .collect::<Result<_, _>>()
        .ok()?;
    (!keys.is_empty()).then_some(keys)
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
