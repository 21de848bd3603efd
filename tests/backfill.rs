//! `slipstream backfill` end to end: the binary over generated and hand-made
//! logs, every window record checked against an independent oracle
//! (tests/common: serde_json + chrono + plain predicates, exact percentiles
//! by sorting).
//!
//! Why one long file: every file under `tests/` is a test binary of its own,
//! linked against the whole crate and its dependencies, so the tests of one
//! command share one binary and the test build stays a few links.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::*;
use serde_json::{json, Value};

/// The usual generated input: ~5 one-minute windows with an error burst on
/// checkout and a latency regression on search.
const GEN_INCIDENTS: [&str; 4] = [
    "--incident",
    "kind=errors,start=1m,duration=2m,rate=0.4,service=checkout",
    "--incident",
    "kind=latency,start=3m,duration=1m,factor=4,service=search",
];

fn gen_args<'a>(count: &'a str, rate: &'a str, seed: &'a str) -> Vec<&'a str> {
    let mut v = vec!["--count", count, "--rate", rate, "--seed", seed];
    v.extend(GEN_INCIDENTS);
    v
}

/// Sanity checks on an oracle, so a test cannot pass vacuously.
fn assert_input_exercises_every_sli(exp: &[Expect]) {
    let totals = sli_totals(exp);
    for (i, s) in slis().iter().enumerate() {
        assert!(totals[i][1] > 0, "the input has no event for {}", s.name);
        assert!(
            totals[i][2] > 0 && totals[i][3] > 0,
            "{} needs good and bad events: {:?}",
            s.name,
            totals[i]
        );
    }
}

// 1 -------------------------------------------------------------------------

#[test]
fn generated_logs_give_the_oracles_window_records() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let input = generate(
        &dir.path().join("in.jsonl"),
        &gen_args("60000", "200", "11"),
    );
    let data = fs::read(&input).expect("read input");
    let parsed = parse_input(&data, MAX_DEFAULT);
    assert_eq!(
        parsed.events.len(),
        60_000,
        "every generated line is an event"
    );
    let exp = expected(&parsed.events, None, None);
    assert_input_exercises_every_sli(&exp);
    let windows: std::collections::BTreeSet<i64> = exp.iter().map(|e| e.start_ns).collect();
    assert!(
        windows.len() >= 5,
        "expected about 5 windows, got {}",
        windows.len()
    );
    // The error incident shows: some checkout window has compliance below 0.8.
    assert!(
        exp.iter()
            .any(|e| e.sli == 0 && (e.bad as f64) > 0.2 * (e.good + e.bad) as f64),
        "the checkout error incident is not in the input"
    );

    let (run, out) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &[],
        &[&p(&input)],
        None,
    );
    run.assert_code(0, "backfill");
    assert_records(&window_records(&out), &exp);

    // The summary's counts agree with the oracle too.
    assert_eq!(
        summary_counts(&run.stderr),
        (60_000, 0, 0),
        "summary: accepted, outside, rejected"
    );
    let table = summary_slis(&run.stderr);
    for (s, t) in slis().iter().zip(sli_totals(&exp)) {
        assert_eq!(
            table.get(s.name),
            Some(&t),
            "summary row of {} [windows,total,good,bad,invalid]",
            s.name
        );
    }
}

// 2 -------------------------------------------------------------------------

#[test]
fn input_order_does_not_change_the_records() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let data = gen_bytes(&gen_args("30000", "200", "22"));
    let parsed = parse_input(&data, MAX_DEFAULT);
    let mut lines: Vec<&[u8]> = split_lines(&data);
    assert_eq!(lines.len(), parsed.events.len());

    // Sorted by time (stable), with the oracle's timestamps.
    let mut sorted: Vec<(i64, &[u8])> = parsed
        .events
        .iter()
        .map(|e| e.t_ns)
        .zip(lines.iter().copied())
        .collect();
    sorted.sort_by_key(|(t, _)| *t);
    let sorted: Vec<&[u8]> = sorted.into_iter().map(|(_, l)| l).collect();
    let sorted_path = dir.path().join("sorted.jsonl");
    fs::write(&sorted_path, join_lines(&sorted)).expect("write");

    Rng::new(0x5eed).shuffle(&mut lines);
    assert_ne!(lines, sorted, "the shuffle must change the order");
    let shuffled_path = dir.path().join("shuffled.jsonl");
    fs::write(&shuffled_path, join_lines(&lines)).expect("write");

    let (r1, out_sorted) = backfill(
        &cfg,
        &dir.path().join("o1.jsonl"),
        &[],
        &[&p(&sorted_path)],
        None,
    );
    r1.assert_code(0, "backfill sorted");
    let (r2, out_shuffled) = backfill(
        &cfg,
        &dir.path().join("o2.jsonl"),
        &[],
        &[&p(&shuffled_path)],
        None,
    );
    r2.assert_code(0, "backfill shuffled");

    let exp = expected(&parsed.events, None, None);
    assert_input_exercises_every_sli(&exp);
    assert_records(&window_records(&out_sorted), &exp);
    assert!(
        out_sorted == out_shuffled,
        "shuffled input must give byte-identical records"
    );
}

// 3 -------------------------------------------------------------------------

#[test]
fn gzip_and_zstd_are_detected_by_magic_bytes() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let data = gen_bytes(&gen_args("20000", "200", "33"));
    let plain = dir.path().join("plain.jsonl");
    fs::write(&plain, &data).expect("write");
    let (r, reference) = backfill(
        &cfg,
        &dir.path().join("ref.jsonl"),
        &[],
        &[&p(&plain)],
        None,
    );
    r.assert_code(0, "backfill plain");
    let exp = expected(&parse_input(&data, MAX_DEFAULT).events, None, None);
    assert_input_exercises_every_sli(&exp);
    assert_records(&window_records(&reference), &exp);

    // Split at a line boundary in the middle, for multi-member / multi-frame files.
    let lines = split_lines(&data);
    let (first, second) = lines.split_at(lines.len() / 2);
    let (first, second) = (join_lines(first), join_lines(second));
    assert_eq!([first.as_slice(), second.as_slice()].concat(), data);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a.log", gzip(&data)),
        ("b.log", zstd(&data)),
        (
            "two-gzip-members.txt",
            [gzip(&first), gzip(&second)].concat(),
        ),
        (
            "two-zstd-frames.data",
            [zstd(&first), zstd(&second)].concat(),
        ),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        fs::write(&path, &bytes).expect("write");
        let (r, out) = backfill(
            &cfg,
            &dir.path().join(format!("{name}.out")),
            &[],
            &[&p(&path)],
            None,
        );
        r.assert_code(0, name);
        assert!(
            out == reference,
            "{name}: records differ from the plain input's"
        );
    }
}

// 4 -------------------------------------------------------------------------

#[test]
fn stdin_gives_the_same_records() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let data = gen_bytes(&gen_args("20000", "200", "44"));
    let plain = dir.path().join("in.jsonl");
    fs::write(&plain, &data).expect("write");
    let (r1, from_file) = backfill(&cfg, &dir.path().join("o1.jsonl"), &[], &[&p(&plain)], None);
    r1.assert_code(0, "backfill file");
    let (r2, from_stdin) = backfill(
        &cfg,
        &dir.path().join("o2.jsonl"),
        &[],
        &["-"],
        Some(data.clone()),
    );
    r2.assert_code(0, "backfill stdin");
    let exp = expected(&parse_input(&data, MAX_DEFAULT).events, None, None);
    assert_records(&window_records(&from_stdin), &exp);
    assert!(
        from_file == from_stdin,
        "stdin must give byte-identical records"
    );

    // Compressed stdin is detected too.
    let (r3, from_gz_stdin) = backfill(
        &cfg,
        &dir.path().join("o3.jsonl"),
        &[],
        &["-"],
        Some(gzip(&data)),
    );
    r3.assert_code(0, "backfill gzip stdin");
    assert!(
        from_file == from_gz_stdin,
        "gzip on stdin must give byte-identical records"
    );
}

/// A line exactly at the size limit, then a `\r` and no newline at the end
/// of the input: the `\r` is not part of the event, whether the file is
/// mapped, read, or piped in.
#[test]
fn a_line_at_the_limit_with_a_carriage_return_is_read_alike_every_way() {
    const MAX: usize = 1000;
    let dir = tmp();
    let cfg = write_config(dir.path(), Some(&format!("max_event_bytes = {MAX}")));
    let mut data = gen_bytes(&gen_args("300", "25", "45"));
    data.extend_from_slice(&padded("2026-01-01T00:00:20Z", MAX));
    data.extend_from_slice(b"\r\n");
    data.extend_from_slice(&padded("2026-01-01T00:00:21Z", MAX));
    data.extend_from_slice(b"\r");
    let parsed = parse_input(&data, MAX);
    assert_eq!(parsed.events.len(), 302, "oracle self-check");
    let input = dir.path().join("in.jsonl");
    fs::write(&input, &data).expect("write");
    let file = p(&input);
    // Flags, the input argument, and what goes to standard input.
    type Way<'a> = (&'a [&'a str], &'a str, Option<Vec<u8>>);
    let ways: [Way; 3] = [
        (&[], &file, None),
        (&["--no-mmap"], &file, None),
        (&[], "-", Some(data.clone())),
    ];
    for (flags, arg, stdin) in ways {
        let (r, out) = backfill(&cfg, &dir.path().join("o.jsonl"), flags, &[arg], stdin);
        r.assert_code(0, &format!("backfill {flags:?} {arg}"));
        assert_eq!(
            summary_counts(&r.stderr),
            (302, 0, 0),
            "{flags:?} {arg}: {}",
            r.stderr
        );
        assert_records(&window_records(&out), &expected(&parsed.events, None, None));
    }
}

// 5 -------------------------------------------------------------------------

fn line(ts: &str, service: &str, status: u32, latency_ms: f64, region: &str) -> String {
    json!({
        "timestamp": ts, "service": service, "status": status, "latency_ms": latency_ms,
        "region": region, "http": {"route": format!("/api/{service}")}
    })
    .to_string()
}

#[test]
fn from_and_to_keep_only_events_in_range() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let mut data = gen_bytes(&gen_args("40000", "200", "55"));
    let from = "2026-01-01T00:00:45.5Z";
    let to = "2026-01-01T00:02:10.25Z";
    // Events at the edges: from - 1ns (out), from (in), to - 1ns (in), to (out),
    // and the same instants written with a UTC offset.
    for (ts, status) in [
        ("2026-01-01T00:00:45.499999999Z", 501),
        ("2026-01-01T00:00:45.5Z", 502),
        ("2026-01-01T00:02:10.249999999Z", 503),
        ("2026-01-01T00:02:10.25Z", 504),
        ("2026-01-01T01:00:45.5+01:00", 505),
        ("2025-12-31T23:02:10.25-01:00", 506),
    ] {
        data.extend_from_slice(line(ts, "checkout", status, 7.5, "eu-west-1").as_bytes());
        data.push(b'\n');
    }
    let input = dir.path().join("in.jsonl");
    fs::write(&input, &data).expect("write");

    let parsed = parse_input(&data, MAX_DEFAULT);
    let (from_ns, to_ns) = (rfc3339_ns(from).expect("from"), rfc3339_ns(to).expect("to"));
    let exp = expected(&parsed.events, Some(from_ns), Some(to_ns));
    assert_input_exercises_every_sli(&exp);
    let inside = parsed
        .events
        .iter()
        .filter(|e| e.t_ns >= from_ns && e.t_ns < to_ns)
        .count() as u64;
    assert!(inside > 0 && inside < parsed.events.len() as u64);

    let (r, out) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &["--from", from, "--to", to],
        &[&p(&input)],
        None,
    );
    r.assert_code(0, "backfill --from --to");
    assert_records(&window_records(&out), &exp);
    let (accepted, outside, rejected) = summary_counts(&r.stderr);
    assert_eq!(
        (accepted, outside, rejected),
        (inside, parsed.events.len() as u64 - inside, 0),
        "summary: accepted, outside --from/--to, rejected"
    );
}

// 6 -------------------------------------------------------------------------

/// A JSON object line of exactly `len` bytes (padded with a string field).
fn padded(ts: &str, len: usize) -> Vec<u8> {
    let base = json!({"timestamp": ts, "service": "checkout", "status": 200, "latency_ms": 1.0, "pad": ""}).to_string();
    assert!(base.len() <= len);
    let v = json!({"timestamp": ts, "service": "checkout", "status": 200, "latency_ms": 1.0, "pad": "x".repeat(len - base.len())});
    let s = v.to_string().into_bytes();
    assert_eq!(s.len(), len);
    s
}

#[test]
fn rejected_lines_are_counted_by_reason_and_never_stop_the_job() {
    const MAX: usize = 1000;
    let dir = tmp();
    // Generated lines are up to ~420 bytes: a 1000-byte limit keeps them all
    // and lets an exactly-1000-byte line through while 1001 bytes is rejected.
    let cfg = write_config(dir.path(), Some(&format!("max_event_bytes = {MAX}")));
    let dead_path = dir.path().join("dlq").join("dead.jsonl");
    let mut text = fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!(
        "\n[dead_letter]\ntype = \"file\"\npath = '{}'\n",
        dead_path.display()
    ));
    fs::write(&cfg, text).expect("config");
    let gen_data = gen_bytes(&gen_args("4000", "25", "66"));
    let gen_lines = split_lines(&gen_data);

    // (line, the reason it must be rejected for, or None when it is valid)
    let ts = "2026-01-01T00:00:30Z";
    let specials: Vec<(Vec<u8>, Option<&'static str>)> = vec![
        // First, so every other "first at" line number comes after a line the
        // reader had to skip across several reads.
        (padded(ts, 300_000), Some("too_large")),
        // Longer than a chunk: a mapped file sends a stand-in for it.
        (padded(ts, 1_200_000), Some("too_large")),
        (br#"{"timestamp":"2026-01-01T00:00:10Z","service":"checkout","status":200,"x":"#.iter().copied().chain(*b"\"\xff\"}").collect(), Some("not_utf8")),
        (b"\xff\xfe\xfd".to_vec(), Some("not_utf8")),
        (br#"{"a":"#.to_vec(), Some("not_json")),
        (br#"{"timestamp":"2026-01-01T00:00:10Z","status":200"#.to_vec(), Some("not_json")),
        (br#"[1,2]"#.to_vec(), Some("not_object")),
        (b"42".to_vec(), Some("not_object")),
        (br#""a string""#.to_vec(), Some("not_object")),
        (br#"{"status":200}"#.to_vec(), Some("no_timestamp")),
        (br#"{"ts":"2026-01-01T00:00:10Z","service":"checkout","status":200}"#.to_vec(), Some("no_timestamp")),
        (br#"{"timestamp":"yesterday"}"#.to_vec(), Some("bad_timestamp")),
        (br#"{"timestamp":"2026-02-30T00:00:00Z","service":"checkout","status":200}"#.to_vec(), Some("bad_timestamp")),
        (br#"{"timestamp":true,"service":"checkout","status":200}"#.to_vec(), Some("bad_timestamp")),
        (padded(ts, 5000), Some("too_large")),
        (padded(ts, MAX + 1), Some("too_large")),
        // Valid: exactly at the limit.
        (padded("2026-01-01T00:00:31Z", MAX), None),
        // Blank lines are counted apart and skipped, not dead-lettered.
        (b"".to_vec(), Some("blank")),
        (b"   ".to_vec(), Some("blank")),
        (b"\t".to_vec(), Some("blank")),
        (b"\r".to_vec(), Some("blank")),
        // Valid events exercising the rules.
        (br#"{"timestamp":"2026-01-01T00:00:40Z","service":"checkout","status":"503","latency_ms":12}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:00:41Z","service":"checkout","status":"200","latency_ms":13}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:00:42Z","service":"checkout","latency_ms":14.25}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:00:43Z","service":"checkout","status":"oops"}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:44Z","service":"search","http":{"route":"/api/search"},"status":200,"latency_ms":"12"}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:44Z","service":"search","http":{"route":"/api/search"},"status":200,"latency_ms":"-"}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:45Z","region":"eu-west-1","status":200,"latency_ms":null}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T09:01:46.5+09:00","service":"checkout","status":500,"latency_ms":0.125}"#.to_vec(), None),
        (br#"{"timestamp":1767225707,"service":"checkout","status":502,"latency_ms":3}"#.to_vec(), None),
        (br#"{"timestamp":1767225708250,"service":"checkout","status":429,"latency_ms":4}"#.to_vec(), None),
        // A negative latency, or one above max_latency (1h), is no latency:
        // invalid for the rule, and no sample; zero and exactly an hour are.
        (br#"{"timestamp":"2026-01-01T00:01:50Z","region":"eu-west-1","status":200,"latency_ms":-5}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:51Z","region":"eu-west-1","status":200,"latency_ms":0}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:52Z","region":"eu-west-1","status":200,"latency_ms":3600000}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:53Z","region":"eu-west-1","status":200,"latency_ms":3600000.5}"#.to_vec(), None),
        (br#"{"timestamp":"2026-01-01T00:01:54Z","region":"eu-west-1","status":200,"latency_ms":1e300}"#.to_vec(), None),
        (b"{\"timestamp\":\"2026-01-01T00:01:49Z\",\"service\":\"checkout\",\"status\":200,\"latency_ms\":5}\r".to_vec(), None),
    ];

    // Interleave: a special line after every 90 generated lines, repeated
    // twice over so every reason occurs more than once and far apart.
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut inserted: Vec<(&'static str, u64)> = Vec::new();
    let mut g = gen_lines.iter();
    for round in 0..2 {
        for (l, reason) in &specials {
            for _ in 0..(45 + round * 40) {
                if let Some(x) = g.next() {
                    lines.push(x.to_vec());
                }
            }
            lines.push(l.clone());
            if let Some(r) = reason {
                inserted.push((r, lines.len() as u64));
            }
        }
    }
    lines.extend(g.map(|x| x.to_vec()));
    // The very last line is too large and has no newline.
    let mut data = join_lines(&lines);
    data.extend_from_slice(&padded(ts, 5000));
    inserted.push(("too_large", lines.len() as u64 + 1));

    let input = dir.path().join("mixed.jsonl");
    fs::write(&input, &data).expect("write");

    // The oracle must agree with what was inserted (a self-check).
    let parsed = parse_input(&data, MAX);
    let mut want: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for &(r, l) in &inserted {
        let e = want.entry(r).or_insert((0, l));
        e.0 += 1;
        e.1 = e.1.min(l);
    }
    assert_eq!(parsed.reject_counts(), want, "oracle self-check");
    let exp = expected(&parsed.events, None, None);
    assert_input_exercises_every_sli(&exp);
    assert!(
        exp.iter().any(|e| e.sli == 0 && e.invalid > 0),
        "checkout must have invalid events"
    );

    // Plain files are mapped into memory unless --no-mmap: both ways see
    // the same lines.
    for flags in [&[][..], &["--no-mmap"][..]] {
        let _ = fs::remove_file(&dead_path);
        let (r, out) = backfill(
            &cfg,
            &dir.path().join("out.jsonl"),
            flags,
            &[&p(&input)],
            None,
        );
        r.assert_code(0, &format!("backfill {flags:?} with rejected lines"));
        let reported = summary_rejects(&r.stderr);
        let want_reported: std::collections::BTreeMap<String, (u64, String)> = want
            .iter()
            .map(|(reason, (n, first))| {
                (
                    reason.to_string(),
                    (*n, format!("{}:{first}", input.display())),
                )
            })
            .collect();
        assert_eq!(
            reported, want_reported,
            "summary: reason -> (count, first at); stderr:\n{}",
            r.stderr
        );
        let blank = inserted.iter().filter(|(r, _)| *r == "blank").count() as u64;
        assert_eq!(
            summary_counts(&r.stderr),
            (parsed.events.len() as u64, 0, inserted.len() as u64 - blank),
            "summary: accepted, outside, rejected"
        );
        assert!(
            r.stderr
                .contains(&format!("; {blank} blank or header line(s) skipped.")),
            "{}",
            r.stderr
        );
        assert_records(&window_records(&out), &exp);

        // Every rejected line is a dead letter with its reason, input and line
        // number, and its bytes (too large ones cut to the limit).
        let source: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        let letters: Vec<serde_json::Value> = fs::read_to_string(&dead_path)
            .expect("dead-letter file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON dead letter"))
            .collect();
        let mut got: Vec<(String, u64)> = Vec::new();
        for d in &letters {
            let line = d["line"].as_u64().expect("line");
            let reason = d["reason"].as_str().expect("reason").to_string();
            assert_eq!(d["input"], json!(input.display().to_string()));
            // The line without its line ending.
            let original = source[line as usize - 1];
            let original = original.strip_suffix(b"\r").unwrap_or(original);
            if reason == "too_large" {
                assert_eq!(d["truncated"], json!(true), "{d}");
                let raw = d["raw"].as_str().expect("raw");
                assert_eq!(raw.as_bytes(), &original[..MAX], "line {line}");
            } else if reason == "not_utf8" {
                assert!(d["raw_base64"].is_string(), "{d}");
            } else {
                assert_eq!(d["raw"].as_str().map(str::as_bytes), Some(original), "{d}");
                assert!(d.get("truncated").is_none(), "{d}");
            }
            got.push((reason, line));
        }
        got.sort();
        let mut want: Vec<(String, u64)> = inserted
            .iter()
            .filter(|(r, _)| *r != "blank")
            .map(|(r, l)| (r.to_string(), *l))
            .collect();
        want.sort();
        assert_eq!(got, want, "dead letters: (reason, line)");
        assert!(
            r.stderr.contains(&format!(
                "Wrote {} dead letters to file:{}",
                want.len(),
                dead_path.display()
            )),
            "{}",
            r.stderr
        );
    }
}

// 7 -------------------------------------------------------------------------

#[test]
fn threads_do_not_change_the_records() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let logs = dir.path().join("logs");
    fs::create_dir_all(&logs).expect("mkdir");
    // Four inputs over the same minutes, so windows are merged across workers;
    // one compressed.
    for (name, seed) in [
        ("a.jsonl", "71"),
        ("b.jsonl", "72"),
        ("c.jsonl.gz", "73"),
        ("d.jsonl", "74"),
    ] {
        generate(&logs.join(name), &gen_args("50000", "250", seed));
    }
    let (r1, one) = backfill(
        &cfg,
        &dir.path().join("t1.jsonl"),
        &["--threads", "1"],
        &[&p(&logs)],
        None,
    );
    r1.assert_code(0, "backfill --threads 1");
    // More threads than cores, and plain files read rather than mapped.
    let mut four = Vec::new();
    for flags in [
        &["--threads", "4"][..],
        &["--threads", "4", "--no-mmap"][..],
    ] {
        let what = flags.join(" ");
        let (r, out) = backfill(
            &cfg,
            &dir.path().join("t4.jsonl"),
            flags,
            &[&p(&logs)],
            None,
        );
        r.assert_code(0, &format!("backfill {what}"));
        assert!(
            one == out,
            "{what} must give byte-identical records to --threads 1"
        );
        four = out;
    }

    // And both are right.
    let mut events = Vec::new();
    for name in ["a.jsonl", "b.jsonl", "d.jsonl"] {
        events.extend(parse_input(&fs::read(logs.join(name)).expect("read"), MAX_DEFAULT).events);
    }
    let gz = fs::read(logs.join("c.jsonl.gz")).expect("read");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut plain)
        .expect("gunzip");
    events.extend(parse_input(&plain, MAX_DEFAULT).events);
    assert_eq!(events.len(), 200_000);
    assert_records(&window_records(&four), &expected(&events, None, None));
}

// 8 -------------------------------------------------------------------------

#[test]
fn directories_are_recursive_and_bad_inputs_are_reported() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let logs = dir.path().join("logs");
    fs::create_dir_all(logs.join("sub/deeper")).expect("mkdir");
    let good = [
        generate(&logs.join("a.jsonl"), &gen_args("6000", "200", "81")),
        generate(
            &logs.join("sub/b.jsonl.zst"),
            &gen_args("6000", "200", "82"),
        ),
        generate(
            &logs.join("sub/deeper/c.log"),
            &gen_args("6000", "200", "83"),
        ),
    ];
    let mut good_events = Vec::new();
    for g in &good {
        let bytes = fs::read(g).expect("read");
        let plain = if g.extension().is_some_and(|e| e == "zst") {
            zstd::decode_all(&bytes[..]).expect("unzstd")
        } else {
            bytes
        };
        good_events.extend(parse_input(&plain, MAX_DEFAULT).events);
    }
    assert_eq!(good_events.len(), 18_000);

    // A gzip file cut in the middle, on another day so its windows are apart.
    let whole_gz = generate(
        &dir.path().join("whole.jsonl.gz"),
        &[
            "--count",
            "20000",
            "--rate",
            "200",
            "--seed",
            "84",
            "--start",
            "2026-01-02T00:00:00Z",
        ],
    );
    let whole = fs::read(&whole_gz).expect("read");
    let mut trunc_plain = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&whole[..]),
        &mut trunc_plain,
    )
    .expect("gunzip");
    let trunc_events = parse_input(&trunc_plain, MAX_DEFAULT).events;
    assert_eq!(trunc_events.len(), 20_000);
    let day2 = rfc3339_ns("2026-01-02T00:00:00Z").expect("day2");
    assert!(
        good_events.iter().all(|e| e.t_ns < day2) && trunc_events.iter().all(|e| e.t_ns >= day2)
    );
    let truncated = dir.path().join("truncated.gz");
    let cut = whole.len() / 2;
    fs::write(&truncated, &whole[..cut]).expect("write");
    let missing = dir.path().join("no-such-file.jsonl");

    let (r, out) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &[],
        &[&p(&logs), &p(&missing), &p(&truncated)],
        None,
    );
    r.assert_code(2, "backfill with a missing and a truncated input");
    assert!(
        r.stderr.lines().any(|l| l.contains(&p(&missing))),
        "stderr must name the missing input {}:\n{}",
        missing.display(),
        r.stderr
    );
    let trunc_line = r
        .stderr
        .lines()
        .find(|l| l.contains(&p(&truncated)) && l.contains("byte"))
        .unwrap_or_else(|| {
            panic!(
                "stderr must name the truncated input with a byte offset:\n{}",
                r.stderr
            )
        });
    let offset: u64 = trunc_line
        .split("byte ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no byte offset in: {trunc_line}"));
    assert!(
        offset <= cut as u64,
        "offset {offset} is beyond the truncated file's {cut} bytes"
    );

    let recs = window_records(&out);
    let (day1, day2_recs): (Vec<Value>, Vec<Value>) = recs.into_iter().partition(|v| {
        v["window_start"]
            .as_str()
            .and_then(rfc3339_ns)
            .expect("window_start")
            < day2
    });
    // Every line of the good inputs (all three, nested) counted exactly.
    let exp = expected(&good_events, None, None);
    assert_input_exercises_every_sli(&exp);
    assert_records(&day1, &exp);

    // From the truncated file: exactly the lines decompressed before the cut,
    // i.e. a prefix of its lines (all-errors counts every event).
    let counted: u64 = day2_recs
        .iter()
        .filter(|v| v["sli"] == "all-errors")
        .map(|v| v["total"].as_u64().expect("total"))
        .sum();
    assert!(
        counted <= trunc_events.len() as u64,
        "counted {counted} events of a 20000-line file"
    );
    assert!(
        counted < trunc_events.len() as u64,
        "a truncated file cannot have given all its lines"
    );
    assert_records(
        &day2_recs,
        &expected(&trunc_events[..counted as usize], None, None),
    );
}

// 9 -------------------------------------------------------------------------

#[test]
fn without_output_records_are_appended_to_the_file_sink() {
    let dir = tmp();
    // The config lives in a subdirectory: the sink's relative path is
    // resolved from the current directory, not the config's.
    let conf_dir = dir.path().join("conf");
    fs::create_dir_all(&conf_dir).expect("mkdir");
    let cfg = write_config(&conf_dir, None);
    let input = generate(
        &dir.path().join("in.jsonl"),
        &gen_args("10000", "200", "91"),
    );
    let exp = expected(
        &parse_input(&fs::read(&input).expect("read"), MAX_DEFAULT).events,
        None,
        None,
    );
    let args = ["backfill", "-c", &p(&cfg), &p(&input)];

    let r1 = slipstream(&args, Some(dir.path()), None);
    r1.assert_code(0, "first backfill to the file sink");
    let sink = dir.path().join("records.jsonl");
    let first = fs::read(&sink).expect("the file sink was written in the current directory");
    assert_records(&window_records(&first), &exp);
    assert!(
        !conf_dir.join("records.jsonl").exists(),
        "the sink path is relative to the current directory"
    );

    let r2 = slipstream(&args, Some(dir.path()), None);
    r2.assert_code(0, "second backfill to the file sink");
    let second = fs::read(&sink).expect("read sink");
    assert!(
        second == [first.as_slice(), first.as_slice()].concat(),
        "a second run appends the same records"
    );
}

/// The `slo` record after each window carries the objective's period sums
/// and burn rates, computed here from the oracle's window counts.
#[test]
fn slo_records_follow_every_window_with_exact_budgets() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let input = generate(&dir.path().join("in.jsonl"), &gen_args("60000", "200", "5"));
    let parsed = parse_input(&fs::read(&input).expect("read input"), MAX_DEFAULT);
    let exp = expected(&parsed.events, None, None);
    let (run, out) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &[],
        &[&p(&input)],
        None,
    );
    run.assert_code(0, "backfill");
    let slos: Vec<Value> = records(&out)
        .into_iter()
        .filter(|r| r["kind"] == "slo")
        .collect();
    // Only checkout-availability (sli 0) has an objective: target 0.999 over 28d.
    let mut checkout: Vec<(i64, u64, u64)> = exp
        .iter()
        .filter(|e| e.sli == 0)
        .map(|e| (e.start_ns, e.good, e.bad))
        .collect();
    checkout.sort();
    let all_windows: std::collections::BTreeSet<i64> = exp.iter().map(|e| e.start_ns).collect();
    assert_eq!(slos.len(), all_windows.len(), "one slo record per window");
    for (rec, &start) in slos.iter().zip(all_windows.iter()) {
        let at = start + 60_000_000_000;
        assert_eq!(rec["sli"], "checkout-availability");
        assert_eq!(rfc3339_ns(rec["at"].as_str().unwrap()), Some(at));
        let (g, b) = checkout
            .iter()
            .filter(|(s, _, _)| *s < at)
            .fold((0, 0), |(g, b), (_, wg, wb)| (g + wg, b + wb));
        assert_eq!(
            (rec["good"].as_u64(), rec["bad"].as_u64()),
            (Some(g), Some(b))
        );
        let allowed = 0.001 * (g + b) as f64;
        let close =
            |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() <= 1e-6 * want.abs().max(1.0);
        assert!(close(&rec["budget"]["allowed"], allowed), "{rec}");
        assert_eq!(rec["budget"]["spent"].as_u64(), Some(b));
        assert!(
            close(&rec["budget"]["remaining"], allowed - b as f64),
            "{rec}"
        );
        let (g5, b5) = checkout
            .iter()
            .filter(|(s, _, _)| *s >= at - 300_000_000_000 && *s < at)
            .fold((0, 0), |(g, b), (_, wg, wb)| (g + wg, b + wb));
        let burn = (b5 as f64 / (g5 + b5) as f64) / 0.001;
        assert!(close(&rec["burn_rate"]["5m"], burn), "5m burn {rec}");
        assert_eq!(rec["objective"]["window"], "28d");
    }
}

/// Timeslice objectives: a minute is good when its rule holds. The slices
/// are decided here from how the input was made (which minutes got slow
/// requests or errors), not from the window records.
#[test]
fn timeslice_objectives_count_good_minutes() {
    let dir = tmp();
    let cfg = dir.path().join("slices.toml");
    fs::write(
        &cfg,
        r#"
[decode.fields]
timestamp = "ts"
status = "code"
latency = "dur"
latency_unit = "us"

[window]
size = "1m"

[[sli]]
name = "p99-slices"
good = 'code < 500'
percentiles = [0.5, 0.99]
[sli.objective]
target = 0.9
window = "1d"
method = "timeslices"
slice = "p99 <= 300ms"

[[sli]]
name = "compliance-slices"
good = 'code < 500'
[sli.objective]
target = 0.9
window = "1d"
method = "timeslices"
"#,
    )
    .expect("write config");
    let base_ms: i64 = 1_772_323_200_000; // 2026-03-01T00:00:00Z
    let mut rng = Rng::new(99);
    let mut lines = Vec::new();
    // Per minute: Some(p99 slice good?), Some(compliance slice good?).
    let mut slices: Vec<(i64, Option<bool>, Option<bool>)> = Vec::new();
    for m in 0..120i64 {
        let kind = rng.below(6);
        if kind == 0 {
            continue; // an empty minute: no slice at all
        }
        let slow = kind == 1 || kind == 2; // 10 of 200 requests at 900 ms
        let failing = kind == 2 || kind == 3; // 30 of 200 fail: 85% < 90%
        let no_latency = kind == 4 && m % 2 == 0; // nothing carries a latency
        for i in 0..200i64 {
            let ts = base_ms + m * 60_000 + i * 250;
            let code = if failing && i % 20 < 3 { 503 } else { 200 };
            let dur_us = if slow && i % 20 == 7 {
                900_000
            } else {
                20_000 + (rng.below(130_000) as i64)
            };
            let ev = if no_latency {
                json!({"ts": ts, "code": code})
            } else {
                json!({"ts": ts, "code": code, "dur": dur_us})
            };
            lines.push(ev.to_string());
        }
        let p99 = (!no_latency).then_some(!slow);
        slices.push((
            base_ms * 1_000_000 + m * 60_000_000_000,
            p99,
            Some(!failing),
        ));
    }
    let mut shuffled = lines.clone();
    rng.shuffle(&mut shuffled);
    let input = dir.path().join("in.jsonl");
    fs::write(&input, join_lines(&shuffled)).expect("write input");

    let (run, out) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &[],
        &[&p(&input)],
        None,
    );
    run.assert_code(0, "backfill");
    let slos: Vec<Value> = records(&out)
        .into_iter()
        .filter(|r| r["kind"] == "slo")
        .collect();
    for (sli, pick) in [("p99-slices", 0usize), ("compliance-slices", 1)] {
        let mine: Vec<&Value> = slos.iter().filter(|r| r["sli"] == sli).collect();
        assert_eq!(mine.len(), slices.len(), "{sli}: one slo record per window");
        let mut bad_seen = 0;
        for rec in mine {
            let at = rfc3339_ns(rec["at"].as_str().expect("at")).expect("at");
            let (good, bad) = slices
                .iter()
                .filter(|s| s.0 < at)
                .map(|s| if pick == 0 { s.1 } else { s.2 })
                .fold((0u64, 0u64), |(g, b), v| match v {
                    Some(true) => (g + 1, b),
                    Some(false) => (g, b + 1),
                    None => (g, b),
                });
            assert_eq!(
                (rec["good"].as_u64(), rec["bad"].as_u64()),
                (Some(good), Some(bad)),
                "{sli} at {}",
                rec["at"]
            );
            assert_eq!(rec["objective"]["method"], "timeslices");
            bad_seen = bad;
        }
        assert!(bad_seen > 5, "{sli}: the input must have bad slices");
    }
    let p99 = slos.iter().find(|r| r["sli"] == "p99-slices").expect("slo");
    assert_eq!(p99["objective"]["slice"], "p99 <= 300ms");
}

/// An alert backtest over a generated month: `slipstream gen` with three
/// scripted incidents on search (a fast burn, a slow burn, a long low
/// burn), backfilled with a 99% objective over 30 days. The pages and
/// tickets are those of a reference computed here from the raw events —
/// per-minute counts, burn rates by plain sums over the Workbook's window
/// pairs and thresholds, the firing/resolved rules of the contract — at the
/// same minutes, and they are the ones the script implies: each incident
/// alerts once, at the expected severity, and resolves.
#[test]
fn alert_backtest_over_a_generated_month() {
    let dir = tmp();
    let cfg = dir.path().join("month.toml");
    fs::write(
        &cfg,
        r#"
[decode.fields]
latency = "latency_ms"

[[sli]]
name = "search-availability"
filter = 'service == "search"'
good = 'status < 500'
[sli.objective]
target = 0.99
window = "30d"
"#,
    )
    .expect("write config");
    const MIN: i64 = 60 * NS_PER_S;
    let base = rfc3339_ns("2026-03-01T00:00:00Z").expect("base");
    let minutes = 30 * 1440;
    let incidents = [
        // (start, duration in minutes, severity it must raise)
        ("2026-03-03T10:00:00Z", 30, "page"), // 50% errors: the 1h/5m pair
        ("2026-03-10T06:00:00Z", 300, "page"), // 10%: the 6h/30m pair
        ("2026-03-17T00:00:00Z", 2880, "ticket"), // 2.5%: the 3d/6h pair
    ];
    let input = generate(
        &dir.path().join("month.jsonl.gz"),
        &[
            "--count",
            &(minutes * 60 * 4 / 10).to_string(), // 0.4 events/s
            "--rate",
            "0.4",
            "--seed",
            "30",
            "--start",
            "2026-03-01T00:00:00Z",
            "--incident",
            "kind=errors,start=2026-03-03T10:00:00Z,duration=30m,rate=0.5,service=search",
            "--incident",
            "kind=errors,start=2026-03-10T06:00:00Z,duration=5h,rate=0.1,service=search",
            "--incident",
            "kind=errors,start=2026-03-17T00:00:00Z,duration=48h,rate=0.025,service=search",
        ],
    );

    // The reference: good and bad search events per minute, from the input.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(fs::File::open(&input).expect("input")),
        &mut text,
    )
    .expect("gunzip");
    let n = minutes as usize + 2;
    let (mut good, mut bad) = (vec![0i64; n], vec![0i64; n]);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        if v["service"] != "search" {
            continue;
        }
        let t = rfc3339_ns(v["timestamp"].as_str().expect("timestamp")).expect("time");
        let m = ((t - base).div_euclid(MIN)) as usize;
        if v["status"].as_i64().expect("status") < 500 {
            good[m] += 1;
        } else {
            bad[m] += 1;
        }
    }
    drop(text);
    let last = (0..n)
        .rev()
        .find(|&m| good[m] + bad[m] > 0)
        .expect("events");
    // Burn rate over the `span` minutes ending with minute `end` (exclusive).
    let burn = |end: usize, span: usize| -> (i64, Option<f64>) {
        let from = end.saturating_sub(span);
        let (g, b): (i64, i64) = (good[from..end].iter().sum(), bad[from..end].iter().sum());
        (
            g + b,
            (g + b > 0).then(|| (b as f64 / (g + b) as f64) / 0.01),
        )
    };
    // The Workbook's pairs for a 30-day objective: (severity, long, short, threshold).
    let rules = [
        ("page", 60, 5, 14.4),
        ("page", 360, 30, 6.0),
        ("ticket", 1440, 120, 3.0),
        ("ticket", 4320, 360, 1.0),
    ];
    let mut reference: Vec<(String, String, i64)> = Vec::new(); // (severity, state, at)
    let mut open: BTreeMap<&str, (i64, i64)> = BTreeMap::new(); // severity -> (start, last true)
    for end in 1..=last {
        let at = base + end as i64 * MIN;
        for severity in ["page", "ticket"] {
            let holds = rules.iter().filter(|r| r.0 == severity).any(|r| {
                let (valid, long) = burn(end, r.1);
                let (_, short) = burn(end, r.2);
                valid >= 100 && long.is_some_and(|l| l > r.3) && short.is_some_and(|s| s > r.3)
            });
            let suppressed = severity == "ticket" && open.contains_key("page");
            match open.get_mut(severity) {
                None if holds && !suppressed => {
                    open.insert(severity, (at, at));
                    reference.push((severity.into(), "firing".into(), at));
                }
                Some(inc) if holds => inc.1 = at,
                Some(inc) if at - inc.1 >= 10 * MIN => {
                    open.remove(severity);
                    reference.push((severity.into(), "resolved".into(), at));
                }
                _ => {}
            }
        }
    }

    let (run, out) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &[],
        &[&p(&input)],
        None,
    );
    run.assert_code(0, "backfill of the month");
    let alerts: Vec<Value> = records(&out)
        .into_iter()
        .filter(|r| r["kind"] == "alert")
        .collect();
    let got: Vec<(String, String, i64)> = alerts
        .iter()
        .map(|a| {
            (
                a["severity"].as_str().expect("severity").to_string(),
                a["state"].as_str().expect("state").to_string(),
                rfc3339_ns(a["at"].as_str().expect("at")).expect("at"),
            )
        })
        .collect();
    let show = |v: &[(String, String, i64)]| -> Vec<String> {
        v.iter()
            .map(|(s, st, at)| format!("{s} {st} {}", fmt_rfc3339(*at)))
            .collect()
    };
    assert_eq!(show(&got), show(&reference), "alerts against the reference");

    // What the script implies: one firing and one resolution per incident,
    // firing during the incident, resolved within a day of its end.
    assert_eq!(got.len(), 2 * incidents.len(), "{:?}", show(&got));
    for (pair, (start, duration, severity)) in got.chunks(2).zip(incidents) {
        let start = rfc3339_ns(start).expect("start");
        let end = start + duration * MIN;
        assert_eq!(
            (pair[0].0.as_str(), pair[0].1.as_str()),
            (severity, "firing")
        );
        assert_eq!(
            (pair[1].0.as_str(), pair[1].1.as_str()),
            (severity, "resolved")
        );
        assert!(start < pair[0].2 && pair[0].2 <= end, "{:?}", show(pair));
        assert!(
            end < pair[1].2 && pair[1].2 <= end + 1440 * MIN,
            "{:?}",
            show(pair)
        );
    }
    for a in &alerts {
        let summary = a["summary"].as_str().expect("summary");
        assert!(summary.starts_with("search-availability "), "{summary}");
        assert!(summary.contains(" of the 30-day budget"), "{summary}");
        if a["state"] == "firing" {
            // The burn rate as the record has it: whole from 100x, one
            // decimal from 2x, two below, without trailing zeros; and the
            // pair that fired.
            let burn = a["burn_rate_long"].as_f64().expect("burn_rate_long");
            let rate = match burn {
                b if b >= 100.0 => format!("{b:.0}"),
                b if b >= 2.0 => format!("{b:.1}"),
                b => format!("{b:.2}"),
            };
            let rate = if rate.contains('.') {
                rate.trim_end_matches('0').trim_end_matches('.')
            } else {
                &rate
            };
            let shown = format!(
                "{rate}x the sustainable rate over {} and {}",
                a["long_window"].as_str().expect("long_window"),
                a["short_window"].as_str().expect("short_window")
            );
            assert!(summary.contains(&shown), "{shown}: {summary}");
            assert!(summary.contains(" spent over the last "), "{summary}");
        } else {
            assert!(
                summary.contains("the incident that started at "),
                "{summary}"
            );
            assert!(
                summary.contains("no longer burns its error budget above "),
                "{summary}"
            );
        }
        let want = rules
            .iter()
            .find(|r| a["long_window"] == humantime_minutes(r.1))
            .expect("a Workbook rule")
            .3;
        assert!(
            (a["threshold"].as_f64().expect("threshold") - want).abs() < 1e-9,
            "{a}"
        );
    }
}

fn humantime_minutes(m: usize) -> String {
    match m {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

/// Exit statuses scripts can tell apart: 0 for help, 1 for a usage or
/// configuration error, 2 only for input that could not be read.
#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let dir = tmp();
    let no_config = slipstream(&["backfill", "x.jsonl"], Some(dir.path()), None);
    no_config.assert_code(1, "backfill without -c");
    assert!(
        no_config.stderr.contains("--config"),
        "{}",
        no_config.stderr
    );
    let unknown = slipstream(&["backfil"], Some(dir.path()), None);
    unknown.assert_code(1, "an unknown command");
    let help = slipstream(&["help", "backfill"], Some(dir.path()), None);
    help.assert_code(0, "help");
    assert!(String::from_utf8_lossy(&help.stdout).contains("--output"));
    let cfg = write_config(dir.path(), None);
    let cfg = p(&cfg);
    let backfill_with = |extra: &[&str]| {
        let mut args = vec!["backfill", "-c", &cfg, "--output", "out.jsonl"];
        args.extend_from_slice(extra);
        slipstream(&args, Some(dir.path()), None)
    };
    backfill_with(&["no-such-file.jsonl"]).assert_code(2, "a missing input");
    let empty_range = backfill_with(&[
        "--from",
        "2026-01-02T00:00:00Z",
        "--to",
        "2026-01-01T00:00:00Z",
        "x.jsonl",
    ]);
    empty_range.assert_code(1, "--from after --to");
    assert!(
        empty_range.stderr.contains("is not before --to"),
        "{}",
        empty_range.stderr
    );
    let no_rate = slipstream(&["demo", "--rate", "0"], Some(dir.path()), None);
    no_rate.assert_code(1, "demo --rate 0");
    assert!(
        no_rate.stderr.contains("--rate 0 is no rate"),
        "{}",
        no_rate.stderr
    );
}

#[test]
fn a_directory_read_is_not_fed_this_runs_own_output() {
    let dir = tmp();
    let logs = dir.path().join("logs");
    fs::create_dir_all(&logs).expect("mkdir");
    let cfg = write_config(dir.path(), None);
    let mut events = Vec::new();
    for (name, seed) in [("a.jsonl", "5"), ("b.jsonl", "6")] {
        let file = generate(&logs.join(name), &gen_args("3000", "100", seed));
        events.extend(parse_input(&fs::read(file).expect("read"), MAX_DEFAULT).events);
    }
    let exp = expected(&events, None, None);

    // --output inside the directory read: its staged copy while the run
    // lasts, and the file itself on the next run, are not input.
    let out = logs.join("out.jsonl");
    for run in ["first", "second"] {
        let (r, bytes) = backfill(&cfg, &out, &[], &[&p(&logs)], None);
        r.assert_code(0, &format!("{run} backfill into the directory it reads"));
        assert!(
            r.stderr.contains("Read 2 input(s)"),
            "{run} run read other files than the two logs:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("; 0 rejected."),
            "{run} run rejected lines:\n{}",
            r.stderr
        );
        assert_records(&window_records(&bytes), &exp);
    }

    // The file sink and the dead letters in the directory read, without
    // --output: the second run reads the logs alone, and appends the same
    // records and the one dead letter again.
    fs::write(logs.join("c.log"), "not json\n").expect("write c.log");
    let sink_cfg = dir.path().join("sink.toml");
    let text = config_text(None)
        .replace("path = \"records.jsonl\"", "path = \"logs/records.jsonl\"")
        + "\n[dead_letter]\ntype = \"file\"\npath = \"logs/dead.jsonl\"\n";
    fs::write(&sink_cfg, text).expect("write config");
    fs::remove_file(&out).expect("remove out.jsonl");
    let args = ["backfill", "-c", &p(&sink_cfg), "logs"];
    let mut sink = Vec::new();
    for (run, letters) in [("first", 1), ("second", 2)] {
        let r = slipstream(&args, Some(dir.path()), None);
        r.assert_code(
            0,
            &format!("{run} backfill to a file sink in the directory it reads"),
        );
        assert!(
            r.stderr.contains("Read 3 input(s)"),
            "{run} run read other files than the three logs:\n{}",
            r.stderr
        );
        sink = fs::read(logs.join("records.jsonl")).expect("the file sink was written");
        let dead = fs::read_to_string(logs.join("dead.jsonl")).expect("dead letters written");
        assert_eq!(
            dead.lines().count(),
            letters,
            "{run} run's dead letters:\n{dead}"
        );
    }
    let records = window_records(&sink);
    let half = records.len() / 2;
    assert_eq!(
        records[..half],
        records[half..],
        "the second run appends what the first wrote"
    );
    assert_records(&records[..half], &exp);
}
