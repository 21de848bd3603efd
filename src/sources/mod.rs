//! Sources of request logs. Archived files are read by [`crate::backfill`];
//! the stream job's consumer is built in [`crate::topology`] with the
//! consumer context of [`crate::kafka::consumer`].
