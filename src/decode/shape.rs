//! The shape of a compact line: the bytes between its values, and what to
//! do with each value.
//!
//! Lines from one logger differ in their values, rarely in anything else.
//! Once the compact path has read a line, its shape is taken: the line cut
//! at each member's value into the bytes before it (`{"ts":`, then
//! `,"req":{"method":`, where the line descends into a wanted object, then
//! `,"path":`...) and what the scanner did with that value (skipped it, put
//! it in a slot, or handed it to its entry in the path tree). The next line
//! is first read along that shape: every piece of it compared whole, each
//! value read as the scanner read it there. The scanner would have found
//! the same keys at the same places, so it would have done the same; a line
//! that differs anywhere is read the usual way.
//!
//! This module holds the shape; the compact path ([`super::compact`]) takes
//! it (`Shape::of`) and reads along it, with the grammar it reads by.

use super::paths::Entry;

/// Bytes of a line compared in one step: a longer piece takes several.
pub const STEP_BYTES: usize = 16;

/// `bytes` (at most [`STEP_BYTES`]) packed for comparison with a line: as
/// a little-endian word, zero-padded, and the mask of ones over them. The
/// line holds them where its next 16 bytes, loaded as a word `head`, give
/// `(head ^ word) & mask == 0`. Key tokens ([`super::order`]) are packed
/// the same way.
pub fn packed(bytes: &[u8]) -> (u128, u128) {
    let mut padded = [0u8; STEP_BYTES];
    padded[..bytes.len()].copy_from_slice(bytes);
    let mask = u128::MAX
        .checked_shr(8 * (STEP_BYTES - bytes.len()) as u32)
        .unwrap_or(0);
    (u128::from_le_bytes(padded), mask)
}

/// The most steps a shape holds (64 bytes each). A line of more members
/// (a line may be up to 1 GiB) is not read along a shape, so that no shape
/// holds many times the memory of its line.
pub const MAX_STEPS: usize = 1024;

/// The pieces of a line, in order.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub steps: Vec<Step>,
}

/// A piece of a line: up to [`STEP_BYTES`] bytes, then what to do next.
#[derive(Debug, Clone)]
pub struct Step {
    /// The bytes, little-endian, zero-padded.
    pub bytes: u128,
    /// Ones over the bytes.
    pub mask: u128,
    pub len: usize,
    /// The depth of the value after the bytes, as the scanner counts it.
    pub depth: usize,
    pub action: Action,
}

/// What follows a piece of a line.
#[derive(Debug, Clone)]
pub enum Action {
    /// More bytes: the piece goes on in the next step.
    More,
    /// An unwanted value.
    Skip,
    /// A value for this one slot (the entry's `plain` slot).
    Plain(usize),
    /// A value for this entry: the timestamp, several slots, or a key with
    /// a child (an object there is descended into, which this shape did not
    /// do: such a line is read the usual way).
    Entry(Box<Entry>),
    /// The end of the line.
    End,
}

impl Step {
    /// This step's bytes, for a line shorter than a step.
    pub fn bytes(&self) -> [u8; STEP_BYTES] {
        self.bytes.to_le_bytes()
    }
}

impl Shape {
    /// Adds the piece `bytes`, then `action`, in steps of up to
    /// [`STEP_BYTES`] bytes; `None` when the shape would hold more than
    /// [`MAX_STEPS`].
    pub(super) fn push(&mut self, bytes: &[u8], depth: usize, action: Action) -> Option<()> {
        if self.steps.len() + bytes.len().div_ceil(STEP_BYTES).max(1) > MAX_STEPS {
            return None;
        }
        if bytes.is_empty() {
            self.steps.push(Step {
                bytes: 0,
                mask: 0,
                len: 0,
                depth,
                action,
            });
            return Some(());
        }
        let mut chunks = bytes.chunks(STEP_BYTES).peekable();
        while let Some(chunk) = chunks.next() {
            let (word, mask) = packed(chunk);
            self.steps.push(Step {
                bytes: word,
                mask,
                len: chunk.len(),
                depth,
                action: if chunks.peek().is_some() {
                    Action::More
                } else {
                    action.clone()
                },
            });
        }
        Some(())
    }
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
