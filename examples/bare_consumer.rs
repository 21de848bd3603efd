//! A bare rust-rdkafka consumer: the baseline for `benches/kafka_throughput.sh`.
//!
//! It joins a consumer group with the same librdkafka settings as
//! `slipstream run` (see `src/sources/kafka.rs`), reads messages and throws
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

fn run(args: &Args) -> Result<()> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    // The settings of `consumer_config` in src/sources/kafka.rs (except the
    // statistics callback, which slipstream uses for its lag metric).
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("group.id", &args.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("queued.max.messages.kbytes", "32768")
        .set("queued.min.messages", "20000")
        .set("fetch.max.bytes", "16777216")
        .create()
        .context("cannot create the Kafka consumer")?;
    consumer
        .subscribe(&[&args.topic])
        .with_context(|| format!("cannot subscribe to {}", args.topic))?;

    let idle = Duration::from_secs(args.idle_timeout);
    let mut consumed = 0u64;
    let mut bytes = 0u64;
    let mut first: Option<Instant> = None;
    let mut last_message = Instant::now();
    let mut errors = 0u64;
    while consumed < args.count {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(msg)) => {
                if first.is_none() {
                    first = Some(Instant::now());
                }
                bytes += black_box(msg.payload().map_or(0, <[u8]>::len)) as u64;
                consumed += 1;
                last_message = Instant::now();
            }
            Some(Err(e)) => {
                errors += 1;
                if errors <= 10 {
                    eprintln!("bare_consumer: consumer error (librdkafka retries): {e}");
                }
            }
            None => {
                if last_message.elapsed() >= idle {
                    bail!(
                        "no message for {} s after {consumed} of {} (is the topic filled? wrong --brokers or --topic?)",
                        args.idle_timeout,
                        args.count
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
        "bare_consumer: {consumed} messages, {:.1} MB of payload, {errors} consumer error(s)",
        bytes as f64 / 1e6
    );
    Ok(())
}
