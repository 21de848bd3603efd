//! Window records carry their latency histograms (`latency_histogram`:
//! HdrHistogram V2 compressed, base64, microseconds). Python's own
//! HdrHistogram library, through `examples/merge_histograms.py` (the script
//! the README gives users), merges a day of windows, from the file sink and
//! from PostgreSQL; the merged percentiles must be within 1% of the exact
//! nearest-rank values computed here from the same events.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/merge_histograms.py");

/// Runs the merge script on `input` (records or base64 lines) and returns
/// its JSON answer.
fn merge_in_python(args: &[&str], input: &[u8]) -> Value {
    let mut child = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the merge script failed (is Python's HdrHistogram installed? `pip install \
         hdrhistogram`; .ci/run installs it):\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the script printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Every SLI's latencies (ms, sorted), computed from the input.
fn exact_latencies(input: &Path) -> Vec<(&'static str, Vec<f64>)> {
    let data = std::fs::read(input).expect("read the input");
    let parsed = parse_input(&data, MAX_DEFAULT);
    assert!(parsed.rejects.is_empty(), "{:?}", parsed.rejects);
    slis()
        .iter()
        .map(|sli| (sli.name, sli_latencies(&parsed, sli)))
        .collect()
}

fn assert_merged(merged: &Value, exact: &[f64], what: &str) {
    assert!(exact.len() > 1_000, "{what}: too few latencies to test");
    assert_eq!(
        merged["count"].as_u64(),
        Some(exact.len() as u64),
        "{what}: merged count: {merged}"
    );
    // A day of one-minute windows: far more than one window was merged.
    assert!(
        merged["windows"].as_u64().is_some_and(|w| w > 1_000),
        "{what}: {merged}"
    );
    for (key, n, d) in [("p50", 1, 2), ("p90", 9, 10), ("p99", 99, 100)] {
        let want = nearest_rank(exact, n, d);
        let got = merged[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: no {key} in {merged}"));
        assert!(
            (got - want).abs() <= 0.01 * want + 1e-3,
            "{what}: merged {key} = {got} ms, exact {want} ms"
        );
    }
}

#[test]
fn a_day_of_window_histograms_merges_into_the_days_percentiles_in_python() {
    let dir = tmp();
    // A day at two events a second.
    let input = generate(
        &dir.path().join("day.jsonl"),
        &[
            "--count",
            "172800",
            "--rate",
            "2",
            "--seed",
            "11",
            "--start",
            "2026-03-01T00:00:00Z",
        ],
    );
    let url = pg::fresh_db("histograms_day");
    let cfg = pg::write_config(dir.path(), &url);
    // Without --output: the records go to both sinks of the configuration.
    slipstream(
        &["backfill", "-c", &p(&cfg), &p(&input)],
        Some(dir.path()),
        None,
    )
    .assert_code(0, "backfill");
    let out = std::fs::read(dir.path().join("records.jsonl")).expect("the file sink's records");
    let exact = exact_latencies(&input);

    for (sli, lat) in &exact {
        if lat.len() < 1_000 {
            continue;
        }
        let merged = merge_in_python(&["--sli", sli], &out);
        assert_merged(&merged, lat, &format!("{sli} from the file sink"));

        let rows = pg::rows(
            &url,
            &format!(
                "SELECT latency_histogram FROM window_records \
                 WHERE sli = '{sli}' AND latency_histogram IS NOT NULL ORDER BY window_start"
            ),
        );
        let lines: String = rows
            .iter()
            .map(|r| format!("{}\n", r["latency_histogram"].as_str().expect("text")))
            .collect();
        let merged = merge_in_python(&[], lines.as_bytes());
        assert_merged(&merged, lat, &format!("{sli} from PostgreSQL"));
    }
    assert!(
        exact.iter().filter(|(_, l)| l.len() >= 1_000).count() >= 3,
        "the generated day must give several SLIs with latencies"
    );
}
