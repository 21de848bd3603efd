//! `slipstream dev-broker`: librdkafka's mock cluster — a broker that speaks
//! the real Kafka protocol — in its own process, for local development and
//! tests. Prints `bootstrap=HOST:PORT` as its first line of stdout, then
//! serves until killed.
//!
//! Commands on stdin, one per line, drive failures: `down N` and `up N` take
//! broker N (1-based) down and up; `topic NAME PARTITIONS` creates a topic.

use std::io::{BufRead, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::mocking::MockCluster;

/// Arguments of `slipstream dev-broker`.
#[derive(clap::Args, Debug, Clone)]
pub struct DevBrokerArgs {
    /// Also accept bootstrap connections on this local port (forwarded to the
    /// first broker; clients then connect to the brokers it advertises).
    #[arg(long)]
    pub port: Option<u16>,
    /// Partitions of each topic created at start.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Topics to create at start (repeatable).
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// Number of brokers in the cluster.
    #[arg(long, default_value_t = 1)]
    pub brokers: i32,
}

pub fn run(args: &DevBrokerArgs) -> Result<()> {
    if args.partitions < 1 {
        bail!("--partitions must be at least 1");
    }
    let cluster = MockCluster::new(args.brokers).context("cannot start the embedded broker")?;
    for t in &args.topics {
        cluster
            .create_topic(t, args.partitions, 1)
            .with_context(|| format!("cannot create topic {t}"))?;
    }
    let real = cluster.bootstrap_servers();
    let shown = match args.port {
        Some(port) => {
            let first = real.split(',').next().unwrap_or(&real).to_string();
            let listener = TcpListener::bind(("127.0.0.1", port)).with_context(|| {
                format!("cannot listen on 127.0.0.1:{port}; choose another --port")
            })?;
            // `--port 0` lets the system choose: show the port it chose.
            let bound = listener
                .local_addr()
                .context("cannot read the bound port")?;
            std::thread::spawn(move || forward(listener, first));
            bound.to_string()
        }
        None => real.clone(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "bootstrap={shown}")?;
    out.flush()?;
    drop(out);
    eprintln!(
        "Embedded Kafka broker(s) at {real}; topics {:?} with {} partition(s). Commands on stdin: `down N`, `up N`, `topic NAME PARTITIONS`. Stop with Ctrl-C.",
        args.topics, args.partitions
    );
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let result = match words.as_slice() {
            ["down", n] => n
                .parse()
                .map_err(anyhow::Error::from)
                .and_then(|n| Ok(cluster.broker_down(n)?)),
            ["up", n] => n
                .parse()
                .map_err(anyhow::Error::from)
                .and_then(|n| Ok(cluster.broker_up(n)?)),
            ["topic", name, parts] => parts
                .parse()
                .map_err(anyhow::Error::from)
                .and_then(|p| Ok(cluster.create_topic(name, p, 1)?)),
            [] => Ok(()),
            _ => Err(anyhow::anyhow!(
                "unknown command `{line}`; expected `down N`, `up N` or `topic NAME PARTITIONS`"
            )),
        };
        match result {
            Ok(()) => eprintln!("ok: {line}"),
            Err(e) => eprintln!("error: {e:#}"),
        }
    }
    // Standard input closed: keep serving until killed.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Forwards each accepted connection to `target`, both ways.
fn forward(listener: TcpListener, target: String) {
    for client in listener.incoming().flatten() {
        let Ok(upstream) = TcpStream::connect(&target) else {
            continue;
        };
        let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
            continue;
        };
        std::thread::spawn(move || pipe(client, upstream));
        std::thread::spawn(move || pipe(u2, c2));
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(std::net::Shutdown::Both);
}
