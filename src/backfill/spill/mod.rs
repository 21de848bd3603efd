//! Closed windows of a backfill, kept within a memory budget.
//!
//! The workers close a window once the events they read are past its end
//! by more than the disorder allowed ([`disorder_ns`]) and hand it here.
//! Windows are merged in memory by start; when their state passes the
//! budget, they are written out, oldest first, as a *run* in a temporary
//! directory, and memory starts again. An event later than that disorder
//! reopens its window in its worker, which closes it again soon after: one
//! more part of the window, in memory or in a later run. At the end a k-way
//! merge ([`Merge`]) adds up every part of every window and hands the
//! windows on oldest first, so the records do not depend on the order of
//! the input, on the threads, or on where the budget cut the runs.
//!
//! Memory is then bounded by the budget and the disorder, not by the time
//! the input covers; what the input covers costs disk, in runs.
//! The directory and its runs are removed when the [`Spill`] (or the
//! [`Merged`] it becomes) is dropped, and by the signal handler on Ctrl-C.

mod merge;
mod run;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

pub use merge::Merge;
use run::{Run, RunWriter};

use super::interrupt::Creator;
use crate::window::{SliWindow, Window};

/// The default `--memory-limit`: 128 MiB (the process peaks at about 1.5x).
pub const DEFAULT_MEMORY_LIMIT: u64 = 128 << 20;

/// How far behind the newest event a worker keeps a window open: an hour,
/// or two windows when they are longer. Later events are still counted,
/// at the cost of one more part of their window.
pub fn disorder_ns(window_ns: i64) -> i64 {
    (3_600 * 1_000_000_000i64).max(window_ns.saturating_mul(2))
}

/// The most runs merged at once.
const FAN_IN: usize = 64;

/// About how many bytes one SLI's state in one window takes while events
/// are counted in it (mostly its latency histogram), for the workers' share.
const SLI_WINDOW_BYTES: u64 = 8 << 10;

/// How the memory limit is shared out.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bytes of closed windows kept in memory before a run is written.
    pub closed_bytes: u64,
    /// Open windows a worker holds before it closes what it can.
    pub worker_windows: usize,
    /// Windows turned into records at a time at the end.
    pub batch_windows: usize,
}

impl Budget {
    /// Half the limit for closed windows, a quarter for the workers' open
    /// ones, an eighth for the windows being turned into records.
    pub fn new(limit: u64, sli_count: usize, threads: usize) -> Budget {
        let per_window = SLI_WINDOW_BYTES * sli_count.max(1) as u64;
        Budget {
            closed_bytes: limit / 2,
            worker_windows: ((limit / 4 / threads.max(1) as u64 / per_window) as usize).max(16),
            batch_windows: ((limit / 8 / per_window) as usize).max(1),
        }
    }

    /// No limit: everything stays in memory (the reports' reading of logs).
    pub fn unlimited() -> Budget {
        Budget {
            closed_bytes: u64::MAX,
            worker_windows: usize::MAX,
            batch_windows: usize::MAX,
        }
    }
}

/// What spilling cost, for the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub runs: usize,
    pub bytes: u64,
    /// Time spent writing runs.
    pub write: Duration,
    /// Time spent merging runs at the end (records and sinks included).
    pub merge: Duration,
    pub limit: u64,
}

/// Where runs go: a temporary directory, removed on drop.
pub struct SpillDir {
    dir: tempfile::TempDir,
    creator: Creator,
}

impl SpillDir {
    /// A new directory in `parent`, registered with the signal handler.
    pub fn new(parent: &Path, interrupt: &super::interrupt::Interrupt) -> Result<SpillDir> {
        let mut held = interrupt.hold();
        let dir = tempfile::Builder::new()
            .prefix(".slipstream-spill-")
            .tempdir_in(parent)
            .with_context(|| {
                format!(
                    "cannot create a directory for spill files in {}; pick a writable one with --tmp-dir",
                    parent.display()
                )
            })?;
        held.remove_dir_on_signal(dir.path().to_path_buf());
        Ok(SpillDir {
            dir,
            creator: interrupt.creator(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
impl SpillDir {
    fn detached(parent: &Path) -> SpillDir {
        SpillDir {
            dir: tempfile::tempdir_in(parent).expect("a temporary directory"),
            creator: Creator::detached(),
        }
    }
}

/// Closed windows: in memory up to the budget, in runs beyond.
pub struct Spill {
    dir: Option<SpillDir>,
    budget: u64,
    sli_count: usize,
    memory: BTreeMap<i64, Window>,
    /// The estimated bytes of `memory`.
    bytes: u64,
    runs: Vec<Run>,
    /// The number of the next run file.
    next_run: usize,
    stats: Stats,
    /// Bytes spilled so far, for the progress bar.
    spilled: Arc<AtomicU64>,
}

impl Spill {
    /// Keeps closed windows in memory up to `budget` bytes, then writes
    /// runs to `dir`; without a directory, everything stays in memory.
    pub fn new(dir: Option<SpillDir>, budget: u64, limit: u64, sli_count: usize) -> Spill {
        Spill {
            dir,
            budget,
            sli_count,
            memory: BTreeMap::new(),
            bytes: 0,
            runs: Vec::new(),
            next_run: 0,
            stats: Stats {
                limit,
                ..Stats::default()
            },
            spilled: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The counter of bytes spilled, for the progress bar.
    pub fn spilled(&self) -> Arc<AtomicU64> {
        self.spilled.clone()
    }

    /// Adds a closed window (or one more part of one).
    /// Histograms are shrunk to what they hold as they arrive, so the
    /// bytes counted against the budget are the bytes taken.
    pub fn add(&mut self, mut w: Window) -> Result<()> {
        match self.memory.entry(w.start_ns) {
            std::collections::btree_map::Entry::Vacant(e) => {
                w.slis.iter_mut().for_each(SliWindow::shrink_to_fit);
                self.bytes += w.memory_bytes() as u64;
                e.insert(w);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => {
                let mine = e.get_mut();
                let before = mine.memory_bytes() as u64;
                for (a, b) in mine.slis.iter_mut().zip(w.slis.iter()) {
                    a.merge(b);
                    if b.latency.count() > 0 || b.groups.is_some() {
                        a.shrink_to_fit();
                    }
                }
                self.bytes = (self.bytes + mine.memory_bytes() as u64).saturating_sub(before);
            }
        }
        if self.bytes > self.budget && self.dir.is_some() {
            self.write_run()?;
        }
        Ok(())
    }

    /// Writes the windows in memory as one run.
    fn write_run(&mut self) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let started = Instant::now();
        let path = run::path(dir.dir.path(), self.next_run);
        self.next_run += 1;
        let failed = |e| spill_failed(&path, e);
        let file = dir.creator.create(&path).map_err(failed)?;
        let mut writer = RunWriter::new(file, path.clone());
        for w in self.memory.values() {
            writer.push(w).map_err(failed)?;
        }
        if let Some(run) = writer.finish().map_err(failed)? {
            self.stats.runs += 1;
            self.stats.bytes += run.bytes;
            self.spilled.fetch_add(run.bytes, Ordering::Relaxed);
            self.runs.push(run);
        }
        self.memory.clear();
        self.bytes = 0;
        self.stats.write += started.elapsed();
        Ok(())
    }

    /// Every window, oldest first, when nothing was spilled; otherwise the
    /// merge reads the runs back.
    pub fn into_windows(self) -> Result<Vec<Window>> {
        let mut merged = self.finish()?;
        let mut out = Vec::new();
        while let Some(w) = merged.merge.next_window()? {
            out.push(w);
        }
        Ok(out)
    }

    /// The merge of every run and what is left in memory. Beyond
    /// [`FAN_IN`] runs, the oldest are first merged into one run, so that
    /// the merge never holds more files open than that.
    pub fn finish(mut self) -> Result<Merged> {
        while self.runs.len() > FAN_IN {
            self.compact()?;
        }
        Ok(Merged {
            merge: Merge::new(self.memory, self.runs, self.sli_count),
            stats: self.stats,
            _dir: self.dir,
        })
    }

    /// Merges the [`FAN_IN`] oldest runs into a new one.
    fn compact(&mut self) -> Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        let started = Instant::now();
        let oldest: Vec<Run> = self.runs.drain(..FAN_IN).collect();
        let paths: Vec<std::path::PathBuf> = oldest.iter().map(|r| r.path.clone()).collect();
        let mut merge = Merge::new(BTreeMap::new(), oldest, self.sli_count);
        let path = run::path(dir.dir.path(), self.next_run);
        self.next_run += 1;
        let failed = |e| spill_failed(&path, e);
        let file = dir.creator.create(&path).map_err(failed)?;
        let mut writer = RunWriter::new(file, path.clone());
        while let Some(w) = merge.next_window()? {
            writer.push(&w).map_err(failed)?;
        }
        drop(merge);
        for p in &paths {
            let _ = std::fs::remove_file(p);
        }
        if let Some(run) = writer.finish().map_err(failed)? {
            self.stats.bytes += run.bytes;
            self.runs.push(run);
        }
        self.stats.write += started.elapsed();
        Ok(())
    }
}

/// A spill file that cannot be written, with what to do about it.
fn spill_failed(path: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow::Error::new(e).context(format!(
        "cannot write the spill file {}; free some disk there, or pick another directory with --tmp-dir",
        path.display()
    ))
}

/// The windows in time order, and the runs they are read from.
pub struct Merged {
    pub merge: Merge,
    pub stats: Stats,
    /// Removed, with the runs, on drop.
    _dir: Option<SpillDir>,
}

#[cfg(test)]
mod tests;
