//! The tree of JSON keys the decoder looks for.
//!
//! Every dotted path that a role or a rule names becomes a branch of this
//! tree. A path matches nested objects (`{"http":{"route":..}}`) and flat keys
//! that contain dots (`{"http.route":..}`) alike, so both shapes of log work
//! without configuration: each way of splitting the path into keys is inserted.

use crate::event::TIMESTAMP_SLOT;

/// What the decoder does with a key it finds in an object.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    /// Slots that receive the key's value.
    pub slots: Vec<usize>,
    /// The node to use when the value is an object to descend into.
    pub child: Option<usize>,
    /// The only slot, when the value goes to one slot, is not the timestamp
    /// (whose raw text is kept) and has no child: the common case, which
    /// needs none of the above.
    pub plain: Option<usize>,
}

#[derive(Debug, Default, Clone)]
pub struct Node {
    /// Each key with its first eight bytes packed in a word, which settles
    /// almost every comparison in one instruction.
    keys: Vec<(u64, Box<[u8]>, Entry)>,
    /// A perfect hash of the keys' first words and lengths: slot
    /// `hash(word, len)` holds one more than the index of the only key that
    /// can be there, 0 for none. Empty when no such table exists (two keys
    /// share their first eight bytes and their length), and the keys are
    /// then searched one by one.
    table: Box<[u8]>,
    multiplier: u64,
    shift: u32,
}

/// Odd constants to try as the hash's multiplier, from well-known 64-bit
/// mixers: the golden ratio, xxHash64's second and third primes, MurmurHash3's
/// two finalizer constants and SplitMix64's last multiplier.
const MULTIPLIERS: [u64; 6] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0xFF51_AFD7_ED55_8CCD,
    0xC4CE_B9FE_1A85_EC53,
    0x94D0_49BB_1331_11EB,
];

/// The first eight bytes of a key, zero-padded, as a word.
#[inline]
fn prefix(key: &[u8]) -> u64 {
    // Fixed-size copies only: a variable-length copy is a call to memcpy.
    if let Some(bytes) = key.get(..8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        return u64::from_le_bytes(word);
    }
    key.iter()
        .enumerate()
        .fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

/// [`prefix`] of the key at `text[start..start + len]`, with one fixed-size
/// load when eight bytes are there to read (the bytes past the key masked
/// off): most keys are shorter than eight bytes.
#[inline]
pub fn prefix_at(text: &[u8], start: usize, len: usize) -> u64 {
    match text.get(start..start + 8) {
        Some(bytes) => {
            let mut word = [0u8; 8];
            word.copy_from_slice(bytes);
            let w = u64::from_le_bytes(word);
            if len >= 8 {
                w
            } else {
                w & ((1u64 << (8 * len)) - 1)
            }
        }
        None => prefix(&text[start..start + len]),
    }
}

#[inline(always)]
fn hash(word: u64, len: usize, multiplier: u64, shift: u32) -> usize {
    (word.wrapping_add(len as u64).wrapping_mul(multiplier) >> shift) as usize
}

impl Node {
    /// Builds [`Node::table`] for the current keys, or leaves it empty.
    fn index(&mut self) {
        for (_, _, e) in &mut self.keys {
            e.plain = match (&e.slots[..], e.child) {
                ([slot], None) if *slot != TIMESTAMP_SLOT => Some(*slot),
                _ => None,
            };
        }
        self.table = Box::default();
        let words: Vec<(u64, usize)> = self.keys.iter().map(|(p, k, _)| (*p, k.len())).collect();
        if words.len() >= usize::from(u8::MAX) {
            return;
        }
        // At least four slots a key keeps the search for a multiplier short.
        let min_bits = (words.len() * 4)
            .next_power_of_two()
            .trailing_zeros()
            .max(3);
        for bits in min_bits..=12 {
            for multiplier in MULTIPLIERS {
                let shift = 64 - bits;
                let mut table = vec![0u8; 1 << bits];
                let perfect = words.iter().enumerate().all(|(i, &(word, len))| {
                    let slot = &mut table[hash(word, len, multiplier, shift)];
                    let free = *slot == 0;
                    *slot = i as u8 + 1;
                    free
                });
                if perfect {
                    self.table = table.into_boxed_slice();
                    self.multiplier = multiplier;
                    self.shift = shift;
                    return;
                }
            }
        }
    }

    /// The entry for a key, if the key is wanted.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.get_with_prefix(prefix(key), key)
    }

    /// [`Node::get`] with the key's [`prefix`] already computed.
    #[inline(always)]
    pub fn get_with_prefix(&self, p: u64, key: &[u8]) -> Option<&Entry> {
        self.entry(self.index_with_prefix(p, key)?)
    }

    /// The index of a wanted key among the node's keys, its [`prefix`]
    /// already computed.
    #[inline(always)]
    pub fn index_with_prefix(&self, p: u64, key: &[u8]) -> Option<usize> {
        // Keys are short: an inlined loop beats a call to memcmp.
        let matches = |(kp, k, _): &(u64, Box<[u8]>, Entry)| {
            *kp == p && k.len() == key.len() && k.iter().zip(key).skip(8).all(|(a, b)| a == b)
        };
        if self.table.is_empty() {
            return self.keys.iter().position(matches);
        }
        let slot = *self
            .table
            .get(hash(p, key.len(), self.multiplier, self.shift))?;
        let index = usize::from(slot).checked_sub(1)?;
        matches(self.keys.get(index)?).then_some(index)
    }

    /// The entry of the key at `index`, as [`Node::index_with_prefix`] gives it.
    #[inline(always)]
    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.keys.get(index).map(|(_, _, e)| e)
    }
}

/// All wanted paths; node 0 is the top-level object.
#[derive(Debug, Clone)]
pub struct PathTree {
    pub nodes: Vec<Node>,
}

impl Default for PathTree {
    fn default() -> Self {
        PathTree {
            nodes: vec![Node::default()],
        }
    }
}

impl PathTree {
    /// Registers a dotted path whose value goes to `slot`.
    pub fn insert(&mut self, path: &str, slot: usize) {
        let segments: Vec<&str> = path.split('.').collect();
        self.insert_from(0, &segments, slot);
        self.nodes.iter_mut().for_each(Node::index);
    }

    fn insert_from(&mut self, node: usize, segments: &[&str], slot: usize) {
        // The first key may be any prefix of the remaining segments joined by dots.
        for take in 1..=segments.len() {
            let key = segments[..take].join(".");
            let entry = self.entry(node, key.as_bytes());
            if take == segments.len() {
                let e = &mut self.nodes[node].keys[entry].2;
                if !e.slots.contains(&slot) {
                    e.slots.push(slot);
                }
            } else {
                let child = match self.nodes[node].keys[entry].2.child {
                    Some(c) => c,
                    None => {
                        self.nodes.push(Node::default());
                        let c = self.nodes.len() - 1;
                        self.nodes[node].keys[entry].2.child = Some(c);
                        c
                    }
                };
                self.insert_from(child, &segments[take..], slot);
            }
        }
    }

    fn entry(&mut self, node: usize, key: &[u8]) -> usize {
        let keys = &mut self.nodes[node].keys;
        if let Some(i) = keys.iter().position(|(_, k, _)| &k[..] == key) {
            return i;
        }
        keys.push((prefix(key), key.into(), Entry::default()));
        keys.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_flat_keys_both_lead_to_the_slot() {
        let mut t = PathTree::default();
        t.insert("a.b.c", 7);
        let root = &t.nodes[0];
        assert_eq!(root.get(b"a.b.c").map(|e| e.slots.clone()), Some(vec![7]));
        let a = root.get(b"a").and_then(|e| e.child).unwrap();
        assert_eq!(
            t.nodes[a].get(b"b.c").map(|e| e.slots.clone()),
            Some(vec![7])
        );
        let b = t.nodes[a].get(b"b").and_then(|e| e.child).unwrap();
        assert_eq!(t.nodes[b].get(b"c").map(|e| e.slots.clone()), Some(vec![7]));
        let ab = root.get(b"a.b").and_then(|e| e.child).unwrap();
        assert_eq!(
            t.nodes[ab].get(b"c").map(|e| e.slots.clone()),
            Some(vec![7])
        );
        assert!(root.get(b"b").is_none());
    }

    #[test]
    fn one_key_feeds_several_slots() {
        let mut t = PathTree::default();
        t.insert("status", 1);
        t.insert("status", 4);
        assert_eq!(
            t.nodes[0].get(b"status").map(|e| e.slots.clone()),
            Some(vec![1, 4])
        );
    }

    #[test]
    fn every_key_is_found_and_no_other() {
        let mut t = PathTree::default();
        let key = |i: usize| format!("latency_{i}_{}", "x".repeat(i % 11));
        for i in (0..300).step_by(3) {
            t.insert(&key(i), i);
        }
        let root = &t.nodes[0];
        for i in 0..300 {
            let k = key(i);
            let want = (i % 3 == 0).then(|| vec![i]);
            assert_eq!(root.get(k.as_bytes()).map(|e| e.slots.clone()), want, "{k}");
            assert!(root.get(format!("{k}y").as_bytes()).is_none());
        }
        assert!(root.get(b"").is_none());
    }

    #[test]
    fn the_hash_table_finds_exactly_the_wanted_keys() {
        let mut seed = 0x5DEE_CE66_D1CE_4E5Du64;
        let mut word = |max: u64| {
            let r = crate::testing::xorshift(&mut seed);
            let len = 1 + (r % max) as usize;
            (0..len)
                .map(|i| char::from(b"abcdefghij_-"[((r >> (4 * i % 60)) % 12) as usize]))
                .collect::<String>()
        };
        for keys in [1, 2, 7, 12, 40, 120] {
            let mut t = PathTree::default();
            let mut wanted = std::collections::HashMap::new();
            while wanted.len() < keys {
                let k = word(14);
                if !k.contains('.') {
                    let slot = wanted.len();
                    wanted.entry(k.clone()).or_insert_with(|| {
                        t.insert(&k, slot);
                        slot
                    });
                }
            }
            let root = &t.nodes[0];
            // Distinct first words at these sizes: the table is in use.
            let mut words: Vec<_> = root.keys.iter().map(|(p, k, _)| (*p, k.len())).collect();
            words.sort_unstable();
            words.dedup();
            if words.len() == keys {
                assert!(!root.table.is_empty(), "{keys} keys");
            }
            for _ in 0..20_000 {
                let k = word(20);
                let want = wanted.get(&k).map(|&slot| vec![slot]);
                assert_eq!(root.get(k.as_bytes()).map(|e| e.slots.clone()), want, "{k}");
            }
            for (k, &slot) in &wanted {
                assert_eq!(
                    root.get(k.as_bytes()).map(|e| e.slots.clone()),
                    Some(vec![slot])
                );
            }
        }
    }
}
