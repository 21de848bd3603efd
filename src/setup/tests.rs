use super::*;
use crate::engine::Engine;

/// Runs `lines` through an engine for `config_text` and checks the result.
fn warnings_for(config_text: &str, lines: &[String]) -> Vec<Warning> {
    let config = Config::parse("inline.toml".as_ref(), config_text).expect("config");
    let mut engine = Engine::new(&config);
    let (mut decoded, mut rejected, mut first) = (0, 0, None);
    for (i, l) in lines.iter().enumerate() {
        match engine.process_text(l) {
            Ok(_) => decoded += 1,
            Err(reason) => {
                rejected += 1;
                first.get_or_insert(FirstRejected {
                    at: format!("test:{}", i + 1),
                    reason,
                    text: l.clone(),
                    looks_like: sniff_format(l),
                });
            }
        }
    }
    let (mut windows, probe) = engine.into_parts();
    let mut slis = vec![SliCounts::default(); config.slis.len()];
    for w in windows.take_until(i64::MAX) {
        for (t, s) in slis.iter_mut().zip(&w.slis) {
            t.add(s);
        }
    }
    check(
        &config,
        &Observed {
            lines: lines.len() as u64,
            decoded,
            counted: decoded,
            rejected,
            first_rejected: first,
            slis: &slis,
            probe: &probe,
            range: None,
            no_match: true,
        },
    )
}

const SLIS: &str = r#"
[[sli]]
name = "api"
filter = 'uri =~ "^/api"'
good = 'status < 500'
[[sli]]
name = "fast"
good = 'latency <= 300ms'
"#;

/// A line of a JSON log whose `request_time` is a duration written with
/// its unit after a space (`"100 ms"`): neither a number nor a duration
/// slipstream reads.
fn nginx(i: usize, status: u32) -> String {
    format!(
        r#"{{"time":"2026-11-27T10:00:{:02}Z","uri":"/api/x","status":{status},"request_time":"{:03} ms"}}"#,
        i % 60,
        100 + i
    )
}

#[test]
fn a_clean_setup_gives_no_warning() {
    let config = format!("[decode.fields]\ntimestamp = \"time\"\nlatency = \"ms\"\n{SLIS}");
    let lines: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"time":"2026-11-27T10:00:{:02}Z","uri":"/api/x","status":{},"ms":{}}}"#,
                i % 60,
                if i % 7 == 0 { 503 } else { 200 },
                i
            )
        })
        .collect();
    assert_eq!(warnings_for(&config, &lines), []);
}

#[test]
fn latency_written_with_its_unit_is_named_with_its_value() {
    let config = format!(
        "[decode.fields]\ntimestamp = \"time\"\nlatency = \"request_time\"\nlatency_unit = \"s\"\n{SLIS}"
    );
    let lines: Vec<String> = (0..100).map(|i| nginx(i, 200)).collect();
    let w = warnings_for(&config, &lines);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!((w[0].kind, w[0].sli.as_deref()), ("invalid", Some("fast")));
    let m = &w[0].message;
    assert!(m.contains("all 100 events were invalid"), "{m}");
    assert!(
        m.contains(r#"latency: field "request_time" holds "100 ms", a string, where `latency <= 300ms` needs a number"#),
        "{m}"
    );
}

#[test]
fn one_percent_invalid_is_tolerated_and_more_is_not() {
    let config = format!("[decode.fields]\ntimestamp = \"time\"\n{SLIS}");
    let line = |i: usize, latency: &str| {
        format!(
            r#"{{"time":"2026-11-27T10:00:00Z","uri":"/api","status":200,"latency":{latency},"i":{i}}}"#
        )
    };
    // 1 invalid in 100: exactly 1%, not more.
    let mut lines: Vec<String> = (0..99).map(|i| line(i, "12")).collect();
    lines.push(line(99, "null"));
    assert_eq!(warnings_for(&config, &lines), []);
    lines.push(line(100, "null"));
    let w = warnings_for(&config, &lines);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].message
            .contains("2 of its 101 events (2.0%) were invalid")
            && w[0]
                .message
                .contains(r#"latency: field "latency" holds null, where"#),
        "{}",
        w[0].message
    );
}

#[test]
fn a_filter_typo_matches_nothing_and_names_the_nearest_field() {
    let config = r#"
[decode.fields]
timestamp = "time"
latency = "request_time"
[[sli]]
name = "api"
filter = 'url =~ "^/api"'
good = 'status < 500'
"#;
    let lines: Vec<String> = (0..50).map(|i| nginx(i, 200)).collect();
    let w = warnings_for(config, &lines);
    let kinds: Vec<&str> = w.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, ["no_match", "unknown_field"], "{w:#?}");
    assert!(w[0].message.contains("matched none of the 50 events"));
    assert!(
        w[1].message
            .contains(r#"field "url", named by its rules, never appeared"#)
            && w[1]
                .message
                .contains(r#"did you mean "uri"? fields seen: uri, "#),
        "{}",
        w[1].message
    );
}

#[test]
fn most_lines_rejected_says_what_the_first_looks_like() {
    let config = SLIS;
    let combined = r#"203.0.113.9 - - [27/Nov/2026:10:00:01 +0000] "GET /api/x HTTP/1.1" 200 512 "-" "curl/8.5.0""#;
    let lines = vec![combined.to_string(); 3];
    let w = warnings_for(config, &lines);
    assert_eq!(w.len(), 1, "{w:#?}");
    let m = &w[0].message;
    assert!(
        m.starts_with(
            "3 of 3 lines were rejected; the first (not_json at test:1) reads `203.0.113.9 - -"
        ),
        "{m}"
    );
    assert!(
        m.contains("it looks like `nginx`, and this configuration reads `json`; set [decode] format = \"nginx\""),
        "{m}"
    );

    // nginx's combined with fields after it, read as combined: the
    // advice is the server's own log_format, not Apache's format.
    let config = format!("[decode]\nformat = \"nginx\"\n{SLIS}");
    let lines = vec![format!("{combined} 0.123 \"0.120\""); 3];
    let w = warnings_for(&config, &lines);
    assert_eq!(w.len(), 1, "{w:#?}");
    let m = &w[0].message;
    assert!(
        m.contains("another layout than the `log_format` this configuration reads (`combined`, when none is set); set [decode] log_format"),
        "{m}"
    );
    assert!(!m.contains("set [decode] format"), "{m}");
    let config = SLIS;

    // JSON without the configured timestamp field: the field is named.
    let lines: Vec<String> = (0..4)
        .map(|i| format!(r#"{{"ts":"2026-11-27T10:00:0{i}Z","status":200}}"#))
        .collect();
    let w = warnings_for(config, &lines);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].message.contains(r#"it has no field "timestamp""#)
            && w[0].message.contains(r#"did you mean "ts"?"#),
        "{}",
        w[0].message
    );
}

/// A few rejected lines among many are warned about past 1%, without the
/// advice to change the format, which reads the rest.
#[test]
fn a_share_of_rejected_lines_over_one_percent_is_warned_about() {
    let good = |i: usize| {
        format!(
            r#"{{"timestamp":"2026-11-27T10:00:{:02}Z","uri":"/api/x","status":200,"latency":5}}"#,
            i % 60
        )
    };
    let combined = r#"203.0.113.9 - - [27/Nov/2026:10:00:01 +0000] "GET /api/x HTTP/1.1" 200 512 "-" "curl/8.5.0""#;
    // 1 line in 100 is not over 1%: silent.
    let mut lines: Vec<String> = (0..99).map(good).collect();
    lines.push(combined.to_string());
    assert_eq!(warnings_for(SLIS, &lines), [], "one line in a hundred");
    // 2 in 100 is.
    lines[50] = combined.to_string();
    let w = warnings_for(SLIS, &lines);
    assert_eq!(w.len(), 1, "{w:#?}");
    let m = &w[0].message;
    assert!(
        m.starts_with("2 of 100 lines (2.0%) were rejected and count in no SLI; the first (not_json at test:51)"),
        "{m}"
    );
    assert!(
        !m.contains("set [decode] format"),
        "the format reads most lines: {m}"
    );
    assert!(m.contains("[dead_letter]"), "{m}");
}

#[test]
fn a_missing_role_field_is_named_with_its_mapping() {
    let config = SLIS;
    let lines: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2026-11-27T10:00:0{i}Z","uri":"/api","status":200,"duration":5}}"#
            )
        })
        .collect();
    let w = warnings_for(config, &lines);
    let kinds: Vec<&str> = w.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, ["invalid", "unknown_field"], "{w:#?}");
    assert!(
        w[0].message
            .contains(r#"latency: field "latency" is missing from the event"#)
            && w[0].message.contains("[decode.fields] latency = "),
        "{}",
        w[0].message
    );
    assert!(
        w[1].message
            .contains("(the latency role, [decode.fields] latency)"),
        "{}",
        w[1].message
    );
}

/// ALB lines of requests that reached no target write their timings as
/// `-1`: the latency mapping is right, and the warning says so instead of
/// asking for another field.
#[test]
fn latency_not_measured_in_a_text_format_is_not_blamed_on_the_mapping() {
    let config = format!("[decode]\nformat = \"alb\"\n{SLIS}");
    let line = |i: usize, times: &str| {
        format!(
            r#"https 2026-10-10T04:55:{:02}.000000Z app/my-lb/50dc6c495c0c9188 192.0.2.1:50122 - {times} 503 - 0 0 "GET https://www.example.com:443/api HTTP/1.1" "curl/8.5.0" - - - "-" "-" "-" 0 2026-10-10T04:55:37.000000Z "forward" "-" "-" "-" "-" "-" "-" -"#,
            i % 60
        )
    };
    let lines: Vec<String> = (0..10)
        .map(|i| {
            line(
                i,
                if i < 5 {
                    "-1 -1 -1"
                } else {
                    "0.000 0.010 0.000"
                },
            )
        })
        .collect();
    let w = warnings_for(&config, &lines);
    let m = &w
        .iter()
        .find(|w| w.kind == "invalid")
        .expect("an invalid warning")
        .message;
    assert!(m.contains("5 of its 10 events (50.0%) were invalid"), "{m}");
    assert!(
        m.contains("was written as missing (`-`, or `-1` for not measured) in those lines")
            && m.contains("the mapping is right: those requests have no latency"),
        "{m}"
    );
    assert!(!m.contains("map the field"), "{m}");
}

#[test]
fn thousands_are_separated() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(50_000), "50,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn the_stream_job_checks_once_after_two_minutes_and_serves_the_warnings() {
    let config = Config::parse(
        "inline.toml".as_ref(),
        &format!("[decode.fields]\ntimestamp = \"time\"\nlatency = \"request_time\"\n{SLIS}"),
    )
    .expect("config");
    let mut engine = Engine::new(&config);
    let mut watch = Watch::new(&config, watch::Sees::Everything);
    // Ten seconds apart: the windows of 10:00 and 10:01 hold them.
    for i in 0..12 {
        let line = format!(
            r#"{{"time":"2026-11-27T10:0{}:{:02}Z","uri":"/api/x","status":200,"request_time":"100 ms"}}"#,
            i / 6,
            i % 6 * 10
        );
        engine.process_text(&line).expect("decoded");
    }
    let mut closed = engine.windows_mut().take_until(i64::MAX);
    watch.add(&closed[..1]);
    assert_eq!(
        watch.check(&config, Some(engine.probe())),
        None,
        "one minute is not enough"
    );
    let mut text = String::new();
    watch.render_metrics(&mut text);
    assert!(!text.contains("slipstream_setup_warnings{"), "{text}");
    watch.add(&closed.split_off(1));
    let warnings = watch
        .check(&config, Some(engine.probe()))
        .expect("due")
        .to_vec();
    let kinds: Vec<&str> = warnings.iter().map(|w| w.kind).collect();
    assert_eq!(kinds, ["invalid"], "{warnings:#?}");
    assert_eq!(
        watch.check(&config, Some(engine.probe())),
        None,
        "checked once"
    );
    let mut text = String::new();
    watch.render_metrics(&mut text);
    assert!(
        text.contains("slipstream_setup_warnings{kind=\"invalid\",sli=\"fast\"} 1\n"),
        "{text}"
    );
}

#[test]
fn a_field_asked_about_with_exists_or_null_may_be_absent() {
    let config = r#"
[[sli]]
name = "api"
filter = 'exists(uri) && !exists(grpc_status)'
good = 'status < 500 && (error == null || !exists(error))'
"#;
    let lines: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2026-11-27T10:00:{:02}Z","uri":"/api/x","status":200}}"#,
                i % 60
            )
        })
        .collect();
    assert_eq!(warnings_for(config, &lines), []);
    // A field compared with a value is still named when it never appears.
    let typo = config.replace("status < 500", "statsu < 500");
    let w = warnings_for(&typo, &lines);
    assert!(
        w.iter()
            .any(|w| w.kind == "unknown_field" && w.message.contains(r#"field "statsu""#)),
        "{w:#?}"
    );
}

#[test]
fn a_group_by_field_no_event_has_is_named() {
    let config = "[[sli]]\nname = \"api\"\ngood = 'status < 500'\ngroup_by = [\"htp.route\"]\n";
    let lines: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"timestamp":"2026-11-27T10:00:{:02}Z","http":{{"route":"/a"}},"status":200}}"#,
                i % 60
            )
        })
        .collect();
    let w = warnings_for(config, &lines);
    assert!(
        w.iter().any(|w| w.kind == "unknown_field"
            && w.message.contains(r#"field "htp.route""#)
            && w.message.contains("named by its group_by")),
        "{w:#?}"
    );
    let fixed = config.replace("htp.route", "http.route");
    assert_eq!(warnings_for(&fixed, &lines), []);
}

#[test]
fn lines_that_are_not_text_are_noted_too() {
    let config = Config::parse("inline.toml".as_ref(), SLIS).expect("config");
    let mut engine = Engine::new(&config);
    // A payload of binary bytes (gzip's magic), as a topic of compressed
    // or Avro messages holds.
    assert_eq!(
        engine.process(&[0x1f, 0x8b, 0x08, 0x00, 0xff]),
        Err(LineReject::NotUtf8)
    );
    let probe = engine.probe();
    assert_eq!((probe.lines(), probe.events()), (1, 0));
    assert_eq!(
        probe.first_rejected.as_ref().map(|(r, ..)| *r),
        Some(LineReject::NotUtf8)
    );
}

/// Scaled out, an ingest instance's partitions may hold none of an SLI's
/// events while another's do: the instance judges its lines, the rollup
/// which SLI matched nothing anywhere.
#[test]
fn scaled_out_the_rollup_alone_says_which_sli_matched_nothing() {
    use crate::window::{SliWindow, Window};
    use watch::Sees;
    let config = Config::parse(
        "inline.toml".as_ref(),
        r#"
[[sli]]
name = "api"
filter = 'uri =~ "^/api"'
good = 'status < 500'
[[sli]]
name = "admin"
filter = 'uri == "/admin"'
good = 'status < 500'
[[sli]]
name = "nowhere"
filter = 'uri == "/nowhere"'
good = 'status < 500'
"#,
    )
    .expect("config");
    // This instance's partitions hold only /api requests, over three minutes.
    let mut engine = Engine::new(&config);
    for i in 0..18 {
        let line = format!(
            r#"{{"timestamp":"2026-11-27T10:0{}:{:02}Z","uri":"/api/x","status":200}}"#,
            i / 6,
            i % 6 * 10
        );
        engine.process_text(&line).expect("decoded");
    }
    let closed = engine.windows_mut().take_until(i64::MAX);
    let mut ingest = Watch::new(&config, Sees::Lines);
    ingest.add(&closed);
    assert_eq!(ingest.check(&config, Some(engine.probe())), Some(&[][..]));
    // The same lines seen whole say two SLIs matched nothing.
    let mut whole = Watch::new(&config, Sees::Everything);
    whole.add(&closed);
    let kinds: Vec<_> = whole
        .check(&config, Some(engine.probe()))
        .expect("due")
        .iter()
        .map(|w| (w.kind, w.sli.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        kinds,
        [("no_match", "admin".into()), ("no_match", "nowhere".into())]
    );

    // The rollup owns "admin" and "nowhere"; the other partitions held
    // /admin requests. Windows of "api" hold only a part: not judged.
    let minute = 60_000_000_000_i64;
    let t0 = closed[0].start_ns;
    let window = |i: i64, admin: u64| Window {
        start_ns: t0 + i * minute,
        slis: vec![
            SliWindow::default(),
            SliWindow {
                total: admin,
                good: admin,
                ..SliWindow::default()
            },
            SliWindow::default(),
        ]
        .into_boxed_slice(),
    };
    let owned = [false, true, true];
    let mut rollup = Watch::new(&config, Sees::Windows);
    rollup.add_owned(&owned, &[window(0, 3)], t0 + minute);
    assert_eq!(
        rollup.check(&config, None),
        None,
        "one minute is not enough"
    );
    // Event time passes with no window for these SLIs: still due.
    rollup.add_owned(&owned, &[], t0 + 3 * minute);
    let w = rollup.check(&config, None).expect("due").to_vec();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(
        (w[0].kind, w[0].sli.as_deref()),
        ("no_match", Some("nowhere"))
    );
    assert!(
        w[0].message.contains("3 minute(s)") && w[0].message.contains(r#"`uri == "/nowhere"`"#),
        "{}",
        w[0].message
    );
    assert_eq!(rollup.check(&config, None), None, "checked once");
    let mut text = String::new();
    rollup.render_metrics(&mut text);
    assert!(
        text.contains("slipstream_setup_warnings{kind=\"no_match\",sli=\"nowhere\"} 1\n"),
        "{text}"
    );
}
