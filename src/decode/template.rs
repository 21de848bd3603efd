//! A server's own log format string, compiled: literal text and variables,
//! as nginx's `log_format`, Apache's `LogFormat` and Envoy's format strings
//! all are. A line is read left to right: each literal must be there, and a
//! variable runs up to the first place where the next literal follows.
//! Between quotes a backslash escapes the next byte (nginx writes `\x22`,
//! Apache `\"`), and a quote that is not followed by the rest of the
//! literal belongs to the value (Envoy does not escape quotes).

use memchr::{memchr, memchr2};

use super::text::Fill;
use super::Reject;

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Lit(String),
    Var {
        col: usize,
        /// `$request`, `%r`: the columns of its method, URI and protocol.
        request: Option<[usize; 3]>,
    },
}

/// A compiled format string.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    items: Vec<Item>,
}

impl Template {
    pub fn lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        match self.items.last_mut() {
            Some(Item::Lit(l)) => l.push_str(s),
            _ => self.items.push(Item::Lit(s.to_string())),
        }
    }

    /// Adds a variable; `Err` when it directly follows another one, as
    /// nothing would tell where the first ends.
    pub fn var(&mut self, col: usize, request: Option<[usize; 3]>) -> Result<(), String> {
        if let Some(Item::Var { .. }) = self.items.last() {
            return Err(
                "two variables with nothing between them cannot be told apart in a line; \
                 put a space or other text between them"
                    .into(),
            );
        }
        self.items.push(Item::Var { col, request });
        Ok(())
    }

    /// Reads one line into `fill`.
    #[inline]
    pub(super) fn split<'a>(&self, line: &'a str, fill: &mut Fill<'a, '_>) -> Result<(), Reject> {
        let mut pos = 0;
        let mut quoted = false;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Lit(l) => {
                    if !has_at(line.as_bytes(), pos, l.as_bytes()) {
                        return Err(Reject::BadLine);
                    }
                    pos += l.len();
                    quoted = l.as_bytes().last() == Some(&b'"');
                }
                Item::Var { col, request } => {
                    let end = match self.items.get(i + 1) {
                        Some(Item::Lit(next)) => find_end(line.as_bytes(), pos, next, quoted)?,
                        _ => line.len(),
                    };
                    let raw = line.get(pos..end).ok_or(Reject::BadLine)?;
                    fill.put(*col, raw, quoted);
                    if let Some(cols) = request {
                        if cols.iter().any(|&c| fill.wants(c)) {
                            let parts = split_request(raw);
                            for (c, part) in cols.iter().zip(parts) {
                                if let Some(p) = part {
                                    fill.put(*c, p, quoted);
                                }
                            }
                        }
                    }
                    pos = end;
                }
            }
        }
        if pos == line.len() {
            Ok(())
        } else {
            Err(Reject::BadLine)
        }
    }
}

/// Where a variable that starts at `from` ends: the first place where
/// `next` follows, skipping escaped bytes when `quoted`.
#[inline]
fn find_end(b: &[u8], from: usize, next: &str, quoted: bool) -> Result<usize, Reject> {
    let nb = next.as_bytes();
    let first = nb[0];
    let mut i = from;
    while i < b.len() {
        let rest = &b[i..];
        let off = if quoted && first != b'\\' {
            memchr2(first, b'\\', rest)
        } else {
            memchr(first, rest)
        }
        .ok_or(Reject::BadLine)?;
        let at = i + off;
        if b[at] == b'\\' && first != b'\\' {
            i = at + 2;
            continue;
        }
        if has_at(b, at, nb) {
            return Ok(at);
        }
        i = at + 1;
    }
    Err(Reject::BadLine)
}

/// Whether `lit` is in `b` at `at`, byte by byte: literals are a few bytes,
/// shorter than a call to `memcmp` is worth.
#[inline(always)]
fn has_at(b: &[u8], at: usize, lit: &[u8]) -> bool {
    match b.get(at..at + lit.len()) {
        Some(part) => part.iter().zip(lit).all(|(x, y)| x == y),
        None => false,
    }
}

/// A request line `GET /path?q HTTP/1.1` as method, URI and protocol; an
/// HTTP/0.9 line has no protocol, and a line without a space is only a
/// method (junk sent to a web port, usually).
pub(super) fn split_request(raw: &str) -> [Option<&str>; 3] {
    let b = raw.as_bytes();
    match (memchr(b' ', b), memchr::memrchr(b' ', b)) {
        (Some(a), Some(z)) if a < z => [Some(&raw[..a]), Some(&raw[a + 1..z]), Some(&raw[z + 1..])],
        (Some(a), _) => [Some(&raw[..a]), Some(&raw[a + 1..]), None],
        _ => [Some(raw), None, None],
    }
}
