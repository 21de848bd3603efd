//! Sources of request logs. Archived files are read by [`crate::backfill`];
//! [`kafka`] is the stream job's consumer.

pub mod kafka;
