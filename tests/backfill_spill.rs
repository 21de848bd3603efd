//! `slipstream backfill` within `--memory-limit`: closed windows spilled to
//! disk and merged back give the records of a run that kept everything in
//! memory, whatever the order of the input and the threads; every window
//! record is checked against the oracle of tests/common (counts and exact
//! percentiles computed from the lines themselves); the spill files never
//! outlive the run.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The smallest limit: with it, a few dozen windows fill memory.
const TINY: &str = "1MiB";

/// `n` generated events spread evenly over `days`.
fn events_over(days: u64, n: u64, seed: u64) -> Vec<u8> {
    let rate = n as f64 / (days * 86_400) as f64;
    gen_bytes(&[
        "--count",
        &n.to_string(),
        "--rate",
        &format!("{rate:.9}"),
        "--seed",
        &seed.to_string(),
    ])
}

/// Backfills `input` (written to a file in `dir`) with `extra` arguments;
/// the run and its records.
fn backfill_lines(dir: &Path, name: &str, input: &[u8], extra: &[&str]) -> (Run, Vec<u8>) {
    let cfg = write_config(dir, None);
    let path = dir.join(format!("{name}.jsonl"));
    fs::write(&path, input).expect("write the input");
    let out = dir.join(format!("{name}.out.jsonl"));
    let (run, bytes) = backfill(&cfg, &out, extra, &[&p(&path)], None);
    run.assert_code(0, name);
    (run, bytes)
}

/// The number of runs the summary says were spilled (0 when none).
fn spilled_runs(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("Spilled ")?;
            let words: Vec<&str> = rest.split_whitespace().collect();
            let i = words.iter().position(|w| *w == "in")?;
            words.get(i + 1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The window records' oracle for `input`, in the order the records come:
/// oldest window first, SLIs in configuration order.
fn oracle(input: &[u8]) -> Vec<Expect> {
    let parsed = parse_input(input, MAX_DEFAULT);
    expected(&parsed.events, None, None)
}

#[test]
fn a_short_span_gives_the_same_records_spilled_or_in_memory() {
    let dir = tmp();
    let input = events_over(3, 12_000, 3);
    let (kept, in_memory) = backfill_lines(dir.path(), "kept", &input, &[]);
    assert_eq!(spilled_runs(&kept.stderr), 0, "{}", kept.stderr);
    assert!(!kept.stderr.contains("Spilled"), "{}", kept.stderr);
    let (spilt, spilled) = backfill_lines(dir.path(), "spilt", &input, &["--memory-limit", TINY]);
    assert!(
        spilled_runs(&spilt.stderr) >= 2,
        "a 1 MiB limit spills three days of windows:\n{}",
        spilt.stderr
    );
    assert!(
        in_memory == spilled,
        "spilling changed the records ({} vs {} bytes)",
        in_memory.len(),
        spilled.len()
    );
    assert_records(&window_records(&spilled), &oracle(&input));
    assert!(
        records(&spilled).iter().any(|r| r["kind"] == "slo"),
        "the slo records follow the merged windows too"
    );
}

#[test]
fn ninety_days_in_order_reversed_or_shuffled_give_the_same_records() {
    let dir = tmp();
    let input = events_over(90, 6_000, 17);
    let lines = split_lines(&input);
    let mut reversed = lines.clone();
    reversed.reverse();
    let mut shuffled = lines.clone();
    Rng::new(5).shuffle(&mut shuffled);

    let limit = ["--memory-limit", TINY, "--threads", "2"];
    let (run, ordered) = backfill_lines(dir.path(), "ordered", &input, &limit);
    assert!(spilled_runs(&run.stderr) >= 2, "{}", run.stderr);
    assert_records(&window_records(&ordered), &oracle(&input));
    let windows = window_records(&ordered).len();
    assert!(
        windows > 5_000,
        "90 days of sparse events: {windows} window records"
    );

    for (name, lines) in [("reversed", &reversed), ("shuffled", &shuffled)] {
        let (run, out) = backfill_lines(dir.path(), name, &join_lines(lines), &limit);
        assert!(spilled_runs(&run.stderr) >= 2, "{name}: {}", run.stderr);
        assert!(out == ordered, "{name} input gave other records");
    }
    for threads in ["1", "4"] {
        let args = ["--memory-limit", TINY, "--threads", threads];
        let (_, out) = backfill_lines(dir.path(), "threads", &join_lines(&shuffled), &args);
        assert!(out == ordered, "--threads {threads} gave other records");
    }
    let (_, in_memory) = backfill_lines(dir.path(), "kept", &input, &["--memory-limit", "4G"]);
    assert!(in_memory == ordered, "the in-memory run gave other records");
}

#[test]
fn late_events_for_long_closed_windows_are_counted_once() {
    let dir = tmp();
    let input = events_over(3, 6_000, 29);
    let mut lines = split_lines(&input);
    // Every 40th event of the first six hours, moved to the very end: days
    // of events later than its window, which was spilled long before.
    let first = rfc3339_ns("2026-01-01T06:00:00Z").expect("time");
    let parsed = parse_input(&input, MAX_DEFAULT);
    let early: Vec<usize> = (0..lines.len())
        .filter(|&i| parsed.events[i].t_ns < first && i % 40 == 0)
        .collect();
    assert!(early.len() > 10, "{} late events", early.len());
    let moved: Vec<&[u8]> = early.iter().map(|&i| lines[i]).collect();
    for &i in early.iter().rev() {
        lines.remove(i);
    }
    lines.extend(moved);
    let late = join_lines(&lines);

    let (run, out) = backfill_lines(dir.path(), "late", &late, &["--memory-limit", TINY]);
    assert!(spilled_runs(&run.stderr) >= 2, "{}", run.stderr);
    // The oracle counts each line once, whatever its place.
    let exp = oracle(&late);
    assert_records(&window_records(&out), &exp);
    let totals = sli_totals(&exp);
    let summary = summary_slis(&run.stderr);
    for (i, s) in slis().iter().enumerate() {
        assert_eq!(summary[s.name][1], totals[i][1], "{} total", s.name);
    }
    let (_, in_order) = backfill_lines(dir.path(), "ordered", &input, &["--memory-limit", TINY]);
    assert!(out == in_order, "late events changed the records");
}

#[test]
fn spill_files_are_removed_after_success_and_after_an_error() {
    let dir = tmp();
    let spill = dir.path().join("spill");
    fs::create_dir_all(&spill).expect("mkdir");
    let input = events_over(4, 6_000, 41);
    let args = ["--memory-limit", TINY, "--tmp-dir", &p(&spill)];
    let (run, _) = backfill_lines(dir.path(), "ok", &input, &args);
    assert!(spilled_runs(&run.stderr) >= 2, "{}", run.stderr);
    assert!(names(&spill).is_empty(), "left: {:?}", names(&spill));
    // Beside --output when no --tmp-dir is given.
    let out_dir = dir.path().join("out");
    fs::create_dir_all(&out_dir).expect("mkdir");
    let cfg = write_config(dir.path(), None);
    let in_path = dir.path().join("ok.jsonl");
    let out = out_dir.join("records.jsonl");
    let (run, _) = backfill(&cfg, &out, &["--memory-limit", TINY], &[&p(&in_path)], None);
    run.assert_code(0, "beside --output");
    assert!(spilled_runs(&run.stderr) >= 2, "{}", run.stderr);
    assert_eq!(names(&out_dir), ["records.jsonl"]);

    // The same input and limit (which spill, as just seen), into a kafka
    // sink whose broker never answers: the run fails at the first write,
    // after the spill, and removes its files.
    let failing = dir.path().join("failing.toml");
    let text = format!(
        "[source.kafka]\nbrokers = \"127.0.0.1:1\"\ntopics = [\"in\"]\n[source.kafka.librdkafka]\n\"message.timeout.ms\" = \"500\"\n\n[[sink]]\ntype = \"kafka\"\ntopic = \"records\"\n\n{SLIS_TOML}"
    );
    fs::write(&failing, text).expect("write config");
    let run = slipstream(
        &[
            "backfill",
            "-c",
            &p(&failing),
            "--memory-limit",
            TINY,
            "--tmp-dir",
            &p(&spill),
            &p(&in_path),
        ],
        None,
        None,
    );
    assert_eq!(run.code, Some(1), "the sink fails:\n{}", run.stderr);
    assert!(
        run.stderr.contains("cannot write records to kafka:records"),
        "{}",
        run.stderr
    );
    assert!(names(&spill).is_empty(), "left: {:?}", names(&spill));
}

#[test]
fn sigint_after_a_spill_removes_the_spill_files() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let spill = dir.path().join("spill");
    fs::create_dir_all(&spill).expect("mkdir");
    let mut child = Command::new(BIN)
        .args(["backfill", "-c", &p(&cfg), "--memory-limit", TINY])
        .args(["--tmp-dir", &p(&spill), "--output"])
        .arg(dir.path().join("out.jsonl"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slipstream");
    // Two days of events in order, and stdin left open: the run spills and
    // waits for more.
    let input = events_over(2, 10_000, 43);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&input).expect("feed the backfill");
    stdin.flush().expect("flush");
    let started = Instant::now();
    while !has_run_file(&spill) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the backfill never spilled into {}",
            spill.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -INT failed");
    let status = child.wait().expect("wait");
    drop(stdin);
    assert_eq!(status.code(), Some(130), "SIGINT exits 130");
    assert!(names(&spill).is_empty(), "left: {:?}", names(&spill));
}

/// Whether a spill directory in `dir` holds a run.
fn has_run_file(dir: &Path) -> bool {
    names(dir)
        .iter()
        .any(|d| fs::read_dir(dir.join(d)).is_ok_and(|mut e| e.next().is_some()))
}
