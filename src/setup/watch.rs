//! The setup checks of the stream job: the counts of the windows it closes
//! are added up, and once [`WATCH_SPAN_NS`] of event time has closed (or
//! [`WATCH_LINES`] lines were read, for a job whose lines are all rejected
//! and so close no window) the checks run once. Their warnings are logged
//! and served as `slipstream_setup_warnings{kind,sli}` from then on.
//!
//! Scaled out, each stage judges what it [`Sees`]: an ingest instance the
//! lines of its partitions, the rollup which SLI matched nothing in any
//! partition.

use std::fmt::Write;

use super::{check, Observed, Probe, SliCounts, Warning};
use crate::config::Config;
use crate::window::Window;

/// Event time the closed windows must cover before the checks run.
pub const WATCH_SPAN_NS: i64 = 120 * 1_000_000_000;
/// Lines read after which the checks run even if no window closed.
pub const WATCH_LINES: u64 = 10_000;

/// What a stage's setup checks see of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sees {
    /// Every line and every whole window (`--role all`).
    Everything,
    /// The lines of some source partitions and their part of each window
    /// (an ingest instance): every check but `no_match`, since an SLI that
    /// matched nothing there may match in another instance's partitions.
    Lines,
    /// No line, but the whole windows of the SLIs the stage owns (a
    /// rollup): only `no_match`.
    Windows,
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Watch {
    sees: Sees,
    slis: Vec<SliCounts>,
    /// The SLIs whose whole windows were added ([`Sees::Windows`]).
    owned: Vec<bool>,
    size_ns: i64,
    first_start: Option<i64>,
    last_end: i64,
    /// `Some` once the checks ran.
    warnings: Option<Vec<Warning>>,
}

impl Watch {
    pub fn new(config: &Config, sees: Sees) -> Watch {
        Watch {
            sees,
            slis: vec![SliCounts::default(); config.slis.len()],
            owned: vec![false; config.slis.len()],
            size_ns: config.window.size_ns,
            first_start: None,
            last_end: i64::MIN,
            warnings: None,
        }
    }

    /// Whether the checks already ran.
    pub fn done(&self) -> bool {
        self.warnings.is_some()
    }

    /// Adds the counts of windows just closed (whole windows, or one
    /// partition's part of them: the checks need only the sums).
    pub fn add<'w>(&mut self, windows: impl IntoIterator<Item = &'w Window>) {
        if self.done() {
            return;
        }
        for w in windows {
            self.passed(w.start_ns, w.start_ns.saturating_add(self.size_ns));
            for (t, s) in self.slis.iter_mut().zip(&w.slis) {
                t.add(s);
            }
        }
    }

    /// Adds the whole windows of the SLIs marked in `owned`, closed up to
    /// `frontier_ns` (a rollup's: its windows of other SLIs hold only
    /// their partitions' part).
    pub fn add_owned(&mut self, owned: &[bool], windows: &[Window], frontier_ns: i64) {
        if self.done() {
            return;
        }
        for (o, &mine) in self.owned.iter_mut().zip(owned) {
            *o |= mine;
        }
        if frontier_ns > i64::MIN {
            // Event time passes whether or not an owned SLI saw an event.
            self.passed(frontier_ns, frontier_ns);
        }
        for w in windows {
            self.passed(w.start_ns, w.start_ns.saturating_add(self.size_ns));
            for ((t, s), _) in self
                .slis
                .iter_mut()
                .zip(&w.slis)
                .zip(owned)
                .filter(|(_, &mine)| mine)
            {
                t.add(s);
            }
        }
    }

    /// Event time from `start_ns` to `end_ns` has closed.
    fn passed(&mut self, start_ns: i64, end_ns: i64) {
        self.first_start = Some(self.first_start.map_or(start_ns, |f| f.min(start_ns)));
        self.last_end = self.last_end.max(end_ns);
    }

    /// Runs the checks when they are due and have not run; returns the
    /// warnings the one time they run. `probe` is what the stage's engine
    /// noticed of the lines; a stage that reads none has none.
    pub fn check(&mut self, config: &Config, probe: Option<&Probe>) -> Option<&[Warning]> {
        let span = self
            .first_start
            .map_or(0, |f| self.last_end.saturating_sub(f));
        let lines = probe.map_or(0, Probe::lines);
        if self.done() || (span < WATCH_SPAN_NS && lines < WATCH_LINES) {
            return None;
        }
        if self.sees == Sees::Windows {
            let minutes = span / 60_000_000_000;
            let what = format!(
                "no event in the {minutes} minute(s) of windows this rollup closed, over every source partition"
            );
            let warnings = config
                .slis
                .iter()
                .zip(&self.slis)
                .zip(&self.owned)
                .filter(|((_, counts), &mine)| mine && counts.total == 0)
                .map(|((sli, _), _)| super::unmatched(sli, &what))
                .collect();
            self.warnings = Some(warnings);
            return self.warnings.as_deref();
        }
        let probe = probe?;
        let decoded = probe.events();
        let first_rejected = probe
            .first_rejected
            .as_ref()
            .map(|(reason, text, looks_like)| super::FirstRejected {
                at: String::new(),
                reason: *reason,
                text: text.clone(),
                looks_like: *looks_like,
            });
        let warnings = check(
            config,
            &Observed {
                lines: probe.lines() - probe.skipped_lines(),
                decoded,
                counted: decoded,
                rejected: probe.lines() - probe.skipped_lines() - decoded,
                first_rejected,
                slis: &self.slis,
                probe,
                range: None,
                no_match: self.sees == Sees::Everything,
            },
        );
        self.warnings = Some(warnings);
        self.warnings.as_deref()
    }

    /// `slipstream_setup_warnings{kind,sli}`: how many warnings of each kind
    /// each SLI got (`sli=""` for the input's), once the checks ran.
    pub fn render_metrics(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP slipstream_setup_warnings Signs of a wrong setup found after the first minutes (see the log for each).\n# TYPE slipstream_setup_warnings gauge"
        );
        let Some(warnings) = &self.warnings else {
            return;
        };
        let mut counted: Vec<((&str, &str), u64)> = Vec::new();
        for w in warnings {
            let key = (w.kind, w.sli.as_deref().unwrap_or(""));
            match counted.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => counted.push((key, 1)),
            }
        }
        for ((kind, sli), n) in counted {
            let _ = writeln!(
                out,
                "slipstream_setup_warnings{{kind=\"{kind}\",sli=\"{}\"}} {n}",
                crate::telemetry::label(sli)
            );
        }
    }
}
