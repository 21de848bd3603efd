//! `slipstream backfill`: the engine over archived logs.
//!
//! One reader thread ([`crate::sources::files`]) decompresses the inputs in
//! order (plain files are mapped, not read, and their lines counted by the
//! workers, see [`Ledger`]) and cuts them into chunks of whole lines; worker
//! threads (one per core by default) decode, classify and window the
//! chunks with their own [`Engine`]. A worker closes a window once its
//! events are an hour past it ([`spill::disorder_ns`]) and hands it to a
//! collector thread, which keeps closed windows within `--memory-limit` and
//! writes the rest to spill files ([`spill`]); at the end every part of
//! every window is merged — exactly, since every count is an integer — and
//! the records are written oldest window first, in batches
//! ([`write`]). The input may be in any time order: a late event reopens
//! its window and is merged in like the rest. Memory is bounded by the
//! limit and the SLIs, not by the time the input covers.

mod dead;
mod interrupt;
pub mod spill;
mod summary;
mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::{bounded, Sender};

use crate::sources::files::{self, Chunk, FirstLine, Ledger};
pub use crate::sources::files::{expand, open_decompressed, Input, InputError};
pub use summary::{RejectExample, SliTotals, Summary, Tally, Written};
pub use write::run;

use crate::config::Config;
use crate::engine::{Accepted, Engine};
use crate::reject::LineReject;
use crate::setup::Probe;
use crate::window::Window;
use dead::DeadLetterQueue;
use spill::{Budget, Spill};

/// What `backfill` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Files, directories, object store URLs (`s3://bucket/prefix`), or
    /// `-` for stdin.
    pub inputs: Vec<String>,
    /// Globs: of the files and objects under a directory or a prefix, read
    /// only those matching one of `include` (when given) and none of
    /// `exclude`.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
    /// Write JSONL records here instead of the configured sinks.
    pub output: Option<PathBuf>,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// Read plain files through a memory map rather than copying them in.
    pub map_files: bool,
    /// Bytes of window state to keep in memory (`--memory-limit`); 0 is
    /// the default, [`spill::DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: u64,
    /// Where spill files go (`--tmp-dir`); by default beside `--output`,
    /// or the system's temporary directory.
    pub tmp_dir: Option<PathBuf>,
    /// Files and directories this run writes (its outputs, their staged
    /// copies, its dead letters and spill files): never read as input when
    /// found in a directory being read.
    pub leave_out: Vec<PathBuf>,
}

impl Options {
    /// Worker threads: `threads`, or one per core.
    pub fn worker_threads(&self) -> usize {
        match self.threads {
            0 => thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    /// `memory_limit`, or the default.
    pub fn memory_limit(&self) -> u64 {
        match self.memory_limit {
            0 => spill::DEFAULT_MEMORY_LIMIT,
            n => n,
        }
    }
}

/// Counts kept by one worker.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub lines: u64,
    pub accepted: u64,
    pub out_of_range: u64,
    pub rejected: [u64; LineReject::ALL.len()],
    /// The first (input, line) rejected for each reason.
    pub first_rejected: [Option<(u32, u64)>; LineReject::ALL.len()],
    /// The first rejected line of all: where, why, and its text.
    pub first_rejected_line: Option<((u32, u64), LineReject, String)>,
}

impl Counts {
    /// Lines rejected, the skipped ones (blank, header) left out.
    pub fn rejected_total(&self) -> u64 {
        LineReject::ALL
            .iter()
            .filter(|r| !r.is_skipped())
            .map(|r| self.rejected[r.index()])
            .sum()
    }

    /// Blank and header lines, skipped.
    pub fn skipped(&self) -> u64 {
        LineReject::ALL
            .iter()
            .filter(|r| r.is_skipped())
            .map(|r| self.rejected[r.index()])
            .sum()
    }

    fn reject(&mut self, reason: LineReject, input: u32, line: u64) {
        let i = reason.index();
        self.rejected[i] += 1;
        let first = &mut self.first_rejected[i];
        if first.is_none_or(|f| (input, line) < f) {
            *first = Some((input, line));
        }
    }

    /// Keeps `raw` when line `at` comes before the first rejected line so far.
    fn first_line(&mut self, at: (u32, u64), reason: LineReject, raw: &[u8]) {
        if self
            .first_rejected_line
            .as_ref()
            .is_none_or(|(f, ..)| at < *f)
        {
            let text = String::from_utf8_lossy(&raw[..raw.len().min(4096)]).into_owned();
            self.first_rejected_line = Some((at, reason, text));
        }
    }

    fn merge(&mut self, o: &Counts) {
        if let Some((at, reason, text)) = &o.first_rejected_line {
            if self
                .first_rejected_line
                .as_ref()
                .is_none_or(|(f, ..)| at < f)
            {
                self.first_rejected_line = Some((*at, *reason, text.clone()));
            }
        }
        self.lines += o.lines;
        self.accepted += o.accepted;
        self.out_of_range += o.out_of_range;
        for i in 0..self.rejected.len() {
            self.rejected[i] += o.rejected[i];
            if let Some(f) = o.first_rejected[i] {
                if self.first_rejected[i].is_none_or(|m| f < m) {
                    self.first_rejected[i] = Some(f);
                }
            }
        }
    }
}

/// The result of reading every input: merged windows and counts.
pub struct Outcome {
    pub windows: Vec<Window>,
    pub counts: Counts,
    pub inputs: Vec<Input>,
    pub errors: Vec<InputError>,
    /// Where the dead letters went, and how many.
    pub dead_letters: Option<(String, u64)>,
    pub bytes: u64,
    pub elapsed: Duration,
    /// What the engines noticed about the input, for the setup checks.
    pub probe: Probe,
    /// Whether `--from` or `--to` bounded the events.
    pub ranged: bool,
}

impl Outcome {
    /// Whether no input could be read at all: some input failed and not
    /// one line was read from any.
    pub fn nothing_read(&self) -> bool {
        !self.errors.is_empty() && self.counts.lines == 0
    }
}

/// Reads all inputs through the engine on `threads` workers, every window
/// kept in memory (the reports read logs this way).
pub fn process(config: &Config, opts: &Options) -> Result<Outcome> {
    let spill = Spill::new(None, u64::MAX, 0, config.slis.len());
    let (mut outcome, spill) = read(config, opts, spill, Budget::unlimited())?;
    outcome.windows = spill.into_windows()?;
    Ok(outcome)
}

/// Reads all inputs through the engine on `threads` workers; the closed
/// windows go to `spill` (the outcome's `windows` are left empty).
pub fn read(
    config: &Config,
    opts: &Options,
    spill: Spill,
    budget: Budget,
) -> Result<(Outcome, Spill)> {
    let started = Instant::now();
    let mut errors = Vec::new();
    let selection = files::Selection::new(opts.from_ns, opts.to_ns, &opts.include, &opts.exclude)
        .map_err(anyhow::Error::msg)?
        .leaving_out(&opts.leave_out);
    let stores = files::StoreSettings {
        s3: &config.s3,
        gcs: &config.gcs,
        azure: &config.azure,
    };
    let remote = files::Remote::open(&opts.inputs, stores).map_err(anyhow::Error::msg)?;
    let inputs = files::expand(&opts.inputs, &selection, remote.as_ref(), &mut errors);
    let threads = opts.worker_threads();
    let bytes_read = Arc::new(AtomicU64::new(0));
    let lines_done = Arc::new(AtomicU64::new(0));
    let total_bytes: Option<u64> = inputs.iter().map(Input::size).sum();
    let objects = inputs
        .iter()
        .filter(|i| matches!(i, Input::Object(_)))
        .count() as u64;
    let objects_done = Arc::new(AtomicU64::new(0));
    let progress = opts.progress.then(|| {
        summary::progress_bar(
            total_bytes,
            bytes_read.clone(),
            lines_done.clone(),
            (objects_done.clone(), objects),
            spill.spilled(),
        )
    });

    let (tx, rx) = bounded::<Chunk>(threads * 2);
    let (closed_tx, closed_rx) = bounded::<Vec<Window>>(threads * 2);
    let pool = files::BufferPool::default();
    let ledger = Ledger::default();
    let max_line = config.decode.max_event_bytes;
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let dead = DeadLetterQueue::new(config, &names)?;
    let closing = Closing {
        disorder_ns: spill::disorder_ns(config.window.size_ns),
        max_windows: budget.worker_windows,
    };
    let outcome = thread::scope(|scope| {
        let collector = scope.spawn(move || collect(spill, closed_rx));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                let lines_done = lines_done.clone();
                let pool = pool.clone();
                let engine = Engine::new(config).with_range(opts.from_ns, opts.to_ns);
                let (dead, ledger) = (&dead, &ledger);
                let out = (closed_tx.clone(), closing);
                scope.spawn(move || worker(engine, rx, &pool, ledger, dead, &lines_done, out))
            })
            .collect();
        drop(rx);
        let fetched = remote.as_ref().map(|r| r.fetch(scope, &inputs));
        drop(closed_tx);
        let reader = files::Reader {
            max_line,
            map_files: opts.map_files,
            bytes_read: &bytes_read,
            pool: &pool,
            ledger: &ledger,
            tx: &tx,
            fetched: fetched.as_ref(),
        };
        for (i, inp) in inputs.iter().enumerate() {
            errors.extend(reader.read(i as u32, inp));
            if matches!(inp, Input::Object(_)) {
                objects_done.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(tx);
        let mut counts = Counts::default();
        let mut probe = Probe::default();
        for w in workers {
            let (c, p) = w
                .join()
                .map_err(|_| anyhow::anyhow!("a backfill worker panicked"))?;
            counts.merge(&c);
            probe.merge(&p);
        }
        let spill = collector
            .join()
            .map_err(|_| anyhow::anyhow!("the backfill's window collector panicked"))??;
        anyhow::Ok((spill, counts, probe))
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let (spill, counts, probe) = outcome?;
    let dead_letters = dead.finish().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let outcome = Outcome {
        windows: Vec::new(),
        counts,
        inputs,
        errors,
        dead_letters,
        bytes: bytes_read.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        probe,
        ranged: opts.from_ns.is_some() || opts.to_ns.is_some(),
    };
    Ok((outcome, spill))
}

/// The collector: every closed window into `spill`. After a failure (a
/// full disk) it still drains the channel, so no worker waits forever.
fn collect(mut spill: Spill, rx: crossbeam_channel::Receiver<Vec<Window>>) -> Result<Spill> {
    let mut failed = None;
    for batch in rx {
        if failed.is_some() {
            continue;
        }
        for w in batch {
            if let Err(e) = spill.add(w) {
                failed = Some(e);
                break;
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(spill),
    }
}

/// When a worker closes its windows.
#[derive(Debug, Clone, Copy)]
struct Closing {
    /// Windows this far behind the newest event are closed.
    disorder_ns: i64,
    /// Open windows past which a worker closes what it can at once,
    /// rather than at the end of the chunk.
    max_windows: usize,
}

/// Closes, in `engine`, the windows behind `newest` by more than the
/// disorder, and hands them on. Returns the windows left open.
fn close(engine: &mut Engine, newest: i64, closing: Closing, tx: &Sender<Vec<Window>>) -> usize {
    let closed = engine
        .windows_mut()
        .take_until(newest.saturating_sub(closing.disorder_ns));
    if !closed.is_empty() {
        // Fails only when the collector is gone, after it failed: the run
        // fails with its error.
        let _ = tx.send(closed);
    }
    engine.windows().len()
}

/// Bytes of a chunk checked as UTF-8 before their lines are read: a block
/// read twice in a row stays in a core's cache, a whole chunk does not.
const LINE_BLOCK: usize = 64 << 10;

/// Where the block of lines from `start` ends: after the newline that ends
/// the line holding byte `start + LINE_BLOCK`, or at the end of `data`.
fn line_block_end(data: &[u8], start: usize) -> usize {
    let from = start.saturating_add(LINE_BLOCK);
    if from >= data.len() {
        return data.len();
    }
    memchr::memchr(b'\n', &data[from..]).map_or(data.len(), |i| from + i + 1)
}

/// A worker: decodes and counts every line of the chunks it receives.
fn worker(
    mut engine: Engine,
    rx: crossbeam_channel::Receiver<Chunk>,
    pool: &files::BufferPool,
    ledger: &Ledger,
    dead: &DeadLetterQueue<'_>,
    lines_done: &AtomicU64,
    (closed, closing): (Sender<Vec<Window>>, Closing),
) -> (Counts, Probe) {
    let _abandon = files::AbandonOnPanic(ledger);
    let mut counts = Counts::default();
    // The rejected lines of the chunk being read, numbered once its first
    // line number is known: why, which line of the chunk, and where.
    let mut rejected: Vec<(LineReject, u64, std::ops::Range<usize>)> = Vec::new();
    // The input whose lines the decoder reads, and the preamble it started
    // from: a chunk of another input, or one after a header in the middle
    // of this one (which another worker may have read), starts it again
    // with the chunk's preamble.
    let mut reading = None;
    // The newest event time seen, and the open windows past which the
    // worker closes what it can before the chunk ends.
    let mut newest = i64::MIN;
    let mut limit = closing.max_windows;
    for chunk in rx {
        if reading
            .as_ref()
            .is_none_or(|(input, preamble)| *input != chunk.input || *preamble != chunk.preamble)
        {
            engine.start_input(chunk.preamble.as_deref().unwrap_or_default());
            reading = Some((chunk.input, chunk.preamble.clone()));
        }
        let data = chunk.data();
        let mut line = 0u64;
        if chunk.oversized().is_some() {
            rejected.push((LineReject::TooLarge, 0, 0..0));
            line = 1;
        }
        let mut start = 0;
        let mut block = 0..0;
        let mut text = None;
        while start < data.len() {
            if start >= block.end {
                // Checked as UTF-8 a block of whole lines at a time, small
                // enough to be still in cache when its lines are read; only
                // a block that is not has each line checked on its own.
                block = start..line_block_end(data, start);
                text = simdutf8::basic::from_utf8(&data[block.clone()]).ok();
            }
            let end =
                memchr::memchr(b'\n', &data[start..block.end]).map_or(block.end, |i| start + i);
            let cr = usize::from(end > start && data[end - 1] == b'\r');
            let (line_start, line_end) = (start, end - cr);
            start = end + 1;
            let processed = match text {
                // Cut at ASCII bytes: always between characters.
                Some(text) => {
                    engine.process_text(&text[line_start - block.start..line_end - block.start])
                }
                None => engine.process(&data[line_start..line_end]),
            };
            match processed {
                Ok(Accepted::Counted { time_ns }) => {
                    counts.accepted += 1;
                    newest = newest.max(time_ns);
                    if engine.windows().len() > limit {
                        let open = close(&mut engine, newest, closing, &closed);
                        // Windows within the disorder stay open: wait until
                        // there are twice as many before trying again.
                        limit = closing.max_windows.max(open.saturating_mul(2));
                    }
                }
                Ok(Accepted::OutOfRange) => counts.out_of_range += 1,
                Err(reason) => rejected.push((reason, line, line_start..line_end)),
            }
            line += 1;
        }
        counts.lines += line;
        lines_done.fetch_add(line, Ordering::Relaxed);
        let first_line = match chunk.first_line {
            FirstLine::Known(n) => Some(n),
            FirstLine::Ledger(at) => ledger.count(at, line, !rejected.is_empty()),
        };
        if let Some(first) = first_line {
            for (reason, i, range) in rejected.drain(..) {
                counts.reject(reason, chunk.input, first + i);
                // A format's own header lines (CloudFront's `#Fields`) and
                // blank lines are counted, and are no input to look at or
                // to resend.
                if reason.is_skipped() {
                    continue;
                }
                let raw = chunk.oversized().unwrap_or(&data[range]);
                counts.first_line((chunk.input, first + i), reason, raw);
                dead.send(
                    reason,
                    chunk.input,
                    first + i,
                    raw,
                    chunk.oversized().is_some(),
                );
            }
        }
        // Left only when another worker panicked: the run fails anyway.
        rejected.clear();
        chunk.done(pool);
        let open = close(&mut engine, newest, closing, &closed);
        limit = closing.max_windows.max(open.saturating_mul(2));
    }
    let (mut windows, probe) = engine.into_parts();
    let rest = windows.take_until(i64::MAX);
    if !rest.is_empty() {
        let _ = closed.send(rest);
    }
    (counts, probe)
}
