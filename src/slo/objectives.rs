//! The objectives of a job: one [`Tracker`] and its [`Alerts`] per SLI with
//! an objective, fed closed windows in time order, turning them into
//! `window`, `slo` and `alert` records with their keys; and rebuilt from the
//! window records a sink already holds, so a restarted job reports the same
//! budgets as one that never stopped.

use crate::config::{BudgetMethod, Config};
use crate::record::{AnyRecord, Record, WindowCounts};
use crate::time::parse_rfc3339_str;
use crate::window::{window_record, Bounds, Window};

use super::grouped::{self, group_of, key_of_group, window_groups, window_series, GroupObjectives};
use super::{alert_record, slo_record, Alerts, Severity, SloState, Tracker};
use crate::record::{series_name, Group};

/// The objectives of every SLI that has one, fed window by window.
#[derive(Debug, Clone)]
pub struct Objectives {
    /// Per SLI, the objective of an ungrouped SLI that has one.
    trackers: Vec<Option<(Tracker, Alerts)>>,
    /// Per SLI, the objectives of a grouped SLI that has one.
    groups: Vec<Option<GroupObjectives>>,
}

impl Objectives {
    pub fn new(config: &Config) -> Objectives {
        Objectives {
            trackers: config
                .slis
                .iter()
                .map(|s| {
                    let o = s.objective.as_ref().filter(|_| s.group_by.is_empty())?;
                    Some((Tracker::new(o, config.window.size_ns), Alerts::new()))
                })
                .collect(),
            groups: grouped::for_config(config),
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
    /// A grouped SLI's objectives are named by their series
    /// (`checkout {http.route=/a}`).
    pub fn gauges(&self, config: &Config) -> Vec<ObjectiveGauge> {
        let gauge = |name: String, tracker: &Tracker, alerts: &Alerts| {
            let at = tracker.last_end_ns()?;
            Some(ObjectiveGauge {
                sli: name,
                state: tracker.state(at),
                page: alerts.firing(Severity::Page),
                ticket: alerts.firing(Severity::Ticket),
            })
        };
        let mut out = Vec::new();
        for (sli, (slot, groups)) in config
            .slis
            .iter()
            .zip(self.trackers.iter().zip(&self.groups))
        {
            if let Some((tracker, alerts)) = slot {
                out.extend(gauge(sli.name.clone(), tracker, alerts));
            }
            for (key, tracker, alerts) in groups.iter().flat_map(GroupObjectives::iter) {
                let name = series_name(&sli.name, Some(&group_of(sli, key)));
                out.extend(gauge(name, tracker, alerts));
            }
        }
        out
    }

    /// How far back the objectives look: the longest objective period or
    /// burn-rate span, whichever is longer.
    pub fn history_ns(&self) -> i64 {
        let grouped = self.groups.iter().flatten().map(|g| g.history_ns());
        self.trackers
            .iter()
            .flatten()
            .map(|(t, _)| t.history_ns())
            .chain(grouped)
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
        // (window start, SLI, group key) for the groups of grouped SLIs.
        let mut seen_groups: std::collections::BTreeMap<(i64, usize, Box<str>), Numbers> =
            Default::default();
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
            let s = &config.slis[sli];
            match (&w.group, s.group_by.is_empty()) {
                (None, true) => {
                    seen.insert((start, sli), (w.good, w.bad, latency));
                }
                (Some(group), false) => {
                    if let Some(key) = key_of_group(s, group) {
                        seen_groups.insert((start, sli, key), (w.good, w.bad, latency));
                    }
                }
                // A record of the SLI before or after it was grouped.
                _ => {}
            }
        }
        // Replay the windows in order, alerts included (their records were
        // written already), so the state machine resumes where it was: as
        // the live job does, every objective is evaluated at the end of
        // every window that any SLI had, with nothing where its SLI had none.
        let size = config.window.size_ns;
        let starts: std::collections::BTreeSet<i64> = seen
            .keys()
            .map(|&(start, _)| start)
            .chain(seen_groups.keys().map(|(start, _, _)| *start))
            .collect();
        for start in starts {
            for (sli, slot) in self.groups.iter_mut().enumerate() {
                let Some(groups) = slot.as_mut().filter(|_| keep(sli, start)) else {
                    continue;
                };
                let window: Vec<grouped::Observed> = seen_groups
                    .range((start, sli, Box::from(""))..)
                    .take_while(|((s, i, _), _)| *s == start && *i == sli)
                    .map(|((_, _, key), (g, b, l))| (key.clone(), *g, *b, l.clone()))
                    .collect();
                groups.observe(start, window);
                for (_, t, alerts) in groups.iter_mut() {
                    alerts.evaluate(t, start + size);
                }
            }
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
        seen.len() + seen_groups.len()
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
        let bounds = Bounds::new(w.start_ns, size);
        for (i, (sli, sw)) in config.slis.iter().zip(w.slis.iter()).enumerate() {
            if sw.total == 0 || !owned(i) {
                continue;
            }
            for (group, one) in window_series(sli, sw) {
                let mut record = window_record(sli, &bounds, one);
                record.group = group;
                out.push(AnyRecord::Window(record));
            }
        }
        let at = w.start_ns + size;
        for (i, ((sli, sw), slot)) in config
            .slis
            .iter()
            .zip(w.slis.iter())
            .zip(objectives.groups.iter_mut())
            .enumerate()
        {
            if let Some(groups) = slot.as_mut().filter(|_| owned(i)) {
                group_records(sli, w.start_ns, size, sw, groups, first, out);
            }
        }
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

/// The `slo` and `alert` records of a grouped SLI's objectives at the end
/// of the window starting at `start_ns`, whose window records are
/// `out[first..]`.
fn group_records(
    sli: &crate::config::Sli,
    start_ns: i64,
    size: i64,
    sw: &crate::window::SliWindow,
    groups: &mut GroupObjectives,
    first: usize,
    out: &mut Vec<AnyRecord>,
) {
    let timeslices = groups.method() == BudgetMethod::Timeslices;
    let window: Vec<grouped::Observed> = window_groups(sw)
        .into_iter()
        .map(|(key, gw)| {
            let group = group_of(sli, key);
            let latency = timeslices
                .then(|| group_latencies(&out[first..], &sli.name, &group))
                .flatten();
            (Box::from(key), gw.good, gw.bad, latency)
        })
        .collect();
    groups.observe(start_ns, window);
    let at = start_ns + size;
    for (key, tracker, alerts) in groups.iter_mut() {
        let group = group_of(sli, key);
        let series = series_name(&sli.name, Some(&group));
        let state = tracker.state(at);
        let mut slo = slo_record(&sli.name, tracker, &state);
        slo.group = Some(group.clone());
        out.push(AnyRecord::Slo(slo));
        for change in alerts.evaluate(tracker, at) {
            // The summary names the series; the record, the SLI and its group.
            let mut alert = alert_record(&series, tracker, &state, &change);
            alert.sli = sli.name.clone();
            alert.group = Some(group.clone());
            out.push(AnyRecord::Alert(alert));
        }
    }
}

/// The percentiles of `sli`'s window record among `records`, in the
/// record's order, if it has latencies.
fn window_latencies(records: &[AnyRecord], sli: &str) -> Option<Vec<f64>> {
    records.iter().find_map(|r| match r {
        AnyRecord::Window(w) if w.sli == sli && w.group.is_none() => percentiles(w),
        _ => None,
    })
}

/// [`window_latencies`] of one group of a grouped SLI.
fn group_latencies(records: &[AnyRecord], sli: &str, group: &Group) -> Option<Vec<f64>> {
    records.iter().find_map(|r| match r {
        AnyRecord::Window(w) if w.sli == sli && w.group.as_ref() == Some(group) => percentiles(w),
        _ => None,
    })
}

fn percentiles(w: &crate::record::WindowRecord) -> Option<Vec<f64>> {
    w.latency
        .as_ref()
        .map(|l| l.percentiles.iter().map(|(_, v)| *v).collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::window::SliWindow;

    /// A grouped SLI's objectives rebuilt from its window records, whose
    /// `group` a store may give back with its fields in another order.
    #[test]
    fn a_restart_rebuilds_each_groups_objective() {
        let config = Config::parse(
            Path::new("t.toml"),
            "[[sli]]\nname = \"a\"\ngood = \"status < 500\"\ngroup_by = [\"r\", \"z\"]\ngroup_limit = 2\n[sli.objective]\ntarget = 0.99\nwindow = \"1h\"\n",
        )
        .unwrap();
        let size = config.window.size_ns;
        let windows: Vec<Window> = (0..90i64)
            .map(|i| {
                let mut groups = crate::window::Groups::new(2);
                let mut sw = SliWindow::default();
                for (n, r) in ["/a", "/b", "/c"].iter().enumerate() {
                    let key = crate::window::key_of(&[Some(r), None]);
                    let bad = (i as u64 * (n as u64 + 1)) % 4;
                    groups.with_group(&key, |g| {
                        g.total += 20;
                        g.good += 20 - bad;
                        g.bad += bad;
                    });
                    sw.total += 20;
                }
                sw.groups = Some(Box::new(groups));
                Window {
                    start_ns: 1_795_773_600_000_000_000 + i * size,
                    slis: vec![sw].into_boxed_slice(),
                }
            })
            .collect();
        let uninterrupted = records(&config, &windows, &mut Objectives::new(&config));
        let first = records(&config, &windows[..60], &mut Objectives::new(&config));
        // The lines as a store gives them back: `group`'s fields reversed.
        let lines: Vec<String> = first
            .iter()
            .map(|r| {
                let mut v: serde_json::Value = serde_json::from_str(&r.json).unwrap();
                if let Some(g) = v.get("group").and_then(|g| g.as_object()).cloned() {
                    let mut rev = serde_json::Map::new();
                    for (k, x) in g.iter().rev() {
                        rev.insert(k.clone(), x.clone());
                    }
                    v["group"] = serde_json::Value::Object(rev);
                }
                v.to_string()
            })
            .collect();
        let mut restarted = Objectives::new(&config);
        // Two groups and __other__ per window.
        assert_eq!(
            restarted.rebuild(&config, lines.iter().map(String::as_str)),
            180
        );
        let second = records(&config, &windows[60..], &mut restarted);
        assert_eq!(&uninterrupted[first.len()..], &second[..]);
        assert!(second
            .iter()
            .any(|r| r.key.starts_with("a {r=__other__,z=__other__}|")));
        assert!(uninterrupted
            .iter()
            .any(|r| r.kind == crate::record::RecordKind::Alert));
    }

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
