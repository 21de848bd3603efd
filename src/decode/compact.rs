//! The fast path of the JSON scanner, for the JSON loggers write: no
//! whitespace between tokens, or one space after each colon and comma (as
//! Python's `json.dumps` writes), and no escapes.
//!
//! It reads the same grammar as the general path in [`super::json`] with
//! none of its generality: one optional space where those loggers put it, no
//! error kinds. Anything else (other whitespace, a backslash, a syntax
//! error, deep nesting) gives up, and the general path reads the line from
//! the start, so both accept exactly the same lines with the same values.

use std::borrow::Cow;

use super::json::{find_quote_or_backslash, parse_number, Scanner, MAX_DEPTH};
use super::order::KeyOrder;
use super::paths::{prefix_at, PathTree};
use crate::event::Value;

impl<'a> Scanner<'a> {
    /// Reads a compact JSON object from the start of the text; `None` when
    /// the text is anything else.
    #[inline]
    pub(super) fn compact(
        &mut self,
        tree: &PathTree,
        values: &mut [Option<Value<'a>>],
        order: &mut KeyOrder,
    ) -> Option<()> {
        if self.peek()? != b'{' {
            return None;
        }
        self.fast_object(tree, 0, values, order, 0)?;
        (self.i == self.s.len()).then_some(())
    }

    /// The content of the string whose opening quote is at `i`.
    #[inline(always)]
    fn fast_string(&mut self) -> Option<(usize, usize)> {
        let start = self.i + 1;
        let end = start + find_quote_or_backslash(self.s.get(start..)?)?;
        if self.s[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some((start, end))
    }

    /// Checks the number at `i` and returns its text.
    #[inline]
    fn fast_number(&mut self) -> Option<&'a str> {
        let s = self.s;
        let start = self.i;
        let digits = |mut i: usize| {
            while matches!(s.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            i
        };
        let mut i = start;
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
    fn fast_literal(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Steps over one space, as `json.dumps` writes after a colon or comma.
    #[inline(always)]
    fn fast_space(&mut self) {
        if self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    /// Reads a member's key and its colon; returns the key's content range.
    #[inline(always)]
    fn fast_key(&mut self) -> Option<(usize, usize)> {
        self.fast_space();
        if self.peek()? != b'"' {
            return None;
        }
        let key = self.fast_string()?;
        if self.peek()? != b':' {
            return None;
        }
        self.i += 1;
        self.fast_space();
        Some(key)
    }

    /// Walks the members of the object at `{`; `member` reads each value,
    /// given its key's content range.
    #[inline(always)]
    fn fast_members(
        &mut self,
        mut member: impl FnMut(&mut Self, usize, usize) -> Option<()>,
    ) -> Option<()> {
        if self.fast_open(b'}')? {
            return Some(());
        }
        loop {
            let (ks, ke) = self.fast_key()?;
            member(self, ks, ke)?;
            if self.fast_separator(b'}')? {
                return Some(());
            }
        }
    }

    /// Steps over the `{` or `[` at `i`, and over `close` right after it
    /// (`true`: the object or array is empty).
    #[inline(always)]
    fn fast_open(&mut self, close: u8) -> Option<bool> {
        self.i += 1;
        let empty = self.peek()? == close;
        if empty {
            self.i += 1;
        }
        Some(empty)
    }

    /// Steps over what follows an element of an object or array: a comma
    /// (`false`: more follow) or the closing `close` (`true`: the end).
    #[inline(always)]
    fn fast_separator(&mut self, close: u8) -> Option<bool> {
        let b = self.peek()?;
        if b != b',' && b != close {
            return None;
        }
        self.i += 1;
        Some(b == close)
    }

    /// Reads the object at `{`, descending into wanted keys of `node`. A key
    /// that `order` foresees at its position is taken as it is, unread.
    fn fast_object(
        &mut self,
        tree: &PathTree,
        node: usize,
        values: &mut [Option<Value<'a>>],
        order: &mut KeyOrder,
        depth: usize,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        if self.fast_open(b'}')? {
            return Some(());
        }
        let n = &tree.nodes[node];
        for k in 0.. {
            let at = self.i;
            let wanted = match order.guess(node, k, &self.s[at..]) {
                Some((len, wanted)) => {
                    self.i += len;
                    wanted
                }
                None => {
                    let (ks, ke) = self.fast_key()?;
                    let key = &self.s[ks..ke];
                    let wanted = n.index_with_prefix(prefix_at(self.s, ks, key.len()), key);
                    order.learn(node, k, &self.s[at..self.i], wanted);
                    wanted
                }
            };
            match wanted.and_then(|w| n.entry(w)) {
                Some(e) => {
                    let v = self.fast_value(tree, e.child, values, order, depth + 1)?;
                    self.store(&e.slots, v, values);
                }
                None => self.fast_skip(depth + 1)?,
            }
            if self.fast_separator(b'}')? {
                return Some(());
            }
        }
        None
    }

    /// Reads a wanted value; an object descends into `child` when given.
    #[inline]
    fn fast_value(
        &mut self,
        tree: &PathTree,
        child: Option<usize>,
        values: &mut [Option<Value<'a>>],
        order: &mut KeyOrder,
        depth: usize,
    ) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => {
                let (s, e) = self.fast_string()?;
                Some(Value::Str(Cow::Borrowed(&self.text[s..e])))
            }
            b'{' => {
                match child {
                    Some(c) => self.fast_object(tree, c, values, order, depth)?,
                    None => self.fast_skip(depth)?,
                }
                Some(Value::Object)
            }
            b'[' => {
                self.fast_skip(depth)?;
                Some(Value::Array)
            }
            b't' => self.fast_literal(b"true").map(|_| Value::Bool(true)),
            b'f' => self.fast_literal(b"false").map(|_| Value::Bool(false)),
            b'n' => self.fast_literal(b"null").map(|_| Value::Null),
            _ => {
                let raw = self.fast_number()?;
                self.last_number = raw;
                Some(Value::Num(parse_number(raw)))
            }
        }
    }

    /// Skips any value, checking its syntax.
    fn fast_skip(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.fast_string().map(|_| ()),
            b'{' => self.fast_members(|sc, _, _| sc.fast_skip(depth + 1)),
            b'[' => {
                if self.fast_open(b']')? {
                    return Some(());
                }
                loop {
                    self.fast_space();
                    self.fast_skip(depth + 1)?;
                    if self.fast_separator(b']')? {
                        return Some(());
                    }
                }
            }
            b't' => self.fast_literal(b"true"),
            b'f' => self.fast_literal(b"false"),
            b'n' => self.fast_literal(b"null"),
            _ => self.fast_number().map(|_| ()),
        }
    }
}
