//! The objective of a grouped SLI (`group_by`): one [`Tracker`] and its
//! [`Alerts`] per group, each evaluated as an SLI of its own.
//!
//! A group's objective starts at the first window the group has events in
//! and then sees every window, with nothing where the group had none, as an
//! SLI's does. So that objectives stay bounded whatever the field's
//! cardinality over time, an SLI keeps at most `group_limit` of them — the
//! first groups seen, in time order and by key within a window — plus one for
//! `__other__`, which takes the window's `__other__` group and the groups
//! that found no room. Windows are fed in time order, live and in a rebuild
//! alike, so both keep the same groups.

use std::collections::BTreeMap;

use super::{Alerts, Tracker};
use crate::config::{Config, Sli};
use crate::record::{Group, OrderedMap};
use crate::window::{decode_key, key_of, SliWindow, OTHER};

/// The key of the `__other__` objective: sorts after every group's key
/// (whose marks are below it) and is not one [`crate::window::encode_key`]
/// writes.
pub const OTHER_KEY: &str = "\u{2}";

/// The objectives of one grouped SLI.
#[derive(Debug, Clone)]
pub struct GroupObjectives {
    /// A tracker with no window yet, cloned for a new group.
    fresh: Tracker,
    limit: usize,
    by_key: BTreeMap<Box<str>, (Tracker, Alerts)>,
}

/// One group's numbers in one window: key, good, bad and, for timeslices,
/// the percentiles of its window record.
pub type Observed = (Box<str>, u64, u64, Option<Vec<f64>>);

/// Good, bad and the percentiles of one window of one objective.
type Numbers = (u64, u64, Option<Vec<f64>>);

impl GroupObjectives {
    pub fn new(fresh: Tracker, limit: usize) -> GroupObjectives {
        GroupObjectives {
            fresh,
            limit,
            by_key: BTreeMap::new(),
        }
    }

    pub fn method(&self) -> crate::config::BudgetMethod {
        self.fresh.objective().method
    }

    pub fn history_ns(&self) -> i64 {
        self.fresh.history_ns()
    }

    /// Feeds one window's groups (by key, `OTHER_KEY` for `__other__`) to
    /// their objectives, opening those of new groups while there is room.
    pub fn observe(&mut self, start_ns: i64, groups: Vec<Observed>) {
        let mut seen: BTreeMap<Box<str>, Numbers> = BTreeMap::new();
        let mut other: Option<Numbers> = None;
        let kept = |m: &BTreeMap<Box<str>, (Tracker, Alerts)>| {
            m.len() - usize::from(m.contains_key(OTHER_KEY))
        };
        for (key, good, bad, latency) in groups {
            let room = &*key != OTHER_KEY
                && (self.by_key.contains_key(&key) || kept(&self.by_key) < self.limit);
            if room {
                self.by_key
                    .entry(key.clone())
                    .or_insert_with(|| (self.fresh.clone(), Alerts::new()));
                seen.insert(key, (good, bad, latency));
            } else {
                let o = other.get_or_insert((0, 0, None));
                o.0 += good;
                o.1 += bad;
                // The window's own `__other__` gives the percentiles.
                if &*key == OTHER_KEY {
                    o.2 = latency;
                }
            }
        }
        if let Some(o) = other {
            self.by_key
                .entry(OTHER_KEY.into())
                .or_insert_with(|| (self.fresh.clone(), Alerts::new()));
            seen.insert(OTHER_KEY.into(), o);
        }
        for (key, (tracker, _)) in self.by_key.iter_mut() {
            match seen.get(key) {
                Some((g, b, latency)) => {
                    tracker.observe_window(start_ns, *g, *b, latency.as_deref())
                }
                None => tracker.observe_window(start_ns, 0, 0, None),
            }
        }
    }

    /// Every group's objective, by key (`__other__` last).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Tracker, &mut Alerts)> {
        self.by_key.iter_mut().map(|(k, (t, a))| (&**k, t, a))
    }

    /// Every group's objective, by key (`__other__` last).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tracker, &Alerts)> {
        self.by_key.iter().map(|(k, (t, a))| (&**k, t, a))
    }
}

/// The `group` of a record for a group's key (`OTHER_KEY` for `__other__`,
/// whose every field reads `__other__`).
pub fn group_of(sli: &Sli, key: &str) -> Group {
    if key == OTHER_KEY {
        return OrderedMap(
            sli.group_by
                .iter()
                .map(|(f, _)| (f.clone(), Some(OTHER.to_string())))
                .collect(),
        );
    }
    let values = decode_key(key);
    OrderedMap(
        sli.group_by
            .iter()
            .zip(values.into_iter().chain(std::iter::repeat(None)))
            .map(|((f, _), v)| (f.clone(), v))
            .collect(),
    )
}

/// The key of a record's `group` for SLI `sli` (the inverse of
/// [`group_of`]), whatever the order of its fields (a store may sort
/// them); `None` when the fields are not the SLI's.
pub fn key_of_group(sli: &Sli, group: &Group) -> Option<Box<str>> {
    if group.0.len() != sli.group_by.len() {
        return None;
    }
    let mut values = Vec::with_capacity(group.0.len());
    for (want, _) in &sli.group_by {
        values.push(group.0.iter().find(|(f, _)| f == want)?.1.as_deref());
    }
    if values.iter().all(|v| *v == Some(OTHER)) {
        return Some(OTHER_KEY.into());
    }
    Some(key_of(&values).into_boxed_str())
}

/// The series of SLI `sli` in one window: the window itself for an SLI
/// without groups, each group's (with its `group`, `__other__` last) for a
/// grouped one. One window record each.
pub fn window_series<'a>(sli: &Sli, sw: &'a SliWindow) -> Vec<(Option<Group>, &'a SliWindow)> {
    if sli.group_by.is_empty() {
        return vec![(None, sw)];
    }
    window_groups(sw)
        .into_iter()
        .map(|(key, gw)| (Some(group_of(sli, key)), gw))
        .collect()
}

/// The groups of a grouped SLI's window, by key, `__other__` last.
pub fn window_groups(w: &SliWindow) -> Vec<(&str, &SliWindow)> {
    let Some(groups) = &w.groups else {
        return Vec::new();
    };
    let mut out: Vec<(&str, &SliWindow)> = groups.kept().collect();
    if let Some(o) = groups.other() {
        out.push((OTHER_KEY, o));
    }
    out
}

/// Objectives for every grouped SLI of `config` with an objective.
pub fn for_config(config: &Config) -> Vec<Option<GroupObjectives>> {
    config
        .slis
        .iter()
        .map(|s| {
            let o = s.objective.as_ref().filter(|_| !s.group_by.is_empty())?;
            Some(GroupObjectives::new(
                Tracker::new(o, config.window.size_ns),
                s.group_limit,
            ))
        })
        .collect()
}
