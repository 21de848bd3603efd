//! Tests of the generator through its public surface: the lines it writes,
//! read back with serde_json and compared with the catalog and the
//! incidents asked for.

use std::collections::HashMap;
use std::io::Read;

use serde_json::Value;

use super::catalog::SERVICES;
use super::*;
use crate::time::{parse_rfc3339_str, NANOS_PER_SEC};

fn args(count: u64, seed: u64, incidents: &[&str]) -> GenArgs {
    GenArgs {
        count,
        seed,
        incidents: incidents.iter().map(|s| s.to_string()).collect(),
        ..GenArgs::default()
    }
}

/// All lines of a generator, newline-terminated, as `run` writes them.
fn output(args: &GenArgs) -> Vec<u8> {
    let mut generator = Generator::new(args).unwrap();
    let mut out = Vec::new();
    while generator.next_event(&mut out).is_some() {
        out.push(b'\n');
    }
    out
}

/// The fields the tests look at, read independently of the generator.
#[derive(Debug)]
struct Ev {
    t: i64,
    service: String,
    method: String,
    route: String,
    status: u64,
    latency: f64,
}

fn parse(out: &[u8]) -> Vec<Ev> {
    let text = std::str::from_utf8(out).unwrap();
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            Ev {
                t: parse_rfc3339_str(v["timestamp"].as_str().unwrap()).unwrap(),
                service: v["service"].as_str().unwrap().to_string(),
                method: v["method"].as_str().unwrap().to_string(),
                route: v["http"]["route"].as_str().unwrap().to_string(),
                status: v["status"].as_u64().unwrap(),
                latency: v["latency_ms"].as_f64().unwrap(),
            }
        })
        .collect()
}

fn share(events: &[&Ev], bad: impl Fn(&Ev) -> bool) -> f64 {
    events.iter().filter(|e| bad(e)).count() as f64 / events.len().max(1) as f64
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

const KEYS: [&str; 11] = [
    "timestamp",
    "service",
    "method",
    "http",
    "status",
    "latency_ms",
    "region",
    "bytes_sent",
    "client_ip",
    "request_id",
    "user_agent",
];

#[test]
fn same_seed_same_bytes_and_another_seed_differs() {
    let a = output(&args(
        5_000,
        42,
        &["kind=errors,start=1s,duration=1s,rate=0.5"],
    ));
    let b = output(&args(
        5_000,
        42,
        &["kind=errors,start=1s,duration=1s,rate=0.5"],
    ));
    let c = output(&args(
        5_000,
        43,
        &["kind=errors,start=1s,duration=1s,rate=0.5"],
    ));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn first_line_is_pinned() {
    // Pins the output format and the random streams: a change here changes
    // every benchmark input made from a seed, so make it on purpose only.
    let out = output(&args(1, 1, &[]));
    let line = std::str::from_utf8(&out).unwrap().trim_end();
    assert_eq!(line, GOLDEN_SEED1);
    // And the default run as a whole, by its FNV-1a hash.
    let all = output(&GenArgs::default());
    let hash = all.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    assert_eq!(hash, 5_397_713_585_144_547_084);
}

const GOLDEN_SEED1: &str = r#"{"timestamp":"2026-01-01T00:00:00.000Z","service":"search","method":"GET","http":{"route":"/api/search","host":"search.internal"},"status":200,"latency_ms":44.881,"region":"us-east-1","bytes_sent":16405,"client_ip":"10.33.74.238","request_id":"8d3cdb8c3aa5b1d0","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"}"#;

#[test]
fn every_line_is_a_well_formed_event() {
    let args = args(20_000, 7, &[]);
    let mut generator = Generator::new(&args).unwrap();
    let mut buf = Vec::new();
    let mut n = 0;
    let mut total_bytes = 0;
    while let Some(t) = generator.next_event(&mut buf) {
        let line = std::str::from_utf8(&buf).unwrap();
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), KEYS.len(), "{line}");
        // Keys in the documented order.
        let positions: Vec<usize> = KEYS
            .iter()
            .map(|k| {
                line.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} in {line}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");

        let ts = obj["timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2026-01-01T00:00:00.123Z".len(), "{ts}");
        assert_eq!(parse_rfc3339_str(ts), Some(t));
        let service = SERVICES.iter().find(|s| s.name == obj["service"]).unwrap();
        let route = service
            .routes
            .iter()
            .find(|r| r.path == v["http"]["route"] && r.method == obj["method"])
            .unwrap();
        assert_eq!(v["http"]["host"], service.host);
        let status = obj["status"].as_u64().unwrap();
        assert!(
            [400, 404, 429, 500, 502, 503].contains(&status)
                || status == u64::from(route.ok_status),
            "{line}"
        );
        let latency = obj["latency_ms"].as_f64().unwrap();
        assert!(latency > 0.0 && latency < 60_000.0, "{line}");
        let raw_latency = line
            .split("\"latency_ms\":")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert_eq!(
            raw_latency.split('.').nth(1).map(str::len),
            Some(3),
            "{line}"
        );
        assert!(obj["region"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(obj["bytes_sent"].as_u64().is_some());
        let ip: Vec<u8> = obj["client_ip"]
            .as_str()
            .unwrap()
            .split('.')
            .map(|o| o.parse().unwrap())
            .collect();
        assert!(ip.len() == 4 && ip[0] == 10, "{line}");
        let id = obj["request_id"].as_str().unwrap();
        assert!(
            id.len() == 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert!(obj["user_agent"].as_str().is_some_and(|u| !u.is_empty()));
        total_bytes += buf.len();
        n += 1;
        buf.clear();
    }
    assert_eq!(n, 20_000);
    let mean = total_bytes / n;
    assert!((250..=400).contains(&mean), "mean line length {mean}");
}

#[test]
fn count_is_honoured() {
    for count in [1, 2, 999] {
        let mut generator = Generator::new(&args(count, 1, &[])).unwrap();
        let mut buf = Vec::new();
        let mut n = 0;
        while generator.next_event(&mut buf).is_some() {
            n += 1;
        }
        assert_eq!(n, count);
        assert_eq!(generator.next_event(&mut buf), None);
        assert_eq!(generator.remaining(), 0);
    }
    // 0: no end.
    let mut generator = Generator::new(&args(0, 1, &[])).unwrap();
    let mut buf = Vec::new();
    for _ in 0..10_000 {
        buf.clear();
        assert!(generator.next_event(&mut buf).is_some());
    }
    assert!(generator.remaining() > 1 << 60);
}

#[test]
fn realtime_follows_the_wall_clock_from_now() {
    let a = GenArgs {
        count: 6,
        rate: 20.0,
        realtime: true,
        ..GenArgs::default()
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64
    };
    let started = now();
    let mut generator = Generator::new(&a).unwrap();
    let mut buf = Vec::new();
    while let Some(t) = generator.next_event(&mut buf) {
        // Never written before its time; the start is now, not 2026-01-01.
        assert!(now() >= t, "event at {t} written early");
        assert!(
            (t - started).abs() < 5_000_000_000,
            "event time {t} is not now"
        );
    }
}

#[test]
fn time_spans_count_over_rate_with_bounded_disorder() {
    let mut a = args(50_000, 3, &[]);
    a.rate = 500.0;
    a.start = Some("2026-03-01T12:00:00Z".into());
    let start = parse_rfc3339_str("2026-03-01T12:00:00Z").unwrap();
    let events = parse(&output(&a));
    let min = events.iter().map(|e| e.t).min().unwrap();
    let max = events.iter().map(|e| e.t).max().unwrap();
    assert_eq!(min, start);
    let span = (max - min) as f64 / NANOS_PER_SEC as f64;
    assert!(
        (span - 100.0).abs() < 3.0,
        "span {span} s, expected about 50000 / 500"
    );
    // Some events go back in time, none by more than 2 s (plus the truncation to ms).
    let mut newest = i64::MIN;
    let mut backwards = 0;
    for e in &events {
        assert!(e.t % 1_000_000 == 0);
        assert!(
            e.t >= newest.saturating_sub(2 * NANOS_PER_SEC + 1_000_000),
            "{e:?} after {newest}"
        );
        backwards += usize::from(e.t < newest);
        newest = newest.max(e.t);
    }
    let backwards = backwards as f64 / events.len() as f64;
    assert!(
        (0.03..0.06).contains(&backwards),
        "{backwards} of events out of order"
    );
}

#[test]
fn traffic_matches_the_catalog() {
    let events = parse(&output(&args(200_000, 11, &[])));
    let all: Vec<&Ev> = events.iter().collect();
    for service in SERVICES {
        let mine: Vec<&Ev> = events
            .iter()
            .filter(|e| e.service == service.name)
            .collect();
        let got = mine.len() as f64 / events.len() as f64;
        let want = f64::from(service.share) / 1000.0;
        assert!(
            (got - want).abs() < 0.01,
            "{}: share {got}, want {want}",
            service.name
        );
        for route in service.routes {
            let ok: Vec<f64> = mine
                .iter()
                .filter(|e| e.route == route.path && e.method == route.method && e.status < 400)
                .map(|e| e.latency)
                .collect();
            let m = median(ok);
            assert!(
                (m / route.median_ms - 1.0).abs() < 0.1,
                "{} {}: median {m}, want {}",
                service.name,
                route.path,
                route.median_ms
            );
        }
    }
    let s5 = share(&all, |e| e.status >= 500);
    let s4 = share(&all, |e| (400..500).contains(&e.status));
    assert!((0.0005..0.002).contains(&s5), "5xx share {s5}");
    assert!((0.007..0.02).contains(&s4), "4xx share {s4}");
}

#[test]
fn errors_incident_hits_its_service_and_interval_only() {
    let spec = "kind=errors,start=30s,duration=30s,rate=0.3,service=checkout";
    let events = parse(&output(&args(100_000, 5, &[spec])));
    let (from, to) = spec.parse::<Incident>().unwrap().interval(DEFAULT_START_NS);
    let inside = |e: &&Ev| e.t >= from && e.t < to;
    let checkout_in: Vec<&Ev> = events
        .iter()
        .filter(|e| e.service == "checkout")
        .filter(inside)
        .collect();
    let checkout_out: Vec<&Ev> = events
        .iter()
        .filter(|e| e.service == "checkout" && !inside(e))
        .collect();
    let others_in: Vec<&Ev> = events
        .iter()
        .filter(|e| e.service != "checkout")
        .filter(inside)
        .collect();
    assert!(
        checkout_in.len() > 3_000,
        "{} checkout events inside",
        checkout_in.len()
    );
    let is5xx = |e: &Ev| e.status >= 500;
    let (a, b, c) = (
        share(&checkout_in, is5xx),
        share(&checkout_out, is5xx),
        share(&others_in, is5xx),
    );
    assert!((0.27..0.33).contains(&a), "checkout 5xx share inside {a}");
    assert!(b < 0.005, "checkout 5xx share outside {b}");
    assert!(c < 0.005, "other services' 5xx share inside {c}");
}

#[test]
fn latency_incident_raises_the_median_inside_only() {
    let spec = "kind=latency,start=2026-01-01T00:00:20Z,duration=20s,factor=5,route=/api/search";
    let events = parse(&output(&args(60_000, 9, &[spec])));
    let from = parse_rfc3339_str("2026-01-01T00:00:20Z").unwrap();
    let to = from + 20 * NANOS_PER_SEC;
    let lat = |pred: &dyn Fn(&Ev) -> bool| {
        median(
            events
                .iter()
                .filter(|e| pred(e))
                .map(|e| e.latency)
                .collect(),
        )
    };
    let inside = |e: &Ev| e.t >= from && e.t < to;
    let search_in = lat(&|e| e.route == "/api/search" && inside(e));
    let search_out = lat(&|e| e.route == "/api/search" && !inside(e));
    let suggest_in = lat(&|e| e.route == "/api/search/suggest" && inside(e));
    let suggest_out = lat(&|e| e.route == "/api/search/suggest" && !inside(e));
    let ratio = search_in / search_out;
    assert!(
        (4.0..6.0).contains(&ratio),
        "search median {search_in} inside, {search_out} outside"
    );
    let ratio = suggest_in / suggest_out;
    assert!(
        (0.8..1.25).contains(&ratio),
        "suggest median {suggest_in} inside, {suggest_out} outside"
    );
}

#[test]
fn an_incident_leaves_the_traffic_outside_it_unchanged() {
    let plain = output(&args(20_000, 4, &[]));
    let spec = "kind=errors,start=5s,duration=5s,rate=1";
    let with = output(&args(20_000, 4, &[spec]));
    let (from, to) = spec.parse::<Incident>().unwrap().interval(DEFAULT_START_NS);
    let (p, w) = (parse(&plain), parse(&with));
    let mut changed = 0;
    for ((pl, wl), (pe, we)) in plain
        .split(|&b| b == b'\n')
        .zip(with.split(|&b| b == b'\n'))
        .zip(p.iter().zip(&w))
    {
        if pe.t >= from && pe.t < to {
            assert!(we.status >= 500);
            changed += usize::from(pl != wl);
        } else {
            assert_eq!(pl, wl);
        }
    }
    assert!(changed > 4_000, "{changed} lines changed");
}

#[test]
fn bad_arguments_are_explained() {
    let err = |a: GenArgs| Generator::new(&a).unwrap_err().to_string();
    let mut a = args(1, 1, &[]);
    a.rate = 0.0;
    assert_eq!(
        err(a.clone()),
        "--rate: expected a positive number of events per second, got 0"
    );
    a.rate = f64::NAN;
    assert!(err(a).starts_with("--rate: expected a positive number"));
    let mut a = args(1, 1, &[]);
    a.start = Some("yesterday".into());
    assert!(err(a).contains("--start: expected an RFC 3339 time such as `2026-01-01T00:00:00Z` or `now`, got `yesterday`"));
    let a = args(
        1,
        1,
        &["kind=errors,start=1m,duration=1m,rate=0.1", "kind=boom"],
    );
    assert_eq!(
        err(a),
        "incident `kind=boom`: unknown kind `boom`, expected `errors` or `latency`"
    );
}

#[test]
fn start_defaults_to_2026_and_now_reads_the_clock() {
    assert_eq!(
        Some(DEFAULT_START_NS),
        parse_rfc3339_str("2026-01-01T00:00:00Z")
    );
    let generator = Generator::new(&args(1, 1, &[])).unwrap();
    assert_eq!(generator.start_ns(), DEFAULT_START_NS);
    let mut a = args(1, 1, &[]);
    a.start = Some("now".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let start = Generator::new(&a).unwrap().start_ns();
    assert!((start - now.as_nanos() as i64).abs() < 60 * NANOS_PER_SEC);
    assert_eq!(start % 1_000_000, 0);
}

#[test]
fn compressed_output_decodes_to_the_plain_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(3_000, 12, &["kind=latency,start=1s,duration=1s,factor=3"]);
    let mut written = HashMap::new();
    for name in ["plain.jsonl", "out.jsonl.gz", "out.jsonl.zst"] {
        a.out = Some(dir.path().join(name));
        assert_eq!(run(&a).unwrap(), 3_000);
        written.insert(name, std::fs::read(dir.path().join(name)).unwrap());
    }
    let plain = &written["plain.jsonl"];
    assert_eq!(plain, &output(&a));
    assert_eq!(&written["out.jsonl.gz"][..2], &[0x1f, 0x8b]);
    assert_eq!(&written["out.jsonl.zst"][..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    let mut gz = Vec::new();
    flate2::read::MultiGzDecoder::new(&written["out.jsonl.gz"][..])
        .read_to_end(&mut gz)
        .unwrap();
    assert_eq!(&gz, plain);
    let zst = zstd::decode_all(&written["out.jsonl.zst"][..]).unwrap();
    assert_eq!(&zst, plain);
    assert!(written["out.jsonl.gz"].len() * 4 < plain.len());

    a.out = Some(dir.path().join("missing-dir").join("x.jsonl"));
    let e = format!("{:#}", run(&a).unwrap_err());
    assert!(
        e.starts_with("cannot create ") && e.contains("x.jsonl"),
        "{e}"
    );
}
