//! What backfill tells the user: a progress bar while it reads, and a summary
//! at the end (bytes, lines, rejections by reason with an example line each,
//! per-SLI totals, where the records went, what spilling to disk cost).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::spill::Stats;
use super::{Counts, Outcome};
use crate::config::Config;
use crate::reject::LineReject;
use crate::setup::{self, FirstRejected, Observed, SliCounts, Warning};
use crate::window::Window;

/// A progress bar over input bytes with the line rate, drawn on stderr only
/// when it is a terminal. A ticker thread refreshes it from the counters.
pub fn progress_bar(
    total: Option<u64>,
    bytes: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
    (objects_done, objects): (Arc<AtomicU64>, u64),
    spilled: Arc<AtomicU64>,
) -> ProgressBar {
    let pb = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr_with_hz(4)),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4)),
    };
    let template = if total.is_some() {
        "{spinner} [{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} {msg} ETA {eta}"
    } else {
        "{spinner} [{elapsed_precise}] {bytes} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    let ticker = pb.clone();
    std::thread::spawn(move || {
        let mut last_lines = 0u64;
        let step = Duration::from_millis(250);
        while !ticker.is_finished() {
            let l = lines.load(Ordering::Relaxed);
            ticker.set_position(bytes.load(Ordering::Relaxed));
            let rate = (l - last_lines) as f64 / step.as_secs_f64();
            let mut message = format!("{} lines, {}/s", human(l as f64), human(rate));
            if objects > 0 {
                let done = objects_done.load(Ordering::Relaxed);
                message.push_str(&format!(", {done}/{objects} objects"));
            }
            let spill = spilled.load(Ordering::Relaxed);
            if spill > 0 {
                message.push_str(&format!(", {:.1} MB spilled", spill as f64 / 1e6));
            }
            ticker.set_message(message);
            last_lines = l;
            std::thread::sleep(step);
        }
    });
    pb
}

/// A spinner for the end of a run that spilled: the runs being merged into
/// records, with the window reached in its message.
pub fn merge_bar(runs: usize) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}") {
        pb.set_style(style);
    }
    pb.set_message(format!("merging {runs} spill runs"));
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// One rejection reason with its count and first occurrence.
#[derive(Debug, Clone)]
pub struct RejectExample {
    pub reason: LineReject,
    pub count: u64,
    /// `input:line` of the first rejected line.
    pub first: String,
}

/// Totals of one SLI over the whole input.
#[derive(Debug, Clone, Default)]
pub struct SliTotals {
    pub name: String,
    pub windows: u64,
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    pub invalid: u64,
    /// For a grouped SLI: its `group_limit`, and the windows and events
    /// that had more groups than that and went to `__other__`.
    pub group_limit: Option<usize>,
    pub other_windows: u64,
    pub other_events: u64,
}

impl SliTotals {
    /// The warning of a grouped SLI whose groups went past its limit.
    pub fn overflow_warning(&self) -> Option<Warning> {
        let limit = self.group_limit.filter(|_| self.other_events > 0)?;
        Some(Warning {
            kind: "group_limit",
            sli: Some(self.name.clone()),
            message: format!(
                "SLI \"{}\": {} window(s) had more than {limit} groups (group_limit = {limit}): {} events were counted in the group {}; raise group_limit, or group by a field with fewer values",
                self.name,
                setup::thousands(self.other_windows),
                setup::thousands(self.other_events),
                crate::window::OTHER,
            ),
        })
    }
}

/// Per-SLI totals, window by window.
pub struct Tally(Vec<SliTotals>);

impl Tally {
    pub fn new(config: &Config) -> Tally {
        Tally(
            config
                .slis
                .iter()
                .map(|s| SliTotals {
                    name: s.name.clone(),
                    group_limit: (!s.group_by.is_empty()).then_some(s.group_limit),
                    ..Default::default()
                })
                .collect(),
        )
    }

    pub fn add(&mut self, w: &Window) {
        for (t, s) in self.0.iter_mut().zip(w.slis.iter()) {
            if s.total > 0 {
                t.windows += 1;
            }
            t.total += s.total;
            t.good += s.good;
            t.bad += s.bad;
            t.invalid += s.invalid;
            if let Some(other) = s.groups.as_ref().and_then(|g| g.other()) {
                t.other_windows += 1;
                t.other_events += other.total;
            }
        }
    }
}

/// What became of the records.
#[derive(Debug, Clone)]
pub enum Written {
    /// Per sink: its name, how many records, and how long it took.
    Records(Vec<(String, usize, Duration)>),
    /// Nothing was written, since no input could be read: these targets
    /// were left as they were.
    Kept(Vec<String>),
}

/// The end-of-run report.
#[derive(Debug, Clone)]
pub struct Summary {
    pub inputs: usize,
    pub bytes: u64,
    pub counts: Counts,
    pub rejected: Vec<RejectExample>,
    pub slis: Vec<SliTotals>,
    pub errors: Vec<super::InputError>,
    pub written: Written,
    /// Where the rejected lines went, and how many.
    pub dead_letters: Option<(String, u64)>,
    pub elapsed: Duration,
    /// Signs of a wrong setup (see [`crate::setup`]); none when no input
    /// could be read, which is an error of its own.
    pub warnings: Vec<Warning>,
    /// What spilling closed windows to disk cost, when the run did.
    pub spill: Option<Stats>,
}

impl Summary {
    pub fn new(config: &Config, o: &Outcome, tally: Tally, written: Written) -> Summary {
        let name_of = |input: u32| {
            o.inputs
                .get(input as usize)
                .map_or_else(|| "?".into(), |i| i.name())
        };
        let rejected = LineReject::ALL
            .iter()
            .filter(|r| o.counts.rejected[r.index()] > 0)
            .map(|&r| RejectExample {
                reason: r,
                count: o.counts.rejected[r.index()],
                first: o.counts.first_rejected[r.index()]
                    .map_or_else(String::new, |(i, l)| format!("{}:{l}", name_of(i))),
            })
            .collect();
        let slis = tally.0;
        let warnings = if o.nothing_read() {
            Vec::new()
        } else {
            let counts: Vec<SliCounts> = slis
                .iter()
                .map(|s| SliCounts {
                    total: s.total,
                    good: s.good,
                    bad: s.bad,
                    invalid: s.invalid,
                })
                .collect();
            let c = &o.counts;
            let first_rejected =
                c.first_rejected_line
                    .as_ref()
                    .map(|((input, line), reason, text)| FirstRejected {
                        at: format!("{}:{line}", name_of(*input)),
                        reason: *reason,
                        text: text.clone(),
                        looks_like: setup::sniff_format(text),
                    });
            setup::check(
                config,
                &Observed {
                    // Header and blank lines are no input to judge a setup by.
                    lines: c.lines - c.skipped(),
                    decoded: c.accepted + c.out_of_range,
                    counted: c.accepted,
                    rejected: c.rejected_total(),
                    first_rejected,
                    slis: &counts,
                    probe: &o.probe,
                    range: o.ranged.then_some("in --from/--to"),
                    no_match: true,
                },
            )
        };
        let mut warnings = warnings;
        warnings.extend(slis.iter().filter_map(SliTotals::overflow_warning));
        Summary {
            warnings,
            inputs: o.inputs.len(),
            bytes: o.bytes,
            counts: o.counts.clone(),
            rejected,
            slis,
            errors: o.errors.clone(),
            written,
            dead_letters: o.dead_letters.clone(),
            elapsed: o.elapsed,
            spill: None,
        }
    }

    /// Total rejected lines, blank and header lines left out.
    pub fn rejected_total(&self) -> u64 {
        self.counts.rejected_total()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let c = &self.counts;
        writeln!(
            f,
            "Read {} input(s), {:.1} MB, {} lines in {:.2} s ({} lines/s).",
            self.inputs,
            self.bytes as f64 / 1e6,
            c.lines,
            secs,
            human(c.lines as f64 / secs)
        )?;
        writeln!(
            f,
            "Accepted {} events; {} outside --from/--to; {} rejected{}.",
            c.accepted,
            c.out_of_range,
            self.rejected_total(),
            match c.skipped() {
                0 => String::new(),
                n => format!("; {n} blank or header line(s) skipped"),
            }
        )?;
        for r in &self.rejected {
            writeln!(
                f,
                "  {:<14} {:>10}  first at {}",
                r.reason.name(),
                r.count,
                r.first
            )?;
        }
        let width = self
            .slis
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(3)
            .max(3);
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>12}  {:>12}  {:>10}  {:>8}  {:>11}",
            "SLI", "windows", "total", "good", "bad", "invalid", "compliance"
        )?;
        for s in &self.slis {
            let valid = s.good + s.bad;
            let compliance = if valid > 0 {
                format!("{:.5}%", 100.0 * s.good as f64 / valid as f64)
            } else {
                "-".to_string()
            };
            writeln!(
                f,
                "{:<width$}  {:>8}  {:>12}  {:>12}  {:>10}  {:>8}  {:>11}",
                s.name, s.windows, s.total, s.good, s.bad, s.invalid, compliance
            )?;
        }
        for s in self.slis.iter().filter(|s| s.other_events > 0) {
            writeln!(
                f,
                "{}: {} events in {} window(s) went to the group {} (group_limit {}).",
                s.name,
                s.other_events,
                s.other_windows,
                crate::window::OTHER,
                s.group_limit.unwrap_or(0)
            )?;
        }
        match &self.written {
            Written::Records(written) => {
                for (sink, n, took) in written {
                    writeln!(
                        f,
                        "Wrote {n} record{} to {sink} in {:.2} s.",
                        if *n == 1 { "" } else { "s" },
                        took.as_secs_f64()
                    )?;
                }
            }
            Written::Kept(kept) => writeln!(
                f,
                "No input could be read: nothing was written, and {} kept what it held.",
                kept.join(", ")
            )?,
        }
        if let Some(s) = &self.spill {
            writeln!(
                f,
                "Spilled {:.1} MB of closed windows in {} run(s) to stay within --memory-limit {} MiB: {:.2} s writing, {:.2} s merging.",
                s.bytes as f64 / 1e6,
                s.runs,
                s.limit >> 20,
                s.write.as_secs_f64(),
                s.merge.as_secs_f64()
            )?;
        }
        if let Some((dest, n)) = &self.dead_letters {
            let s = if *n == 1 { "" } else { "s" };
            writeln!(f, "Wrote {n} dead letter{s} to {dest}.")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        for e in &self.errors {
            writeln!(
                f,
                "error: {}: {} (the rest of the input was processed)",
                e.input, e.message
            )?;
        }
        Ok(())
    }
}
