//! How the report writes numbers and times: percentages beside a target,
//! shares, counts and times in UTC, the same in every section and language.

use crate::time::format_rfc3339;

/// `2026-01-01 10:07 UTC`.
pub(super) fn when(ns: i64) -> String {
    let s = format_rfc3339(ns);
    format!("{} {} UTC", &s[..10], &s[11..16])
}

pub(super) fn day(ns: i64) -> String {
    format_rfc3339(ns)[..10].to_string()
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
    format!("{:.*}%", decimals, ratio * 100.0)
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

pub(super) fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A share as a percentage: whole percents from 10% up, one decimal below.
pub fn share(r: f64) -> String {
    if r.abs() >= 0.1 {
        format!("{:.0}%", r * 100.0)
    } else {
        format!("{:.1}%", r * 100.0)
    }
}
