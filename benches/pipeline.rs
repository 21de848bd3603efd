//! decode + classify + window on ~300-byte generated lines with the four SLIs
//! of `config/demo.toml`, on one core. Run with `cargo bench --bench pipeline`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use slipstream::config::Config;
use slipstream::decode::Decoder;
use slipstream::engine::Engine;
use slipstream::event::Event;
use slipstream::gen::{GenArgs, Generator};

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
    let mut decoder = Decoder::new(&config);
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
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = pipeline
}
criterion_main!(benches);
