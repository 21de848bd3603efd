//! Hostile and careless input at the edges: rules nested past any stack,
//! output to a reader that went away, blank lines, absurd values.

mod common;

use std::fs;
use std::io::Read;
use std::process::{Command, Stdio};

use common::*;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

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
    let logs = gen(&dir.path().join("logs.jsonl"), &["--count", "3000"]);
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
