//! `slipstream demo`: the whole stream job on one machine with nothing
//! installed. An embedded Kafka broker (librdkafka's mock cluster), a
//! producer of synthetic traffic in real time with scripted incidents, and
//! the stream job over it, with each SLI shown live in the terminal and the
//! records written under `./demo-out/`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::mocking::MockCluster;

use crate::config::Config;
use crate::kafka::producer::ConfirmingProducer;
use crate::record::{AlertRecord, AnyRecord, WindowRecord};
use crate::synth::{GenArgs, Generator};

/// Arguments of `slipstream demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Stop after this long (e.g. `3m`); without it, run until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Synthetic requests per second.
    #[arg(long, default_value_t = 2000.0)]
    pub rate: f64,
    /// Where records and dead letters go.
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
}

const TOPIC: &str = "request-logs";

/// The demo's configuration: the SLIs of `config/demo.toml` with 10-second
/// windows, so records appear within seconds.
fn demo_config(brokers: &str, out: &Path) -> Result<Config> {
    let base = include_str!("../config/demo.toml");
    let slis = &base[base
        .find("[[sli]]")
        .context("config/demo.toml has no [[sli]]")?..];
    let slis = &slis[..slis.find("[[sink]]").unwrap_or(slis.len())];
    let out = out
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let text = format!(
        r#"[source.kafka]
brokers = "{brokers}"
topics = ["{TOPIC}"]
group_id = "slipstream-demo"

[decode.fields]
latency = "latency_ms"

[window]
size = "10s"
max_out_of_orderness = "2s"
allowed_lateness = "3s"
idle_timeout = "5s"

{slis}
[[sink]]
type = "file"
path = "{out}/records.jsonl"

[dead_letter]
type = "file"
path = "{out}/dead-letters.jsonl"

[http]
listen = "127.0.0.1:0"
"#
    );
    Ok(Config::parse(Path::new("<demo>"), &text)?)
}

pub fn run(args: &DemoArgs, shutdown: Arc<AtomicBool>) -> Result<()> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        anyhow::bail!(
            "--rate {} is no rate: give requests per second above 0, as in --rate 2000",
            args.rate
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let records_path = args.out.join("records.jsonl");
    // A fresh file per demo, so the live view shows this run only.
    let _ = std::fs::remove_file(&records_path);
    let cluster = MockCluster::new(1).context("cannot start the embedded broker")?;
    cluster.create_topic(TOPIC, 4, 1)?;
    let brokers = cluster.bootstrap_servers();
    let config = demo_config(&brokers, &args.out)?;
    eprintln!(
        "Embedded broker at {brokers}; producing {} requests/s to {TOPIC}.",
        args.rate
    );
    eprintln!(
        "Incidents: checkout errors from +40s for 30s, search 4x slower from +90s for 60s. Records: {}",
        records_path.display()
    );

    let produced = Arc::new(AtomicU64::new(0));
    let producer = {
        let (brokers, produced, shutdown, rate) = (
            brokers.clone(),
            produced.clone(),
            shutdown.clone(),
            args.rate,
        );
        std::thread::spawn(move || produce_live(&brokers, rate, &produced, &shutdown))
    };
    let (listening, address) = std::sync::mpsc::channel();
    let job = {
        let (config, shutdown) = (config.clone(), shutdown.clone());
        std::thread::spawn(move || {
            let tell = move |addr| {
                let _ = listening.send(addr);
            };
            crate::topology::run_serving(&config, shutdown, crate::topology::Role::All, &tell)
        })
    };

    let started = Instant::now();
    let mut view = LiveView::new(&config, records_path);
    // The job binds its HTTP port within moments, or has failed.
    view.page = address
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .map(|addr| format!("http://{addr}/"));
    if let Some(url) = &view.page {
        eprintln!("Status page: {url} (JSON: {url}api/slo)");
    }
    while !shutdown.load(Ordering::Relaxed) {
        if args.duration.is_some_and(|d| started.elapsed() >= d) {
            shutdown.store(true, Ordering::Relaxed);
            break;
        }
        view.refresh(started.elapsed(), produced.load(Ordering::Relaxed));
        std::thread::sleep(Duration::from_millis(500));
    }
    let job_result = job
        .join()
        .map_err(|_| anyhow::anyhow!("the stream job panicked"))?;
    let producer_result = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the traffic generator panicked"))?;
    view.refresh(started.elapsed(), produced.load(Ordering::Relaxed));
    drop(cluster);
    job_result?;
    producer_result.context("the traffic generator stopped")
}

/// Produces synthetic events whose event time is the wall clock.
fn produce_live(
    brokers: &str,
    rate: f64,
    produced: &AtomicU64,
    shutdown: &AtomicBool,
) -> Result<()> {
    let args = GenArgs {
        count: 0,
        rate,
        realtime: true,
        incidents: vec![
            "kind=errors,start=40s,duration=30s,rate=0.3,service=checkout".into(),
            "kind=latency,start=90s,duration=60s,factor=4,service=search".into(),
        ],
        ..GenArgs::default()
    };
    let mut generator = Generator::new(&args)?;
    let mut cfg = rdkafka::ClientConfig::new();
    cfg.set("bootstrap.servers", brokers);
    let producer = ConfirmingProducer::new(&cfg)?;
    let mut line = Vec::with_capacity(512);
    let mut n = 0u64;
    while !shutdown.load(Ordering::Relaxed) {
        line.clear();
        if generator.next_event(&mut line).is_none() {
            break;
        }
        producer.send(TOPIC, &n.to_string(), &line, None)?;
        n += 1;
        if n % 256 == 0 {
            producer.poll();
            produced.store(n, Ordering::Relaxed);
        }
    }
    producer.confirm(Duration::from_secs(5))
}

/// The terminal view: the latest window of each SLI, its budget left and
/// its firing alerts, read from the records.
struct LiveView {
    slis: Vec<String>,
    window_secs: f64,
    path: PathBuf,
    offset: u64,
    latest: BTreeMap<String, WindowRecord>,
    /// The budget left of each SLI with an objective, from its last `slo` record.
    budget: BTreeMap<String, Option<f64>>,
    /// Per SLI and severity, the last alert record.
    alerts: BTreeMap<(String, String), AlertRecord>,
    /// The status page's URL.
    page: Option<String>,
    tty: bool,
    last_line: Option<String>,
}

impl LiveView {
    fn new(config: &Config, path: PathBuf) -> LiveView {
        LiveView {
            slis: config.slis.iter().map(|s| s.name.clone()).collect(),
            window_secs: config.window.size_ns as f64 / 1e9,
            path,
            offset: 0,
            latest: BTreeMap::new(),
            budget: BTreeMap::new(),
            alerts: BTreeMap::new(),
            page: None,
            tty: std::io::stdout().is_terminal(),
            last_line: None,
        }
    }

    /// Reads records appended since the last refresh.
    fn read_new(&mut self) {
        let Ok(bytes) = std::fs::read(&self.path) else {
            return;
        };
        let Some(new) = bytes.get(self.offset as usize..) else {
            return;
        };
        let complete = new.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in new[..complete]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let line = std::str::from_utf8(line).ok();
            match line.and_then(AnyRecord::parse) {
                Some(AnyRecord::Window(w)) => {
                    self.latest.insert(w.sli.clone(), w);
                }
                Some(AnyRecord::Slo(s)) => {
                    self.budget.insert(s.sli, s.budget.remaining_ratio);
                }
                Some(AnyRecord::Alert(a)) => {
                    self.alerts.insert((a.sli.clone(), a.severity.clone()), a);
                }
                None => {}
            }
        }
        self.offset += complete as u64;
    }

    fn refresh(&mut self, elapsed: Duration, produced: u64) {
        self.read_new();
        let mut out = String::new();
        out.push_str(&format!(
            "slipstream demo — {:>4.0}s, {produced} requests produced. Ctrl-C to stop.\n\n",
            elapsed.as_secs_f64()
        ));
        if let Some(url) = &self.page {
            out.push_str(&format!("Status page: {url}\n\n"));
        }
        out.push_str(&format!(
            "{:<24} {:>20} {:>9} {:>12} {:>9} {:>9} {:>9} {:>12}\n",
            "SLI", "window", "events/s", "compliance", "target", "p50 ms", "p99 ms", "budget left"
        ));
        for name in &self.slis {
            match self.latest.get(name) {
                None => out.push_str(&format!("{name:<24} (waiting for the first window)\n")),
                Some(w) => {
                    let pct = |x: Option<f64>| {
                        x.map_or("-".to_string(), |c| format!("{:.3}%", c * 100.0))
                    };
                    let ms = |key: &str| {
                        let v = w.latency.as_ref().and_then(|l| l.percentile(key));
                        v.map_or("-".to_string(), |c| format!("{c:.1}"))
                    };
                    let start = &w.window_start;
                    let rate = w.total as f64 / self.window_secs;
                    let budget = self.budget.get(name).copied().flatten();
                    out.push_str(&format!(
                        "{name:<24} {:>20} {rate:>9.0} {:>12} {:>9} {:>9} {:>9} {:>12}\n",
                        start.get(11..).unwrap_or(start),
                        pct(w.compliance),
                        pct(w.target),
                        ms("p50"),
                        ms("p99"),
                        match budget {
                            None => "-".to_string(),
                            Some(b) if b <= 0.0 => "spent".to_string(),
                            Some(b) => format!("{:.1}%", b * 100.0),
                        },
                    ));
                }
            }
        }
        let firing: Vec<&AlertRecord> = self.alerts.values().filter(|a| a.firing()).collect();
        out.push('\n');
        if firing.is_empty() {
            out.push_str("No alert is firing.\n");
        }
        for a in firing {
            out.push_str(&format!(
                "!! FIRING {} {}: burn rate {} over {} (threshold {}), since {}\n",
                a.severity,
                a.sli,
                a.burn_rate_long
                    .map_or("-".to_string(), |b| format!("{b:.1}x")),
                a.long_window,
                a.threshold,
                a.incident_start,
            ));
        }
        let mut stdout = std::io::stdout().lock();
        if self.tty {
            let _ = write!(stdout, "\x1b[2J\x1b[H{out}");
        } else if self.last_line.as_deref() != Some(out.as_str()) {
            let _ = writeln!(stdout, "{out}");
        }
        let _ = stdout.flush();
        self.last_line = Some(out);
    }
}
