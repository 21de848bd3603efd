//! `slipstream backfill`: the engine over archived logs.
//!
//! One reader thread ([`crate::sources::files`]) decompresses the inputs in
//! order (plain files are mapped, not read, and their lines counted by the
//! workers, see [`Ledger`]) and cuts them into chunks of whole lines; worker
//! threads (one per core by default) decode, classify and window the
//! chunks with their own [`Engine`]; at the end the
//! workers' windows are merged — exactly, since every count is an integer —
//! and the records are written oldest window first. The input may be in any
//! time order: windows stay open until the input ends, and memory grows with
//! SLIs x windows in the input, not with the number of events.

mod interrupt;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossbeam_channel::bounded;

use crate::sources::files::{self, Chunk, FirstLine, Ledger};
pub use crate::sources::files::{expand, open_decompressed, Input, InputError};
pub use summary::{RejectExample, SliTotals, Summary, Written};

use crate::config::Config;
use crate::dead_letter::{DeadLetters, Origin};
use crate::engine::{Accepted, Engine};
use crate::reject::LineReject;
use crate::setup::Probe;
use crate::sinks::{Mode, Sink};
use crate::slo::{records, Objectives};
use crate::window::{Window, WindowSet};

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

/// Reads all inputs through the engine on `threads` workers.
pub fn process(config: &Config, opts: &Options) -> Result<Outcome> {
    let started = Instant::now();
    let mut errors = Vec::new();
    let selection = files::Selection::new(opts.from_ns, opts.to_ns, &opts.include, &opts.exclude)
        .map_err(anyhow::Error::msg)?;
    let remote = files::Remote::open(&opts.inputs, &config.s3).map_err(anyhow::Error::msg)?;
    let inputs = files::expand(&opts.inputs, &selection, remote.as_ref(), &mut errors);
    let threads = match opts.threads {
        0 => thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
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
        )
    });

    let (tx, rx) = bounded::<Chunk>(threads * 2);
    let pool = files::BufferPool::default();
    let ledger = Ledger::default();
    let max_line = config.decode.max_event_bytes;
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let dead = DeadLetterQueue::new(config, &names)?;
    let outcome = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                let lines_done = lines_done.clone();
                let pool = pool.clone();
                let engine = Engine::new(config).with_range(opts.from_ns, opts.to_ns);
                let (dead, ledger) = (&dead, &ledger);
                scope.spawn(move || worker(engine, rx, &pool, ledger, dead, &lines_done))
            })
            .collect();
        drop(rx);
        let fetched = remote.as_ref().map(|r| r.fetch(scope, &inputs));
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
        let mut windows: Option<WindowSet> = None;
        let mut counts = Counts::default();
        let mut probe = Probe::default();
        for w in workers {
            let (set, c, p) = w
                .join()
                .map_err(|_| anyhow::anyhow!("a backfill worker panicked"))?;
            counts.merge(&c);
            probe.merge(&p);
            match &mut windows {
                None => windows = Some(set),
                Some(all) => all.merge(&set),
            }
        }
        let windows = windows.map_or_else(Vec::new, |mut w| w.take_until(i64::MAX));
        anyhow::Ok((windows, counts, probe))
    });
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let (windows, counts, probe) = outcome?;
    let dead_letters = dead.finish().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    Ok(Outcome {
        windows,
        counts,
        inputs,
        errors,
        dead_letters,
        bytes: bytes_read.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        probe,
        ranged: opts.from_ns.is_some() || opts.to_ns.is_some(),
    })
}

/// Rejected lines on their way to the dead-letter destination, from the
/// reader and every worker. Rejections are rare: one lock is enough.
struct DeadLetterQueue<'a> {
    letters: Option<Mutex<DeadLetters>>,
    /// The inputs' names, by index.
    names: &'a [String],
    max_bytes: usize,
    sent: AtomicU64,
    /// The first failure; later dead letters are still tried.
    failed: Mutex<Option<String>>,
}

impl<'a> DeadLetterQueue<'a> {
    fn new(config: &Config, names: &'a [String]) -> Result<DeadLetterQueue<'a>> {
        let max_bytes = config.decode.max_event_bytes;
        let letters = match &config.dead_letter {
            None => None,
            Some(dl) => {
                let kafka = config
                    .source
                    .as_ref()
                    .map(crate::kafka::settings::client_config);
                let letters = DeadLetters::new(Some(dl), kafka.as_ref(), max_bytes)
                    .with_context(|| {
                        format!(
                            "cannot open the [dead_letter] destination of {}; fix it or remove the section",
                            config.path.display()
                        )
                    })?;
                Some(Mutex::new(letters))
            }
        };
        Ok(DeadLetterQueue {
            letters,
            names,
            max_bytes,
            sent: AtomicU64::new(0),
            failed: Mutex::new(None),
        })
    }

    /// Queues the dead letter of line `line` of input `input`; a line over
    /// the size limit is cut to it. `truncated`: `raw` is already cut.
    fn send(&self, reason: LineReject, input: u32, line: u64, raw: &[u8], truncated: bool) {
        let Some(letters) = &self.letters else {
            return;
        };
        let cut = raw.len() > self.max_bytes;
        let raw = &raw[..raw.len().min(self.max_bytes)];
        let origin = Origin::Line {
            input: &self.names[input as usize],
            line,
        };
        let sent = match letters.lock() {
            Ok(mut l) => l.send(reason.name(), origin, raw, truncated || cut),
            Err(_) => Err(anyhow::anyhow!(
                "a worker panicked while writing a dead letter"
            )),
        };
        match sent {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                if let Ok(mut failed) = self.failed.lock() {
                    failed.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        }
    }

    /// Waits until every dead letter is durable. Returns where they went
    /// and how many, or the first failure.
    fn finish(self) -> std::result::Result<Option<(String, u64)>, InputError> {
        let sent = self.sent.into_inner();
        let name = self
            .letters
            .as_ref()
            .and_then(|l| l.lock().ok().map(|l| l.name()));
        let failed = self.failed.into_inner().ok().flatten();
        let confirmed = match self.letters.map(Mutex::into_inner) {
            None => Ok(()),
            Some(Ok(mut l)) => l.confirm().map_err(|e| format!("{e:#}")),
            Some(Err(_)) => Err("a worker panicked while writing a dead letter".to_string()),
        };
        match failed.map_or(confirmed, Err) {
            Ok(()) => Ok(name.map(|n| (n, sent))),
            Err(message) => Err(InputError {
                input: "dead letters".to_string(),
                offset: 0,
                message: format!("{message}; rejected lines are counted but not all were written"),
            }),
        }
    }
}

/// A worker: decodes and counts every line of the chunks it receives.
fn worker(
    mut engine: Engine,
    rx: crossbeam_channel::Receiver<Chunk>,
    pool: &files::BufferPool,
    ledger: &Ledger,
    dead: &DeadLetterQueue<'_>,
    lines_done: &AtomicU64,
) -> (WindowSet, Counts, Probe) {
    let _abandon = files::AbandonOnPanic(ledger);
    let mut counts = Counts::default();
    // The rejected lines of the chunk being read, numbered once its first
    // line number is known: why, which line of the chunk, and where.
    let mut rejected: Vec<(LineReject, u64, std::ops::Range<usize>)> = Vec::new();
    // The input whose lines the decoder reads: a chunk of another one
    // starts it again with that input's preamble.
    let mut reading = None;
    for chunk in rx {
        if reading != Some(chunk.input) {
            engine.start_input(chunk.preamble.as_deref().unwrap_or_default());
            reading = Some(chunk.input);
        }
        let data = chunk.data();
        let mut line = 0u64;
        if chunk.oversized().is_some() {
            rejected.push((LineReject::TooLarge, 0, 0..0));
            line = 1;
        }
        // Checked as UTF-8 in one go; only a chunk that is not has each
        // line checked on its own.
        let text = simdutf8::basic::from_utf8(data).ok();
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let cr = usize::from(end > start && data[end - 1] == b'\r');
            let (line_start, line_end) = (start, end - cr);
            start = end + 1;
            let processed = match text {
                // Cut at ASCII bytes: always between characters.
                Some(text) => engine.process_text(&text[line_start..line_end]),
                None => engine.process(&data[line_start..line_end]),
            };
            match processed {
                Ok(Accepted::Counted { .. }) => counts.accepted += 1,
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
    }
    let (windows, probe) = engine.into_parts();
    (windows, counts, probe)
}

/// Runs the whole command: process, write records, build the summary.
///
/// Files (`--output` and `file` sinks) are staged beside their target and
/// put in place (appended, or renamed over `--output`) once every sink has
/// its records; when no input could be read at all, nothing is written and
/// every target stays as it was. SIGINT or SIGTERM before that removes the
/// staged files and ends the process (see the `interrupt` module).
pub fn run(config: &Config, opts: &Options) -> Result<Summary> {
    let interrupt = interrupt::Interrupt::install()?;
    let mut sinks = {
        let mut held = interrupt.hold();
        let mut temps = Vec::new();
        let sinks = open_sinks(config, opts, &mut temps);
        held.remove_on_signal(temps);
        sinks?
    };
    let outcome = process(config, opts)?;
    if outcome.nothing_read() {
        let kept = sinks.iter().map(|s| s.name()).collect();
        return Ok(Summary::new(config, &outcome, Written::Kept(kept)));
    }
    let mut objectives = history_before(config, opts, &outcome.windows)?;
    let records = records(config, &outcome.windows, &mut objectives);
    let mut written = Vec::new();
    for sink in &mut sinks {
        let started = Instant::now();
        let n = sink
            .write(&records)
            .with_context(|| format!("cannot write records to {}", sink.name()))?;
        written.push((sink.name(), n, started.elapsed()));
    }
    let held = interrupt.hold();
    for sink in &mut sinks {
        sink.commit()
            .with_context(|| format!("cannot put the records in place in {}", sink.name()))?;
    }
    held.done();
    Ok(Summary::new(config, &outcome, Written::Records(written)))
}

/// The objectives as the configured sinks' history left them before the
/// first backfilled window: budgets and alert states then continue from
/// what was already written, so a backfill into a store that a stream job
/// also writes gives the `slo` and `alert` records the job gives (with
/// `--output`, the backfill starts from nothing). History written after the
/// backfilled range is not recomputed.
fn history_before(config: &Config, opts: &Options, windows: &[Window]) -> Result<Objectives> {
    let mut objectives = Objectives::new(config);
    let Some(first) = windows.first().map(|w| w.start_ns) else {
        return Ok(objectives);
    };
    if opts.output.is_some() {
        return Ok(objectives);
    }
    crate::sinks::rebuild_objectives(config, &mut objectives, Some(first))?;
    Ok(objectives)
}

/// The configured sinks (see [`crate::sinks::build_all`]), or the
/// `--output` file. The temporary files of the staged ones go to `temps`.
fn open_sinks(
    config: &Config,
    opts: &Options,
    temps: &mut Vec<PathBuf>,
) -> Result<Vec<Box<dyn Sink>>> {
    let sinks = match &opts.output {
        Some(path) => vec![crate::sinks::file::output(path)?],
        None => {
            let kafka = config
                .source
                .as_ref()
                .map(crate::kafka::settings::client_config);
            crate::sinks::build_all(config, kafka.as_ref(), Mode::Backfill)?
                .into_iter()
                .map(|(_, sink)| sink)
                .collect()
        }
    };
    temps.extend(
        sinks
            .iter()
            .filter_map(|s| s.staged())
            .map(Path::to_path_buf),
    );
    Ok(sinks)
}
