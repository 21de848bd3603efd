//! Every log format read end to end by `slipstream backfill`: the same
//! requests written as nginx, Apache, ALB, Envoy, CloudFront, HAProxy,
//! logfmt and regex lines give the window records that they give as JSON
//! (whose reading the backfill tests check against an independent oracle),
//! and configuration mistakes in `[decode]` name the field and its place.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;
use slipstream::decode::Format;
use slipstream::synth::{decode_section, field_names, header, render, Request};

/// A configuration for `format` with SLIs over host, path, method, status
/// and latency, named in the format's own fields.
fn config(format: Format) -> String {
    let [host, method, path, prefix] = field_names(format);
    format!(
        r#"{decode}
[[sli]]
name = "checkout-availability"
filter = '{host} == "checkout.internal" && {path} =~ "^{prefix}/api/checkout"'
good = 'status < 500'
percentiles = [0.5, 0.9, 0.99]
breakdown = ["{method}"]

[[sli]]
name = "checkout-latency"
filter = '{host} == "checkout.internal"'
good = 'latency <= 300ms'

[[sli]]
name = "search-availability"
filter = '{host} == "search.internal" && status != 429'
good = 'status < 500'

[[sli]]
name = "writes-fast"
filter = '{method} == "POST"'
good = 'latency < 100ms && status < 500'
"#,
        decode = decode_section(format)
    )
}

/// A window record with its breakdown's field name left out: each format
/// names the method field its own way, the counts must be the same.
fn without_field_names(mut record: Value) -> Value {
    if let Some(b) = record.get_mut("breakdown") {
        let counts: Vec<Value> = b
            .as_object()
            .map(|o| o.values().cloned().collect())
            .unwrap_or_default();
        *b = Value::Array(counts);
    }
    record
}

/// Writes `requests` in `format` and backfills them: the window records
/// (breakdowns without their field names) and the summary.
fn windows(dir: &Path, format: Format, requests: &[Request]) -> (Vec<Value>, String) {
    let name = format.name();
    let cfg = dir.join(format!("{name}.toml"));
    fs::write(&cfg, config(format)).expect("write config");
    let mut text = header(format).to_string();
    for r in requests {
        render(format, r, &mut text);
        text.push('\n');
    }
    let input = dir.join(format!("{name}.log"));
    fs::write(&input, text).expect("write log");
    let out = dir.join(format!("{name}.out.jsonl"));
    let (run, bytes) = backfill(&cfg, &out, &["--threads", "2"], &[&p(&input)], None);
    run.assert_code(0, name);
    let records = window_records(&bytes)
        .into_iter()
        .map(without_field_names)
        .collect();
    (records, run.stderr)
}

fn assert_no_rejects(format: Format, stderr: &str) {
    let rejects = summary_rejects(stderr);
    let want: Vec<&str> = if format == Format::CloudFront {
        vec!["header"]
    } else {
        vec![]
    };
    assert_eq!(
        rejects.keys().map(String::as_str).collect::<Vec<_>>(),
        want,
        "{}: {stderr}",
        format.name()
    );
}

#[test]
fn generated_logs_in_every_format_give_the_windows_of_the_same_requests_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = gen_bytes(&[
        "--count",
        "20000",
        "--rate",
        "100",
        "--seed",
        "11",
        "--incident",
        "kind=errors,start=30s,duration=60s,rate=0.4,service=checkout",
        "--incident",
        "kind=latency,start=2m,duration=1m,factor=4,service=checkout",
    ]);
    let requests: Vec<Request> = split_lines(&json)
        .iter()
        .map(|l| Request::from_gen_json(l).expect("a generated line"))
        .collect();
    for format in Format::ALL {
        if format == Format::Json {
            continue;
        }
        let kept: Vec<Request> = requests.iter().map(|r| r.at_resolution(format)).collect();
        let (got, stderr) = windows(dir.path(), format, &kept);
        assert_no_rejects(format, &stderr);
        let (want, _) = windows(&dir.path().join(""), Format::Json, &kept);
        assert!(
            want.len() >= 12,
            "{}: {} windows",
            format.name(),
            want.len()
        );
        let bad: u64 = want.iter().map(|w| w["bad"].as_u64().unwrap_or(0)).sum();
        assert!(bad > 100, "the incidents show: {bad} bad events");
        assert_eq!(
            got,
            want,
            "{}: window records differ from JSON's",
            format.name()
        );
    }
}

#[test]
fn gen_writes_each_format_as_the_renderer_does() {
    let json = gen_bytes(&["--count", "50", "--seed", "5"]);
    for format in [Format::Nginx, Format::CloudFront, Format::Haproxy] {
        let got = gen_bytes(&["--count", "50", "--seed", "5", "--format", format.name()]);
        let mut want = header(format).to_string();
        for l in split_lines(&json) {
            render(format, &Request::from_gen_json(l).expect("line"), &mut want);
            want.push('\n');
        }
        assert_eq!(String::from_utf8_lossy(&got), want, "{}", format.name());
    }
}

/// Random requests at the coarsest resolution of all formats (whole
/// seconds, whole milliseconds) carry the same numbers in every format.
#[test]
fn random_requests_give_identical_windows_in_every_format() {
    let hosts = ["checkout.internal", "search.internal", "auth.internal"];
    let paths = [
        "/api/checkout/cart",
        "/api/checkout",
        "/api/search",
        "/",
        "/a/b?c=d",
    ];
    let methods = ["GET", "POST", "PUT", "DELETE"];
    let statuses = [200, 201, 204, 301, 400, 404, 429, 499, 500, 502, 503, 504];
    let dir = tempfile::tempdir().expect("tempdir");
    for seed in 1..=3u64 {
        let mut rng = Rng::new(seed);
        let start = 1_767_225_600i64 + rng.below(86_400) as i64;
        let requests: Vec<Request> = (0..2000)
            .map(|i| {
                // Latencies around the thresholds (100 ms, 300 ms) and far off.
                let latency_ms = match rng.below(4) {
                    0 => rng.below(3),
                    1 => 95 + rng.below(10),
                    2 => 295 + rng.below(10),
                    _ => rng.below(30_000),
                };
                Request {
                    time_ns: (start + rng.below(600) as i64) * 1_000_000_000,
                    method: methods[rng.below(4) as usize].into(),
                    host: hosts[rng.below(3) as usize].into(),
                    path: paths[rng.below(5) as usize].into(),
                    status: statuses[rng.below(statuses.len() as u64) as usize],
                    latency_us: latency_ms * 1000,
                    bytes: rng.below(100_000),
                    client_ip: if rng.below(2) == 0 {
                        format!("10.0.{}.{}", rng.below(256), rng.below(256))
                    } else {
                        format!("2001:db8::{:x}", rng.below(65_536))
                    },
                    user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into(),
                    request_id: format!("{seed}-{i}"),
                }
            })
            .collect();
        let sub = dir.path().join(seed.to_string());
        fs::create_dir_all(&sub).expect("dir");
        let (want, _) = windows(&sub, Format::Json, &requests);
        assert!(want.len() >= 10, "seed {seed}: {} windows", want.len());
        for format in Format::ALL {
            let (got, stderr) = windows(&sub, format, &requests);
            assert_no_rejects(format, &stderr);
            assert_eq!(got, want, "seed {seed}, {}", format.name());
        }
    }
}

/// `slipstream validate` on a `[decode]` section: the exit code and stderr.
fn validate(decode: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    fs::write(
        &cfg,
        format!("{decode}\n[[sli]]\nname = \"a\"\ngood = 'status < 500'\n"),
    )
    .expect("write");
    let run = slipstream(&["validate", "-c", &p(&cfg)], None, None);
    (run.code, run.stderr)
}

#[test]
fn decode_mistakes_name_the_field_and_where_it_is() {
    let cases: [(&str, &[&str]); 8] = [
        (
            "[decode]\nformat = \"ngnix\"",
            &[
                "c.toml:2:10",
                "decode.format",
                "ngnix",
                "json, nginx, apache, alb, envoy, cloudfront, haproxy, logfmt, regex",
            ],
        ),
        // The column is that of the `$` of the unknown variable.
        (
            "[decode]\nformat = \"nginx\"\nlog_format = '$remote_addr [$time_local] $stauts'",
            &["c.toml:3:42", "decode.log_format", "`$stauts`"],
        ),
        (
            "[decode]\nformat = \"apache\"\nlog_format = '%h %t %>s %Z'",
            &["c.toml:3:25", "decode.log_format", "`%Z`"],
        ),
        (
            "[decode]\nformat = \"envoy\"\nlog_format = '[%START_TIME%] %RESPONSE_CODE% %DURATON%'",
            &["c.toml:3:46", "decode.log_format", "%DURATON%"],
        ),
        (
            "[decode]\nformat = \"regex\"\npattern = '(?P<timestamp>\\S+) (?P<status>\\d+'",
            &["c.toml:3", "decode.pattern", "does not compile"],
        ),
        (
            "[decode]\nformat = \"regex\"\npattern = '(?P<ts>\\S+) (?P<status>\\d+)'",
            &[
                "c.toml:3",
                "decode.pattern",
                "timestamp field `timestamp`",
                "ts, status",
            ],
        ),
        (
            "[decode]\nformat = \"haproxy\"\ntimezone = \"Europe/Pairs\"",
            &["c.toml:3:12", "decode.timezone", "`Europe/Pairs`", "IANA"],
        ),
        (
            "[decode]\nformat = \"nginx\"\nlog_format = '$remote_addr $status'",
            &[
                "c.toml:3",
                "decode.log_format",
                "`time_local`",
                "remote_addr, status",
            ],
        ),
    ];
    for (decode, wants) in cases {
        let (code, stderr) = validate(decode);
        assert_eq!(code, Some(1), "{decode}: {stderr}");
        for want in wants {
            assert!(stderr.contains(want), "{decode}: `{want}` not in {stderr}");
        }
    }
    let (code, stderr) = validate("[decode]\nformat = \"envoy\"");
    assert_eq!(code, Some(0), "{stderr}");
}

/// HAProxy writes `accept_date` in the server's local time without an
/// offset: with `[decode] timezone`, lines written in Paris across the
/// night clocks go forward give the windows of the same requests in UTC.
#[test]
fn local_times_without_an_offset_are_read_in_decode_timezone() {
    use chrono::{Offset, TimeZone};
    let paris: chrono_tz::Tz = "Europe/Paris".parse().expect("zone");
    let dir = tempfile::tempdir().expect("tempdir");
    // 2026-03-29T00:00:00Z, two hours: clocks in Paris go from 02:00 to
    // 03:00 at 01:00 UTC.
    let start = 1_774_742_400i64;
    let mut rng = Rng::new(7);
    let requests: Vec<Request> = (0..3000)
        .map(|i| Request {
            time_ns: (start + rng.below(7200) as i64) * 1_000_000_000,
            method: "GET".into(),
            host: ["checkout.internal", "search.internal"][rng.below(2) as usize].into(),
            path: "/api/checkout".into(),
            status: [200, 200, 503][rng.below(3) as usize],
            latency_us: rng.below(600) * 1000,
            bytes: 100,
            client_ip: "10.0.0.1".into(),
            user_agent: "curl/8.0".into(),
            request_id: i.to_string(),
        })
        .collect();
    let (want, _) = windows(dir.path(), Format::Json, &requests);

    // The same requests as HAProxy writes them in Paris: each time moved
    // by the zone's offset at that instant.
    let mut text = String::new();
    for r in &requests {
        let utc = chrono::Utc.timestamp_nanos(r.time_ns);
        let offset = paris.offset_from_utc_datetime(&utc.naive_utc()).fix();
        let local = Request {
            time_ns: r.time_ns + i64::from(offset.local_minus_utc()) * 1_000_000_000,
            ..r.clone()
        };
        render(Format::Haproxy, &local, &mut text);
        text.push('\n');
    }
    assert!(text.contains("[29/Mar/2026:01:"), "winter time before");
    assert!(text.contains("[29/Mar/2026:03:"), "summer time after");
    assert!(!text.contains("[29/Mar/2026:02:"), "02:00 does not exist");
    let input = dir.path().join("paris.log");
    fs::write(&input, text).expect("write log");
    let cfg = dir.path().join("paris.toml");
    let zoned = config(Format::Haproxy).replace(
        "format = \"haproxy\"\n",
        "format = \"haproxy\"\ntimezone = \"Europe/Paris\"\n",
    );
    fs::write(&cfg, &zoned).expect("write config");
    let out = dir.path().join("paris.out.jsonl");
    let (run, bytes) = backfill(&cfg, &out, &[], &[&p(&input)], None);
    run.assert_code(0, "haproxy in Paris");
    let got: Vec<Value> = window_records(&bytes)
        .into_iter()
        .map(without_field_names)
        .collect();
    assert!(want.len() >= 100, "{} windows", want.len());
    assert_eq!(got, want, "local times read in Europe/Paris");

    // Without the zone, the same lines are read as UTC: other windows.
    fs::write(&cfg, config(Format::Haproxy)).expect("write config");
    let (run, bytes) = backfill(&cfg, &out, &[], &[&p(&input)], None);
    run.assert_code(0, "haproxy as UTC");
    let as_utc: Vec<Value> = window_records(&bytes)
        .into_iter()
        .map(without_field_names)
        .collect();
    assert_ne!(as_utc, want);
}

/// CloudFront files whose `#Fields` line orders the columns otherwise than
/// AWS's documented order (a subset, reordered), large enough to be cut
/// into several chunks read by several threads: every thread reads the
/// columns of the file's header, plain (mapped) or gzipped (read), and the
/// windows are those of the same requests as JSON.
#[test]
fn cloudfront_columns_come_from_the_file_header_on_every_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (requests, want) = cloudfront_requests(dir.path(), 14000, 3);

    // The documented columns, and the order this file writes them in:
    // reversed, without the ones no rule reads.
    let documented: Vec<&str> = header(Format::CloudFront)
        .lines()
        .find_map(|l| l.strip_prefix("#Fields: "))
        .expect("a #Fields line")
        .split(' ')
        .collect();
    let kept: Vec<usize> = (0..documented.len())
        .rev()
        .filter(|&i| !documented[i].starts_with("ssl-") && documented[i] != "c-port")
        .collect();
    let names: Vec<&str> = kept.iter().map(|&i| documented[i]).collect();
    let mut text = format!("#Version: 1.0\n#Fields: {}\n", names.join(" "));
    let mut line = String::new();
    for r in &requests {
        line.clear();
        render(Format::CloudFront, r, &mut line);
        let columns: Vec<&str> = line.split('\t').collect();
        assert_eq!(columns.len(), documented.len());
        let moved: Vec<&str> = kept.iter().map(|&i| columns[i]).collect();
        text.push_str(&moved.join("\t"));
        text.push('\n');
    }
    assert!(text.len() > 4 << 20, "{} bytes: several chunks", text.len());
    assert_cloudfront_reads_as(dir.path(), "reordered", &text, &["2"], &want);
}

/// `count` generated requests (20 a second) at CloudFront's resolution, and
/// their windows read as JSON: the oracle.
fn cloudfront_requests(dir: &Path, count: u32, seed: u32) -> (Vec<Request>, Vec<Value>) {
    let json = gen_bytes(&[
        "--count",
        &count.to_string(),
        "--rate",
        "20",
        "--seed",
        &seed.to_string(),
    ]);
    let requests: Vec<Request> = split_lines(&json)
        .iter()
        .map(|l| Request::from_gen_json(l).expect("a generated line"))
        .map(|r| r.at_resolution(Format::CloudFront))
        .collect();
    let (want, _) = windows(dir, Format::Json, &requests);
    (requests, want)
}

/// Backfills CloudFront `text`, as a plain file (mapped) and gzipped (read),
/// on each of `threads`: no line rejected, and the windows are `want`.
fn assert_cloudfront_reads_as(
    dir: &Path,
    name: &str,
    text: &str,
    threads: &[&str],
    want: &[Value],
) {
    use std::io::Write;
    let plain = dir.join(format!("{name}.log"));
    fs::write(&plain, text).expect("write log");
    let gz = dir.join(format!("{name}.log.gz"));
    let mut enc = flate2::write::GzEncoder::new(
        fs::File::create(&gz).expect("create gz"),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).expect("gzip");
    enc.finish().expect("gzip");

    let cfg = dir.join("cloudfront.toml");
    fs::write(&cfg, config(Format::CloudFront)).expect("write config");
    assert!(want.len() >= 20, "{} windows", want.len());
    for input in [&plain, &gz] {
        for threads in threads {
            let out = dir.join(format!("{name}.out.jsonl"));
            let (run, bytes) = backfill(&cfg, &out, &["--threads", threads], &[&p(input)], None);
            run.assert_code(0, name);
            assert_no_rejects(Format::CloudFront, &run.stderr);
            let got: Vec<Value> = window_records(&bytes)
                .into_iter()
                .map(without_field_names)
                .collect();
            assert_eq!(got, want, "{} on {threads} thread(s)", input.display());
        }
    }
}

/// CloudFront logs joined into one file: each part's header sets the
/// columns of its own lines, on every thread, since a worker that starts
/// after the second header reads the lines as the one that read it.
#[test]
fn a_header_in_the_middle_of_a_file_sets_the_columns_after_it_on_every_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (requests, want) = cloudfront_requests(dir.path(), 16000, 4);

    // The first half in AWS's documented order, under its header; the
    // second under a header of the same columns reversed.
    let documented = header(Format::CloudFront).to_string();
    let fields: Vec<&str> = documented
        .lines()
        .find_map(|l| l.strip_prefix("#Fields: "))
        .expect("a #Fields line")
        .split(' ')
        .collect();
    let reversed: Vec<&str> = fields.iter().rev().copied().collect();
    let mut text = documented.clone();
    let mut line = String::new();
    let half = requests.len() / 2;
    for (i, r) in requests.iter().enumerate() {
        if i == half {
            text.push_str(&format!("#Version: 1.0\n#Fields: {}\n", reversed.join(" ")));
        }
        line.clear();
        render(Format::CloudFront, r, &mut line);
        if i >= half {
            let mut columns: Vec<&str> = line.split('\t').collect();
            columns.reverse();
            text.push_str(&columns.join("\t"));
        } else {
            text.push_str(&line);
        }
        text.push('\n');
    }
    let second = text.len() - text.rfind("#Version: 1.0\n").expect("the second header");
    assert!(
        second > 2 << 20,
        "{second} bytes after the second header: several chunks"
    );
    assert_cloudfront_reads_as(dir.path(), "joined", &text, &["1", "2"], &want);
}
