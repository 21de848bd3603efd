//! How the report writes numbers and times: percentages beside a target,
//! shares, counts with thousands separators, and times in the report's
//! time zone with the zone named, the same in every section and language.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// The zone as times name it: its abbreviation (`JST`, `UTC`, `CET`), or
/// its IANA name in parentheses where the database has only an offset
/// (`(Asia/Dubai)`).
pub(super) fn zone_name(tz: Tz, ns: i64) -> String {
    let abbr = tz.timestamp_nanos(ns).format("%Z").to_string();
    if abbr.starts_with(['+', '-']) || abbr.is_empty() {
        format!("({})", tz.name())
    } else {
        abbr
    }
}

/// `2026-01-01 10:07 UTC`, `2026-01-02 07:07 JST`.
pub(super) fn when(ns: i64, tz: Tz) -> String {
    let local = tz.timestamp_nanos(ns);
    format!("{} {}", local.format("%Y-%m-%d %H:%M"), zone_name(tz, ns))
}

/// The local date of `ns`: `2026-01-02`.
pub(super) fn day(ns: i64, tz: Tz) -> String {
    tz.timestamp_nanos(ns).format("%Y-%m-%d").to_string()
}

/// The start of the local day that holds `ns`, as Unix nanoseconds; where
/// midnight does not exist (a clock change at midnight), the day's first
/// instant that does.
pub(super) fn day_start(ns: i64, tz: Tz) -> i64 {
    let date: NaiveDate = tz.timestamp_nanos(ns).date_naive();
    (0..24)
        .find_map(|h| {
            let t = date.and_hms_opt(h, 0, 0)?;
            tz.from_local_datetime(&t).earliest()
        })
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or_else(|| ns.div_euclid(DAY_NS) * DAY_NS)
}

/// The start of the next local day after the one starting at `start`.
pub(super) fn next_day_start(start: i64, tz: Tz) -> i64 {
    // 26 hours reach into the next day even across a clock change.
    day_start(start + DAY_NS + DAY_NS / 12, tz)
}

/// Decimals that show a ratio next to `target` without rounding it onto
/// the target: one more than the target needs, at least two.
pub(super) fn decimals_for(target: f64) -> usize {
    let pct = target * 100.0;
    (0..6)
        .find(|&d| {
            let scale = 10f64.powi(d as i32);
            ((pct * scale).round() - pct * scale).abs() < 1e-6
        })
        .map_or(4, |d| (d + 1).max(2))
}

pub(super) fn pct(ratio: f64, decimals: usize) -> String {
    format!("{}%", grouped(&format!("{:.*}", decimals, ratio * 100.0)))
}

/// A formatted number with thousands separators in its whole part:
/// `-2695.5` is `-2,695.5`.
fn grouped(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (whole, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(w, f)| (w, Some(f)));
    match (whole.parse::<u64>(), frac) {
        (Ok(n), Some(f)) => format!("{sign}{}.{f}", count(n)),
        (Ok(n), None) => format!("{sign}{}", count(n)),
        _ => s.to_string(),
    }
}

/// `compliance` as a percentage next to `target`: with `decimals_for`
/// decimals, or as many more as it takes (up to six) for the figure to fall
/// on the same side of the target as the compliance does. 99.8996% against
/// 99.9% is not shown as 99.90%, which would read as the target met.
pub(super) fn compliance_pct(compliance: f64, target: f64) -> String {
    let side = compliance.partial_cmp(&target);
    let first = decimals_for(target);
    let shown = |d: usize| {
        let c = format!("{:.*}", d, compliance * 100.0);
        let t = format!("{:.*}", d, target * 100.0);
        let same_side = match (c.parse::<f64>(), t.parse::<f64>()) {
            (Ok(c), Ok(t)) => c.partial_cmp(&t) == side,
            _ => true,
        };
        same_side.then(|| format!("{c}%"))
    };
    (first..first + 6)
        .find_map(shown)
        .unwrap_or_else(|| pct(compliance, first + 6))
}

pub(super) fn target_pct(target: f64) -> String {
    pct(target, decimals_for(target).saturating_sub(1))
}

/// A measure (burn rate, minutes, milliseconds): whole and with
/// thousands separators from 100 up, one decimal below.
pub(super) fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(v.abs().round() as u64))
    } else {
        format!("{v:.1}")
    }
}

/// A share as a percentage: whole percents from 10% up, one decimal below.
pub fn share(r: f64) -> String {
    pct(r, if r.abs() >= 0.1 { 0 } else { 1 })
}

/// A count with thousands separators: `1,234,567`.
pub(super) fn count(n: u64) -> String {
    crate::setup::thousands(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_name_their_zone() {
        // 2026-01-01T22:30:00Z
        let ns = 1_767_306_600 * 1_000_000_000;
        assert_eq!(when(ns, chrono_tz::UTC), "2026-01-01 22:30 UTC");
        assert_eq!(when(ns, chrono_tz::Asia::Tokyo), "2026-01-02 07:30 JST");
        assert_eq!(
            when(ns, chrono_tz::Asia::Dubai),
            "2026-01-02 02:30 (Asia/Dubai)"
        );
        assert_eq!(day(ns, chrono_tz::Asia::Tokyo), "2026-01-02");
        // Tokyo's 2026-01-02 starts at 2026-01-01T15:00:00Z.
        let start = day_start(ns, chrono_tz::Asia::Tokyo);
        assert_eq!(start, (1_767_306_600 - 27_000) * 1_000_000_000);
        assert_eq!(
            next_day_start(start, chrono_tz::Asia::Tokyo) - start,
            DAY_NS
        );
        assert_eq!(number(12345.4), "12,345");
        assert_eq!(number(-1234.0), "-1,234");
        assert_eq!(number(14.44), "14.4");
        assert_eq!(share(-26.954), "-2,695%");
        assert_eq!(share(0.054), "5.4%");
        assert_eq!(pct(-25.634, 1), "-2,563.4%");
    }
}
