//! The records a report is made of, from any source: a JSONL file of
//! records, the PostgreSQL store, or archived logs through the backfill
//! engine. Every source is read into the typed records of
//! [`crate::record`] and from them into the same rows, so a report does not
//! depend on where its numbers were kept.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::record::{series_name, AlertRecord, AnyRecord, SloRecord, WindowRecord};
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

impl Records {
    /// Builds rows from records of any kind; a record whose times do not
    /// parse is skipped. A key seen twice keeps its last row.
    pub fn from_records(records: impl IntoIterator<Item = AnyRecord>) -> Records {
        let mut windows = BTreeMap::new();
        let mut slos = BTreeMap::new();
        let mut alerts = BTreeMap::new();
        for record in records {
            match record {
                AnyRecord::Window(w) => {
                    if let Some(w) = window_row(w) {
                        windows.insert((w.start_ns, w.sli.clone()), w);
                    }
                }
                AnyRecord::Slo(s) => {
                    if let Some(s) = slo_row(s) {
                        slos.insert((s.at_ns, s.sli.clone()), s);
                    }
                }
                AnyRecord::Alert(a) => {
                    if let Some(a) = alert_row(a) {
                        alerts.insert((a.at_ns, a.sli.clone(), a.severity.clone()), a);
                    }
                }
            }
        }
        Records {
            windows: windows.into_values().collect(),
            slos: slos.into_values().collect(),
            alerts: alerts.into_values().collect(),
        }
    }

    /// The names of the SLIs (or series) the rows are of.
    pub fn sli_names(&self) -> std::collections::BTreeSet<&str> {
        self.windows
            .iter()
            .map(|w| w.sli.as_str())
            .chain(self.slos.iter().map(|s| s.sli.as_str()))
            .chain(self.alerts.iter().map(|a| a.sli.as_str()))
            .collect()
    }

    /// Records from JSON lines (a file sink or `backfill --output`); lines
    /// that are not records are skipped.
    pub fn from_jsonl(text: &str) -> Records {
        Records::from_records(text.lines().filter_map(AnyRecord::parse))
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
                if let Some(record) = crate::sinks::postgres::record_from_row(r.get::<_, &str>(0)) {
                    rows.push(record);
                }
            }
        }
        Ok(Records::from_records(rows))
    }

    /// Records computed from archived logs by the backfill engine, over all
    /// of their events (an objective's period reaches back before a report's).
    pub fn from_logs(config: &Config, inputs: &[String]) -> Result<Records> {
        let outcome = crate::backfill::process(config, &logs_options(inputs))?;
        if let Some(e) = outcome.errors.first() {
            anyhow::bail!("{}: {}", e.input, e.message);
        }
        let mut records = Vec::new();
        crate::slo::typed_records_into(
            config,
            &outcome.windows,
            &mut crate::slo::Objectives::new(config),
            &|_| true,
            &mut records,
        );
        Ok(Records::from_records(records))
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
            let bounds = crate::window::Bounds::new(w.start_ns, size);
            for (sli, sw) in config.slis.iter().zip(w.slis.iter()) {
                if sw.total == 0 {
                    continue;
                }
                for (group, one) in crate::slo::window_series(sli, sw) {
                    let mut rec = crate::window::window_record(sli, &bounds, one);
                    rec.group = group;
                    windows.extend(window_row(rec));
                }
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
        ..Default::default()
    }
}

fn window_row(w: WindowRecord) -> Option<WindowRow> {
    Some(WindowRow {
        start_ns: parse_rfc3339_str(&w.window_start)?,
        sli: series_name(&w.sli, w.group.as_ref()),
        total: w.total,
        good: w.good,
        bad: w.bad,
        invalid: w.invalid,
        latency_p50: w.latency.and_then(|l| l.percentile("p50")),
        latency_histogram: w.latency_histogram,
        breakdown: w.breakdown.map_or_else(Vec::new, |b| {
            b.0.into_iter()
                .map(|(field, f)| {
                    let top = f.top.into_iter().map(|t| (t.value, t.bad)).collect();
                    (field, top)
                })
                .collect()
        }),
    })
}

fn slo_row(s: SloRecord) -> Option<SloRow> {
    Some(SloRow {
        at_ns: parse_rfc3339_str(&s.at)?,
        period_start_ns: parse_rfc3339_str(&s.period_start)?,
        sli: series_name(&s.sli, s.group.as_ref()),
        target: s.objective.target,
        window: s.objective.window,
        method: s.objective.method,
        good: s.good,
        bad: s.bad,
        compliance: s.compliance,
        allowed: s.budget.allowed,
        remaining: s.budget.remaining,
        remaining_ratio: s.budget.remaining_ratio,
        outage_minutes_left: s.budget.outage_minutes_left,
        burn: s.burn_rate.0.into_iter().collect(),
    })
}

fn alert_row(a: AlertRecord) -> Option<AlertRow> {
    Some(AlertRow {
        at_ns: parse_rfc3339_str(&a.at)?,
        incident_start_ns: parse_rfc3339_str(&a.incident_start)?,
        firing: a.firing(),
        sli: series_name(&a.sli, a.group.as_ref()),
        severity: a.severity,
        long_window: a.long_window,
        short_window: a.short_window,
        burn_rate_long: a.burn_rate_long,
        threshold: a.threshold,
        budget_spent_in_incident: a.budget_spent_in_incident,
    })
}
