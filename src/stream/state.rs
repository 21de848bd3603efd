//! The interface the stream loop drives a stage's state through, and the
//! whole job's [`Job`] behind it.

use std::time::Instant;

use super::{Checkpoint, Closed, Job, Outcome, PartitionKey, Scope, Source};

/// The state a stream stage keeps for its assigned partitions, driven by
/// the Kafka loop in [`crate::topology`].
pub trait StreamState: Send {
    fn assign(&mut self, key: PartitionKey, checkpoint: Option<Checkpoint>, now: Instant);
    fn revoke(&mut self, key: PartitionKey);
    fn reset(&mut self);
    fn process(&mut self, key: PartitionKey, offset: i64, payload: &[u8], now: Instant) -> Outcome;
    fn reached_end(&mut self, key: PartitionKey, now: Instant);
    fn restart_idle_clocks(&mut self, now: Instant);
    fn close(&mut self, now: Instant) -> Closed;
    fn commit_points(&self) -> Vec<(PartitionKey, i64, Checkpoint)>;
    fn watermark(&self, now: Instant) -> Option<i64>;
    fn frontier_ns(&self) -> i64;
    fn open_windows(&self) -> usize;
    /// The source partitions that exist (the rollup waits for each).
    fn set_sources(&mut self, _sources: Vec<Source>) {}
    /// Per SLI, the end up to which this stage has emitted its windows,
    /// when that differs between SLIs (a rollup: `i64::MIN` for the SLIs
    /// another instance owns).
    fn emitted_until(&self) -> Option<Vec<i64>> {
        None
    }
    /// Metrics of the stage beyond the common ones, in Prometheus text.
    fn render_metrics(&self, _now: Instant, _out: &mut String) {}
    /// What the stage's engine noticed about its input, when it decodes.
    fn probe(&self) -> Option<&crate::setup::Probe> {
        None
    }
    /// The partitions an ingest stage would report idle at `now`, for the
    /// loop to check against their end offsets first.
    fn idle_candidates(&self, _now: Instant) -> Vec<PartitionKey> {
        Vec::new()
    }
    /// A partition has more to read than the consumer has seen yet.
    fn more_to_read(&mut self, _key: PartitionKey) {}
}

impl StreamState for Job {
    fn probe(&self) -> Option<&crate::setup::Probe> {
        Some(self.engine.probe())
    }
    fn assign(&mut self, key: PartitionKey, checkpoint: Option<Checkpoint>, now: Instant) {
        Job::assign(self, key, checkpoint, now);
    }
    fn revoke(&mut self, key: PartitionKey) {
        Job::revoke(self, key);
    }
    fn reset(&mut self) {
        Job::reset(self);
    }
    fn process(&mut self, key: PartitionKey, offset: i64, payload: &[u8], now: Instant) -> Outcome {
        Job::process(self, key, offset, payload, now)
    }
    fn reached_end(&mut self, key: PartitionKey, now: Instant) {
        Job::reached_end(self, key, now);
    }
    fn restart_idle_clocks(&mut self, now: Instant) {
        Job::restart_idle_clocks(self, now);
    }
    fn close(&mut self, now: Instant) -> Closed {
        match self.scope {
            Scope::Shared => Closed::Windows(self.close_windows(now)),
            Scope::PerPartition => Closed::Handover(self.hand_over(now)),
        }
    }
    fn commit_points(&self) -> Vec<(PartitionKey, i64, Checkpoint)> {
        Job::commit_points(self)
    }
    fn watermark(&self, now: Instant) -> Option<i64> {
        Job::watermark(self, now)
    }
    fn frontier_ns(&self) -> i64 {
        Job::frontier_ns(self)
    }
    fn open_windows(&self) -> usize {
        Job::open_windows(self)
    }
    fn idle_candidates(&self, now: Instant) -> Vec<PartitionKey> {
        Job::idle_candidates(self, now)
    }
    fn more_to_read(&mut self, key: PartitionKey) {
        Job::more_to_read(self, key);
    }
}
