//! The setup checks of the stream job: the counts of the windows it closes
//! are added up, and once [`WATCH_SPAN_NS`] of event time has closed (or
//! [`WATCH_LINES`] lines were read, for a job whose lines are all rejected
//! and so close no window) the checks run once. Their warnings are logged
//! and served as `slipstream_setup_warnings{kind,sli}` from then on.

use std::fmt::Write;

use super::{check, Observed, Probe, SliCounts, Warning};
use crate::config::Config;
use crate::window::Window;

/// Event time the closed windows must cover before the checks run.
pub const WATCH_SPAN_NS: i64 = 120 * 1_000_000_000;
/// Lines read after which the checks run even if no window closed.
pub const WATCH_LINES: u64 = 10_000;

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Watch {
    slis: Vec<SliCounts>,
    size_ns: i64,
    first_start: Option<i64>,
    last_end: i64,
    /// `Some` once the checks ran.
    warnings: Option<Vec<Warning>>,
}

impl Watch {
    pub fn new(config: &Config) -> Watch {
        Watch {
            slis: vec![SliCounts::default(); config.slis.len()],
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
            self.first_start = Some(self.first_start.map_or(w.start_ns, |f| f.min(w.start_ns)));
            self.last_end = self.last_end.max(w.start_ns.saturating_add(self.size_ns));
            for (t, s) in self.slis.iter_mut().zip(&w.slis) {
                t.total += s.total;
                t.good += s.good;
                t.bad += s.bad;
                t.invalid += s.invalid;
            }
        }
    }

    /// Runs the checks when they are due and have not run; returns the
    /// warnings the one time they run.
    pub fn check(&mut self, config: &Config, probe: &Probe) -> Option<&[Warning]> {
        let span = self
            .first_start
            .map_or(0, |f| self.last_end.saturating_sub(f));
        if self.done() || (span < WATCH_SPAN_NS && probe.lines() < WATCH_LINES) {
            return None;
        }
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
