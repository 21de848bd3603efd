//! Where request logs come from, as batches of lines with their origin.
//!
//! - [`files`]: archived logs (files, directories, stdin), read in order
//!   and cut into chunks of whole lines from one input, each with its
//!   input and first line number.
//! - [`kafka`]: the stream job's messages, copied out of the consumer into
//!   batches, each message with its partition and offset.
//!
//! The two keep their own batch types (see ARCHITECTURE.md): a chunk of a
//! file is consecutive lines of one input, a batch of messages mixes
//! partitions and carries end-of-partition marks. What they share is how a
//! line's origin is named to the outside, [`crate::dead_letter::Origin`].

pub mod files;
pub mod kafka;
