//! The stream job's messages as batches: payloads copied out of the
//! consumer into one buffer, each with its partition and offset, and marks
//! where a partition reached its end, in the order the consumer gave them.
//! The consumer itself (group, rebalance hooks, commits) is
//! [`crate::kafka::consumer`] and the job that drives it
//! [`crate::topology`].

use std::ops::Range;

use crate::stream::PartitionKey;

/// Messages a batch holds before it is handed on.
pub const BATCH_MESSAGES: usize = 2048;
/// The offset of an entry that marks the end of a partition.
const END_OF_PARTITION: i64 = i64::MIN;

/// Messages copied out of the consumer.
pub struct MessageBatch {
    data: Vec<u8>,
    messages: Vec<(PartitionKey, i64, Range<usize>)>,
}

/// One entry of a [`MessageBatch`].
pub enum Entry<'a> {
    /// A message: its partition, offset and payload.
    Message {
        key: PartitionKey,
        offset: i64,
        payload: &'a [u8],
    },
    /// The partition reached its end (at this place among the messages).
    End(PartitionKey),
}

impl Default for MessageBatch {
    fn default() -> MessageBatch {
        MessageBatch {
            data: Vec::with_capacity(1 << 20),
            messages: Vec::with_capacity(BATCH_MESSAGES),
        }
    }
}

impl MessageBatch {
    /// Adds a message; whether the batch is full.
    #[inline]
    pub fn push(&mut self, key: PartitionKey, offset: i64, payload: &[u8]) -> bool {
        let start = self.data.len();
        self.data.extend_from_slice(payload);
        self.messages.push((key, offset, start..self.data.len()));
        self.messages.len() >= BATCH_MESSAGES
    }

    /// Marks, in order with the messages, that a partition reached its end.
    pub fn push_end(&mut self, key: PartitionKey) {
        self.messages.push((key, END_OF_PARTITION, 0..0));
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Drops every entry, keeping the memory.
    pub fn clear(&mut self) {
        self.messages.clear();
        self.data.clear();
    }

    /// The entries in the order they were added.
    #[inline]
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.messages.iter().map(|(key, offset, range)| {
            if *offset == END_OF_PARTITION {
                Entry::End(*key)
            } else {
                Entry::Message {
                    key: *key,
                    offset: *offset,
                    payload: &self.data[range.clone()],
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, MessageBatch};

    #[test]
    fn entries_come_back_in_order_with_their_payloads() {
        let mut b = MessageBatch::default();
        assert!(b.is_empty());
        assert!(!b.push((0, 1), 7, b"first"));
        b.push_end((0, 2));
        assert!(!b.push((1, 1), 0, b""));
        assert!(!b.push((0, 1), 8, b"second"));
        let got: Vec<String> = b
            .entries()
            .map(|e| match e {
                Entry::Message {
                    key,
                    offset,
                    payload,
                } => format!("{key:?}@{offset}={}", String::from_utf8_lossy(payload)),
                Entry::End(key) => format!("{key:?} end"),
            })
            .collect();
        assert_eq!(
            got,
            [
                "(0, 1)@7=first",
                "(0, 2) end",
                "(1, 1)@0=",
                "(0, 1)@8=second"
            ]
        );
        b.clear();
        assert!(b.is_empty());
        let full = (0..super::BATCH_MESSAGES).map(|i| b.push((0, 0), i as i64, b"x"));
        assert_eq!(full.filter(|&f| f).count(), 1);
    }
}
