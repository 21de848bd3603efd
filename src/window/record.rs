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

/// The window record of `sli` for the window starting at `start_ns`.
pub fn window_record(sli: &Sli, start_ns: i64, size_ns: i64, w: &SliWindow) -> WindowRecord {
    let (window_start, window_end) = bounds(start_ns, size_ns);
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
        window_start,
        window_end,
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

/// A window's start and end as records write them. The records of one
/// window, one an SLI and group, follow each other: the last window's
/// text is kept, one a thread, and copied.
fn bounds(start_ns: i64, size_ns: i64) -> (String, String) {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, i64, String, String)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((s, z, start, end)) if (*s, *z) == (start_ns, size_ns) => (start.clone(), end.clone()),
        _ => {
            let start = format_rfc3339(start_ns);
            let end = format_rfc3339(start_ns.saturating_add(size_ns));
            *last = Some((start_ns, size_ns, start.clone(), end.clone()));
            (start, end)
        }
    })
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

    /// The text kept from the last window is used for that window only:
    /// windows and sizes in turn each get their own bounds.
    #[test]
    fn each_window_gets_its_own_bounds() {
        let minute = 60_000_000_000;
        let asked = [
            (0, minute),
            (0, minute),
            (minute, minute),
            (0, minute),
            (0, 2 * minute),
            (-minute, minute),
            (i64::MAX - 5, minute),
        ];
        for (start, size) in asked {
            let (s, e) = bounds(start, size);
            assert_eq!(s, format_rfc3339(start), "{start} {size}");
            assert_eq!(
                e,
                format_rfc3339(start.saturating_add(size)),
                "{start} {size}"
            );
        }
        assert_eq!(bounds(0, minute).1, "1970-01-01T00:01:00Z");
    }
}
