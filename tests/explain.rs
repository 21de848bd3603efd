//! `slipstream explain` on hand-written lines: what each line decodes to and
//! how every SLI judges it, checked against verdicts worked out by hand.

// Helpers outside `#[test]` functions unwrap too: a failure is the test's.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_slipstream");

const CONFIG: &str = r#"
[[sli]]
name = "checkout-availability"
filter = 'service == "checkout"'
good = 'status < 500'

[[sli]]
name = "checkout-latency"
filter = 'service == "checkout"'
good = 'latency <= 300ms'

[[sli]]
name = "search"
filter = 'service == "search"'
good = 'status < 500'
"#;

const LINES: &str = concat!(
    r#"{"timestamp":"2026-11-27T10:00:01+09:00","status":503,"latency":120.5,"service":"checkout"}"#,
    "\n\n",
    "GET /index.html HTTP/1.1 200\n",
    r#"{"status":200,"service":"checkout"}"#,
    "\n",
    r#"{"timestamp":"2026-11-27T10:00:02Z","status":200,"service":"checkout"}"#,
    "\n",
    r#"{"timestamp":"2026-11-27T10:00:03Z","status":200,"latency":40,"service":"search"}"#,
    "\n",
);

fn explain(lines: Option<usize>) -> (String, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("explain").arg("-c").arg(&config);
    if let Some(n) = lines {
        cmd.arg("--lines").arg(n.to_string());
    }
    let mut child = cmd
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(LINES.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.success(),
    )
}

/// `slipstream explain -c CONFIG FILE` over a file holding `content`;
/// `config` is a path, or `None` for [`CONFIG`]. Returns stdout.
fn explain_file(config: Option<&str>, content: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = match config {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let path = dir.path().join("c.toml");
            std::fs::write(&path, CONFIG).unwrap();
            path
        }
    };
    let input = dir.path().join("input.log");
    std::fs::write(&input, content).unwrap();
    let out = Command::new(BIN)
        .args(["explain", "-c"])
        .arg(&config)
        .arg(&input)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The output line of `sli` under the explanation of input line `n`.
fn verdict_line<'a>(out: &'a str, n: usize, sli: &str) -> &'a str {
    let start = out
        .find(&format!("line {n}:"))
        .unwrap_or_else(|| panic!("no line {n} in:\n{out}"));
    out[start..]
        .lines()
        .skip(1)
        .find(|l| l.trim_start().starts_with(sli))
        .unwrap_or_else(|| panic!("no verdict of {sli} for line {n} in:\n{out}"))
}

#[test]
fn each_line_is_decoded_and_judged_with_its_reason() {
    let (out, err, ok) = explain(None);
    assert!(ok, "{err}");
    // Line 1: +09:00 becomes UTC; 503 is bad; 120.5 ms is within 300 ms.
    assert!(
        out.contains("line 1: 2026-11-27T01:00:01Z  status 503  latency 120.5 ms"),
        "{out}"
    );
    let l = verdict_line(&out, 1, "checkout-availability");
    assert!(l.contains(" bad ") && l.contains("status = 503"), "{l}");
    let l = verdict_line(&out, 1, "checkout-latency");
    assert!(
        l.contains(" good ") && l.contains("latency = 120.5 ms"),
        "{l}"
    );
    let l = verdict_line(&out, 1, "search");
    assert!(
        l.contains(" - ") && l.contains(r#"service = "checkout""#),
        "{l}"
    );
    // Line 2 is blank; line 3 is not JSON; line 4 has no timestamp field.
    assert!(
        out.contains("line 2: blank, skipped (backfill and run count it as `blank`)"),
        "{out}"
    );
    assert!(out.contains("line 3: rejected (not_json)"), "{out}");
    assert!(out.contains("GET /index.html HTTP/1.1 200"), "{out}");
    assert!(
        !out.contains("looks like the"),
        "no format reads line 3:\n{out}"
    );
    assert!(out.contains("line 4: rejected (no_timestamp)"), "{out}");
    assert!(out.contains("the field `timestamp` is missing"), "{out}");
    // Line 5: no latency, so the latency SLI cannot decide.
    let l = verdict_line(&out, 5, "checkout-latency");
    assert!(
        l.contains(" invalid ") && l.contains("latency missing"),
        "{l}"
    );
    let l = verdict_line(&out, 5, "checkout-availability");
    assert!(l.contains(" good "), "{l}");
    // Line 6 belongs to search only.
    assert!(verdict_line(&out, 6, "search").contains(" good "), "{out}");
    assert!(
        verdict_line(&out, 6, "checkout-latency").contains(" - "),
        "{out}"
    );
    // The tally: 5 non-blank lines, 2 rejected.
    assert!(
        out.contains("5 line(s) explained: 3 decoded, 2 rejected, 1 not_json, 1 no_timestamp; 1 blank line(s) skipped"),
        "{out}"
    );
    assert!(
        out.contains("checkout-latency: matched 2 — 1 good, 0 bad, 1 invalid"),
        "{out}"
    );
    assert!(
        out.contains("checkout-availability: matched 2 — 1 good, 1 bad, 0 invalid"),
        "{out}"
    );
}

#[test]
fn lines_limits_the_lines_explained() {
    let (out, err, ok) = explain(Some(2));
    assert!(ok, "{err}");
    assert!(out.contains("line 3: rejected"), "{out}");
    assert!(!out.contains("line 4:"), "{out}");
    assert!(out.contains("2 line(s) explained"), "{out}");
}

#[test]
fn a_missing_input_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = Command::new(BIN)
        .args(["explain", "-c"])
        .arg(&config)
        .arg(dir.path().join("acess.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acess.log"), "{err}");
}

#[test]
fn a_rule_that_cannot_decide_names_the_type_it_found() {
    let out = explain_file(
        None,
        "{\"timestamp\":\"2026-11-27T10:00:01Z\",\"status\":200,\"latency\":true,\"service\":\"checkout\"}\n",
    );
    let l = verdict_line(&out, 1, "checkout-latency");
    assert!(
        l.contains(" invalid ") && l.contains("latency = true, a boolean"),
        "{l}"
    );
    assert!(out.contains("latency true (not a latency)"), "{out}");
}

#[test]
fn a_line_of_another_format_is_named() {
    // nginx's `combined`, as nginx writes it.
    let out = explain_file(
        None,
        "203.0.113.7 - - [27/Nov/2026:10:00:01 +0900] \"GET /api/checkout HTTP/1.1\" 503 12 \"-\" \"curl/8.5.0\"\n",
    );
    assert!(out.contains("line 1: rejected (not_json)"), "{out}");
    assert!(
        out.contains("looks like the `nginx` format") && out.contains("format = \"nginx\""),
        "{out}"
    );
}

#[test]
fn an_nginx_line_is_explained_with_nginx_names() {
    let out = explain_file(
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/config/nginx.toml")),
        "2001:db8::1 - - [27/Nov/2026:10:00:01 +0900] \"GET /api/checkout?x=1 HTTP/1.1\" 503 12 \"-\" \"curl/8.5.0\" 0.123 shop.example\n",
    );
    // +09:00 to UTC; $request_time is in seconds.
    assert!(
        out.contains("line 1: 2026-11-27T01:00:01Z  status 503  latency 123 ms"),
        "{out}"
    );
    assert!(
        out.contains(r#"request_uri = "/api/checkout?x=1""#),
        "{out}"
    );
    let l = verdict_line(&out, 1, "api-availability");
    assert!(l.contains(" bad ") && l.contains("status = 503"), "{l}");
    let l = verdict_line(&out, 1, "api-latency");
    assert!(
        l.contains(" good ") && l.contains("latency = 0.123 s"),
        "{l}"
    );
}
