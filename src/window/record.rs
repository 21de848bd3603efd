//! Fills the `window` record (see [`crate::record::WindowRecord`]) from
//! one SLI's counts and histogram in one window.

use super::SliWindow;
use crate::config::Sli;
use crate::record::{
    Breakdown, BreakdownField, LatencySummary, OrderedMap, RecordKind, TopValue, WindowRecord,
};
use crate::time::format_rfc3339;

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

/// A window's start and end as its records write them: formatted once for
/// the records of every SLI and group of the window.
pub struct Bounds {
    start: String,
    end: String,
}

impl Bounds {
    pub fn new(start_ns: i64, size_ns: i64) -> Bounds {
        Bounds {
            start: format_rfc3339(start_ns),
            end: format_rfc3339(start_ns.saturating_add(size_ns)),
        }
    }
}

/// The window record of `sli` for the window of `bounds`.
pub fn window_record(sli: &Sli, bounds: &Bounds, w: &SliWindow) -> WindowRecord {
    let valid = w.good + w.bad;
    let h = &w.latency;
    let latency = (h.count() > 0).then(|| LatencySummary {
        count: h.count(),
        min: ms(h.min_ns()),
        mean: h.mean_ns().round() / 1e6,
        percentiles: {
            let asked: Vec<(u64, u64)> = sli
                .percentiles
                .iter()
                .map(|p| (p.numerator, p.denominator))
                .collect();
            let values = h.quantiles_ns(&asked);
            sli.percentiles
                .iter()
                .zip(values)
                .map(|(p, v)| (p.key.clone(), ms_approx(v)))
                .collect()
        },
        max: ms(h.max_ns()),
    });
    WindowRecord {
        kind: RecordKind::Window,
        sli: sli.name.clone(),
        group: None,
        window_start: bounds.start.clone(),
        window_end: bounds.end.clone(),
        total: w.total,
        good: w.good,
        bad: w.bad,
        invalid: w.invalid,
        compliance: (valid > 0).then(|| w.good as f64 / valid as f64),
        target: sli.objective.as_ref().map(|o| o.target),
        latency,
        latency_histogram: h.to_base64(),
        breakdown: (!sli.breakdown.is_empty()).then(|| breakdown(sli, w)),
    }
}

/// The breakdown of `w`, per field of the SLI in its order; a field without
/// any bad event has an empty, exact top list.
fn breakdown(sli: &Sli, w: &SliWindow) -> Breakdown {
    let fields = sli.breakdown.iter().enumerate().map(|(i, (path, _))| {
        let field = match w.breakdown.get(i) {
            Some(top) => BreakdownField {
                exact: top.exact(),
                distinct: top.distinct(),
                top: top
                    .top()
                    .into_iter()
                    .take(sli.breakdown_limit)
                    .map(|(v, n)| TopValue {
                        value: v.to_string(),
                        bad: n,
                    })
                    .collect(),
            },
            None => BreakdownField {
                exact: true,
                distinct: 0,
                top: Vec::new(),
            },
        };
        (path.clone(), field)
    });
    OrderedMap(fields.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window's bounds are its start and its start plus its size, the
    /// end held at the last representable time rather than overflowing.
    #[test]
    fn bounds_are_the_start_and_the_start_plus_the_size() {
        let minute = 60_000_000_000;
        for (start, size) in [
            (0, minute),
            (minute, 2 * minute),
            (-minute, minute),
            (i64::MAX - 5, minute),
        ] {
            let b = Bounds::new(start, size);
            assert_eq!(b.start, format_rfc3339(start), "{start} {size}");
            assert_eq!(
                b.end,
                format_rfc3339(start.saturating_add(size)),
                "{start} {size}"
            );
        }
        assert_eq!(Bounds::new(0, minute).end, "1970-01-01T00:01:00Z");
    }
}
