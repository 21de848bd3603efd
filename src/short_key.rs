//! A short byte string kept in place: the keys of hash tables that are
//! looked up for every event (the filter index's values, a grouped SLI's
//! groups). Up to [`ShortKey::INLINE`] bytes (routes, hosts, methods) sit in
//! the table's own slot, so a lookup compares them without following a
//! pointer, which with a thousand keys stays in the core's cache; longer
//! ones are on the heap. It hashes and compares as its bytes do, so a
//! `&[u8]` looks it up.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone)]
pub enum ShortKey {
    Inline {
        len: u8,
        bytes: [u8; ShortKey::INLINE],
    },
    Heap(Box<[u8]>),
}

impl ShortKey {
    /// The most bytes kept in place: the key then takes 24 bytes, as a
    /// boxed slice and its tag would.
    pub const INLINE: usize = 22;

    pub fn new(b: &[u8]) -> ShortKey {
        if b.len() > ShortKey::INLINE {
            return ShortKey::Heap(b.into());
        }
        let mut bytes = [0; ShortKey::INLINE];
        bytes[..b.len()].copy_from_slice(b);
        ShortKey::Inline {
            len: b.len() as u8,
            bytes,
        }
    }

    /// The bytes a long key holds on the heap; none for a short one.
    pub fn heap_bytes(&self) -> usize {
        match self {
            ShortKey::Inline { .. } => 0,
            ShortKey::Heap(b) => b.len(),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ShortKey::Inline { len, bytes } => &bytes[..usize::from(*len)],
            ShortKey::Heap(b) => b,
        }
    }
}

impl PartialEq for ShortKey {
    fn eq(&self, other: &ShortKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ShortKey {}

impl Hash for ShortKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for ShortKey {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Keys on either side of the inline limit are found by their bytes,
    /// and keep them, empty and NUL-padded ones included.
    #[test]
    fn keys_of_every_length_are_found_by_their_bytes() {
        let keys: Vec<Vec<u8>> = (0..40)
            .map(|n| (0..n).map(|i| b"/r/\0x"[i % 5]).collect())
            .collect();
        let map: HashMap<ShortKey, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (ShortKey::new(k), i))
            .collect();
        assert_eq!(map.len(), keys.len(), "every length is a key of its own");
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.get(k.as_slice()), Some(&i));
            assert_eq!(ShortKey::new(k).as_bytes(), k.as_slice());
            assert_eq!(
                matches!(ShortKey::new(k), ShortKey::Inline { .. }),
                k.len() <= ShortKey::INLINE
            );
        }
        assert_eq!(map.get(&b"/r/x"[..]), None);
        assert_eq!(std::mem::size_of::<ShortKey>(), 24);
    }
}
