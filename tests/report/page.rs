//! The report's page as its readers see it, over the generated API history
//! of `common::history` (a short page and a long slow burn): the HTML in
//! both languages drawn by headless Chromium with Debian's
//! `fonts-noto-cjk` (charts that hold their lines, the last day's point,
//! a visible target line, the legend under the plot, Japanese glyphs that
//! are not empty boxes); every number of `--format json` in the page's
//! text, written as the page writes numbers; times in the objective's
//! zone or `--tz`'s, with the zone named; and a glossary of exactly the
//! terms the page uses.

use std::fs;
use std::path::PathBuf;

use chrono::TimeZone;
use serde_json::Value;

use super::common::browser::{read_png, screenshot, text_outside_charts, Image};
use super::common::history::{self, BASE_S};
use super::common::*;

/// The history backfilled under one configuration.
struct Api {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    records: PathBuf,
}

fn api(window: &str, extra: &str) -> Api {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("api.jsonl");
    fs::write(&logs, history::history()).expect("write history");
    let cfg = dir.path().join("api.toml");
    fs::write(&cfg, history::config("0.999", window, extra)).expect("write config");
    let records = dir.path().join("records.jsonl");
    let (run, _) = backfill(&cfg, &records, &[], &[&p(&logs)], None);
    run.assert_code(0, "backfill");
    Api { dir, cfg, records }
}

impl Api {
    fn report(&self, extra: &[&str]) -> String {
        let (cfg, records) = (p(&self.cfg), p(&self.records));
        let mut args = vec!["report", "-c", &cfg, "--records", &records];
        args.extend_from_slice(extra);
        let run = slipstream(&args, None, None);
        run.assert_code(0, &format!("report {extra:?}"));
        String::from_utf8(run.stdout).expect("UTF-8")
    }

    fn json(&self) -> Value {
        let doc: Value = serde_json::from_str(&self.report(&["--format", "json"])).expect("JSON");
        doc["slos"][0].clone()
    }
}

/// A ratio as a percentage with 0 to 4 decimals, thousands separated: the
/// page may round a share to fewer decimals than a compliance.
fn percentages(ratio: f64) -> Vec<String> {
    (0..=4)
        .map(|d| format!("{}%", sep(&format!("{:.*}", d, ratio * 100.0))))
        .collect()
}

/// A measure (events, minutes, a burn rate): whole from 100 up, else with
/// one decimal, or whole when it has none.
fn measures(v: f64) -> Vec<String> {
    if v.abs() >= 100.0 {
        vec![sep(&format!("{v:.0}"))]
    } else {
        vec![format!("{v:.1}"), format!("{v:.0}")]
    }
}

/// `2026-03-01 13:12 UTC` for a JSON time in zone `tz`, computed with
/// chrono-tz here.
fn local(v: &Value, tz: chrono_tz::Tz, zone: &str) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339");
    format!("{} {zone}", t.with_timezone(&tz).format("%Y-%m-%d %H:%M"))
}

/// Every number of one SLO's JSON, each with the ways the page may write
/// it, and where in the JSON it is.
fn json_numbers(s: &Value) -> Vec<(String, Vec<String>)> {
    let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("a number: {v}"));
    let n = |v: &Value| vec![sep(&v.as_u64().expect("a count").to_string())];
    let utc = |v: &Value| vec![local(v, chrono_tz::UTC, "UTC")];
    let mut out = vec![
        (
            "objective.target".into(),
            percentages(f(&s["objective"]["target"])),
        ),
        ("period.from".into(), utc(&s["period"]["from"])),
        ("period.to".into(), utc(&s["period"]["to"])),
        (
            "period.covered_ratio".into(),
            percentages(f(&s["period"]["covered_ratio"])),
        ),
        ("compliance".into(), percentages(f(&s["compliance"]))),
        ("good".into(), n(&s["good"])),
        ("bad".into(), n(&s["bad"])),
        (
            "budget.allowed_events".into(),
            measures(f(&s["budget"]["allowed_events"])),
        ),
        (
            "budget.spent_ratio".into(),
            percentages(f(&s["budget"]["spent_ratio"])),
        ),
        (
            "budget.left_ratio".into(),
            percentages(f(&s["budget"]["left_ratio"])),
        ),
        (
            "budget.left_events".into(),
            measures(f(&s["budget"]["left_events"])),
        ),
        (
            "budget.left_outage_minutes".into(),
            measures(f(&s["budget"]["left_outage_minutes"])),
        ),
    ];
    for (k, i) in s["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .enumerate()
    {
        let at = |field: &str| format!("incidents[{k}].{field}");
        out.push((at("start"), utc(&i["start"])));
        out.push((at("end"), utc(&i["end"])));
        out.push((at("counted_from"), utc(&i["counted_from"])));
        out.push((at("alerts"), n(&i["alerts"])));
        out.push((at("bad_events"), n(&i["bad_events"])));
        out.push((at("budget_share"), percentages(f(&i["budget_share"]))));
        out.push((at("peak_burn_rate"), measures(f(&i["peak_burn_rate"]))));
        for c in i["top_contributors"].as_array().expect("contributors") {
            for v in c["values"].as_array().expect("values") {
                let shown = format!(
                    "{} ({})",
                    v["value"].as_str().expect("value"),
                    sep(&v["bad_events"].to_string())
                );
                out.push((at("top_contributors"), vec![shown]));
            }
        }
    }
    for (k, w) in s["what_if"].as_array().expect("what_if").iter().enumerate() {
        let at = |field: &str| format!("what_if[{k}].{field}");
        out.push((at("target"), percentages(f(&w["target"]))));
        out.push((
            at("budget_left_ratio"),
            percentages(f(&w["budget_left_ratio"])),
        ));
        out.push((at("pages"), n(&w["pages"])));
        out.push((at("tickets"), n(&w["tickets"])));
    }
    out
}

#[test]
fn the_html_holds_every_number_of_the_json_in_both_languages() {
    let a = api("30d", "");
    let json = a.json();
    assert!(
        json["incidents"].as_array().is_some_and(|i| i.len() == 2),
        "the page and the slow burn: {json}"
    );
    let numbers = json_numbers(&json);
    assert!(numbers.len() > 40, "{numbers:?}");
    for lang in ["en", "ja"] {
        let html = a.report(&["--format", "html", "--lang", lang]);
        let text = text_outside_charts(&html);
        for (field, ways) in &numbers {
            assert!(
                ways.iter().any(|w| text.contains(w.as_str())),
                "{lang}: {field} written as any of {ways:?} is not in the page:\n{text}"
            );
        }
        // Counts from a thousand up are never written without separators.
        for bare in ["172317", "172800"] {
            assert!(!text.contains(bare), "{lang}: {bare} without separators");
        }
    }
}

/// Chromium draws `page` into a `size` window; the screenshot's pixels.
fn shot(dir: &std::path::Path, name: &str, page: &str, size: (u32, u32)) -> Image {
    let html = dir.join(format!("{name}.html"));
    fs::write(&html, page).expect("write page");
    let png = dir.join(format!("{name}.png"));
    screenshot(&html, &png, size, &[]);
    read_png(&fs::read(&png).expect("a screenshot"))
}

const BLUE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [255, 127, 14];
const RED: [u8; 3] = [214, 39, 40];

/// One chart (an `<svg>` of the report) alone on a page with the report's
/// own `<head>`, drawn by Chromium at its size.
fn chart_image(dir: &std::path::Path, name: &str, head: &str, svg: &str) -> Image {
    let page =
        format!("{head}<body style=\"margin:0;padding:0;max-width:none\">{svg}</body></html>");
    let img = shot(dir, name, &page, (760, 300));
    assert_eq!((img.width, img.height), (760, 300));
    img
}

/// The daily chart: the target line is a dashed row across the plot, the
/// compliance line has points in the last day's half of the plot (days are
/// drawn at their middle), and the legend's sample of the target line
/// sits under everything plotted.
fn check_daily_chart(img: &Image, lang: &str) {
    let orange = img.find(ORANGE, 30);
    let mut rows: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for &(x, y) in &orange {
        rows.entry(y).or_default().push(x);
    }
    let (&target_y, xs) = rows
        .iter()
        .max_by_key(|(_, xs)| xs.len())
        .unwrap_or_else(|| panic!("{lang}: no target line"));
    let (x0, x1) = (*xs.iter().min().expect("x"), *xs.iter().max().expect("x"));
    assert!(
        x1 - x0 > 400,
        "{lang}: the target line spans the plot: {x0}..{x1}"
    );
    assert!(
        xs.len() > 150,
        "{lang}: the target line is visible: {} pixels",
        xs.len()
    );
    let blue = img.find(BLUE, 40);
    let plotted: Vec<&(usize, usize)> =
        blue.iter().filter(|(x, _)| (x0..=x1).contains(x)).collect();
    assert!(plotted.len() > 100, "{lang}: the compliance line is drawn");
    let width = (x1 - x0) as f64;
    // Two days: points at their middles, 25% and 75% of the plot; at
    // midnight the last one would be at 50% and nothing to its right.
    assert!(
        plotted
            .iter()
            .any(|&&(x, _)| (x - x0) as f64 > 0.68 * width),
        "{lang}: the last day has its point"
    );
    let lowest_data = plotted
        .iter()
        .filter(|(_, y)| *y < target_y + 80)
        .map(|(_, y)| *y)
        .max()
        .expect("data");
    let legend: Vec<&(usize, usize)> = orange
        .iter()
        .filter(|(_, y)| y.abs_diff(target_y) > 3)
        .collect();
    assert!(
        !legend.is_empty(),
        "{lang}: the legend shows the target line"
    );
    assert!(
        legend
            .iter()
            .all(|(_, y)| *y > lowest_data + 20 && *y > target_y + 20),
        "{lang}: the legend lies under the plot ({legend:?}, data down to {lowest_data})"
    );
}

/// Glyph cells: each of `chars` drawn in its own 64-pixel square, in a
/// row, with the report's own `<head>` (its font stack).
fn glyph_cells(dir: &std::path::Path, name: &str, head: &str, chars: &[char]) -> Vec<Vec<[u8; 3]>> {
    let cells: String = chars
        .iter()
        .map(|c| format!("<span style=\"display:inline-block;width:64px;height:64px;font-size:48px;line-height:64px;text-align:center;vertical-align:top\">{c}</span>"))
        .collect();
    let page = format!(
        "{head}<body style=\"margin:0;padding:0;max-width:none;color:#000;background:#fff\"><div style=\"white-space:nowrap;height:64px\">{cells}</div></body></html>"
    );
    let img = shot(dir, name, &page, (64 * chars.len() as u32, 64));
    (0..chars.len())
        .map(|k| img.crop(64 * k, 0, 64, 64))
        .collect()
}

fn ink(cell: &[[u8; 3]]) -> usize {
    cell.iter().filter(|p| p.iter().all(|&c| c < 128)).count()
}

#[test]
fn the_html_in_both_languages_draws_its_charts_and_japanese_glyphs_in_chromium() {
    let a = api("30d", "");
    let dir = a.dir.path();
    for lang in ["en", "ja"] {
        let html = a.report(&["--format", "html", "--lang", lang]);
        let head = &html[..html.find("<body>").expect("a body")];
        // The whole page renders, with more than a handful of colours.
        let page = shot(dir, &format!("page-{lang}"), &html, (1024, 5000));
        let colours: std::collections::BTreeSet<[u8; 3]> = page.pixels.iter().copied().collect();
        assert!(
            colours.len() > 100,
            "{lang}: a page of {} colours",
            colours.len()
        );

        let svgs: Vec<&str> = html
            .match_indices("<svg")
            .map(|(i, _)| &html[i..i + html[i..].find("</svg>").expect("closed") + 6])
            .collect();
        assert_eq!(svgs.len(), 3, "{lang}: three charts");
        let daily = chart_image(dir, &format!("daily-{lang}"), head, svgs[0]);
        check_daily_chart(&daily, lang);
        let budget = chart_image(dir, &format!("budget-{lang}"), head, svgs[1]);
        assert!(
            budget.find(BLUE, 40).len() > 300,
            "{lang}: the budget line is drawn"
        );
        assert!(
            budget.find(ORANGE, 30).len() > 150,
            "{lang}: the 0% line is drawn"
        );
        let burn = chart_image(dir, &format!("burn-{lang}"), head, svgs[2]);
        assert!(
            burn.find(BLUE, 40).len() > 300,
            "{lang}: the burn rate is drawn"
        );
        assert!(
            burn.find(RED, 40).len() > 100,
            "{lang}: the alerts are marked"
        );
    }

    // Japanese glyphs are drawn, not empty boxes: distinct characters of
    // the page's own text give distinct cells with ink, while characters
    // no font has (unassigned code points) all give the same box.
    let ja = a.report(&["--format", "html", "--lang", "ja"]);
    let head = &ja[..ja.find("<body>").expect("a body")];
    let text = text_outside_charts(&ja);
    let mut kanji: Vec<char> = Vec::new();
    for c in text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
    {
        if !kanji.contains(&c) && kanji.len() < 8 {
            kanji.push(c);
        }
    }
    assert_eq!(kanji.len(), 8, "the Japanese page has kanji: {text}");
    let cells = glyph_cells(dir, "kanji", head, &kanji);
    let boxes = glyph_cells(
        dir,
        "tofu",
        head,
        &['\u{378}', '\u{379}', '\u{380}', '\u{381}'],
    );
    assert!(ink(&boxes[0]) > 20, "an empty box still has its outline");
    assert!(
        boxes.windows(2).all(|w| w[0] == w[1]),
        "glyphs no font has are drawn as one and the same box"
    );
    for (k, cell) in cells.iter().enumerate() {
        assert!(ink(cell) > 40, "{} has ink", kanji[k]);
        assert!(cell != &boxes[0], "{} is drawn as an empty box", kanji[k]);
        for (j, other) in cells.iter().enumerate().skip(k + 1) {
            assert!(
                cell != other,
                "{} and {} are drawn alike",
                kanji[k],
                kanji[j]
            );
        }
    }
}

#[test]
fn times_are_in_the_objectives_zone_or_the_tz_flag_with_the_zone_named() {
    // A calendar month in Asia/Tokyo: every time in JST, days are Tokyo's.
    let tokyo = api("calendar:month", "timezone = \"Asia/Tokyo\"\n");
    let json = tokyo.json();
    assert!(
        json["period"]["from"]
            .as_str()
            .expect("from")
            .ends_with('Z'),
        "JSON stays UTC"
    );
    let tz = chrono_tz::Asia::Tokyo;
    for lang in ["en", "ja"] {
        let md = tokyo.report(&["--lang", lang]);
        for t in [&json["period"]["from"], &json["period"]["to"]] {
            let shown = local(t, tz, "JST");
            assert!(md.contains(&shown), "{lang}: {shown} in\n{md}");
        }
        for i in json["incidents"].as_array().expect("incidents") {
            for field in ["start", "end", "counted_from"] {
                let shown = local(&i[field], tz, "JST");
                assert!(
                    md.contains(&shown),
                    "{lang}: incident {field} {shown} in\n{md}"
                );
            }
            let utc = local(&i["start"], chrono_tz::UTC, "UTC");
            assert!(!md.contains(&utc), "{lang}: {utc} in UTC");
        }
        assert!(md.contains("Asia/Tokyo"), "{lang}: the zone is named");
        // Tokyo days: the history's first Tokyo day starts at 09:00 on
        // 2026-03-01 and the last ends at 09:00 on 2026-03-03.
        for day in 0..3 {
            let date = tz
                .timestamp_opt(BASE_S + day * 86_400, 0)
                .single()
                .expect("a time")
                .format("%Y-%m-%d")
                .to_string();
            assert!(md.contains(&format!("| {date} | ")), "{lang}: day {date}");
        }
    }

    // --tz over a rolling window: New York, named by its abbreviation.
    let rolling = api("30d", "");
    let json = rolling.json();
    let md = rolling.report(&["--tz", "America/New_York"]);
    let ny = chrono_tz::America::New_York;
    let zone = ny
        .timestamp_opt(BASE_S, 0)
        .single()
        .expect("a time")
        .format("%Z")
        .to_string();
    assert_eq!(zone, "EST");
    for i in json["incidents"].as_array().expect("incidents") {
        let shown = local(&i["start"], ny, &zone);
        assert!(md.contains(&shown), "{shown} in\n{md}");
    }
    let html = rolling.report(&["--tz", "America/New_York", "--format", "html"]);
    assert!(
        html.contains(&format!("({zone})")),
        "the charts' time axis names the zone"
    );
    // The JSON does not move.
    assert_eq!(
        rolling.report(&["--format", "json", "--tz", "Asia/Tokyo"]),
        rolling.report(&["--format", "json"])
    );

    // A name that is not a zone: an error naming the flag and the name.
    let (cfg, records) = (p(&rolling.cfg), p(&rolling.records));
    let run = slipstream(
        &[
            "report",
            "-c",
            &cfg,
            "--records",
            &records,
            "--tz",
            "Asia/Tokio",
        ],
        None,
        None,
    );
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("--tz") && run.stderr.contains("Asia/Tokio"),
        "{}",
        run.stderr
    );
}

/// Terms a reader may not know, as each language writes them: the page's
/// glossary must define each one its text uses.
const TERMS: [(&str, &str); 13] = [
    ("SLO", "SLO"),
    ("target", "目標値"),
    ("compliance", "達成率"),
    ("error budget", "エラーバジェット"),
    ("burn rate", "バーンレート"),
    ("incident", "インシデント"),
    ("page", "緊急アラート"),
    ("ticket", "チケット"),
    ("rolling window", "ローリングウィンドウ"),
    ("bad event", "不良イベント"),
    ("full outage", "全面停止"),
    ("top contributors", "主な発生元"),
    ("time slice", "時間スライス"),
];

/// Whether `text` holds `term`: a Latin one as a word of its own (a
/// plural `s` allowed), without regard to case.
fn has_word(text: &str, term: &str) -> bool {
    let (text, term) = (text.to_lowercase(), term.to_lowercase());
    if !term.is_ascii() {
        // Japanese runs words together: the term anywhere.
        return text.contains(&term);
    }
    let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(&term).any(|(i, _)| {
        let before = text[..i].chars().last();
        let after: Vec<char> = text[i + term.len()..].chars().take(2).collect();
        let ends = !letter(after.first().copied())
            || (after.first() == Some(&'s') && !letter(after.get(1).copied()));
        !letter(before) && ends
    })
}

#[test]
fn the_glossary_defines_the_terms_the_page_uses_and_no_other() {
    let a = api("30d", "");
    for (lang, k, heading) in [("en", 0, "Glossary"), ("ja", 1, "用語集")] {
        let html = a.report(&["--format", "html", "--lang", lang]);
        let at = html
            .find(&format!("<h2>{heading}</h2>"))
            .unwrap_or_else(|| panic!("{lang}: a glossary"));
        let (body, glossary) = (text_outside_charts(&html[..at]), &html[at..]);
        // With the charts' words: they are on the page too.
        let body_all = format!("{body} {}", {
            let mut t = String::new();
            let mut rest = &html[..at];
            while let Some(i) = rest.find("<text") {
                let from = i + rest[i..].find('>').expect("tag") + 1;
                let to = from + rest[from..].find("</text>").expect("closed");
                t.push_str(&rest[from..to]);
                t.push(' ');
                rest = &rest[to..];
            }
            t
        });
        let defined: Vec<String> = glossary
            .split("<dt>")
            .skip(1)
            .map(|d| d[..d.find("</dt>").expect("dt")].replace("&amp;", "&"))
            .collect();
        assert!(defined.len() >= 8, "{lang}: {defined:?}");
        // Three roles, each defining the same terms.
        assert_eq!(defined.len() % 3, 0, "{lang}: {defined:?}");
        let per_role = defined.len() / 3;
        for role in 1..3 {
            assert_eq!(
                defined[..per_role],
                defined[role * per_role..(role + 1) * per_role],
                "{lang}"
            );
        }
        for term in &defined[..per_role] {
            assert!(
                has_word(&body_all, term),
                "{lang}: `{term}` is defined but not used"
            );
        }
        for term in TERMS.iter().map(|t| if k == 0 { t.0 } else { t.1 }) {
            if has_word(&body_all, term) {
                assert!(
                    defined[..per_role]
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(term)),
                    "{lang}: `{term}` is used but not defined: {defined:?}"
                );
            }
        }
        // This history pages and tickets, and its SLI names no time slices.
        assert!(
            defined.iter().any(|d| d == TERMS[6].0 || d == TERMS[6].1),
            "{lang}"
        );
        assert!(
            !defined.iter().any(|d| d == TERMS[12].0 || d == TERMS[12].1),
            "{lang}"
        );
    }
}
