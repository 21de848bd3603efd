//! A wrong setup is loud and outputs are never lost: the binary over inputs
//! that cannot be read, over logs whose fields do not match the
//! configuration, and over clean logs where nothing must be said.
//!
//! Why one long file: every file under `tests/` is a test binary of its own,
//! linked against the whole crate and its dependencies, so the tests of one
//! command share one binary and the test build stays a few links.

mod common;

use std::fs;
use std::path::Path;

use common::*;

// Outputs are never lost ------------------------------------------------------

#[test]
fn a_typo_in_the_input_path_leaves_the_output_untouched() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let out_dir = dir.path().join("out");
    fs::create_dir_all(&out_dir).expect("mkdir");
    let keep = out_dir.join("keep.jsonl");
    let old = old_lines(485, false);
    fs::write(&keep, &old).expect("write keep.jsonl");
    let typo = dir.path().join("acess.log");

    let (r, after) = backfill(&cfg, &keep, &[], &[&p(&typo)], None);
    r.assert_code(2, "backfill of a missing input");
    assert_eq!(after.len(), old.len(), "keep.jsonl changed:\n{}", r.stderr);
    assert!(
        after == old,
        "keep.jsonl must keep its 485 lines as they were"
    );
    assert!(
        r.stderr.contains(&p(&typo)),
        "stderr names the missing input:\n{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("nothing was written") && r.stderr.contains(&p(&keep)),
        "stderr says the output was kept:\n{}",
        r.stderr
    );
    assert_eq!(names(&out_dir), ["keep.jsonl"], "no temporary file is left");
}

#[test]
fn a_file_sink_keeps_its_lines_when_no_input_can_be_read() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let sink = dir.path().join("records.jsonl");
    let old = old_lines(485, false);
    fs::write(&sink, &old).expect("write the sink");
    let missing = ["nope-1.log", "nope-2.log"].map(|n| p(&dir.path().join(n)));
    let mut args = vec!["backfill".to_string(), "-c".into(), p(&cfg)];
    args.extend(missing.iter().cloned());

    let r = slipstream(&args, Some(dir.path()), None);
    r.assert_code(2, "backfill of two missing inputs");
    assert!(
        fs::read(&sink).expect("read") == old,
        "the sink's lines changed"
    );
    for m in &missing {
        assert!(
            r.stderr.contains(m.as_str()),
            "stderr names {m}:\n{}",
            r.stderr
        );
    }
    assert_eq!(
        names(dir.path()),
        ["records.jsonl", "slipstream.toml"],
        "no temporary file is left"
    );
}

#[test]
fn a_successful_run_replaces_the_output_and_appends_to_a_file_sink() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let input = generate(
        &dir.path().join("in.jsonl"),
        &["--count", "6000", "--rate", "100", "--seed", "161"],
    );
    let exp = expected(
        &parse_input(&fs::read(&input).expect("read"), MAX_DEFAULT).events,
        None,
        None,
    );

    // --output: the old lines are gone, the records are exactly the oracle's.
    let out = dir.path().join("keep.jsonl");
    fs::write(&out, old_lines(485, false)).expect("write");
    let (r, after) = backfill(&cfg, &out, &[], &[&p(&input)], None);
    r.assert_code(0, "backfill --output");
    assert!(
        !String::from_utf8_lossy(&after).contains("\"note\""),
        "--output replaces what was there"
    );
    assert_records(&window_records(&after), &exp);

    // The file sink: the old lines first, as they were (the last one had no
    // line break, so one is added), then the records.
    let sink = dir.path().join("records.jsonl");
    let old = old_lines(485, true);
    fs::write(&sink, &old).expect("write");
    let r = slipstream(
        &["backfill", "-c", &p(&cfg), &p(&input)],
        Some(dir.path()),
        None,
    );
    r.assert_code(0, "backfill to the file sink");
    let after = fs::read(&sink).expect("read");
    let (head, tail) = after.split_at(old.len());
    assert!(
        head == old.as_slice(),
        "the old lines come first, unchanged"
    );
    assert_eq!(tail.first(), Some(&b'\n'), "the ragged last line is ended");
    assert_records(&window_records(&tail[1..]), &exp);
    assert_eq!(
        names(dir.path()),
        ["in.jsonl", "keep.jsonl", "records.jsonl", "slipstream.toml"]
    );
}

// A wrong setup is loud ---------------------------------------------------------

/// An nginx `log_format` of JSON as many sites write it: numbers quoted,
/// `request_time` in seconds.
fn nginx_json(i: usize, status: u32, uri: &str) -> String {
    format!(
        r#"{{"time_iso8601":"2026-11-27T10:{:02}:{:02}+00:00","remote_addr":"203.0.113.{}","request_method":"GET","uri":"{uri}","status":"{status}","request_time":"0.{:03}","http_user_agent":"curl/8.5.0"}}"#,
        i / 60 % 60,
        i % 60,
        i % 250,
        i % 1000
    )
}

/// A [`nginx_json`] line whose latency carries its unit after a space
/// (`"0.123 sec"`): neither a number nor a duration slipstream reads
/// (`"0.123s"` would be).
fn with_unit(line: String) -> String {
    line.replace(r#"","http_user_agent""#, r#" sec","http_user_agent""#)
}

/// `n` lines of nginx's `combined` format at the time zone `offset`, with
/// `extra` (further variables of a `log_format`) at the end of each.
fn combined_lines(n: usize, offset: &str, extra: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"203.0.113.{} - - [27/Nov/2026:10:00:{:02} {offset}] "GET /api/cart HTTP/1.1" 200 512 "-" "curl/8.5.0"{extra}"#,
                i % 250,
                i % 60
            )
        })
        .collect()
}

/// A configuration for [`nginx_json`] lines with the given `[[sli]]` tables.
fn nginx_config(dir: &Path, slis: &str) -> std::path::PathBuf {
    let path = dir.join("nginx.toml");
    let text = format!(
        "[decode.fields]\ntimestamp = \"time_iso8601\"\nlatency = \"request_time\"\nlatency_unit = \"s\"\n{slis}"
    );
    fs::write(&path, text).expect("write config");
    path
}

const NGINX_SLIS: &str = r#"
[[sli]]
name = "api-availability"
filter = 'uri =~ "^/api/"'
good = 'status < 500'

[[sli]]
name = "api-latency"
filter = 'uri =~ "^/api/"'
good = 'latency <= 300ms'
"#;

fn write_lines(path: &Path, lines: &[String]) -> String {
    fs::write(path, join_lines(lines)).expect("write input");
    p(path)
}

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .collect()
}

/// Backfill with `--strict` and without: the same warnings, exit 3 and 0.
fn strict_and_not(cfg: &Path, input: &str) -> (Run, Run) {
    let dir = cfg.parent().expect("dir");
    let out = p(&dir.join("out.jsonl"));
    let base = ["backfill", "-c", &p(cfg), "--output", &out, input];
    let lax = slipstream(&base, None, None);
    let mut strict: Vec<&str> = base.to_vec();
    strict.insert(1, "--strict");
    let strict = slipstream(&strict, None, None);
    lax.assert_code(0, "backfill without --strict");
    assert_eq!(
        warnings(&lax.stderr),
        warnings(&strict.stderr),
        "--strict changes the exit status only"
    );
    (lax, strict)
}

#[test]
fn a_clean_setup_is_silent_even_with_strict() {
    let dir = tmp();
    let cfg = write_config(dir.path(), None);
    let input = generate(
        &dir.path().join("in.jsonl"),
        &["--count", "20000", "--rate", "200", "--seed", "162"],
    );
    let (lax, strict) = strict_and_not(&cfg, &p(&input));
    strict.assert_code(0, "a clean backfill with --strict");
    assert_eq!(warnings(&lax.stderr), Vec::<&str>::new(), "{}", lax.stderr);

    // nginx's JSON lines as nginx writes them (numbers quoted, which are
    // read as numbers), and the same with the numbers unquoted.
    let quoted: Vec<String> = (0..3000)
        .map(|i| nginx_json(i, if i % 50 == 0 { 502 } else { 200 }, "/api/cart"))
        .collect();
    let unquoted: Vec<String> = quoted
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.replace(r#""status":"200""#, r#""status":200"#)
                .replace(r#""status":"502""#, r#""status":502"#)
                .replace(
                    &format!(r#""request_time":"0.{:03}""#, i % 1000),
                    &format!(r#""request_time":0.{:03}"#, i % 1000),
                )
        })
        .collect();
    let cfg = nginx_config(dir.path(), NGINX_SLIS);
    for (name, lines) in [("quoted", &quoted), ("unquoted", &unquoted)] {
        let input = write_lines(&dir.path().join(format!("{name}.log")), lines);
        let (lax, strict) = strict_and_not(&cfg, &input);
        strict.assert_code(0, &format!("{name} nginx JSON with --strict"));
        assert_eq!(warnings(&lax.stderr), Vec::<&str>::new(), "{}", lax.stderr);
        assert_eq!(
            summary_slis(&lax.stderr)["api-latency"][4],
            0,
            "{name}: no event is invalid"
        );
    }
}

#[test]
fn latency_with_its_unit_warns_with_the_field_and_a_value() {
    let dir = tmp();
    let cfg = nginx_config(dir.path(), NGINX_SLIS);
    let lines: Vec<String> = (0..2500)
        .map(|i| with_unit(nginx_json(i, 200, "/api/cart")))
        .collect();
    let input = write_lines(&dir.path().join("access.log"), &lines);
    let (lax, strict) = strict_and_not(&cfg, &input);
    strict.assert_code(3, "--strict over invalid latencies");
    let w = warnings(&lax.stderr);
    assert_eq!(w.len(), 1, "{}", lax.stderr);
    assert!(
        w[0].starts_with(r#"SLI "api-latency": all 2,500 events were invalid"#)
            && w[0].contains(r#"latency: field "request_time" holds "0."#)
            && w[0].contains(r#" sec", a string, where `latency <= 300ms` needs a number"#),
        "{}",
        w[0]
    );
    assert!(strict.stderr.contains("exiting with status 3"));
}

#[test]
fn a_filter_typo_warns_of_no_match_and_names_the_field_seen() {
    let dir = tmp();
    let slis = r#"
[[sli]]
name = "api-availability"
filter = 'url =~ "^/api/"'
good = 'status < 500'
"#;
    let cfg = nginx_config(dir.path(), slis);
    let lines: Vec<String> = (0..500).map(|i| nginx_json(i, 200, "/api/cart")).collect();
    let input = write_lines(&dir.path().join("access.log"), &lines);
    let (lax, strict) = strict_and_not(&cfg, &input);
    strict.assert_code(3, "--strict over a filter typo");
    let w = warnings(&lax.stderr);
    assert_eq!(w.len(), 2, "{}", lax.stderr);
    assert!(
        w[0].starts_with(r#"SLI "api-availability" matched none of the 500 events counted"#),
        "{}",
        w[0]
    );
    assert!(
        w[1].contains(r#"field "url", named by its rules, never appeared"#)
            && w[1].contains(r#"did you mean "uri"? fields seen: uri,"#),
        "{}",
        w[1]
    );
}

/// logfmt names no fields in advance: the keys of its first lines are
/// what "did you mean" offers, as JSON's fields are.
#[test]
fn a_filter_typo_over_logfmt_names_the_keys_seen() {
    let dir = tmp();
    let cfg = dir.path().join("slipstream.toml");
    fs::write(
        &cfg,
        r#"
[decode]
format = "logfmt"
[decode.fields]
timestamp = "ts"
latency = "dur"

[[sli]]
name = "api-availability"
filter = 'pth =~ "^/api/"'
good = 'status < 500'
"#,
    )
    .expect("write config");
    let lines: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "ts=2026-10-10T04:{:02}:{:02}Z level=info msg=\"request done\" path=/api/cart status=200 dur=12.5",
                i / 60,
                i % 60
            )
        })
        .collect();
    let input = write_lines(&dir.path().join("app.log"), &lines);
    let (lax, _) = strict_and_not(&cfg, &input);
    let w = warnings(&lax.stderr);
    let typo = w
        .iter()
        .find(|l| l.contains(r#"field "pth", named by its rules, never appeared"#))
        .unwrap_or_else(|| panic!("no warning about the field:\n{}", lax.stderr));
    assert!(
        typo.contains(r#"did you mean "path"? fields seen: path,"#),
        "{typo}"
    );
    for key in ["dur", "level", "msg", "status", "ts"] {
        assert!(typo.contains(key), "{key} missing: {typo}");
    }
}

#[test]
fn text_lines_read_as_json_warn_that_most_lines_were_rejected() {
    let dir = tmp();
    let cfg = nginx_config(dir.path(), NGINX_SLIS);
    // nginx `combined`, as nginx's documentation defines it.
    let lines = combined_lines(300, "+0000", "");
    let input = write_lines(&dir.path().join("access.log"), &lines);
    let (lax, strict) = strict_and_not(&cfg, &input);
    strict.assert_code(3, "--strict over text lines");
    let w = warnings(&lax.stderr);
    assert_eq!(w.len(), 1, "{}", lax.stderr);
    let first = format!("the first (not_json at {input}:1) reads `{}`", lines[0]);
    assert!(
        w[0].starts_with("300 of 300 lines were rejected") && w[0].contains(&first),
        "{}",
        w[0]
    );
    assert!(
        w[0].contains("it looks like `nginx`, and this configuration reads `json`; set [decode] format = \"nginx\""),
        "{}",
        w[0]
    );
}

#[test]
fn an_unreadable_input_exits_2_before_strict_exits_3() {
    let dir = tmp();
    let cfg = nginx_config(dir.path(), NGINX_SLIS);
    let lines: Vec<String> = (0..100)
        .map(|i| with_unit(nginx_json(i, 200, "/api/cart")))
        .collect();
    let input = write_lines(&dir.path().join("access.log"), &lines);
    let missing = p(&dir.path().join("missing.log"));
    let out = p(&dir.path().join("out.jsonl"));
    let r = slipstream(
        &[
            "backfill",
            "--strict",
            "-c",
            &p(&cfg),
            "--output",
            &out,
            &input,
            &missing,
        ],
        None,
        None,
    );
    r.assert_code(2, "a missing input and invalid events");
    assert_eq!(warnings(&r.stderr).len(), 1, "{}", r.stderr);
}

#[test]
fn report_suggest_and_review_say_all_events_were_invalid_not_no_traffic() {
    let dir = tmp();
    let slis = r#"
[[sli]]
name = "api-latency"
filter = 'uri =~ "^/api/"'
good = 'latency <= 300ms'
[sli.objective]
target = 0.99
window = "1d"
"#;
    let cfg = nginx_config(dir.path(), slis);
    // 50,000 events over 14 hours, every latency with its unit.
    let lines: Vec<String> = (0..50_000)
        .map(|i| with_unit(nginx_json(i, 200, "/api/cart")))
        .collect();
    let input = write_lines(&dir.path().join("access.log"), &lines);
    let records = dir.path().join("records.jsonl");
    let (r, _) = backfill(&cfg, &records, &[], &[&input], None);
    r.assert_code(0, "backfill");
    let said = "all 50,000 events were invalid for this SLI";
    let sources = [
        vec!["--records".to_string(), p(&records)],
        vec!["--logs".to_string(), input.clone()],
    ];
    for source in &sources {
        for command in ["report", "suggest", "review"] {
            let mut args = vec![command.to_string(), "-c".into(), p(&cfg)];
            args.extend(source.iter().cloned());
            let r = slipstream(&args, None, None);
            r.assert_code(0, command);
            let out = String::from_utf8_lossy(&r.stdout);
            assert!(
                out.contains(said) && !out.contains("no traffic"),
                "{command} {source:?}:\n{out}"
            );
        }
    }
    // Japanese too, with the same number.
    let r = slipstream(
        &[
            "report",
            "-c",
            &p(&cfg),
            "--records",
            &p(&records),
            "--lang",
            "ja",
        ],
        None,
        None,
    );
    r.assert_code(0, "report --lang ja");
    assert!(String::from_utf8_lossy(&r.stdout).contains("50,000件のイベントはすべて無効"));
}

// The configuration reference -------------------------------------------------

const BOGUS: &str = "zzz_not_a_key";

/// The keys of the table at `path` in the configuration's serde structs, as
/// their `deny_unknown_fields` error for a bogus key lists them; `None`
/// when the value at `path` is not such a table (a string, a number, a
/// pass-through map). Each segment is tried as a table and as an array of
/// tables.
fn keys_at(path: &[String]) -> Option<Vec<String>> {
    for shape in 0..(1u32 << path.len()) {
        let mut value = format!("{{ {BOGUS} = 1 }}");
        for (i, seg) in path.iter().enumerate().rev() {
            if shape & (1 << i) != 0 {
                value = format!("[{value}]");
            }
            if i > 0 {
                value = format!("{{ {seg} = {value} }}");
            }
        }
        let doc = match path.first() {
            Some(top) => format!("{top} = {value}"),
            None => format!("{BOGUS} = 1"),
        };
        let Err(e) = toml::from_str::<slipstream::config::raw::RawConfig>(&doc) else {
            continue;
        };
        let message = e.to_string();
        let marker = format!("unknown field `{BOGUS}`, ");
        let Some(at) = message.find(&marker) else {
            continue;
        };
        let rest = &message[at + marker.len()..];
        let listed = rest.lines().next().unwrap_or("");
        let keys: Vec<String> = listed
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        return Some(keys);
    }
    None
}

/// Every key path of the configuration (tables and values), from the code.
fn code_keys(path: &mut Vec<String>, out: &mut std::collections::BTreeSet<String>) {
    let Some(keys) = keys_at(path) else {
        return;
    };
    for k in keys {
        path.push(k);
        out.insert(path.join("."));
        code_keys(path, out);
        path.pop();
    }
}

/// Every key path docs/configuration.md documents: its section headings
/// (`### `[sli.objective]``, and their parents) and the first cell of each
/// table row under them.
fn documented_keys(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### `[") {
            let name = h
                .trim_end_matches('`')
                .trim_matches(|c| c == '[' || c == ']');
            let parts: Vec<&str> = name.split('.').collect();
            for n in 1..=parts.len() {
                out.insert(parts[..n].join("."));
            }
            section = Some(name.to_string());
        } else if line.starts_with("## ") {
            section = None;
        } else if let (Some(s), Some(cell)) = (&section, line.strip_prefix("| `")) {
            if let Some(key) = cell.split('`').next() {
                out.insert(format!("{s}.{key}"));
            }
        }
    }
    out
}

#[test]
fn every_configuration_key_is_documented_and_every_documented_key_exists() {
    let mut code = std::collections::BTreeSet::new();
    code_keys(&mut Vec::new(), &mut code);
    // The enumeration itself must see the structure, or the test says nothing.
    for known in [
        "decode.fields.latency_unit",
        "sli.alerts.pairs.burn_rate",
        "sink.type",
        "source.kafka.librdkafka",
        "http.listen",
    ] {
        assert!(
            code.contains(known),
            "the key walk missed {known}: {code:?}"
        );
    }
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let doc = fs::read_to_string(&doc_path).expect("docs/configuration.md");
    let documented = documented_keys(&doc);
    let missing: Vec<&String> = code.difference(&documented).collect();
    let stale: Vec<&String> = documented.difference(&code).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/configuration.md is out of date.\n  keys in the code but not documented: {missing:?}\n  documented keys the code does not have: {stale:?}"
    );
}

#[test]
fn nothing_points_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "config", "src"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
    }
    for f in files {
        let text = fs::read_to_string(&f).unwrap_or_default();
        assert!(
            !text.contains("../shared"),
            "{} points at a file outside the repository",
            f.display()
        );
    }
}

#[test]
fn validate_effective_prints_every_default_and_reads_back_the_same() {
    let dir = tmp();
    let cfg = dir.path().join("in.toml");
    fs::write(
        &cfg,
        r#"
[source.kafka]
brokers = "127.0.0.1:9092"
topics = ["request-logs"]
[source.kafka.librdkafka]
"sasl.password" = "hunter2-secret"
"client.id" = "slipstream-test"

[[sli]]
name = "api"
filter = 'service == "api"'
good = 'status < 500 && latency <= 300ms'
[sli.objective]
target = "99.9%"
window = "28d"

[[sli]]
name = "slices"
good = 'status < 500'
[sli.objective]
target = 0.99
window = "calendar:month"
timezone = "Asia/Tokyo"
method = "timeslices"
slice = "compliance >= 99.5%"
[sli.alerts]
min_events = 50
[[sli.alerts.pairs]]
severity = "page"
long_window = "1h"
short_window = "5m"
burn_rate = 14.4

[[sink]]
type = "postgres"
url = "postgres://slip:pg-secret@db:5432/slo?sslmode=require"
[[sink]]
type = "webhook"
url = "http://alerts.internal:8080/hook?token=hook-secret"
"#,
    )
    .expect("write");
    let first = slipstream(&["validate", "-c", &p(&cfg), "--effective"], None, None);
    first.assert_code(0, "validate --effective");
    let text = String::from_utf8(first.stdout.clone()).expect("utf-8");
    for secret in ["hunter2-secret", "pg-secret", "hook-secret"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    // Defaults the file left out, written out.
    for line in [
        "group_id = \"slipstream\"",
        "\"client.id\" = \"slipstream-test\"",
        "max_event_bytes = 1048576",
        "timestamp = \"timestamp\"",
        "timestamp_format = \"auto\"",
        "latency_unit = \"ms\"",
        "size = \"1m\"",
        "max_out_of_orderness = \"5s\"",
        "allowed_lateness = \"1m\"",
        "idle_timeout = \"30s\"",
        "percentiles = [0.5, 0.9, 0.99]",
        "breakdown_limit = 20",
        "target = 0.999",
        "method = \"occurrences\"",
        "min_events = 100",
        "min_events = 50",
        "format = \"json\"",
        "slice = \"compliance >= 0.995\"",
        "timezone = \"Asia/Tokyo\"",
        "records = [\"alert\"]",
        "timeout = \"5s\"",
        "listen = \"127.0.0.1:9898\"",
        // The postgres sink blocks, the webhook drops its newest records.
        "buffer = { when_full = \"block\" }",
        "buffer = { when_full = \"drop_newest\", max_records = 10000 }",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line `{line}` in:\n{text}"
        );
    }
    // The Workbook's pairs follow the objective, so they stay implicit;
    // pairs of one's own are written out.
    assert_eq!(text.matches("[sli.alerts]").count(), 2, "{text}");
    assert_eq!(text.matches("[[sli.alerts.pairs]]").count(), 1, "{text}");
    for line in [
        "long_window = \"1h\"",
        "short_window = \"5m\"",
        "burn_rate = 14.4",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line `{line}` in:\n{text}"
        );
    }

    // The output is a configuration, and reads back to itself.
    let again = dir.path().join("effective.toml");
    fs::write(&again, &text).expect("write");
    let second = slipstream(&["validate", "-c", &p(&again), "--effective"], None, None);
    second.assert_code(0, "validate --effective of the printed configuration");
    assert_eq!(String::from_utf8_lossy(&second.stdout), text);
}

#[test]
fn percentages_are_accepted_wherever_a_ratio_is() {
    let dir = tmp();
    let input = generate(
        &dir.path().join("in.jsonl"),
        &["--count", "20000", "--rate", "100", "--seed", "163"],
    );
    let config = |target: &str| {
        format!(
            "[decode.fields]\nlatency = \"latency_ms\"\n[[sli]]\nname = \"all\"\ngood = 'status < 500'\n[sli.objective]\ntarget = {target}\nwindow = \"1d\"\n"
        )
    };
    let mut outputs = Vec::new();
    for (name, target) in [("ratio", "0.995"), ("percent", "\"99.5%\"")] {
        let cfg = dir.path().join(format!("{name}.toml"));
        fs::write(&cfg, config(target)).expect("write");
        let (r, out) = backfill(
            &cfg,
            &dir.path().join(format!("{name}.jsonl")),
            &[],
            &[&p(&input)],
            None,
        );
        r.assert_code(0, name);
        let recs = records(&out);
        assert!(recs.iter().any(|r| r["kind"] == "slo"));
        for r in recs.iter().filter(|r| r["kind"] == "slo") {
            assert_eq!(r["objective"]["target"], 0.995, "{name}: {r}");
        }
        outputs.push(out);
    }
    assert!(
        outputs[0] == outputs[1],
        "0.995 and \"99.5%\" give the same records"
    );

    // what-if --target, as percentages and as ratios.
    let cfg = dir.path().join("ratio.toml");
    let records_path = p(&dir.path().join("ratio.jsonl"));
    let what_if = |targets: &str| {
        let r = slipstream(
            &[
                "what-if",
                "-c",
                &p(&cfg),
                "--records",
                &records_path,
                "--target",
                targets,
            ],
            None,
            None,
        );
        r.assert_code(0, targets);
        String::from_utf8_lossy(&r.stdout).into_owned()
    };
    let percent = what_if("99%,99.9%");
    assert_eq!(percent, what_if("0.99,0.999"));
    assert!(percent.contains("target 99.9%"), "{percent}");
    let bad = slipstream(
        &[
            "what-if",
            "-c",
            &p(&cfg),
            "--records",
            &records_path,
            "--target",
            "99x%",
        ],
        None,
        None,
    );
    bad.assert_code(1, "a target that is no ratio");
    assert!(
        bad.stderr.contains("percentage like 99.9%"),
        "{}",
        bad.stderr
    );

    // A timeslice rule's compliance threshold.
    let cfg = dir.path().join("slices.toml");
    fs::write(
        &cfg,
        "[[sli]]\nname = \"all\"\ngood = 'status < 500'\n[sli.objective]\ntarget = \"99%\"\nwindow = \"1d\"\nmethod = \"timeslices\"\nslice = \"compliance >= 97.5%\"\n",
    )
    .expect("write");
    let r = slipstream(&["validate", "-c", &p(&cfg)], None, None);
    r.assert_code(0, "validate a percentage slice rule");
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(out.contains("compliance >= 0.975"), "{out}");
}

#[test]
fn a_field_typo_in_a_text_format_names_the_formats_fields() {
    let dir = tmp();
    let nginx = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/nginx.toml"))
        .expect("config/nginx.toml");
    let cfg = dir.path().join("typo.toml");
    fs::write(&cfg, nginx.replacen("request_uri =~", "request_ur =~", 1)).expect("write");
    // nginx's `combined` plus $request_time and $host, as the file says.
    let lines = combined_lines(200, "+0900", " 0.012 shop.example");
    let input = write_lines(&dir.path().join("access.log"), &lines);
    let (lax, strict) = strict_and_not(&cfg, &input);
    strict.assert_code(3, "--strict over a field typo");
    let w = warnings(&lax.stderr);
    assert!(
        w.iter().any(
            |w| w.contains(r#"field "request_ur", named by its rules, never appeared"#)
                && w.contains(r#"did you mean "request_uri"? fields of the format: request_uri"#)
        ),
        "{}",
        lax.stderr
    );
    // The other SLI names the field right and is counted.
    assert_eq!(
        summary_slis(&lax.stderr)["api-latency"][1],
        200,
        "{}",
        lax.stderr
    );
}
