//! Hostile and careless input at the edges: rules nested past any stack,
//! output to a reader that went away, blank lines, absurd values.

mod common;

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn a_rule_nested_twenty_thousand_deep_is_a_config_error_not_a_crash() {
    let dir = tmp();
    for (name, rule) in [
        (
            "parens",
            format!("{}status < 500{}", "(".repeat(20_000), ")".repeat(20_000)),
        ),
        ("bangs", format!("{}status < 500", "!".repeat(20_000))),
    ] {
        let cfg = dir.path().join(format!("{name}.toml"));
        fs::write(
            &cfg,
            format!("# a generated rule\n[[sli]]\nname = \"deep\"\ngood = '{rule}'\n"),
        )
        .expect("write config");
        let run = slipstream(&["validate", "-c", &p(&cfg)], None, None);
        run.assert_code(1, name);
        // The file, line and column of the first level too deep: the rule
        // starts at column 9 of line 4, and level 101 is its 101st character.
        let at = format!("{}:4:{}:", cfg.display(), 9 + 100);
        assert!(
            run.stderr.contains(&at),
            "{name}: no {at} in {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("more than 100 deep"),
            "{name}: {}",
            run.stderr
        );
        // Shown around the column, not 40,000 characters of it.
        assert!(
            run.stderr.len() < 1000,
            "{name}: {} bytes of error",
            run.stderr.len()
        );
    }
}

/// Runs `slipstream ARGS` with stdout a pipe that is closed after at most
/// `keep` bytes are read; returns the exit code and stderr.
fn with_closed_stdout(args: &[&str], keep: usize) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slipstream");
    let mut stdout = child.stdout.take().expect("stdout");
    if keep > 0 {
        let mut buf = vec![0; keep];
        let _ = stdout.read(&mut buf);
    }
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (child.wait().expect("wait").code(), stderr)
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let dir = tmp();
    let logs = generate(&dir.path().join("logs.jsonl"), &["--count", "3000"]);
    let cfg = write_config(dir.path(), None);
    let (cfg, logs) = (p(&cfg), p(&logs));
    let cases: [(&str, Vec<&str>, usize); 5] = [
        ("validate", vec!["validate", "-c", &cfg], 0),
        (
            "validate --effective",
            vec!["validate", "-c", &cfg, "--effective"],
            10,
        ),
        // Far more than a pipe holds: the write fails for certain.
        (
            "explain",
            vec!["explain", "-c", &cfg, "--lines", "3000", &logs],
            10,
        ),
        ("gen", vec!["gen", "--count", "200000", "--out", "-"], 10),
        (
            "validate, nothing read",
            vec!["validate", "-c", &cfg, "--effective"],
            0,
        ),
    ];
    for (what, args, keep) in cases {
        let (code, stderr) = with_closed_stdout(&args, keep);
        assert_eq!(code, Some(0), "{what}: stderr:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(!stderr.contains("error"), "{what}: {stderr}");
    }
}

#[test]
fn a_zstd_file_of_blank_lines_is_skipped_and_counted_without_dead_letters() {
    let dir = tmp();
    // A few hundred real events among three million blank lines (every
    // whitespace a line can hold), compressed to a few kilobytes.
    let events = gen_bytes(&["--count", "400", "--rate", "20"]);
    let event_lines: Vec<&[u8]> = split_lines(&events);
    let blanks: [&[u8]; 4] = [b"", b"  ", b"\t", b"\r"];
    let mut plain = Vec::new();
    let mut blank = 0u64;
    for (i, line) in event_lines.iter().enumerate() {
        plain.extend_from_slice(line);
        plain.push(b'\n');
        for k in 0..7_500 {
            plain.extend_from_slice(blanks[(i + k) % blanks.len()]);
            plain.push(b'\n');
            blank += 1;
        }
    }
    let input = dir.path().join("blank.jsonl.zst");
    fs::write(&input, zstd::encode_all(&plain[..], 19).expect("zstd")).expect("write");
    assert!(fs::metadata(&input).expect("size").len() < 100_000);

    let dead = dir.path().join("dead.jsonl");
    let cfg = dir.path().join("slipstream.toml");
    fs::write(
        &cfg,
        format!(
            "{}\n[dead_letter]\ntype = \"file\"\npath = '{}'\n",
            config_text(None),
            dead.display()
        ),
    )
    .expect("config");
    let (run, records) = backfill(
        &cfg,
        &dir.path().join("out.jsonl"),
        &[],
        &[&p(&input)],
        None,
    );
    run.assert_code(0, "backfill of blank lines");
    assert_eq!(
        summary_counts(&run.stderr),
        (event_lines.len() as u64, 0, 0),
        "accepted, outside, rejected: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("; {blank} blank or header line(s) skipped.")),
        "{}",
        run.stderr
    );
    assert_eq!(summary_rejects(&run.stderr)["blank"].0, blank);
    let letters = fs::read(&dead).unwrap_or_default();
    assert!(
        letters.is_empty(),
        "{} bytes of dead letters",
        letters.len()
    );

    // The windows are those of the events alone.
    let alone = dir.path().join("events.jsonl");
    fs::write(&alone, &events).expect("write");
    let (run, want) = backfill(
        &cfg,
        &dir.path().join("alone.jsonl"),
        &[],
        &[&p(&alone)],
        None,
    );
    run.assert_code(0, "backfill of the events alone");
    assert_eq!(window_records(&records), window_records(&want));
    assert!(!window_records(&want).is_empty());
}

#[test]
fn negative_huge_and_endless_latencies_are_invalid_with_the_reason() {
    let dir = tmp();
    // (latency as written, in ms; whether it is a latency with max_latency
    // at its default of an hour, and at 2h)
    let cases: [(&str, bool, bool); 9] = [
        ("12", true, true),
        ("0", true, true),
        ("-5", false, false),
        ("-0.001", false, false),
        ("3600000", true, true),
        ("3600000.5", false, true),
        ("7200001", false, false),
        ("1e300", false, false),
        ("1e400", false, false),
    ];
    let lines: String = cases
        .iter()
        .enumerate()
        .map(|(i, (ms, ..))| {
            format!("{{\"timestamp\":\"2026-01-01T00:00:{i:02}Z\",\"status\":200,\"latency_ms\":{ms}}}\n")
        })
        .collect();
    let input = dir.path().join("latencies.jsonl");
    fs::write(&input, lines).expect("write");
    for (max, column) in [(None, 1), (Some("2h"), 2)] {
        let decode = max.map_or(String::new(), |m| {
            format!("[decode]\nmax_latency = \"{m}\"\n")
        });
        let cfg = dir.path().join("lat.toml");
        fs::write(
            &cfg,
            format!(
                "{decode}[decode.fields]\nlatency = \"latency_ms\"\n\
                 [[sli]]\nname = \"fast\"\ngood = 'latency < 300ms'\n\
                 [[sli]]\nname = \"up\"\ngood = 'status < 500'\n"
            ),
        )
        .expect("config");
        let valid: Vec<f64> = cases
            .iter()
            .filter(|c| if column == 1 { c.1 } else { c.2 })
            .map(|c| c.0.parse().expect("a number"))
            .collect();
        let good = valid.iter().filter(|&&v| v < 300.0).count() as u64;
        let (run, out) = backfill(
            &cfg,
            &dir.path().join("out.jsonl"),
            &[],
            &[&p(&input)],
            None,
        );
        run.assert_code(0, "backfill");
        let windows = window_records(&out);
        let fast = windows.iter().find(|w| w["sli"] == "fast").expect("fast");
        assert_eq!(
            (
                fast["good"].as_u64(),
                fast["bad"].as_u64(),
                fast["invalid"].as_u64()
            ),
            (
                Some(good),
                Some(valid.len() as u64 - good),
                Some((cases.len() - valid.len()) as u64)
            ),
            "max_latency {max:?}: {fast}"
        );
        // Only latencies enter the percentiles, of every SLI.
        for w in &windows {
            assert_eq!(
                w["latency"]["count"].as_u64(),
                Some(valid.len() as u64),
                "{w}"
            );
            let top = valid.iter().cloned().fold(0.0, f64::max);
            assert_eq!(w["latency"]["max"].as_f64(), Some(top), "{w}");
        }
        // Said once, with the count of each kind and the first value.
        let invalid = cases.len() - valid.len();
        let said = run
            .stderr
            .lines()
            .find(|l| l.contains("that is no latency"))
            .unwrap_or_else(|| panic!("no latency warning:\n{}", run.stderr));
        assert!(
            said.starts_with(&format!("warning: {invalid} event(s)")),
            "{said}"
        );
        assert!(said.contains("2 below 0 (first -5)"), "{said}");
        assert!(said.contains("1 too large to be a number"), "{said}");
        let above = if column == 1 {
            "3 above max_latency (first 3600000.5)"
        } else {
            "2 above max_latency (first 7200001)"
        };
        assert!(said.contains(above), "{said}");
        // --strict makes the warning fail the run.
        let (strict, _) = backfill(
            &cfg,
            &dir.path().join("strict.jsonl"),
            &["--strict"],
            &[&p(&input)],
            None,
        );
        strict.assert_code(3, "backfill --strict");
    }
}

#[test]
fn durations_and_sizes_past_their_bounds_are_config_errors_naming_the_bound() {
    let dir = tmp();
    for (toml, field, bound) in [
        ("[window]\nsize = \"10000000d\"\n", "window.size", "366d"),
        (
            "[decode]\nmax_latency = \"400d\"\n",
            "decode.max_latency",
            "366d",
        ),
        (
            "[decode]\nmax_event_bytes = 9223372036854775807\n",
            "decode.max_event_bytes",
            "1073741824",
        ),
        (
            "[decode]\nmax_event_bytes = 1073741825\n",
            "decode.max_event_bytes",
            "1073741824",
        ),
    ] {
        let cfg = dir.path().join("bounds.toml");
        fs::write(
            &cfg,
            format!("{toml}[[sli]]\nname = \"up\"\ngood = 'status < 500'\n"),
        )
        .expect("config");
        let run = slipstream(&["validate", "-c", &p(&cfg)], None, None);
        run.assert_code(1, toml);
        assert!(
            run.stderr.contains(&format!("{}:2:", cfg.display())),
            "{toml}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(field), "{toml}: {}", run.stderr);
        assert!(run.stderr.contains(bound), "{toml}: {}", run.stderr);
    }
    // At the bounds, accepted.
    let cfg = dir.path().join("ok.toml");
    fs::write(
        &cfg,
        "[decode]\nmax_event_bytes = 1073741824\nmax_latency = \"366d\"\n[[sli]]\nname = \"up\"\ngood = 'status < 500'\n",
    )
    .expect("config");
    slipstream(&["validate", "-c", &p(&cfg)], None, None).assert_code(0, "at the bounds");
}
