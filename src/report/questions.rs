//! The five answers of an SLO ([`super::answers`]) in words, in the
//! report's language: a heading per question, sentences first, then the
//! tables that hold the detail. Markdown and HTML lay out the same blocks.

use super::answers::{IncidentAnswer, SloAnswer, WindowKind};
use super::i18n::{fill, Lang, Words};
use super::numbers::{compliance_pct, count as count_int, number, share, target_pct, when};
use super::verdict::{reason, Value, MIN_COVERAGE};

const DAY_NS: i64 = 86_400 * 1_000_000_000;
const HOUR_NS: i64 = 3_600 * 1_000_000_000;

/// One piece of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(String),
    Text(String),
    /// Header, rows, and which columns hold numbers.
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
        numeric: Vec<bool>,
    },
}

/// A count of events with thousands separators; one decimal below 100
/// when it has a fraction (a budget is a fraction of the traffic).
pub fn count(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a < 100.0 && a.fract() != 0.0 {
        return format!("{sign}{a:.1}");
    }
    format!("{sign}{}", crate::setup::thousands(a.round() as u64))
}

/// Minutes with thousands separators: whole minutes from 100 up.
pub(super) fn minutes(m: f64) -> String {
    if m == 0.0 {
        "0".into()
    } else if m >= 100.0 {
        crate::setup::thousands(m.round() as u64)
    } else {
        number(m)
    }
}

/// "1.5", "3": at most one decimal, trailing zero dropped.
fn trimmed(v: f64) -> String {
    let s = format!("{v:.1}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How long the data covers, in days, hours or minutes.
pub(super) fn span(ns: i64, w: &Words) -> String {
    if ns >= DAY_NS {
        fill(w.days, &[&trimmed(ns as f64 / DAY_NS as f64)])
    } else if ns >= HOUR_NS {
        fill(w.hours, &[&trimmed(ns as f64 / HOUR_NS as f64)])
    } else {
        fill(w.minutes, &[&trimmed(ns as f64 / 60e9)])
    }
}

/// "30-day", "calendar-month".
pub(super) fn window(a: &SloAnswer, w: &Words) -> String {
    let ns = a.period.window_ns;
    match a.period.window_kind {
        WindowKind::CalendarMonth => w.calendar_month.into(),
        WindowKind::CalendarWeek => w.calendar_week.into(),
        WindowKind::Rolling if ns % DAY_NS == 0 => {
            fill(w.window_days, &[&(ns / DAY_NS).to_string()])
        }
        WindowKind::Rolling => fill(w.window_hours, &[&trimmed(ns as f64 / HOUR_NS as f64)]),
    }
}

fn unit(a: &SloAnswer, lang: Lang) -> &'static str {
    let t = lang.text();
    if a.objective.method == "timeslices" {
        t.unit_slices
    } else {
        t.unit_requests
    }
}

fn verdict_name(v: Value, w: &Words) -> &'static str {
    match v {
        Value::Realistic => w.realistic,
        Value::TooStrict => w.too_strict,
        Value::TooLoose => w.too_loose,
        Value::NotEnoughHistory => w.not_enough_history,
    }
}

pub(super) fn severity(s: &str, lang: Lang) -> &'static str {
    let t = lang.text();
    if s == "page" {
        t.page
    } else {
        t.ticket
    }
}

/// "http.route /api/pay (120), /api/cart (4); region eu-west-1 (98)".
pub fn contributors(i: &IncidentAnswer) -> String {
    i.top_contributors
        .iter()
        .map(|c| {
            let values: Vec<String> = c
                .values
                .iter()
                .map(|v| format!("{} ({})", v.value, count_int(v.bad_events)))
                .collect();
            format!("{}: {}", c.field, values.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn na(v: Option<f64>, lang: Lang, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| lang.text().not_available.to_string(), f)
}

/// The five answers of one SLO as blocks, times in `tz`.
pub fn blocks(a: &SloAnswer, lang: Lang, has_breakdown: bool, tz: chrono_tz::Tz) -> Vec<Block> {
    let when = |ns: i64| when(ns, tz);
    let w = lang.words();
    let t = lang.text();
    let u = unit(a, lang);
    let target = target_pct(a.objective.target);
    // Japanese runs sentences together; English puts a space between.
    let gap = if lang == Lang::Ja { "" } else { " " };
    let mut out = vec![Block::Heading(w.q1.into())];

    // 1. Met, and the coverage.
    let mut q1 = match (a.met, a.compliance) {
        (Some(met), Some(c)) => fill(
            if met { w.met } else { w.missed },
            &[&compliance_pct(c, a.objective.target), u, &target],
        ),
        _ => w.nothing_judged.to_string(),
    };
    q1.push_str(gap);
    q1.push_str(&fill(
        w.covered,
        &[
            &span(a.period.covered_ns, w),
            &window(a, w),
            &share(a.period.covered_ratio),
        ],
    ));
    if a.period.covered_ratio < MIN_COVERAGE {
        q1.push_str(gap);
        q1.push_str(w.coverage_warning);
    }
    out.push(Block::Text(q1));

    // 2. The budget.
    out.push(Block::Heading(w.q2.into()));
    let b = &a.budget;
    out.push(Block::Text(match b.left_ratio {
        None => fill(w.budget_none_yet, &[u]),
        Some(r) if b.left_events > 0.0 => fill(
            w.budget_left,
            &[
                &share(r),
                &count(b.left_events),
                u,
                &minutes(b.left_outage_minutes),
            ],
        ),
        Some(_) => fill(
            w.budget_none_left,
            &[
                &na(b.spent_ratio, lang, share),
                &count(-b.left_events),
                u,
                &minutes(b.left_outage_minutes),
            ],
        ),
    }));

    // 3. The incidents.
    out.push(Block::Heading(w.q3.into()));
    let spent = na(b.spent_ratio, lang, share);
    match a.incidents.first() {
        None if b.spent_ratio.is_some_and(|s| s > 0.0) => {
            out.push(Block::Text(fill(w.no_alert_spent, &[&spent])));
        }
        None => out.push(Block::Text(t.no_incidents.into())),
        Some(top) => {
            let shares: f64 = a.incidents.iter().filter_map(|i| i.budget_share).sum();
            let mut text = format!(
                "{}{gap}{}",
                fill(
                    w.incidents_spent,
                    &[&count_int(a.incidents.len() as u64), &share(shares), &spent],
                ),
                fill(
                    w.largest,
                    &[
                        severity(&top.severity, lang),
                        &when(top.start_ns),
                        &top.end_ns.map_or(w.still_firing.to_string(), when),
                        &count_int(top.bad_events),
                        &na(top.budget_share, lang, share),
                        &na(top.peak_burn_rate, lang, number),
                    ],
                )
            );
            if !top.top_contributors.is_empty() {
                text.push_str(gap);
                text.push_str(&fill(w.mostly_from, &[&contributors(top)]));
            }
            out.push(Block::Text(text));
            let mut head = vec![
                t.severity.to_string(),
                t.start.into(),
                t.end.into(),
                t.alerts.into(),
                t.counted_from.into(),
                w.bad_events.into(),
                w.budget_share.into(),
                t.peak_burn.into(),
            ];
            if has_breakdown {
                head.push(t.top_contributors.into());
            }
            let rows = a
                .incidents
                .iter()
                .map(|i| {
                    let mut row = vec![
                        severity(&i.severity, lang).to_string(),
                        when(i.start_ns),
                        i.end_ns.map_or(t.ongoing.to_string(), when),
                        count_int(i.alerts as u64),
                        when(i.counted_from_ns),
                        count_int(i.bad_events),
                        na(i.budget_share, lang, share),
                        na(i.peak_burn_rate, lang, number),
                    ];
                    if has_breakdown {
                        row.push(contributors(i));
                    }
                    row
                })
                .collect();
            let mut numeric = vec![false, false, false, true, false, true, true, true];
            numeric.resize(head.len(), false);
            out.push(Block::Table {
                head,
                rows,
                numeric,
            });
        }
    }

    // 4. The verdict.
    out.push(Block::Heading(w.q4.into()));
    out.push(Block::Text(fill(
        w.verdict,
        &[
            verdict_name(a.verdict.value, w),
            &reason(&a.verdict.why, a.objective.target, lang),
        ],
    )));

    // 5. What if.
    out.push(Block::Heading(w.q5.into()));
    if !a.what_if.is_empty() {
        out.push(Block::Text(w.what_if_intro.into()));
        let rows = a
            .what_if
            .iter()
            .map(|r| {
                let mut target = target_pct(r.target);
                if r.current {
                    target.push_str(w.current);
                }
                vec![
                    target,
                    r.met
                        .map_or(t.not_available, |m| if m { w.yes } else { w.no })
                        .to_string(),
                    na(r.budget_left_ratio, lang, share),
                    count_int(r.pages as u64),
                    count_int(r.tickets as u64),
                ]
            })
            .collect();
        out.push(Block::Table {
            head: vec![
                w.what_if_target.into(),
                w.what_if_met.into(),
                w.what_if_budget_left.into(),
                w.what_if_pages.into(),
                w.what_if_tickets.into(),
            ],
            rows,
            numeric: vec![false, false, true, true, true],
        });
    } else {
        out.push(Block::Text(reason(
            &a.verdict.why,
            a.objective.target,
            lang,
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_same_in_both_languages() {
        assert_eq!(count(1234567.0), "1,234,567");
        assert_eq!(count(-250.4), "-250");
        assert_eq!(count(12.5), "12.5");
        assert_eq!(share(2.5), "250%");
        assert_eq!(share(0.054), "5.4%");
        assert_eq!(
            span(36 * HOUR_NS, &super::super::i18n::EN_WORDS),
            "1.5 days"
        );
        assert_eq!(span(36 * HOUR_NS, &super::super::i18n::JA_WORDS), "1.5日");
        assert_eq!(
            span(20 * 60_000_000_000, &super::super::i18n::EN_WORDS),
            "20 minutes"
        );
    }
}
