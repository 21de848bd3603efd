//! Helpers for the backfill integration tests: running the binary, and an
//! independent oracle that computes the expected window records from the
//! input bytes with serde_json, chrono and plain Rust predicates (none of the
//! crate's decoder, rules or window code).
//!
//! Why one long file: the oracle is one piece (the input's parsing, the
//! SLIs' predicates and the expected records computed from them) that must
//! agree with itself and owe nothing to the crate; the browser, history,
//! Kafka and PostgreSQL helpers are in files of their own.

#![allow(dead_code)]

pub mod archive;
pub mod azure;
pub mod browser;
pub mod gcs;
pub mod history;
pub mod kafka;
pub mod pg;
pub mod s3;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, SecondsFormat};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_slipstream");

pub const NS_PER_S: i64 = 1_000_000_000;
pub const WINDOW_NS: i64 = 60 * NS_PER_S;

// ---------------------------------------------------------------------------
// Configuration

/// The `[[sli]]` tables of the test configuration; [`slis`] is their oracle.
pub const SLIS_TOML: &str = r#"[[sli]]
name = "checkout-availability"
filter = 'service == "checkout"'
good = 'status < 500'
percentiles = [0.5, 0.9, 0.99, 0.999]
breakdown = ["http.route", "region", "no.such.field"]
breakdown_limit = 3
[sli.objective]
target = 0.999
window = "28d"

[[sli]]
name = "search-latency"
filter = 'service == "search" && http.route =~ "^/api/search"'
good = 'latency <= 100ms'

[[sli]]
name = "all-errors"
good = 'status < 500 && status != 429'

[[sli]]
name = "eu-fast"
filter = 'region in ["eu-west-1"]'
good = 'latency < 0.2s'
"#;

/// The test configuration. `decode_extra` goes into a `[decode]` table
/// (e.g. `max_event_bytes = 1000`).
pub fn config_text(decode_extra: Option<&str>) -> String {
    let decode = match decode_extra {
        Some(extra) => format!("[decode]\n{extra}\n"),
        None => String::new(),
    };
    format!(
        r#"{decode}[decode.fields]
latency = "latency_ms"

{SLIS_TOML}
[[sink]]
type = "file"
path = "records.jsonl"
"#
    )
}

pub fn write_config(dir: &Path, decode_extra: Option<&str>) -> PathBuf {
    let path = dir.join("slipstream.toml");
    std::fs::write(&path, config_text(decode_extra)).expect("write config");
    path
}

/// The default `decode.max_event_bytes`.
pub const MAX_DEFAULT: usize = 1_048_576;

/// Whether a server listens on loopback `port`. A connection counts only
/// when its two ends differ: the ports come from the ephemeral range, and a
/// connect to a port where nothing listens yet can pick that very port as
/// its own end and connect the socket to itself (a TCP simultaneous open).
pub fn listening(port: u16) -> bool {
    match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => matches!((s.local_addr(), s.peer_addr()), (Ok(l), Ok(p)) if l != p),
        Err(_) => false,
    }
}

/// Waits up to 60 s for `child`, a test server named `name`, to listen on
/// loopback `port`; panics with its `log` if it exits first.
pub fn wait_listening(child: &mut std::process::Child, port: u16, name: &str, log: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !listening(port) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{name} exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} did not start in 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// `n` lines that stand for records an earlier run wrote, with no final
/// line break when `ragged`.
pub fn old_lines(n: usize, ragged: bool) -> Vec<u8> {
    let mut text: String = (0..n)
        .map(|i| format!("{{\"kind\":\"note\",\"n\":{i}}}\n"))
        .collect();
    if ragged {
        text.pop();
    }
    text.into_bytes()
}

/// The names in `dir`, to see that no temporary file was left behind.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Running the binary

pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn assert_code(&self, code: i32, what: &str) {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: expected exit code {code}; stderr:\n{}",
            self.stderr
        );
    }
}

/// A path as a command-line argument.
pub fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Runs `slipstream ARGS...` with an optional working directory and stdin.
pub fn slipstream<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    cwd: Option<&Path>,
    stdin: Option<Vec<u8>>,
) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn slipstream");
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        std::thread::spawn(move || {
            // The binary may stop reading early on an error; ignore EPIPE.
            let _ = pipe.write_all(&data);
        })
    });
    let out = child.wait_with_output().expect("wait for slipstream");
    if let Some(w) = writer {
        w.join().expect("stdin writer");
    }
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `slipstream gen ARGS... --out PATH`; returns PATH.
pub fn generate(path: &Path, args: &[&str]) -> PathBuf {
    let mut all: Vec<String> = vec!["gen".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.push("--out".into());
    all.push(path.display().to_string());
    let r = slipstream(&all, None, None);
    r.assert_code(0, "slipstream gen");
    path.to_path_buf()
}

/// `slipstream gen ARGS... --out -`; returns the bytes.
pub fn gen_bytes(args: &[&str]) -> Vec<u8> {
    let mut all: Vec<String> = vec!["gen".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.push("--out".into());
    all.push("-".into());
    let r = slipstream(&all, None, None);
    r.assert_code(0, "slipstream gen");
    assert!(!r.stdout.is_empty(), "gen wrote nothing");
    r.stdout
}

/// `slipstream backfill -c CFG --output OUT EXTRA... INPUTS...`: the run
/// and the bytes of OUT (empty when it was not written).
pub fn backfill(
    cfg: &Path,
    out: &Path,
    extra: &[&str],
    inputs: &[&str],
    stdin: Option<Vec<u8>>,
) -> (Run, Vec<u8>) {
    let mut args: Vec<String> = vec![
        "backfill".into(),
        "-c".into(),
        cfg.display().to_string(),
        "--output".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|s| s.to_string()));
    let r = slipstream(&args, None, stdin);
    let bytes = std::fs::read(out).unwrap_or_default();
    (r, bytes)
}

/// Parses JSONL records.
pub fn records(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("records are UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "records must end with a newline"
    );
    text.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("record is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The alert records' spans from `firing` to `resolved` (open at the end:
/// `None`), merged where they overlap or touch, in time order: (start,
/// end, whether one of them paged). What a report calls one incident.
pub fn merged_alert_spans(recs: &[Value]) -> Vec<(i64, Option<i64>, bool)> {
    let time = |v: &Value| rfc3339_ns(v.as_str().expect("a time")).expect("RFC 3339");
    let mut open: BTreeMap<String, i64> = BTreeMap::new();
    let mut spans: Vec<(i64, Option<i64>, bool)> = Vec::new();
    for r in recs.iter().filter(|r| r["kind"] == "alert") {
        let sev = r["severity"].as_str().expect("severity").to_string();
        if r["state"] == "firing" {
            open.insert(sev, time(&r["at"]));
        } else {
            // Resolved without its firing record: it fired before the records.
            let start = open
                .remove(&sev)
                .unwrap_or_else(|| time(&r["incident_start"]));
            spans.push((start, Some(time(&r["at"])), sev == "page"));
        }
    }
    spans.extend(open.into_iter().map(|(sev, s)| (s, None, sev == "page")));
    spans.sort_by_key(|s| s.0);
    let mut merged: Vec<(i64, Option<i64>, bool)> = Vec::new();
    for (s, e, page) in spans {
        match merged.last_mut() {
            Some(last) if last.1.is_none_or(|end| s <= end) => {
                last.1 = last.1.zip(e).map(|(a, b)| a.max(b));
                last.2 |= page;
            }
            _ => merged.push((s, e, page)),
        }
    }
    merged
}

/// Parses JSONL records and keeps the `window` ones.
pub fn window_records(bytes: &[u8]) -> Vec<Value> {
    records(bytes)
        .into_iter()
        .filter(|r| r["kind"] == "window")
        .collect()
}

// ---------------------------------------------------------------------------
// A small deterministic PRNG (xorshift64*) for shuffling.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------
// Input lines

/// Splits bytes into lines the way a text file is read: `\n` ends a line,
/// and a final line without `\n` still counts.
pub fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    if data.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if data.ends_with(b"\n") {
        v.pop();
    }
    v
}

pub fn join_lines<L: AsRef<[u8]>>(lines: &[L]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.as_ref());
        out.push(b'\n');
    }
    out
}

/// One decoded event.
#[derive(Clone, Debug)]
pub struct Event {
    pub t_ns: i64,
    pub v: Value,
}

/// What the oracle made of an input.
#[derive(Default, Debug)]
pub struct Parsed {
    pub lines: u64,
    pub events: Vec<Event>,
    /// (reason, 1-based line number)
    pub rejects: Vec<(&'static str, u64)>,
}

impl Parsed {
    pub fn reject_counts(&self) -> BTreeMap<&'static str, (u64, u64)> {
        let mut m: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
        for &(r, line) in &self.rejects {
            let e = m.entry(r).or_insert((0, line));
            e.0 += 1;
            e.1 = e.1.min(line);
        }
        m
    }
}

/// RFC 3339 via chrono, in nanoseconds since the epoch.
pub fn rfc3339_ns(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok()?.timestamp_nanos_opt()
}

pub fn fmt_rfc3339(ns: i64) -> String {
    DateTime::from_timestamp(ns.div_euclid(NS_PER_S), ns.rem_euclid(NS_PER_S) as u32)
        .expect("time in range")
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The contract's `auto` timestamp: strings are RFC 3339, numbers by
/// magnitude (s < 1e11 <= ms < 1e14 <= us < 1e17 <= ns). Only integers here.
fn timestamp(v: &Value) -> Result<i64, &'static str> {
    match v {
        Value::Null => Err("no_timestamp"),
        Value::String(s) => rfc3339_ns(s).ok_or("bad_timestamp"),
        Value::Number(n) => {
            let i = n
                .as_i64()
                .expect("the oracle only handles integer Unix timestamps");
            let a = i.unsigned_abs();
            Ok(if a < 100_000_000_000 {
                i * NS_PER_S
            } else if a < 100_000_000_000_000 {
                i * 1_000_000
            } else if a < 100_000_000_000_000_000 {
                i * 1_000
            } else {
                i
            })
        }
        _ => Err("bad_timestamp"),
    }
}

/// Classifies every line of `data` (contract section "Input").
pub fn parse_input(data: &[u8], max_event_bytes: usize) -> Parsed {
    let mut p = Parsed::default();
    for (i, raw) in split_lines(data).into_iter().enumerate() {
        let line_no = i as u64 + 1;
        p.lines += 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let r = (|| {
            if line.len() > max_event_bytes {
                return Err("too_large");
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                return Err("blank");
            }
            let text = std::str::from_utf8(line).map_err(|_| "not_utf8")?;
            let v: Value = serde_json::from_str(text).map_err(|_| "not_json")?;
            let obj = v.as_object().ok_or("not_object")?;
            let t_ns = timestamp(obj.get("timestamp").unwrap_or(&Value::Null))?;
            Ok(Event { t_ns, v })
        })();
        match r {
            Ok(e) => p.events.push(e),
            Err(reason) => p.rejects.push((reason, line_no)),
        }
    }
    p
}

// ---------------------------------------------------------------------------
// The SLIs of the test configuration, as plain closures.

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.as_object()?.get(k))
}

fn string<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    get(v, path)?.as_str()
}

/// `status`: a number, or a (short) string of digits.
fn status(v: &Value) -> Option<f64> {
    match get(v, "status")? {
        Value::Number(n) => n.as_f64(),
        Value::String(s)
            if !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

/// `latency`, mapped to `latency_ms`, in milliseconds: a number, or a
/// plain decimal number written as a string (`"12"`, `"0.5"`), from 0 to
/// the default `max_latency` of an hour; any other number is no latency.
pub fn latency(v: &Value) -> Option<f64> {
    let ms = match get(v, "latency_ms")? {
        Value::String(s)
            if s.bytes().any(|b| b.is_ascii_digit())
                && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && s.matches('.').count() <= 1 =>
        {
            s.parse().ok()
        }
        other => other.as_f64(),
    }?;
    (0.0..=3_600_000.0).contains(&ms).then_some(ms)
}

pub struct Sli {
    pub name: &'static str,
    pub filter: fn(&Value) -> bool,
    /// `None`: the rule needed a missing or mistyped field (invalid).
    pub good: fn(&Value) -> Option<bool>,
    pub target: Option<f64>,
    /// (key, numerator, denominator)
    pub percentiles: &'static [(&'static str, u64, u64)],
    /// Breakdown fields, and how many values a record shows.
    pub breakdown: &'static [&'static str],
    pub breakdown_limit: usize,
}

const DEFAULT_PCTS: &[(&str, u64, u64)] = &[("p50", 1, 2), ("p90", 9, 10), ("p99", 99, 100)];

pub fn slis() -> Vec<Sli> {
    vec![
        Sli {
            name: "checkout-availability",
            filter: |v| string(v, "service") == Some("checkout"),
            good: |v| status(v).map(|s| s < 500.0),
            target: Some(0.999),
            percentiles: &[
                ("p50", 1, 2),
                ("p90", 9, 10),
                ("p99", 99, 100),
                ("p999", 999, 1000),
            ],
            breakdown: &["http.route", "region", "no.such.field"],
            breakdown_limit: 3,
        },
        Sli {
            name: "search-latency",
            filter: |v| {
                string(v, "service") == Some("search")
                    && string(v, "http.route").is_some_and(|r| r.starts_with("/api/search"))
            },
            good: |v| latency(v).map(|l| l <= 100.0),
            target: None,
            percentiles: DEFAULT_PCTS,
            breakdown: &[],
            breakdown_limit: 0,
        },
        Sli {
            name: "all-errors",
            filter: |_| true,
            good: |v| status(v).map(|s| s < 500.0 && s != 429.0),
            target: None,
            percentiles: DEFAULT_PCTS,
            breakdown: &[],
            breakdown_limit: 0,
        },
        Sli {
            name: "eu-fast",
            filter: |v| string(v, "region") == Some("eu-west-1"),
            good: |v| latency(v).map(|l| l < 200.0),
            target: None,
            percentiles: DEFAULT_PCTS,
            breakdown: &[],
            breakdown_limit: 0,
        },
    ]
}

// ---------------------------------------------------------------------------
// Expected window records

#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub sli: usize,
    pub start_ns: i64,
    pub total: u64,
    pub good: u64,
    pub bad: u64,
    pub invalid: u64,
    /// Latencies in ms, sorted.
    pub lat: Vec<f64>,
    /// Per breakdown field, bad events by the field's value.
    pub bad_by: Vec<BTreeMap<String, u64>>,
}

/// The expected window records for `events`, restricted to `from <= t < to`,
/// in record order (window start, then SLI order).
pub fn expected(events: &[Event], from: Option<i64>, to: Option<i64>) -> Vec<Expect> {
    let slis = slis();
    let mut windows: BTreeMap<i64, Vec<Expect>> = BTreeMap::new();
    for e in events {
        if from.is_some_and(|f| e.t_ns < f) || to.is_some_and(|t| e.t_ns >= t) {
            continue;
        }
        let start = e.t_ns.div_euclid(WINDOW_NS) * WINDOW_NS;
        let w = windows.entry(start).or_insert_with(|| {
            (0..slis.len())
                .map(|i| Expect {
                    sli: i,
                    start_ns: start,
                    ..Default::default()
                })
                .collect()
        });
        for (s, acc) in slis.iter().zip(w.iter_mut()) {
            if !(s.filter)(&e.v) {
                continue;
            }
            acc.total += 1;
            match (s.good)(&e.v) {
                Some(true) => acc.good += 1,
                Some(false) => {
                    acc.bad += 1;
                    acc.bad_by.resize(s.breakdown.len(), BTreeMap::new());
                    for (path, by) in s.breakdown.iter().zip(acc.bad_by.iter_mut()) {
                        let value = match get(&e.v, path) {
                            None | Some(Value::Null) => "(none)".to_string(),
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                        };
                        *by.entry(value).or_default() += 1;
                    }
                }
                None => acc.invalid += 1,
            }
            if let Some(l) = latency(&e.v).filter(|l| *l >= 0.0) {
                acc.lat.push(l);
            }
        }
    }
    let mut out = Vec::new();
    for (_, w) in windows {
        for mut acc in w {
            if acc.total > 0 {
                acc.lat.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
                out.push(acc);
            }
        }
    }
    out
}

/// Per-SLI sums of expected records: (windows, total, good, bad, invalid).
pub fn sli_totals(exp: &[Expect]) -> Vec<[u64; 5]> {
    let mut t = vec![[0u64; 5]; slis().len()];
    for e in exp {
        let r = &mut t[e.sli];
        r[0] += 1;
        r[1] += e.total;
        r[2] += e.good;
        r[3] += e.bad;
        r[4] += e.invalid;
    }
    t
}

fn key_of(v: &Value) -> String {
    format!(
        "{}@{}",
        v.get("sli").and_then(Value::as_str).unwrap_or("?"),
        v.get("window_start").and_then(Value::as_str).unwrap_or("?")
    )
}

/// Asserts that `actual` records are exactly the `expected` ones, in order.
pub fn assert_records(actual: &[Value], expected: &[Expect]) {
    let slis = slis();
    let actual_keys: Vec<String> = actual.iter().map(key_of).collect();
    let expected_keys: Vec<String> = expected
        .iter()
        .map(|e| format!("{}@{}", slis[e.sli].name, fmt_rfc3339(e.start_ns)))
        .collect();
    assert_eq!(
        actual_keys, expected_keys,
        "record keys (sli@window_start) in order"
    );
    for (a, e) in actual.iter().zip(expected) {
        assert_record(a, e, &slis[e.sli]);
    }
}

fn num(v: &Value, k: &str, ctx: &str) -> f64 {
    v.get(k)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{ctx}: `{k}` is not a number in {v}"))
}

fn uint(v: &Value, k: &str, ctx: &str) -> u64 {
    v.get(k)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{ctx}: `{k}` is not an unsigned integer in {v}"))
}

pub fn assert_record(a: &Value, e: &Expect, sli: &Sli) {
    let ctx = format!("{}@{}", sli.name, fmt_rfc3339(e.start_ns));
    let obj = a
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: record is not an object: {a}"));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let mut want: BTreeSet<&str> = [
        "kind",
        "sli",
        "window_start",
        "window_end",
        "total",
        "good",
        "bad",
        "invalid",
        "compliance",
        "target",
        "latency",
        "latency_histogram",
    ]
    .into_iter()
    .collect();
    if !sli.breakdown.is_empty() {
        want.insert("breakdown");
    }
    assert_eq!(keys, want, "{ctx}: record keys");
    for (i, path) in sli.breakdown.iter().enumerate() {
        let empty = BTreeMap::new();
        let by = e.bad_by.get(i).unwrap_or(&empty);
        let mut top: Vec<(&String, &u64)> = by.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let want_top: Vec<serde_json::Value> = top
            .iter()
            .take(sli.breakdown_limit)
            .map(|(v, n)| serde_json::json!({"value": v, "bad": n}))
            .collect();
        let field = &a["breakdown"][*path];
        // Far below the capacity: exact counts, the top `limit` shown.
        assert_eq!(
            field["exact"].as_bool(),
            Some(true),
            "{ctx}: {path}: {field}"
        );
        assert_eq!(
            field["distinct"].as_u64(),
            Some(by.len() as u64),
            "{ctx}: breakdown {path} distinct: {field}"
        );
        assert_eq!(
            field["top"].as_array(),
            Some(&want_top),
            "{ctx}: breakdown {path}"
        );
    }
    assert_eq!(a["kind"], "window", "{ctx}: kind");
    assert_eq!(a["sli"], sli.name, "{ctx}: sli");
    assert_eq!(
        a["window_start"].as_str(),
        Some(fmt_rfc3339(e.start_ns).as_str()),
        "{ctx}: window_start"
    );
    assert_eq!(
        a["window_end"].as_str(),
        Some(fmt_rfc3339(e.start_ns + WINDOW_NS).as_str()),
        "{ctx}: window_end"
    );
    let got = [
        uint(a, "total", &ctx),
        uint(a, "good", &ctx),
        uint(a, "bad", &ctx),
        uint(a, "invalid", &ctx),
    ];
    assert_eq!(
        got,
        [e.total, e.good, e.bad, e.invalid],
        "{ctx}: [total, good, bad, invalid]; record {a}"
    );
    let valid = e.good + e.bad;
    if valid == 0 {
        assert!(
            a["compliance"].is_null(),
            "{ctx}: compliance must be null without valid events: {a}"
        );
    } else {
        let want = e.good as f64 / valid as f64;
        let c = num(a, "compliance", &ctx);
        assert!(
            (c - want).abs() <= 1e-12,
            "{ctx}: compliance {c}, expected {want}"
        );
    }
    match sli.target {
        None => assert!(a["target"].is_null(), "{ctx}: target must be null: {a}"),
        Some(t) => assert_eq!(a["target"].as_f64(), Some(t), "{ctx}: target"),
    }
    assert_latency(&a["latency"], &e.lat, sli, &ctx);
    assert_histogram(&a["latency_histogram"], &e.lat, &ctx);
}

/// Reads a record's `latency_histogram` (HdrHistogram V2 compressed,
/// base64, microseconds) with the HdrHistogram library itself.
pub fn decode_histogram(text: &str) -> hdrhistogram::Histogram<u64> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("latency_histogram is not base64 ({e}): {text}"));
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut &bytes[..])
        .unwrap_or_else(|e| panic!("latency_histogram is not HdrHistogram V2 ({e:?}): {text}"))
}

/// The histogram holds exactly the latencies `v` (ms, sorted): its count,
/// and percentiles by the library's own rule within 1% (plus its one
/// microsecond of resolution) of the exact nearest-rank values.
fn assert_histogram(h: &Value, v: &[f64], ctx: &str) {
    if v.is_empty() {
        assert!(
            h.is_null(),
            "{ctx}: latency_histogram without latencies: {h}"
        );
        return;
    }
    let text = h
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: latency_histogram is not a string: {h}"));
    assert!(
        text.starts_with("HISTF"),
        "{ctx}: not V2 compressed: {text}"
    );
    let hist = decode_histogram(text);
    assert_eq!(hist.len(), v.len() as u64, "{ctx}: histogram count");
    for (q, n, d) in [(0.5, 1, 2), (0.9, 9, 10), (0.99, 99, 100)] {
        let exact = nearest_rank(v, n, d);
        let got = hist.value_at_quantile(q) as f64 / 1e3;
        assert!(
            (got - exact).abs() <= 0.01 * exact + 1e-3,
            "{ctx}: histogram p{q} = {got} ms, exact {exact} ms"
        );
    }
}

/// The latencies (ms, sorted) of the events that `sli`'s filter keeps.
pub fn sli_latencies(parsed: &Parsed, sli: &Sli) -> Vec<f64> {
    let mut v: Vec<f64> = parsed
        .events
        .iter()
        .filter(|e| (sli.filter)(&e.v))
        .filter_map(|e| latency(&e.v))
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Exact nearest rank: v[ceil(n * num / den) - 1].
pub fn nearest_rank(sorted: &[f64], num: u64, den: u64) -> f64 {
    let n = sorted.len() as u64;
    let rank = (n * num).div_ceil(den).clamp(1, n);
    sorted[rank as usize - 1]
}

fn assert_latency(l: &Value, v: &[f64], sli: &Sli, ctx: &str) {
    if v.is_empty() {
        assert!(
            l.is_null(),
            "{ctx}: latency must be null when no event carried one: {l}"
        );
        return;
    }
    let obj = l
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: latency must be an object ({} values): {l}", v.len()));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let mut want: BTreeSet<&str> = ["unit", "count", "min", "mean", "max"]
        .into_iter()
        .collect();
    want.extend(sli.percentiles.iter().map(|p| p.0));
    assert_eq!(keys, want, "{ctx}: latency keys");
    assert_eq!(l["unit"], "ms", "{ctx}: latency unit");
    assert_eq!(
        uint(l, "count", ctx),
        v.len() as u64,
        "{ctx}: latency count"
    );
    assert_eq!(num(l, "min", ctx), v[0], "{ctx}: latency min (exact)");
    assert_eq!(
        num(l, "max", ctx),
        v[v.len() - 1],
        "{ctx}: latency max (exact)"
    );
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let m = num(l, "mean", ctx);
    assert!(
        (m - mean).abs() <= 1e-6 * mean.abs().max(1.0),
        "{ctx}: latency mean {m}, exact {mean}"
    );
    for &(key, n, d) in sli.percentiles {
        let exact = nearest_rank(v, n, d);
        let got = num(l, key, ctx);
        assert!(
            (got - exact).abs() <= 0.01 * exact.abs() + 1e-9,
            "{ctx}: latency {key} = {got}, exact nearest-rank value {exact} (n = {})",
            v.len()
        );
    }
}

// ---------------------------------------------------------------------------
// The summary on stderr

/// The "Accepted A events; O outside --from/--to; R rejected." line.
pub fn summary_counts(stderr: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Accepted "))
        .unwrap_or_else(|| panic!("no `Accepted ...` line in the summary:\n{stderr}"));
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // `Accepted A events; O outside --from/--to; R rejected[; S blank or
    // header line(s) skipped].`
    assert!(
        matches!(nums.len(), 3 | 4),
        "unexpected summary line: {line}"
    );
    (nums[0], nums[1], nums[2])
}

/// Rejection lines `  REASON  COUNT  first at LOCATION`.
pub fn summary_rejects(stderr: &str) -> BTreeMap<String, (u64, String)> {
    let mut m = BTreeMap::new();
    for l in stderr.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.len() == 5 && t[2] == "first" && t[3] == "at" {
            let count = t[1].parse().unwrap_or_else(|_| panic!("bad count in {l}"));
            m.insert(t[0].to_string(), (count, t[4].to_string()));
        }
    }
    m
}

/// Per-SLI rows of the summary table: name -> [windows, total, good, bad, invalid].
pub fn summary_slis(stderr: &str) -> BTreeMap<String, [u64; 5]> {
    let mut m = BTreeMap::new();
    for l in stderr.lines() {
        let t: Vec<&str> = l.split_whitespace().collect();
        if t.len() == 7 {
            let nums: Option<Vec<u64>> = t[1..6].iter().map(|x| x.parse().ok()).collect();
            if let Some(n) = nums {
                m.insert(t[0].to_string(), [n[0], n[1], n[2], n[3], n[4]]);
            }
        }
    }
    m
}

// ---------------------------------------------------------------------------
// Compression

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

/// A number as the report writes it: a comma between each group of three
/// digits of its whole part (`-2563.4` is `-2,563.4`).
pub fn sep(number: &str) -> String {
    let (sign, rest) = match number.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", number),
    };
    let (whole, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().rev().enumerate() {
        if i > 0 && i % 3 == 0 {
            grouped.insert(0, ',');
        }
        grouped.insert(0, c);
    }
    format!("{sign}{grouped}{frac}")
}
