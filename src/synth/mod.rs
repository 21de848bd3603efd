//! `slipstream gen`: deterministic synthetic request logs for demos,
//! tests and benchmarks.
//!
//! The synthetic world ([`catalog`]) has four services (`search`, `catalog`,
//! `auth`, `checkout`) with two or three routes each, four regions and a
//! handful of user agents, each with its own traffic share. Latency is
//! lognormal per route with a 1% slow tail; statuses are mostly 2xx with a
//! per-service baseline of about 1% 4xx and 0.1% 5xx. Events are spaced by
//! exponential gaps averaging `1 / --rate` seconds of event time, and 5% of
//! them are moved back by up to 2 s, so the output is not perfectly sorted.
//! [`Incident`]s add error bursts or latency regressions at given times.
//!
//! The same arguments give byte-identical output on every machine: the PRNG
//! and all the arithmetic are our own ([`rng`]), and nothing reads the wall
//! clock except `--start now`.
//!
//! [`Generator::next_event`] formats one event into a caller's buffer, for
//! one-message-per-event producers; [`run`] writes them all as JSON lines.

mod catalog;
mod generator;
mod incident;
mod render;
mod rng;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::decode::Format;

pub use generator::{Generator, DEFAULT_START_NS};
pub use incident::{Incident, IncidentKind, IncidentStart};
pub use render::{decode_section, field_names, header, render, Request};

/// Arguments of `slipstream gen`.
#[derive(clap::Args, Debug, Clone)]
pub struct GenArgs {
    /// Number of events; 0 for no end.
    #[arg(long, default_value_t = 10_000)]
    pub count: u64,
    /// Events per second of event time.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seed of the random generator; the same seed gives the same output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// RFC 3339 start of event time, or `now` [default: 2026-01-01T00:00:00Z, so output is
    /// reproducible].
    #[arg(long)]
    pub start: Option<String>,
    /// An incident, repeatable: `kind=errors,start=10m,duration=5m,rate=0.3[,service=S][,route=R]`
    /// or `kind=latency,start=2026-01-01T01:00:00Z,duration=10m,factor=5[,service=S][,route=R]`.
    /// `start` is an offset from --start or an RFC 3339 time.
    #[arg(long = "incident")]
    pub incidents: Vec<String>,
    /// Output file; `-` or absent is stdout. A name ending in `.gz` is gzip-compressed, `.zst`
    /// zstd-compressed.
    #[arg(long, conflicts_with = "brokers")]
    pub out: Option<PathBuf>,
    /// Produce the events to Kafka at these brokers instead (with --topic).
    #[arg(long, requires = "topic")]
    pub brokers: Option<String>,
    /// The topic to produce to.
    #[arg(long, requires = "brokers")]
    pub topic: Option<String>,
    /// The log format to write: json, nginx, apache, alb, envoy, cloudfront, haproxy, logfmt or
    /// regex; `[decode]` sections that read each are in docs/formats.md.
    #[arg(long, default_value = "json", value_parser = parse_format)]
    pub format: Format,
    /// Pace the events to the wall clock: each one is written or produced when its event
    /// time comes, and --start defaults to now. For live traffic (with --count 0).
    #[arg(long)]
    pub realtime: bool,
}

impl Default for GenArgs {
    fn default() -> Self {
        GenArgs {
            count: 10_000,
            rate: 1000.0,
            seed: 1,
            start: None,
            incidents: Vec::new(),
            out: None,
            brokers: None,
            topic: None,
            format: Format::Json,
            realtime: false,
        }
    }
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!(
            "unknown format `{name}`; expected one of {}",
            names.join(", ")
        )
    })
}

/// Rewrites a generated JSON line in `format` (a no-op for JSON).
fn reformat(format: Format, line: &mut Vec<u8>, scratch: &mut String) {
    if format == Format::Json {
        return;
    }
    if let Some(r) = Request::from_gen_json(line) {
        scratch.clear();
        render(format, &r, scratch);
        line.clear();
        line.extend_from_slice(scratch.as_bytes());
    }
}

/// Size of the write buffer in front of the file, compressor or stdout.
const WRITE_BUFFER: usize = 256 * 1024;
/// Compression levels chosen for speed, as the output is mostly benchmark
/// input: gzip -1 and zstd -1 keep up with about 600k lines/s, gzip -6 with a
/// third of that; zstd -1 is barely larger than zstd -3.
const GZIP_LEVEL: u32 = 1;
const ZSTD_LEVEL: i32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn for_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gz") => Compression::Gzip,
            Some(e) if e.eq_ignore_ascii_case("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// Writes every event of `args` as a JSON line to `--out` (or stdout) and
/// returns how many were written. A closed stdout (`gen | head`) ends the
/// run early without an error.
pub fn run(args: &GenArgs) -> anyhow::Result<u64> {
    let mut generator = Generator::new(args)?;
    if let (Some(brokers), Some(topic)) = (&args.brokers, &args.topic) {
        return produce(&mut generator, brokers, topic, args.format);
    }
    let path = match args.out.as_deref() {
        Some(p) if p != Path::new("-") => p,
        _ => return write_stdout(&mut generator, args.format),
    };
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let written = write_file(
        &mut generator,
        args.format,
        file,
        Compression::for_path(path),
    );
    written.with_context(|| format!("cannot write {}", path.display()))
}

fn write_stdout(generator: &mut Generator, format: Format) -> anyhow::Result<u64> {
    let mut count = 0;
    let out = BufWriter::with_capacity(WRITE_BUFFER, io::stdout().lock());
    match write_lines(generator, format, out, &mut count)
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
    {
        Ok(_) => Ok(count),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(count),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

fn write_file(
    generator: &mut Generator,
    format: Format,
    file: File,
    compression: Compression,
) -> io::Result<u64> {
    let mut count = 0;
    match compression {
        Compression::None => {
            let w = write_lines(
                generator,
                format,
                BufWriter::with_capacity(WRITE_BUFFER, file),
                &mut count,
            )?;
            w.into_inner().map_err(|e| e.into_error())?;
        }
        Compression::Gzip => {
            let enc = flate2::write::GzEncoder::new(file, flate2::Compression::new(GZIP_LEVEL));
            let w = write_lines(
                generator,
                format,
                BufWriter::with_capacity(WRITE_BUFFER, enc),
                &mut count,
            )?;
            w.into_inner().map_err(|e| e.into_error())?.finish()?;
        }
        Compression::Zstd => {
            let enc = zstd::Encoder::new(file, ZSTD_LEVEL)?;
            let w = write_lines(
                generator,
                format,
                BufWriter::with_capacity(WRITE_BUFFER, enc),
                &mut count,
            )?;
            w.into_inner().map_err(|e| e.into_error())?.finish()?;
        }
    }
    Ok(count)
}

/// Produces every remaining event as one Kafka message, keyed by its
/// sequence number so they spread over the partitions, and waits until the
/// broker acknowledged them all.
pub fn produce(
    generator: &mut Generator,
    brokers: &str,
    topic: &str,
    format: Format,
) -> anyhow::Result<u64> {
    let mut cfg = rdkafka::ClientConfig::new();
    cfg.set("bootstrap.servers", brokers);
    let producer = crate::kafka::producer::ConfirmingProducer::new(&cfg)?;
    let mut line = Vec::with_capacity(512);
    let mut scratch = String::new();
    let mut count = 0u64;
    loop {
        line.clear();
        if generator.next_event(&mut line).is_none() {
            break;
        }
        reformat(format, &mut line, &mut scratch);
        producer.send(topic, &count.to_string(), &line, None)?;
        count += 1;
        if count % 100_000 == 0 || (generator.realtime() && count % 256 == 0) {
            producer.poll();
        }
    }
    producer
        .confirm(std::time::Duration::from_secs(120))
        .with_context(|| format!("cannot produce to {topic} at {brokers}"))?;
    Ok(count)
}

/// Writes the remaining events of `generator` to `w`, one per line, counting them
/// in `count` as they go.
fn write_lines<W: Write>(
    generator: &mut Generator,
    format: Format,
    mut w: W,
    count: &mut u64,
) -> io::Result<W> {
    let mut line = Vec::with_capacity(512);
    let mut scratch = String::new();
    w.write_all(header(format).as_bytes())?;
    loop {
        line.clear();
        if generator.next_event(&mut line).is_none() {
            break;
        }
        reformat(format, &mut line, &mut scratch);
        line.push(b'\n');
        w.write_all(&line)?;
        *count += 1;
        if generator.realtime() {
            w.flush()?;
        }
    }
    w.flush()?;
    Ok(w)
}
