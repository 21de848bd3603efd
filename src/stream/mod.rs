//! The stream job's state: event time across Kafka partitions, window
//! closing, and the offsets that are safe to commit.
//!
//! [`Job`] is pure state, driven by the Kafka loop in [`crate::sources::kafka`]
//! and tested here without a broker:
//!
//! - Each partition has a watermark: its newest event time minus
//!   `max_out_of_orderness`. The job's watermark is the minimum over the
//!   partitions that are not idle; when every partition is idle, the newest
//!   of their watermarks. A partition is idle when the consumer has reached
//!   its end and it then stayed silent for `idle_timeout`: a partition that
//!   is silent because its broker is unreachable still holds the watermark,
//!   so an outage never closes windows early.
//! - A window is closed once the watermark passes its end plus
//!   `allowed_lateness`. The *frontier* is the end up to which windows are
//!   closed; an event for a window ending at or before it is `too_late`.
//! - The offset committed for a partition is the first offset of its events
//!   in a window that is still open — or its position when it has none — so a
//!   replay from it recounts every open window in full. The frontier and the
//!   position ride along as the commit's metadata ([`Checkpoint`]).

mod checkpoint;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

pub use checkpoint::Checkpoint;

use crate::config::Config;
use crate::decode::Reject;
use crate::engine::Engine;
use crate::window::{window_start, Window};

/// A source partition: index of the topic in the configuration, and partition.
pub type PartitionKey = (usize, i32);

/// What the job did with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted in its window.
    Counted,
    /// Not an event; to be dead-lettered with this reason.
    Rejected(Reject),
    /// For a window that is already closed; to be dead-lettered.
    TooLate,
    /// Handled before a restart (counted in an emitted window, or already
    /// dead-lettered): skipped.
    Replayed,
}

#[derive(Debug)]
struct Partition {
    /// Newest event time seen.
    max_event_ns: Option<i64>,
    /// When the partition last delivered a message (or was assigned).
    last_seen: Instant,
    /// The consumer reached the end of the partition after its last message.
    at_end: bool,
    /// Next offset to read.
    position: Option<i64>,
    /// Offsets below this were handled before the restart.
    replay_until: i64,
    /// First offset of this partition's events in each open window.
    first_offsets: BTreeMap<i64, i64>,
    /// The window of the last counted event, to skip the map most of the time.
    last_window: i64,
}

/// The stream job's state for every assigned partition.
pub struct Job {
    engine: Engine,
    size_ns: i64,
    out_of_orderness_ns: i64,
    lateness_ns: i64,
    idle_timeout: Duration,
    partitions: HashMap<PartitionKey, Partition>,
    frontier_ns: i64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Job {
    pub fn new(config: &Config) -> Job {
        Job {
            engine: Engine::new(config),
            size_ns: config.window.size_ns,
            out_of_orderness_ns: nanos(config.window.max_out_of_orderness),
            lateness_ns: nanos(config.window.allowed_lateness),
            idle_timeout: config.window.idle_timeout,
            partitions: HashMap::new(),
            frontier_ns: i64::MIN,
        }
    }

    /// Windows ending at or before this are closed.
    pub fn frontier_ns(&self) -> i64 {
        self.frontier_ns
    }

    /// Number of windows still open.
    pub fn open_windows(&self) -> usize {
        self.engine.windows().len()
    }

    /// Starts tracking a partition, from its committed checkpoint if any.
    /// The job's frontier moves up to the checkpoint's: windows emitted before
    /// the restart are never emitted again.
    pub fn assign(&mut self, key: PartitionKey, checkpoint: Option<Checkpoint>, now: Instant) {
        if let Some(c) = checkpoint {
            self.frontier_ns = self.frontier_ns.max(c.frontier_ns);
        }
        self.partitions.insert(
            key,
            Partition {
                max_event_ns: None,
                last_seen: now,
                at_end: false,
                position: None,
                replay_until: checkpoint.map_or(i64::MIN, |c| c.position),
                first_offsets: BTreeMap::new(),
                last_window: i64::MIN,
            },
        );
    }

    /// Stops tracking a partition.
    pub fn revoke(&mut self, key: PartitionKey) {
        self.partitions.remove(&key);
    }

    /// Forgets every open window, partition and the frontier, before
    /// re-reading from the committed offsets: the partitions' checkpoints
    /// (given again to [`Job::assign`]) restore the frontier that was
    /// committed, and windows after it are recomputed in full.
    pub fn reset(&mut self) {
        self.engine.windows_mut().take_until(i64::MAX);
        self.partitions.clear();
        self.frontier_ns = i64::MIN;
    }

    /// Handles one message of an assigned partition.
    pub fn process(
        &mut self,
        key: PartitionKey,
        offset: i64,
        payload: &[u8],
        now: Instant,
    ) -> Outcome {
        let frontier = self.frontier_ns;
        let size = self.size_ns;
        let Some(p) = self.partitions.get_mut(&key) else {
            // A message of a partition we do not own (in flight during a
            // rebalance): leave it to its owner.
            return Outcome::Replayed;
        };
        p.last_seen = now;
        p.at_end = false;
        p.position = Some(offset + 1);
        let replayed = offset < p.replay_until;
        let mut too_late = false;
        let result = self.engine.process_if(payload, |time_ns| {
            let start = window_start(time_ns, size);
            if start.saturating_add(size) <= frontier {
                too_late = true;
                return false;
            }
            if start != p.last_window {
                p.first_offsets.entry(start).or_insert(offset);
                p.last_window = start;
            }
            true
        });
        match result {
            Ok((time_ns, counted)) => {
                p.max_event_ns = Some(p.max_event_ns.map_or(time_ns, |m| m.max(time_ns)));
                match (counted, replayed) {
                    (true, _) => Outcome::Counted,
                    (false, true) => Outcome::Replayed,
                    (false, false) => {
                        debug_assert!(too_late);
                        Outcome::TooLate
                    }
                }
            }
            Err(_) if replayed => Outcome::Replayed,
            Err(reason) => Outcome::Rejected(reason),
        }
    }

    /// Notes that the consumer reached the end of a partition.
    pub fn reached_end(&mut self, key: PartitionKey, now: Instant) {
        if let Some(p) = self.partitions.get_mut(&key) {
            if !p.at_end {
                p.at_end = true;
                p.last_seen = now;
            }
        }
    }

    /// The job's watermark: `None` while a partition that is not idle has not
    /// delivered an event yet.
    pub fn watermark(&self, now: Instant) -> Option<i64> {
        let mut active_min: Option<i64> = None;
        let mut idle_max: Option<i64> = None;
        let mut active = 0;
        for p in self.partitions.values() {
            let idle = p.at_end && now.saturating_duration_since(p.last_seen) >= self.idle_timeout;
            let wm = p
                .max_event_ns
                .map(|m| m.saturating_sub(self.out_of_orderness_ns));
            if idle {
                idle_max = idle_max.max(wm);
            } else {
                active += 1;
                let wm = wm?;
                active_min = Some(active_min.map_or(wm, |a| a.min(wm)));
            }
        }
        if active > 0 {
            active_min
        } else {
            idle_max
        }
    }

    /// Closes the windows the watermark has passed (plus the allowed
    /// lateness) and returns them, oldest first.
    pub fn close_windows(&mut self, now: Instant) -> Vec<Window> {
        let Some(wm) = self.watermark(now) else {
            return Vec::new();
        };
        let closing = wm.saturating_sub(self.lateness_ns);
        if closing <= self.frontier_ns {
            return Vec::new();
        }
        self.frontier_ns = closing;
        let size = self.size_ns;
        for p in self.partitions.values_mut() {
            p.first_offsets
                .retain(|&start, _| start.saturating_add(size) > closing);
            if p.last_window.saturating_add(size) <= closing {
                p.last_window = i64::MIN;
            }
        }
        self.engine.windows_mut().take_until(closing)
    }

    /// For each partition that has read anything: the offset that is safe to
    /// commit, with the checkpoint to store beside it. Call only once every
    /// closed window is acknowledged by the sinks and every dead letter is
    /// delivered.
    pub fn commit_points(&self) -> Vec<(PartitionKey, i64, Checkpoint)> {
        self.partitions
            .iter()
            .filter_map(|(&key, p)| {
                let position = p.position?;
                let first_open = p.first_offsets.values().min().copied();
                let offset = first_open.map_or(position, |o| o.min(position));
                Some((
                    key,
                    offset,
                    Checkpoint {
                        frontier_ns: self.frontier_ns,
                        position: position.max(p.replay_until),
                    },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
