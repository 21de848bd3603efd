//! A bare rust-rdkafka consumer: the baseline for `benches/kafka_throughput.sh`.
//!
//! It joins a consumer group with the same librdkafka settings as
//! `slipstream run` (see `src/kafka/settings.rs`), reads messages and throws
//! them away — only touching each payload's length — until it has read
//! `--count` messages, then prints
//!
//! ```text
//! consumed=N seconds=S rate=R
//! ```
//!
//! The clock starts at the first message, so joining the group and the first
//! fetch are not measured: `S` is the time from the first message to the
//! N-th and `R = (N - 1) / S` (the messages after the first, over the time
//! they took).
//!
//! ```text
//! cargo run --release --example bare_consumer -- \
//!     --brokers 127.0.0.1:9092 --topic request-logs --count 1000000 --group bare-1
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

/// Reads and discards N messages from a topic in a consumer group.
#[derive(Parser, Debug)]
struct Args {
    /// Bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    #[arg(long)]
    brokers: String,
    /// The topic to read.
    #[arg(long)]
    topic: String,
    /// Stop after this many messages.
    #[arg(long)]
    count: u64,
    /// The consumer group (use a fresh one per run to read from the start).
    #[arg(long)]
    group: String,
    /// Give up when no message arrives for this many seconds.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Extra librdkafka setting `KEY=VALUE`, applied last (repeatable), e.g.
    /// `--set fetch.wait.max.ms=100`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_consumer: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Fails early when the topic holds fewer than `--count` messages (the sum
/// of high - low watermarks), rather than waiting for messages that are not
/// there. librdkafka's mock cluster (`slipstream dev-broker`) keeps only
/// about the newest 5 MiB of each partition and drops older messages.
fn check_topic_holds(consumer: &BaseConsumer, args: &Args) -> Result<()> {
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(&args.topic), timeout)
        .with_context(|| {
            format!(
                "cannot read the metadata of {} at {}",
                args.topic, args.brokers
            )
        })?;
    let Some(topic) = metadata.topics().iter().find(|t| t.name() == args.topic) else {
        bail!("topic {} not found at {}", args.topic, args.brokers);
    };
    if topic.partitions().is_empty() {
        bail!(
            "topic {} has no partitions at {} (does it exist?)",
            args.topic,
            args.brokers
        );
    }
    let mut held = 0i64;
    let mut dropped = 0i64;
    for p in topic.partitions() {
        let (low, high) = consumer
            .fetch_watermarks(&args.topic, p.id(), timeout)
            .with_context(|| format!("cannot read the offsets of {} [{}]", args.topic, p.id()))?;
        held += high - low;
        dropped += low;
    }
    if (held as u64) < args.count {
        bail!(
            "topic {} holds only {held} messages in {} partition(s) ({dropped} already dropped from the log start), fewer than --count {}; \
             the embedded broker (librdkafka's mock cluster) keeps only about 5 MiB per partition, so use more partitions",
            args.topic,
            topic.partitions().len(),
            args.count
        );
    }
    Ok(())
}

fn run(args: &Args) -> Result<()> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    // The settings of `consumer_config` in src/kafka/settings.rs (except the
    // statistics callback, which slipstream uses for its lag metric).
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &args.brokers)
        .set("group.id", &args.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("queued.max.messages.kbytes", "32768")
        .set("queued.min.messages", "20000")
        .set("fetch.max.bytes", "16777216")
        .set("fetch.queue.backoff.ms", "10");
    for kv in &args.settings {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--set takes KEY=VALUE, not `{kv}`");
        };
        cfg.set(k, v);
    }
    let consumer: BaseConsumer = cfg.create().context("cannot create the Kafka consumer")?;
    check_topic_holds(&consumer, args)?;
    consumer
        .subscribe(&[&args.topic])
        .with_context(|| format!("cannot subscribe to {}", args.topic))?;

    let idle = Duration::from_secs(args.idle_timeout);
    let mut consumed = 0u64;
    let mut bytes = 0u64;
    let mut first: Option<Instant> = None;
    let poll_timeout = Duration::from_millis(100);
    let mut empty_polls = 0u64;
    let mut errors = 0u64;
    let mut per_partition: Vec<u64> = Vec::new();
    while consumed < args.count {
        match consumer.poll(poll_timeout) {
            Some(Ok(msg)) => {
                if first.is_none() {
                    first = Some(Instant::now());
                }
                bytes += black_box(msg.payload().map_or(0, <[u8]>::len)) as u64;
                consumed += 1;
                let p = usize::try_from(msg.partition()).unwrap_or(0);
                if p >= per_partition.len() {
                    per_partition.resize(p + 1, 0);
                }
                per_partition[p] += 1;
                empty_polls = 0;
            }
            Some(Err(e)) => {
                errors += 1;
                if errors <= 10 {
                    eprintln!("bare_consumer: consumer error (librdkafka retries): {e}");
                }
            }
            None => {
                empty_polls += 1;
                if poll_timeout * u32::try_from(empty_polls).unwrap_or(u32::MAX) >= idle {
                    bail!(
                        "no message for {} s after {consumed} of {} (per partition: {}; is the topic filled? wrong --brokers or --topic?)",
                        args.idle_timeout,
                        args.count,
                        show(&per_partition)
                    );
                }
            }
        }
    }
    let seconds = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let rate = if seconds > 0.0 {
        (consumed - 1) as f64 / seconds
    } else {
        0.0
    };
    black_box(bytes);
    println!("consumed={consumed} seconds={seconds:.3} rate={rate:.0}");
    eprintln!(
        "bare_consumer: {consumed} messages ({} per partition), {:.1} MB of payload, {errors} consumer error(s)",
        show(&per_partition),
        bytes as f64 / 1e6
    );
    Ok(())
}

/// `min..max` of the per-partition counts (there may be hundreds).
fn show(per_partition: &[u64]) -> String {
    match (per_partition.iter().min(), per_partition.iter().max()) {
        (Some(lo), Some(hi)) => format!("{lo}..{hi} over {} partition(s)", per_partition.len()),
        _ => "none".to_string(),
    }
}
