//! The fast path of the JSON scanner, for compact JSON: no whitespace
//! between tokens and no escapes, which is how loggers write a line.
//!
//! It reads the same grammar as [`super::json`] with none of its
//! generality: no whitespace checks, no error kinds. Anything else (a space,
//! a backslash, a syntax error, deep nesting) gives up, and the general
//! scanner reads the line from the start, so both paths accept exactly the
//! same lines with the same values.

use std::borrow::Cow;

use memchr::memchr2;

use super::json::{find_quote_or_backslash, parse_number, store, MAX_DEPTH};
use super::paths::{prefix_at, PathTree};
use crate::event::Value;

/// Scans a compact JSON object; `None` when the line is anything else.
/// On success returns what [`super::json::scan`] returns.
#[inline]
pub fn scan<'a>(
    text: &'a str,
    tree: &PathTree,
    values: &mut [Option<Value<'a>>],
) -> Option<Option<&'a str>> {
    let mut c = Compact {
        text,
        s: text.as_bytes(),
        i: 0,
        ts_raw: None,
        last_number: "",
    };
    if c.s.first() != Some(&b'{') {
        return None;
    }
    c.object(tree, 0, values, 0)?;
    (c.i == c.s.len()).then_some(c.ts_raw)
}

struct Compact<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
    ts_raw: Option<&'a str>,
    last_number: &'a str,
}

impl<'a> Compact<'a> {
    #[inline(always)]
    fn byte(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// The content of the string whose opening quote is at `i`.
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i + 1;
        let rest = self.s.get(start..)?;
        let short = rest.len().min(32);
        let off = match find_quote_or_backslash(&rest[..short]) {
            Some(off) => off,
            None => short + memchr2(b'"', b'\\', &rest[short..])?,
        };
        let end = start + off;
        if self.s[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some((start, end))
    }

    /// Checks the number at `i` and returns its text.
    #[inline]
    fn number(&mut self) -> Option<&'a str> {
        let s = self.s;
        let start = self.i;
        let mut i = start;
        let digits = |mut i: usize| {
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            i
        };
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits(i + 1),
            _ => return None,
        }
        if s.get(i) == Some(&b'.') {
            let after = digits(i + 1);
            if after == i + 1 {
                return None;
            }
            i = after;
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let after = digits(i);
            if after == i {
                return None;
            }
            i = after;
        }
        self.i = i;
        Some(&self.text[start..i])
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Reads the object at `{`, descending into wanted keys of `node`.
    fn object(
        &mut self,
        tree: &PathTree,
        node: usize,
        values: &mut [Option<Value<'a>>],
        depth: usize,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.i += 1;
        if self.byte()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            if self.byte()? != b'"' {
                return None;
            }
            let (ks, ke) = self.string()?;
            if self.byte()? != b':' {
                return None;
            }
            self.i += 1;
            let entry =
                tree.nodes[node].get_with_prefix(prefix_at(self.s, ks, ke - ks), &self.s[ks..ke]);
            match entry {
                Some(e) => {
                    let v = self.value(tree, e.child, values, depth + 1)?;
                    store(&e.slots, v, values, &mut self.ts_raw, self.last_number);
                }
                None => self.skip(depth + 1)?,
            }
            match self.byte()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Reads a wanted value; an object descends into `child` when given.
    #[inline]
    fn value(
        &mut self,
        tree: &PathTree,
        child: Option<usize>,
        values: &mut [Option<Value<'a>>],
        depth: usize,
    ) -> Option<Value<'a>> {
        match self.byte()? {
            b'"' => {
                let (s, e) = self.string()?;
                Some(Value::Str(Cow::Borrowed(&self.text[s..e])))
            }
            b'{' => {
                match child {
                    Some(c) => self.object(tree, c, values, depth)?,
                    None => self.skip(depth)?,
                }
                Some(Value::Object)
            }
            b'[' => {
                self.skip(depth)?;
                Some(Value::Array)
            }
            b't' => self.literal(b"true").map(|_| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|_| Value::Bool(false)),
            b'n' => self.literal(b"null").map(|_| Value::Null),
            _ => {
                let raw = self.number()?;
                self.last_number = raw;
                Some(Value::Num(parse_number(raw)))
            }
        }
    }

    /// Skips any value, checking its syntax.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        match self.byte()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                self.i += 1;
                if self.byte()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    if self.byte()? != b'"' {
                        return None;
                    }
                    self.string()?;
                    if self.byte()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    self.skip(depth + 1)?;
                    match self.byte()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                if self.byte()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    match self.byte()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}
