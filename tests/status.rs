//! The live status page of `slipstream run`: `/api/slo` is what
//! `slipstream report --format json` says over the records the job wrote,
//! its counts are those of the events produced, and `/` opens in headless
//! Chromium with every SLO, its budget, its firing alerts and its charts,
//! in English and in Japanese.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{self, text_outside_charts, OFFLINE};
use common::kafka::*;
use common::{expected, p, sep, sli_totals, slipstream};
use serde_json::Value;

/// 2026-03-02T00:00:00Z: two hours of events from here.
const START_NS: i64 = 1_772_409_600 * 1_000_000_000;
const MIN_NS: i64 = 60 * 1_000_000_000;

/// Headless Chromium on `url`, offline but for loopback: the DOM after
/// load, and a screenshot written to `shot`.
fn open_in_chromium(dir: &Path, url: &str, shot: &Path) -> String {
    // The shared switches, but loopback reachable: no proxy, and no name
    // resolves but 127.0.0.1.
    let switches: Vec<&str> = OFFLINE
        .iter()
        .copied()
        .filter(|s| !s.starts_with("--proxy-server") && !s.starts_with("--host-resolver-rules"))
        .chain([
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--window-size=1024,3000",
        ])
        .collect();
    let run = |what: String, profile: &str| {
        let profile = format!("--user-data-dir={}", dir.join(profile).display());
        let args = switches.iter().map(|s| s.to_string());
        let out = browser::run(args.chain([profile, what, url.to_string()]));
        String::from_utf8(out.stdout).expect("utf-8 DOM")
    };
    run(format!("--screenshot={}", shot.display()), "profile-shot");
    let png = std::fs::read(shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot of {url}: {} bytes",
        png.len()
    );
    run("--dump-dom".into(), "profile-dom")
}

#[test]
fn the_status_page_answers_as_the_report_does_and_opens_in_chromium() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let cfg = s.config(&broker.bootstrap, "status-group", &[], "", "");
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);

    // Before any record: the page says so, and the JSON has every SLO with
    // an objective but no numbers yet.
    let (status, body) = wait_until("the status page", Duration::from_secs(60), || {
        job.assert_running();
        http_get(s.port, "/")
    });
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("No window has been written yet"), "{body}");
    let (status, body) = http_get(s.port, "/no-such-page").unwrap();
    assert_eq!(status, 404);
    assert!(body.contains("/api/slo"), "a 404 names the pages: {body}");

    // Two hours of events, checkout failing about one request in ten
    // against a 99.9% objective: its alerts fire.
    let msgs = events(18, 24_000, START_NS, 120 * MIN_NS, &[0, 1, 2, 3]);
    let mut producer = TestProducer::new(&broker.bootstrap, "in");
    producer.send_all(&msgs);
    producer.send_all(&pushers(START_NS + 125 * MIN_NS, &[0, 1, 2, 3]));
    producer.flush();

    // Every window of the events written, then nothing new for a while:
    // the job holds what the file holds.
    let exp = expected(&oracle_events(&msgs), None, None);
    wait_for_keys(
        &s.records(),
        &expected_keys(&exp),
        &mut job,
        Duration::from_secs(120),
    );
    let mut last = (String::new(), Instant::now());
    let records = wait_until("the records to settle", Duration::from_secs(60), || {
        let text = std::fs::read_to_string(s.records()).ok()?;
        if text != last.0 {
            last = (text, Instant::now());
            return None;
        }
        (last.1.elapsed() > Duration::from_secs(5)).then(|| last.0.clone())
    });

    // /api/slo equals the report over the same records.
    let (status, api) = http_get(s.port, "/api/slo").unwrap();
    assert_eq!(status, 200, "{api}");
    let records_path = s.path("records.jsonl");
    let report = slipstream(
        &[
            "report",
            "-c",
            &p(&cfg),
            "--records",
            &p(&records_path),
            "--format",
            "json",
        ],
        None,
        None,
    );
    report.assert_code(0, "report --format json");
    assert_eq!(
        api.trim_end(),
        String::from_utf8_lossy(&report.stdout).trim_end(),
        "/api/slo and report --format json over the same records"
    );

    // Its counts are the events': checkout's 28-day objective covers all.
    let doc: Value = serde_json::from_str(&api).expect("JSON");
    let slos = doc["slos"].as_array().expect("slos");
    assert_eq!(slos.len(), 1, "one SLI has an objective: {api}");
    let checkout = &slos[0];
    assert_eq!(checkout["name"], "checkout-availability");
    let totals = sli_totals(&exp)[0];
    assert_eq!(checkout["good"].as_u64(), Some(totals[2]), "good events");
    assert_eq!(checkout["bad"].as_u64(), Some(totals[3]), "bad events");
    assert_eq!(checkout["met"], Value::Bool(false));
    // The held period's latency: every checkout event with a latency, and
    // percentiles within 1% of the exact nearest-rank values.
    let mut lat: Vec<f64> = exp
        .iter()
        .filter(|e| e.sli == 0)
        .flat_map(|e| e.lat.iter().copied())
        .collect();
    lat.sort_by(f64::total_cmp);
    let latency = &checkout["latency"];
    assert_eq!(
        latency["count"].as_u64(),
        Some(lat.len() as u64),
        "{latency}"
    );
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        let rank = ((q * lat.len() as f64).ceil() as usize).max(1);
        let exact = lat[rank - 1];
        let got = latency["percentiles_ms"][key].as_f64().unwrap();
        assert!(
            (got - exact).abs() <= 0.01 * exact,
            "{key}: {got} ms against exactly {exact} ms"
        );
    }

    // The last alert record of each severity: which are firing.
    let mut latest = std::collections::BTreeMap::new();
    for line in records.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["kind"] == "alert" {
            latest.insert(r["severity"].as_str().unwrap().to_string(), r);
        }
    }
    let firing: Vec<&String> = latest
        .iter()
        .filter(|(_, r)| r["state"] == "firing")
        .map(|(s, _)| s)
        .collect();
    assert!(
        !firing.is_empty(),
        "checkout's errors fire an alert: {latest:?}"
    );

    // The page in a real browser.
    let url = format!("http://127.0.0.1:{}/", s.port);
    let dom = open_in_chromium(s.dir.path(), &url, &s.path("status.png"));
    let text = text_outside_charts(&dom);
    assert!(text.contains("checkout-availability"), "{text}");
    for severity in &firing {
        assert!(
            text.contains(&format!("{severity} firing since")),
            "the firing {severity} alert is on the page:\n{text}"
        );
    }
    let over = -checkout["budget"]["left_events"].as_f64().unwrap();
    assert!(over > 100.0);
    assert!(
        text.contains(&format!(
            "The error budget is spent: {} bad events more",
            sep(&format!("{over:.0}"))
        )),
        "the budget overspent by {over}:\n{text}"
    );
    assert_eq!(dom.matches("<svg").count(), 2, "two charts for one SLO");
    assert!(
        dom.matches("<polyline").count() >= 2,
        "the charts draw lines"
    );
    assert!(
        dom.contains("http-equiv=\"refresh\""),
        "the page reloads itself"
    );

    // In Japanese.
    let ja = open_in_chromium(
        s.dir.path(),
        &format!("{url}?lang=ja"),
        &s.path("status-ja.png"),
    );
    assert!(ja.contains("lang=\"ja\""));
    assert!(ja.contains("残りのエラーバジェット"), "{ja}");
    assert!(ja.contains("発報中"), "{ja}");
    assert!(!ja.contains("Budget left"), "{ja}");

    assert_clean_exit(&mut job, "the status page's job");
}
