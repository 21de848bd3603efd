//! Markdown and HTML. Both carry the same sentences and numbers; HTML adds
//! the charts and is one self-contained file (inline CSS and SVG, no script,
//! nothing fetched). Both end with a glossary per role of the terms the
//! page's own text uses ([`super::glossary`]).

use std::fmt::Write as _;

use super::glossary::{self, Term};
use super::i18n::{fill, Lang, Text};
use super::numbers::{
    compliance_pct, count, day, decimals_for, number, pct, target_pct, when, zone_name,
};
use super::questions::{self, Block};
use super::{figures, Report, SloReport};

/// "Latency over the period (N requests): p50 63.0 ms · p99 578 ms".
fn latency_line(s: &SloReport, t: &Text) -> Option<String> {
    let l = s.latency.as_ref()?;
    Some(format!(
        "{}: {}",
        fill(t.latency_period, &[&count(l.count)]),
        l.listed(number)
    ))
}

/// The headline sentence of one SLI.
fn headline(s: &SloReport, t: &Text) -> String {
    let judged = s.last.as_ref().is_some_and(|l| l.compliance.is_some());
    if let (Some(n), false) = (s.all_invalid, judged) {
        return fill(t.all_invalid, &[&s.sli, &count(n)]);
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
            fill(
                t.met,
                &[&s.sli, &c, unit, &target, &left, &questions::minutes(m)],
            )
        } else {
            fill(t.met_no_outage, &[&s.sli, &c, unit, &target, &left])
        }
    } else {
        let over = last
            .remaining_ratio
            .map_or(t.not_available.to_string(), |r| pct(-r, 0));
        fill(
            t.missed,
            &[
                &s.sli,
                &c,
                unit,
                &target,
                &over,
                &questions::count(-last.remaining),
            ],
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
            t.budget_allowed,
            questions::count(s.answer.budget.allowed_events),
        ),
        (
            t.budget_left_ratio,
            last.remaining_ratio.map_or_else(na, |r| pct(r, 1)),
        ),
        (t.budget_left_events, questions::count(last.remaining)),
        (
            t.budget_left_outage,
            fill(
                t.minutes,
                &[&questions::minutes(s.answer.budget.left_outage_minutes)],
            ),
        ),
    ]
}

fn objective_line(s: &SloReport, lang: Lang) -> Option<String> {
    let last = s.last.as_ref()?;
    let t = lang.text();
    let unit = if last.method == "timeslices" {
        t.unit_slices
    } else {
        t.unit_requests
    };
    Some(fill(
        t.objective_line,
        &[
            &target_pct(last.target),
            unit,
            &questions::window(&s.answer, lang.words()),
        ],
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

/// "Asia/Tokyo (JST)", "UTC": the zone by its name and abbreviation.
fn zone_label(tz: chrono_tz::Tz, ns: i64) -> String {
    let short = zone_name(tz, ns);
    if short == tz.name() || short.starts_with('(') {
        tz.name().to_string()
    } else {
        format!("{} ({short})", tz.name())
    }
}

/// The "Times are in ..." line of a section whose zone is not the page's.
fn section_zone(s: &SloReport, r: &Report, t: &Text) -> Option<String> {
    (s.tz != r.tz).then(|| fill(t.times_in, &[&zone_label(s.tz, r.from_ns)]))
}

/// The period's counts: "good 1,234 · bad 5 · compliance 99.6%".
fn period_line(s: &SloReport, t: &Text) -> String {
    format!(
        "{} {} · {} {} · {} {}",
        t.good,
        count(s.period.0),
        t.bad,
        count(s.period.1),
        t.compliance,
        compliance(s.period.0, s.period.1, decimals(s)).unwrap_or(t.not_available.to_string())
    )
}

/// The rows of the daily table: day, good, bad, compliance, target.
fn daily_rows(s: &SloReport, t: &Text) -> Vec<[String; 5]> {
    let dec = decimals(s);
    s.daily
        .iter()
        .map(|&(d, g, b)| {
            [
                day(d, s.tz),
                count(g),
                count(b),
                compliance(g, b, dec).unwrap_or(t.not_available.to_string()),
                target_of(s, t),
            ]
        })
        .collect()
}

/// A role's definition of a term.
type Definition = fn(&Term) -> &'static str;

/// The glossary's roles: (heading, the definition for that role).
fn roles(t: &Text) -> [(&'static str, Definition); 3] {
    [
        (t.for_developers, |d| d.developer),
        (t.for_product, |d| d.product),
        (t.for_sre, |d| d.sre),
    ]
}

pub fn markdown(r: &Report, lang: Lang) -> String {
    let t = lang.text();
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", t.title);
    let _ = writeln!(
        o,
        "{}: {} – {}\n\n{}\n",
        t.period,
        when(r.from_ns, r.tz),
        when(r.to_ns, r.tz),
        fill(t.times_in, &[&zone_label(r.tz, r.from_ns)])
    );
    for s in &r.slos {
        let _ = writeln!(o, "## {}\n", s.sli);
        let _ = writeln!(o, "> {}\n", headline(s, t));
        if let Some(line) = section_zone(s, r, t) {
            let _ = writeln!(o, "{line}\n");
        }
        if let Some(d) = &s.description {
            let _ = writeln!(o, "{d}\n");
        }
        if let Some(line) = objective_line(s, lang) {
            let _ = writeln!(o, "{}: {line}\n", t.objective);
        }
        for block in questions::blocks(&s.answer, lang, s.breakdown, s.tz) {
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
        let _ = writeln!(o, "### {}\n\n{}\n", t.this_period, period_line(s, t));
        if let Some(line) = latency_line(s, t) {
            let _ = writeln!(o, "{line}\n");
        }
        let day_head = fill(t.day, &[&zone_name(s.tz, r.from_ns)]);
        let _ = writeln!(
            o,
            "### {}\n\n| {day_head} | {} | {} | {} | {} |\n|---|---:|---:|---:|---:|",
            t.daily, t.good, t.bad, t.compliance, t.target
        );
        for row in daily_rows(s, t) {
            let _ = writeln!(o, "| {} |", row.join(" | "));
        }
        o.push('\n');
    }
    let used = glossary::used(&o, lang);
    if !used.is_empty() {
        let _ = writeln!(o, "## {}\n", t.glossary);
        for (role, definition) in roles(t) {
            let _ = writeln!(o, "### {role}\n");
            for term in &used {
                let _ = writeln!(o, "- **{}**: {}", term.name, definition(term));
            }
            o.push('\n');
        }
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
// The charts' text takes the page's fonts too (CSS overrides the SVG's own
// `font-family` attribute).
pub(super) const CSS: &str = "body,svg text{font-family:system-ui,\"Noto Sans CJK JP\",\"Hiragino Sans\",\"Hiragino Kaku Gothic ProN\",\"Yu Gothic\",Meiryo,sans-serif}body{max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}\
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}\
.headline{font-size:1.15rem;background:#f5f7fa;border-left:4px solid #1f77b4;padding:.6rem 1rem}\
.missed .headline{border-left-color:#d62728}\
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .6rem}\
td{white-space:nowrap}td:last-child{white-space:normal}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f0f0;text-align:left}\
figure{margin:1rem 0}svg{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#444;max-width:47rem}\
dt{font-weight:600;margin-top:.8rem}";

pub fn html(r: &Report, lang: Lang) -> String {
    let t = lang.text();
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        lang.code(),
        esc(t.title),
    );
    let body_start = o.len();
    let _ = write!(
        o,
        "<h1>{}</h1>\n<p>{}: {} – {}</p>\n<p>{}</p>\n",
        esc(t.title),
        esc(t.period),
        when(r.from_ns, r.tz),
        when(r.to_ns, r.tz),
        esc(&fill(t.times_in, &[&zone_label(r.tz, r.from_ns)]))
    );
    for s in &r.slos {
        html_section(&mut o, s, r, lang);
    }
    html_glossary(&mut o, body_start, lang);
    o.push_str("</body>\n</html>\n");
    o
}

/// Appends to the HTML page `o` the glossary of the terms its text from
/// `body_start` uses, per role.
pub(super) fn html_glossary(o: &mut String, body_start: usize, lang: Lang) {
    let t = lang.text();
    let used = glossary::used(&text_of(&o[body_start..]), lang);
    if !used.is_empty() {
        let _ = writeln!(
            o,
            "<section class=\"glossary\">\n<h2>{}</h2>",
            esc(t.glossary)
        );
        for (role, definition) in roles(t) {
            let _ = writeln!(o, "<h3>{}</h3>\n<dl>", esc(role));
            for term in &used {
                let _ = writeln!(
                    o,
                    "<dt>{}</dt><dd>{}</dd>",
                    esc(term.name),
                    esc(definition(term))
                );
            }
            o.push_str("</dl>\n");
        }
        o.push_str("</section>\n");
    }
}

/// The text a reader sees in an HTML fragment: tags dropped, the
/// entities this module writes decoded.
fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn html_section(o: &mut String, s: &SloReport, r: &Report, lang: Lang) {
    let t = lang.text();
    let missed = s.last.as_ref().is_some_and(|l| l.remaining < 0.0);
    let _ = write!(
        o,
        "<section class=\"{}\">\n<h2>{}</h2>\n<p class=\"headline\">{}</p>\n",
        if missed { "missed" } else { "met" },
        esc(&s.sli),
        esc(&headline(s, t))
    );
    if let Some(line) = section_zone(s, r, t) {
        let _ = writeln!(o, "<p>{}</p>", esc(&line));
    }
    if let Some(d) = &s.description {
        let _ = writeln!(o, "<p>{}</p>", esc(d));
    }
    if let Some(line) = objective_line(s, lang) {
        let _ = writeln!(o, "<p>{}: {}</p>", esc(t.objective), esc(&line));
    }
    for block in questions::blocks(&s.answer, lang, s.breakdown, s.tz) {
        html_block(o, &block);
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
    let _ = writeln!(
        o,
        "<h3>{}</h3>\n<p>{}</p>",
        esc(t.this_period),
        esc(&period_line(s, t))
    );
    if let Some(line) = latency_line(s, t) {
        let _ = writeln!(o, "<p>{}</p>", esc(&line));
    }
    for f in figures::figures(s, r, lang) {
        match f.caption {
            Some(c) => {
                let _ = writeln!(
                    o,
                    "<figure>{}<figcaption>{}</figcaption></figure>",
                    f.svg,
                    esc(&c)
                );
            }
            None => {
                let _ = writeln!(o, "<figure>{}</figure>", f.svg);
            }
        }
    }
    let _ = writeln!(
        o,
        "<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(t.daily),
        esc(&fill(t.day, &[&zone_name(s.tz, r.from_ns)])),
        esc(t.good),
        esc(t.bad),
        esc(t.compliance),
        esc(t.target)
    );
    for row in daily_rows(s, t) {
        let _ = write!(o, "<tr><td>{}</td>", esc(&row[0]));
        for cell in &row[1..] {
            let _ = write!(o, "<td class=\"n\">{}</td>", esc(cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n</section>\n");
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
