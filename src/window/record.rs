//! The `window` record: the JSON that every sink writes for one SLI in one
//! window (see the contract's "Records").

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::SliWindow;
use crate::config::Sli;
use crate::time::format_rfc3339;

/// A `kind = "window"` record.
#[derive(Debug, Clone, Serialize)]
pub struct WindowRecord<'a> {
    pub kind: &'static str,
    pub sli: &'a str,
    pub window_start: String,
    pub window_end: String,
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    pub invalid: u64,
    /// good / (good + bad); `null` when no event was valid.
    pub compliance: Option<f64>,
    pub target: Option<f64>,
    pub latency: Option<LatencySummary>,
    /// The window's latencies in microseconds: HdrHistogram's V2
    /// compressed encoding, base64, for percentiles over any set of windows.
    pub latency_histogram: Option<String>,
    /// For SLIs with a `breakdown`: per field, the values of the bad events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
}

/// Per breakdown field (in the SLI's order): whether the counts are exact,
/// how many distinct values were counted, and the values with the most bad
/// events, most first.
#[derive(Debug, Clone)]
pub struct Breakdown(pub Vec<FieldTop>);

/// One breakdown field: its path, whether the counts are exact, how many
/// distinct values were counted, and the top values with their bad events.
pub type FieldTop = (String, bool, usize, Vec<(String, u64)>);

impl Serialize for Breakdown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Entry<'a> {
            value: &'a str,
            bad: u64,
        }
        #[derive(Serialize)]
        struct Field<'a> {
            exact: bool,
            distinct: usize,
            top: Vec<Entry<'a>>,
        }
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (path, exact, distinct, top) in &self.0 {
            let top = top
                .iter()
                .map(|(v, n)| Entry { value: v, bad: *n })
                .collect();
            let field = Field {
                exact: *exact,
                distinct: *distinct,
                top,
            };
            m.serialize_entry(path, &field)?;
        }
        m.end()
    }
}

/// Latency of the window in milliseconds, whatever the input unit.
#[derive(Debug, Clone)]
pub struct LatencySummary {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    /// Keyed `p50`, `p99`, ... in the order the SLI lists them.
    pub percentiles: Vec<(String, f64)>,
    pub max: f64,
}

impl Serialize for LatencySummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5 + self.percentiles.len()))?;
        m.serialize_entry("unit", "ms")?;
        m.serialize_entry("count", &self.count)?;
        m.serialize_entry("min", &self.min)?;
        m.serialize_entry("mean", &self.mean)?;
        for (k, v) in &self.percentiles {
            m.serialize_entry(k, v)?;
        }
        m.serialize_entry("max", &self.max)?;
        m.end()
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// A bucket midpoint in milliseconds, rounded to 4 significant digits: the
/// rounding adds at most 0.05% to the histogram's 0.78%.
fn ms_approx(ns: u64) -> f64 {
    let v = ms(ns);
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

impl<'a> WindowRecord<'a> {
    pub fn new(sli: &'a Sli, start_ns: i64, size_ns: i64, w: &SliWindow) -> WindowRecord<'a> {
        let valid = w.good + w.bad;
        let h = &w.latency;
        let latency = (h.count() > 0).then(|| LatencySummary {
            count: h.count(),
            min: ms(h.min_ns()),
            mean: h.mean_ns().round() / 1e6,
            percentiles: sli
                .percentiles
                .iter()
                .map(|p| {
                    (
                        p.key.clone(),
                        ms_approx(h.quantile_ns(p.numerator, p.denominator)),
                    )
                })
                .collect(),
            max: ms(h.max_ns()),
        });
        WindowRecord {
            kind: "window",
            sli: &sli.name,
            window_start: format_rfc3339(start_ns),
            window_end: format_rfc3339(start_ns + size_ns),
            total: w.total,
            good: w.good,
            bad: w.bad,
            invalid: w.invalid,
            compliance: (valid > 0).then(|| w.good as f64 / valid as f64),
            target: sli.objective.as_ref().map(|o| o.target),
            latency,
            latency_histogram: h.to_base64(),
            breakdown: (!sli.breakdown.is_empty()).then(|| {
                Breakdown(
                    sli.breakdown
                        .iter()
                        .enumerate()
                        .map(|(i, (path, _))| match w.breakdown.get(i) {
                            Some(top) => (
                                path.clone(),
                                top.exact(),
                                top.distinct(),
                                top.top()
                                    .into_iter()
                                    .take(sli.breakdown_limit)
                                    .map(|(v, n)| (v.to_string(), n))
                                    .collect(),
                            ),
                            None => (path.clone(), true, 0, Vec::new()),
                        })
                        .collect(),
                )
            }),
        }
    }
}

/// One window record as a JSON line (without the newline).
pub fn render_window_record(sli: &Sli, start_ns: i64, size_ns: i64, w: &SliWindow) -> String {
    let rec = WindowRecord::new(sli, start_ns, size_ns, w);
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string(&rec).unwrap_or_default()
}
