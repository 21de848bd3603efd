//! A server's own log format string, compiled: literal text and variables,
//! as nginx's `log_format`, Apache's `LogFormat` and Envoy's format strings
//! all are. A line is read left to right: each literal must be there, and a
//! variable runs up to the first place where the next literal follows.
//! Between quotes a backslash escapes the next byte (nginx writes `\x22`,
//! Apache `\"`), and a quote that is not followed by the rest of the
//! literal belongs to the value (Envoy does not escape quotes).

use memchr::{memchr, memchr2};

use super::fill::Fill;
use super::LineReject;

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Lit(String),
    Var {
        col: usize,
        /// `$request`, `%r`: the columns of its method, URI and protocol.
        request: Option<[usize; 3]>,
        /// The value may be a list with `, ` and ` : ` between its items.
        list: bool,
        /// The value holds this many runs of spaces (a time written as
        /// `%d/%b/%Y %T`): the next literal is looked for after them.
        spaces: u8,
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
        self.items.push(Item::Var {
            col,
            request,
            list: false,
            spaces: 0,
        });
        Ok(())
    }

    /// Says that the variable added last holds `n` spaces.
    pub fn spaces(&mut self, n: u8) {
        if let Some(Item::Var { spaces, .. }) = self.items.last_mut() {
            *spaces = n;
        }
    }

    /// Marks the variable added last as a list: nginx writes `$upstream_*`
    /// as `0.100, 0.004` when several upstreams were tried (and ` : ` between
    /// the groups of an internal redirect), spaces and all, even unquoted.
    pub fn list(&mut self) {
        if let Some(Item::Var { list, .. }) = self.items.last_mut() {
            *list = true;
        }
    }

    /// The template for a decoder that reads the columns `wants` says:
    /// each variable with the literal after it, the others' columns
    /// dropped, so a line is read without looking anything up.
    pub(super) fn plan(&self, wants: impl Fn(usize) -> bool) -> Plan {
        let mut lead = Vec::new();
        let mut steps: Vec<Step> = Vec::new();
        let mut quoted = false;
        for item in &self.items {
            match item {
                Item::Lit(l) => {
                    match steps.last_mut() {
                        Some(step) => step.next = l.as_bytes().into(),
                        None => lead = l.as_bytes().to_vec(),
                    }
                    quoted = l.ends_with('"');
                }
                Item::Var {
                    col,
                    request,
                    list,
                    spaces,
                } => steps.push(Step {
                    col: wants(*col).then_some(*col),
                    request: request.filter(|cols| cols.iter().any(|&c| wants(c))),
                    quoted,
                    list: *list,
                    spaces: *spaces,
                    next: Box::default(),
                }),
            }
        }
        Plan {
            lead: lead.into(),
            steps: steps.into(),
        }
    }
}

/// A [`Template`] compiled for one decoder (see [`Template::plan`]).
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    /// The literal the line starts with.
    lead: Box<[u8]>,
    steps: Box<[Step]>,
}

#[derive(Debug, Clone)]
struct Step {
    /// The variable's column, when it is read.
    col: Option<usize>,
    /// `$request`, `%r`: the columns of its method, URI and protocol, when
    /// one of them is read.
    request: Option<[usize; 3]>,
    /// The literal before the variable ends with a quote.
    quoted: bool,
    /// See [`Template::list`].
    list: bool,
    /// See [`Template::spaces`].
    spaces: u8,
    /// The literal after the variable; empty when it runs to the end.
    next: Box<[u8]>,
}

impl Plan {
    /// Reads one line into `fill`.
    #[inline]
    pub(super) fn split<'a>(
        &self,
        line: &'a str,
        fill: &mut Fill<'a, '_>,
    ) -> Result<(), LineReject> {
        let b = line.as_bytes();
        if !has_at(b, 0, &self.lead) {
            return Err(LineReject::BadLine);
        }
        let mut pos = self.lead.len();
        for step in self.steps.iter() {
            let (end, escaped) = if step.next.is_empty() {
                (b.len(), step.quoted)
            } else if step.list {
                find_list_end(b, pos, &step.next, step.quoted)?
            } else if step.spaces > 0 {
                find_end(
                    b,
                    past_spaces(b, pos, step.spaces)?,
                    &step.next,
                    step.quoted,
                )?
            } else {
                find_end(b, pos, &step.next, step.quoted)?
            };
            if step.col.is_some() || step.request.is_some() {
                let raw = line.get(pos..end).ok_or(LineReject::BadLine)?;
                if let Some(col) = step.col {
                    fill.put(col, raw, escaped);
                }
                if let Some(cols) = step.request {
                    for (c, part) in cols.iter().zip(split_request(raw)) {
                        if let Some(p) = part {
                            fill.put(*c, p, escaped);
                        }
                    }
                }
            }
            pos = end + step.next.len();
        }
        if pos == b.len() {
            Ok(())
        } else {
            Err(LineReject::BadLine)
        }
    }
}

/// Where a variable that starts at `from` ends: the first place where
/// `next` follows, skipping escaped bytes when `quoted`; and whether an
/// escape was skipped (the value needs unescaping).
///
/// Most values are a few bytes (a status, a size, a time): the first bytes
/// are looked at one by one, and `memchr` takes over for longer ones.
#[inline]
fn find_end(b: &[u8], from: usize, nb: &[u8], quoted: bool) -> Result<(usize, bool), LineReject> {
    const SHORT: usize = 16;
    let first = nb[0];
    let escapes = quoted && first != b'\\';
    let mut escaped = false;
    let mut i = from;
    let short_end = b.len().min(from + SHORT);
    while i < short_end {
        let c = b[i];
        if c == b'\\' && escapes {
            escaped = true;
            i += 2;
            continue;
        }
        if c == first && has_at(b, i, nb) {
            return Ok((i, escaped));
        }
        i += 1;
    }
    while i < b.len() {
        let rest = &b[i..];
        let off = if escapes {
            memchr2(first, b'\\', rest)
        } else {
            memchr(first, rest)
        }
        .ok_or(LineReject::BadLine)?;
        let at = i + off;
        if b[at] == b'\\' && escapes {
            escaped = true;
            i = at + 2;
            continue;
        }
        if has_at(b, at, nb) {
            return Ok((at, escaped));
        }
        i = at + 1;
    }
    Err(LineReject::BadLine)
}

/// Where the value that starts at `from` is past its `n` runs of spaces:
/// a space-padded day or hour (`%e`, `%k`) writes two where the format
/// has one.
#[cold]
fn past_spaces(b: &[u8], from: usize, n: u8) -> Result<usize, LineReject> {
    let mut at = from;
    for _ in 0..n {
        at += memchr(b' ', &b[at..]).ok_or(LineReject::BadLine)?;
        while b.get(at) == Some(&b' ') {
            at += 1;
        }
    }
    Ok(at)
}

/// [`find_end`] for a list value: a place inside one of its separators
/// (`, `, ` : `) is not its end.
#[cold]
fn find_list_end(
    b: &[u8],
    from: usize,
    nb: &[u8],
    quoted: bool,
) -> Result<(usize, bool), LineReject> {
    let mut i = from;
    let mut any_escape = false;
    loop {
        let (at, escaped) = find_end(b, i, nb, quoted)?;
        any_escape |= escaped;
        let inside = (at > from && matches!(b[at - 1], b',' | b':')) || has_at(b, at, b" : ");
        if !inside {
            return Ok((at, any_escape));
        }
        i = at + 1;
    }
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
