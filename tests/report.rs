//! `slipstream report` end to end: the same report from the records file,
//! the PostgreSQL store and the archived logs; its numbers against the
//! records they come from (recomputed here); English and Japanese with the
//! same numbers; and the HTML opened in a real headless Chromium. The page
//! as its readers see it (charts, glyphs, the JSON's numbers, time zones,
//! the glossary) is checked in `report/page.rs`.
//!
//! Why one long file: every file under `tests/` is a test binary of its own,
//! linked against the whole crate and its dependencies, so the tests of one
//! command share one binary and the test build stays a few links.

mod common;
#[path = "report/page.rs"]
mod page;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::browser::{chromium, OFFLINE};
use common::pg;
use common::*;
use serde_json::Value;

struct Setup {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    input: PathBuf,
    url: String,
    records: Vec<Value>,
}

/// Three hours of generated traffic with two checkout incidents,
/// backfilled into a file sink and a postgres sink.
fn setup(db: &str) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = pg::fresh_db(db);
    let cfg = pg::write_config(dir.path(), &url);
    let input = generate(
        &dir.path().join("in.jsonl"),
        &[
            "--count",
            "540000",
            "--rate",
            "50",
            "--seed",
            "23",
            "--start",
            "2026-01-01T22:00:00Z",
            "--incident",
            "kind=errors,start=20m,duration=5m,rate=0.5,service=checkout",
            "--incident",
            "kind=errors,start=150m,duration=40m,rate=0.3,service=checkout",
        ],
    );
    let r = slipstream(
        &["backfill", "-c", &p(&cfg), &p(&input)],
        Some(dir.path()),
        None,
    );
    r.assert_code(0, "backfill");
    let records = records(&fs::read(dir.path().join("records.jsonl")).expect("file sink"));
    Setup {
        dir,
        cfg,
        input,
        url,
        records,
    }
}

fn report(s: &Setup, source: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["report", "-c"];
    let cfg = p(&s.cfg);
    args.push(&cfg);
    args.extend_from_slice(source);
    args.extend_from_slice(extra);
    let r = slipstream(&args, Some(s.dir.path()), None);
    r.assert_code(0, &format!("report {source:?} {extra:?}"));
    String::from_utf8(r.stdout).expect("UTF-8 report")
}

#[test]
fn the_same_report_from_every_source_with_the_records_numbers() {
    let s = setup("report_sources");
    let records_path = p(&s.dir.path().join("records.jsonl"));
    let input = p(&s.input);
    for extra in [
        vec!["--format", "md"],
        vec!["--format", "html", "--lang", "ja"],
        vec![
            "--from",
            "2026-01-01T23:00:00Z",
            "--to",
            "2026-01-02T00:30:00Z",
        ],
    ] {
        let from_file = report(&s, &["--records", &records_path], &extra);
        let from_pg = report(&s, &["--postgres", &s.url], &extra);
        let from_logs = report(&s, &["--logs", &input], &extra);
        assert_eq!(from_file, from_pg, "records file and PostgreSQL, {extra:?}");
        assert_eq!(
            from_file, from_logs,
            "records file and archived logs, {extra:?}"
        );
    }

    let md = report(&s, &["--records", &records_path], &[]);
    // Only checkout-availability has an objective (99.9% over 28d).
    let section = md
        .split("\n## ")
        .find(|p| p.starts_with("checkout-availability"))
        .expect("a section for the SLI with an objective");
    assert!(
        !md.contains("\n## search-latency"),
        "no section without an objective"
    );

    // The headline and the budget: the last slo record of the period.
    let last = s
        .records
        .iter()
        .filter(|r| r["kind"] == "slo")
        .max_by_key(|r| rfc3339_ns(r["at"].as_str().unwrap()))
        .expect("slo records");
    let compliance = last["compliance"].as_f64().expect("compliance");
    let remaining = last["budget"]["remaining"].as_f64().expect("remaining");
    assert!(remaining < 0.0, "the second incident overspends the budget");
    assert!(
        section.contains(&format!("> checkout-availability missed its goal: {:.2}% of requests were good against a 99.9% target", compliance * 100.0)),
        "{section}"
    );
    let ratio = last["budget"]["remaining_ratio"].as_f64().expect("ratio");
    assert!(
        section.contains(&format!(
            "| Left, as a share of the budget | {}% |",
            sep(&format!("{:.1}", ratio * 100.0))
        )),
        "{section}"
    );
    let events = if remaining.abs() >= 100.0 {
        sep(&format!("{remaining:.0}"))
    } else {
        format!("{remaining:.1}")
    };
    assert!(
        section.contains(&format!("| Left, as bad events | {events} |")),
        "{section}"
    );

    // Compliance per day: sums of the window records by UTC day.
    let mut days: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in s
        .records
        .iter()
        .filter(|r| r["kind"] == "window" && r["sli"] == "checkout-availability")
    {
        let d = days
            .entry(r["window_start"].as_str().unwrap()[..10].to_string())
            .or_default();
        d.0 += r["good"].as_u64().unwrap();
        d.1 += r["bad"].as_u64().unwrap();
    }
    assert_eq!(days.len(), 2, "the input crosses midnight");
    for (day, (g, b)) in &days {
        let row = format!(
            "| {day} | {} | {} | {:.2}% | 99.9% |",
            sep(&g.to_string()),
            sep(&b.to_string()),
            *g as f64 / (g + b) as f64 * 100.0
        );
        assert!(section.contains(&row), "missing `{row}` in\n{section}");
    }

    // One incident row per group of alerts that overlap or touch.
    let fired = s
        .records
        .iter()
        .filter(|r| r["kind"] == "alert" && r["state"] == "firing")
        .count();
    let incidents = merged_alert_spans(&s.records);
    let rows = section
        .lines()
        .filter(|l| l.starts_with("| page |") || l.starts_with("| ticket |"))
        .count();
    assert!(fired >= 2, "both incidents alert");
    // The second incident starts while the ticket after the first still
    // fires: the alerts make one incident of them.
    assert!(
        !incidents.is_empty() && incidents.len() < fired,
        "{incidents:?}"
    );
    assert_eq!(rows, incidents.len(), "{section}");
    // The checkout incidents name the routes and regions behind them.
    assert!(section.contains("http.route: /api/checkout"), "{section}");
    assert!(section.contains("; region: "), "{section}");

    // Latency over the whole period: the windows' histograms merged.
    assert_period_latency(section, "Latency over the period (", &s.input);
}

/// The line starting with `prefix` gives the count of the checkout SLI's
/// latencies and its percentiles within 1% of the exact nearest-rank
/// values of the input's events.
fn assert_period_latency(text: &str, prefix: &str, input: &Path) {
    let sli = &slis()[0];
    let parsed = parse_input(&fs::read(input).expect("input"), MAX_DEFAULT);
    let lat = sli_latencies(&parsed, sli);
    let line = text
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in\n{text}"));
    let count: String = lat.len().to_string();
    let with_commas = count
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).expect("digits"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(line.contains(&format!("({with_commas} requests")), "{line}");
    for &(key, n, d) in sli.percentiles {
        let exact = nearest_rank(&lat, n, d);
        let got: f64 = line
            .split(&format!("{key} "))
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            // From 1,000 ms up with a thousands separator.
            .and_then(|v| v.replace(',', "").parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {line}"));
        // Shown with one decimal, or none from 100 ms up.
        let shown = if exact >= 100.0 { 0.5 } else { 0.05 };
        assert!(
            (got - exact).abs() <= 0.01 * exact + shown,
            "{key}: {got} ms over the period, exact {exact} ms: {line}"
        );
    }
}

/// The digits of a text, in order: numbers without the words around them.
fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || (c == '.' && !cur.is_empty()) {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur).trim_end_matches('.').to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn japanese_carries_the_same_numbers() {
    let s = setup("report_lang");
    let records_path = p(&s.dir.path().join("records.jsonl"));
    let en = report(&s, &["--records", &records_path], &["--lang", "en"]);
    let ja = report(&s, &["--records", &records_path], &["--lang", "ja"]);
    // The glossary explains in words; the numbers are in the SLO sections.
    let body = |t: &str, glossary: &str| t.split(glossary).next().unwrap().to_string();
    let (en_body, ja_body) = (body(&en, "## Glossary"), body(&ja, "## 用語集"));
    assert_eq!(numbers(&en_body), numbers(&ja_body));
    assert!(numbers(&en_body).len() > 20);
    for phrase in [
        "missed its goal",
        "error budget",
        "Compliance per day",
        "Incidents",
        "Glossary",
    ] {
        assert!(
            !ja.contains(phrase),
            "untranslated `{phrase}` in the Japanese report"
        );
    }
    assert!(ja.contains("目標を達成できませんでした"));
}

#[test]
fn the_html_report_renders_in_chromium_offline() {
    let s = setup("report_html");
    let html_path = s.dir.path().join("report.html");
    let records_path = p(&s.dir.path().join("records.jsonl"));
    let r = slipstream(
        &[
            "report",
            "-c",
            &p(&s.cfg),
            "--records",
            &records_path,
            "--format",
            "html",
            "--out",
            &p(&html_path),
        ],
        None,
        None,
    );
    r.assert_code(0, "report --format html");
    let html = fs::read_to_string(&html_path).expect("report.html");
    assert!(!html.contains("<script"), "no script");
    for attr in ["src=", "href=", "url("] {
        assert!(
            !html.contains(attr),
            "nothing to fetch, yet `{attr}` is in the HTML"
        );
    }
    let charts = html.matches("<svg").count();
    assert_eq!(charts, 3, "three charts for the one SLI with an objective");
    assert!(
        html.matches("<polyline").count() >= 4,
        "every chart draws its lines"
    );

    let shot = s.dir.path().join("report.png");
    let netlog = s.dir.path().join("net.json");
    let profile = s.dir.path().join("profile");
    let out = Command::new(chromium())
        // The browser's own background traffic (updates, time, sync) off,
        // and no name resolves: nothing can leave the machine.
        .args(OFFLINE)
        .arg("--window-size=1024,4000")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html_path.display()))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let png = fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot"
    );
    for line in stderr.lines() {
        assert!(
            !(line.contains("CONSOLE") || line.contains("Uncaught")),
            "a console message: {line}"
        );
    }
    // The page asked for nothing: every network request in the log is the
    // browser's own (initiator "not an origin"; blocked here by the resolver
    // and proxy rules), none has the page as its initiator.
    let log: Value =
        serde_json::from_str(&fs::read_to_string(&netlog).expect("net log")).expect("net log JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_i64()
        .expect("URL_REQUEST_START_JOB");
    let from_page: Vec<&Value> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"].as_i64() == Some(start_job) && e["params"]["url"].is_string())
        .filter(|e| e["params"]["initiator"] != "not an origin")
        .collect();
    assert!(
        from_page.is_empty(),
        "requests made by the report: {from_page:?}"
    );
}

/// The summary line of each option of a what-if: (pages, tickets, end).
fn what_if_summaries(out: &str) -> Vec<(u64, u64, String)> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("periods met "))
        .map(|l| {
            let field = |name: &str| -> u64 {
                l.split(" · ")
                    .find_map(|p| p.strip_prefix(name))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or_else(|| panic!("no `{name}` in {l}"))
            };
            let end = l
                .split("at the end: ")
                .nth(1)
                .expect("at the end")
                .to_string();
            (field("pages "), field("tickets "), end)
        })
        .collect()
}

/// What a backfill with `config_text` gives: (pages, tickets, end) as
/// what-if words it, from the records.
fn backfilled(
    dir: &Path,
    name: &str,
    config_text: &str,
    input: &Path,
    sli: &str,
) -> (u64, u64, String) {
    let cfg = dir.join(format!("{name}.toml"));
    fs::write(&cfg, config_text).expect("write config");
    let (run, out) = backfill(
        &cfg,
        &dir.join(format!("{name}.jsonl")),
        &[],
        &[&p(input)],
        None,
    );
    run.assert_code(0, "backfill");
    let recs = records(&out);
    let fired = |sev: &str| {
        recs.iter()
            .filter(|r| {
                r["kind"] == "alert"
                    && r["sli"] == sli
                    && r["severity"] == sev
                    && r["state"] == "firing"
            })
            .count() as u64
    };
    let last = recs
        .iter()
        .rfind(|r| r["kind"] == "slo" && r["sli"] == sli)
        .expect("slo records");
    let end = format!(
        "compliance {:.3}%, budget left {:.1}%",
        last["compliance"].as_f64().expect("compliance") * 100.0,
        last["budget"]["remaining_ratio"].as_f64().expect("ratio") * 100.0
    );
    (fired("page"), fired("ticket"), end)
}

#[test]
fn what_if_equals_a_backfill_with_the_changed_objective() {
    let s = setup("report_whatif");
    let records_path = p(&s.dir.path().join("records.jsonl"));
    let out = slipstream(
        &[
            "what-if",
            "-c",
            &p(&s.cfg),
            "--records",
            &records_path,
            "--sli",
            "checkout-availability",
            "--target",
            "0.99,0.9995",
        ],
        None,
        None,
    );
    out.assert_code(0, "what-if --target");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_period_latency(&text, "latency over the history (", &s.input);
    let got = what_if_summaries(&text);
    assert_eq!(got.len(), 3, "the current objective and two targets");
    let base = config_text(None);
    assert!(base.contains("target = 0.999\n"));
    for (i, target) in [(0, "0.999"), (1, "0.99"), (2, "0.9995")] {
        let want = backfilled(
            s.dir.path(),
            &format!("target-{target}"),
            &base.replace("target = 0.999\n", &format!("target = {target}\n")),
            &s.input,
            "checkout-availability",
        );
        assert_eq!(got[i], want, "target {target}");
    }
    assert_ne!(got[1], got[2], "the targets make a difference");

    // A latency threshold, replayed from the logs.
    let with_objective = base.replace(
        "good = 'latency <= 100ms'\n",
        "good = 'latency <= 100ms'\n[sli.objective]\ntarget = 0.99\nwindow = \"7d\"\n",
    );
    assert_ne!(with_objective, base);
    let cfg = s.dir.path().join("latency.toml");
    fs::write(&cfg, &with_objective).expect("write");
    let out = slipstream(
        &[
            "what-if",
            "-c",
            &p(&cfg),
            "--logs",
            &p(&s.input),
            "--sli",
            "search-latency",
            "--threshold",
            "150ms",
        ],
        None,
        None,
    );
    out.assert_code(0, "what-if --threshold");
    let got = what_if_summaries(&String::from_utf8_lossy(&out.stdout));
    let want = backfilled(
        s.dir.path(),
        "threshold",
        &with_objective.replace("latency <= 100ms", "latency <= 150ms"),
        &s.input,
        "search-latency",
    );
    assert_eq!(got[1], want, "threshold 150ms");
    assert_ne!(got[0], got[1], "the threshold makes a difference");

    // Without the raw events a threshold cannot be replayed.
    let refused = slipstream(
        &[
            "what-if",
            "-c",
            &p(&cfg),
            "--records",
            &records_path,
            "--threshold",
            "150ms",
        ],
        None,
        None,
    );
    refused.assert_code(1, "what-if --threshold from records");
    assert!(refused.stderr.contains("--logs"), "{}", refused.stderr);
}

/// Sixty days of hand-made traffic, one service per pattern, and the flags
/// `slipstream review` must raise for each — none for the healthy one.
#[test]
fn review_flags_each_crafted_history_and_nothing_healthy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base_s: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
    let minutes = 60 * 1440;
    let mut out = String::with_capacity(80 * minutes as usize * 9);
    let mut line = |t: i64, svc: &str, code: u32, ms: f64| {
        out.push_str(&format!(
            r#"{{"ts":{t},"svc":"{svc}","code":{code},"ms":{ms}}}"#
        ));
        out.push('\n');
    };
    for m in 0..minutes {
        let t = base_s + m * 60;
        let err = |every: i64| if m % every == 0 { 503 } else { 200 };
        line(t, "healthy", err(200), 40.0); // 0.5% errors: half the budget
        line(t + 1, "lazy", 200, 40.0); // never a failure
        line(t + 2, "missed", err(50), 40.0); // 2% errors against 99%
        line(t + 3, "slow", 200, if m % 5 < 3 { 80.0 } else { 30.0 }); // median 80 ms, threshold 50 ms
        if m % 60 == 0 {
            line(t + 4, "quiet", 200, 40.0); // one request an hour
        }
        line(t + 5, "blind", err(67), 40.0); // 1.5%: overspent, alert rules too lax
        line(t + 6, "noisy", 200, 40.0);
        line(t + 7, "noisy", 200, 40.0);
        if m % 720 == 360 {
            for k in 0..25 {
                line(t + 8 + k % 40, "noisy", 503, 40.0); // a short spike every 12 hours
            }
        }
        line(t + 9, "orphan", err(200), 40.0);
        line(t + 10, "stale", err(200), 40.0);
    }
    let logs = dir.path().join("history.jsonl");
    fs::write(&logs, &out).expect("write history");
    drop(out);

    let sli = |name: &str, good: &str, extra: &str| {
        format!(
            "[[sli]]\nname = \"{name}\"\nfilter = 'svc == \"{name}\"'\ngood = '{good}'\n{extra}[sli.objective]\ntarget = 0.99\nwindow = \"30d\"\n"
        )
    };
    let kept = "owner = \"team-a\"\nreviewed = \"2026-05-01\"\n";
    let mut cfg = String::from(
        "[decode.fields]\ntimestamp = \"ts\"\nstatus = \"code\"\nlatency = \"ms\"\nlatency_unit = \"ms\"\n\n",
    );
    for name in ["healthy", "lazy", "missed", "quiet", "noisy"] {
        cfg.push_str(&sli(name, "code < 500", kept));
    }
    cfg.push_str(&sli("slow", "latency <= 50ms", kept));
    cfg.push_str(&sli("blind", "code < 500", kept));
    cfg.push_str(
        "[[sli.alerts.pairs]]\nseverity = \"page\"\nlong_window = \"1h\"\nshort_window = \"5m\"\nburn_rate = 720\n",
    );
    cfg.push_str(&sli("orphan", "code < 500", ""));
    cfg.push_str(&sli(
        "stale",
        "code < 500",
        "owner = \"team-b\"\nreviewed = \"2025-12-01\"\n",
    ));
    let cfg_path = dir.path().join("review.toml");
    fs::write(&cfg_path, &cfg).expect("write config");

    let run = slipstream(
        &[
            "review",
            "-c",
            &p(&cfg_path),
            "--logs",
            &p(&logs),
            "--periods",
            "2",
            "--today",
            "2026-06-01",
        ],
        None,
        None,
    );
    run.assert_code(0, "review");
    let text = String::from_utf8(run.stdout).expect("UTF-8");
    // The flags of each SLI, from its block of the output.
    let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for l in text.lines() {
        if !l.starts_with(' ') {
            current = l.split(':').next().unwrap_or_default().to_string();
            flags.entry(current.clone()).or_default();
        } else if let Some(rest) = l.trim().strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or_default().to_string();
            flags
                .get_mut(&current)
                .expect("an SLI line first")
                .push(name);
        }
    }
    assert_eq!(flags["healthy"], Vec::<String>::new(), "{text}");
    assert!(
        text.contains("healthy: healthy — nothing to flag."),
        "{text}"
    );
    for (name, flag) in [
        ("lazy", "never-at-risk"),
        ("missed", "repeatedly-missed"),
        ("slow", "threshold-below-typical"),
        ("quiet", "low-traffic"),
        ("noisy", "noisy-alerts"),
        ("blind", "blind-spot"),
        ("orphan", "no-owner"),
        ("orphan", "never-reviewed"),
        ("stale", "stale-review"),
    ] {
        assert!(
            flags[name].iter().any(|f| f == flag),
            "{name} must be flagged {flag}:\n{text}"
        );
    }
    // A suggested target is one `what-if` accepts: below 1, even when the
    // SLI never failed.
    let suggested: Vec<f64> = text
        .split("what-if --target ")
        .skip(1)
        .map(|rest| {
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            number.parse().expect("a number after --target")
        })
        .collect();
    assert!(!suggested.is_empty(), "{text}");
    assert!(
        suggested.iter().all(|t| *t > 0.0 && *t < 1.0),
        "{suggested:?}\n{text}"
    );
    // A missed target comes with both ways out and what each costs.
    assert!(
        text.contains("lower the target to") && text.contains("cuts bad events by"),
        "{text}"
    );
    // Each flag says why and what to do.
    for l in text.lines().filter(|l| l.trim().starts_with('[')) {
        assert!(l.len() > 30, "evidence: {l}");
    }
    assert_eq!(
        text.matches("next: ").count(),
        text.matches("\n  [").count()
    );
}

/// Three days of an API whose slow requests (the bad ones) are 0.3%, 0.2%
/// and 0.25% of each day: the highest target that leaves a quarter of the
/// budget every day is 99.5% (0.3% of 0.5%), not 99.9%; the threshold is the
/// latency 99.5% of the requests stayed under, plus 20%, rounded up.
#[test]
fn suggest_proposes_what_history_supports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base_s: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
    let mut out = String::new();
    let mut latencies = Vec::new();
    let mut rng = Rng::new(5);
    for (day, slow_per_mille) in [3u64, 2, 25].iter().enumerate() {
        // 25 means 2.5 per mille, on a 10,000 scale below.
        let per_10k = if *slow_per_mille == 25 {
            25
        } else {
            slow_per_mille * 10
        };
        for i in 0..8640i64 {
            let t = base_s + day as i64 * 86_400 + i * 10;
            let slow = (i as u64 * 10_000 / 8640) % 10_000 < per_10k;
            let ms = if slow {
                2000.0
            } else {
                20.0 + rng.below(2200) as f64 / 10.0
            };
            latencies.push(ms);
            out.push_str(&format!("{{\"ts\":{t},\"ms\":{ms}}}\n"));
        }
    }
    let logs = dir.path().join("api.jsonl");
    fs::write(&logs, &out).expect("write");
    let cfg = dir.path().join("api.toml");
    fs::write(
        &cfg,
        "[decode.fields]\ntimestamp = \"ts\"\nlatency = \"ms\"\nlatency_unit = \"ms\"\n\n[[sli]]\nname = \"api\"\ngood = 'latency <= 1s'\n[sli.objective]\ntarget = 0.999\nwindow = \"1d\"\n",
    )
    .expect("write config");
    let run = slipstream(
        &["suggest", "-c", &p(&cfg), "--logs", &p(&logs)],
        None,
        None,
    );
    run.assert_code(0, "suggest");
    let text = String::from_utf8(run.stdout).expect("UTF-8");

    // Per day, the share of slow requests, from what was written.
    let days: Vec<f64> = latencies
        .chunks(8640)
        .map(|d| d.iter().filter(|&&l| l > 1000.0).count() as f64 / d.len() as f64)
        .collect();
    let worst = days.iter().copied().fold(0.0, f64::max);
    assert!((worst - 0.003).abs() < 0.0005, "{days:?}");
    let target = [0.99999, 0.9999, 0.9995, 0.999, 0.995, 0.99, 0.95, 0.9]
        .into_iter()
        .find(|t| worst <= 0.75 * (1.0 - t))
        .expect("a target");
    assert_eq!(target, 0.995);
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let at_target = nearest_rank(&sorted, 995, 1000);
    let threshold = [50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0]
        .into_iter()
        .find(|&n| n >= at_target * 1.2)
        .expect("a threshold");
    assert!(
        text.starts_with(&format!(
            "api: suggested target 99.5%, latency threshold {threshold}ms\n"
        )),
        "{text}"
    );
    let got = format!("{:.3}", (1.0 - worst) * 100.0);
    let got = got.trim_end_matches('0').trim_end_matches('.');
    assert!(
        text.contains(&format!(
            "users got {got}% good in the worst of 3 period(s)"
        )),
        "{text}"
    );
    assert!(
        text.contains("99.9% would have been missed in 3 of 3 period(s)"),
        "{text}"
    );
    assert!(text.contains("would have paged"), "{text}");
}

/// The SLI names of a configuration, read from its text line by line.
fn sli_names(config: &str) -> Vec<String> {
    config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_source_that_does_not_match_the_configuration_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = config_text(None);
    let names = sli_names(&text);
    assert!(names.len() >= 2, "{names:?}");
    let cfg = dir.path().join("a.toml");
    fs::write(&cfg, &text).expect("write config");
    let input = generate(
        &dir.path().join("in.jsonl"),
        &["--count", "20000", "--rate", "200", "--seed", "5"],
    );
    let out = dir.path().join("records.jsonl");
    slipstream(
        &["backfill", "-c", &p(&cfg), "--output", &p(&out), &p(&input)],
        Some(dir.path()),
        None,
    )
    .assert_code(0, "backfill");
    let report_of = |cfg: &Path, records: &Path| {
        slipstream(
            &["report", "-c", &p(cfg), "--records", &p(records)],
            Some(dir.path()),
            None,
        )
    };

    // The same SLIs under other names: the records are of another configuration.
    let other = dir.path().join("b.toml");
    fs::write(&other, text.replace("name = \"", "name = \"renamed-")).expect("write config");
    let r = report_of(&other, &out);
    r.assert_code(1, "report with another configuration");
    for n in &names {
        assert!(r.stderr.contains(&format!("`{n}`")), "{n}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("`renamed-{n}`")),
            "{n}: {}",
            r.stderr
        );
    }

    // Records of only an SLI without an objective: each SLI with one is named.
    let with_objective: Vec<&String> = text
        .split("[[sli]]")
        .skip(1)
        .filter(|block| block.contains("[sli.objective]"))
        .flat_map(|block| {
            names
                .iter()
                .filter(move |n| block.contains(&format!("\"{n}\"")))
        })
        .collect();
    assert!(!with_objective.is_empty(), "{text}");
    let first = names
        .iter()
        .find(|n| !with_objective.contains(n))
        .expect("an SLI without an objective")
        .as_str();
    let only_first: String = String::from_utf8(fs::read(&out).expect("records"))
        .expect("UTF-8")
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).expect("record");
            v["sli"] == first
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let partial = dir.path().join("partial.jsonl");
    fs::write(&partial, only_first).expect("write records");
    let r = report_of(&cfg, &partial);
    r.assert_code(0, "report of some SLIs");
    for n in &names {
        let warned = r.stderr.contains(&format!("no records of the SLI `{n}`"));
        let expected = with_objective.contains(&n);
        assert_eq!(warned, expected, "{n}: {}", r.stderr);
    }

    // An empty source: the report is written, with a warning that says why
    // it shows no traffic.
    let empty = dir.path().join("empty.jsonl");
    fs::write(&empty, "").expect("write records");
    let r = report_of(&cfg, &empty);
    r.assert_code(0, "report of nothing");
    assert!(
        r.stderr.contains("no window, slo or alert records"),
        "{}",
        r.stderr
    );
}
