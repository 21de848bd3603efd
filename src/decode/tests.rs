use std::path::Path;

use super::*;
use crate::config::Config;

fn decoder(extra: &str) -> (Config, Decoder) {
    let text = format!(
        "{extra}\n[[sli]]\nname = \"a\"\nfilter = 'exists(http.route) || region == \"x\"'\ngood = 'status < 500 && latency < 1s'\n"
    );
    let config = Config::parse(Path::new("t.toml"), &text).unwrap();
    let d = Decoder::new(&config.decode, &config.fields);
    (config, d)
}

/// Decodes one line with a fresh copy of `d`, as the first line a job sees.
fn decode<'a>(d: &Decoder, line: &'a str) -> Result<Event<'a>, LineReject> {
    let mut e = Event::with_slots(d.slots());
    d.clone().decode(line.as_bytes(), &mut e).map(|()| e)
}

#[test]
fn extracts_roles_and_nested_paths() {
    let (config, d) = decoder("");
    let mut fields = config.fields.clone();
    let route = fields.slot("http.route");
    let region = fields.slot("region");
    let e = decode(
        &d,
        r#"{"skip":{"deep":[1,{"x":"y"}]},"timestamp":"2026-11-27T10:00:00.5Z","status":"503","latency":12.5,"http":{"route":"/a\"b","other":1},"region":"eu"}"#,
    )
    .unwrap();
    assert_eq!(e.time_ns, 1_795_773_600_500_000_000);
    assert_eq!(e.values[STATUS_SLOT], Some(Value::Num(503.0)));
    assert_eq!(e.latency_ns, Some(12_500_000));
    assert_eq!(e.values[route], Some(Value::Str("/a\"b".into())));
    assert_eq!(e.values[region], Some(Value::Str("eu".into())));
}

#[test]
fn reordered_and_look_alike_keys_find_their_slots() {
    let (config, d) = decoder("");
    let region = config.fields.clone().slot("region");
    // Each line after the first breaks the first one's key order in another way.
    let lines = [
        (
            r#"{"timestamp":"2026-11-27T10:00:00Z","status":200,"region":"eu","latency":1}"#,
            200.0,
            Some("eu"),
        ),
        (
            r#"{"timestamps":1,"timestamp":"2026-11-27T10:00:00Z","status":201,"region":"us"}"#,
            201.0,
            Some("us"),
        ),
        (
            r#"{"timestamp":"2026-11-27T10:00:00Z","statu":1,"status":202,"regions":"x"}"#,
            202.0,
            None,
        ),
        (
            r#"{"timestamp":"2026-11-27T10:00:00Z","region":"ap","status":203}"#,
            203.0,
            Some("ap"),
        ),
        (
            r#"{"timestamp":"2026-11-27T10:00:00Z","status":204,"region":"eu","latency":1}"#,
            204.0,
            Some("eu"),
        ),
    ];
    for (line, status, want_region) in lines {
        let e = decode(&d, line).unwrap();
        assert_eq!(e.values[STATUS_SLOT], Some(Value::Num(status)), "{line}");
        let got = match &e.values[region] {
            Some(Value::Str(s)) => Some(s.as_ref()),
            _ => None,
        };
        assert_eq!(got, want_region, "{line}");
    }
}

#[test]
fn flat_dotted_keys_match_paths() {
    let (config, d) = decoder("");
    let mut fields = config.fields.clone();
    let route = fields.slot("http.route");
    let e = decode(&d, r#"{"timestamp":1795773600,"http.route":"/flat"}"#).unwrap();
    assert_eq!(e.values[route], Some(Value::Str("/flat".into())));
    assert_eq!(e.time_ns, 1_795_773_600_000_000_000);
}

#[test]
fn numeric_timestamps_by_magnitude_and_exact_nanos() {
    let (_, d) = decoder("");
    let s = 1_795_773_600i64;
    for (text, want) in [
        (format!("{s}"), s * 1_000_000_000),
        (
            format!("{}", s * 1000 + 250),
            s * 1_000_000_000 + 250_000_000,
        ),
        (format!("{}", s * 1_000_000 + 7), s * 1_000_000_000 + 7_000),
        (
            format!("{}", s * 1_000_000_000 + 123),
            s * 1_000_000_000 + 123,
        ),
        (format!("{s}.25"), s * 1_000_000_000 + 250_000_000),
    ] {
        let line = format!(r#"{{"timestamp":{text}}}"#);
        assert_eq!(decode(&d, &line).unwrap().time_ns, want, "{text}");
    }
}

/// A Unix time reads as the same instant whether it is written as an
/// integer or with a fraction of zeros, on the compact path and on the
/// general one (spaces), against integer arithmetic on its digits.
#[test]
fn a_unix_time_is_exact_in_every_form_and_on_both_paths() {
    for (format, unit_ns) in [
        ("unix_s", 1_000_000_000i128),
        ("unix_ms", 1_000_000),
        ("unix_us", 1_000),
        ("unix_ns", 1),
    ] {
        let (_, d) = decoder(&format!(
            "[decode.fields]\ntimestamp = \"ts\"\ntimestamp_format = \"{format}\""
        ));
        for v in [
            0i64,
            1,
            -1,
            -1_767_225_600,
            1_767_225_600,
            1_767_225_600_123,
            1_767_225_600_123_456,
            1_767_225_600_123_456_789,
            999_999_999_999_999,
            1_000_000_000_000_000,
            9_007_199_254_740_993,
        ] {
            let want = i64::try_from(i128::from(v) * unit_ns)
                .ok()
                .filter(|t| EVENT_TIME_RANGE.contains(t));
            for text in [format!("{v}"), format!("{v}.0"), format!("{v}.000")] {
                for line in [
                    format!(r#"{{"ts":{text},"status":200}}"#),
                    format!(r#"{{ "ts": {text}, "status": 200 }}"#),
                ] {
                    let got = decode(&d, &line).ok().map(|e| e.time_ns);
                    assert_eq!(got, want, "{format}: {line}");
                }
            }
        }
    }
}

#[test]
fn explicit_formats_and_units() {
    let (_, d) = decoder("[decode.fields]\ntimestamp = \"ts\"\ntimestamp_format = \"unix_ms\"\nlatency = \"dur\"\nlatency_unit = \"s\"");
    let e = decode(&d, r#"{"ts":1000,"dur":0.25}"#).unwrap();
    assert_eq!(e.time_ns, 1_000_000_000);
    assert_eq!(e.latency_ns, Some(250_000_000));
    assert_eq!(
        decode(&d, r#"{"ts":"2026-11-27T10:00:00Z"}"#).unwrap_err(),
        LineReject::BadTimestamp
    );
    let (_, d) = decoder("[decode.fields]\ntimestamp_format = \"rfc3339\"");
    assert_eq!(
        decode(&d, r#"{"timestamp":1000}"#).unwrap_err(),
        LineReject::BadTimestamp
    );
}

#[test]
fn every_rejection_reason() {
    let (_, mut d) = decoder("[decode]\nmax_event_bytes = 100");
    let mut e = Event::with_slots(d.slots());
    assert_eq!(
        d.decode(b"{\"timestamp\":\"\xff\"}", &mut e),
        Err(LineReject::NotUtf8)
    );
    for (line, reason) in [
        (r#"{"timestamp":"#, LineReject::NotJson),
        (r#"{"timestamp":1795773600,}"#, LineReject::NotJson),
        (r#"{"a":01}"#, LineReject::NotJson),
        (r#"{"a":"\q"}"#, LineReject::NotJson),
        (r#"{"a":1} x"#, LineReject::NotJson),
        (r#"{"a":tru}"#, LineReject::NotJson),
        ("[1,2]", LineReject::NotObject),
        ("42", LineReject::NotObject),
        ("\"text\"", LineReject::NotObject),
        ("plain text", LineReject::NotJson),
        (r#"{"status":200}"#, LineReject::NoTimestamp),
        (r#"{"timestamp":null}"#, LineReject::NoTimestamp),
        (r#"{"timestamp":"yesterday"}"#, LineReject::BadTimestamp),
        (r#"{"timestamp":true}"#, LineReject::BadTimestamp),
        // Representable, but too close to the ends of i64 nanoseconds for
        // their windows to be.
        (
            r#"{"timestamp":"1677-09-21T00:12:44Z"}"#,
            LineReject::BadTimestamp,
        ),
        (
            r#"{"timestamp":"2262-04-11T23:47:16Z"}"#,
            LineReject::BadTimestamp,
        ),
        (r#"{"timestamp":-9223372036}"#, LineReject::BadTimestamp),
        (r#"{"timestamp":9223372036}"#, LineReject::BadTimestamp),
    ] {
        assert_eq!(decode(&d, line).err(), Some(reason), "{line}");
    }
    // The accepted span ends at 1678-01-01 and 2262-01-01 (`date -d ... +%s`).
    assert!(decode(&d, r#"{"timestamp":"1678-01-01T00:00:00Z"}"#).is_ok());
    assert!(decode(&d, r#"{"timestamp":"2261-12-31T23:59:59.999Z"}"#).is_ok());
    assert_eq!(
        decode(&d, r#"{"timestamp":"1677-12-31T23:59:59Z"}"#).err(),
        Some(LineReject::BadTimestamp)
    );
    assert_eq!(
        decode(&d, r#"{"timestamp":"2262-01-01T00:00:00Z"}"#).err(),
        Some(LineReject::BadTimestamp)
    );
    let long = format!(r#"{{"timestamp":1,"pad":"{}"}}"#, "x".repeat(200));
    assert_eq!(decode(&d, &long).err(), Some(LineReject::TooLarge));
}

#[test]
fn deep_nesting_is_rejected_not_a_crash() {
    let (_, d) = decoder("");
    let deep = format!(
        r#"{{"timestamp":1,"a":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(decode(&d, &deep).err(), Some(LineReject::NotJson));
}

#[test]
fn escapes_and_unicode() {
    assert_eq!(unescape(r"a\u00e9\n\ud83d\ude00"), "a\u{e9}\n\u{1F600}");
    assert_eq!(unescape(r"\ud800x"), "\u{FFFD}x");
    let (config, d) = decoder("");
    let mut fields = config.fields.clone();
    let region = fields.slot("region");
    let e = decode(&d, r#"{"timestamp":1,"re\u0067ion":"caf\u00e9"}"#).unwrap();
    assert_eq!(e.values[region], Some(Value::Str("caf\u{e9}".into())));
}

#[test]
fn status_strings_other_than_digits_stay_strings() {
    let (_, d) = decoder("");
    let e = decode(&d, r#"{"timestamp":1,"status":"OK","latency":-3}"#).unwrap();
    assert_eq!(e.values[STATUS_SLOT], Some(Value::Str("OK".into())));
    assert_eq!(e.latency_ns, None, "a negative latency is not recorded");
}

/// A decoder that remembers the key order of earlier lines decodes every
/// line as a fresh decoder does: lines in the generator's order, the same
/// events with their keys sorted, nested keys dropped, spaces after colons
/// and commas, and keys renamed so that they begin like a remembered key,
/// interleaved at random.
#[test]
fn the_remembered_key_order_never_changes_an_event() {
    let config = Config::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/demo.toml"
    )))
    .expect("config/demo.toml");
    let args = crate::synth::GenArgs {
        count: 3_000,
        ..crate::synth::GenArgs::default()
    };
    let mut g = crate::synth::Generator::new(&args).expect("generator");
    let mut warm = Decoder::new(&config.decode, &config.fields);
    let cold = Decoder::new(&config.decode, &config.fields);
    let mut seed = 0x1F2E_3D4C_5B6A_7988u64;
    let (mut buf, mut variants) = (Vec::new(), [0usize; 5]);
    while g.next_event(&mut buf).is_some() {
        let line = String::from_utf8(std::mem::take(&mut buf)).expect("UTF-8");
        let line = line.trim_end();
        let variant = (crate::testing::xorshift(&mut seed) % 5) as usize;
        variants[variant] += 1;
        let text = match variant {
            0 => line.to_string(),
            1 => {
                // serde_json's map keeps keys sorted.
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                v.to_string()
            }
            2 => line.replacen(",\"http\":{", ",\"h\":{", 1),
            // As Python's json.dumps writes: a space after colons and commas.
            3 => line.replace("\":", "\": ").replace(",\"", ", \""),
            _ => line.replacen("\"service\":", "\"service_\":", 1).replacen(
                "\"status\":",
                "\"statuses\":",
                1,
            ),
        };
        let mut a = Event::with_slots(warm.slots());
        let mut b = Event::with_slots(cold.slots());
        let got = warm.decode(text.as_bytes(), &mut a);
        let want = cold.clone().decode(text.as_bytes(), &mut b);
        assert_eq!(got, want, "{text}");
        assert_eq!(
            (a.time_ns, a.latency_ns, &a.values),
            (b.time_ns, b.latency_ns, &b.values),
            "{text}"
        );
    }
    assert!(variants.iter().all(|&n| n > 400), "{variants:?}");
}

/// The latency read from a JSON line whose `latency` is the string `text`.
fn latency_of(d: &Decoder, text: &str) -> Option<u64> {
    let line = format!(r#"{{"timestamp":"2026-11-27T10:00:00Z","status":200,"latency":"{text}"}}"#);
    decode(d, &line).unwrap().latency_ns
}

/// Durations written with their units are read whatever latency_unit says:
/// Google Cloud's `"0.123456s"`, Go's `time.Duration` text, `ms`, `us`.
#[test]
fn latencies_with_units_are_read_as_durations() {
    for unit in ["ms", "s"] {
        let (_, d) = decoder(&format!("[decode.fields]\nlatency_unit = \"{unit}\""));
        for (text, ns) in [
            ("0.123456s", Some(123_456_000)),
            ("45ms", Some(45_000_000)),
            ("1.5s", Some(1_500_000_000)),
            ("250us", Some(250_000)),
            ("250\u{b5}s", Some(250_000)),
            ("800ns", Some(800)),
            ("1m2.5s", Some(62_500_000_000)),
            ("3m0.001s", Some(180_001_000_000)),
            ("0.01h", Some(36_000_000_000)),
            ("2.5ms", Some(2_500_000)),
            // Not durations: invalid for latency rules.
            ("45 ms", None),
            ("fast", None),
            ("ms", None),
            ("-5ms", None),
            ("1.2.3s", None),
            ("10parsecs", None),
        ] {
            assert_eq!(latency_of(&d, text), ns, "{text} with latency_unit {unit}");
        }
    }
}

/// Numbers written as text in the forms programs print floats in are
/// latencies in latency_unit; words that parse as floats elsewhere are not.
#[test]
fn latencies_as_text_in_exponent_form_are_numbers() {
    let (_, d) = decoder("[decode.fields]\nlatency_unit = \"ms\"");
    for (text, ns) in [
        ("1e3", Some(1_000_000_000)),
        ("1.5E-1", Some(150_000)),
        ("2.5e+2", Some(250_000_000)),
        ("+2", Some(2_000_000)),
        (".5", Some(500_000)),
        ("0.100, 1e1", Some(10_100_000)),
        ("inf", None),
        ("NaN", None),
        ("1e", None),
        ("e5", None),
        ("--1", None),
    ] {
        assert_eq!(latency_of(&d, text), ns, "{text}");
    }
}
