//! The engine's counts with the filter index against a scan: random SLIs
//! over random JSON events, every SLI's filter and good rule evaluated
//! directly over the decoded event (the oracle), and what the engine counted
//! per window and SLI compared with it.

use std::collections::BTreeMap;
use std::path::Path;

use super::Engine;
use crate::config::Config;
use crate::decode::Decoder;
use crate::event::Event;
use crate::testing::{below, pick, random_condition, random_filter};
use crate::window::window_start;

/// Counts of one SLI in one window, as compared.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    total: u64,
    good: u64,
    bad: u64,
    invalid: u64,
    latencies: u64,
    latency_sum_ns: u128,
    /// Bad events by their `route`, as the window records label it.
    breakdown: BTreeMap<String, u64>,
}

/// A random `route` in JSON, with the label a breakdown gives it.
fn route(x: &mut u64) -> (&'static str, &'static str) {
    let routes = [
        (r#""/r/1""#, "/r/1"),
        (r#""\/r\/1""#, "/r/1"),
        (r#""/r/2""#, "/r/2"),
        (r#""/r/12""#, "/r/12"),
        (r#""/api/x""#, "/api/x"),
        (r#""a""#, "a"),
        (r#""""#, ""),
        ("200", "200"),
        ("2e2", "200"),
        ("1.5", "1.5"),
        ("true", "true"),
        ("null", "(none)"),
        ("[1]", "(array)"),
    ];
    // One more choice than routes: the event has none.
    let at = below(x, routes.len() as u64 + 1) as usize;
    routes.get(at).copied().unwrap_or(("", "(none)"))
}

/// A random JSON event in the test's 40 seconds, and the breakdown label
/// of its route.
fn random_line(x: &mut u64) -> (String, &'static str) {
    let mut fields = vec![format!("\"ts\":{}", 1_800_000_000 + below(x, 40))];
    let (route, label) = route(x);
    if !route.is_empty() {
        fields.push(format!("\"route\":{route}"));
    }
    for (name, values) in [
        (
            "svc",
            &[
                r#""a""#,
                r#""b""#,
                r#""200""#,
                "200",
                "2e2",
                "-0",
                "0",
                "true",
                "false",
                "null",
                r#"{"k":1}"#,
                "",
            ][..],
        ),
        (
            "code",
            &[
                "200", "404", r#""200""#, "0", "-0", "2e2", r#""a""#, "null", "",
            ][..],
        ),
        ("flag", &["true", "false", "null", r#""true""#, "1", ""][..]),
        ("status", &["200", "503", "404", r#""200""#, ""][..]),
        ("lat", &["50", "150", "100", "0.5", ""][..]),
    ] {
        let value = pick(x, values);
        if !value.is_empty() {
            fields.push(format!("\"{name}\":{value}"));
        }
    }
    (format!("{{{}}}", fields.join(",")), label)
}

fn config(filters: &[Option<String>], goods: &[String]) -> Config {
    let mut text = String::from(
        "[decode]\nformat = \"json\"\n[decode.fields]\ntimestamp = \"ts\"\nstatus = \"status\"\n\
         latency = \"lat\"\nlatency_unit = \"ms\"\n[window]\nsize = \"10s\"\n",
    );
    for (i, (filter, good)) in filters.iter().zip(goods).enumerate() {
        text.push_str(&format!(
            "[[sli]]\nname = \"s{i}\"\ngood = '{good}'\nbreakdown = [\"route\"]\n"
        ));
        if let Some(filter) = filter {
            text.push_str(&format!("filter = '{filter}'\n"));
        }
    }
    Config::parse(Path::new("random.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Per (window start, SLI), what evaluating every rule over each decoded
/// event counts.
fn oracle(config: &Config, lines: &[(String, &str)]) -> BTreeMap<(i64, usize), Counts> {
    let mut decoder = Decoder::new(&config.decode, &config.fields);
    let mut out: BTreeMap<(i64, usize), Counts> = BTreeMap::new();
    for (line, label) in lines {
        let mut event = Event::with_slots(decoder.slots());
        if decoder.decode(line.as_bytes(), &mut event).is_err() {
            continue;
        }
        let start = window_start(event.time_ns, config.window.size_ns);
        for (i, sli) in config.slis.iter().enumerate() {
            let filter = sli.filter.as_ref().map(|f| f.eval(&event.values));
            if filter.is_some_and(|f| f != Some(true)) {
                continue;
            }
            let c = out.entry((start, i)).or_default();
            c.total += 1;
            match sli.good.eval(&event.values) {
                Some(true) => c.good += 1,
                Some(false) => {
                    c.bad += 1;
                    *c.breakdown.entry(label.to_string()).or_default() += 1;
                }
                None => c.invalid += 1,
            }
            if let Some(ns) = event.latency_ns {
                c.latencies += 1;
                c.latency_sum_ns += u128::from(ns);
            }
        }
    }
    out
}

/// What `engine` counted, per (window start, SLI) that counted any event.
fn counted(mut engine: Engine, lines: &[(String, &str)]) -> BTreeMap<(i64, usize), Counts> {
    for (line, _) in lines {
        let _ = engine.process(line.as_bytes());
    }
    let mut out = BTreeMap::new();
    for window in engine.windows_mut().take_until(i64::MAX) {
        for (i, w) in window.slis.iter().enumerate() {
            if w.total == 0 {
                continue;
            }
            let breakdown = w
                .breakdown
                .iter()
                .flat_map(|top| top.top())
                .map(|(value, n)| (value.to_string(), n))
                .collect();
            let counts = Counts {
                total: w.total,
                good: w.good,
                bad: w.bad,
                invalid: w.invalid,
                latencies: w.latency.count(),
                latency_sum_ns: w.latency.sum_ns(),
                breakdown,
            };
            out.insert((window.start_ns, i), counts);
        }
    }
    out
}

#[test]
fn the_filter_index_counts_what_evaluating_every_filter_counts() {
    let mut x = 0x5EED_1DE5_u64;
    let mut indexed_slis = 0;
    for round in 0..60 {
        let n = 1 + below(&mut x, 48) as usize;
        let filters: Vec<Option<String>> = (0..n)
            .map(|_| (below(&mut x, 8) != 0).then(|| random_filter(&mut x)))
            .collect();
        // Half the SLIs share a `good` with an earlier one, as SLIs written
        // from one template do: the engine judges such an event once.
        let mut goods: Vec<String> = Vec::new();
        for k in 0..n {
            let good = match below(&mut x, 2) {
                0 if k > 0 => goods[below(&mut x, k as u64) as usize].clone(),
                _ => random_condition(&mut x, 1),
            };
            goods.push(good);
        }
        let config = config(&filters, &goods);
        let lines: Vec<(String, &str)> = (0..400).map(|_| random_line(&mut x)).collect();
        let expected = oracle(&config, &lines);
        assert!(!expected.is_empty(), "round {round}: nothing counted");

        let engine = Engine::new(&config).with_filter_index(true);
        indexed_slis += engine.index.as_ref().map_or(0, |i| i.indexed());
        let probe_indexed = {
            let mut e = Engine::new(&config).with_filter_index(true);
            for (line, _) in &lines {
                let _ = e.process(line.as_bytes());
            }
            format!("{:?}", e.probe())
        };
        let got = counted(engine, &lines);
        for (key, want) in &expected {
            assert_eq!(
                got.get(key),
                Some(want),
                "round {round}, window {} SLI {}: filter {:?}, good `{}`",
                key.0,
                key.1,
                filters[key.1],
                goods[key.1]
            );
        }
        assert_eq!(got.len(), expected.len(), "round {round}: extra counts");
        // The default engine (index or not by the number of SLIs) agrees.
        assert_eq!(counted(Engine::new(&config), &lines), expected);
        // The setup checks see the same input through the index as through
        // a scan.
        let mut scan = Engine::new(&config).with_filter_index(false);
        for (line, _) in &lines {
            let _ = scan.process(line.as_bytes());
        }
        assert_eq!(
            probe_indexed,
            format!("{:?}", scan.probe()),
            "round {round}"
        );
    }
    // The rules exercise the index, not only the SLIs it cannot file.
    assert!(indexed_slis > 500, "{indexed_slis} SLIs indexed");
}

/// A rule on the `timestamp` role reads the event time in Unix seconds,
/// whatever unit the line writes it in, and a rule on the time field by its
/// own name reads the number the line holds; on the compact path and the
/// general one (spaces around the colon).
#[test]
fn rules_read_the_timestamp_role_in_seconds_and_the_field_as_written() {
    let text = "[decode]\nformat = \"json\"\n[decode.fields]\ntimestamp = \"ts\"\n\
                timestamp_format = \"unix_ms\"\n[window]\nsize = \"1m\"\n\
                [[sli]]\nname = \"late\"\ngood = 'timestamp >= 1800000030.5'\n\
                [[sli]]\nname = \"raw\"\nfilter = 'ts < 1800000045000'\ngood = 'status < 500'\n\
                [[sli]]\nname = \"plain\"\ngood = 'status < 500'\n";
    let config = Config::parse(Path::new("t.toml"), text).expect("config");
    let mut engine = Engine::new(&config);
    let (mut late, mut raw, mut n) = (0, 0, 0);
    for k in 0..600u64 {
        let ms = 1_800_000_000_000 + k * 100;
        let line = if k % 3 == 0 {
            format!(r#"{{"ts" : {ms}, "status" : 200}}"#)
        } else {
            format!(r#"{{"ts":{ms},"status":200}}"#)
        };
        engine.process(line.as_bytes()).expect("counted");
        // Integer arithmetic: at or after 1800000030.5 s.
        late += u64::from(ms >= 1_800_000_030_500);
        raw += u64::from(ms < 1_800_000_045_000);
        n += 1;
    }
    let windows = engine.windows_mut().take_until(i64::MAX);
    let sum = |i: usize, f: fn(&crate::window::SliWindow) -> u64| -> u64 {
        windows.iter().map(|w| f(&w.slis[i])).sum()
    };
    assert_eq!(sum(0, |w| w.good), late);
    assert_eq!(sum(0, |w| w.bad), n - late);
    assert_eq!(sum(1, |w| w.total), raw);
    assert_eq!(sum(2, |w| w.total), n);
}
