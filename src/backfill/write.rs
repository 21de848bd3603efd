//! The end of a backfill: the closed windows, merged oldest first, turned
//! into records in batches and written to every sink, then put in place.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::interrupt::Interrupt;
use super::spill::{Budget, Merged, Spill, SpillDir};
use super::{read, Options, Summary, Tally, Written};
use crate::config::{Config, DeadLetterConfig};
use crate::record::Record;
use crate::sinks::{Mode, Sink};
use crate::slo::{records_into, Objectives};
use crate::window::Window;

/// Runs the whole command: read, write records, build the summary.
///
/// Files (`--output` and `file` sinks) are staged beside their target and
/// put in place (appended, or renamed over `--output`) once every sink has
/// its records; when no input could be read at all, nothing is written and
/// every target stays as it was. SIGINT or SIGTERM before that removes the
/// staged files and the spill files and ends the process (see the
/// `interrupt` module); an error removes them too.
pub fn run(config: &Config, opts: &Options) -> Result<Summary> {
    let interrupt = Interrupt::install()?;
    let mut sinks = {
        let mut held = interrupt.hold();
        let mut temps = Vec::new();
        let sinks = open_sinks(config, opts, &mut temps);
        held.remove_on_signal(temps);
        sinks?
    };
    let limit = opts.memory_limit();
    let budget = Budget::new(limit, config.slis.len(), opts.worker_threads());
    let dir = SpillDir::new(&spill_parent(opts), &interrupt)?;
    let opts = &Options {
        leave_out: written_paths(config, &sinks, dir.path()),
        ..opts.clone()
    };
    let spill = Spill::new(Some(dir), budget.closed_bytes, limit, config.slis.len());
    let (outcome, spill) = read(config, opts, spill, budget)?;
    let mut merged = spill.finish()?;
    if outcome.nothing_read() {
        let kept = sinks.iter().map(|s| s.name()).collect();
        let tally = Tally::new(config);
        return Ok(Summary::new(config, &outcome, tally, Written::Kept(kept)));
    }
    let spilled = merged.stats.runs > 0;
    let out = write_out(config, opts, &mut merged, budget, &mut sinks)?;
    if spilled {
        merged.stats.merge = out.took;
    }
    let held = interrupt.hold();
    for sink in &mut sinks {
        sink.commit()
            .with_context(|| format!("cannot put the records in place in {}", sink.name()))?;
    }
    held.done();
    let mut summary = Summary::new(config, &outcome, out.tally, Written::Records(out.written));
    summary.spill = spilled.then_some(merged.stats);
    Ok(summary)
}

/// What this run writes, which a directory it reads may hold: the sinks'
/// targets and staged copies, the dead-letter file and the spill directory.
/// Read back, a previous run's output would be counted as rejected lines,
/// and the staged copy of this one as input.
fn written_paths(config: &Config, sinks: &[Box<dyn Sink>], spill: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = sinks
        .iter()
        .flat_map(|s| [s.target(), s.staged()])
        .flatten()
        .map(Path::to_path_buf)
        .collect();
    if let Some(DeadLetterConfig::File { path }) = &config.dead_letter {
        paths.push(path.clone());
    }
    paths.push(spill.to_path_buf());
    paths
}

/// What writing the records out did.
struct WrittenOut {
    /// The windows' counts, for the summary.
    tally: Tally,
    /// Per sink: its name, the records it took and the time it took.
    written: Vec<(String, usize, Duration)>,
    /// The whole time, merge included.
    took: Duration,
}

/// Every window, merged oldest first, turned into records `batch_windows`
/// windows at a time and written to every sink.
fn write_out(
    config: &Config,
    opts: &Options,
    merged: &mut Merged,
    budget: Budget,
    sinks: &mut [Box<dyn Sink>],
) -> Result<WrittenOut> {
    let started = Instant::now();
    let progress = (opts.progress && merged.stats.runs > 0)
        .then(|| super::summary::merge_bar(merged.stats.runs));
    let mut objectives = history_before(config, opts, merged.merge.peek_start())?;
    let mut tally = Tally::new(config);
    let mut written: Vec<(String, usize, Duration)> = sinks
        .iter()
        .map(|s| (s.name(), 0, Duration::ZERO))
        .collect();
    let mut windows: Vec<Window> = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut first = true;
    loop {
        next_batch(merged, budget.batch_windows, &mut windows)?;
        if windows.is_empty() && !first {
            break;
        }
        first = false;
        windows.iter().for_each(|w| tally.add(w));
        records.clear();
        records_into(config, &windows, &mut objectives, &|_| true, &mut records);
        for (sink, (_, n, took)) in sinks.iter_mut().zip(written.iter_mut()) {
            let started = Instant::now();
            *n += sink
                .write(&records)
                .with_context(|| format!("cannot write records to {}", sink.name()))?;
            *took += started.elapsed();
        }
        if let (Some(pb), Some(w)) = (&progress, windows.last()) {
            pb.set_message(format!(
                "merging {} spill runs: at {}",
                merged.stats.runs,
                crate::time::format_rfc3339(w.start_ns)
            ));
        }
        if windows.is_empty() {
            break;
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    Ok(WrittenOut {
        tally,
        written,
        took: started.elapsed(),
    })
}

/// The next windows, oldest first, at most `max` of them, into `out`.
fn next_batch(merged: &mut Merged, max: usize, out: &mut Vec<Window>) -> Result<()> {
    out.clear();
    while out.len() < max {
        match merged.merge.next_window()? {
            Some(w) => out.push(w),
            None => break,
        }
    }
    Ok(())
}

/// Where the spill directory goes: `--tmp-dir`, else beside `--output`,
/// else the system's temporary directory.
fn spill_parent(opts: &Options) -> PathBuf {
    if let Some(dir) = &opts.tmp_dir {
        return dir.clone();
    }
    match opts.output.as_deref().map(Path::parent) {
        Some(Some(parent)) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => std::env::temp_dir(),
    }
}

/// The objectives as the configured sinks' history left them before the
/// first backfilled window: budgets and alert states then continue from
/// what was already written, so a backfill into a store that a stream job
/// also writes gives the `slo` and `alert` records the job gives (with
/// `--output`, the backfill starts from nothing). History written after the
/// backfilled range is not recomputed.
fn history_before(config: &Config, opts: &Options, first: Option<i64>) -> Result<Objectives> {
    let mut objectives = Objectives::new(config);
    let Some(first) = first else {
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
