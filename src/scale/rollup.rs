//! The rollup stage's state: partial windows from the ingest instances,
//! merged into complete windows once every source partition has passed
//! them.
//!
//! Each partials partition is a unit of its own (the SLIs that hash to it
//! meet there, with a copy of every progress report), so rollup instances
//! share the work by partials partition, through their consumer group.
//!
//! - A partial is the cumulative count of one source partition in one
//!   window up to an offset (`through`). The rollup keeps, per source
//!   partition and window, the version with the greatest `through`: a
//!   replayed or duplicated partial changes nothing, a newer snapshot
//!   replaces an older one, never adds to it.
//! - The rollup's watermark is computed as a single job would compute it,
//!   from the source partitions' own watermarks in their progress reports:
//!   the minimum over the partitions that are not idle; when all are idle,
//!   the newest of theirs. A window closes once that watermark passes its
//!   end plus `allowed_lateness`, every source partition has reported, and
//!   every partition that is not idle has handed its part over (its
//!   frontier passed the window). An idle partition has handed over
//!   snapshots of all its open windows before saying so.
//! - An idle report speaks for the moment its instance sent it, which the
//!   other instances' reports do not share: a partition idle while the
//!   stream paused may have woken up, unread by its lagging instance, by the
//!   time another instance reports its own partition past a window. So an
//!   idle partition lets windows close only as far as the other partitions
//!   had let them when its report was read; its instance repeats the
//!   report every second while it stays idle.
//! - The unit's frontier and read position ride in the commit metadata of
//!   the partials partition, as in the single job ([`Checkpoint`]): a
//!   restarted rollup never emits a window twice, and replays every partial
//!   of the windows it has not emitted.
//!
//! Why one long file: which partial replaces which, when a window is
//! complete and what a restart re-emits are one set of invariants; they are
//! read and tested together.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tracing::{error, warn};

use super::codec::{Message, Partial, Source, SourceState};
use crate::config::Config;
use crate::reject::Reject;
use crate::stream::{
    combined_watermark, commit_point, Checkpoint, Closed, Outcome, PartitionKey, StreamState,
};
use crate::window::{SliWindow, Window};

/// A source partition's part of a window: the offset it covers and its
/// counts per SLI (by index).
type Part = (i64, Vec<(usize, SliWindow)>);

/// One window of a unit, as its partials arrived.
#[derive(Debug, Default)]
struct Open {
    /// Offset of the first partials message of this window.
    first_offset: i64,
    /// Per source partition: the covered offset and the counts per SLI.
    parts: HashMap<Source, Part>,
}

/// The state of one partials partition.
#[derive(Debug)]
struct Unit {
    frontier_ns: i64,
    replay_until: i64,
    position: Option<i64>,
    /// How many events (summed over the unit's SLIs) each source's part
    /// held in the windows emitted last (at most [`EMITTED_KEPT`]): tells a
    /// duplicate of an emitted partial from one that carries events the
    /// record missed.
    emitted: BTreeMap<i64, HashMap<Source, u64>>,
    sources: HashMap<Source, SourceState>,
    /// For each source whose last report says idle: where the unit could
    /// close, not counting idle sources, when that report was read. Windows
    /// close past such a source no further than this (or its frontier).
    idle_covers: HashMap<Source, i64>,
    windows: BTreeMap<i64, Open>,
}

/// The rollup stage.
pub struct Rollup {
    size_ns: i64,
    lateness_ns: i64,
    sli_index: HashMap<String, usize>,
    sli_count: usize,
    /// Which partials partition each SLI meets on.
    partition_of_sli: Vec<i32>,
    units: HashMap<PartitionKey, Unit>,
    /// The source partitions that exist; every one must report before a
    /// window closes.
    sources: Vec<Source>,
    /// Partials for windows already emitted, covering offsets the emitted
    /// record did not.
    late_partials: u64,
}

/// Emitted windows whose parts' offsets a unit remembers.
const EMITTED_KEPT: usize = 256;

/// Up to where a source has handed its part of every window over: its
/// frontier, or, while idle, what its idle report covers; `None` before it
/// reported.
fn handed_over_until(unit: &Unit, source: &Source) -> Option<i64> {
    let state = unit.sources.get(source)?;
    let cover = unit.idle_covers.get(source).filter(|_| state.idle);
    Some(state.frontier_ns.max(cover.copied().unwrap_or(i64::MIN)))
}

impl Rollup {
    pub fn new(config: &Config, partials_partitions: i32) -> Rollup {
        Rollup {
            size_ns: config.window.size_ns,
            lateness_ns: i64::try_from(config.window.allowed_lateness.as_nanos())
                .unwrap_or(i64::MAX),
            sli_index: config
                .slis
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), i))
                .collect(),
            sli_count: config.slis.len(),
            partition_of_sli: config
                .slis
                .iter()
                .map(|s| super::partition_of(&s.name, partials_partitions))
                .collect(),
            units: HashMap::new(),
            sources: Vec::new(),
            late_partials: 0,
        }
    }

    /// The watermark over every source partition, as one job would have it;
    /// `None` while a partition has not reported or an active one has no
    /// watermark yet.
    fn watermark_of(&self, unit: &Unit) -> Option<i64> {
        if self.sources.is_empty() {
            return None;
        }
        let states = self
            .sources
            .iter()
            .map(|s| unit.sources.get(s).map(|st| (st.idle, st.watermark_ns)))
            .collect::<Option<Vec<_>>>()?;
        combined_watermark(states)
    }

    /// Where a unit may close as far as the partitions that are not idle
    /// go: the watermark less the lateness, but not past a partition that
    /// is not idle and has not handed over.
    fn closing_of_active(&self, unit: &Unit) -> Option<i64> {
        let wm = self.watermark_of(unit)?;
        let mut closing = wm.saturating_sub(self.lateness_ns);
        for s in &self.sources {
            let state = unit.sources.get(s)?;
            if !state.idle {
                closing = closing.min(state.frontier_ns);
            }
        }
        Some(closing)
    }

    /// Where a unit may close up to now: [`Rollup::closing_of_active`], and
    /// no further than any partition has handed over.
    fn closing_of(&self, unit: &Unit) -> Option<i64> {
        let mut closing = self.closing_of_active(unit)?;
        for s in &self.sources {
            closing = closing.min(handed_over_until(unit, s)?);
        }
        Some(closing)
    }

    fn apply_partial(&mut self, key: PartitionKey, offset: i64, p: Partial) -> Outcome {
        let size = self.size_ns;
        let Some(unit) = self.units.get_mut(&key) else {
            return Outcome::Replayed;
        };
        let replayed = offset < unit.replay_until;
        if p.start_ns.saturating_add(size) <= unit.frontier_ns {
            // A duplicate of what was emitted (a replay), or events of an
            // idle partition that came after the window closed: the emitted
            // record stands; only the second kind is counted. A window
            // emitted too long ago (or before a restart) is taken for a
            // duplicate.
            let events: u64 = p.slis.iter().map(|(_, w)| w.total).sum();
            let late = match unit.emitted.get(&p.start_ns) {
                Some(parts) => events > parts.get(&p.source).copied().unwrap_or(0),
                None => false,
            };
            if !replayed && late {
                self.late_partials += 1;
            }
            return Outcome::Replayed;
        }
        let mut slis = Vec::with_capacity(p.slis.len());
        for (name, w) in p.slis {
            match self.sli_index.get(&name) {
                Some(&i) => slis.push((i, w)),
                None => {
                    warn!(sli = %name, "A partial names an SLI this configuration does not have: run every stage with the same configuration.");
                }
            }
        }
        let open = unit.windows.entry(p.start_ns).or_insert_with(|| Open {
            first_offset: offset,
            parts: HashMap::new(),
        });
        open.first_offset = open.first_offset.min(offset);
        match open.parts.get(&p.source) {
            Some((through, _)) if *through >= p.through => {}
            _ => {
                open.parts.insert(p.source, (p.through, slis));
            }
        }
        Outcome::Counted
    }

    /// Notes how far the sources just reported idle cover: as far as the
    /// others, as this unit knows them now, let windows close.
    fn cover_idle(&mut self, key: PartitionKey, idle: Vec<Source>) {
        let Some(unit) = self.units.get(&key) else {
            return;
        };
        let cover = self.closing_of_active(unit);
        let Some(unit) = self.units.get_mut(&key) else {
            return;
        };
        for source in idle {
            match cover {
                Some(c) => unit.idle_covers.insert(source, c),
                None => unit.idle_covers.remove(&source),
            };
        }
    }

    /// Closes the windows a unit may close; `None` when nothing is due.
    fn close_unit(&mut self, key: PartitionKey) -> Option<(Vec<bool>, Vec<Window>)> {
        let unit = self.units.get(&key)?;
        let closing = self.closing_of(unit)?;
        if closing <= unit.frontier_ns {
            return None;
        }
        let (size, sli_count) = (self.size_ns, self.sli_count);
        let unit = self.units.get_mut(&key)?;
        unit.frontier_ns = closing;
        let mut windows = Vec::new();
        while let Some(entry) = unit.windows.first_entry() {
            if entry.key().saturating_add(size) > closing {
                break;
            }
            let (start_ns, open) = entry.remove_entry();
            let mut slis = vec![SliWindow::default(); sli_count].into_boxed_slice();
            // Merge in a fixed order of sources, so a summary beyond its
            // capacity does not depend on the order partials arrived in.
            let mut parts: Vec<(Source, Part)> = open.parts.into_iter().collect();
            parts.sort_by(|a, b| a.0.cmp(&b.0));
            let mut covered = HashMap::with_capacity(parts.len());
            for (source, (_, counts)) in parts {
                let mut events = 0;
                for (i, w) in counts {
                    events += w.total;
                    slis[i].merge(&w);
                }
                covered.insert(source, events);
            }
            unit.emitted.insert(start_ns, covered);
            while unit.emitted.len() > EMITTED_KEPT {
                unit.emitted.pop_first();
            }
            windows.push(Window { start_ns, slis });
        }
        let owned = self.partition_of_sli.iter().map(|&q| q == key.1).collect();
        Some((owned, windows))
    }
}

impl StreamState for Rollup {
    fn assign(&mut self, key: PartitionKey, checkpoint: Option<Checkpoint>, _now: Instant) {
        self.units.insert(
            key,
            Unit {
                frontier_ns: checkpoint.map_or(i64::MIN, |c| c.frontier_ns),
                replay_until: checkpoint.map_or(i64::MIN, |c| c.position),
                position: None,
                emitted: BTreeMap::new(),
                sources: HashMap::new(),
                idle_covers: HashMap::new(),
                windows: BTreeMap::new(),
            },
        );
    }

    fn revoke(&mut self, key: PartitionKey) {
        self.units.remove(&key);
    }

    fn reset(&mut self) {
        self.units.clear();
    }

    fn process(
        &mut self,
        key: PartitionKey,
        offset: i64,
        payload: &[u8],
        _now: Instant,
    ) -> Outcome {
        let Some(unit) = self.units.get_mut(&key) else {
            return Outcome::Replayed;
        };
        unit.position = Some(offset + 1);
        let replayed = offset < unit.replay_until;
        match Message::decode(payload) {
            Ok(Message::Partial(p)) => self.apply_partial(key, offset, p),
            Ok(Message::Progress(entries)) => {
                let mut idle = Vec::new();
                for (source, state) in entries {
                    if state.idle {
                        idle.push(source.clone());
                    }
                    let s = unit.sources.entry(source).or_insert(state);
                    // Every frontier reported is true of what was sent before
                    // it, whichever instance sent it.
                    let frontier_ns = s.frontier_ns.max(state.frontier_ns);
                    *s = SourceState {
                        frontier_ns,
                        ..state
                    };
                }
                self.cover_idle(key, idle);
                Outcome::Counted
            }
            Err(_) if replayed => Outcome::Replayed,
            Err(e) => {
                error!(partition = key.1, offset, error = %format!("{e:#}"), "Cannot read a message of the partials topic; dead-lettering it.");
                Outcome::Rejected(Reject::BadPartial)
            }
        }
    }

    fn reached_end(&mut self, _key: PartitionKey, _now: Instant) {}

    fn restart_idle_clocks(&mut self, _now: Instant) {}

    fn close(&mut self, _now: Instant) -> Closed {
        let mut keys: Vec<PartitionKey> = self.units.keys().copied().collect();
        keys.sort_unstable();
        Closed::Groups(
            keys.into_iter()
                .filter_map(|k| self.close_unit(k))
                .collect(),
        )
    }

    fn commit_points(&self) -> Vec<(PartitionKey, i64, Checkpoint)> {
        self.units
            .iter()
            .filter_map(|(&key, u)| {
                let first_open = u.windows.values().map(|o| o.first_offset).min();
                let (offset, checkpoint) =
                    commit_point(u.position?, first_open, u.frontier_ns, u.replay_until);
                Some((key, offset, checkpoint))
            })
            .collect()
    }

    fn watermark(&self, _now: Instant) -> Option<i64> {
        self.units
            .values()
            .filter_map(|u| self.watermark_of(u))
            .min()
    }

    fn frontier_ns(&self) -> i64 {
        self.units
            .values()
            .map(|u| u.frontier_ns)
            .min()
            .unwrap_or(i64::MIN)
    }

    fn open_windows(&self) -> usize {
        self.units.values().map(|u| u.windows.len()).sum()
    }

    fn emitted_until(&self) -> Option<Vec<i64>> {
        Some(
            self.partition_of_sli
                .iter()
                .map(|&q| {
                    self.units
                        .iter()
                        .find(|(k, _)| k.1 == q)
                        .map_or(i64::MIN, |(_, u)| u.frontier_ns)
                })
                .collect(),
        )
    }

    fn set_sources(&mut self, sources: Vec<Source>) {
        // Kafka never removes partitions: a shorter answer is a metadata
        // error, and forgetting a partition would close windows without it.
        self.sources.extend(sources);
        self.sources.sort();
        self.sources.dedup();
    }

    fn render_metrics(&self, _now: Instant, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP slipstream_rollup_partials_held Partial windows held for windows not yet complete.\n# TYPE slipstream_rollup_partials_held gauge\nslipstream_rollup_partials_held {}",
            self.units
                .values()
                .flat_map(|u| u.windows.values())
                .map(|o| o.parts.len())
                .sum::<usize>()
        );
        let _ = writeln!(
            out,
            "# HELP slipstream_rollup_late_partials_total Partials carrying events that arrived after their window was emitted (the emitted record stands; duplicates are not counted).\n# TYPE slipstream_rollup_late_partials_total counter\nslipstream_rollup_late_partials_total {}",
            self.late_partials
        );
        // Which source partitions the oldest open window of each unit waits on.
        let mut waiting: BTreeMap<&Source, usize> = BTreeMap::new();
        for u in self.units.values() {
            let Some((&start, _)) = u.windows.first_key_value() else {
                continue;
            };
            let end = start.saturating_add(self.size_ns);
            for s in &self.sources {
                let holds = handed_over_until(u, s).is_none_or(|until| until < end);
                if holds {
                    *waiting.entry(s).or_default() += 1;
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP slipstream_rollup_waiting_on Partials partitions whose oldest open window waits on this source partition (not reported, or not past the window).\n# TYPE slipstream_rollup_waiting_on gauge"
        );
        for ((topic, partition), n) in waiting {
            let _ = writeln!(
                out,
                "slipstream_rollup_waiting_on{{topic=\"{}\",partition=\"{partition}\"}} {n}",
                crate::telemetry::label(topic)
            );
        }
    }
}

#[cfg(test)]
#[path = "rollup_tests.rs"]
mod tests;
