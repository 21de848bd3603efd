//! The HTML report's charts of one SLO: compliance per day against the
//! target, the error budget left (with a caption saying why the line can
//! climb back), and the 1-hour burn rate with the alerts marked. Times on
//! the x axis are in the SLO's time zone, named in the axis title.

use chrono::TimeZone;

use super::answers::WindowKind;
use super::chart::{self, Chart, Line};
use super::i18n::{fill, Lang};
use super::numbers::{next_day_start, zone_name};
use super::questions::{span, window};
use super::{Report, SloReport};

/// One chart and the caption under it, if any.
pub struct Figure {
    pub svg: String,
    pub caption: Option<String>,
}

/// The x of a day's point: the middle of the part of the day inside the
/// report's period, so the first and last days, cut short, still show.
fn day_middle(day: i64, s: &SloReport, r: &Report) -> f64 {
    let end = next_day_start(day, s.tz).min(r.to_ns);
    let start = day.max(r.from_ns);
    (start as f64 + end as f64) / 2.0 / 1e9
}

fn budget_caption(s: &SloReport, lang: Lang) -> String {
    let (t, w) = (lang.text(), lang.words());
    let a = &s.answer;
    match a.period.window_kind {
        WindowKind::Rolling => fill(t.budget_caption_rolling, &[&span(a.period.window_ns, w)]),
        WindowKind::CalendarMonth | WindowKind::CalendarWeek => {
            fill(t.budget_caption_calendar, &[&window(a, w)])
        }
    }
}

/// A time axis in `tz`: how its ticks are written (a strftime `format`)
/// and its title, naming the zone as it was at `from_ns`.
pub(super) fn time_axis(
    tz: chrono_tz::Tz,
    from_ns: i64,
    format: &'static str,
    lang: Lang,
) -> (impl Fn(&f64) -> String, String) {
    let ticks = move |x: &f64| {
        tz.timestamp_nanos((*x * 1e9) as i64)
            .format(format)
            .to_string()
    };
    (ticks, fill(lang.text().x_time, &[&zone_name(tz, from_ns)]))
}

pub fn figures(s: &SloReport, r: &Report, lang: Lang) -> Vec<Figure> {
    let t = lang.text();
    let x = (r.from_ns as f64 / 1e9, r.to_ns as f64 / 1e9);
    let secs = |ns: i64| ns as f64 / 1e9;
    let (x_fmt, x_title) = time_axis(s.tz, r.from_ns, "%m-%d %H:%M", lang);
    let mut out = Vec::new();
    if let Some(last) = &s.last {
        let daily: Vec<(f64, f64)> = s
            .daily
            .iter()
            .filter(|d| d.1 + d.2 > 0)
            .map(|&(d, g, b)| (day_middle(d, s, r), g as f64 / (g + b) as f64))
            .collect();
        let lines = [Line {
            name: t.compliance,
            points: daily,
            color: chart::BLUE_LINE,
        }];
        out.push(Figure {
            svg: chart::draw(&Chart {
                title: t.chart_daily,
                x_title: &x_title,
                y_title: t.compliance,
                lines: &lines,
                references: &[(t.target, last.target)],
                marks: &[],
                mark_name: "",
                x,
                x_fmt: &x_fmt,
                y_fmt: &|v| format!("{:.2}%", v * 100.0),
            }),
            caption: None,
        });
    }
    let budget: Vec<(f64, f64)> = s
        .series
        .iter()
        .filter_map(|p| Some((secs(p.at_ns), p.remaining_ratio?)))
        .collect();
    let lines = [Line {
        name: t.budget_left_ratio,
        points: budget,
        color: chart::BLUE_LINE,
    }];
    out.push(Figure {
        svg: chart::draw(&Chart {
            title: t.chart_budget,
            x_title: &x_title,
            y_title: t.y_budget,
            lines: &lines,
            references: &[(t.budget_zero, 0.0)],
            marks: &[],
            mark_name: "",
            x,
            x_fmt: &x_fmt,
            y_fmt: &|v| format!("{:.0}%", v * 100.0),
        }),
        caption: Some(budget_caption(s, lang)),
    });
    let burn: Vec<(f64, f64)> = s
        .series
        .iter()
        .filter_map(|p| Some((secs(p.at_ns), p.burn.get("1h").copied().flatten()?)))
        .collect();
    let marks: Vec<f64> = s.fired_at.iter().map(|&ns| secs(ns)).collect();
    let lines = [Line {
        name: t.burn_rate_1h,
        points: burn,
        color: chart::BLUE_LINE,
    }];
    out.push(Figure {
        svg: chart::draw(&Chart {
            title: t.chart_burn,
            x_title: &x_title,
            y_title: t.y_burn,
            lines: &lines,
            references: &[(t.burn_sustainable, 1.0)],
            marks: &marks,
            mark_name: t.alert_marks,
            x,
            x_fmt: &x_fmt,
            y_fmt: &|v| format!("{v:.1}"),
        }),
        caption: None,
    });
    out
}
