//! The fast path of the JSON scanner, for the JSON loggers write: no
//! whitespace between tokens, or one space after each colon and comma (as
//! Python's `json.dumps` writes), and no escapes.
//!
//! It reads the same grammar as the general path in [`super::json`] with
//! none of its generality: one optional space where those loggers put it, no
//! error kinds. Anything else (other whitespace, a backslash, a syntax
//! error, deep nesting) gives up, and the general path reads the line from
//! the start, so both accept exactly the same lines with the same values.
//!
//! A line is first read along the shape of a recent one ([`super::shape`]):
//! the bytes between its values compared whole, with no key read or looked
//! up. A line of another shape is read member by member.
//!
//! Positions travel as plain `usize`s from one token to the next, not
//! through the scanner, so the position stays in a register.

use std::borrow::Cow;

use super::digits;
use super::json::{find_quote_or_backslash, parse_number, NumberText, Scanner, MAX_DEPTH, POW10};
use super::order::KeyOrder;
use super::paths::{prefix_at, Entry, PathTree};
use super::shape::{Action, Shape, Step, STEP_BYTES};
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
        if let Some(shape) = order.shape() {
            if self.shaped(shape, values).is_some() {
                order.shape_read(true);
                return Some(());
            }
            // What the shape's reading stored is read again.
            values.iter_mut().for_each(|v| *v = None);
            self.ts_raw = None;
            order.shape_read(false);
        }
        let end = self.fast_object(self.i, tree, 0, values, order, 0)?;
        if end != self.s.len() {
            return None;
        }
        if order.wants_shape() {
            order.set_shape(Shape::of(self.text, tree));
        }
        Some(())
    }

    /// Reads the line along `shape`, from its start; `None` when the line
    /// has another shape (or is no JSON), with some values already stored.
    fn shaped(&mut self, shape: &Shape, values: &mut [Option<Value<'a>>]) -> Option<()> {
        let s = self.s;
        let mut i = 0;
        for step in &shape.steps {
            let same = match s.get(i..).and_then(<[u8]>::first_chunk::<STEP_BYTES>) {
                Some(head) => (u128::from_le_bytes(*head) ^ step.bytes) & step.mask == 0,
                None => tail_is(s, i, step)?,
            };
            if !same {
                return None;
            }
            i += step.len;
            i = match &step.action {
                Action::More => i,
                Action::Skip => skip(self.text, i, step.depth)?,
                Action::Plain(slot) => {
                    let (v, end) = self.fast_value(i, step.depth)?;
                    *values.get_mut(*slot)? = Some(v);
                    end
                }
                Action::Entry(e) => {
                    if e.child.is_some() && s.get(i) == Some(&b'{') {
                        return None;
                    }
                    self.entry_value(e, i, step.depth, values)?
                }
                Action::End => return (i == s.len()).then_some(()),
            };
        }
        None
    }

    /// Reads the object whose `{` is at `i`, descending into wanted keys of
    /// `node`; returns the position past its `}`. A key that `order`
    /// foresees at its position is taken as it is, unread.
    fn fast_object(
        &mut self,
        mut i: usize,
        tree: &PathTree,
        node: usize,
        values: &mut [Option<Value<'a>>],
        order: &mut KeyOrder,
        depth: usize,
    ) -> Option<usize> {
        if too_deep(depth) {
            return None;
        }
        let s = self.s;
        i += 1;
        if *s.get(i)? == b'}' {
            return Some(i + 1);
        }
        let n = &tree.nodes[node];
        let mut tokens = order.tokens(node);
        let mut k = 0;
        loop {
            let wanted = match tokens.get(k).and_then(|t| t.matches(s, i)) {
                Some((len, wanted)) => {
                    i += len;
                    wanted
                }
                None => {
                    let (ks, ke, after) = key(s, i)?;
                    let key = &s[ks..ke];
                    let wanted = n.index_with_prefix(prefix_at(s, ks, key.len()), key);
                    order.learn(node, k, &s[i..after], wanted);
                    tokens = order.tokens(node);
                    i = after;
                    wanted
                }
            };
            i = match wanted.and_then(|w| n.entry(w)) {
                None => skip(self.text, i, depth + 1)?,
                Some(Entry {
                    plain: Some(slot), ..
                }) => {
                    let (v, end) = self.fast_value(i, depth + 1)?;
                    values[*slot] = Some(v);
                    end
                }
                Some(e) => match (e.child, s.get(i)) {
                    (Some(child), Some(b'{')) => {
                        let end = self.fast_object(i, tree, child, values, order, depth + 1)?;
                        tokens = order.tokens(node);
                        self.store(&e.slots, Value::Object, NumberText::default(), values);
                        end
                    }
                    _ => self.entry_value(e, i, depth + 1, values)?,
                },
            };
            match *s.get(i)? {
                b',' => i += 1,
                b'}' => return Some(i + 1),
                _ => return None,
            }
            k += 1;
        }
    }

    /// Reads the value at `i` of an entry that is not plain, and not an
    /// object to descend into, and stores it; returns the position past it.
    #[inline(always)]
    fn entry_value(
        &mut self,
        e: &Entry,
        i: usize,
        depth: usize,
        values: &mut [Option<Value<'a>>],
    ) -> Option<usize> {
        let mut read = NumberText::default();
        let (v, end) = match self.s.get(i) {
            Some(b'-' | b'0'..=b'9') => {
                // A numeric timestamp is taken as the integer it is, or
                // re-read from its text.
                let (end, n, integer) = number(self.text, i)?;
                read = NumberText {
                    raw: slice(self.text, i, end)?,
                    integer: integer.then_some(n as i64),
                };
                (Value::Num(n), end)
            }
            _ => self.fast_value(i, depth)?,
        };
        self.store(&e.slots, v, read, values);
        Some(end)
    }

    /// Reads a wanted value at `i` that is not an object to descend into;
    /// returns it and the position past it.
    #[inline(always)]
    fn fast_value(&self, i: usize, depth: usize) -> Option<(Value<'a>, usize)> {
        let s = self.s;
        Some(match *s.get(i)? {
            b'"' => {
                let end = string_end(s, i)?;
                (
                    Value::Str(Cow::Borrowed(slice(self.text, i + 1, end)?)),
                    end + 1,
                )
            }
            b'{' => (Value::Object, container_end(self.text, i, depth)?),
            b'[' => (Value::Array, container_end(self.text, i, depth)?),
            b't' => (Value::Bool(true), literal_end(s, i, b"true")?),
            b'f' => (Value::Bool(false), literal_end(s, i, b"false")?),
            b'n' => (Value::Null, literal_end(s, i, b"null")?),
            _ => {
                let (end, n, _) = number(self.text, i)?;
                (Value::Num(n), end)
            }
        })
    }
}

/// Whether the last bytes of `s`, from `i` (fewer than [`STEP_BYTES`]),
/// start with `step`'s; `None` when there are fewer than its bytes. The end
/// of every line comes here: the line's last 16 bytes are loaded at once and
/// shifted, rather than compared by a call to memcmp.
#[inline(always)]
pub(super) fn tail_is(s: &[u8], i: usize, step: &Step) -> Option<bool> {
    let rest = s.len().checked_sub(i)?;
    if rest < step.len {
        return None;
    }
    Some(match s.last_chunk::<STEP_BYTES>() {
        Some(last) => {
            let tail = u128::from_le_bytes(*last)
                .checked_shr(8 * (STEP_BYTES - rest) as u32)
                .unwrap_or(0);
            (tail ^ step.bytes) & step.mask == 0
        }
        // A line shorter than a step.
        None => s.get(i..i + step.len)? == &step.bytes()[..step.len],
    })
}

/// Whether an object or array at `depth` is too deep for the fast path. The
/// general path takes any value deeper than [`MAX_DEPTH`] for not JSON; the
/// fast path gives up one level earlier, so that it never has to check the
/// depth of a member's value.
#[inline(always)]
fn too_deep(depth: usize) -> bool {
    depth + 1 >= MAX_DEPTH
}

/// `text[from..to]`, with the boundary checks of `split_at_checked`, which
/// are inlined, where a range index of a `str` is a call.
#[inline(always)]
fn slice(text: &str, from: usize, to: usize) -> Option<&str> {
    let (head, _) = text.split_at_checked(to)?;
    head.split_at_checked(from).map(|(_, s)| s)
}

/// The closing quote of the string whose opening quote is at `i`.
#[inline(always)]
fn string_end(s: &[u8], i: usize) -> Option<usize> {
    let start = i + 1;
    let end = start + find_quote_or_backslash(s.get(start..)?)?;
    (*s.get(end)? == b'"').then_some(end)
}

/// Reads a member's key and its colon at `i` (after one optional space);
/// returns the key's content range and the position of the value (after
/// one optional space).
#[inline(always)]
fn key(s: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let i = space(s, i);
    if *s.get(i)? != b'"' {
        return None;
    }
    let end = string_end(s, i)?;
    if *s.get(end + 1)? != b':' {
        return None;
    }
    Some((i + 1, end, space(s, end + 2)))
}

/// Steps over one space, as `json.dumps` writes after a colon or comma.
#[inline(always)]
fn space(s: &[u8], i: usize) -> usize {
    i + usize::from(s.get(i) == Some(&b' '))
}

/// The position past `word` when it is at `i`.
#[inline]
fn literal_end(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    s.get(i..)?.starts_with(word).then_some(i + word.len())
}

/// The number at `i`, its syntax checked: the position past it, its value,
/// and whether it is an integer of up to 15 digits without a fraction or an
/// exponent (which the value holds exactly). Plain integers and decimals of
/// up to 15 digits are read as they are checked, as [`parse_number`] reads
/// them; any other number is handed to it.
#[inline(always)]
pub(super) fn number(text: &str, i: usize) -> Option<(usize, f64, bool)> {
    let s = text.as_bytes();
    let neg = s.get(i) == Some(&b'-');
    let mut j = i + usize::from(neg);
    let first = j;
    // The digits as an integer, wrapping: only up to 15 digits are used.
    let mut mantissa = 0u64;
    let mut digits = |j: &mut usize| digits::run(s, j, &mut mantissa);
    match s.get(j)? {
        b'0' => j += 1,
        b'1'..=b'9' => _ = digits(&mut j),
        _ => return None,
    }
    let mut scale = 0;
    if s.get(j) == Some(&b'.') {
        j += 1;
        scale = digits(&mut j);
        if scale == 0 {
            return None;
        }
    }
    let count = j - first - usize::from(scale > 0);
    if matches!(s.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let from = j;
        while matches!(s.get(j), Some(b'0'..=b'9')) {
            j += 1;
        }
        if j == from {
            return None;
        }
    } else if count <= 15 {
        // At most 15 digits: an i64, whose conversion is one instruction;
        // an integer needs no division (a slow instruction).
        let f = match scale {
            0 => mantissa as i64 as f64,
            _ => mantissa as i64 as f64 / POW10[scale],
        };
        return Some((j, if neg { -f } else { f }, scale == 0));
    }
    Some((j, parse_number(slice(text, i, j)?), false))
}

/// The position past the unwanted value at `i`, its syntax checked.
#[inline(always)]
fn skip(text: &str, i: usize, depth: usize) -> Option<usize> {
    let s = text.as_bytes();
    match *s.get(i)? {
        b'"' => Some(string_end(s, i)? + 1),
        b'{' | b'[' => container_end(text, i, depth),
        b't' => literal_end(s, i, b"true"),
        b'f' => literal_end(s, i, b"false"),
        b'n' => literal_end(s, i, b"null"),
        // Checked as a wanted number is; its value is dropped.
        _ => number(text, i).map(|(end, _, _)| end),
    }
}

/// The position past the object or array at `i`, its syntax checked.
#[inline(never)]
fn container_end(text: &str, mut i: usize, depth: usize) -> Option<usize> {
    let s = text.as_bytes();
    if too_deep(depth) {
        return None;
    }
    let close = if s[i] == b'{' { b'}' } else { b']' };
    i += 1;
    if *s.get(i)? == close {
        return Some(i + 1);
    }
    loop {
        i = if close == b'}' {
            key(s, i)?.2
        } else {
            space(s, i)
        };
        i = skip(text, i, depth + 1)?;
        match *s.get(i)? {
            b',' => i += 1,
            b if b == close => return Some(i + 1),
            _ => return None,
        }
    }
}

/// Shapes are taken here, where the compact grammar is: the pieces are
/// what this path reads between values.
impl Shape {
    /// The shape of `text`, a line the compact path has read. `None` when
    /// a key both holds a value and is descended into (the object is a
    /// value of its own), or when the line has more than
    /// [`MAX_STEPS`](super::shape::MAX_STEPS)
    /// pieces: such lines are not read along a shape.
    pub fn of(text: &str, tree: &PathTree) -> Option<Shape> {
        let mut shape = Shape::default();
        let mut from = 0;
        let end = shape.object(text, tree, 0, 0, &mut from, 0)?;
        (end == text.len()).then_some(())?;
        shape.push(&text.as_bytes()[from..end], 0, Action::End)?;
        Some(shape)
    }

    /// Walks the object at `i` of `node`, at `depth`, as the compact path
    /// reads it; `from` is where the current piece began. Returns the
    /// position past the object.
    fn object(
        &mut self,
        text: &str,
        tree: &PathTree,
        node: usize,
        mut i: usize,
        from: &mut usize,
        depth: usize,
    ) -> Option<usize> {
        let s = text.as_bytes();
        if too_deep(depth) {
            return None;
        }
        let n = tree.nodes.get(node)?;
        i += 1;
        if *s.get(i)? == b'}' {
            return Some(i + 1);
        }
        loop {
            let (ks, ke, at) = key(s, i)?;
            let entry = n
                .index_with_prefix(prefix_at(s, ks, ke - ks), &s[ks..ke])
                .and_then(|w| n.entry(w));
            i = match entry {
                Some(e) if e.child.is_some() && s.get(at) == Some(&b'{') => {
                    if !e.slots.is_empty() {
                        return None;
                    }
                    self.object(text, tree, e.child?, at, from, depth + 1)?
                }
                _ => {
                    let action = match entry {
                        None => Action::Skip,
                        Some(Entry {
                            plain: Some(slot), ..
                        }) => Action::Plain(*slot),
                        Some(e) => Action::Entry(Box::new(e.clone())),
                    };
                    self.push(&s[*from..at], depth + 1, action)?;
                    let end = skip(text, at, depth + 1)?;
                    *from = end;
                    end
                }
            };
            match *s.get(i)? {
                b',' => i += 1,
                b'}' => return Some(i + 1),
                _ => return None,
            }
        }
    }
}
