//! The README's first command, `slipstream demo --duration ...`: broker,
//! traffic and stream job in one process must stop by itself, exit 0, show
//! every SLI and write records in which the scripted checkout incident (30%
//! errors from +40 s for 30 s) is visible.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_slipstream");

fn epoch_secs(rfc3339: &str) -> f64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp() as f64
}

#[test]
fn demo_runs_for_its_duration_and_shows_the_incident_in_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo-out");
    let t0 = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["demo", "--duration", "70s", "--rate", "400", "--out"])
        .arg(&out_dir)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(
        took < Duration::from_secs(70 + 15),
        "the demo took {took:?} for --duration 70s"
    );
    // The live view names every SLI of the demo's configuration.
    let last_view = stdout.rsplit("slipstream demo —").next().unwrap();
    for sli in [
        "checkout-availability",
        "checkout-latency",
        "search-availability",
        "api-latency",
    ] {
        assert!(last_view.contains(sli), "{sli} missing from\n{last_view}");
        assert!(
            !last_view.contains(&format!("{sli:<24} (waiting")),
            "{sli} never got a window:\n{last_view}"
        );
    }

    let text = std::fs::read_to_string(out_dir.join("records.jsonl")).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // The status page's address is printed, and shown in the view.
    let url = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Status page: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no status page URL in\n{stderr}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        last_view.contains(&format!("Status page: {url}")),
        "{last_view}"
    );
    // The view shows each objective's budget left from its last slo record,
    // and every alert whose last record is firing.
    let mut budget = std::collections::BTreeMap::new();
    let mut alerts = std::collections::BTreeMap::new();
    for r in &records {
        if r["kind"] == "slo" {
            budget.insert(
                r["sli"].as_str().unwrap(),
                r["budget"]["remaining_ratio"].as_f64(),
            );
        } else if r["kind"] == "alert" {
            alerts.insert(
                (r["sli"].as_str().unwrap(), r["severity"].as_str().unwrap()),
                r,
            );
        }
    }
    assert!(!budget.is_empty(), "no slo record");
    for (sli, left) in &budget {
        let row = last_view
            .lines()
            .find(|l| l.starts_with(&format!("{sli} ")))
            .unwrap();
        let shown = row.split_whitespace().last().unwrap();
        match left {
            Some(r) if *r > 0.0 => assert_eq!(shown, format!("{:.1}%", r * 100.0), "{row}"),
            Some(_) => assert_eq!(shown, "spent", "{row}"),
            None => assert_eq!(shown, "-", "{row}"),
        }
    }
    // The checkout incident (30% errors for 30 s) pages.
    assert!(
        alerts.contains_key(&("checkout-availability", "page")),
        "no page for checkout: {alerts:?}"
    );
    for ((sli, severity), r) in &alerts {
        let line = format!("!! FIRING {severity} {sli}:");
        assert_eq!(
            last_view.contains(&line),
            r["state"] == "firing",
            "`{line}` against the last alert record {r}:\n{last_view}"
        );
    }
    let windows: Vec<&Value> = records.iter().filter(|r| r["kind"] == "window").collect();
    assert!(
        records.iter().any(|r| r["kind"] == "slo"),
        "no slo record in {} records",
        records.len()
    );
    // Ten-second windows, aligned to the epoch; counts add up.
    for w in &windows {
        let start = epoch_secs(w["window_start"].as_str().unwrap());
        let end = epoch_secs(w["window_end"].as_str().unwrap());
        assert_eq!(end - start, 10.0, "{w}");
        assert_eq!(start % 10.0, 0.0, "{w}");
        let (total, good, bad, invalid) = (
            w["total"].as_u64().unwrap(),
            w["good"].as_u64().unwrap(),
            w["bad"].as_u64().unwrap(),
            w["invalid"].as_u64().unwrap(),
        );
        assert_eq!(total, good + bad + invalid, "{w}");
    }
    // Checkout's error share, in whole windows before the incident and
    // inside it (+40 s to +70 s of generated time, which starts at or just
    // after t0).
    let share = |from: f64, to: f64| {
        let (mut bad, mut valid) = (0u64, 0u64);
        for w in windows
            .iter()
            .filter(|w| w["sli"] == "checkout-availability")
        {
            let start = epoch_secs(w["window_start"].as_str().unwrap());
            if start >= t0 + from && start + 10.0 <= t0 + to {
                bad += w["bad"].as_u64().unwrap();
                valid += w["good"].as_u64().unwrap() + w["bad"].as_u64().unwrap();
            }
        }
        assert!(valid > 0, "no whole checkout window in +{from}s..+{to}s");
        bad as f64 / valid as f64
    };
    let before = share(0.0, 39.0);
    let during = share(42.0, 69.0);
    assert!(before < 0.1, "checkout failed {before} before the incident");
    assert!(
        during > 0.2,
        "checkout failed only {during} during the incident"
    );
}
