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
    let b = line.as_bytes();
    let mut i = 0;
    let mut pairs = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !matches!(b[i], b'=' | b' ' | b'\t') {
            i += 1;
        }
        let key = &line[start..i];
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        let (value, quoted) = if b.get(i) == Some(&b'"') {
            let vs = i + 1;
            i = vs;
            loop {
                match b.get(i) {
                    None => return Err(LineReject::BadLine),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            let v = line.get(vs..i).ok_or(LineReject::BadLine)?;
            i += 1;
            (v, true)
        } else {
            let vs = i;
            while i < b.len() && !matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            (&line[vs..i], false)
        };
        if key.is_empty() {
            return Err(LineReject::BadLine);
        }
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
