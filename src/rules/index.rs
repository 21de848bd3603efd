//! Which SLIs' filters can hold for an event, found by lookups instead of
//! evaluating every filter: with hundreds of SLIs that each select a route
//! or a service, an event matches a few of them, and only those few need
//! their filter evaluated.
//!
//! A filter `route == "/a" && status != 429` holds only when its conjunct
//! `route == "/a"` does. [`FilterIndex`] takes, per SLI, one such conjunct
//! that a lookup decides exactly (an equality, an `in` list, a prefix
//! `=~ "^/a/"` or `=~ "^(a|b)$"`) and files the SLI under the conjunct's
//! values in the index of its field. An event's value of each indexed field
//! then names the SLIs whose conjunct holds, and SLIs without such a
//! conjunct are always candidates.
//!
//! The index only prunes: a candidate's whole filter is still evaluated,
//! so a conjunct may be indexed whenever it is `Some(true)` for exactly the
//! values filed under it. That is what the lookups reproduce: a string
//! equality holds only for a string value (a number `200` is not `"200"`),
//! a number equality only for a number equal as `f64` (so `-0` is `0` and
//! no value equals `NaN`), and an `in` list for a value equal to one of its
//! elements of the same type, or `null` when it lists `null`.
//!
//! ```
//! use std::borrow::Cow;
//! use slipstream::event::{FieldTable, Value};
//! use slipstream::rules::{compile, FilterIndex};
//!
//! let mut fields = FieldTable::default();
//! let rules: Vec<_> = ["route == \"/a\"", "route == \"/b\" && status < 500", "status >= 500"]
//!     .iter()
//!     .map(|src| compile(src, &mut fields, 1e6).unwrap())
//!     .collect();
//! let index = FilterIndex::new(rules.iter().map(Some));
//! let mut values = vec![None; fields.len()];
//! values[fields.slot("route")] = Some(Value::Str(Cow::Borrowed("/b")));
//! let mut scratch = Vec::new();
//! // The second filter may hold; the third is never indexed.
//! assert_eq!(index.candidates(&values, &mut scratch), &[1, 2]);
//! ```

use rustc_hash::FxHashMap;

use super::eval::{CmpOp, Node, Pattern};
use super::Rule;
use crate::event::Value;
use crate::short_key::ShortKey;

/// One value a lookup can decide a conjunct by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(Box<[u8]>),
    /// An `f64` by [`num_key`].
    Num(u64),
    Bool(bool),
    Null,
}

/// What an indexable conjunct asks of its field's value.
#[derive(Debug, Clone)]
enum Test {
    /// Equal to one of these (none: it never holds).
    Keys(Vec<Key>),
    /// A string starting with one of these.
    Prefixes(Vec<Box<[u8]>>),
}

/// A conjunct of a filter that a lookup decides exactly.
#[derive(Debug, Clone)]
struct Conjunct {
    slot: usize,
    test: Test,
}

/// The key of a number: equal keys for numbers equal as `f64` (`-0.0` and
/// `0.0` alike), none for `NaN`, which equals nothing.
fn num_key(n: f64) -> Option<u64> {
    if n.is_nan() {
        None
    } else if n == 0.0 {
        Some(0)
    } else {
        Some(n.to_bits())
    }
}

/// The conjunct `node` as a lookup, when one decides it: `Some(test)`
/// where `node` is `Some(true)` for exactly the values `test` accepts.
fn indexable(node: &Node) -> Option<Conjunct> {
    let (slot, test) = match node {
        Node::Str {
            slot,
            op: CmpOp::Eq,
            rhs,
        } => (*slot, Test::Keys(vec![Key::Str(rhs.as_bytes().into())])),
        Node::Num {
            slot,
            op: CmpOp::Eq,
            rhs,
        } => (
            *slot,
            Test::Keys(num_key(*rhs).map(Key::Num).into_iter().collect()),
        ),
        // `x != true` holds for `false` only: other types are unknown.
        Node::Bool { slot, ne, rhs } => (*slot, Test::Keys(vec![Key::Bool(*rhs != *ne)])),
        Node::Truthy(slot) => (*slot, Test::Keys(vec![Key::Bool(true)])),
        Node::Null { slot, ne: false } => (*slot, Test::Keys(vec![Key::Null])),
        Node::In {
            slot,
            set,
            negate: false,
        } => {
            let strs = set.strs.iter().map(|s| Key::Str(s.as_bytes().into()));
            let nums = set.nums.iter().filter_map(|&n| num_key(n).map(Key::Num));
            let bools = set.bools.iter().map(|&b| Key::Bool(b));
            let null = set.null.then_some(Key::Null);
            (
                *slot,
                Test::Keys(strs.chain(nums).chain(bools).chain(null).collect()),
            )
        }
        Node::Regex {
            slot,
            re,
            negate: false,
        } => match &**re {
            Pattern::Whole(ws) => (
                *slot,
                Test::Keys(ws.iter().map(|w| Key::Str(w.as_bytes().into())).collect()),
            ),
            Pattern::Prefix(ps) => (
                *slot,
                Test::Prefixes(ps.iter().map(|p| p.as_bytes().into()).collect()),
            ),
            Pattern::Regex(_) | Pattern::Contains(_) => return None,
        },
        _ => return None,
    };
    Some(Conjunct { slot, test })
}

/// The conjuncts of `rule` that a lookup decides: the top-level operands of
/// its `&&`, or the rule itself when it is one comparison.
fn conjuncts(rule: &Rule) -> Vec<Conjunct> {
    match &rule.root {
        Node::All(items) => items.iter().filter_map(indexable).collect(),
        node => indexable(node).into_iter().collect(),
    }
}

/// The SLIs filed under the values of one field.
#[derive(Debug, Default)]
struct FieldIndex {
    slot: usize,
    keys: FxHashMap<Key, Ids>,
    /// By the prefix's bytes; `prefix_lens` holds their lengths, ascending.
    prefixes: FxHashMap<Box<[u8]>, Ids>,
    prefix_lens: Vec<usize>,
    /// The `Key::Str` entries again, to look a `&[u8]` up without
    /// building a key.
    strs: FxHashMap<ShortKey, Ids>,
}

/// The SLIs filed under one key, in order. Most keys file one SLI (a route
/// each), held in place: with a thousand SLIs, a lookup that follows no
/// pointer stays in the cache.
#[derive(Debug)]
struct Ids {
    /// The one id, or [`Ids::NONE`].
    one: [u32; 1],
    /// Every id, once there are two or more.
    all: Vec<u32>,
}

impl Default for Ids {
    fn default() -> Ids {
        Ids {
            one: [Ids::NONE],
            all: Vec::new(),
        }
    }
}

impl Ids {
    const NONE: u32 = u32::MAX;

    fn as_slice(&self) -> &[u32] {
        match self.all.len() {
            0 if self.one[0] == Ids::NONE => &[],
            0 => &self.one,
            _ => &self.all,
        }
    }

    /// Files `sli` after the others, unless it is the last one filed
    /// already (a test may list a value twice).
    fn file(&mut self, sli: u32) {
        match self.as_slice() {
            [] => self.one[0] = sli,
            [.., last] if *last == sli => {}
            [only] => self.all = vec![*only, sli],
            _ => self.all.push(sli),
        }
    }
}

impl FieldIndex {
    fn add(&mut self, sli: u32, test: &Test) {
        let file = |ids: &mut Ids| ids.file(sli);
        match test {
            Test::Keys(keys) => {
                for key in keys {
                    if let Key::Str(s) = key {
                        file(self.strs.entry(ShortKey::new(s)).or_default());
                    } else {
                        file(self.keys.entry(key.clone()).or_default());
                    }
                }
            }
            Test::Prefixes(prefixes) => {
                for p in prefixes {
                    file(self.prefixes.entry(p.clone()).or_default());
                    if let Err(at) = self.prefix_lens.binary_search(&p.len()) {
                        self.prefix_lens.insert(at, p.len());
                    }
                }
            }
        }
    }

    /// Hands `found` the SLIs filed under `value`, one sorted run per
    /// matching key.
    #[inline]
    fn lookup<'i>(&'i self, value: &Value<'_>, mut found: impl FnMut(&'i [u32])) {
        let key = match value {
            Value::Str(s) => {
                let s = s.as_bytes();
                if let Some(ids) = self.strs.get(s) {
                    found(ids.as_slice());
                }
                for &len in &self.prefix_lens {
                    let Some(head) = s.get(..len) else { break };
                    if let Some(ids) = self.prefixes.get(head) {
                        found(ids.as_slice());
                    }
                }
                return;
            }
            Value::Num(n) => match num_key(*n) {
                Some(k) => Key::Num(k),
                None => return,
            },
            Value::Bool(b) => Key::Bool(*b),
            Value::Null => Key::Null,
            Value::Object | Value::Array => return,
        };
        if self.keys.is_empty() {
            return;
        }
        if let Some(ids) = self.keys.get(&key) {
            found(ids.as_slice());
        }
    }
}

/// The SLIs whose filter may hold for an event, by lookups of its values.
/// Built once from the SLIs' filters; see the module documentation.
#[derive(Debug, Default)]
pub struct FilterIndex {
    fields: Vec<FieldIndex>,
    /// SLIs with no indexable conjunct (or no filter): always candidates.
    always: Vec<u32>,
    /// Per SLI, the slot of the conjunct it is filed by.
    by: Vec<Option<usize>>,
    /// Per SLI, whether that conjunct is its whole filter.
    whole: Vec<bool>,
}

impl FilterIndex {
    /// The index of `filters`, one per SLI in SLI order (`None`: the SLI
    /// has no filter and counts every event).
    ///
    /// Each SLI is filed by one conjunct: an exact test before a prefix,
    /// then the field whose tests name the most distinct values across all
    /// SLIs (most likely the one that tells events apart best), then the
    /// test naming the fewest values, then the first written.
    pub fn new<'r>(filters: impl IntoIterator<Item = Option<&'r Rule>>) -> FilterIndex {
        let filters: Vec<Option<&Rule>> = filters.into_iter().collect();
        let per_sli: Vec<Vec<Conjunct>> = filters
            .iter()
            .map(|f| f.map(conjuncts).unwrap_or_default())
            .collect();
        let mut distinct: FxHashMap<usize, rustc_hash::FxHashSet<(bool, Key)>> =
            FxHashMap::default();
        for c in per_sli.iter().flatten() {
            let values = distinct.entry(c.slot).or_default();
            match &c.test {
                Test::Keys(keys) => values.extend(keys.iter().map(|k| (false, k.clone()))),
                Test::Prefixes(ps) => {
                    values.extend(ps.iter().map(|p| (true, Key::Str(p.clone()))));
                }
            }
        }
        let mut index = FilterIndex::default();
        for (sli, conjuncts) in per_sli.iter().enumerate() {
            // An SLI count past u32 is no configuration anyone writes.
            let id = u32::try_from(sli).unwrap_or(u32::MAX);
            let best = conjuncts.iter().enumerate().max_by_key(|(at, c)| {
                let (exact, width) = match &c.test {
                    Test::Keys(keys) => (true, keys.len()),
                    Test::Prefixes(ps) => (false, ps.len()),
                };
                let spread = distinct.get(&c.slot).map_or(0, |d| d.len());
                (
                    exact,
                    spread,
                    std::cmp::Reverse(width),
                    std::cmp::Reverse(*at),
                )
            });
            let Some((_, c)) = best else {
                index.always.push(id);
                index.by.push(None);
                index.whole.push(false);
                continue;
            };
            let field = match index.fields.iter().position(|f| f.slot == c.slot) {
                Some(at) => &mut index.fields[at],
                None => {
                    index.fields.push(FieldIndex {
                        slot: c.slot,
                        ..FieldIndex::default()
                    });
                    let last = index.fields.len() - 1;
                    &mut index.fields[last]
                }
            };
            field.add(id, &c.test);
            index.by.push(Some(c.slot));
            // A filter that is one comparison is its only conjunct.
            index
                .whole
                .push(filters[sli].is_some_and(|r| !matches!(r.root, Node::All(_))));
        }
        index
    }

    /// How many SLIs are found by lookups rather than always candidates.
    pub fn indexed(&self) -> usize {
        self.by.len() - self.always.len()
    }

    /// Whether SLI `sli`'s filter holds exactly when the SLI is among the
    /// [`FilterIndex::candidates`]: its filter is the one conjunct it is
    /// filed by, so the lookup that named it has decided the filter and
    /// evaluating it again would only say so.
    #[inline]
    pub fn decides(&self, sli: usize) -> bool {
        self.whole.get(sli).copied().unwrap_or(false)
    }

    /// The slot of the conjunct SLI `sli` is filed by; `None` when it is
    /// always a candidate.
    pub fn filed_by(&self, sli: usize) -> Option<usize> {
        self.by.get(sli).copied().flatten()
    }

    /// The SLIs whose filter may be `Some(true)` over `values`, ascending,
    /// each once: every SLI whose filter holds is among them. `scratch`
    /// holds them when they come from several lookups; it is cleared here
    /// and keeps its allocation from event to event.
    #[inline]
    pub fn candidates<'a>(
        &'a self,
        values: &[Option<Value<'_>>],
        scratch: &'a mut Vec<u32>,
    ) -> &'a [u32] {
        let mut runs = Runs {
            single: None,
            scratch,
            merged: false,
        };
        if !self.always.is_empty() {
            runs.add(&self.always);
        }
        for field in &self.fields {
            if let Some(Some(value)) = values.get(field.slot) {
                field.lookup(value, |ids| runs.add(ids));
            }
        }
        runs.finish()
    }
}

/// Sorted runs of SLI ids gathered for one event: one run is used as it
/// is; several are merged in `scratch`.
struct Runs<'a> {
    single: Option<&'a [u32]>,
    scratch: &'a mut Vec<u32>,
    merged: bool,
}

impl<'a> Runs<'a> {
    #[inline]
    fn add(&mut self, ids: &'a [u32]) {
        match self.single {
            None if !self.merged => self.single = Some(ids),
            None => self.scratch.extend_from_slice(ids),
            Some(first) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(first);
                self.scratch.extend_from_slice(ids);
                self.single = None;
                self.merged = true;
            }
        }
    }

    #[inline]
    fn finish(self) -> &'a [u32] {
        if self.merged {
            // Runs from two prefixes of one value may share SLIs.
            self.scratch.sort_unstable();
            self.scratch.dedup();
            return self.scratch;
        }
        self.single.unwrap_or(&[])
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
