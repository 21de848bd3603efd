//! The stream job's state: event time across Kafka partitions, window
//! closing, and the offsets that are safe to commit.
//!
//! [`Job`] is pure state, driven by the Kafka loop in [`crate::topology`]
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
//!
//! The ingest stage of a scaled-out job ([`Scope::PerPartition`]) keeps the
//! windows of each partition apart and closes them on the partition's own
//! watermark, so another instance that takes the partition over computes
//! the same partial windows from the same offsets. A partition that turns
//! idle hands over snapshots of its open windows, so the rollup need not
//! wait for it (see [`crate::scale`]).

mod checkpoint;
mod state;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::time::{Duration, Instant};

pub use checkpoint::Checkpoint;
pub use state::StreamState;

use crate::config::Config;
use crate::engine::Engine;
use crate::reject::Reject;
use crate::window::{window_start, Window, WindowSet};

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

/// How far apart the partitions' windows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One set of windows for every partition, closed on the job's
    /// watermark (a single instance: `--role all`).
    Shared,
    /// Windows per partition, each closed on its partition's own watermark
    /// (the ingest stage of a scaled-out job).
    PerPartition,
}

#[derive(Debug)]
struct Partition {
    /// Newest event time seen.
    max_event_ns: Option<i64>,
    /// The consumer reached the end of the partition after its last event
    /// (rejected lines since do not count)...
    at_end: bool,
    /// ...at this moment (or the idle clocks were restarted then).
    ended_at: Instant,
    /// Next offset to read.
    position: Option<i64>,
    /// Offsets below this were handled before the restart.
    replay_until: i64,
    /// First offset of this partition's events in each open window.
    first_offsets: BTreeMap<i64, i64>,
    /// The window of the last counted event, to skip the map most of the time.
    last_window: i64,
    /// [`Scope::PerPartition`]: windows ending at or before this are closed.
    frontier_ns: i64,
    /// [`Scope::PerPartition`]: this partition's open windows, while another
    /// partition's are in the engine.
    windows: Option<WindowSet>,
    /// [`Scope::PerPartition`]: snapshots of the open windows were handed
    /// over since the partition turned idle.
    idle_handed_over: bool,
}

impl Partition {
    fn watermark(&self, out_of_orderness_ns: i64) -> Option<i64> {
        self.max_event_ns
            .map(|m| m.saturating_sub(out_of_orderness_ns))
    }

    fn is_idle(&self, now: Instant, idle_timeout: Duration) -> bool {
        self.at_end && now.saturating_duration_since(self.ended_at) >= idle_timeout
    }

    /// Forgets the offsets of windows that end at or before `closing`.
    fn forget_until(&mut self, closing: i64, size: i64) {
        self.first_offsets
            .retain(|&start, _| start.saturating_add(size) > closing);
        if self.last_window.saturating_add(size) <= closing {
            self.last_window = i64::MIN;
        }
    }
}

/// A source partition, by topic name.
pub type Source = (String, i32);

/// What the ingest stage hands to the rollup after a round of closing.
#[derive(Debug, Default)]
pub struct Handover {
    /// Windows of a partition that its watermark closed: final.
    pub closed: Vec<(PartitionKey, Window)>,
    /// Snapshots of the open windows of partitions that turned idle, with
    /// the position they cover (the next offset not read).
    pub snapshots: Vec<(PartitionKey, i64, Window)>,
    /// Every partition's progress, after the windows above.
    pub progress: Vec<Progress>,
}

/// Where one partition stands, as the rollup needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub key: PartitionKey,
    /// Every window ending at or before this was handed over, final.
    pub frontier_ns: i64,
    /// The partition's own watermark, once it has read an event.
    pub watermark_ns: Option<i64>,
    /// Idle, with snapshots of its open windows handed over.
    pub idle: bool,
}

/// What a round of closing produced, by stage.
#[derive(Debug)]
pub enum Closed {
    /// Complete windows of every SLI (`--role all`).
    Windows(Vec<Window>),
    /// Partial windows and progress for the rollup (`--role ingest`).
    Handover(Handover),
    /// Complete windows (`--role rollup`), in groups that each hold the
    /// SLIs marked `true` and no others.
    Groups(Vec<(Vec<bool>, Vec<Window>)>),
}

/// The stream job's state for every assigned partition.
pub struct Job {
    scope: Scope,
    engine: Engine,
    /// [`Scope::PerPartition`]: the partition whose windows are in the engine.
    current: Option<PartitionKey>,
    size_ns: i64,
    out_of_orderness_ns: i64,
    lateness_ns: i64,
    idle_timeout: Duration,
    /// Looked up for every message: a fast hash, as the keys are small integers.
    partitions: FxHashMap<PartitionKey, Partition>,
    frontier_ns: i64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Job {
    pub fn new(config: &Config) -> Job {
        Job::with_scope(config, Scope::Shared)
    }

    pub fn with_scope(config: &Config, scope: Scope) -> Job {
        Job {
            scope,
            engine: Engine::new(config),
            current: None,
            size_ns: config.window.size_ns,
            out_of_orderness_ns: nanos(config.window.max_out_of_orderness),
            lateness_ns: nanos(config.window.allowed_lateness),
            idle_timeout: config.window.idle_timeout,
            partitions: FxHashMap::default(),
            frontier_ns: i64::MIN,
        }
    }

    /// Windows ending at or before this are closed (in every partition).
    pub fn frontier_ns(&self) -> i64 {
        match self.scope {
            Scope::Shared => self.frontier_ns,
            Scope::PerPartition => self
                .partitions
                .values()
                .map(|p| p.frontier_ns)
                .min()
                .unwrap_or(i64::MIN),
        }
    }

    /// Number of windows still open (per partition, in the ingest stage).
    pub fn open_windows(&self) -> usize {
        self.engine.windows().len()
            + self
                .partitions
                .values()
                .filter_map(|p| p.windows.as_ref())
                .map(WindowSet::len)
                .sum::<usize>()
    }

    /// Restarts every partition's idle clock: after the process was stopped
    /// (SIGSTOP, a long pause), silence while it was not polling says
    /// nothing about the partitions.
    pub fn restart_idle_clocks(&mut self, now: Instant) {
        for p in self.partitions.values_mut() {
            p.ended_at = now;
        }
    }

    /// Puts the windows of `key` into the engine, keeping the engine's
    /// current ones with their partition.
    fn switch_to(&mut self, key: PartitionKey) {
        if self.current == Some(key) {
            return;
        }
        let fresh = || WindowSet::new(self.size_ns, self.engine.slis().len());
        let incoming = self
            .partitions
            .get_mut(&key)
            .and_then(|p| p.windows.take())
            .unwrap_or_else(fresh);
        let outgoing = std::mem::replace(self.engine.windows_mut(), incoming);
        if let Some(p) = self.current.and_then(|c| self.partitions.get_mut(&c)) {
            p.windows = Some(outgoing);
        }
        self.current = Some(key);
    }

    /// Gives the engine's windows back to their partition.
    fn park_current(&mut self) {
        if let Some(c) = self.current.take() {
            let empty = WindowSet::new(self.size_ns, self.engine.slis().len());
            let windows = std::mem::replace(self.engine.windows_mut(), empty);
            if let Some(p) = self.partitions.get_mut(&c) {
                p.windows = Some(windows);
            }
        }
    }

    /// Starts tracking a partition, from its committed checkpoint if any.
    /// The job's frontier moves up to the checkpoint's: windows emitted before
    /// the restart are never emitted again.
    pub fn assign(&mut self, key: PartitionKey, checkpoint: Option<Checkpoint>, now: Instant) {
        if let (Some(c), Scope::Shared) = (checkpoint, self.scope) {
            self.frontier_ns = self.frontier_ns.max(c.frontier_ns);
        }
        if self.current == Some(key) {
            self.park_current();
        }
        self.partitions.insert(
            key,
            Partition {
                max_event_ns: None,
                at_end: false,
                ended_at: now,
                position: None,
                replay_until: checkpoint.map_or(i64::MIN, |c| c.position),
                first_offsets: BTreeMap::new(),
                last_window: i64::MIN,
                frontier_ns: checkpoint.map_or(i64::MIN, |c| c.frontier_ns),
                windows: None,
                idle_handed_over: false,
            },
        );
    }

    /// Stops tracking a partition.
    pub fn revoke(&mut self, key: PartitionKey) {
        if self.current == Some(key) {
            self.park_current();
        }
        self.partitions.remove(&key);
    }

    /// Forgets every open window, partition and the frontier, before
    /// re-reading from the committed offsets: the partitions' checkpoints
    /// (given again to [`Job::assign`]) restore the frontier that was
    /// committed, and windows after it are recomputed in full.
    pub fn reset(&mut self) {
        self.current = None;
        self.engine.windows_mut().take_until(i64::MAX);
        self.partitions.clear();
        self.frontier_ns = i64::MIN;
    }

    /// Handles one message of an assigned partition. (`_now`: a message
    /// says nothing about idleness, which counts from the partition's end.)
    pub fn process(
        &mut self,
        key: PartitionKey,
        offset: i64,
        payload: &[u8],
        _now: Instant,
    ) -> Outcome {
        if self.scope == Scope::PerPartition && self.partitions.contains_key(&key) {
            self.switch_to(key);
        }
        let size = self.size_ns;
        let Some(p) = self.partitions.get_mut(&key) else {
            // A message of a partition we do not own (in flight during a
            // rebalance): leave it to its owner.
            return Outcome::Replayed;
        };
        let frontier = match self.scope {
            Scope::Shared => self.frontier_ns,
            Scope::PerPartition => p.frontier_ns,
        };
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
                p.at_end = false;
                p.idle_handed_over = false;
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
            Err(reason) => Outcome::Rejected(reason.into()),
        }
    }

    /// The partitions that count as idle at `now`. The consumer's last look
    /// at a partition's end may be old (a busy or stopped process, a broker
    /// that holds an empty fetch back, messages queued behind another
    /// partition's backlog), so the loop checks each against its end offset
    /// before its silence lets the others' watermarks close windows.
    pub fn idle_candidates(&self, now: Instant) -> Vec<PartitionKey> {
        let mut keys: Vec<PartitionKey> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.is_idle(now, self.idle_timeout))
            .map(|(&k, _)| k)
            .collect();
        keys.sort_unstable();
        keys
    }

    /// A partition has more to read than the consumer has seen: it is not
    /// at its end, nor idle, until the consumer reaches its end again.
    pub fn more_to_read(&mut self, key: PartitionKey) {
        if let Some(p) = self.partitions.get_mut(&key) {
            p.at_end = false;
        }
    }

    /// Notes that the consumer reached the end of a partition.
    pub fn reached_end(&mut self, key: PartitionKey, now: Instant) {
        if let Some(p) = self.partitions.get_mut(&key) {
            if !p.at_end {
                p.at_end = true;
                p.ended_at = now;
            }
        }
    }

    /// The job's watermark: `None` while a partition that is not idle has not
    /// delivered an event yet.
    pub fn watermark(&self, now: Instant) -> Option<i64> {
        combined_watermark(self.partitions.values().map(|p| {
            (
                p.is_idle(now, self.idle_timeout),
                p.watermark(self.out_of_orderness_ns),
            )
        }))
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
            p.forget_until(closing, size);
        }
        self.engine.windows_mut().take_until(closing)
    }

    /// [`Scope::PerPartition`]: closes each partition's windows on its own
    /// watermark (plus the allowed lateness), takes snapshots of the open
    /// windows of partitions that just turned idle, and reports every
    /// partition's progress.
    pub fn hand_over(&mut self, now: Instant) -> Handover {
        self.park_current();
        let mut out = Handover::default();
        let size = self.size_ns;
        let mut keys: Vec<PartitionKey> = self.partitions.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(p) = self.partitions.get_mut(&key) else {
                continue;
            };
            let watermark = p.watermark(self.out_of_orderness_ns);
            if let Some(wm) = watermark {
                let closing = wm.saturating_sub(self.lateness_ns);
                if closing > p.frontier_ns {
                    p.frontier_ns = closing;
                    p.forget_until(closing, size);
                    if let Some(ws) = p.windows.as_mut() {
                        out.closed
                            .extend(ws.take_until(closing).into_iter().map(|w| (key, w)));
                    }
                }
            }
            let idle = p.is_idle(now, self.idle_timeout);
            if idle && !p.idle_handed_over {
                p.idle_handed_over = true;
                if let (Some(ws), Some(position)) = (p.windows.as_ref(), p.position) {
                    let mut open = ws.clone().take_until(i64::MAX);
                    out.snapshots
                        .extend(open.drain(..).map(|w| (key, position, w)));
                }
            }
            out.progress.push(Progress {
                key,
                frontier_ns: p.frontier_ns,
                watermark_ns: watermark,
                idle: idle && p.idle_handed_over,
            });
        }
        out
    }

    /// For each partition that has read anything: the offset that is safe to
    /// commit, with the checkpoint to store beside it. Call only once every
    /// closed window is acknowledged by the sinks and every dead letter is
    /// delivered.
    pub fn commit_points(&self) -> Vec<(PartitionKey, i64, Checkpoint)> {
        self.partitions
            .iter()
            .filter_map(|(&key, p)| {
                let frontier_ns = match self.scope {
                    Scope::Shared => self.frontier_ns,
                    Scope::PerPartition => p.frontier_ns,
                };
                let first_open = p.first_offsets.values().min().copied();
                let (offset, checkpoint) =
                    commit_point(p.position?, first_open, frontier_ns, p.replay_until);
                Some((key, offset, checkpoint))
            })
            .collect()
    }
}

/// A stream's watermark from its partitions' (idle, watermark): the minimum
/// over the partitions that are not idle — `None` while one of them has no
/// watermark yet — and when every one is idle, the newest of theirs.
pub fn combined_watermark(parts: impl IntoIterator<Item = (bool, Option<i64>)>) -> Option<i64> {
    let mut active_min: Option<i64> = None;
    let mut idle_max: Option<i64> = None;
    let mut active = 0;
    for (idle, wm) in parts {
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

/// The offset to commit for a partition and the checkpoint beside it: the
/// first offset of its events in an open window, or its position when it
/// has none, so a replay from there recounts every open window in full.
pub fn commit_point(
    position: i64,
    first_open: Option<i64>,
    frontier_ns: i64,
    replay_until: i64,
) -> (i64, Checkpoint) {
    let offset = first_open.map_or(position, |o| o.min(position));
    (
        offset,
        Checkpoint {
            frontier_ns,
            position: position.max(replay_until),
        },
    )
}

#[cfg(test)]
mod tests;
