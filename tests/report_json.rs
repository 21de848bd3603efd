//! `slipstream report --format json`: the five answers as data, checked on
//! a generated history (`common/history.rs`) — two days of an API with a short page (20
//! minutes at 10% errors) and a long slow burn (24 hours at 0.4%) — against
//! the records a backfill writes and against backfills with the target
//! changed. The Markdown in both languages words the same answers.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::history::*;
use common::*;
use serde_json::Value;

struct Setup {
    dir: tempfile::TempDir,
    logs: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("api.jsonl");
        fs::write(&logs, history()).expect("write history");
        Setup { dir, logs }
    }

    /// Backfills with `target`: the config's path and the records.
    fn backfill(&self, target: &str) -> (PathBuf, PathBuf, Vec<Value>) {
        let cfg = self.dir.path().join(format!("api-{target}.toml"));
        fs::write(&cfg, config(target, "30d", "")).expect("write config");
        let out = self.dir.path().join(format!("records-{target}.jsonl"));
        let (run, bytes) = backfill(&cfg, &out, &[], &[&p(&self.logs)], None);
        run.assert_code(0, "backfill");
        (cfg, out, records(&bytes))
    }
}

fn report(cfg: &Path, records: &Path, extra: &[&str]) -> String {
    let mut args = vec!["report", "-c"];
    let (c, r) = (p(cfg), p(records));
    args.extend([c.as_str(), "--records", r.as_str()]);
    args.extend_from_slice(extra);
    let run = slipstream(&args, None, None);
    run.assert_code(0, &format!("report {extra:?}"));
    String::from_utf8(run.stdout).expect("UTF-8")
}

fn json(cfg: &Path, records: &Path) -> Value {
    let text = report(cfg, records, &["--format", "json"]);
    let doc: Value = serde_json::from_str(&text).expect("report --format json is JSON");
    assert_eq!(doc["version"], 1, "{text}");
    let slos = doc["slos"].as_array().expect("slos");
    assert_eq!(slos.len(), 1, "{text}");
    slos[0].clone()
}

fn last_slo(recs: &[Value]) -> &Value {
    recs.iter()
        .rfind(|r| r["kind"] == "slo")
        .expect("slo records")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn time(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    assert!(s.ends_with('Z'), "RFC 3339 UTC: {s}");
    rfc3339_ns(s).unwrap_or_else(|| panic!("not RFC 3339: {s}"))
}

fn fired(recs: &[Value], severity: &str) -> u64 {
    recs.iter()
        .filter(|r| r["kind"] == "alert" && r["severity"] == severity && r["state"] == "firing")
        .count() as u64
}

#[test]
fn the_json_answers_the_five_questions_from_the_records() {
    let s = Setup::new();
    let (cfg, out, recs) = s.backfill("0.999");
    let a = json(&cfg, &out);
    let windows: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "window").collect();
    let bad_in_all: u64 = windows
        .iter()
        .map(|w| w["bad"].as_u64().expect("bad"))
        .sum();
    let last = last_slo(&recs);

    // 1. Met, from the objective's state at the end, and the coverage.
    assert_eq!(a["name"], "api");
    assert_eq!(a["objective"]["target"], 0.999);
    assert_eq!(a["objective"]["window"], "30d");
    assert_eq!(a["good"], last["good"]);
    assert_eq!(a["bad"], last["bad"]);
    assert_eq!(a["compliance"], last["compliance"]);
    assert_eq!(a["met"], false, "{a}");
    let first_start = windows
        .iter()
        .map(|w| time(&w["window_start"]))
        .min()
        .expect("windows");
    let last_end = windows
        .iter()
        .map(|w| time(&w["window_end"]))
        .max()
        .expect("windows");
    assert_eq!(time(&a["period"]["from"]), first_start);
    assert_eq!(time(&a["period"]["to"]), last_end);
    let covered = (last_end - first_start) as f64 / (30.0 * 86_400e9);
    assert!(
        (f(&a["period"]["covered_ratio"]) - covered).abs() < 1e-12,
        "{a}"
    );
    assert!((covered - 2.0 / 30.0).abs() < 1e-3);

    // 2. The budget: overspent, so no minute of outage is left.
    let left_ratio = f(&last["budget"]["remaining_ratio"]);
    assert!(left_ratio < 0.0, "the history overspends 99.9%");
    assert!((f(&a["budget"]["left_ratio"]) - left_ratio).abs() < 1e-12);
    assert!((f(&a["budget"]["left_events"]) - f(&last["budget"]["remaining"])).abs() < 1e-9);
    assert!(a["budget"]["left_outage_minutes"].is_number(), "{a}");
    assert_eq!(f(&a["budget"]["left_outage_minutes"]), 0.0);

    // 3. The incidents: the page (with the ticket that follows it) and the
    // slow burn, as the alert records merge; the slow burn ranked first.
    let incidents = a["incidents"].as_array().expect("incidents");
    let merged = merged_alert_spans(&recs);
    assert_eq!(incidents.len(), merged.len(), "{a}");
    assert_eq!(incidents.len(), 2, "{merged:?}");
    let bads: Vec<u64> = incidents
        .iter()
        .map(|i| i["bad_events"].as_u64().expect("bad_events"))
        .collect();
    assert!(bads.windows(2).all(|w| w[0] >= w[1]), "{bads:?}");
    let (burn, page) = (&incidents[0], &incidents[1]);
    let at = |s: i64| (BASE_S + s) * NS_PER_S;
    assert!(time(&burn["start"]) >= at(BURN_FROM_S), "{burn}");
    assert!(time(&burn["end"]) >= at(BURN_TO_S), "{burn}");
    assert_eq!(burn["severity"], "ticket");
    assert_eq!(burn["top_contributors"][0]["field"], "route");
    assert_eq!(burn["top_contributors"][0]["values"][0]["value"], "/search");
    assert!(
        (at(PAGE_FROM_S)..at(PAGE_TO_S)).contains(&time(&page["start"])),
        "{page}"
    );
    assert_eq!(page["severity"], "page");
    assert_eq!(page["top_contributors"][0]["values"][0]["value"], "/pay");
    for (i, (s, e, paged)) in incidents.iter().zip(merged.iter().rev()) {
        assert_eq!(time(&i["start"]), *s);
        assert_eq!(i["end"].as_str().map(|_| time(&i["end"])), *e);
        assert_eq!(i["severity"] == "page", *paged);
    }
    // The injected failures, and at most the background besides.
    let (page_bad, burn_bad) = (120, (BURN_TO_S - BURN_FROM_S) / 250);
    let background = (HOURS * 3600 / 5000 + 1) as u64;
    assert!(
        (burn_bad as u64..=burn_bad as u64 + background).contains(&bads[0]),
        "{bads:?}"
    );
    assert!(
        (page_bad..=page_bad + background).contains(&bads[1]),
        "{bads:?}"
    );
    assert!(bads.iter().sum::<u64>() <= bad_in_all);
    // Shares add up to at most what was spent in all.
    let spent = 1.0 - left_ratio;
    assert!((f(&a["budget"]["spent_ratio"]) - spent).abs() < 1e-9);
    let shares: f64 = incidents.iter().map(|i| f(&i["budget_share"])).sum();
    assert!(shares <= spent + 1e-9, "{shares} of {spent}");
    assert!(shares > 0.5 * spent, "{shares} of {spent}");
    for i in incidents {
        assert!(f(&i["peak_burn_rate"]) > 1.0, "{i}");
    }

    // 4. Two days of thirty: not enough to judge the target, with the days.
    let mut days: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for w in &windows {
        let d = days
            .entry(w["window_start"].as_str().expect("start")[..10].to_string())
            .or_default();
        d.0 += w["good"].as_u64().expect("good");
        d.1 += w["bad"].as_u64().expect("bad");
    }
    let missed = days
        .values()
        .filter(|(g, b)| (*g as f64 / (g + b) as f64) < 0.999)
        .count();
    assert_eq!(a["verdict"]["value"], "not_enough_history", "{a}");
    let reason = a["verdict"]["reason"].as_str().expect("reason");
    assert!(
        reason.contains(&format!(
            "{missed} of {} day(s) fell below the target",
            days.len()
        )),
        "{reason}"
    );

    // 5. What if: each row equals a backfill with that target.
    let rows = a["what_if"].as_array().expect("what_if");
    let targets: Vec<f64> = rows.iter().map(|r| f(&r["target"])).collect();
    assert_eq!(targets, vec![0.99, 0.995, 0.999, 0.9995, 0.9999]);
    for row in rows {
        let t = format!("{}", f(&row["target"]));
        let (cfg_t, out_t, recs_t) = if t == "0.999" {
            (cfg.clone(), out.clone(), recs.clone())
        } else {
            s.backfill(&t)
        };
        let want_left = f(&last_slo(&recs_t)["budget"]["remaining_ratio"]);
        assert!(
            (f(&row["budget_left_ratio"]) - want_left).abs() < 1e-9,
            "{t}: {row}"
        );
        assert_eq!(row["met"], want_left >= 0.0, "{t}: {row}");
        assert_eq!(row["pages"], fired(&recs_t, "page"), "{t}: {row}");
        assert_eq!(row["tickets"], fired(&recs_t, "ticket"), "{t}: {row}");
        assert_eq!(row["current"], t == "0.999");
        if t == "0.99" {
            // Budget left: minutes of full outage at the period's traffic.
            let b = json(&cfg_t, &out_t);
            let l = last_slo(&recs_t);
            let valid = f(&l["good"]) + f(&l["bad"]);
            let per_minute = valid / ((last_end - first_start) as f64 / 60e9);
            let want = f(&l["budget"]["remaining"]) / per_minute;
            assert!(want > 0.0);
            let got = f(&b["budget"]["left_outage_minutes"]);
            assert!((got - want).abs() < 1e-6 * want, "{got} against {want}");
            assert_eq!(b["met"], true);
        }
    }
    assert_ne!(rows[0], rows[4], "targets make a difference");

    // Every field is documented.
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-json.md"))
        .expect("docs/report-json.md");
    let mut keys = Vec::new();
    collect_keys(&a, &mut keys);
    for k in keys {
        assert!(
            doc.contains(&format!("`{k}`")),
            "`{k}` is not in docs/report-json.md"
        );
    }
}

fn collect_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                collect_keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_keys(v, out)),
        _ => {}
    }
}

#[test]
fn the_reports_word_the_same_answers_in_both_languages() {
    let s = Setup::new();
    let (cfg, out, _) = s.backfill("0.999");
    let a = json(&cfg, &out);
    let en = report(&cfg, &out, &["--lang", "en"]);
    let ja = report(&cfg, &out, &["--lang", "ja"]);
    for heading in [
        "### 1. Is the objective met?",
        "### 2. How much error budget is left?",
        "### 3. What spent it?",
        "### 4. Is the target realistic?",
        "### 5. What would other targets have given?",
    ] {
        assert!(en.contains(heading), "{heading}\n{en}");
    }
    let order: Vec<usize> = ["### 1.", "### 2.", "### 3.", "### 4.", "### 5."]
        .iter()
        .map(|h| en.find(h).expect("heading"))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "in order");
    assert!(
        en.contains("The data covers 2 days of the objective's 30-day window (6.7%)."),
        "{en}"
    );
    assert!(en.contains("too little of the window"), "{en}");
    assert!(
        ja.contains("データがある期間は2日で、30日間の目標期間の6.7%にあたります。"),
        "{ja}"
    );
    assert!(
        en.contains("None is left:") && en.contains("so 0 minutes of full outage are left"),
        "{en}"
    );
    assert!(
        en.contains("2 incident(s) spent") && en.contains("The largest, a ticket from"),
        "{en}"
    );
    assert!(
        en.contains("Most of its bad events came from route: /search ("),
        "{en}"
    );
    assert!(en.contains("Not enough history: "), "{en}");
    assert!(ja.contains("履歴が不足："), "{ja}");
    // The incidents' bad events, with thousands separators, in both.
    for i in a["incidents"].as_array().expect("incidents") {
        let n = i["bad_events"].as_u64().expect("bad events").to_string();
        for text in [&en, &ja] {
            assert!(text.contains(&format!("| {n} |")), "{n}");
        }
    }
    // A what-if row per target, the current one marked.
    assert!(en.contains("| 99.9% (current) | no |"), "{en}");
    assert!(ja.contains("| 99.9%（現在） | 未達 |"), "{ja}");
    assert!(en.contains("| 99.0% | yes |"), "{en}");
}
