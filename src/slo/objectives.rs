//! The objectives of a job: one [`Tracker`] and its [`Alerts`] per SLI with
//! an objective, fed closed windows in time order, turning them into
//! `window`, `slo` and `alert` records with their keys; and rebuilt from the
//! window records a sink already holds, so a restarted job reports the same
//! budgets as one that never stopped.

use crate::config::{BudgetMethod, Config};
use crate::record::{AnyRecord, Record, WindowCounts};
use crate::time::parse_rfc3339_str;
use crate::window::{window_record, Window};

use super::{alert_record, slo_record, Alerts, Severity, SloState, Tracker};

/// The objectives of every SLI that has one, fed window by window.
#[derive(Debug, Clone)]
pub struct Objectives {
    trackers: Vec<Option<(Tracker, Alerts)>>,
}

impl Objectives {
    pub fn new(config: &Config) -> Objectives {
        Objectives {
            trackers: config
                .slis
                .iter()
                .map(|s| {
                    s.objective
                        .as_ref()
                        .map(|o| (Tracker::new(o, config.window.size_ns), Alerts::new()))
                })
                .collect(),
        }
    }
}

/// The latest state of one objective, for gauges.
#[derive(Debug, Clone)]
pub struct ObjectiveGauge {
    pub sli: String,
    pub state: SloState,
    pub page: bool,
    pub ticket: bool,
}

impl Objectives {
    /// The state of every objective at the end of its last window.
    pub fn gauges(&self, config: &Config) -> Vec<ObjectiveGauge> {
        config
            .slis
            .iter()
            .zip(&self.trackers)
            .filter_map(|(sli, slot)| {
                let (tracker, alerts) = slot.as_ref()?;
                let at = tracker.last_end_ns()?;
                Some(ObjectiveGauge {
                    sli: sli.name.clone(),
                    state: tracker.state(at),
                    page: alerts.firing(Severity::Page),
                    ticket: alerts.firing(Severity::Ticket),
                })
            })
            .collect()
    }

    /// How far back the objectives look: the longest objective period or
    /// burn-rate span, whichever is longer.
    pub fn history_ns(&self) -> i64 {
        self.trackers
            .iter()
            .flatten()
            .map(|(t, _)| t.history_ns())
            .max()
            .unwrap_or(0)
    }

    /// Rebuilds the objectives from window records already written, as JSON
    /// lines in any order (lines of other kinds are skipped), so a restarted
    /// job reports the same budgets as one that never stopped. Returns how many distinct
    /// window records were used.
    pub fn rebuild<'a>(&mut self, config: &Config, lines: impl Iterator<Item = &'a str>) -> usize {
        self.rebuild_before(config, lines, i64::MAX)
    }

    /// [`Self::rebuild`] from the windows that start before `before_ns` only.
    pub fn rebuild_before<'a>(
        &mut self,
        config: &Config,
        lines: impl Iterator<Item = &'a str>,
        before_ns: i64,
    ) -> usize {
        self.rebuild_where(config, lines, &|_, start| start < before_ns)
    }

    /// [`Self::rebuild`] from the windows that `keep(sli, start)` accepts,
    /// which must accept a prefix of time for each SLI: a rollup instance
    /// keeps each SLI's windows up to what its stage emitted, since the
    /// store may hold later windows of SLIs that other instances own.
    pub fn rebuild_where<'a>(
        &mut self,
        config: &Config,
        lines: impl Iterator<Item = &'a str>,
        keep: &dyn Fn(usize, i64) -> bool,
    ) -> usize {
        // (window start, SLI) -> (good, bad, percentiles); a key written
        // twice carries the same numbers.
        type Numbers = (u64, u64, Option<Vec<f64>>);
        let mut seen: std::collections::BTreeMap<(i64, usize), Numbers> = Default::default();
        for line in lines {
            let Some(w) = WindowCounts::parse(line) else {
                continue;
            };
            let Some(sli) = config.slis.iter().position(|s| s.name == w.sli) else {
                continue;
            };
            let Some(start) = parse_rfc3339_str(&w.window_start).filter(|&s| keep(sli, s)) else {
                continue;
            };
            let latency: Option<Vec<f64>> = w.latency.map(|l| {
                config.slis[sli]
                    .percentiles
                    .iter()
                    .map(|p| l.percentile(&p.key).unwrap_or(f64::NAN))
                    .collect()
            });
            seen.insert((start, sli), (w.good, w.bad, latency));
        }
        // Replay the windows in order, alerts included (their records were
        // written already), so the state machine resumes where it was: as
        // the live job does, every objective is evaluated at the end of
        // every window that any SLI had, with nothing where its SLI had none.
        let size = config.window.size_ns;
        let starts: std::collections::BTreeSet<i64> =
            seen.keys().map(|&(start, _)| start).collect();
        for start in starts {
            for (sli, slot) in self.trackers.iter_mut().enumerate() {
                let Some((t, alerts)) = slot.as_mut().filter(|_| keep(sli, start)) else {
                    continue;
                };
                match seen.get(&(start, sli)) {
                    Some((g, b, latency)) => t.observe_window(start, *g, *b, latency.as_deref()),
                    None => t.observe(start, 0, 0),
                }
                alerts.evaluate(t, start + size);
            }
        }
        seen.len()
    }
}

/// The records of closed windows, oldest first: for each window, its window
/// records in the configuration's SLI order, then the `slo` record of every
/// SLI with an objective. An SLI gets a window record for a window in which
/// at least one of its events fell.
pub fn records(config: &Config, windows: &[Window], objectives: &mut Objectives) -> Vec<Record> {
    let mut out = Vec::new();
    records_into(config, windows, objectives, &|_| true, &mut out);
    out
}

/// Like [`records`], for the SLIs `owned` accepts (by index) only: the
/// windows hold no counts of the others, which another instance owns.
pub fn records_into(
    config: &Config,
    windows: &[Window],
    objectives: &mut Objectives,
    owned: &dyn Fn(usize) -> bool,
    out: &mut Vec<Record>,
) {
    let mut typed = Vec::new();
    typed_records_into(config, windows, objectives, owned, &mut typed);
    out.extend(typed.iter().map(Record::from));
}

/// The records of [`records_into`] as typed values, before they are
/// rendered: what the status page and the reports read.
pub fn typed_records_into(
    config: &Config,
    windows: &[Window],
    objectives: &mut Objectives,
    owned: &dyn Fn(usize) -> bool,
    out: &mut Vec<AnyRecord>,
) {
    let size = config.window.size_ns;
    for w in windows {
        let first = out.len();
        for (i, (sli, sw)) in config.slis.iter().zip(w.slis.iter()).enumerate() {
            if sw.total == 0 || !owned(i) {
                continue;
            }
            out.push(AnyRecord::Window(window_record(sli, w.start_ns, size, sw)));
        }
        let at = w.start_ns + size;
        for (i, ((sli, sw), slot)) in config
            .slis
            .iter()
            .zip(w.slis.iter())
            .zip(objectives.trackers.iter_mut())
            .enumerate()
        {
            let Some((tracker, alerts)) = slot.as_mut().filter(|_| owned(i)) else {
                continue;
            };
            // A slice rule reads the percentiles as the window record has them,
            // so a rebuild from the records decides every slice the same way.
            let timeslices = tracker.objective().method == BudgetMethod::Timeslices;
            let latency = timeslices
                .then(|| window_latencies(&out[first..], &sli.name))
                .flatten();
            tracker.observe_window(w.start_ns, sw.good, sw.bad, latency.as_deref());
            let state = tracker.state(at);
            out.push(AnyRecord::Slo(slo_record(&sli.name, tracker, &state)));
            for change in alerts.evaluate(tracker, at) {
                out.push(AnyRecord::Alert(alert_record(
                    &sli.name, tracker, &state, &change,
                )));
            }
        }
    }
}

/// The percentiles of `sli`'s window record among `records`, in the
/// record's order, if it has latencies.
fn window_latencies(records: &[AnyRecord], sli: &str) -> Option<Vec<f64>> {
    records.iter().find_map(|r| match r {
        AnyRecord::Window(w) if w.sli == sli => w
            .latency
            .as_ref()
            .map(|l| l.percentiles.iter().map(|(_, v)| *v).collect()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::window::SliWindow;

    #[test]
    fn a_restart_rebuilt_from_the_file_reports_the_same_budgets() {
        let config = Config::parse(
            Path::new("t.toml"),
            "[[sli]]\nname = \"a\"\ngood = \"status < 500\"\n[sli.objective]\ntarget = 0.99\nwindow = \"1h\"\n",
        )
        .unwrap();
        let size = config.window.size_ns;
        let windows: Vec<Window> = (0..200i64)
            .filter(|i| i % 17 != 3)
            .map(|i| {
                let sw = SliWindow {
                    total: 100 + (i as u64 % 7),
                    good: 100 - (i as u64 % 5),
                    bad: i as u64 % 5 + (i as u64 % 7),
                    ..SliWindow::default()
                };
                Window {
                    start_ns: 1_795_773_600_000_000_000 + i * size,
                    slis: vec![sw].into_boxed_slice(),
                }
            })
            .collect();
        let uninterrupted = records(&config, &windows, &mut Objectives::new(&config));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        let (before, after) = windows.split_at(120);
        let first = records(&config, before, &mut Objectives::new(&config));
        let text: String = first.iter().map(|r| format!("{}\n", r.json)).collect();
        std::fs::write(&path, text).unwrap();
        let mut restarted = Objectives::new(&config);
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(restarted.rebuild(&config, written.lines()), 120);
        // The restarted job writes two windows again, then goes on.
        let second = records(&config, &windows[118..], &mut restarted);
        let mut combined = first.clone();
        combined.extend(second.iter().skip(4).cloned());
        assert_eq!(combined, uninterrupted);
        // The rewritten windows carry the same numbers as the first time.
        assert_eq!(&second[..4], &first[first.len() - 4..]);
        assert!(after.len() > 50);

        // A store gives back lean rows, only the fields a rebuild reads:
        // the same budgets follow.
        let lean: Vec<String> = written
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["kind"] == "window").then(|| {
                    serde_json::json!({
                        "kind": "window", "sli": v["sli"], "window_start": v["window_start"],
                        "good": v["good"], "bad": v["bad"], "latency": v["latency"],
                    })
                    .to_string()
                })
            })
            .collect();
        let mut from_store = Objectives::new(&config);
        assert_eq!(
            from_store.rebuild(&config, lean.iter().map(String::as_str)),
            120
        );
        assert_eq!(records(&config, &windows[118..], &mut from_store), second);
    }
}
