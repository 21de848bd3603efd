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
mod tests {
    use super::*;
    use crate::stream::{Job, Scope};
    use std::time::Duration;

    const CONFIG: &str = r#"
        [window]
        size = "1m"
        max_out_of_orderness = "0s"
        allowed_lateness = "0s"
        idle_timeout = "1s"

        [[sli]]
        name = "availability"
        good = "status < 500"

        [[sli]]
        name = "latency"
        good = "latency <= 300ms"
    "#;

    fn config() -> Config {
        Config::parse("scale.toml".as_ref(), CONFIG).expect("config")
    }

    fn event(t_s: i64, status: u32, latency_ms: u32) -> Vec<u8> {
        let ts = crate::time::format_rfc3339(t_s * 1_000_000_000);
        format!(r#"{{"timestamp":"{ts}","status":{status},"latency":{latency_ms}}}"#).into_bytes()
    }

    /// Events of three source partitions: (partition, time, status, latency).
    fn events() -> Vec<(i32, i64, u32, u32)> {
        let mut v = Vec::new();
        let mut x = 7u64;
        for i in 0..900i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let p = (x >> 33) as i32 % 3;
            let status = if (x >> 20) % 10 == 0 { 503 } else { 200 };
            v.push((p, i / 2, status, ((x >> 40) % 700) as u32));
        }
        // Every partition moves past the last window.
        for p in 0..3 {
            v.push((p, 1000, 200, 1));
        }
        v
    }

    /// The windows one job computes from all partitions.
    fn single(config: &Config) -> Vec<Window> {
        let mut job = Job::new(config);
        let now = Instant::now();
        for p in 0..3 {
            job.assign((0, p), None, now);
        }
        let mut offsets = [0i64; 3];
        for (p, t, s, l) in events() {
            job.process((0, p), offsets[p as usize], &event(t, s, l), now);
            offsets[p as usize] += 1;
        }
        job.close_windows(now)
    }

    /// Runs ingest per partition into partials messages, in the order given.
    fn ingest(config: &Config, order: &[i32], q_count: i32) -> Vec<(i32, Vec<u8>)> {
        let mut job = Job::with_scope(config, Scope::PerPartition);
        let now = Instant::now();
        for p in 0..3 {
            job.assign((0, p), None, now);
        }
        let evs = events();
        let mut offsets = [0i64; 3];
        let mut out = Vec::new();
        let topics = vec!["requests".to_string()];
        for &p in order {
            for &(ep, t, s, l) in evs.iter().filter(|e| e.0 == p) {
                job.process((0, ep), offsets[p as usize], &event(t, s, l), now);
                offsets[p as usize] += 1;
            }
            let handover = job.hand_over(now);
            out.extend(
                super::super::messages(config, &topics, &handover, q_count, true).in_order(),
            );
        }
        out
    }

    fn rollup(config: &Config, messages: &[(i32, Vec<u8>)], q_count: i32) -> Vec<Window> {
        let mut r = Rollup::new(config, q_count);
        let now = Instant::now();
        r.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
        for q in 0..q_count {
            r.assign((0, q), None, now);
        }
        let mut offsets = vec![0i64; q_count as usize];
        let mut merged: BTreeMap<i64, Window> = BTreeMap::new();
        for (q, m) in messages {
            r.process((0, *q), offsets[*q as usize], m, now);
            offsets[*q as usize] += 1;
            if let Closed::Groups(groups) = r.close(now) {
                for (_, ws) in groups {
                    for w in ws {
                        let e = merged.entry(w.start_ns).or_insert_with(|| Window {
                            start_ns: w.start_ns,
                            slis: vec![SliWindow::default(); config.slis.len()].into(),
                        });
                        for (a, b) in e.slis.iter_mut().zip(w.slis.iter()) {
                            a.merge(b);
                        }
                    }
                }
            }
        }
        merged.into_values().collect()
    }

    #[test]
    fn ingest_then_rollup_equals_one_job_in_any_order_with_duplicates() {
        let config = config();
        let want = single(&config);
        assert!(want.len() >= 7, "{} windows", want.len());
        for q_count in [1, 2, 5] {
            for order in [[0, 1, 2], [2, 0, 1]] {
                let mut messages = ingest(&config, &order, q_count);
                assert_eq!(
                    rollup(&config, &messages, q_count),
                    want,
                    "q={q_count} {order:?}"
                );
                // Every message twice (a replay after an ingest crash).
                let again = messages.clone();
                messages.extend(again);
                assert_eq!(rollup(&config, &messages, q_count), want);
            }
        }
    }

    #[test]
    fn nothing_closes_until_every_source_partition_reported() {
        let config = config();
        let messages = ingest(&config, &[0, 1], 1);
        let mut r = Rollup::new(&config, 1);
        let now = Instant::now();
        r.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
        r.assign((0, 0), None, now);
        for (i, (_, m)) in messages.iter().enumerate() {
            r.process((0, 0), i as i64, m, now);
        }
        match r.close(now) {
            Closed::Groups(g) => assert!(g.is_empty(), "{g:?}"),
            other => panic!("{other:?}"),
        }
        let mut text = String::new();
        r.render_metrics(now, &mut text);
        assert!(
            text.contains("slipstream_rollup_waiting_on{topic=\"requests\",partition=\"2\"} 1"),
            "{text}"
        );
    }

    /// Two ingest instances, one source partition each: both hand over
    /// snapshots and go idle while the stream pauses; when it resumes,
    /// instance `b` reports its partition past window 0 before instance
    /// `a`, which lags, reports that its own partition woke up. The rollup
    /// must not take `a`'s idle report, read before `b`'s progress, as
    /// covering it: window 0 would close with `a`'s snapshot.
    #[test]
    fn an_idle_report_read_before_another_partition_moved_on_closes_nothing_past_it() {
        let config = config();
        let topics = vec!["requests".to_string()];
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(2);
        let (mut a, mut b) = (
            Job::with_scope(&config, Scope::PerPartition),
            Job::with_scope(&config, Scope::PerPartition),
        );
        a.assign((0, 0), None, t0);
        b.assign((0, 1), None, t0);
        // Every event of both partitions, for the oracle.
        let mut read: Vec<(i32, i64, Vec<u8>)> = Vec::new();
        let mut feed = |job: &mut Job, p: i32, times: std::ops::Range<i64>| {
            for t in times {
                let offset = read.iter().filter(|e| e.0 == p).count() as i64;
                let payload = event(t, if t % 3 == 0 { 503 } else { 200 }, 10);
                job.process((0, p), offset, &payload, t0);
                read.push((p, offset, payload));
            }
        };
        let out = |job: &mut Job, at: Instant| {
            super::super::messages(&config, &topics, &job.hand_over(at), 1, true).in_order()
        };
        // The first half of window 0, then a pause past the idle timeout.
        feed(&mut a, 0, 0..30);
        feed(&mut b, 1, 0..30);
        a.reached_end((0, 0), t0);
        b.reached_end((0, 1), t0);
        let mut topic = out(&mut a, later);
        topic.extend(out(&mut b, later));
        // The stream resumes: the rest of window 0 and beyond in both.
        feed(&mut a, 0, 30..90);
        feed(&mut b, 1, 30..90);
        topic.extend(out(&mut b, later));
        topic.extend(out(&mut a, later));
        // Both move far on, so every window up to 120 s closes.
        feed(&mut a, 0, 200..201);
        feed(&mut b, 1, 200..201);
        topic.extend(out(&mut b, later));
        topic.extend(out(&mut a, later));

        let mut r = Rollup::new(&config, 1);
        r.set_sources(vec![("requests".into(), 0), ("requests".into(), 1)]);
        r.assign((0, 0), None, later);
        let mut emitted = Vec::new();
        for (offset, (_, m)) in topic.iter().enumerate() {
            r.process((0, 0), offset as i64, m, later);
            if let Closed::Groups(groups) = r.close(later) {
                emitted.extend(groups.into_iter().flat_map(|(_, w)| w));
            }
        }
        let mut single = Job::new(&config);
        single.assign((0, 0), None, t0);
        single.assign((0, 1), None, t0);
        for (p, offset, payload) in &read {
            single.process((0, *p), *offset, payload, t0);
        }
        let want = single.close_windows(t0);
        assert_eq!(want.len(), 2, "windows 0 and 60 s");
        assert_eq!(want[0].slis[0].total, 120);
        assert_eq!(want[0].slis[0].bad, 40);
        assert_eq!(emitted, want);
    }

    #[test]
    fn an_idle_partition_hands_over_its_open_windows() {
        let config = config();
        let mut job = Job::with_scope(&config, Scope::PerPartition);
        let t0 = Instant::now();
        job.assign((0, 0), None, t0);
        job.assign((0, 1), None, t0);
        // Partition 1 has one old event and goes quiet; partition 0 moves on.
        job.process((0, 1), 0, &event(30, 503, 10), t0);
        job.reached_end((0, 1), t0);
        for (i, t) in (0..200).enumerate() {
            job.process((0, 0), i as i64, &event(t, 200, 10), t0);
        }
        let topics = vec!["requests".to_string()];
        let later = t0 + Duration::from_secs(2);
        let h = job.hand_over(later);
        assert_eq!(h.snapshots.len(), 1, "{h:?}");
        let messages = super::super::messages(&config, &topics, &h, 1, true).in_order();
        let mut r = Rollup::new(&config, 1);
        r.set_sources(vec![("requests".into(), 0), ("requests".into(), 1)]);
        r.assign((0, 0), None, later);
        for (i, (_, m)) in messages.iter().enumerate() {
            r.process((0, 0), i as i64, m, later);
        }
        let Closed::Groups(groups) = r.close(later) else {
            panic!("rollup closes groups");
        };
        let first = &groups[0].1[0];
        assert_eq!(first.start_ns, 0);
        assert_eq!(
            first.slis[0].total, 61,
            "60 events of partition 0, 1 of partition 1"
        );
        assert_eq!(first.slis[0].bad, 1);
        // A second hand-over while still idle sends no new snapshot.
        assert!(job.hand_over(later).snapshots.is_empty());
    }

    /// Partition 0 has one event at 10 s and turns idle; partition 1 is far
    /// ahead. Returns the ingest state and its hand-over's messages.
    fn idle_snapshot(
        config: &Config,
        topics: &[String],
        later: Instant,
    ) -> (Job, Vec<(i32, Vec<u8>)>) {
        let mut job = Job::with_scope(config, Scope::PerPartition);
        let t0 = later - Duration::from_secs(2);
        job.assign((0, 0), None, t0);
        job.assign((0, 1), None, t0);
        job.process((0, 0), 0, &event(10, 200, 10), t0);
        job.reached_end((0, 0), t0);
        job.process((0, 1), 0, &event(300, 200, 10), t0);
        let messages = super::super::messages(config, topics, &job.hand_over(later), 1, true);
        (job, messages.in_order())
    }

    #[test]
    fn after_emission_duplicates_pass_and_missed_events_are_counted() {
        let config = config();
        let topics = vec!["requests".to_string()];
        let later = Instant::now() + Duration::from_secs(2);
        let rollup = || {
            let mut r = Rollup::new(&config, 1);
            r.set_sources(vec![("requests".into(), 0), ("requests".into(), 1)]);
            r.assign((0, 0), None, later);
            r
        };
        let mut offset = 0;
        let mut feed = |r: &mut Rollup, messages: Vec<(i32, Vec<u8>)>| {
            let mut emitted = Vec::new();
            for (_, m) in messages {
                r.process((0, 0), offset, &m, later);
                offset += 1;
                if let Closed::Groups(groups) = r.close(later) {
                    emitted.extend(groups.into_iter().flat_map(|(_, w)| w));
                }
            }
            emitted
        };
        let late_partials = |r: &Rollup| {
            let mut text = String::new();
            r.render_metrics(later, &mut text);
            metric(&text, "slipstream_rollup_late_partials_total")
        };

        let (mut job, snapshot) = idle_snapshot(&config, &topics, later);
        let mut r = rollup();
        let emitted = feed(&mut r, snapshot);
        assert_eq!(emitted[0].start_ns, 0);
        assert_eq!(emitted[0].slis[0].total, 1, "emitted from the snapshot");
        // Partition 0 wakes up: one more event in the emitted window, and
        // one far ahead that closes the window at the ingest for good.
        job.process((0, 0), 1, &event(20, 503, 10), later);
        job.process((0, 0), 2, &event(500, 200, 10), later);
        let closed = super::super::messages(&config, &topics, &job.hand_over(later), 1, true);
        let window_0 = closed.partials[0].clone();
        feed(&mut r, vec![window_0.clone()]);
        assert_eq!(late_partials(&r), 1.0, "an event the record missed");
        feed(&mut r, vec![window_0]);
        assert_eq!(late_partials(&r), 2.0, "still more events than emitted");

        // A replay of the snapshot after its window was emitted.
        let mut r = rollup();
        let (_, snapshot) = idle_snapshot(&config, &topics, later);
        assert_eq!(feed(&mut r, snapshot.clone()).len(), 1);
        assert!(feed(&mut r, snapshot).is_empty());
        assert_eq!(late_partials(&r), 0.0, "a duplicate is not late");
    }

    fn metric(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    }

    #[test]
    fn a_restarted_unit_never_emits_an_emitted_window_again() {
        let config = config();
        let messages = ingest(&config, &[0, 1, 2], 1);
        let mut r = Rollup::new(&config, 1);
        let now = Instant::now();
        r.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
        r.assign((0, 0), None, now);
        let half = messages.len() / 2;
        let mut first = Vec::new();
        for (i, (_, m)) in messages[..half].iter().enumerate() {
            r.process((0, 0), i as i64, m, now);
            if let Closed::Groups(g) = r.close(now) {
                first.extend(g.into_iter().flat_map(|(_, w)| w));
            }
        }
        let (_, offset, checkpoint) = r.commit_points()[0];
        let mut again = Rollup::new(&config, 1);
        again.set_sources((0..3).map(|p| ("requests".to_string(), p)).collect());
        again.assign((0, 0), Some(checkpoint), now);
        let mut second = Vec::new();
        for (i, (_, m)) in messages.iter().enumerate().skip(offset as usize) {
            again.process((0, 0), i as i64, m, now);
            if let Closed::Groups(g) = again.close(now) {
                second.extend(g.into_iter().flat_map(|(_, w)| w));
            }
        }
        let mut all = first.clone();
        all.extend(second.iter().cloned());
        assert_eq!(all, single(&config));
        for w in &second {
            assert!(first.iter().all(|f| f.start_ns != w.start_ns));
        }
    }
}
