//! Is the target realistic: a verdict from the history, with the evidence
//! it rests on. The history is replayed into the objective's periods with
//! the same trackers as `review` and `suggest` ([`super::whatif::replay`]);
//! the days of the period say whether a miss was one incident or the
//! everyday state of the service.

use serde::Serialize;

use super::i18n::{fill, Lang};
use super::numbers::{compliance_pct, count, share, target_pct};
use super::suggest::pick_target;
use super::whatif::Period;

/// Below this share of the objective's window covered by data, neither
/// "met" nor a verdict on the target means much.
pub const MIN_COVERAGE: f64 = 0.5;

/// A period that spent less than this share of its budget was never at risk.
const UNUSED_SPEND: f64 = 0.25;

/// The four verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Realistic,
    TooStrict,
    TooLoose,
    NotEnoughHistory,
}

impl Value {
    pub fn name(self) -> &'static str {
        match self {
            Value::Realistic => "realistic",
            Value::TooStrict => "too_strict",
            Value::TooLoose => "too_loose",
            Value::NotEnoughHistory => "not_enough_history",
        }
    }
}

/// Days of the period with valid events, and how many missed the target.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Days {
    pub judged: usize,
    pub missed: usize,
    /// The lowest share of good events of a day.
    pub worst: Option<f64>,
}

impl Days {
    /// From (good, bad) per day.
    pub fn of(daily: impl IntoIterator<Item = (u64, u64)>, target: f64) -> Days {
        let mut d = Days::default();
        for (g, b) in daily.into_iter().filter(|(g, b)| g + b > 0) {
            let c = g as f64 / (g + b) as f64;
            d.judged += 1;
            d.missed += usize::from(c < target);
            d.worst = Some(d.worst.map_or(c, |w: f64| w.min(c)));
        }
        d
    }
}

/// Every number a verdict's reason names; the words are the renderer's.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// No event could be judged.
    NoEvents,
    /// A timeslice objective on a latency percentile: window counts cannot
    /// replay it.
    NotReplayable,
    /// Less than [`MIN_COVERAGE`] of the objective's window has data.
    ShortHistory { covered_ratio: f64, days: Days },
    /// Judged from the objective's periods and the days.
    Judged {
        periods: usize,
        missed_periods: usize,
        /// The largest share of its budget a period spent.
        most_spent: f64,
        days: Days,
        /// The highest usual target every period met with a quarter of its
        /// budget to spare.
        supported: Option<f64>,
    },
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub value: Value,
    pub why: Why,
}

/// The verdict on `target` from the replayed `periods`, the `days` of the
/// period and how much of the objective's window has data.
pub fn judge(target: f64, covered_ratio: f64, periods: &[Period], days: Days) -> Verdict {
    let judged: Vec<&Period> = periods.iter().filter(|p| p.good + p.bad > 0).collect();
    if judged.is_empty() || days.judged == 0 {
        return Verdict {
            value: Value::NotEnoughHistory,
            why: Why::NoEvents,
        };
    }
    if covered_ratio < MIN_COVERAGE {
        return Verdict {
            value: Value::NotEnoughHistory,
            why: Why::ShortHistory {
                covered_ratio,
                days,
            },
        };
    }
    let compliance = |p: &Period| p.good as f64 / (p.good + p.bad) as f64;
    let missed = judged.iter().filter(|p| compliance(p) < target).count();
    let most_spent = judged
        .iter()
        .map(|p| p.budget_left.map_or(1.0, |l| 1.0 - l))
        .fold(0.0, f64::max);
    let supported = pick_target(&judged.iter().map(|p| compliance(p)).collect::<Vec<_>>());
    let value = if missed > 0 && missed * 2 >= judged.len() && days.missed * 4 > days.judged {
        Value::TooStrict
    } else if missed == 0 && most_spent < UNUSED_SPEND && days.missed == 0 {
        Value::TooLoose
    } else {
        Value::Realistic
    };
    Verdict {
        value,
        why: Why::Judged {
            periods: judged.len(),
            missed_periods: missed,
            most_spent,
            days,
            supported,
        },
    }
}

/// The verdict's reason, in `lang`.
pub fn reason(why: &Why, target: f64, lang: Lang) -> String {
    let w = lang.words();
    let days = |d: &Days| {
        d.worst.map(|worst| {
            fill(
                w.why_days,
                &[
                    &count(d.missed as u64),
                    &count(d.judged as u64),
                    &compliance_pct(worst, target),
                ],
            )
        })
    };
    let parts: Vec<String> = match why {
        Why::NoEvents => vec![w.why_no_events.into()],
        Why::NotReplayable => vec![w.why_not_replayable.into()],
        Why::ShortHistory {
            covered_ratio,
            days: d,
        } => std::iter::once(fill(
            w.why_short,
            &[&share(*covered_ratio), &share(MIN_COVERAGE)],
        ))
        .chain(days(d))
        .collect(),
        Why::Judged {
            periods,
            missed_periods,
            most_spent,
            days: d,
            supported,
        } => {
            let head = if *missed_periods > 0 {
                fill(
                    w.why_missed_periods,
                    &[&count(*missed_periods as u64), &count(*periods as u64)],
                )
            } else {
                fill(
                    w.why_met_periods,
                    &[
                        &count((periods - missed_periods) as u64),
                        &count(*periods as u64),
                        &share(*most_spent),
                    ],
                )
            };
            std::iter::once(head)
                .chain(days(d))
                .chain(supported.map(|t| fill(w.why_supported, &[&target_pct(t)])))
                .collect()
        }
    };
    let sep = if lang == Lang::Ja { "。" } else { "; " };
    parts.join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(good: u64, bad: u64, target: f64) -> Period {
        let allowed = (1.0 - target) * (good + bad) as f64;
        Period {
            start_ns: 0,
            end_ns: 1,
            good,
            bad,
            budget_left: Some((allowed - bad as f64) / allowed),
            alerted: false,
        }
    }

    fn days(judged: usize, missed: usize) -> Days {
        Days {
            judged,
            missed,
            worst: Some(0.99),
        }
    }

    #[test]
    fn each_verdict_from_its_history() {
        let t = 0.999;
        // Half of the budget spent every period: realistic.
        let ok = [period(99_950, 50, t), period(99_950, 50, t)];
        assert_eq!(judge(t, 1.0, &ok, days(60, 2)).value, Value::Realistic);
        // Missed every period, on most days: too strict.
        let bad = [period(99_700, 300, t), period(99_800, 200, t)];
        assert_eq!(judge(t, 1.0, &bad, days(60, 40)).value, Value::TooStrict);
        // Missed, but on one day in thirty: one incident, not the target.
        assert_eq!(
            judge(t, 1.0, &bad[..1], days(30, 1)).value,
            Value::Realistic
        );
        // A tenth of the budget spent: too loose.
        let idle = [period(99_990, 10, t), period(99_995, 5, t)];
        let v = judge(t, 1.0, &idle, days(60, 0));
        assert_eq!(v.value, Value::TooLoose);
        assert!(matches!(v.why, Why::Judged { supported: Some(s), .. } if s > t));
        // Three days of thirty: not enough, whatever happened.
        assert_eq!(
            judge(t, 0.1, &bad, days(3, 3)).value,
            Value::NotEnoughHistory
        );
        assert_eq!(judge(t, 1.0, &[], days(0, 0)).why, Why::NoEvents);
    }
}
