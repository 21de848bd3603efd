//! The per-line state of the text formats: each format's module splits a
//! line into columns and hands every column's text to a [`Fill`], which puts
//! it in the slots that the rules and roles asked for, borrowed from the
//! line (a quoted value with backslash escapes is the one case that
//! allocates). `-` and empty values are missing; a value written as a plain
//! decimal number is a number, any other is a string.

use std::borrow::Cow;

use crate::event::Value;

/// Where one column's text goes.
#[derive(Debug, Clone, Default)]
pub(super) struct Target {
    /// The slots (roles and rule paths, the timestamp's excepted).
    pub(super) slots: Vec<usize>,
    /// Part of the timestamp role: 1 for a whole time or a date, 2 for the
    /// time of a date and a time given apart.
    pub(super) ts: u8,
    /// A term of a latency that is a sum of columns.
    pub(super) sum: bool,
    pub(super) minus_one_missing: bool,
    pub(super) zero_missing: bool,
}

impl Target {
    #[inline]
    pub(super) fn is_used(&self) -> bool {
        !self.slots.is_empty() || self.ts != 0 || self.sum
    }
}

/// The per-line state that the format modules fill, column by column.
pub(super) struct Fill<'a, 'v> {
    pub(super) targets: &'v [Target],
    pub(super) values: &'v mut [Option<Value<'a>>],
    pub(super) ts: [Option<&'a str>; 2],
    pub(super) sum: f64,
    pub(super) sum_terms: u8,
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
        if is_missing(raw.as_bytes(), t.minus_one_missing, t.zero_missing) {
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
fn is_missing(raw: &[u8], minus_one: bool, zeros: bool) -> bool {
    match raw {
        [] | [b'-'] => true,
        [b'-', b'1'] => minus_one,
        _ => zeros && raw.iter().all(|&b| b == b'0'),
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
