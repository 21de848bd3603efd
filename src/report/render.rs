//! Markdown and HTML. Both carry the same sentences and numbers; HTML adds
//! the charts and is one self-contained file (inline CSS and SVG, no script,
//! nothing fetched).

use std::fmt::Write as _;

use super::chart::{self, Line};
use super::i18n::{fill, Lang, Text};
use super::numbers::{compliance_pct, day, decimals_for, number, pct, target_pct, when};
use super::questions::{self, Block};
use super::{Report, SloReport};

/// "Latency over the period (N requests): p50 63.0 ms · p99 578 ms".
fn latency_line(s: &SloReport, t: &Text) -> Option<String> {
    let l = s.latency.as_ref()?;
    Some(format!(
        "{}: {}",
        fill(t.latency_period, &[&crate::setup::thousands(l.count)]),
        l.listed(number)
    ))
}

/// The headline sentence of one SLI.
fn headline(s: &SloReport, t: &Text) -> String {
    let judged = s.last.as_ref().is_some_and(|l| l.compliance.is_some());
    if let (Some(n), false) = (s.all_invalid, judged) {
        return fill(t.all_invalid, &[&s.sli, &crate::setup::thousands(n)]);
    }
    let Some(last) = &s.last else {
        return fill(t.no_traffic, &[&s.sli]);
    };
    let Some(compliance) = last.compliance else {
        return fill(t.no_traffic, &[&s.sli]);
    };
    let unit = if last.method == "timeslices" {
        t.unit_slices
    } else {
        t.unit_requests
    };
    let (c, target) = (
        compliance_pct(compliance, last.target),
        target_pct(last.target),
    );
    if last.remaining >= 0.0 {
        let left = last
            .remaining_ratio
            .map_or(t.not_available.to_string(), |r| pct(r, 0));
        let m = s.answer.budget.left_outage_minutes;
        if m > 0.0 {
            fill(t.met, &[&s.sli, &c, unit, &target, &left, &number(m)])
        } else {
            fill(t.met_no_outage, &[&s.sli, &c, unit, &target, &left])
        }
    } else {
        let over = last
            .remaining_ratio
            .map_or(t.not_available.to_string(), |r| pct(-r, 0));
        fill(
            t.missed,
            &[&s.sli, &c, unit, &target, &over, &number(-last.remaining)],
        )
    }
}

/// The rows every format shows: (label, value).
fn budget_rows(s: &SloReport, t: &Text) -> Vec<(&'static str, String)> {
    let Some(last) = &s.last else {
        return Vec::new();
    };
    let na = || t.not_available.to_string();
    vec![
        (
            t.budget_left_ratio,
            last.remaining_ratio.map_or_else(na, |r| pct(r, 1)),
        ),
        (t.budget_left_events, number(last.remaining)),
        (
            t.budget_left_outage,
            format!(
                "{} {}",
                questions::minutes(s.answer.budget.left_outage_minutes),
                t.minutes
            ),
        ),
    ]
}

fn objective_line(s: &SloReport, t: &Text) -> Option<String> {
    let last = s.last.as_ref()?;
    Some(fill(
        t.objective_line,
        &[&target_pct(last.target), &last.window, &last.method],
    ))
}

fn compliance(good: u64, bad: u64, decimals: usize) -> Option<String> {
    (good + bad > 0).then(|| pct(good as f64 / (good + bad) as f64, decimals))
}

fn decimals(s: &SloReport) -> usize {
    s.last.as_ref().map_or(2, |l| decimals_for(l.target))
}

fn target_of(s: &SloReport, t: &Text) -> String {
    s.last
        .as_ref()
        .map_or(t.not_available.to_string(), |l| target_pct(l.target))
}

pub fn markdown(r: &Report, lang: Lang) -> String {
    let t = lang.text();
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", t.title);
    let _ = writeln!(o, "{}: {} – {}\n", t.period, when(r.from_ns), when(r.to_ns));
    for s in &r.slos {
        let _ = writeln!(o, "## {}\n", s.sli);
        let _ = writeln!(o, "> {}\n", headline(s, t));
        if let Some(d) = &s.description {
            let _ = writeln!(o, "{d}\n");
        }
        if let Some(line) = objective_line(s, t) {
            let _ = writeln!(o, "{}: {line}\n", t.objective);
        }
        for block in questions::blocks(&s.answer, lang, s.breakdown) {
            markdown_block(&mut o, &block);
        }
        let rows = budget_rows(s, t);
        if !rows.is_empty() {
            let _ = writeln!(o, "### {}\n\n| | |\n|---|---:|", t.budget);
            for (label, value) in rows {
                let _ = writeln!(o, "| {label} | {value} |");
            }
            o.push('\n');
        }
        let dec = decimals(s);
        let _ = writeln!(
            o,
            "### {}\n\n{} {} · {} {} · {} {}\n",
            t.this_period,
            t.good,
            s.period.0,
            t.bad,
            s.period.1,
            t.compliance,
            compliance(s.period.0, s.period.1, dec).unwrap_or(t.not_available.to_string())
        );
        if let Some(line) = latency_line(s, t) {
            let _ = writeln!(o, "{line}\n");
        }
        let _ = writeln!(
            o,
            "### {}\n\n| {} | {} | {} | {} | {} |\n|---|---:|---:|---:|---:|",
            t.daily, t.day, t.good, t.bad, t.compliance, t.target
        );
        for &(d, g, b) in &s.daily {
            let _ = writeln!(
                o,
                "| {} | {g} | {b} | {} | {} |",
                day(d),
                compliance(g, b, dec).unwrap_or(t.not_available.to_string()),
                target_of(s, t)
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## {}\n", t.glossary);
    for (term, dev, pm, sre) in &t.terms {
        let _ = writeln!(
            o,
            "### {term}\n\n- {}: {dev}\n- {}: {pm}\n- {}: {sre}\n",
            t.for_developers, t.for_product, t.for_sre
        );
    }
    o
}

/// One answer block as Markdown. Cells may hold values from the logs:
/// they are kept inside their cells.
fn markdown_block(o: &mut String, block: &Block) {
    match block {
        Block::Heading(h) => {
            let _ = writeln!(o, "### {h}\n");
        }
        Block::Text(text) => {
            let _ = writeln!(o, "{text}\n");
        }
        Block::Table {
            head,
            rows,
            numeric,
        } => {
            let cell = |c: &str| c.replace('|', "\\|").replace(['\n', '\r'], " ");
            let head: Vec<String> = head.iter().map(|h| cell(h)).collect();
            let align: Vec<&str> = numeric
                .iter()
                .map(|&n| if n { "---:" } else { "---" })
                .collect();
            let _ = writeln!(o, "| {} |\n|{}|", head.join(" | "), align.join("|"));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                let _ = writeln!(o, "| {} |", cells.join(" | "));
            }
            o.push('\n');
        }
    }
}

/// One answer block as HTML.
fn html_block(o: &mut String, block: &Block) {
    match block {
        Block::Heading(h) => {
            let _ = writeln!(o, "<h3>{}</h3>", esc(h));
        }
        Block::Text(text) => {
            let _ = writeln!(o, "<p class=\"answer\">{}</p>", esc(text));
        }
        Block::Table {
            head,
            rows,
            numeric,
        } => {
            o.push_str("<table>\n<tr>");
            for h in head {
                let _ = write!(o, "<th>{}</th>", esc(h));
            }
            o.push_str("</tr>\n");
            for row in rows {
                o.push_str("<tr>");
                for (k, c) in row.iter().enumerate() {
                    let class = if numeric.get(k) == Some(&true) {
                        " class=\"n\""
                    } else {
                        ""
                    };
                    let _ = write!(o, "<td{class}>{}</td>", esc(c));
                }
                o.push_str("</tr>\n");
            }
            o.push_str("</table>\n");
        }
    }
}

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// Japanese fonts named, so that Japanese never falls back to empty boxes.
pub(super) const CSS: &str = "body{font-family:system-ui,\"Noto Sans CJK JP\",\"Hiragino Sans\",\"Hiragino Kaku Gothic ProN\",\"Yu Gothic\",Meiryo,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}\
.headline{font-size:1.15rem;background:#f5f7fa;border-left:4px solid #1f77b4;padding:.6rem 1rem}\
.missed .headline{border-left-color:#d62728}\
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .6rem}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f0f0;text-align:left}\
figure{margin:1rem 0}svg{max-width:100%;height:auto}dt{font-weight:600;margin-top:.8rem}";

fn chart_svgs(s: &SloReport, t: &Text, r: &Report) -> Vec<String> {
    let x = (r.from_ns as f64 / 1e9, r.to_ns as f64 / 1e9);
    let secs = |ns: i64| ns as f64 / 1e9;
    let mut out = Vec::new();
    if let Some(last) = &s.last {
        let daily: Vec<(f64, f64)> = s
            .daily
            .iter()
            .filter(|d| d.1 + d.2 > 0)
            .map(|&(d, g, b)| (secs(d), g as f64 / (g + b) as f64))
            .collect();
        let target: Vec<(f64, f64)> = vec![(x.0, last.target), (x.1, last.target)];
        out.push(chart::lines(
            t.chart_daily,
            &[
                Line {
                    name: t.compliance,
                    points: daily,
                    color: chart::BLUE_LINE,
                },
                Line {
                    name: t.target,
                    points: target,
                    color: chart::GREY_LINE,
                },
            ],
            &[],
            "",
            x,
            &|v| format!("{:.2}%", v * 100.0),
        ));
    }
    let budget: Vec<(f64, f64)> = s
        .series
        .iter()
        .filter_map(|p| Some((secs(p.at_ns), p.remaining_ratio?)))
        .collect();
    out.push(chart::lines(
        t.chart_budget,
        &[Line {
            name: t.budget_left_ratio,
            points: budget,
            color: chart::BLUE_LINE,
        }],
        &[],
        "",
        x,
        &|v| format!("{:.0}%", v * 100.0),
    ));
    let burn: Vec<(f64, f64)> = s
        .series
        .iter()
        .filter_map(|p| Some((secs(p.at_ns), p.burn.get("1h").copied().flatten()?)))
        .collect();
    let marks: Vec<f64> = s.fired_at.iter().map(|&ns| secs(ns)).collect();
    out.push(chart::lines(
        t.chart_burn,
        &[Line {
            name: t.burn_rate_1h,
            points: burn,
            color: chart::BLUE_LINE,
        }],
        &marks,
        t.alert_marks,
        x,
        &|v| format!("{v:.1}"),
    ));
    out
}

pub fn html(r: &Report, lang: Lang) -> String {
    let t = lang.text();
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}: {} – {}</p>\n",
        lang.code(),
        esc(t.title),
        esc(t.title),
        esc(t.period),
        when(r.from_ns),
        when(r.to_ns)
    );
    for s in &r.slos {
        let missed = s.last.as_ref().is_some_and(|l| l.remaining < 0.0);
        let _ = write!(
            o,
            "<section class=\"{}\">\n<h2>{}</h2>\n<p class=\"headline\">{}</p>\n",
            if missed { "missed" } else { "met" },
            esc(&s.sli),
            esc(&headline(s, t))
        );
        if let Some(d) = &s.description {
            let _ = writeln!(o, "<p>{}</p>", esc(d));
        }
        if let Some(line) = objective_line(s, t) {
            let _ = writeln!(o, "<p>{}: {}</p>", esc(t.objective), esc(&line));
        }
        for block in questions::blocks(&s.answer, lang, s.breakdown) {
            html_block(&mut o, &block);
        }
        let rows = budget_rows(s, t);
        if !rows.is_empty() {
            let _ = writeln!(o, "<h3>{}</h3>\n<table>", esc(t.budget));
            for (label, value) in rows {
                let _ = writeln!(
                    o,
                    "<tr><th>{}</th><td class=\"n\">{}</td></tr>",
                    esc(label),
                    esc(&value)
                );
            }
            o.push_str("</table>\n");
        }
        let dec = decimals(s);
        let _ = writeln!(
            o,
            "<h3>{}</h3>\n<p>{} {} · {} {} · {} {}</p>",
            esc(t.this_period),
            esc(t.good),
            s.period.0,
            esc(t.bad),
            s.period.1,
            esc(t.compliance),
            compliance(s.period.0, s.period.1, dec).unwrap_or(t.not_available.to_string())
        );
        if let Some(line) = latency_line(s, t) {
            let _ = writeln!(o, "<p>{}</p>", esc(&line));
        }
        for svg in chart_svgs(s, t, r) {
            let _ = writeln!(o, "<figure>{svg}</figure>");
        }
        let _ = writeln!(
            o,
            "<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(t.daily),
            esc(t.day),
            esc(t.good),
            esc(t.bad),
            esc(t.compliance),
            esc(t.target)
        );
        for &(d, g, b) in &s.daily {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{g}</td><td class=\"n\">{b}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                day(d),
                compliance(g, b, dec).unwrap_or(t.not_available.to_string()),
                target_of(s, t)
            );
        }
        o.push_str("</table>\n");
        o.push_str("</section>\n");
    }
    let _ = writeln!(o, "<h2>{}</h2>\n<dl>", esc(t.glossary));
    for (term, dev, pm, sre) in &t.terms {
        let _ = writeln!(
            o,
            "<dt>{}</dt><dd><b>{}</b>: {}<br><b>{}</b>: {}<br><b>{}</b>: {}</dd>",
            esc(term),
            esc(t.for_developers),
            esc(dev),
            esc(t.for_product),
            esc(pm),
            esc(t.for_sre),
            esc(sre)
        );
    }
    o.push_str("</dl>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_show_the_difference_from_the_target() {
        assert_eq!(decimals_for(0.999), 2);
        assert_eq!(decimals_for(0.99), 2);
        assert_eq!(decimals_for(0.9995), 3);
        assert_eq!(pct(0.99951, decimals_for(0.999)), "99.95%");
        assert_eq!(target_pct(0.999), "99.9%");
        assert_eq!(target_pct(0.99), "99.0%");
    }

    #[test]
    fn compliance_never_rounds_onto_the_other_side_of_the_target() {
        assert_eq!(compliance_pct(0.99951, 0.999), "99.95%");
        assert_eq!(compliance_pct(0.998996, 0.999), "99.8996%");
        assert_eq!(compliance_pct(0.999004, 0.999), "99.9004%");
        assert_eq!(compliance_pct(0.999, 0.999), "99.90%");
        assert_eq!(compliance_pct(0.9849, 0.985), "98.49%");
        // Every compliance near a target reads as on its side of it.
        for target in [0.9, 0.99, 0.995, 0.999, 0.9995, 0.99999] {
            for step in -2000..=2000 {
                let c = target + f64::from(step) * 1e-7;
                if !(0.0..=1.0).contains(&c) || (c - target).abs() < 1e-9 {
                    continue;
                }
                let shown: f64 = compliance_pct(c, target)
                    .trim_end_matches('%')
                    .parse()
                    .expect("a number");
                let t = target * 100.0;
                // A difference smaller than the sixth extra decimal may still round onto it.
                if (c - target).abs() * 100.0 > 1e-5 {
                    assert_eq!(shown < t, c < target, "{c} against {target}: {shown}");
                }
            }
        }
    }
}
