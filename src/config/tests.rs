use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("test.toml"), text)
}

const MINIMAL: &str = r#"
[[sli]]
name = "api"
good = "status < 500"
"#;

#[test]
fn defaults_fill_an_minimal_file() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.window.size_ns, 60_000_000_000);
    assert_eq!(c.window.allowed_lateness, Duration::from_secs(60));
    assert_eq!(c.decode.timestamp_field, "timestamp");
    assert_eq!(c.decode.latency_unit, LatencyUnit::Millis);
    assert_eq!(c.decode.max_event_bytes, 1_048_576);
    assert_eq!(c.http.listen, "127.0.0.1:9898");
    let keys: Vec<&str> = c.slis[0]
        .percentiles
        .iter()
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(keys, ["p50", "p90", "p99"]);
    assert!(c.slis[0].filter.is_none());
}

#[test]
fn percentile_keys_follow_the_digits() {
    let cases = [
        (0.5, "p50", 5, 10),
        (0.75, "p75", 75, 100),
        (0.999, "p999", 999, 1000),
        (0.05, "p05", 5, 100),
    ];
    for (q, key, num, den) in cases {
        let p = Percentile::from_quantile(q).unwrap();
        assert_eq!(
            (p.key.as_str(), p.numerator, p.denominator),
            (key, num, den)
        );
    }
    assert!(Percentile::from_quantile(0.0).is_none());
    assert!(Percentile::from_quantile(1.5).is_none());
    assert_eq!(Percentile::from_quantile(1.0).unwrap().key, "p100");
}

#[test]
fn unknown_key_names_line_and_key() {
    let e = parse(
        "[window]\nsize = \"1m\"\nsise = \"2m\"\n[[sli]]\nname=\"a\"\ngood=\"status < 500\"\n",
    )
    .unwrap_err();
    assert_eq!(e.position.map(|p| p.0), Some(3), "{e}");
    assert_eq!(e.field.as_deref(), Some("window.sise"), "{e}");
    assert!(e.to_string().contains("unknown field `sise`"), "{e}");
    assert!(e.to_string().starts_with("test.toml:3:"), "{e}");
}

#[test]
fn bad_duration_names_the_field() {
    let e = parse(
        "[window]\nallowed_lateness = \"5 parsecs\"\n[[sli]]\nname=\"a\"\ngood=\"status < 500\"\n",
    )
    .unwrap_err();
    assert_eq!(e.position, Some((2, 20)));
    assert_eq!(e.field.as_deref(), Some("window.allowed_lateness"));
    assert!(e.message.contains("is not a duration"), "{e}");
}

#[test]
fn bad_rule_points_at_the_column_inside_the_string() {
    let text = "[[sli]]\nname = \"a\"\ngood = 'status <= '\n";
    let e = parse(text).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].good"));
    // `good = '` is 8 characters; the rule's column 11 is the file's column 19.
    let (line, col) = e.position.unwrap();
    assert_eq!(line, 3);
    assert!(col > 8, "{e}");
    let shown = e.to_string();
    assert!(shown.contains("status <="), "{shown}");
    assert!(shown.contains('^'), "{shown}");
}

/// (line, column) of the first `marker` in `text`, from 1, in characters.
fn where_is(text: &str, marker: &str) -> (usize, usize) {
    let at = text.find(marker).expect("marker");
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (
        text[..at].matches('\n').count() + 1,
        text[line_start..at].chars().count() + 1,
    )
}

/// Whatever the kind of TOML string, a rule error's position is that of
/// the offending text in the file: through escapes, non-ASCII characters,
/// line breaks, and at the end of a rule that ends with a line break.
#[test]
fn rule_errors_point_at_the_place_in_the_file() {
    let strings = [
        r#""service == \"x\" && status <= 5xs""#,
        r#""service == \"\u00e9\\\\\t\" && status <= 5xs""#,
        r#""région == \"é€\" && status <= 5xs""#,
        "'service == \"€\" && status <= 5xs'",
        "\"\"\"\nstatus < 500 &&\n  latency < 5xs\n\"\"\"",
        "\"\"\"status < 500 && \\\n     latency < 5xs\"\"\"",
        "'''\r\nstatus < 500 &&\r\n  \"\\\"\" != service && 5xs'''",
    ];
    for string in strings {
        let text = format!("[[sli]]\nname = \"a\"\ngood = {string}\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.position, Some(where_is(&text, "5xs")), "{string}: {e}");
        assert!(e.to_string().contains("5xs"), "{e}");
    }
    // An error at the end of the rule points just after it.
    let text = "[[sli]]\nname = \"a\"\ngood = \"\"\"\nstatus < 500 &&\n  latency <\n\"\"\"\n";
    let e = parse(text).unwrap_err();
    let (line, col) = where_is(text, "latency <");
    assert_eq!(e.position, Some((line, col + "latency <".len())), "{e}");
    let shown = e.to_string();
    assert!(shown.ends_with("  latency <\n             ^"), "{shown:?}");
}

#[test]
fn missing_file_is_named() {
    let e = Config::load(Path::new("/nonexistent/slipstream.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/slipstream.toml: cannot read"),
        "{e}"
    );
}

#[test]
fn objective_and_sink_checks() {
    let e = parse(&format!(
        "{MINIMAL}[sli.objective]\ntarget = 99.9\nwindow = \"28d\"\n"
    ))
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].objective.target"));
    let e = parse(&format!(
        "{MINIMAL}[sli.objective]\ntarget = 0.999\nwindow = \"calendar:year\"\n"
    ))
    .unwrap_err();
    assert!(e.message.contains("calendar:month"), "{e}");
    let e = parse(&format!("{MINIMAL}[[sink]]\ntype = \"file\"\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sink[0].path"));
    let e = parse(&format!(
        "{MINIMAL}[[sink]]\ntype = \"file\"\npath = \"x\"\ntopic = \"t\"\n"
    ))
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sink[0].topic"));
    let e = parse(&format!("{MINIMAL}[[sink]]\ntype = \"s3\"\n")).unwrap_err();
    assert!(e.message.contains("unknown sink type `s3`"), "{e}");
    let e = parse(&format!(
        "{MINIMAL}[[sli]]\nname = \"api\"\ngood = \"true\"\n"
    ))
    .unwrap_err();
    assert!(e.message.contains("already used"), "{e}");
}

#[test]
fn a_webhook_takes_a_timeout_and_only_a_webhook() {
    let hook = "[[sink]]\ntype = \"webhook\"\nurl = \"http://h/x\"\n";
    let timeout = |c: &Config| match &c.sinks[0].kind {
        SinkKind::Webhook { timeout, .. } => *timeout,
        other => panic!("{other:?}"),
    };
    let c = parse(&format!("{MINIMAL}{hook}")).unwrap();
    assert_eq!(timeout(&c), Duration::from_secs(5));
    let c = parse(&format!("{MINIMAL}{hook}timeout = \"1500ms\"\n")).unwrap();
    assert_eq!(timeout(&c), Duration::from_millis(1500));
    for bad in ["0s", "soon"] {
        let e = parse(&format!("{MINIMAL}{hook}timeout = \"{bad}\"\n")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sink[0].timeout"), "{bad}: {e}");
    }
    let e = parse(&format!(
        "{MINIMAL}[[sink]]\ntype = \"file\"\npath = \"x\"\ntimeout = \"5s\"\n"
    ))
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sink[0].timeout"));
}

#[test]
fn env_vars_expand_and_missing_ones_are_named() {
    std::env::set_var("SLIPSTREAM_TEST_TOPIC", "slo-out");
    let c = parse(&format!(
        "{MINIMAL}[[sink]]\ntype = \"kafka\"\ntopic = \"${{SLIPSTREAM_TEST_TOPIC}}\"\n"
    ))
    .unwrap();
    assert!(matches!(&c.sinks[0].kind, SinkKind::Kafka { topic } if topic == "slo-out"));
    let e = parse(&format!(
        "{MINIMAL}[[sink]]\ntype = \"kafka\"\ntopic = \"${{SLIPSTREAM_TEST_UNSET_VAR}}\"\n"
    ))
    .unwrap_err();
    assert!(e.message.contains("SLIPSTREAM_TEST_UNSET_VAR"), "{e}");
    assert_eq!(expand_env("a$$b").unwrap(), "a$b");
    assert!(expand_env("${unclosed").is_err());
}

#[test]
fn secrets_never_show_in_debug() {
    std::env::set_var("SLIPSTREAM_TEST_PASSWORD", "hunter2-secret-value");
    let text = format!(
        "[source.kafka]\nbrokers = \"b:9092\"\ntopics = [\"t\"]\n[source.kafka.librdkafka]\n\"sasl.password\" = \"${{SLIPSTREAM_TEST_PASSWORD}}\"\n\"sasl.username\" = \"svc\"\n{MINIMAL}[[sink]]\ntype = \"postgres\"\nurl = \"postgres://u:${{SLIPSTREAM_TEST_PASSWORD}}@h/db\"\n"
    );
    let c = parse(&text).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("svc"));
    let src = c.source.as_ref().unwrap();
    assert_eq!(src.librdkafka["sasl.password"], "hunter2-secret-value");
}

#[test]
fn errors_in_an_array_of_tables_name_the_element() {
    let text = "[[sli]]\nname = \"a\"\ngood = \"status < 500\"\n\n[[sli]]\nname = \"b\"\n";
    let e = parse(text).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[1]"), "{e}");
    assert!(e.message.contains("good"), "{e}");
    let e = parse("[[sli]]\nname = \"a\"\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0]"), "{e}");
    // CRLF line ends and multi-byte characters before the error.
    let text = "[[sli]]\r\nname = \"é\"\r\ngood = \"status < 500\"\r\n[[sli]]\r\nname = \"b\"\r\ngood = 5\r\n";
    let e = parse(text).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[1].good"), "{e}");
    assert_eq!(e.position, Some((6, 8)), "{e}");
    // Tables and arrays of tables inside an element.
    let objective = "[sli.objective]\ntarget = 0.99\nwindow = \"28d\"\n";
    let alert = "[[sli.alerts.pairs]]\nseverity = \"page\"\nlong_window = \"1h\"\nshort_window = \"5m\"\nburn_rate = 14.4\n";
    let sli = |name: &str| format!("[[sli]]\nname = \"{name}\"\ngood = \"status < 500\"\n");
    let text = format!(
        "{}{objective}{alert}{}{objective}{alert}{alert}bogus = 1\n",
        sli("a"),
        sli("b")
    );
    let e = parse(&text).unwrap_err();
    assert_eq!(
        e.field.as_deref(),
        Some("sli[1].alerts.pairs[1].bogus"),
        "{e}"
    );
    let text = format!("{}{}{objective}wrong = 2\n", sli("a"), sli("b"));
    let e = parse(&text).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[1].objective.wrong"), "{e}");
}

#[test]
fn librdkafka_takes_booleans_and_numbers_and_never_echoes_a_value() {
    let kafka = |props: &str| {
        format!(
            "[source.kafka]\nbrokers = \"b:9092\"\ntopics = [\"t\"]\n[source.kafka.librdkafka]\n{props}\n{MINIMAL}"
        )
    };
    let c = parse(&kafka(
        "\"enable.idempotence\" = true\n\"linger.ms\" = 5\n\"batch.size\" = 1.5\n\"client.id\" = \"x\"",
    ))
    .unwrap();
    let props = &c.source.as_ref().unwrap().librdkafka;
    assert_eq!(props["enable.idempotence"], "true");
    assert_eq!(props["linger.ms"], "5");
    assert_eq!(props["batch.size"], "1.5");
    assert_eq!(props["client.id"], "x");
    let e = parse(&kafka("\"sasl.password\" = [\"hunter2-in-a-list\"]")).unwrap_err();
    let shown = e.to_string();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("sasl.password"), "{shown}");
    assert!(shown.contains("a string, a boolean or a number"), "{shown}");
}

#[test]
fn example_configs_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // Example configs may reference secrets from the environment.
            for var in [
                "KAFKA_PASSWORD",
                "DATABASE_URL",
                "KAFKA_USERNAME",
                "KAFKA_BROKERS",
            ] {
                if std::env::var(var).is_err() {
                    std::env::set_var(var, "example");
                }
            }
            Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 1);
}

#[test]
fn alert_pairs_can_be_replaced_and_are_checked() {
    // Lines 5-7: the objective; 8-9: [sli.alerts].
    let base = format!(
        "{MINIMAL}[sli.objective]\ntarget = 0.999\nwindow = \"30d\"\n[sli.alerts]\nmin_events = 10\n"
    );
    let c = parse(&base).unwrap();
    let a = &c.slis[0].objective.as_ref().unwrap().alerts;
    assert_eq!(a.pairs, WORKBOOK_PAIRS.to_vec());
    assert_eq!(a.min_events, 10);
    assert!(!a.custom);
    // Lines 10-14: one pair; a burn rate may be written as an integer.
    let custom = format!(
        "{base}[[sli.alerts.pairs]]\nseverity = \"page\"\nlong_window = \"2h\"\nshort_window = \"10m\"\nburn_rate = 10\n"
    );
    let c = parse(&custom).unwrap();
    let a = &c.slis[0].objective.as_ref().unwrap().alerts;
    assert!(a.custom);
    assert_eq!(
        a.pairs,
        vec![AlertPair {
            severity: Severity::Page,
            long_secs: 7_200,
            short_secs: 600,
            burn_rate: 10.0
        }]
    );
    // A threshold of 1 fires above the sustainable rate: allowed.
    assert!(parse(&custom.replace("burn_rate = 10", "burn_rate = 1.0")).is_ok());
    // `pairs = []`: an objective that never alerts.
    let none = parse(&format!("{base}pairs = []\n")).unwrap();
    assert!(none.slis[0]
        .objective
        .as_ref()
        .unwrap()
        .alerts
        .pairs
        .is_empty());

    let err = |from: &str, to: &str| {
        let text = custom.replace(from, to);
        assert_ne!(text, custom, "{from}");
        parse(&text).unwrap_err()
    };
    let field = |f: &str| Some(format!("sli[0].alerts.pairs[0].{f}"));
    let e = err("burn_rate = 10", "burn_rate = 0.5");
    assert_eq!(e.field, field("burn_rate"), "{e}");
    assert_eq!(e.position, Some((14, 13)), "{e}");
    assert!(e.message.contains("0.5 is below 1"), "{e}");
    let e = err("short_window = \"10m\"", "short_window = \"3h\"");
    assert_eq!(e.field, field("short_window"), "{e}");
    assert_eq!(e.position, Some((13, 16)), "{e}");
    assert!(
        e.message.contains("must be shorter than long_window `2h`"),
        "{e}"
    );
    let e = err("short_window = \"10m\"", "short_window = \"2h\"");
    assert_eq!(e.field, field("short_window"), "{e}");
    let e = err("long_window = \"2h\"", "long_window = \"30s\"");
    assert_eq!(e.field, field("long_window"), "{e}");
    assert_eq!(e.position, Some((12, 15)), "{e}");
    assert!(
        e.message
            .contains("`30s` is not a whole number of windows of 1m (window.size)"),
        "{e}"
    );
    let e = err("short_window = \"10m\"", "short_window = \"90s\"");
    assert_eq!(e.field, field("short_window"), "{e}");
    assert!(e.message.contains("write `1m` or `2m`"), "{e}");
    let e = err("severity = \"page\"", "severity = \"sms\"");
    assert_eq!(e.field, field("severity"), "{e}");
    assert_eq!(e.position, Some((11, 12)), "{e}");
    assert!(e.message.contains("unknown severity `sms`"), "{e}");
    let e = err("min_events = 10", "min_events = -1");
    assert_eq!(e.field.as_deref(), Some("sli[0].alerts.min_events"), "{e}");
    assert_eq!(e.position, Some((9, 14)), "{e}");
    let e = err("burn_rate = 10\n", "");
    assert!(e.message.contains("burn_rate"), "{e}");

    // Alerts without an objective have nothing to burn.
    let e = parse(&format!("{MINIMAL}[sli.alerts]\nmin_events = 5\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].alerts"), "{e}");
    assert!(e.message.contains("need an objective"), "{e}");
}

#[test]
fn the_old_alert_keys_say_what_to_write_instead() {
    let head = format!("{MINIMAL}[sli.objective]\ntarget = 0.999\nwindow = \"28d\"\n");
    let e = parse(&format!("{head}alert_min_events = 500\n")).unwrap_err();
    assert_eq!(
        e.field.as_deref(),
        Some("sli[0].objective.alert_min_events"),
        "{e}"
    );
    assert_eq!(e.position.map(|p| p.0), Some(8), "{e}");
    assert!(
        e.message
            .contains("write `min_events = 500` under `[sli.alerts]`"),
        "{e}"
    );
    let e = parse(&format!(
        "{head}[[sli.objective.alert]]\nseverity = \"page\"\nlong_window = \"1h\"\nshort_window = \"5m\"\nbudget_share = 0.02\n"
    ))
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].objective.alert"), "{e}");
    assert!(e.message.contains("[[sli.alerts.pairs]]"), "{e}");
    assert!(
        e.message.contains("burn_rate = s x objective window / L"),
        "{e}"
    );
}

#[test]
fn slice_rules_parse_and_explain_their_mistakes() {
    let head = "[[sli]]\nname = \"a\"\ngood = 'status < 500'\npercentiles = [0.5, 0.99]\n[sli.objective]\ntarget = 0.99\nwindow = \"28d\"\n";
    let c = parse(&format!(
        "{head}method = \"timeslices\"\nslice = \"p99 <= 0.3s\"\n"
    ))
    .unwrap();
    let o = c.slis[0].objective.as_ref().unwrap();
    assert_eq!(
        o.slice,
        SliceRule::Latency {
            index: 1,
            key: "p99".into(),
            op: SliceOp::Le,
            threshold_ms: 300.0
        }
    );
    // Decided from the window's percentiles, in the SLI's order.
    assert_eq!(o.slice.verdict(1, 0, Some(&[10.0, 300.0])), Some(true));
    assert_eq!(o.slice.verdict(1, 0, Some(&[10.0, 300.5])), Some(false));
    assert_eq!(o.slice.verdict(1, 0, None), None);

    let c = parse(&format!(
        "{head}method = \"timeslices\"\nslice = \"compliance > 0.95\"\n"
    ))
    .unwrap();
    let o = c.slis[0].objective.as_ref().unwrap();
    assert_eq!(o.slice.verdict(96, 4, None), Some(true));
    assert_eq!(o.slice.verdict(95, 5, None), Some(false));
    assert_eq!(o.slice.verdict(0, 0, None), None);

    // The default: compliance meets the target.
    let c = parse(&format!("{head}method = \"timeslices\"\n")).unwrap();
    let o = c.slis[0].objective.as_ref().unwrap();
    assert_eq!(o.slice.verdict(99, 1, None), Some(true));
    assert_eq!(o.slice.verdict(98, 2, None), Some(false));

    let e = parse(&format!("{head}slice = \"p99 <= 300ms\"\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].objective.slice"), "{e}");
    assert!(e.message.contains("timeslices"), "{e}");
    let e = parse(&format!(
        "{head}method = \"timeslices\"\nslice = \"p90 <= 300ms\"\n"
    ))
    .unwrap_err();
    assert!(e.message.contains("add it to `percentiles`"), "{e}");
    assert_eq!(e.position.map(|p| p.0), Some(9), "{e}");
    let e = parse(&format!(
        "{head}method = \"timeslices\"\nslice = \"p99 = 3\"\n"
    ))
    .unwrap_err();
    assert!(e.message.contains("expected"), "{e}");
}

#[test]
fn breakdown_fields_and_limit_are_checked() {
    let head = "[[sli]]\nname = \"a\"\ngood = 'status < 500'\n";
    let c = parse(&format!(
        "{head}breakdown = [\"http.route\", \"region\", \"http.route\"]\n"
    ))
    .unwrap();
    let paths: Vec<&str> = c.slis[0]
        .breakdown
        .iter()
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(
        paths,
        ["http.route", "region"],
        "duplicates dropped, order kept"
    );
    assert_eq!(c.slis[0].breakdown_limit, 20);
    let e = parse(&format!("{head}breakdown = [\"http..route\"]\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].breakdown"), "{e}");
    let e = parse(&format!("{head}breakdown_limit = 0\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].breakdown_limit"), "{e}");
}

#[test]
fn group_by_fields_and_limit_are_checked() {
    let head = "[[sli]]\nname = \"a\"\ngood = 'status < 500'\n";
    let c = parse(&format!(
        "{head}group_by = [\"http.route\", \"region\", \"http.route\"]\n"
    ))
    .unwrap();
    let paths: Vec<&str> = c.slis[0].group_by.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["http.route", "region"],
        "duplicates dropped, order kept"
    );
    assert_eq!(c.slis[0].group_limit, 1_000);
    assert!(parse(head).unwrap().slis[0].group_by.is_empty());
    let text = format!("{head}group_by = [\"http..route\"]\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].group_by"), "{e}");
    assert_eq!(e.position.map(|p| p.0), Some(4), "{e}");
    let e = parse(&format!("{head}group_by = []\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].group_by"), "{e}");
    let e = parse(&format!("{head}group_by = [\"route\"]\ngroup_limit = 0\n")).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[0].group_limit"), "{e}");
    assert!(e.message.contains("between 1 and"), "{e}");
}

#[test]
fn ratios_are_read_as_numbers_or_percentages() {
    use super::parse_ratio;
    assert_eq!(parse_ratio("0.999"), Ok(0.999));
    assert_eq!(parse_ratio("99.9%"), Ok(0.999));
    assert_eq!(parse_ratio(" 99 % "), Ok(0.99));
    assert_eq!(parse_ratio("100%"), Ok(1.0));
    for bad in ["", "%", "99x%", "abc", "inf", "NaN%"] {
        let e = parse_ratio(bad).expect_err(bad);
        assert!(e.contains("percentage like 99.9%"), "{e}");
    }
}

#[test]
fn an_apache_duration_of_another_unit_keeps_its_own_unit() {
    let head = "[decode]\nformat = \"apache\"\nlog_format = '%h %t \"%r\" %>s %D %{ms}T %T'\n";
    let sli = "[[sli]]\nname = \"a\"\ngood = 'latency <= 300ms'\n";
    let unit = |latency: &str| {
        parse(&format!(
            "{head}[decode.fields]\nlatency = \"{latency}\"\n{sli}"
        ))
        .map(|c| c.decode.latency_unit)
    };
    // %D is the default: microseconds.
    let c = parse(&format!("{head}{sli}")).unwrap();
    assert_eq!(
        (c.decode.latency_field.as_str(), c.decode.latency_unit),
        ("duration_us", LatencyUnit::Micros)
    );
    assert_eq!(unit("duration_ms").ok(), Some(LatencyUnit::Millis));
    assert_eq!(unit("duration_s").ok(), Some(LatencyUnit::Seconds));
    // A field whose unit nobody knows needs it said.
    let e = unit("remote_host").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("decode.fields.latency"), "{e}");
    assert!(e.to_string().contains("latency_unit"), "{e}");
    // Said, it is taken.
    let c = parse(&format!(
        "{head}[decode.fields]\nlatency = \"remote_host\"\nlatency_unit = \"s\"\n{sli}"
    ))
    .unwrap();
    assert_eq!(c.decode.latency_unit, LatencyUnit::Seconds);
}

/// A name used twice among many SLIs is named at its second use.
#[test]
fn a_name_used_twice_is_found_among_many() {
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!(
            "[[sli]]\nname = \"r{i}\"\ngood = \"status < 500\"\n"
        ));
    }
    text.push_str("[[sli]]\nname = \"r17\"\ngood = \"status < 500\"\n");
    let e = parse(&text).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("sli[300].name"));
    assert_eq!(e.position.map(|(line, _)| line), Some(902));
    assert!(e.message.contains("`r17` is already used"), "{}", e.message);
    let second = "name = \"r17\"";
    let last = text.rfind(second).expect("the second r17");
    let unique = format!(
        "{}name = \"r300\"{}",
        &text[..last],
        &text[last + second.len()..]
    );
    assert!(parse(&unique).is_ok());
}

/// SLIs written from one template share a rule's text, which is compiled
/// once: each SLI's rules still judge every event as the same rules do in
/// a file of their own, whatever fields the other SLIs add.
#[test]
fn a_rule_shared_by_slis_judges_as_it_does_alone() {
    use crate::decode::Decoder;
    use crate::event::Event;
    let head = "[decode.fields]\ntimestamp = \"ts\"\nlatency = \"lat\"\nlatency_unit = \"ms\"\n";
    let slis = [
        (
            Some(r#"method == "GET""#),
            "status < 500 && latency <= 300ms",
        ),
        (None, "status < 500"),
        (Some("status < 500"), r#"method == "GET""#),
        (
            Some(r#"route =~ "^/a""#),
            "status < 500 && latency <= 300ms",
        ),
        (Some(r#"method == "GET""#), "status < 500"),
    ];
    let block = |i: usize, (filter, good): (Option<&str>, &str)| {
        let filter = filter.map_or(String::new(), |f| format!("filter = '{f}'\n"));
        format!("[[sli]]\nname = \"s{i}\"\ngood = '{good}'\n{filter}")
    };
    let all = parse(&format!(
        "{head}{}",
        slis.iter()
            .enumerate()
            .map(|(i, s)| block(i, *s))
            .collect::<String>()
    ))
    .unwrap();
    let lines = [
        r#"{"ts":1,"status":200,"lat":12,"method":"GET","route":"/a/1"}"#,
        r#"{"ts":2,"status":503,"lat":12,"method":"GET","route":"/b"}"#,
        r#"{"ts":3,"status":200,"lat":900,"method":"POST","route":"/a"}"#,
        r#"{"ts":4,"status":"x","method":"PUT"}"#,
        r#"{"ts":5,"status":404,"lat":300,"route":"/ab"}"#,
    ];
    let judged = |config: &Config, i: usize, line: &str| {
        let mut decoder = Decoder::new(&config.decode, &config.fields);
        let mut event = Event::with_slots(decoder.slots());
        decoder.decode(line.as_bytes(), &mut event).unwrap();
        let sli = &config.slis[i];
        let filter = sli.filter.as_ref().map(|f| f.eval(&event.values));
        (filter, sli.good.eval(&event.values))
    };
    for (i, sli) in slis.iter().enumerate() {
        let alone = parse(&format!("{head}{}", block(i, *sli))).unwrap();
        assert_eq!(all.slis[i].good.source(), sli.1);
        for line in lines {
            assert_eq!(
                judged(&all, i, line),
                judged(&alone, 0, line),
                "s{i}, {line}"
            );
        }
    }
}
