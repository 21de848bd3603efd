//! decode + classify + window on ~300-byte generated lines with the four SLIs
//! of `config/demo.toml`, on one core; then the same requests in every log
//! format, each with four SLIs over its own field names; then 10 to 10,000
//! SLIs that each select one route, to show what a line costs as SLIs are
//! added. Run with `cargo bench --bench pipeline`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use slipstream::config::Config;
use slipstream::decode::{Decoder, Format};
use slipstream::engine::Engine;
use slipstream::event::Event;
use slipstream::synth::{decode_section, field_names, header, render, GenArgs, Generator, Request};

fn lines(n: u64) -> Vec<Vec<u8>> {
    let args = GenArgs {
        count: n,
        rate: 2000.0,
        incidents: vec!["kind=errors,start=10s,duration=5s,rate=0.5,service=checkout".into()],
        ..GenArgs::default()
    };
    let mut g = Generator::new(&args).expect("generator");
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while g.next_event(&mut buf).is_some() {
        out.push(std::mem::take(&mut buf));
    }
    out
}

fn pipeline(c: &mut Criterion) {
    let config = Config::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/demo.toml"
    )))
    .expect("config/demo.toml");
    assert_eq!(config.slis.len(), 4);
    let input = lines(100_000);
    let bytes: usize = input.iter().map(Vec::len).sum();
    println!(
        "{} lines, {:.0} bytes per line",
        input.len(),
        bytes as f64 / input.len() as f64
    );
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(input.len() as u64));
    group.bench_function("decode_classify_window_4_slis", |b| {
        b.iter(|| {
            let mut engine = Engine::new(&config);
            for line in &input {
                let _ = engine.process(line);
            }
            engine.into_windows().len()
        })
    });
    let mut decoder = Decoder::new(&config.decode, &config.fields);
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for line in &input {
                let mut event = Event::with_slots(decoder.slots());
                ok += usize::from(decoder.decode(line, &mut event).is_ok());
            }
            ok
        })
    });
    group.finish();

    // Every format over the same requests, with SLIs over its own names.
    let requests: Vec<Request> = input
        .iter()
        .map(|l| Request::from_gen_json(l).expect("a generated line"))
        .collect();
    let mut group = c.benchmark_group("formats");
    group.throughput(Throughput::Elements(requests.len() as u64));
    for format in Format::ALL {
        let [host, method, path, prefix] = field_names(format);
        let text = format!(
            r#"{}
[[sli]]
name = "checkout-availability"
filter = '{host} == "checkout.internal" && {path} =~ "^{prefix}/api/checkout"'
good = 'status < 500'
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
            decode_section(format)
        );
        let config = Config::parse(Path::new("bench.toml"), &text).expect("format config");
        let mut lines: Vec<Vec<u8>> = header(format)
            .lines()
            .map(|l| l.as_bytes().to_vec())
            .collect();
        let mut buf = String::new();
        for r in &requests {
            buf.clear();
            render(format, r, &mut buf);
            lines.push(buf.as_bytes().to_vec());
        }
        let bytes: usize = lines.iter().map(Vec::len).sum();
        println!(
            "{}: {:.0} bytes per line",
            format.name(),
            bytes as f64 / lines.len() as f64
        );
        group.bench_function(format.name(), |b| {
            b.iter(|| {
                let mut engine = Engine::new(&config);
                for line in &lines {
                    let _ = engine.process(line);
                }
                engine.into_windows().len()
            })
        });
    }
    group.finish();
}

/// The decoding and window of the SLI benchmarks: JSON, latencies read
/// from `latency` in milliseconds, 1-minute windows.
fn bench_head(latency: &str) -> String {
    format!(
        r#"[decode]
format = "json"
[decode.fields]
timestamp = "timestamp"
status = "status"
latency = "{latency}"
latency_unit = "ms"
[window]
size = "1m"
"#
    )
}

/// The demo's decoding and window, and `slis` SLIs; latencies are read
/// from `latency` (a field the lines lack leaves the histograms empty).
fn many_slis(latency: &str, slis: impl Iterator<Item = (String, &'static str)>) -> Config {
    let mut text = bench_head(latency);
    for (i, (filter, good)) in slis.enumerate() {
        text.push_str(&format!(
            "[[sli]]\nname = \"sli-{i}\"\nfilter = '{filter}'\ngood = '{good}'\n"
        ));
    }
    Config::parse(Path::new("bench.toml"), &text).expect("SLIs config")
}

/// The decoding of [`many_slis`] and one SLI grouped by route, keeping
/// `limit` groups a window.
fn grouped_sli(latency: &str, limit: usize) -> Config {
    let text = format!(
        r#"{}[[sli]]
name = "routes"
good = 'status < 500'
group_by = ["http.route"]
group_limit = {limit}
"#,
        bench_head(latency)
    );
    Config::parse(Path::new("bench.toml"), &text).expect("grouped config")
}

/// `input` with the route of line `i` replaced by `/r/{i % routes}`: each
/// line matches exactly one of `routes` per-route SLIs.
fn spread_routes(input: &[Vec<u8>], routes: usize) -> Vec<Vec<u8>> {
    let needle = br#""route":""#;
    input
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let at = line
                .windows(needle.len())
                .position(|w| w == needle)
                .expect("a route")
                + needle.len();
            let end = at + line[at..].iter().position(|&b| b == b'"').expect("its end");
            let mut out = line[..at].to_vec();
            out.extend_from_slice(format!("/r/{}", i % routes).as_bytes());
            out.extend_from_slice(&line[end..]);
            out
        })
        .collect()
}

/// Lines per second as SLIs are added: SLIs that each select one route
/// (each line matches one), by the filter index and, for few SLIs, by
/// evaluating every filter; then SLIs that each select a service.
fn slis(c: &mut Criterion) {
    let input = lines(100_000);
    let mut group = c.benchmark_group("slis");
    group.throughput(Throughput::Elements(input.len() as u64));
    for n in [10, 100, 1_000, 10_000] {
        let route_slis = || (0..n).map(|i| (format!(r#"http.route == "/r/{i}""#), "status < 500"));
        let config = many_slis("latency_ms", route_slis());
        let lines = spread_routes(&input, n);
        let mut modes = vec![("", true, &config)];
        if n <= 100 {
            modes.push(("_scan", false, &config));
        }
        // What the latency histograms cost: each SLI keeps one per window.
        let no_latency = many_slis("no_latency", route_slis());
        if n == 10 || n == 1_000 {
            modes.push(("_no_latency", true, &no_latency));
        }
        // One grouped SLI over the same routes instead of one SLI each.
        let grouped = grouped_sli("latency_ms", n);
        if n == 1_000 {
            modes.push(("_grouped", true, &grouped));
        }
        for (suffix, index, config) in modes {
            group.bench_function(format!("{n}_route_slis{suffix}"), |b| {
                b.iter(|| {
                    let mut engine = Engine::new(config).with_filter_index(index);
                    for line in &lines {
                        let _ = engine.process(line);
                    }
                    engine.into_windows().len()
                })
            });
        }
    }
    // A quarter of the events match each SLI: 25 SLIs count every line.
    let services = ["search", "catalog", "auth", "checkout"];
    let config = many_slis(
        "latency_ms",
        (0..100).map(|i| {
            let good = ["status < 500", "latency <= 300ms"][i % 2];
            (format!(r#"service == "{}""#, services[i % 4]), good)
        }),
    );
    for (suffix, index) in [("", true), ("_scan", false)] {
        group.bench_function(format!("100_service_slis{suffix}"), |b| {
            b.iter(|| {
                let mut engine = Engine::new(&config).with_filter_index(index);
                for line in &input {
                    let _ = engine.process(line);
                }
                engine.into_windows().len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = pipeline, slis
}
criterion_main!(benches);
