//! Event-time windows: tumbling, aligned to the Unix epoch, one set of
//! counters and a latency histogram per SLI per window.
//!
//! A [`WindowSet`] holds the open windows of one shard (a backfill thread, a
//! Kafka partition). Shards merge exactly, because every counter is an
//! integer; the result does not depend on how events were split or ordered.
//! Memory grows with SLIs x open windows, never with the number of events.

mod groups;
mod histogram;
mod record;
mod zlib;

use std::collections::HashMap;

pub use groups::{decode_key, encode_key, key_of, Groups, OTHER};
pub use histogram::{Histogram, Merged};
pub use record::{window_record, Bounds};

/// Counts of one SLI in one window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SliWindow {
    /// Events that matched the SLI's filter.
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    /// Events whose `good` rule could not be evaluated (a missing or mistyped field).
    pub invalid: u64,
    /// Latencies of the SLI's events that carried one.
    pub latency: Histogram,
    /// Per breakdown field, the values of the bad events (empty until the
    /// first bad event of an SLI with a breakdown).
    pub breakdown: Vec<TopValues>,
    /// For a grouped SLI (`group_by`), each group's own counts, histogram
    /// and breakdown; the SLI's counters above then hold their sums, and its
    /// histogram and breakdown stay empty. `None` until the first event.
    pub groups: Option<Box<Groups>>,
}

/// The values of one field among a window's bad events. Counts are exact
/// while the window sees at most `capacity` distinct values (a multiple of
/// the SLI's `breakdown_limit`, which the record shows); beyond, a
/// Space-Saving summary of `capacity` counters (each count over-estimates by
/// at most the smallest one), so memory stays bounded whatever the
/// cardinality. Exact counts do not depend on how events were ordered or
/// sharded; a summary beyond the capacity may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopValues {
    counts: HashMap<Box<str>, u64>,
    approximate: bool,
    capacity: usize,
}

/// Longer values are cut to this many bytes (at a character boundary).
const MAX_VALUE_BYTES: usize = 256;

impl TopValues {
    /// About how many bytes the counters hold (values, keys and the table).
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * 40 + self.counts.keys().map(|k| k.len()).sum::<usize>()
    }

    /// The capacity for an SLI that shows `limit` values.
    pub fn for_limit(limit: usize) -> TopValues {
        TopValues {
            counts: HashMap::new(),
            approximate: false,
            capacity: (limit.max(1) * 50).clamp(1_000, 10_000),
        }
    }

    /// Counts one more bad event with `value`.
    pub fn add(&mut self, value: &str) {
        let mut end = value.len().min(MAX_VALUE_BYTES);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let value = &value[..end];
        if let Some(n) = self.counts.get_mut(value) {
            *n += 1;
            return;
        }
        if self.counts.len() < self.capacity {
            self.counts.insert(value.into(), 1);
            return;
        }
        // Replace the smallest counter (the greatest value among equals).
        self.approximate = true;
        let min = self
            .counts
            .iter()
            .min_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, n)| (k.clone(), *n));
        if let Some((k, n)) = min {
            self.counts.remove(&k);
            self.counts.insert(value.into(), n + 1);
        }
    }

    /// Adds another shard's counts; beyond the capacity only the largest
    /// are kept and the counts are no longer exact.
    pub fn merge(&mut self, other: &TopValues) {
        self.approximate |= other.approximate;
        self.capacity = self.capacity.max(other.capacity);
        for (v, n) in &other.counts {
            *self.counts.entry(v.clone()).or_default() += n;
        }
        if self.counts.len() > self.capacity {
            let mut all: Vec<(Box<str>, u64)> = self.counts.drain().collect();
            all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            all.truncate(self.capacity);
            self.counts = all.into_iter().collect();
            self.approximate = true;
        }
    }

    /// The values by bad events, most first (equal counts by value).
    pub fn top(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.counts.iter().map(|(k, n)| (&**k, *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// Whether every count is exact.
    pub fn exact(&self) -> bool {
        !self.approximate
    }

    /// Distinct values counted (all of them, when exact).
    pub fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// The summary's capacity, for serialization.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Rebuilds a summary from its parts (see [`TopValues::top`],
    /// [`TopValues::exact`] and [`TopValues::capacity`]).
    pub fn from_parts(capacity: usize, exact: bool, counts: Vec<(Box<str>, u64)>) -> TopValues {
        TopValues {
            counts: counts.into_iter().collect(),
            approximate: !exact,
            capacity,
        }
    }
}

impl SliWindow {
    /// About how many bytes one SLI's state in one window takes.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<SliWindow>() + self.heap_bytes()
    }

    /// About how many bytes it holds beyond its own size.
    pub fn heap_bytes(&self) -> usize {
        self.latency.heap_bytes()
            + self
                .breakdown
                .iter()
                .map(|t| std::mem::size_of::<TopValues>() + t.heap_bytes())
                .sum::<usize>()
            + self.groups.as_ref().map_or(0, |g| g.memory_bytes())
    }

    /// Gives back the room its histogram grew into but does not use (see
    /// [`Histogram::shrink_to_fit`]), for windows kept for long.
    pub fn shrink_to_fit(&mut self) {
        self.latency.shrink_to_fit();
        if let Some(g) = &mut self.groups {
            g.shrink_to_fit();
        }
    }

    pub fn merge(&mut self, other: &SliWindow) {
        self.total += other.total;
        self.good += other.good;
        self.bad += other.bad;
        self.invalid += other.invalid;
        self.latency.merge(&other.latency);
        if self.breakdown.len() < other.breakdown.len() {
            self.breakdown
                .resize(other.breakdown.len(), TopValues::default());
        }
        for (m, o) in self.breakdown.iter_mut().zip(&other.breakdown) {
            m.merge(o);
        }
        if let Some(o) = &other.groups {
            self.groups
                .get_or_insert_with(|| Box::new(Groups::new(o.limit())))
                .merge(o);
        }
    }
}

/// The start of the window that holds `time_ns`.
#[inline]
pub fn window_start(time_ns: i64, size_ns: i64) -> i64 {
    time_ns.div_euclid(size_ns) * size_ns
}

/// One window's state: its start and one [`SliWindow`] per SLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start_ns: i64,
    pub slis: Box<[SliWindow]>,
}

impl Window {
    /// About how many bytes the window's state takes.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Window>() + self.slis.iter().map(SliWindow::memory_bytes).sum::<usize>()
    }
}

/// The open windows of one shard.
#[derive(Debug, Clone)]
pub struct WindowSet {
    size_ns: i64,
    sli_count: usize,
    windows: Vec<Window>,
    index: HashMap<i64, usize>,
    /// Position of the window used last: consecutive events usually share it.
    last: usize,
}

impl WindowSet {
    pub fn new(size_ns: i64, sli_count: usize) -> WindowSet {
        WindowSet {
            size_ns,
            sli_count,
            windows: Vec::new(),
            index: HashMap::new(),
            last: 0,
        }
    }

    pub fn size_ns(&self) -> i64 {
        self.size_ns
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The per-SLI counters of the window that holds `time_ns`, opened on
    /// first use. An event of the window used last needs no division.
    #[inline]
    pub fn at_time(&mut self, time_ns: i64) -> &mut [SliWindow] {
        if let Some(w) = self.windows.get(self.last) {
            // Unsigned: the difference of two i64 may not fit in one.
            if time_ns >= w.start_ns
                && (time_ns.wrapping_sub(w.start_ns) as u64) < self.size_ns as u64
            {
                return &mut self.windows[self.last].slis;
            }
        }
        self.get_mut(window_start(time_ns, self.size_ns))
    }

    /// The per-SLI counters of the window starting at `start_ns`, opened on first use.
    #[inline]
    pub fn get_mut(&mut self, start_ns: i64) -> &mut [SliWindow] {
        if let Some(w) = self.windows.get(self.last) {
            if w.start_ns == start_ns {
                return &mut self.windows[self.last].slis;
            }
        }
        let i = match self.index.get(&start_ns) {
            Some(&i) => i,
            None => {
                self.windows.push(Window {
                    start_ns,
                    slis: vec![SliWindow::default(); self.sli_count].into_boxed_slice(),
                });
                let i = self.windows.len() - 1;
                self.index.insert(start_ns, i);
                i
            }
        };
        self.last = i;
        &mut self.windows[i].slis
    }

    /// Adds a whole window's state (from another shard) into this set.
    pub fn merge_window(&mut self, window: &Window) {
        let mine = self.get_mut(window.start_ns);
        for (m, o) in mine.iter_mut().zip(window.slis.iter()) {
            m.merge(o);
        }
    }

    /// Adds every window of another set into this one.
    pub fn merge(&mut self, other: &WindowSet) {
        for w in &other.windows {
            self.merge_window(w);
        }
    }

    /// Removes and returns, oldest first, the windows that end at or before
    /// `end_ns` (all of them with `i64::MAX`).
    pub fn take_until(&mut self, end_ns: i64) -> Vec<Window> {
        let size = self.size_ns;
        let (mut done, keep): (Vec<Window>, Vec<Window>) = std::mem::take(&mut self.windows)
            .into_iter()
            .partition(|w| w.start_ns.saturating_add(size) <= end_ns);
        self.windows = keep;
        self.index = self
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| (w.start_ns, i))
            .collect();
        self.last = 0;
        done.sort_by_key(|w| w.start_ns);
        done
    }

    /// The start of the oldest open window.
    pub fn oldest_start(&self) -> Option<i64> {
        self.windows.iter().map(|w| w.start_ns).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_start_floors_towards_minus_infinity() {
        assert_eq!(window_start(0, 60), 0);
        assert_eq!(window_start(59, 60), 0);
        assert_eq!(window_start(60, 60), 60);
        assert_eq!(window_start(-1, 60), -60);
    }

    /// The shortcut through the window used last picks the same window as
    /// the division, at its edges and at the ends of the time range.
    #[test]
    fn at_time_finds_the_window_of_the_division() {
        let size = 60;
        let mut set = WindowSet::new(size, 1);
        // The event time range is about ±1e18 ns around the epoch.
        let (lo, hi) = (-1_000_000_000_000_000_020, 1_000_000_000_000_000_000);
        #[rustfmt::skip]
        let times = [
            0, 59, 60, 61, -1, -60, -61, 119, 120, 59, lo, lo + 19, lo + 20, hi, hi - 7, hi + 19,
            hi + 20, 0, -59, 1,
        ];
        for (n, &t) in times.iter().enumerate() {
            set.at_time(t)[0].total += 1;
            // The window the division names holds one more event each time.
            let want = times[..=n]
                .iter()
                .filter(|&&u| window_start(u, size) == window_start(t, size));
            assert_eq!(
                set.get_mut(window_start(t, size))[0].total,
                want.count() as u64,
                "{t}"
            );
        }
    }

    #[test]
    fn take_until_returns_closed_windows_in_order() {
        let mut set = WindowSet::new(10, 2);
        for start in [30, 10, 20, 0] {
            set.get_mut(start)[1].total += start as u64 + 1;
        }
        let done = set.take_until(25);
        assert_eq!(
            done.iter().map(|w| w.start_ns).collect::<Vec<_>>(),
            vec![0, 10]
        );
        assert_eq!(done[1].slis[1].total, 11);
        assert_eq!(set.len(), 2);
        assert_eq!(set.get_mut(30)[1].total, 31);
        assert_eq!(set.oldest_start(), Some(20));
    }

    #[test]
    fn breakdown_counts_exactly_below_capacity_whatever_the_split() {
        let values: Vec<String> = (0..5_000).map(|i| format!("v{}", (i * 7) % 40)).collect();
        let mut whole = TopValues::for_limit(3);
        values.iter().for_each(|v| whole.add(v));
        let mut a = TopValues::for_limit(3);
        let mut b = TopValues::for_limit(3);
        for (i, v) in values.iter().enumerate().rev() {
            if i % 3 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
        }
        a.merge(&b);
        assert!(whole.exact() && a.exact());
        assert_eq!(whole.distinct(), 40);
        assert_eq!(whole.top(), a.top());
        assert_eq!(whole.top().iter().map(|e| e.1).sum::<u64>(), 5_000);
    }

    #[test]
    fn breakdown_memory_is_bounded_beyond_capacity() {
        let mut t = TopValues::for_limit(3);
        let cap = t.capacity;
        for i in 0..(cap as u64 * 5) {
            t.add(&format!("unique-{i}"));
            if i % 10 == 0 {
                t.add("hot"); // a heavy hitter among the noise
            }
        }
        assert!(!t.exact());
        assert_eq!(t.distinct(), cap);
        let top = t.top();
        assert_eq!(top[0].0, "hot", "a heavy hitter survives the summary");
        // Space-Saving over-estimates by at most the smallest counter.
        let true_hot = (cap as u64 * 5).div_ceil(10);
        assert!(top[0].1 >= true_hot && top[0].1 <= true_hot + top.last().unwrap().1);
    }
}
