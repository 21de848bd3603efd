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
