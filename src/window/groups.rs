//! The groups of a grouped SLI (`group_by`) in one window: one
//! [`SliWindow`] per distinct combination of the group fields' values, with
//! a bound on how many a window keeps apart.
//!
//! A group's key is its values in `group_by` order, encoded in one string
//! ([`GroupKey`]) so that an event's group is found without allocating and
//! keys sort as the tuples of their values: field by field, by the bytes of
//! the value, a missing field (or `null`) before every value. A number or a
//! boolean is its text (`503`, `true`).
//!
//! The cap does not depend on the order events arrive in or on how they
//! were split among threads and instances: a window keeps the `group_limit`
//! *smallest* keys and folds every other group's counts, histogram and
//! breakdown into one `__other__` group. Counting an event of a new group
//! into a full window keeps it only if it sorts before the greatest kept
//! key, which then moves to `__other__`; merging two windows is their union
//! folded again. Either way the kept keys are the smallest of all the keys
//! the window saw, so memory stays at `group_limit + 1` groups per window.
//!
//! An event finds its group by hash (foldhash, seeded per process: keys
//! come from requests, and a cap on groups bounds what they can cost), by
//! a key kept in the table's own slot ([`ShortKey`]) beside the place of the
//! group's window in a vector: the table's slots stay small, so probing a
//! thousand of them stays in the core's cache. A key of one value without
//! NUL bytes (most keys: `group_by` names one field) is hashed by that
//! value alone, so that an event's group is found from its value without
//! writing its key. The kept keys are also held in order, for the cap and
//! for records in key order.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::SliWindow;
use crate::event::Value;
use crate::short_key::ShortKey;

/// The group that holds what the cap folded, in records.
pub const OTHER: &str = "__other__";

/// Marks a missing field; sorts before the mark of a present value.
const MISSING: char = '\u{0}';
/// Precedes a present value.
const PRESENT: char = '\u{1}';
/// Ends a present value. A NUL inside a value is written NUL then ESCAPED,
/// which sorts after the end of a value followed by anything: a value sorts
/// before its own extensions, as strings do.
const END: char = '\u{0}';
const ESCAPED: char = '\u{ff}';

/// The groups of one SLI in one window.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    limit: usize,
    /// Each kept key, with its place in `windows` and whether it holds
    /// one value without NUL bytes; found by [`Groups::hash`].
    kept: HashTable<Kept>,
    hasher: RandomState,
    /// The kept keys in order, with their places.
    order: BTreeMap<Box<str>, u32>,
    /// The groups' windows; a place no key holds is in `free`.
    windows: Vec<SliWindow>,
    free: Vec<u32>,
    other: Option<SliWindow>,
}

impl Groups {
    /// No group yet, keeping at most `limit` apart.
    pub fn new(limit: usize) -> Groups {
        Groups {
            limit: limit.max(1),
            ..Groups::default()
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The kept groups, by key in order.
    pub fn kept(&self) -> impl Iterator<Item = (&str, &SliWindow)> {
        self.order
            .iter()
            .map(|(k, &at)| (&**k, &self.windows[at as usize]))
    }

    /// What the cap folded, if anything was.
    pub fn other(&self) -> Option<&SliWindow> {
        self.other.as_ref()
    }

    /// Counts into the window of the group of an event whose values are
    /// `values`, grouped by `slots`, as [`Groups::with_group`] does for its
    /// key. Grouped by one field holding a string, an event of a kept group
    /// finds it by the value; only the others have their key written, into
    /// `key`.
    #[inline]
    pub fn with_values(
        &mut self,
        slots: &[(String, usize)],
        values: &[Option<Value<'_>>],
        key: &mut String,
        count: impl FnOnce(&mut SliWindow),
    ) {
        if let [(_, slot)] = slots {
            if let Some(Some(Value::Str(value))) = values.get(*slot) {
                if let Some(w) = self.kept_value(value) {
                    return count(w);
                }
            }
        }
        encode_key(key, slots, values);
        self.with_group(key, count);
    }

    /// The window of the kept group whose key holds the one value `value`,
    /// found without writing its key; `None` for any other group (a new
    /// one, or one whose value holds a NUL byte: see [`Groups::with_group`]).
    #[inline]
    fn kept_value(&mut self, value: &str) -> Option<&mut SliWindow> {
        let v = value.as_bytes();
        let at = self
            .kept
            .find(self.hasher.hash_one(v), |k| {
                k.single && k.key.as_bytes().get(1..k.key.as_bytes().len() - 1) == Some(v)
            })?
            .at;
        self.windows.get_mut(at as usize)
    }

    /// Counts into the window of the group keyed `key` (see [`encode_key`]),
    /// opened, or folded into `__other__`, as the cap says.
    #[inline]
    pub fn with_group(&mut self, key: &str, count: impl FnOnce(&mut SliWindow)) {
        if let Some(at) = self.place(key.as_bytes()) {
            return count(&mut self.windows[at as usize]);
        }
        if self.kept.len() >= self.limit {
            let greatest = self.order.last_key_value().map(|(k, _)| &**k);
            if greatest.is_some_and(|g| key > g) {
                return count(self.other.get_or_insert_with(SliWindow::default));
            }
        }
        let mut w = SliWindow::default();
        count(&mut w);
        self.insert(key.into(), w);
        self.fold();
    }

    fn insert(&mut self, key: Box<str>, w: SliWindow) {
        let at = match self.free.pop() {
            Some(at) => {
                self.windows[at as usize] = w;
                at
            }
            None => {
                self.windows.push(w);
                (self.windows.len() - 1) as u32
            }
        };
        let (hash, single) = self.hash(key.as_bytes());
        let kept = Kept {
            key: ShortKey::new(key.as_bytes()),
            at,
            single,
        };
        let hasher = &self.hasher;
        self.kept
            .insert_unique(hash, kept, |k| key_hash(hasher, k.key.as_bytes()).0);
        self.order.insert(key, at);
    }

    /// The place of the kept group keyed `key`.
    fn place(&self, key: &[u8]) -> Option<u32> {
        let (hash, _) = self.hash(key);
        self.kept
            .find(hash, |k| k.key.as_bytes() == key)
            .map(|k| k.at)
    }

    /// A key's hash, and whether it holds one value without NUL bytes.
    fn hash(&self, key: &[u8]) -> (u64, bool) {
        key_hash(&self.hasher, key)
    }

    /// Adds another shard's groups: their union, folded again.
    pub fn merge(&mut self, other: &Groups) {
        self.limit = self.limit.max(other.limit);
        for (k, w) in other.kept() {
            match self.place(k.as_bytes()) {
                Some(at) => self.windows[at as usize].merge(w),
                None => self.insert(k.into(), w.clone()),
            }
        }
        if let Some(o) = &other.other {
            self.other.get_or_insert_with(SliWindow::default).merge(o);
        }
        self.fold();
    }

    /// Moves the greatest keys beyond the limit into `__other__`.
    fn fold(&mut self) {
        while self.kept.len() > self.limit {
            let Some((k, at)) = self.order.pop_last() else {
                break;
            };
            let (hash, _) = self.hash(k.as_bytes());
            if let Ok(entry) = self
                .kept
                .find_entry(hash, |e| *e.key.as_bytes() == *k.as_bytes())
            {
                entry.remove();
            }
            let w = std::mem::take(&mut self.windows[at as usize]);
            self.free.push(at);
            self.other.get_or_insert_with(SliWindow::default).merge(&w);
        }
    }

    /// Rebuilds groups from their parts (see [`Groups::kept`] and
    /// [`Groups::other`]), folding again if there are more than `limit`.
    pub fn from_parts(
        limit: usize,
        kept: Vec<(Box<str>, SliWindow)>,
        other: Option<SliWindow>,
    ) -> Groups {
        let mut g = Groups {
            other,
            ..Groups::new(limit)
        };
        for (k, w) in kept {
            g.insert(k, w);
        }
        g.fold();
        g
    }

    /// Gives back the room each group's histogram grew into (see
    /// [`SliWindow::shrink_to_fit`]).
    pub fn shrink_to_fit(&mut self) {
        self.windows.iter_mut().for_each(SliWindow::shrink_to_fit);
        if let Some(o) = &mut self.other {
            o.shrink_to_fit();
        }
    }

    /// About how many bytes the groups take.
    pub fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<Kept>();
        std::mem::size_of::<Groups>()
            + self
                .kept
                .iter()
                // The table's key, and the ordered copy (a boxed str, its
                // place, and about as much again for the tree's nodes).
                .map(|k| slot + k.key.heap_bytes() + k.key.as_bytes().len() + 40)
                .sum::<usize>()
            + self.windows.capacity() * std::mem::size_of::<SliWindow>()
            + self
                .windows
                .iter()
                .map(SliWindow::heap_bytes)
                .sum::<usize>()
            + self.free.capacity() * 4
            + self.other.as_ref().map_or(0, SliWindow::memory_bytes)
    }
}

/// Groups are equal when they keep the same limit, the same keys with equal
/// windows, and equal `__other__`s, wherever their windows sit.
impl PartialEq for Groups {
    fn eq(&self, other: &Groups) -> bool {
        self.limit == other.limit
            && self.other == other.other
            && self.kept.len() == other.kept.len()
            && self.kept().eq(other.kept())
    }
}

impl Eq for Groups {}

/// A kept key in the table of [`Groups`].
#[derive(Debug, Clone)]
struct Kept {
    key: ShortKey,
    /// The group's place in `windows`.
    at: u32,
    /// The key holds one value without NUL bytes, hashed alone.
    single: bool,
}

/// The hash of `key`: of its one value when it holds one value without NUL
/// bytes (PRESENT, the value, END), which an event's value then finds
/// without writing its key (see [`Groups::kept_value`]); else of all of it.
fn key_hash(hasher: &RandomState, key: &[u8]) -> (u64, bool) {
    let one = key
        .strip_prefix(&[PRESENT as u8])
        .and_then(|rest| rest.strip_suffix(&[END as u8]))
        .filter(|value| !value.contains(&(END as u8)));
    match one {
        Some(value) => (hasher.hash_one(value), true),
        None => (hasher.hash_one(key), false),
    }
}

/// Writes the key of an event's group into `out` (cleared first): the
/// values of the `slots` in order.
#[inline]
pub fn encode_key(out: &mut String, slots: &[(String, usize)], values: &[Option<Value<'_>>]) {
    out.clear();
    for (_, slot) in slots {
        match values.get(*slot).and_then(Option::as_ref) {
            None | Some(Value::Null) => out.push(MISSING),
            Some(Value::Str(s)) => push_value(out, s),
            Some(Value::Num(n)) => {
                use std::fmt::Write;
                out.push(PRESENT);
                let _ = write!(out, "{n}");
                out.push(END);
            }
            Some(Value::Bool(b)) => push_value(out, if *b { "true" } else { "false" }),
            Some(Value::Object) => push_value(out, "(object)"),
            Some(Value::Array) => push_value(out, "(array)"),
        }
    }
}

fn push_value(out: &mut String, s: &str) {
    out.push(PRESENT);
    if s.contains(END) {
        for c in s.chars() {
            out.push(c);
            if c == END {
                out.push(ESCAPED);
            }
        }
    } else {
        out.push_str(s);
    }
    out.push(END);
}

/// The values a key holds, in `group_by` order (`None` for a missing
/// field); empty for a key that [`encode_key`] did not write.
pub fn decode_key(key: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut chars = key.chars().peekable();
    while let Some(mark) = chars.next() {
        if mark == MISSING {
            out.push(None);
            continue;
        }
        if mark != PRESENT {
            return Vec::new();
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                None => return Vec::new(),
                Some(END) if chars.peek() == Some(&ESCAPED) => {
                    chars.next();
                    value.push(END);
                }
                Some(END) => break,
                Some(c) => value.push(c),
            }
        }
        out.push(Some(value));
    }
    out
}

/// The key of a group given by its values (as [`decode_key`] gives them).
pub fn key_of(values: &[Option<&str>]) -> String {
    let mut out = String::new();
    for v in values {
        match v {
            None => out.push(MISSING),
            Some(s) => push_value(&mut out, s),
        }
    }
    out
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
