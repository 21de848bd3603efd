//! Incidents: the alert records of one SLO paired into episodes (`firing`
//! to `resolved`), then episodes that overlap or touch merged into one
//! incident — a page and the ticket that follows it are one event for the
//! people who lived through it. Each incident counts the bad events of its
//! own span, so no bad event is counted twice and the incidents' shares of
//! the budget add up to at most what was spent.

use std::collections::BTreeMap;

use super::data::{AlertRow, SloRow, WindowRow};

/// How many contributors an incident names per breakdown field.
const TOP_CONTRIBUTORS: usize = 3;

/// One alert episode: from `firing` to `resolved` (or still open).
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub severity: String,
    pub start_ns: i64,
    pub end_ns: Option<i64>,
    pub long_window: String,
    /// The highest long-window burn rate seen in the episode.
    pub peak_burn: Option<f64>,
}

/// Per breakdown field (in the SLI's order), the values with the most bad
/// events, most first.
pub type Contributors = Vec<(String, Vec<(String, u64)>)>;

/// Episodes merged: one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// `page` when any of its episodes paged, else `ticket`.
    pub severity: String,
    /// When its first alert fired.
    pub start_ns: i64,
    /// When its last alert resolved; `None` while one still fires.
    pub end_ns: Option<i64>,
    /// Where its bad events are counted from: one long alert window before
    /// its first alert (a burn goes on that long before it alerts), but not
    /// before the end of the incident before it.
    pub counted_from_ns: i64,
    /// Bad events of the windows that start in `[counted_from, end)`.
    pub bad_events: u64,
    /// Its bad events (or bad slices) inside the objective's window at the
    /// period's end, as a share of that window's budget.
    pub budget_share: Option<f64>,
    pub peak_burn: Option<f64>,
    pub top: Contributors,
    /// How many alert episodes it merges.
    pub alerts: usize,
}

/// Pairs each `firing` record with the `resolved` record of the same
/// severity that follows it; the peak burn rate is the highest of the
/// alert records and of the `slo` records in between.
pub fn episodes(alerts: &[&AlertRow], series: &[SloRow]) -> Vec<Episode> {
    let mut open: BTreeMap<&str, Episode> = BTreeMap::new();
    let mut done = Vec::new();
    for a in alerts {
        if a.firing {
            open.insert(
                &a.severity,
                Episode {
                    severity: a.severity.clone(),
                    start_ns: a.incident_start_ns,
                    end_ns: None,
                    long_window: a.long_window.clone(),
                    peak_burn: a.burn_rate_long,
                },
            );
        } else {
            // Without its `firing` record it fired before the period.
            let mut e = open.remove(a.severity.as_str()).unwrap_or(Episode {
                severity: a.severity.clone(),
                start_ns: a.incident_start_ns,
                end_ns: None,
                long_window: a.long_window.clone(),
                peak_burn: None,
            });
            e.end_ns = Some(a.at_ns);
            done.push(e);
        }
    }
    done.extend(open.into_values());
    let last_at = series.last().map_or(i64::MAX, |s| s.at_ns);
    for e in &mut done {
        let to = e.end_ns.unwrap_or(last_at);
        let seen = series
            .iter()
            .filter(|s| s.at_ns >= e.start_ns && s.at_ns <= to)
            .filter_map(|s| s.burn.get(&e.long_window).copied().flatten())
            .fold(None, max_opt);
        e.peak_burn = [e.peak_burn, seen]
            .into_iter()
            .flatten()
            .fold(None, max_opt);
    }
    done.sort_by_key(|e| (e.start_ns, e.severity.clone()));
    done
}

fn max_opt(m: Option<f64>, v: f64) -> Option<f64> {
    Some(m.map_or(v, |m| m.max(v)))
}

fn lookback_ns(long_window: &str) -> i64 {
    humantime::parse_duration(long_window)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Merges episodes that overlap or touch (one starts when or before the
/// other ends) into incidents in time order, with the span each counts its
/// bad events over; `to_ns` ends those still firing. Counts are left empty.
pub fn merge(episodes: &[Episode], from_ns: i64, to_ns: i64) -> Vec<Incident> {
    let mut sorted: Vec<&Episode> = episodes.iter().collect();
    sorted.sort_by_key(|e| e.start_ns);
    let mut out: Vec<Incident> = Vec::new();
    for e in sorted {
        let from = e.start_ns.saturating_sub(lookback_ns(&e.long_window));
        match out.last_mut() {
            Some(last) if last.end_ns.is_none_or(|end| e.start_ns <= end) => {
                if e.severity == "page" {
                    last.severity = "page".into();
                }
                last.end_ns = last.end_ns.zip(e.end_ns).map(|(a, b)| a.max(b));
                last.counted_from_ns = last.counted_from_ns.min(from);
                last.peak_burn = [last.peak_burn, e.peak_burn]
                    .into_iter()
                    .flatten()
                    .fold(None, max_opt);
                last.alerts += 1;
            }
            _ => out.push(Incident {
                severity: e.severity.clone(),
                start_ns: e.start_ns,
                end_ns: e.end_ns,
                counted_from_ns: from,
                bad_events: 0,
                budget_share: None,
                peak_burn: e.peak_burn,
                top: Vec::new(),
                alerts: 1,
            }),
        }
    }
    // No incident counts what the one before it counted.
    let mut previous_end = from_ns;
    for inc in &mut out {
        inc.counted_from_ns = inc.counted_from_ns.max(previous_end);
        previous_end = inc.end_ns.unwrap_or(to_ns).max(inc.counted_from_ns);
    }
    out
}

/// Fills in each incident's bad events and top contributors from the
/// SLI's window records, and its budget share from `share(from, to)`;
/// then ranks them, most bad events first.
pub fn measure(
    incidents: &mut [Incident],
    windows: &[&WindowRow],
    fields: &[String],
    to_ns: i64,
    share: impl Fn(i64, i64) -> Option<f64>,
) {
    for inc in incidents.iter_mut() {
        let (from, to) = (inc.counted_from_ns, inc.end_ns.unwrap_or(to_ns));
        let inside: Vec<&&WindowRow> = windows
            .iter()
            .filter(|w| w.start_ns >= from && w.start_ns < to)
            .collect();
        inc.bad_events = inside.iter().map(|w| w.bad).sum();
        inc.budget_share = share(from, to);
        inc.top = fields
            .iter()
            .map(|field| {
                let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
                for w in &inside {
                    for (_, top) in w.breakdown.iter().filter(|(f, _)| f == field) {
                        for (v, n) in top {
                            *sums.entry(v).or_default() += n;
                        }
                    }
                }
                let mut top: Vec<(String, u64)> =
                    sums.into_iter().map(|(v, n)| (v.to_string(), n)).collect();
                top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                top.truncate(TOP_CONTRIBUTORS);
                (field.clone(), top)
            })
            .filter(|(_, top)| !top.is_empty())
            .collect();
    }
    incidents.sort_by(|a, b| {
        b.bad_events
            .cmp(&a.bad_events)
            .then(a.start_ns.cmp(&b.start_ns))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000_000_000;

    fn ep(severity: &str, start: i64, end: Option<i64>, long: &str) -> Episode {
        Episode {
            severity: severity.into(),
            start_ns: start * M,
            end_ns: end.map(|e| e * M),
            long_window: long.into(),
            peak_burn: Some(start as f64),
        }
    }

    #[test]
    fn touching_and_overlapping_episodes_are_one_incident() {
        // A page, the ticket that fires as it resolves, and a later ticket.
        let list = [
            ep("page", 100, Some(130), "1h"),
            ep("ticket", 130, Some(200), "1d"),
            ep("ticket", 500, None, "1d"),
        ];
        let merged = merge(&list, 0, 1000 * M);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].severity, "page");
        assert_eq!(
            (merged[0].start_ns, merged[0].end_ns),
            (100 * M, Some(200 * M))
        );
        assert_eq!(merged[0].alerts, 2);
        assert_eq!(merged[0].peak_burn, Some(130.0));
        // One day before the ticket reaches before the period: clipped to it.
        assert_eq!(merged[0].counted_from_ns, 0);
        // The later one counts from the end of the first, not a day back.
        assert_eq!(merged[1].counted_from_ns, 200 * M);
        assert_eq!(merged[1].end_ns, None);
    }

    #[test]
    fn bad_events_are_counted_once_and_ranked() {
        let list = [
            ep("page", 10, Some(20), "5m"),
            ep("ticket", 40, Some(100), "1h"),
        ];
        let mut merged = merge(&list, 0, 200 * M);
        let rows: Vec<WindowRow> = (0..200)
            .map(|m| WindowRow {
                sli: "a".into(),
                start_ns: m * M,
                total: 10,
                good: 9,
                bad: 1,
                invalid: 0,
                latency_p50: None,
                latency_histogram: None,
                breakdown: vec![("route".into(), vec![("/x".into(), 1)])],
            })
            .collect();
        let refs: Vec<&WindowRow> = rows.iter().collect();
        merged_measure(&mut merged, &refs);
        // [5, 20) and [20, 100): the second reaches back an hour only to the
        // first one's end.
        assert_eq!(merged[0].bad_events, 80);
        assert_eq!(merged[0].start_ns, 40 * M);
        assert_eq!(merged[1].bad_events, 15);
        assert_eq!(
            merged[0].top,
            vec![("route".into(), vec![("/x".into(), 80)])]
        );
        assert_eq!(merged[0].budget_share, Some(0.8));
    }

    fn merged_measure(merged: &mut [Incident], rows: &[&WindowRow]) {
        measure(merged, rows, &["route".into()], 200 * M, |from, to| {
            Some((to - from) as f64 / M as f64 / 100.0)
        });
    }
}
