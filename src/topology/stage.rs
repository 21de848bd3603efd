//! What a stream stage turns its closed windows into: the strategy behind
//! `--role`. A whole job (`all`) turns them into records, keeping the
//! objectives and the setup checks; an ingest instance into partial
//! windows and progress for the partials topic; a rollup, which reads
//! those, into records for the SLIs it owns. The loop in this folder is
//! the same for all three and asks its [`Stage`] at each step where they
//! differ.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use tracing::{info, warn};

use super::Shared;
use crate::config::Config;
use crate::record::{AnyRecord, Record};
use crate::scale::rollup::Rollup;
use crate::scale::Outgoing;
use crate::setup::watch::{Sees, Watch};
use crate::slo::{typed_records_into, Objectives};
use crate::stream::{Closed, Job, Progress, Scope, StreamState};

/// What closed windows turned into, to be written out.
#[derive(Default)]
pub(super) struct Emitted {
    /// For the sinks.
    pub records: Vec<Record>,
    /// The same records, typed, for the status page.
    pub typed: Vec<AnyRecord>,
    /// For the partials topic.
    pub partials: Outgoing,
    /// How many windows closed.
    pub windows: usize,
}

impl Emitted {
    pub fn is_empty(&self) -> bool {
        self.windows == 0 && self.partials.is_empty()
    }

    /// Renders the typed records for the sinks.
    fn render(mut self) -> Emitted {
        self.records = self.typed.iter().map(Record::from).collect();
        self
    }
}

/// Counts, per grouped SLI, the events its window records put in the group
/// `__other__` (past its `group_limit`) into `counts`; logs a warning the
/// first time an SLI has any.
pub(super) fn count_other(
    config: &Config,
    typed: &[AnyRecord],
    counts: &mut BTreeMap<String, u64>,
) {
    use crate::window::OTHER;
    for r in typed {
        let AnyRecord::Window(w) = r else { continue };
        let Some(group) = &w.group else { continue };
        if !group.0.iter().all(|(_, v)| v.as_deref() == Some(OTHER)) {
            continue;
        }
        let n = counts.entry(w.sli.clone()).or_default();
        if *n == 0 {
            let limit = config
                .slis
                .iter()
                .find(|s| s.name == w.sli)
                .map_or(0, |s| s.group_limit);
            warn!(
                sli = %w.sli,
                group_limit = limit,
                window_start = %w.window_start,
                "A window of a grouped SLI had more groups than its group_limit: the others are counted in the group __other__ (see slipstream_group_other_events_total); raise group_limit, or group by a field with fewer values."
            );
        }
        *n += w.total;
    }
}

/// One stage of the stream job (see [`crate::scale`]).
pub(super) trait Stage {
    /// The `--role` that runs it, shown as `slipstream_role`.
    fn name(&self) -> &'static str;

    /// The state that counts this stage's input.
    fn state(&self, config: &Config) -> Box<dyn StreamState>;

    /// At each turn of the loop, before polling.
    fn turn(&mut self, _shared: &Shared) {}

    /// Before windows close. `false`: nothing may be written now; the next
    /// close tries again.
    fn prepare(&mut self, _config: &Config, _shared: &Shared) -> bool {
        true
    }

    /// What the windows that closed `now` turn into.
    fn emit(&mut self, config: &Config, shared: &Shared, closed: Closed, now: Instant) -> Emitted;

    /// The objectives the stage keeps, for their gauges.
    fn objectives(&self) -> Option<&Objectives> {
        None
    }

    /// The setup checks over what the stage sees, fed as windows close.
    fn watch(&mut self) -> &mut Watch;
}

/// `--role all`: every SLI of the assigned partitions, records out.
pub(super) struct WholeJob {
    objectives: Objectives,
    watch: Watch,
}

impl WholeJob {
    /// Continues the objectives from the window records the sinks hold.
    pub fn start(config: &Config) -> anyhow::Result<WholeJob> {
        let mut objectives = Objectives::new(config);
        if let Some((from, windows)) =
            crate::sinks::rebuild_objectives(config, &mut objectives, None)?
        {
            info!(%from, windows, "Rebuilt the objectives from written window records.");
        }
        Ok(WholeJob {
            objectives,
            watch: Watch::new(config, Sees::Everything),
        })
    }
}

impl Stage for WholeJob {
    fn name(&self) -> &'static str {
        "all"
    }

    fn state(&self, config: &Config) -> Box<dyn StreamState> {
        Box::new(Job::new(config))
    }

    fn emit(&mut self, config: &Config, _: &Shared, closed: Closed, _: Instant) -> Emitted {
        let mut out = Emitted::default();
        if let Closed::Windows(w) = closed {
            out.windows = w.len();
            self.watch.add(&w);
            typed_records_into(config, &w, &mut self.objectives, &|_| true, &mut out.typed);
        }
        out.render()
    }

    fn objectives(&self) -> Option<&Objectives> {
        Some(&self.objectives)
    }

    fn watch(&mut self) -> &mut Watch {
        &mut self.watch
    }
}

/// How often unchanged progress is sent again, so a restarted rollup
/// learns it soon.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// `--role ingest`: source partitions in, partial windows and progress out
/// to the partials topic.
pub(super) struct Ingest {
    /// The partials topic's partition count.
    partitions: i32,
    /// The setup checks over this instance's partitions.
    watch: Watch,
    /// The progress last sent, and when.
    last_progress: Vec<Progress>,
    last_sent: Instant,
}

impl Ingest {
    pub fn new(config: &Config, partitions: i32) -> Ingest {
        Ingest {
            partitions,
            watch: Watch::new(config, Sees::Lines),
            last_progress: Vec::new(),
            last_sent: Instant::now(),
        }
    }
}

impl Stage for Ingest {
    fn name(&self) -> &'static str {
        "ingest"
    }

    fn state(&self, config: &Config) -> Box<dyn StreamState> {
        Box::new(Job::with_scope(config, Scope::PerPartition))
    }

    fn emit(&mut self, config: &Config, shared: &Shared, closed: Closed, now: Instant) -> Emitted {
        let mut out = Emitted::default();
        if let Closed::Handover(h) = closed {
            out.windows = h.closed.len();
            self.watch.add(h.closed.iter().map(|(_, w)| w));
            let due = !h.closed.is_empty()
                || !h.snapshots.is_empty()
                || h.progress != self.last_progress
                || self.last_sent.elapsed() >= PROGRESS_EVERY;
            if due {
                out.partials =
                    crate::scale::messages(config, &shared.topics, &h, self.partitions, true);
                self.last_progress = h.progress;
                self.last_sent = now;
            }
        }
        out
    }

    fn watch(&mut self) -> &mut Watch {
        &mut self.watch
    }
}

/// How often the rollup re-reads which source partitions exist.
const SOURCES_EVERY: Duration = Duration::from_secs(10);

/// `--role rollup`: partial windows in, records out for the SLIs this
/// instance owns.
pub(super) struct RollupStage {
    partitions: i32,
    objectives: Objectives,
    /// To read the source topics' partitions from the cluster.
    base: ClientConfig,
    source_topics: Vec<String>,
    last_sources: Option<Instant>,
    /// Which of its SLIs matched nothing in any partition.
    watch: Watch,
}

impl RollupStage {
    pub fn new(
        config: &Config,
        partitions: i32,
        base: ClientConfig,
        source_topics: Vec<String>,
    ) -> RollupStage {
        RollupStage {
            partitions,
            objectives: Objectives::new(config),
            base,
            source_topics,
            last_sources: None,
            watch: Watch::new(config, Sees::Windows),
        }
    }
}

impl Stage for RollupStage {
    fn name(&self) -> &'static str {
        "rollup"
    }

    fn state(&self, config: &Config) -> Box<dyn StreamState> {
        Box::new(Rollup::new(config, self.partitions))
    }

    /// Every [`SOURCES_EVERY`]: the source partitions the rollup waits
    /// for, from the cluster.
    fn turn(&mut self, shared: &Shared) {
        if self
            .last_sources
            .is_some_and(|t| t.elapsed() < SOURCES_EVERY)
        {
            return;
        }
        self.last_sources = Some(Instant::now());
        let topics = &self.source_topics;
        match crate::kafka::admin::partitions(&self.base, topics) {
            Ok(sources) if !sources.is_empty() => shared.job().set_sources(sources),
            Ok(_) => warn!(?topics, "The source topics have no partitions yet."),
            Err(e) => {
                warn!(error = %format!("{e:#}"), "Cannot read the source partitions; keeping the last known.")
            }
        }
    }

    /// After an assignment: the SLIs this instance owns may have been
    /// another's until now, so their budgets continue from what the sinks
    /// hold, each up to what its unit emitted (the store may hold later
    /// windows of the SLIs of other instances).
    fn prepare(&mut self, config: &Config, shared: &Shared) -> bool {
        use std::sync::atomic::Ordering;
        if !shared.reassigned.swap(false, Ordering::AcqRel) {
            return true;
        }
        let until = shared.job().emitted_until().unwrap_or_default();
        let size = config.window.size_ns;
        let keep = |sli: usize, start: i64| {
            until
                .get(sli)
                .is_some_and(|&end| start.saturating_add(size) <= end)
        };
        let mut objectives = Objectives::new(config);
        match crate::sinks::rebuild_objectives_where(config, &mut objectives, None, &keep) {
            Ok(from) => {
                if let Some((from, windows)) = from {
                    info!(%from, windows, "Rebuilt the objectives after an assignment.");
                }
                self.objectives = objectives;
                true
            }
            Err(e) => {
                warn!(error = %format!("{e:#}"), "Cannot rebuild the objectives after an assignment; not writing until it works.");
                shared.reassigned.store(true, Ordering::Release);
                false
            }
        }
    }

    fn emit(&mut self, config: &Config, shared: &Shared, closed: Closed, _: Instant) -> Emitted {
        let mut out = Emitted::default();
        if let Closed::Groups(groups) = closed {
            let frontier_ns = shared.job().frontier_ns();
            for (owned, w) in groups {
                out.windows += w.len();
                self.watch.add_owned(&owned, &w, frontier_ns);
                typed_records_into(
                    config,
                    &w,
                    &mut self.objectives,
                    &|i| owned.get(i).copied().unwrap_or(false),
                    &mut out.typed,
                );
            }
        }
        out.render()
    }

    fn objectives(&self) -> Option<&Objectives> {
        Some(&self.objectives)
    }

    fn watch(&mut self) -> &mut Watch {
        &mut self.watch
    }
}
