//! The key order of the previous line, to read the next one faster.
//!
//! Lines from one logger have their keys in the same order. For each
//! object of the path tree and each member position, the bytes of the key
//! seen there last time (`"service":`, quotes and colon included) and what
//! the tree said of it are kept; when the next line has exactly those bytes
//! at that position, the key is known without reading it as a string or
//! looking it up. Any other bytes take the usual way and are remembered
//! instead. A match compares the whole key token byte for byte, so a guess
//! never changes what a line decodes to.
//!
//! The same memory keeps the shape of a recent line ([`super::shape`]), and
//! when to take another: a shape that keeps failing early is taken after
//! ever longer waits, so that lines of changing shapes do not pay for it.

use super::shape::{packed, Shape, STEP_BYTES};

/// Members per object whose keys are remembered; later ones are read the
/// usual way.
const MEMBERS: usize = 64;

/// A key token up to this long (`"key":`) can be remembered: one load, as
/// a step of a shape.
const TOKEN_BYTES: usize = STEP_BYTES;

#[derive(Debug, Clone, Copy, Default)]
pub struct Token {
    /// The token's bytes, little-endian, zero-padded.
    bytes: u128,
    /// Ones over the token's bytes.
    mask: u128,
    /// The token's length; 0 for none.
    len: u8,
    /// The key's index in its tree node; `None` for an unwanted key.
    wanted: Option<u16>,
}

impl Token {
    /// When `s` holds this token at `i`: its length and the key's index in
    /// its node (`None`: unwanted).
    #[inline(always)]
    pub fn matches(&self, s: &[u8], i: usize) -> Option<(usize, Option<usize>)> {
        let head = u128::from_le_bytes(*s.get(i..)?.first_chunk::<TOKEN_BYTES>()?);
        (self.len != 0 && (head ^ self.bytes) & self.mask == 0)
            .then(|| (usize::from(self.len), self.wanted.map(usize::from)))
    }
}

/// Per node of the path tree, per member position, the last key token seen;
/// and the shape of a recent line, to read the next one along.
#[derive(Debug, Clone, Default)]
pub struct KeyOrder {
    nodes: Vec<Vec<Token>>,
    shape: Option<Shape>,
    /// Lines to read before a shape is taken again.
    wait: u32,
    /// What `wait` is set to when a shape fails early: doubled at each such
    /// failure, so that lines of ever-changing shapes soon stop paying for
    /// shapes.
    backoff: u32,
    /// Lines read along the shape since it was taken.
    fitted: u32,
}

/// Lines read along a shape for it to have paid for itself: reading a line
/// along it saves about a quarter of the line's reading, and a shape that
/// fails costs about a line's reading to take and a part of one to try.
/// Once it has, the next line's shape is taken at once.
pub(super) const WORTH: u32 = 16;

/// The longest wait before a shape is taken again.
const MAX_WAIT: u32 = 1 << 12;

impl KeyOrder {
    /// The shape to read the next line along, if any.
    #[inline(always)]
    pub fn shape(&self) -> Option<&Shape> {
        self.shape.as_ref()
    }

    /// Whether the line just read along the shape fitted it; one that did
    /// not drops it.
    #[inline(always)]
    pub fn shape_read(&mut self, fitted: bool) {
        if fitted {
            self.fitted = self.fitted.saturating_add(1);
        } else {
            self.shape_failed();
        }
    }

    /// Drops the shape. One that paid for itself is taken again from the
    /// next line; one that did not waits twice as long as the last.
    fn shape_failed(&mut self) {
        self.shape = None;
        self.backoff = if self.fitted >= WORTH {
            0
        } else {
            (self.backoff * 2).clamp(1, MAX_WAIT)
        };
        self.wait = self.backoff;
        self.fitted = 0;
    }

    /// Whether to take the shape of the line the compact path just read:
    /// when there is none, and no wait.
    #[inline(always)]
    pub fn wants_shape(&mut self) -> bool {
        if self.shape.is_some() {
            return false;
        }
        if self.wait > 0 {
            self.wait -= 1;
            return false;
        }
        true
    }

    /// Reads the next lines along `shape`; `None`, a line without one,
    /// counts as a shape that failed.
    pub fn set_shape(&mut self, shape: Option<Shape>) {
        match shape {
            Some(shape) => {
                self.shape = Some(shape);
                self.fitted = 0;
            }
            None => self.shape_failed(),
        }
    }

    /// The key tokens last seen in the objects of `node`, by member position.
    #[inline(always)]
    pub fn tokens(&self, node: usize) -> &[Token] {
        self.nodes.get(node).map_or(&[], Vec::as_slice)
    }

    /// Forgets every key token, keeping the memory: after a line the fast
    /// path could not read, so a guess that led it astray is not made again.
    pub fn forget(&mut self) {
        self.nodes.iter_mut().for_each(Vec::clear);
    }

    /// Remembers `token`, the key token just read as member `k` of an object
    /// of `node`, and the key's index in the node.
    pub fn learn(&mut self, node: usize, k: usize, token: &[u8], wanted: Option<usize>) {
        if k >= MEMBERS {
            return;
        }
        if self.nodes.len() <= node {
            self.nodes.resize(node + 1, Vec::new());
        }
        let members = &mut self.nodes[node];
        if members.len() <= k {
            members.resize(k + 1, Token::default());
        }
        let wanted = wanted.map(u16::try_from);
        members[k] = match (token.len(), wanted) {
            (len @ 1..=TOKEN_BYTES, None | Some(Ok(_))) => {
                let (bytes, mask) = packed(token);
                Token {
                    bytes,
                    mask,
                    len: len as u8,
                    wanted: wanted.and_then(Result::ok),
                }
            }
            _ => Token::default(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::KeyOrder;

    /// What the scanner asks: the token at member `k` of `node`, if `rest`
    /// starts with it.
    fn guess(
        order: &KeyOrder,
        node: usize,
        k: usize,
        rest: &[u8],
    ) -> Option<(usize, Option<usize>)> {
        order.tokens(node).get(k)?.matches(rest, 0)
    }

    #[test]
    fn a_guess_needs_the_whole_token_at_the_same_position() {
        let mut order = KeyOrder::default();
        let line = br#""service":"checkout","method":"GET"}  padding to 16 bytes"#;
        order.learn(0, 0, &line[..10], Some(3));
        order.learn(0, 1, b"\"method\":", None);
        assert_eq!(guess(&order, 0, 0, line), Some((10, Some(3))));
        assert_eq!(guess(&order, 0, 1, &line[21..]), Some((9, None)));
        // Another key, another position, another node, or too few bytes left.
        assert_eq!(guess(&order, 0, 0, &line[21..]), None);
        assert_eq!(guess(&order, 0, 1, line), None);
        assert_eq!(guess(&order, 1, 0, line), None);
        assert_eq!(guess(&order, 0, 2, line), None);
        assert_eq!(guess(&order, 0, 0, &line[..15]), None);
        // A key that only starts like the token does not match.
        assert_eq!(
            guess(&order, 0, 0, br#""services":"checkout","x":1}"#),
            None
        );
        // Tokens longer than sixteen bytes are not remembered.
        order.learn(0, 0, br#""a_very_long_key_name":"#, Some(1));
        assert_eq!(
            guess(&order, 0, 0, br#""a_very_long_key_name":1,"b":2}"#),
            None
        );
        // A token of exactly sixteen bytes is.
        let sixteen = br#""thirteen_char":"#;
        assert_eq!(sixteen.len(), 16);
        order.learn(0, 0, sixteen, Some(2));
        assert_eq!(guess(&order, 0, 0, sixteen), Some((16, Some(2))));
        order.forget();
        assert_eq!(guess(&order, 0, 0, sixteen), None);
        assert_eq!(guess(&order, 0, 1, &line[21..]), None);
    }
}
