//! The live status page of a running job: `/` (HTML) and `/api/slo` (the
//! JSON of `report --format json`) over the records the job holds.
//!
//! The job hands every batch of records it has written to [`Status::hold`];
//! the status keeps them as report rows, one per key as [`Records`] does,
//! per SLI in a `DashMap` (the job's thread and the HTTP thread touch one
//! SLI at a time), for the last [`HELD_NS`] of event time (measured back
//! from the newest window), so memory stays bounded whatever the uptime. A request builds
//! the [`Report`] of those rows, so `/api/slo` is byte for byte what
//! `slipstream report --format json` says over the same records; it is built
//! at most once per change of the rows (and language), on the HTTP thread's
//! blocking pool, never on the job's loop.
//!
//! The page shows, per SLO, what someone on call looks at first: whether an
//! alert is firing, the budget left, the burn rates over every span, and
//! the held hours as charts. It reloads itself every [`REFRESH_SECONDS`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use dashmap::DashMap;

use super::chart::{self, Chart, Line};
use super::data::{AlertRow, SloRow, WindowRow};
use super::numbers::{compliance_pct, share, target_pct, when};
use super::questions::{count, minutes};
use super::{Format, Lang, Records, Report, SloReport};
use crate::config::Config;
use crate::record::AnyRecord;
use crate::telemetry::{Pages, Reply};

/// How much event time the page holds: a day back from the newest window.
pub const HELD_NS: i64 = 24 * 3_600 * 1_000_000_000;
/// How often the page reloads itself, in seconds.
pub const REFRESH_SECONDS: u32 = 15;

/// The records a running job has written, and the page made of them.
pub struct Status {
    config: Config,
    /// Per SLI, the rows held. The job's thread writes the SLIs of each
    /// batch it wrote while a request copies others: each waits at most
    /// for one SLI's rows, never for a whole copy.
    slis: DashMap<String, HeldSli>,
    /// The start of the newest window held.
    newest: AtomicI64,
    /// Bumped by every batch held.
    version: AtomicU64,
    /// The last page built: the version of the rows it was built from, its
    /// path and language, and the reply.
    built: Mutex<Option<(u64, String, Reply)>>,
}

/// The rows of one SLI, keyed as [`Records`] keys them.
#[derive(Default)]
struct HeldSli {
    windows: BTreeMap<i64, WindowRow>,
    slos: BTreeMap<i64, SloRow>,
    alerts: BTreeMap<(i64, String), AlertRow>,
}

impl HeldSli {
    /// Drops what lies before `cut`: the windows that start before it, and
    /// the `slo` and `alert` records at or before it (the same bounds as
    /// [`Records::within`]).
    fn trim(&mut self, cut: i64) {
        self.windows = self.windows.split_off(&cut);
        self.slos.retain(|&at, _| at > cut);
        self.alerts.retain(|k, _| k.0 > cut);
    }
}

impl Status {
    pub fn new(config: &Config) -> Status {
        Status {
            config: config.clone(),
            slis: DashMap::new(),
            newest: AtomicI64::new(i64::MIN),
            version: AtomicU64::new(0),
            built: Mutex::new(None),
        }
    }

    /// Keeps records the job has written, and lets go of what lies more
    /// than [`HELD_NS`] before the newest window. Window histograms are
    /// kept: `/api/slo` merges them into the period's percentiles.
    pub fn hold(&self, records: impl IntoIterator<Item = AnyRecord>) {
        let rows = Records::from_records(records);
        if rows.windows.is_empty() && rows.slos.is_empty() && rows.alerts.is_empty() {
            return;
        }
        let mut newest = self.newest.load(Ordering::Relaxed);
        for w in rows.windows {
            newest = newest.max(w.start_ns);
            let mut sli = self.slis.entry(w.sli.clone()).or_default();
            sli.windows.insert(w.start_ns, w);
        }
        for r in rows.slos {
            let mut sli = self.slis.entry(r.sli.clone()).or_default();
            sli.slos.insert(r.at_ns, r);
        }
        for a in rows.alerts {
            let mut sli = self.slis.entry(a.sli.clone()).or_default();
            sli.alerts.insert((a.at_ns, a.severity.clone()), a);
        }
        self.newest.store(newest, Ordering::Relaxed);
        if newest > i64::MIN {
            let cut = newest.saturating_sub(HELD_NS);
            for mut sli in self.slis.iter_mut() {
                sli.trim(cut);
            }
        }
        self.version.fetch_add(1, Ordering::Release);
    }

    /// A copy of the rows held now, in the order a report reads them.
    pub fn records(&self) -> Records {
        let mut r = Records::default();
        for sli in self.slis.iter() {
            r.windows.extend(sli.windows.values().cloned());
            r.slos.extend(sli.slos.values().cloned());
            r.alerts.extend(sli.alerts.values().cloned());
        }
        r.windows
            .sort_by(|a, b| (a.start_ns, &a.sli).cmp(&(b.start_ns, &b.sli)));
        r.slos
            .sort_by(|a, b| (a.at_ns, &a.sli).cmp(&(b.at_ns, &b.sli)));
        r.alerts
            .sort_by(|a, b| (a.at_ns, &a.sli, &a.severity).cmp(&(b.at_ns, &b.sli, &b.severity)));
        r
    }

    fn build(&self, path: &str, lang: Lang) -> Reply {
        let version = self.version.load(Ordering::Acquire);
        let key = format!("{path}?{}", lang.code());
        if let Ok(built) = self.built.lock() {
            if let Some((v, k, reply)) = built.as_ref() {
                if *v == version && *k == key {
                    return reply.clone();
                }
            }
        }
        let records = self.records();
        let report = Report::build(&self.config, records.clone(), None, None);
        let reply = if path == "/api/slo" {
            (200, "application/json", report.render(Format::Json, lang))
        } else {
            let html = page(&report, &records, lang);
            (200, "text/html; charset=utf-8", html)
        };
        if let Ok(mut built) = self.built.lock() {
            *built = Some((version, key, reply.clone()));
        }
        reply
    }
}

impl Pages for Status {
    fn respond(&self, path: &str, query: &str) -> Option<Reply> {
        let lang = if query.split('&').any(|p| p == "lang=ja") {
            Lang::Ja
        } else {
            Lang::En
        };
        match path {
            "/" | "/api/slo" => Some(self.build(path, lang)),
            _ => None,
        }
    }

    fn paths(&self) -> &'static str {
        "/ (the status page; /?lang=ja in Japanese), /api/slo"
    }
}

/// The words of the page.
struct Words {
    title: &'static str,
    intro: &'static str,
    no_records: &'static str,
    firing: &'static str,
    firing_since: &'static str,
    quiet: &'static str,
    budget_left: &'static str,
    budget_line: &'static str,
    budget_gone: &'static str,
    no_budget_yet: &'static str,
    compliance: &'static str,
    target: &'static str,
    burn_rates: &'static str,
    burn_span: &'static str,
    burn_rate: &'static str,
    burn_help: &'static str,
    good_ratio: &'static str,
    chart_good: &'static str,
    chart_budget: &'static str,
    budget_caption: &'static str,
    more: &'static str,
}

const EN: Words = Words {
    title: "slipstream status",
    intro: "Records of the last {0} (from {1} to {2}); the page reloads every {3} seconds.",
    no_records: "No window has been written yet: the first records appear when the first window closes.",
    firing: "Firing",
    firing_since: "{0} firing since {1}: the budget burned {2}× faster than it allows over {3} (the alert fires at {4}×).",
    quiet: "No alert is firing.",
    budget_left: "Budget left",
    budget_line: "{0} of the error budget is left: {1} more bad events, or {2} minutes of full outage at the current traffic.",
    budget_gone: "The error budget is spent: {0} bad events more than the objective allows.",
    no_budget_yet: "No objective record yet.",
    compliance: "Good events over the objective's window",
    target: "target",
    burn_rates: "Burn rates",
    burn_span: "Over the last",
    burn_rate: "Burn rate",
    burn_help: "1× spends the budget exactly over the objective's window; above 1× it runs out early.",
    good_ratio: "good events",
    chart_good: "Good events per window",
    chart_budget: "Error budget left",
    budget_caption: "The budget is measured over the objective's rolling window: when old bad events leave the window, the line climbs back.",
    more: "The same answers as JSON: /api/slo. The whole report over any period: slipstream report.",
};

const JA: Words = Words {
    title: "slipstream ステータス",
    intro: "直近{0}の記録（{1}〜{2}）。このページは{3}秒ごとに更新されます。",
    no_records: "まだウィンドウの記録がありません。最初のウィンドウが閉じると表示されます。",
    firing: "発報中",
    firing_since: "{0}が{1}から発報中：{3}の間、許容の{2}倍の速さでエラーバジェットを消費しています（発報の閾値は{4}倍）。",
    quiet: "発報中のアラートはありません。",
    budget_left: "残りのエラーバジェット",
    budget_line: "エラーバジェットの残りは{0}です。あと{1}件の失敗、または現在のトラフィックで{2}分間の全面停止に相当します。",
    budget_gone: "エラーバジェットを使い切りました。目標が許す数より{0}件多く失敗しています。",
    no_budget_yet: "SLO の記録はまだありません。",
    compliance: "目標期間における成功率",
    target: "目標",
    burn_rates: "バーンレート",
    burn_span: "集計期間",
    burn_rate: "バーンレート",
    burn_help: "1倍は目標期間でちょうどバジェットを使い切る速さです。1倍を超えると期間の途中で尽きます。",
    good_ratio: "成功率",
    chart_good: "ウィンドウごとの成功率",
    chart_budget: "残りのエラーバジェット",
    budget_caption: "バジェットは目標のローリング期間で計算します。古い失敗が期間から外れると、線は回復します。",
    more: "同じ内容の JSON：/api/slo。任意の期間のレポート：slipstream report。",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// The status page of `report`, whose rows are `records`.
fn page(report: &Report, records: &Records, lang: Lang) -> String {
    use super::i18n::fill;
    let w = words(lang);
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n<title>{}</title>\n<style>{}{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        lang.code(),
        esc(w.title),
        super::render::CSS,
        esc(w.title),
    );
    let body_start = o.len();
    if records.windows.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", esc(w.no_records));
    } else {
        let held = span_words(report.to_ns - report.from_ns, lang);
        let intro = fill(
            w.intro,
            &[
                &held,
                &when(report.from_ns, report.tz),
                &when(report.to_ns, report.tz),
                &REFRESH_SECONDS.to_string(),
            ],
        );
        let _ = writeln!(o, "<p>{}</p>", esc(&intro));
    }
    for s in &report.slos {
        section(&mut o, s, records, report, lang);
    }
    super::render::html_glossary(&mut o, body_start, lang);
    let _ = writeln!(o, "<p class=\"more\">{}</p>\n</body>\n</html>", esc(w.more));
    o
}

const CSS: &str =
    ".firing{background:#fdecea;border-left:4px solid #d62728;padding:.5rem 1rem;font-weight:600}\
.quiet{color:#2a7a2a}.more{margin-top:3rem;color:#555}figcaption{color:#555;font-size:.9rem}";

fn esc(s: &str) -> String {
    super::render::esc(s)
}

/// "24 hours", "35 minutes", "50 seconds".
fn span_words(ns: i64, lang: Lang) -> String {
    let seconds = ns / 1_000_000_000;
    let (n, unit) = if seconds >= 7_200 {
        (seconds / 3_600, 0)
    } else if seconds >= 120 {
        (seconds / 60, 1)
    } else {
        (seconds, 2)
    };
    let units = match lang {
        Lang::En => [" hours", " minutes", " seconds"],
        Lang::Ja => ["時間", "分", "秒"],
    };
    format!("{n}{}", units[unit])
}

fn section(o: &mut String, s: &SloReport, records: &Records, report: &Report, lang: Lang) {
    let w = words(lang);
    use super::i18n::fill;
    let a = &s.answer;
    let _ = writeln!(o, "<section>\n<h2>{}</h2>", esc(&s.sli));
    if let Some(d) = &s.description {
        let _ = writeln!(o, "<p>{}</p>", esc(d));
    }
    // Firing alerts: the latest alert record of each severity, when firing.
    let mut latest: BTreeMap<&str, &AlertRow> = BTreeMap::new();
    for r in records.alerts.iter().filter(|r| r.sli == s.sli) {
        latest.insert(&r.severity, r);
    }
    let firing: Vec<&AlertRow> = latest.into_values().filter(|r| r.firing).collect();
    if firing.is_empty() {
        let _ = writeln!(o, "<p class=\"quiet\">{}</p>", esc(w.quiet));
    }
    for r in &firing {
        let line = fill(
            w.firing_since,
            &[
                super::questions::severity(&r.severity, lang),
                &when(r.incident_start_ns, s.tz),
                &r.burn_rate_long.map_or("-".into(), |b| format!("{b:.1}")),
                &r.long_window,
                &format!("{}", r.threshold),
            ],
        );
        let _ = writeln!(
            o,
            "<p class=\"firing\"><span class=\"mark\">{} ▲</span> {}</p>",
            esc(w.firing),
            esc(&line)
        );
    }
    let _ = writeln!(o, "<h3>{}</h3>", esc(w.budget_left));
    match (&s.last, a.budget.left_ratio) {
        (None, _) => {
            let _ = writeln!(o, "<p>{}</p>", esc(w.no_budget_yet));
        }
        (Some(_), Some(r)) if a.budget.left_events > 0.0 => {
            let line = fill(
                w.budget_line,
                &[
                    &share(r),
                    &count(a.budget.left_events),
                    &minutes(a.budget.left_outage_minutes),
                ],
            );
            let _ = writeln!(o, "<p class=\"budget\">{}</p>", esc(&line));
        }
        (Some(_), _) => {
            let over = fill(w.budget_gone, &[&count(-a.budget.left_events)]);
            let _ = writeln!(o, "<p class=\"budget\">{}</p>", esc(&over));
        }
    }
    if let (Some(c), Some(last)) = (a.compliance, &s.last) {
        let _ = writeln!(
            o,
            "<p>{}: {} ({} {})</p>",
            esc(w.compliance),
            compliance_pct(c, last.target),
            esc(w.target),
            target_pct(last.target)
        );
    }
    if let Some(last) = &s.last {
        let _ = writeln!(
            o,
            "<h3>{}</h3>\n<table>\n<tr><th>{}</th><th>{}</th></tr>",
            esc(w.burn_rates),
            esc(w.burn_span),
            esc(w.burn_rate)
        );
        let mut spans: Vec<(&String, &Option<f64>)> = last.burn.iter().collect();
        spans
            .sort_by_key(|(k, _)| humantime::parse_duration(k).map_or(u128::MAX, |d| d.as_nanos()));
        for (span, rate) in spans {
            let rate = rate.map_or("-".into(), |r| format!("{r:.2}×"));
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{rate}</td></tr>",
                esc(span)
            );
        }
        let _ = writeln!(o, "</table>\n<p>{}</p>", esc(w.burn_help));
    }
    for svg in charts(s, records, report, w, lang) {
        o.push_str(&svg);
    }
    o.push_str("</section>\n");
}

/// The good-event ratio per window against the target, and the budget
/// left, with times in the SLO's zone named on the axis.
fn charts(s: &SloReport, records: &Records, report: &Report, w: &Words, lang: Lang) -> Vec<String> {
    let t = lang.text();
    let x = (report.from_ns as f64 / 1e9, report.to_ns as f64 / 1e9);
    let secs = |ns: i64| ns as f64 / 1e9;
    let (x_fmt, x_title) = super::figures::time_axis(s.tz, report.from_ns, "%H:%M", lang);
    let ratio: Vec<(f64, f64)> = records
        .windows
        .iter()
        .filter(|r| r.sli == s.sli && r.good + r.bad > 0)
        .map(|r| (secs(r.start_ns), r.good as f64 / (r.good + r.bad) as f64))
        .collect();
    let target: Vec<(&str, f64)> = s.last.iter().map(|l| (w.target, l.target)).collect();
    let good = chart::draw(&Chart {
        title: w.chart_good,
        x_title: &x_title,
        y_title: w.good_ratio,
        lines: &[Line {
            name: w.good_ratio,
            points: ratio,
            color: chart::BLUE_LINE,
        }],
        references: &target,
        marks: &[],
        mark_name: "",
        x,
        x_fmt: &x_fmt,
        y_fmt: &|v| format!("{:.2}%", v * 100.0),
    });
    let budget: Vec<(f64, f64)> = s
        .series
        .iter()
        .filter_map(|p| Some((secs(p.at_ns), p.remaining_ratio?)))
        .collect();
    let budget = chart::draw(&Chart {
        title: w.chart_budget,
        x_title: &x_title,
        y_title: t.y_budget,
        lines: &[Line {
            name: w.budget_left,
            points: budget,
            color: chart::BLUE_LINE,
        }],
        references: &[(t.budget_zero, 0.0)],
        marks: &[],
        mark_name: "",
        x,
        x_fmt: &x_fmt,
        y_fmt: &|v| format!("{:.0}%", v * 100.0),
    });
    vec![
        format!("<figure>{good}</figure>\n"),
        format!(
            "<figure>{budget}<figcaption>{}</figcaption></figure>\n",
            esc(w.budget_caption)
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CONFIG: &str = include_str!("../../tests/data/records/slipstream.toml");
    const RECORDS: &str = include_str!("../../tests/data/records/records.jsonl");
    const HOUR_NS: i64 = 3_600 * 1_000_000_000;

    fn config() -> Config {
        Config::parse(Path::new("slipstream.toml"), CONFIG).expect("the fixture's configuration")
    }

    fn records(text: &str) -> Vec<AnyRecord> {
        text.lines()
            .map(|l| AnyRecord::parse(l).expect("a record"))
            .collect()
    }

    #[test]
    fn api_slo_is_the_json_report_of_the_records_written() {
        let status = Status::new(&config());
        let all = records(RECORDS);
        // In batches, as the job writes them, one of them twice.
        for batch in all.chunks(50) {
            status.hold(batch.to_vec());
        }
        status.hold(all[..50].to_vec());
        let (code, kind, body) = status.respond("/api/slo", "").expect("a page");
        assert_eq!((code, kind), (200, "application/json"));
        let report = Report::build(&config(), Records::from_jsonl(RECORDS), None, None);
        assert_eq!(body, report.render(Format::Json, Lang::En));
        assert!(body.contains("\"name\": \"checkout-availability\""));
    }

    /// Each group of a grouped SLI is an SLO of its own on `/api/slo`.
    #[test]
    fn api_slo_lists_each_group_of_a_grouped_sli() {
        let config = Config::parse(
            Path::new("grouped.toml"),
            "[window]\nsize = \"1m\"\n[[sli]]\nname = \"api\"\ngood = 'status < 500'\n\
             group_by = [\"http.route\"]\n[sli.objective]\ntarget = 0.9\nwindow = \"1h\"\n",
        )
        .expect("a grouped configuration");
        let status = Status::new(&config);
        let t0 = 1_767_225_600 * 1_000_000_000i64;
        let mut text = String::new();
        for (route, bad) in [("/a", 3u64), ("/b", 40)] {
            for m in 0..5i64 {
                let start = crate::time::format_rfc3339(t0 + m * 60_000_000_000);
                let end = crate::time::format_rfc3339(t0 + (m + 1) * 60_000_000_000);
                text.push_str(&format!(
                    "{{\"kind\":\"window\",\"sli\":\"api\",\"group\":{{\"http.route\":\"{route}\"}},\"window_start\":\"{start}\",\"window_end\":\"{end}\",\"total\":100,\"good\":{},\"bad\":{bad},\"invalid\":0,\"compliance\":null,\"target\":0.9}}\n",
                    100 - bad
                ));
            }
        }
        status.hold(records(&text));
        let (code, _, body) = status.respond("/api/slo", "").expect("a page");
        assert_eq!(code, 200);
        let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let slos = doc["slos"].as_array().expect("slos");
        let by_name = |name: &str| {
            slos.iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("no SLO {name} in {body}"))
        };
        assert_eq!(slos.len(), 2, "{body}");
        // Its numbers are the report's (`tests/groups.rs` compares them with
        // SLIs written out per route); here, each series has its own period.
        for name in ["api {http.route=/a}", "api {http.route=/b}"] {
            assert!(
                by_name(name)["period"]["covered_ratio"].as_f64() > Some(0.0),
                "{body}"
            );
        }
    }

    /// A window record of `sli` at `start_ns` with `bad` bad events of 100.
    fn window_line(sli: &str, start_ns: i64, bad: u64) -> String {
        let start = crate::time::format_rfc3339(start_ns);
        let end = crate::time::format_rfc3339(start_ns + 120_000_000_000);
        format!(
            "{{\"kind\":\"window\",\"sli\":\"{sli}\",\"window_start\":\"{start}\",\"window_end\":\"{end}\",\"total\":100,\"good\":{},\"bad\":{bad},\"invalid\":0,\"compliance\":null,\"target\":null}}",
            100 - bad
        )
    }

    #[test]
    fn a_day_back_from_the_newest_window_is_held_and_older_records_let_go() {
        let status = Status::new(&config());
        let t0 = 1_767_225_600 * 1_000_000_000; // 2026-01-01
                                                // One window an hour for 31 hours, the oldest first, then one that
                                                // arrives late for an hour long gone.
        let mut text = String::new();
        for h in 0..=30 {
            text.push_str(&window_line("checkout-availability", t0 + h * HOUR_NS, 1));
            text.push('\n');
        }
        status.hold(records(&text));
        status.hold(records(&window_line(
            "checkout-availability",
            t0 + HOUR_NS,
            5,
        )));
        let held = status.records();
        let starts: Vec<i64> = held
            .windows
            .iter()
            .map(|w| (w.start_ns - t0) / HOUR_NS)
            .collect();
        assert_eq!(
            starts,
            (6..=30).collect::<Vec<i64>>(),
            "hours 6 to 30 of 0 to 30"
        );
        assert_eq!(held.windows.iter().map(|w| w.bad).sum::<u64>(), 25);
    }

    #[test]
    fn the_page_follows_new_records_and_speaks_the_asked_language() {
        let status = Status::new(&config());
        let (code, kind, empty) = status.respond("/", "").expect("the page");
        assert_eq!((code, kind), (200, "text/html; charset=utf-8"));
        assert!(empty.contains("No window has been written yet"));
        assert!(status.respond("/metricz", "").is_none());
        status.hold(records(RECORDS));
        let (_, _, page) = status.respond("/", "").expect("the page");
        assert!(!page.contains("No window has been written yet"), "{page}");
        assert!(page.contains("<h2>checkout-availability</h2>"));
        assert!(page.contains("<svg"));
        // A glossary of the terms the page uses, for every role.
        let glossary = &page[page.find("class=\"glossary\"").expect("a glossary")..];
        for term in ["error budget", "burn rate"] {
            assert!(glossary.contains(&format!("<dt>{term}</dt>")), "{glossary}");
        }
        let (_, _, ja) = status.respond("/", "lang=ja").expect("the page");
        assert!(ja.contains("<html lang=\"ja\">"));
        assert!(ja.contains("残りのエラーバジェット"));
        assert!(!ja.contains("Budget left"));
    }

    #[test]
    fn spans_are_said_in_the_largest_whole_unit() {
        let s = 1_000_000_000;
        assert_eq!(span_words(50 * s, Lang::En), "50 seconds");
        assert_eq!(span_words(119 * s, Lang::En), "119 seconds");
        assert_eq!(span_words(30 * 60 * s, Lang::En), "30 minutes");
        assert_eq!(span_words(24 * 3_600 * s, Lang::Ja), "24時間");
    }
}
