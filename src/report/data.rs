//! The records a report is made of, from any source: a JSONL file of
//! records, the PostgreSQL store, or archived logs through the backfill
//! engine. Every source is read into the same flat rows (nested objects
//! joined with `_`, as the store's columns are), so a report does not depend
//! on where its numbers were kept.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::sinks::postgres::flatten_record as flatten;
use crate::time::parse_rfc3339_str;

/// One `window` record's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    pub sli: String,
    pub start_ns: i64,
    /// Events that matched the SLI's filter: good, bad and invalid.
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    /// Events the `good` rule could not judge.
    pub invalid: u64,
    /// The window's median latency in milliseconds, when it has one.
    pub latency_p50: Option<f64>,
    /// The window's `latency_histogram` (HdrHistogram, base64), when it has one.
    pub latency_histogram: Option<String>,
    /// Per breakdown field, the values of the bad events and their counts.
    pub breakdown: Vec<(String, Vec<(String, u64)>)>,
}

/// One `slo` record.
#[derive(Debug, Clone, PartialEq)]
pub struct SloRow {
    pub sli: String,
    pub at_ns: i64,
    pub target: f64,
    pub window: String,
    pub method: String,
    pub period_start_ns: i64,
    pub good: u64,
    pub bad: u64,
    pub compliance: Option<f64>,
    pub allowed: f64,
    pub remaining: f64,
    pub remaining_ratio: Option<f64>,
    pub outage_minutes_left: Option<f64>,
    /// Burn rates keyed `5m`, `1h`, ...
    pub burn: BTreeMap<String, Option<f64>>,
}

/// One `alert` record.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub sli: String,
    pub severity: String,
    pub at_ns: i64,
    pub firing: bool,
    pub long_window: String,
    pub short_window: String,
    pub burn_rate_long: Option<f64>,
    pub threshold: f64,
    pub incident_start_ns: i64,
    pub budget_spent_in_incident: Option<f64>,
}

/// Every record of a source, one per key, in time order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Records {
    pub windows: Vec<WindowRow>,
    pub slos: Vec<SloRow>,
    pub alerts: Vec<AlertRow>,
}

fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k)?.as_str().map(str::to_string)
}

fn time(m: &Map<String, Value>, k: &str) -> Option<i64> {
    parse_rfc3339_str(m.get(k)?.as_str()?)
}

fn num(m: &Map<String, Value>, k: &str) -> Option<f64> {
    m.get(k)?.as_f64()
}

fn count(m: &Map<String, Value>, k: &str) -> Option<u64> {
    let v = m.get(k)?;
    v.as_u64().or_else(|| v.as_f64().map(|f| f as u64))
}

impl Records {
    /// Builds rows from flat records of any kind (`kind` tells which); rows
    /// that lack a field are skipped. A key seen twice keeps its last row.
    pub fn from_flat(rows: impl IntoIterator<Item = Map<String, Value>>) -> Records {
        let mut windows = BTreeMap::new();
        let mut slos = BTreeMap::new();
        let mut alerts = BTreeMap::new();
        for m in rows {
            match m.get("kind").and_then(Value::as_str) {
                Some("window") => {
                    if let Some(w) = window_row(&m) {
                        windows.insert((w.start_ns, w.sli.clone()), w);
                    }
                }
                Some("slo") => {
                    if let Some(s) = slo_row(&m) {
                        slos.insert((s.at_ns, s.sli.clone()), s);
                    }
                }
                Some("alert") => {
                    if let Some(a) = alert_row(&m) {
                        alerts.insert((a.at_ns, a.sli.clone(), a.severity.clone()), a);
                    }
                }
                _ => {}
            }
        }
        Records {
            windows: windows.into_values().collect(),
            slos: slos.into_values().collect(),
            alerts: alerts.into_values().collect(),
        }
    }

    /// Records from JSON lines (a file sink or `backfill --output`).
    pub fn from_jsonl(text: &str) -> Records {
        Records::from_flat(
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .map(flatten),
        )
    }

    /// Records from the PostgreSQL store, only those of `[from, to)` when
    /// given (as [`Records::within`] keeps them).
    pub fn from_postgres(url: &str, from_ns: Option<i64>, to_ns: Option<i64>) -> Result<Records> {
        let mut client = crate::sinks::postgres::connect(url)?;
        let mut rows = Vec::new();
        let ts = |ns: i64| format!("to_timestamp({ns}::numeric / 1e9)");
        for (kind, table, column, open_start) in [
            ("window", "window_records", "window_start", false),
            ("slo", "slo_records", "at", true),
            ("alert", "alert_records", "at", true),
        ] {
            let mut filter = Vec::new();
            if let Some(f) = from_ns {
                let op = if open_start { ">" } else { ">=" };
                filter.push(format!("{column} {op} {}", ts(f)));
            }
            if let Some(t) = to_ns {
                let op = if open_start { "<=" } else { "<" };
                filter.push(format!("{column} {op} {}", ts(t)));
            }
            let filter = if filter.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", filter.join(" AND "))
            };
            let sql = format!(
                "SELECT row_to_json(t)::text FROM (SELECT '{kind}' AS kind, * FROM {table}{filter}) t"
            );
            for r in client
                .query(sql.as_str(), &[])
                .with_context(|| format!("cannot read {table}: is this slipstream's store?"))?
            {
                if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(r.get::<_, &str>(0)) {
                    rows.push(m);
                }
            }
        }
        Ok(Records::from_flat(rows))
    }

    /// Records computed from archived logs by the backfill engine, over all
    /// of their events (an objective's period reaches back before a report's).
    pub fn from_logs(config: &Config, inputs: &[String]) -> Result<Records> {
        let outcome = crate::backfill::process(config, &logs_options(inputs))?;
        if let Some(e) = outcome.errors.first() {
            anyhow::bail!("{}: {}", e.input, e.message);
        }
        let records = crate::record::records(
            config,
            &outcome.windows,
            &mut crate::record::Objectives::new(config),
        );
        Ok(Records::from_flat(records.into_iter().filter_map(|r| {
            serde_json::from_str::<Value>(&r.json).ok().map(flatten)
        })))
    }

    /// Only the window counts of archived logs, straight from the engine
    /// (no `slo` or `alert` records): what a replay needs.
    pub fn windows_from_logs(config: &Config, inputs: &[String]) -> Result<Records> {
        let outcome = crate::backfill::process(config, &logs_options(inputs))?;
        if let Some(e) = outcome.errors.first() {
            anyhow::bail!("{}: {}", e.input, e.message);
        }
        let size = config.window.size_ns;
        let mut windows = Vec::new();
        for w in &outcome.windows {
            for (sli, sw) in config.slis.iter().zip(w.slis.iter()) {
                if sw.total == 0 {
                    continue;
                }
                let rec = crate::window::WindowRecord::new(sli, w.start_ns, size, sw);
                windows.push(WindowRow {
                    sli: sli.name.clone(),
                    start_ns: w.start_ns,
                    total: sw.total,
                    good: sw.good,
                    bad: sw.bad,
                    invalid: sw.invalid,
                    latency_p50: rec.latency.and_then(|l| {
                        l.percentiles
                            .into_iter()
                            .find(|(k, _)| k == "p50")
                            .map(|(_, v)| v)
                    }),
                    latency_histogram: rec.latency_histogram,
                    breakdown: rec.breakdown.map_or_else(Vec::new, |b| {
                        b.0.into_iter()
                            .map(|(field, _, _, top)| (field, top))
                            .collect()
                    }),
                });
            }
        }
        windows.sort_by(|a, b| (a.start_ns, &a.sli).cmp(&(b.start_ns, &b.sli)));
        Ok(Records {
            windows,
            ..Records::default()
        })
    }

    /// The records of `[from, to)`: windows that start in it, slo and alert
    /// records whose `at` lies in `(from, to]`.
    pub fn within(self, from_ns: i64, to_ns: i64) -> Records {
        Records {
            windows: self
                .windows
                .into_iter()
                .filter(|w| w.start_ns >= from_ns && w.start_ns < to_ns)
                .collect(),
            slos: self
                .slos
                .into_iter()
                .filter(|s| s.at_ns > from_ns && s.at_ns <= to_ns)
                .collect(),
            alerts: self
                .alerts
                .into_iter()
                .filter(|a| a.at_ns > from_ns && a.at_ns <= to_ns)
                .collect(),
        }
    }
}

/// Backfill options that read every event of `inputs`.
pub(crate) fn logs_options(inputs: &[String]) -> crate::backfill::Options {
    crate::backfill::Options {
        inputs: inputs.to_vec(),
        from_ns: None,
        to_ns: None,
        output: None,
        threads: 0,
        progress: false,
        map_files: true,
    }
}

fn window_row(m: &Map<String, Value>) -> Option<WindowRow> {
    let (good, bad) = (count(m, "good")?, count(m, "bad")?);
    let invalid = count(m, "invalid").unwrap_or(0);
    Some(WindowRow {
        sli: text(m, "sli")?,
        start_ns: time(m, "window_start")?,
        total: count(m, "total").unwrap_or(good + bad + invalid),
        good,
        bad,
        invalid,
        latency_p50: num(m, "latency_p50"),
        latency_histogram: text(m, "latency_histogram"),
        breakdown: breakdown(m.get("breakdown")),
    })
}

fn breakdown(v: Option<&Value>) -> Vec<(String, Vec<(String, u64)>)> {
    let Some(Value::Object(fields)) = v else {
        return Vec::new();
    };
    fields
        .iter()
        .map(|(field, f)| {
            let top = f["top"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| {
                            Some((e["value"].as_str()?.to_string(), e["bad"].as_u64()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            (field.clone(), top)
        })
        .collect()
}

fn slo_row(m: &Map<String, Value>) -> Option<SloRow> {
    let burn = m
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("burn_rate_")?.to_string(), v.as_f64())))
        .collect();
    Some(SloRow {
        sli: text(m, "sli")?,
        at_ns: time(m, "at")?,
        target: num(m, "objective_target")?,
        window: text(m, "objective_window")?,
        method: text(m, "objective_method")?,
        period_start_ns: time(m, "period_start")?,
        good: count(m, "good")?,
        bad: count(m, "bad")?,
        compliance: num(m, "compliance"),
        allowed: num(m, "budget_allowed")?,
        remaining: num(m, "budget_remaining")?,
        remaining_ratio: num(m, "budget_remaining_ratio"),
        outage_minutes_left: num(m, "budget_outage_minutes_left"),
        burn,
    })
}

fn alert_row(m: &Map<String, Value>) -> Option<AlertRow> {
    Some(AlertRow {
        sli: text(m, "sli")?,
        severity: text(m, "severity")?,
        at_ns: time(m, "at")?,
        firing: text(m, "state")? == "firing",
        long_window: text(m, "long_window")?,
        short_window: text(m, "short_window")?,
        burn_rate_long: num(m, "burn_rate_long"),
        threshold: num(m, "threshold")?,
        incident_start_ns: time(m, "incident_start")?,
        budget_spent_in_incident: num(m, "budget_spent_in_incident"),
    })
}
