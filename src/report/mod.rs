//! `slipstream report`: what the records say, in words every role reads the
//! same way. For each SLI with an objective: one headline sentence, then
//! five questions answered in words ([`answers`]: met or not and how much
//! of the window the data covers, the budget left, what spent it, whether
//! the target is realistic, what other targets would have given), then
//! compliance per day, the budget and the burn rate over the period (charts
//! in HTML), and a glossary. `--format json` gives the five answers as data.
//!
//! A report is a pure function of the records of its period, whatever their
//! source: the same records give byte-identical reports.

pub mod answers;
pub mod chart;
pub mod data;
mod figures;
pub mod glossary;
pub mod i18n;
pub mod incidents;
pub mod live;
mod numbers;
mod questions;
mod render;
pub mod review;
pub mod series;
pub mod suggest;
pub mod verdict;
pub mod whatif;

use std::collections::BTreeMap;

pub use data::Records;
pub use i18n::Lang;

use crate::config::Config;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Md,
    Html,
    /// The five answers as JSON (docs/report-json.md).
    Json,
}

/// A ratio as a percentage with at most `decimals` decimals, trailing zeros
/// dropped: 0.995 is `99.5%`.
pub(crate) fn pct_trimmed(ratio: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, ratio * 100.0);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// How many events SLI `sli` had when every one of them was invalid (its
/// window records show events, but none good or bad): `None` when some
/// event was judged, or none matched. Said instead of "no traffic", which
/// would hide a field the rule cannot read.
pub fn all_invalid(records: &Records, sli: &str) -> Option<u64> {
    let (mut total, mut judged) = (0u64, 0u64);
    for w in records.windows.iter().filter(|w| w.sli == sli) {
        total += w.total;
        judged += w.good + w.bad;
    }
    (total > 0 && judged == 0).then_some(total)
}

/// "all 50,000 events were invalid for this SLI: ..." with its next step.
pub fn all_invalid_text(events: u64) -> String {
    format!(
        "all {} events were invalid for this SLI: a field its `good` rule needs is missing or of another type in every event; `slipstream backfill` over the logs names the field and a value it held",
        crate::setup::thousands(events)
    )
}

/// What a source of records holds against the configuration a report is
/// made with. An error when it has records but none of an SLI that the
/// configuration names: they were written with another configuration, and
/// a report would show no traffic where there was some. Otherwise warnings
/// for an empty source and for each SLI with an objective and no records.
pub fn check_source(config: &Config, records: &Records) -> Result<Vec<String>, String> {
    let config = &series::expand(config, records);
    let found = records.sli_names();
    if found.is_empty() {
        return Ok(vec![
            "the source holds no window, slo or alert records (records files are what a file \
             sink or `backfill --output` writes): the report shows no traffic"
                .to_string(),
        ]);
    }
    let configured: Vec<&str> = config.slis.iter().map(|s| s.name.as_str()).collect();
    if !configured.iter().any(|name| found.contains(name)) {
        let list = |names: &mut dyn Iterator<Item = &&str>| {
            names
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "the records are of the SLIs {}, and the configuration names {}: pass the \
             configuration the records were written with (-c)",
            list(&mut found.iter()),
            list(&mut configured.iter()),
        ));
    }
    Ok(config
        .slis
        .iter()
        .filter(|s| s.objective.is_some() && !found.contains(s.name.as_str()))
        .map(|s| format!("no records of the SLI `{}` in the source", s.name))
        .collect())
}

/// One SLI's part of a report.
#[derive(Debug, Clone)]
pub struct SloReport {
    pub sli: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// The objective's state at the end of the period (its last `slo` record).
    pub last: Option<data::SloRow>,
    /// Good and bad per day of the report's time zone (the day's start in
    /// Unix nanoseconds), from the window records.
    pub daily: Vec<(i64, u64, u64)>,
    /// The time zone its times are written in: `--tz`, else the
    /// objective's `timezone`, else UTC.
    pub tz: chrono_tz::Tz,
    /// Good and bad over the whole report period.
    pub period: (u64, u64),
    /// The `slo` records of the period, for the charts.
    pub series: Vec<data::SloRow>,
    /// The five answers.
    pub answer: answers::SloAnswer,
    /// Whether the SLI names `breakdown` fields (incidents name their top
    /// contributors).
    pub breakdown: bool,
    /// When alerts fired, for the burn-rate chart.
    pub fired_at: Vec<i64>,
    /// How many events there were when every one was invalid ([`all_invalid`]).
    pub all_invalid: Option<u64>,
    /// Latency over the whole period, from the windows' merged histograms.
    pub latency: Option<PeriodLatency>,
}

/// Latency percentiles over a period: the windows' histograms merged.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodLatency {
    /// Requests with a latency.
    pub count: u64,
    /// (key, milliseconds) in the SLI's `percentiles` order.
    pub percentiles: Vec<(String, f64)>,
}

impl PeriodLatency {
    /// "p50 63.0 ms · p99 578 ms", each value written by `ms`.
    pub fn listed(&self, ms: impl Fn(f64) -> String) -> String {
        let values: Vec<String> = self
            .percentiles
            .iter()
            .map(|(k, v)| format!("{k} {} ms", ms(*v)))
            .collect();
        values.join(" · ")
    }
}

/// Merges the latency histograms of `windows`; `None` when none has one.
/// A histogram that cannot be read is left out.
pub fn period_latency<'a>(
    sli: &crate::config::Sli,
    windows: impl IntoIterator<Item = &'a data::WindowRow>,
) -> Option<PeriodLatency> {
    let mut merged = crate::window::Merged::default();
    for text in windows
        .into_iter()
        .filter_map(|w| w.latency_histogram.as_deref())
    {
        if let Ok(h) = crate::window::Merged::from_base64(text) {
            merged.merge(&h);
        }
    }
    let percentiles = sli
        .percentiles
        .iter()
        .map(|p| {
            Some((
                p.key.clone(),
                merged.quantile_ms(p.numerator, p.denominator)?,
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(PeriodLatency {
        count: merged.count(),
        percentiles,
    })
}

/// A whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub from_ns: i64,
    pub to_ns: i64,
    /// The zone of the period's times at the top of the page: `--tz`, else
    /// the objectives' zone when they all name the same one, else UTC.
    pub tz: chrono_tz::Tz,
    pub slos: Vec<SloReport>,
}

impl Report {
    /// Builds the report of `[from, to)` (the records' whole span when not
    /// given) for every SLI of `config` that has an objective, with times
    /// in each objective's time zone (UTC when it names none).
    pub fn build(
        config: &Config,
        records: Records,
        from_ns: Option<i64>,
        to_ns: Option<i64>,
    ) -> Report {
        Report::build_in(config, records, from_ns, to_ns, None)
    }

    /// [`Report::build`] with every time in `tz` when it is given (`--tz`).
    pub fn build_in(
        config: &Config,
        records: Records,
        from_ns: Option<i64>,
        to_ns: Option<i64>,
        tz: Option<chrono_tz::Tz>,
    ) -> Report {
        let config = &series::expand(config, &records);
        let size = config.window.size_ns;
        let first = records.windows.iter().map(|w| w.start_ns).min();
        let last = records.windows.iter().map(|w| w.start_ns + size).max();
        let from_ns = from_ns.or(first).unwrap_or(0);
        let to_ns = to_ns.or(last).unwrap_or(from_ns);
        let records = records.within(from_ns, to_ns);
        let slos = answers::answers(config, &records, from_ns, to_ns)
            .into_iter()
            .filter_map(|a| {
                let sli = config.slis.iter().find(|s| s.name == a.name)?;
                let zone = tz
                    .or(sli.objective.as_ref().and_then(|o| o.timezone))
                    .unwrap_or(chrono_tz::UTC);
                Some(sli_report(sli, &records, a, zone))
            })
            .collect::<Vec<SloReport>>();
        let page_tz = tz.unwrap_or_else(|| match slos.first() {
            Some(first) if slos.iter().all(|s| s.tz == first.tz) => first.tz,
            _ => chrono_tz::UTC,
        });
        Report {
            from_ns,
            to_ns,
            tz: page_tz,
            slos,
        }
    }

    pub fn render(&self, format: Format, lang: Lang) -> String {
        match format {
            Format::Md => render::markdown(self, lang),
            Format::Html => render::html(self, lang),
            Format::Json => {
                answers::to_json(&self.slos.iter().map(|s| &s.answer).collect::<Vec<_>>())
            }
        }
    }
}

fn sli_report(
    sli: &crate::config::Sli,
    records: &Records,
    answer: answers::SloAnswer,
    tz: chrono_tz::Tz,
) -> SloReport {
    let latency = answer.latency.as_ref().map(|l| PeriodLatency {
        count: l.count,
        percentiles: l.percentiles_ms.0.clone(),
    });
    let mut daily: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let mut period = (0, 0);
    let mut day = (i64::MAX, i64::MIN);
    for w in records.windows.iter().filter(|w| w.sli == sli.name) {
        // Windows come in time order mostly: reuse the day found last.
        if !(day.0..day.1).contains(&w.start_ns) {
            let start = numbers::day_start(w.start_ns, tz);
            day = (start, numbers::next_day_start(start, tz));
        }
        let day = day.0;
        let d = daily.entry(day).or_default();
        d.0 += w.good;
        d.1 += w.bad;
        period.0 += w.good;
        period.1 += w.bad;
    }
    let series: Vec<data::SloRow> = records
        .slos
        .iter()
        .filter(|s| s.sli == sli.name)
        .cloned()
        .collect();
    SloReport {
        sli: sli.name.clone(),
        description: sli.description.clone(),
        owner: sli.owner.clone(),
        tz,
        last: series.last().cloned(),
        all_invalid: all_invalid(records, &sli.name),
        latency,
        daily: daily.into_iter().map(|(d, (g, b))| (d, g, b)).collect(),
        period,
        answer,
        breakdown: !sli.breakdown.is_empty(),
        fired_at: records
            .alerts
            .iter()
            .filter(|a| a.sli == sli.name && a.firing)
            .map(|a| a.at_ns)
            .collect(),
        series,
    }
}
