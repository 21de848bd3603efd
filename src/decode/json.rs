//! A validating JSON scanner that extracts only the wanted keys.
//!
//! It walks one JSON object, checks that the whole text is JSON, and copies
//! the values of the keys in the [`PathTree`] into event slots, borrowing
//! strings from the input. Everything else is skipped without building any
//! value. This is the hot path of slipstream: it allocates only for a wanted
//! string that contains escapes.

use std::borrow::Cow;

use memchr::memchr2;

use super::order::KeyOrder;
use super::paths::PathTree;
use crate::event::{Value, TIMESTAMP_SLOT};

/// Why a text is not a usable JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    NotJson,
    NotObject,
}

/// Nesting deeper than this is treated as not JSON rather than risking the stack.
pub(super) const MAX_DEPTH: usize = 128;

/// A number as the scanner read it: its text, and its value as an integer
/// when it is one written plainly (`-`, then at most 15 digits), which its
/// `f64` holds exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberText<'a> {
    pub raw: &'a str,
    pub integer: Option<i64>,
}

impl<'a> NumberText<'a> {
    /// `raw`, read as `value`.
    fn new(raw: &'a str, value: f64) -> NumberText<'a> {
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        let plain = digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit());
        NumberText {
            raw,
            integer: plain.then_some(value as i64),
        }
    }
}

/// Scans `text` as one JSON object and fills the slots that `tree` names;
/// `order` remembers the keys' order from one compact line to the next.
/// Returns a numeric timestamp as it was written, which is re-read from its
/// text unless it is a plain integer (nanosecond timestamps exceed f64
/// precision).
pub fn scan<'a>(
    text: &'a str,
    tree: &PathTree,
    values: &mut [Option<Value<'a>>],
    order: &mut KeyOrder,
) -> Result<Option<NumberText<'a>>, ScanError> {
    let mut sc = Scanner::new(text);
    if sc.compact(tree, values, order).is_some() {
        return Ok(sc.ts_raw);
    }
    order.forget();
    // Anything but compact JSON, or an error: read again, the general way.
    values.iter_mut().for_each(|v| *v = None);
    let mut sc = Scanner::new(text);
    sc.ws();
    if sc.peek() != Some(b'{') {
        // Tell "valid JSON, but not an object" from "not JSON at all".
        sc.skip_value(0)?;
        sc.ws();
        return Err(if sc.i == sc.s.len() {
            ScanError::NotObject
        } else {
            ScanError::NotJson
        });
    }
    sc.object(tree, 0, values, 0)?;
    sc.ws();
    if sc.i != sc.s.len() {
        return Err(ScanError::NotJson);
    }
    Ok(sc.ts_raw)
}

pub(super) struct Scanner<'a> {
    pub(super) text: &'a str,
    pub(super) s: &'a [u8],
    pub(super) i: usize,
    pub(super) ts_raw: Option<NumberText<'a>>,
    /// The last number the general path read, stored with its value so
    /// that a numeric timestamp keeps how it was written.
    pub(super) last_number: NumberText<'a>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text,
            s: text.as_bytes(),
            i: 0,
            ts_raw: None,
            last_number: NumberText::default(),
        }
    }

    #[inline(always)]
    pub(super) fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Puts a wanted value into its slots; a numeric timestamp also keeps
    /// `number`, the number as it was read.
    #[inline(always)]
    pub(super) fn store(
        &mut self,
        slots: &[usize],
        v: Value<'a>,
        number: NumberText<'a>,
        values: &mut [Option<Value<'a>>],
    ) {
        if let Some((first, rest)) = slots.split_first() {
            for &slot in rest {
                values[slot] = Some(v.clone());
            }
            if *first == TIMESTAMP_SLOT || rest.contains(&TIMESTAMP_SLOT) {
                if let Value::Num(_) = v {
                    self.ts_raw = Some(number);
                }
            }
            values[*first] = Some(v);
        }
    }

    #[inline(always)]
    fn ws(&mut self) {
        // Compact JSON has no whitespace: one check settles the usual case.
        if !matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            return;
        }
        while let Some(&c) = self.s.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Result<(), ScanError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(ScanError::NotJson)
        }
    }

    /// Reads a string at the opening quote; returns the content's byte range
    /// and whether it holds escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<(usize, usize, bool), ScanError> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            let off = find_quote_or_backslash(&self.s[self.i..]).ok_or(ScanError::NotJson)?;
            self.i += off;
            if self.s[self.i] == b'"' {
                let end = self.i;
                self.i += 1;
                return Ok((start, end, escaped));
            }
            escaped = true;
            match self.s.get(self.i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                Some(b'u') => {
                    let hex = self
                        .s
                        .get(self.i + 2..self.i + 6)
                        .ok_or(ScanError::NotJson)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(ScanError::NotJson);
                    }
                    self.i += 6;
                }
                _ => return Err(ScanError::NotJson),
            }
        }
    }

    /// Checks a number's syntax and returns its byte range.
    #[inline]
    fn number(&mut self) -> Result<(usize, usize), ScanError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(ScanError::NotJson),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(ScanError::NotJson);
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(ScanError::NotJson);
            }
            self.digits();
        }
        Ok((start, self.i))
    }

    #[inline]
    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<(), ScanError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(ScanError::NotJson)
        }
    }

    /// Reads an object at `{`, descending into wanted keys of `node`.
    fn object(
        &mut self,
        tree: &PathTree,
        node: usize,
        values: &mut [Option<Value<'a>>],
        depth: usize,
    ) -> Result<(), ScanError> {
        if depth >= MAX_DEPTH {
            return Err(ScanError::NotJson);
        }
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let (ks, ke, kesc) = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let n = &tree.nodes[node];
            let entry = if kesc {
                let key = unescape(&self.text[ks..ke]);
                n.get(key.as_bytes())
            } else {
                n.get_with_prefix(
                    super::paths::prefix_at(self.s, ks, ke - ks),
                    &self.s[ks..ke],
                )
            };
            match entry {
                Some(e) => {
                    let v = self.value(tree, e.child, values, depth + 1)?;
                    self.store(&e.slots, v, self.last_number, values);
                }
                None => self.skip_value(depth + 1)?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(ScanError::NotJson),
            }
        }
    }
}

impl<'a> Scanner<'a> {
    /// Reads a wanted value; an object descends into `child` when given.
    #[inline]
    fn value(
        &mut self,
        tree: &PathTree,
        child: Option<usize>,
        values: &mut [Option<Value<'a>>],
        depth: usize,
    ) -> Result<Value<'a>, ScanError> {
        match self.peek() {
            Some(b'"') => {
                let (s, e, esc) = self.string()?;
                let raw = &self.text[s..e];
                Ok(Value::Str(if esc {
                    unescape(raw)
                } else {
                    Cow::Borrowed(raw)
                }))
            }
            Some(b'{') => {
                match child {
                    Some(c) => self.object(tree, c, values, depth)?,
                    None => self.skip_value(depth)?,
                }
                Ok(Value::Object)
            }
            Some(b'[') => {
                self.skip_value(depth)?;
                Ok(Value::Array)
            }
            Some(b't') => self.literal(b"true").map(|_| Value::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|_| Value::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|_| Value::Null),
            _ => {
                let (s, e) = self.number()?;
                let raw = &self.text[s..e];
                let value = parse_number(raw);
                self.last_number = NumberText::new(raw, value);
                Ok(Value::Num(value))
            }
        }
    }

    /// Skips any value, checking its syntax.
    fn skip_value(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth >= MAX_DEPTH {
            return Err(ScanError::NotJson);
        }
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(ScanError::NotJson),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(ScanError::NotJson),
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}

/// Position of the first `"` or `\\` in `s`: the end of a string or its
/// next escape.
#[inline(always)]
pub(super) fn find_quote_or_backslash(s: &[u8]) -> Option<usize> {
    // Keys and most values are short: a few 16-byte steps settle them
    // without memchr's set-up; long strings go to memchr's wider loop.
    let short = s.len().min(128);
    match find_short(&s[..short]) {
        Some(i) => Some(i),
        None => memchr2(b'"', b'\\', &s[short..]).map(|i| short + i),
    }
}

/// [`find_quote_or_backslash`] sixteen bytes at a time with SSE2.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn find_short(s: &[u8]) -> Option<usize> {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let quote = set_splat_i8_m128i(b'"' as i8);
    let backslash = set_splat_i8_m128i(b'\\' as i8);
    // Bit k set when byte k of the block is a quote or a backslash.
    let hits = |block: &[u8; 16]| {
        let v = load_unaligned_m128i(block);
        move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, quote) | cmp_eq_mask_i8_m128i(v, backslash))
            as u32
    };
    let mut i = 0;
    while let Some(block) = s[i..].first_chunk::<16>() {
        let m = hits(block);
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    if i == s.len() {
        return None;
    }
    match s.last_chunk::<16>() {
        // The last bytes in one block that overlaps bytes already searched.
        Some(block) => {
            let m = hits(block) >> (i + 16 - s.len());
            (m != 0).then(|| i + m.trailing_zeros() as usize)
        }
        None => find_swar(&s[i..]).map(|p| i + p),
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn find_short(s: &[u8]) -> Option<usize> {
    find_swar(s)
}

/// [`find_quote_or_backslash`] eight bytes at a time in a word (the classic
/// "has zero byte" bit trick on `word ^ pattern`).
#[inline]
pub(super) fn find_swar(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(bytes) = s[i..].first_chunk::<8>() {
        let w = u64::from_le_bytes(*bytes);
        let q = w ^ (LO * u64::from(b'"'));
        let b = w ^ (LO * u64::from(b'\\'));
        let hit = (q.wrapping_sub(LO) & !q | b.wrapping_sub(LO) & !b) & HI;
        if hit != 0 {
            // The lowest flagged byte is exact; borrows only flag bytes above it.
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| i + p)
}

/// The powers of ten that are exact doubles, for Clinger's fast path.
pub(super) const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Parses a JSON number already checked by the scanner. Integers and plain
/// decimals of up to 15 significant digits take an exact fast path: both the
/// digits (as an integer) and the power of ten are exact doubles, so one
/// correctly rounded division gives the correctly rounded value, as the
/// standard parser would (Clinger's fast path).
#[inline(always)]
pub fn parse_number(raw: &str) -> f64 {
    let b = raw.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.len() <= 16 {
        let mut v: i64 = 0;
        let mut count = 0;
        let mut scale: Option<usize> = None;
        let mut plain = true;
        for (i, &d) in digits.iter().enumerate() {
            match d {
                b'0'..=b'9' => {
                    v = v * 10 + i64::from(d - b'0');
                    count += 1;
                }
                b'.' if scale.is_none() => scale = Some(digits.len() - i - 1),
                _ => {
                    plain = false;
                    break;
                }
            }
        }
        if plain && count <= 15 {
            // An integer needs no division (a slow instruction).
            let f = match scale {
                Some(scale) => v as f64 / POW10[scale],
                None => v as f64,
            };
            return if neg { -f } else { f };
        }
    }
    raw.parse().unwrap_or(f64::NAN)
}

/// Resolves the escapes of a JSON string already checked by the scanner.
/// Unpaired surrogates become U+FFFD.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hi = hex4(&mut chars);
                let code = if (0xD800..0xDC00).contains(&hi) {
                    let rest = chars.as_str();
                    if let Some(after) = rest.strip_prefix("\\u") {
                        let mut look = after.chars();
                        let lo = hex4(&mut look);
                        if (0xDC00..0xE000).contains(&lo) {
                            chars = look;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            0xFFFD
                        }
                    } else {
                        0xFFFD
                    }
                } else {
                    hi
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0);
    }
    v
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
