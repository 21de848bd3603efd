//! The Kafka side of the stream tests: the embedded broker and the job in
//! their own processes, a test producer and topic reader, /metrics, test
//! events with their oracle, and the window records the job writes.
//!
//! Why one long file: the stream and scale-out tests drive the job, the
//! broker and the producer together, and their helpers share the processes'
//! handles and the event oracle.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use serde_json::{json, Value};

use super::*;
/// 2026-01-01T00:00:00Z.
pub const BASE_NS: i64 = 1_767_225_600 * NS_PER_S;
pub const MS: i64 = 1_000_000;
pub const PARTITIONS: i32 = 4;
/// Events are at most this far from their slot in time order: well inside
/// `max_out_of_orderness`, so no event of a test is ever too late.
pub const JITTER_MS: i64 = 1500;

/// For tests that restart the job: the mock broker makes a joining member
/// wait up to the session timeout (45 s by default) for the previous one,
/// even after it left (a killed one never does).
pub const FAST_REJOIN: &[(&str, &str)] = &[
    ("session.timeout.ms", "3000"),
    ("heartbeat.interval.ms", "500"),
];

// ---------------------------------------------------------------------------
// Waiting

/// Polls `f` until it returns `Some`, at most `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------
// The embedded broker, in its own process

pub struct Broker {
    pub child: Child,
    pub stdin: ChildStdin,
    pub bootstrap: String,
    pub log: PathBuf,
}

impl Broker {
    /// `slipstream dev-broker --partitions 4 --topic T...`.
    pub fn start(dir: &Path, topics: &[&str]) -> Broker {
        Broker::start_cluster(dir, topics, 1)
    }

    /// The same with `--brokers N`.
    pub fn start_cluster(dir: &Path, topics: &[&str], brokers: usize) -> Broker {
        Broker::start_with(dir, topics, brokers, PARTITIONS)
    }

    /// The same with `--partitions N`.
    pub fn start_with(dir: &Path, topics: &[&str], brokers: usize, partitions: i32) -> Broker {
        let log = dir.join("broker.log");
        let mut cmd = Command::new(BIN);
        cmd.arg("dev-broker")
            .arg("--brokers")
            .arg(brokers.to_string())
            .arg("--partitions")
            .arg(partitions.to_string());
        for t in topics {
            cmd.arg("--topic").arg(t);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("broker log"))
            .spawn()
            .expect("spawn dev-broker");
        let stdin = child.stdin.take().expect("stdin");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read the dev-broker's first line");
        let bootstrap = first
            .trim()
            .strip_prefix("bootstrap=")
            .unwrap_or_else(|| {
                panic!(
                    "dev-broker's first line is not `bootstrap=HOST:PORT`: {first:?}\n{}",
                    tail(&log, 20)
                )
            })
            .to_string();
        Broker {
            child,
            stdin,
            bootstrap,
            log,
        }
    }

    /// Sends a command (`down 1`, `up 1`) and waits for its `ok:`.
    pub fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the dev-broker");
        self.stdin.flush().expect("flush");
        let log = self.log.clone();
        wait_until(
            &format!("dev-broker to confirm `{line}`"),
            Duration::from_secs(10),
            || {
                fs::read_to_string(&log)
                    .ok()
                    .filter(|t| t.contains(&format!("ok: {line}")))
            },
        );
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// The stream job, in its own process

pub struct Job {
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Job {
    /// `slipstream run -c CFG ARGS...`, stdout and stderr appended to `log`.
    pub fn start(cfg: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Job {
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("job log");
        writeln!(out, "===== slipstream run").expect("write log");
        let err = out.try_clone().expect("clone log");
        let mut cmd = Command::new(BIN);
        cmd.arg("run").arg("-c").arg(cfg).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn slipstream run");
        Job {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// kill -9, and reap.
    pub fn kill9(&mut self) {
        let mut c = self.child.take().expect("running");
        c.kill().expect("kill -9");
        c.wait().expect("wait");
    }

    /// SIGTERM; returns the exit status and how long the exit took (at most
    /// 20 s are waited for).
    pub fn sigterm(&mut self) -> (Option<ExitStatus>, Duration) {
        let started = Instant::now();
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM failed");
        let c = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = c.try_wait().expect("try_wait") {
                self.child = None;
                return (Some(status), started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return (None, started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts the job is still running (it never exits on its own).
    pub fn assert_running(&mut self) {
        let c = self.child.as_mut().expect("running");
        if let Some(status) = c.try_wait().expect("try_wait") {
            panic!(
                "slipstream run exited with {status}:\n{}",
                tail(&self.log, 40)
            );
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- last lines of {}:\n{}\n-----",
                self.log.display(),
                tail(&self.log, 60)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP: /metrics

/// A port that was free a moment ago and that no other caller in this test
/// process has been given: the system may hand a just-released port out
/// again, and two jobs of one test must not be told to listen on the same.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// GET http://127.0.0.1:PORT/PATH: status and body; `None` when nothing
/// listens (yet).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

pub fn metrics(port: u16) -> Option<String> {
    http_get(port, "/metrics")
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
}

/// The sum of every sample of `name` (with any labels).
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut sum = None;
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = l.rsplit_once(' ') else {
            continue;
        };
        let base = series.split('{').next().unwrap_or(series);
        if base == name {
            let v: f64 = value.parse().expect("metric value");
            sum = Some(sum.unwrap_or(0.0) + v);
        }
    }
    sum
}

/// The sample of `name` with exactly these labels, e.g. `{reason="not_json"}`.
pub fn metric_labeled(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("metric value"))
}

// ---------------------------------------------------------------------------
// Kafka: producing and reading

#[derive(Default)]
pub struct DeliveryLog {
    pub offsets: Mutex<HashMap<usize, (i32, i64)>>,
    pub failures: Mutex<Vec<String>>,
}

impl ClientContext for DeliveryLog {}

impl ProducerContext for DeliveryLog {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, id: usize) {
        match result {
            Ok(m) => {
                self.offsets
                    .lock()
                    .expect("lock")
                    .insert(id, (m.partition(), m.offset()));
            }
            Err((e, _)) => self.failures.lock().expect("lock").push(e.to_string()),
        }
    }
}

/// An idempotent producer (no duplicates or reordering across a broker
/// outage) that remembers where each message landed.
pub struct TestProducer {
    pub producer: BaseProducer<DeliveryLog>,
    pub topic: String,
    pub next_id: usize,
}

impl TestProducer {
    pub fn new(bootstrap: &str, topic: &str) -> TestProducer {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.idempotence", "true")
            .set("message.max.bytes", "4000000")
            .set("linger.ms", "2")
            .set("message.timeout.ms", "120000")
            .create_with_context(DeliveryLog::default())
            .expect("test producer");
        TestProducer {
            producer,
            topic: topic.to_string(),
            next_id: 0,
        }
    }

    /// Queues one message to a partition; returns its id (see [`Self::offset`]).
    pub fn send(&mut self, partition: i32, payload: &[u8]) -> usize {
        let id = self.next_id;
        self.next_id += 1;
        let mut record = BaseRecord::with_opaque_to(&self.topic, id)
            .partition(partition)
            .payload(payload)
            .key("");
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => panic!("cannot produce: {e}"),
            }
        }
        self.producer.poll(Duration::ZERO);
        id
    }

    pub fn send_all(&mut self, msgs: &[Msg]) {
        for m in msgs {
            self.send(m.partition, &m.payload);
        }
    }

    /// Waits until every queued message is acknowledged.
    pub fn flush(&self) {
        self.producer
            .flush(Duration::from_secs(120))
            .expect("test producer flush");
        let failures = self.producer.context().failures.lock().expect("lock");
        assert!(failures.is_empty(), "test produce failed: {failures:?}");
    }

    /// (partition, offset) of a flushed message.
    pub fn offset(&self, id: usize) -> (i32, i64) {
        *self
            .producer
            .context()
            .offsets
            .lock()
            .expect("lock")
            .get(&id)
            .expect("message delivered")
    }
}

#[derive(Debug, Clone)]
#[allow(dead_code)] // partition and offset show in failure messages
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: BTreeMap<String, String>,
}

/// Reads every partition of a topic from the beginning, by assignment.
pub struct TopicReader {
    pub consumer: BaseConsumer,
    pub topic: String,
    pub next: BTreeMap<i32, i64>,
    pub msgs: Vec<Consumed>,
}

impl TopicReader {
    pub fn new(bootstrap: &str, topic: &str) -> TopicReader {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("reader-{topic}"))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("test consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("tpl");
        }
        consumer.assign(&tpl).expect("assign");
        TopicReader {
            consumer,
            topic: topic.to_string(),
            next: (0..PARTITIONS).map(|p| (p, 0)).collect(),
            msgs: Vec::new(),
        }
    }

    /// Reads up to the partitions' current high watermarks; returns every
    /// message read so far.
    pub fn read(&mut self) -> &[Consumed] {
        let mut high = BTreeMap::new();
        for p in 0..PARTITIONS {
            let (_, h) = self
                .consumer
                .fetch_watermarks(&self.topic, p, Duration::from_secs(10))
                .expect("watermarks");
            high.insert(p, h);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while high.iter().any(|(p, h)| self.next[p] < *h) {
            assert!(
                Instant::now() < deadline,
                "cannot read {} up to {high:?}",
                self.topic
            );
            match self.consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Err(e)) => eprintln!("test consumer: {e}"),
                Some(Ok(m)) => {
                    let mut headers = BTreeMap::new();
                    if let Some(hs) = m.headers() {
                        for h in hs.iter() {
                            let v = h
                                .value
                                .map(|v| String::from_utf8(v.to_vec()).expect("UTF-8 header"))
                                .unwrap_or_default();
                            headers.insert(h.key.to_string(), v);
                        }
                    }
                    self.next.insert(m.partition(), m.offset() + 1);
                    self.msgs.push(Consumed {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        payload: m.payload().unwrap_or(&[]).to_vec(),
                        headers,
                    });
                }
            }
        }
        &self.msgs
    }
}

// ---------------------------------------------------------------------------
// Test events

/// One message to produce.
#[derive(Debug, Clone)]
pub struct Msg {
    pub partition: i32,
    pub payload: Vec<u8>,
}

pub fn ts(t_ns: i64) -> String {
    DateTime::from_timestamp_millis(t_ns.div_euclid(MS))
        .expect("time")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A request-log event at `t_ns` exercising every SLI: good, bad and invalid
/// (status as a non-numeric string, latency missing or a string).
pub fn event_at(rng: &mut Rng, t_ns: i64) -> Vec<u8> {
    let (service, routes): (&str, &[&str]) = match rng.below(6) {
        0 | 1 => ("checkout", &["/api/checkout/cart", "/api/checkout/pay"]),
        2 | 3 => (
            "search",
            &["/api/search", "/api/search/suggest", "/internal/search"],
        ),
        4 => ("catalog", &["/api/catalog/item"]),
        _ => ("auth", &["/api/auth/token"]),
    };
    let route = routes[rng.below(routes.len() as u64) as usize];
    let region = ["eu-west-1", "us-east-1", "ap-northeast-1"][rng.below(3) as usize];
    let mut v = json!({
        "timestamp": ts(t_ns),
        "service": service,
        "http": {"route": route},
        "region": region,
    });
    let status = match rng.below(100) {
        0..=77 => json!(200),
        78..=82 => json!(404),
        83..=85 => json!(429),
        86..=91 => json!(500),
        92..=94 => json!(503),
        95 => json!("502"),
        96 => json!("n/a"),
        97 => Value::Null,
        _ => json!(201),
    };
    if !status.is_null() {
        v["status"] = status;
    }
    match rng.below(100) {
        0..=2 => {}
        3 => v["latency_ms"] = json!("15"),
        _ => {
            // Roughly log-uniform between 2 ms and 1.3 s, 3 decimals.
            let x = rng.below(1_000_000) as f64 / 1e6;
            let ms = (2.0 * (x * 6.5).exp() * 1000.0).round() / 1000.0;
            v["latency_ms"] = json!(ms);
        }
    }
    serde_json::to_vec(&v).expect("json")
}

/// `n` events spread evenly over [start, start + span), each moved by up to
/// ±JITTER_MS, to random partitions among `partitions`: every partition is
/// in time order up to the jitter.
pub fn events(seed: u64, n: usize, start_ns: i64, span_ns: i64, partitions: &[i32]) -> Vec<Msg> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let slot = start_ns + (span_ns as i128 * i as i128 / n as i128) as i64;
            let jitter = rng.below(2 * JITTER_MS as u64 + 1) as i64 - JITTER_MS;
            let t = (slot + jitter * MS).max(start_ns);
            Msg {
                partition: partitions[rng.below(partitions.len() as u64) as usize],
                payload: event_at(&mut rng, t),
            }
        })
        .collect()
}

/// One event per partition at `t_ns`: moves every partition's watermark.
pub fn pushers(t_ns: i64, partitions: &[i32]) -> Vec<Msg> {
    partitions
        .iter()
        .map(|&p| Msg {
            partition: p,
            payload: serde_json::to_vec(&json!({
                "timestamp": ts(t_ns),
                "service": "pusher",
                "status": 200,
                "latency_ms": 1.0,
            }))
            .expect("json"),
        })
        .collect()
}

/// The oracle's view of the messages: every one must be a valid event.
pub fn oracle_events(msgs: &[Msg]) -> Vec<Event> {
    let payloads: Vec<&[u8]> = msgs.iter().map(|m| m.payload.as_slice()).collect();
    let parsed = parse_input(&join_lines(&payloads), 1_048_576);
    assert!(parsed.rejects.is_empty());
    assert_eq!(parsed.events.len(), msgs.len());
    parsed.events
}

pub fn key_of(sli: &str, start_ns: i64) -> String {
    format!("{sli}|{}", fmt_rfc3339(start_ns))
}

pub fn expected_keys(exp: &[Expect]) -> BTreeSet<String> {
    let slis = slis();
    exp.iter()
        .map(|e| key_of(slis[e.sli].name, e.start_ns))
        .collect()
}

/// The oracle must exercise good, bad and invalid on every SLI, so a test
/// cannot pass vacuously.
pub fn assert_exercises_every_sli(exp: &[Expect]) {
    for (i, s) in slis().iter().enumerate() {
        let t = sli_totals(exp)[i];
        assert!(
            t[2] > 0 && t[3] > 0 && t[4] > 0,
            "{}: the input needs good, bad and invalid events: {t:?}",
            s.name
        );
    }
}

// ---------------------------------------------------------------------------
// Window records as written by the job

#[derive(Debug, Clone)]
pub struct WindowLine {
    pub key: String,
    pub line: String,
    pub value: Value,
}

/// Window records of a JSON-lines text. `complete_only`: ignore a final
/// line without its newline (being written right now).
pub fn window_lines_of(text: &str, what: &str, complete_only: bool) -> Vec<WindowLine> {
    let body = if complete_only {
        &text[..text.rfind('\n').map_or(0, |i| i + 1)]
    } else {
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{what}: the last record has no newline"
        );
        text
    };
    body.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let value: Value = serde_json::from_str(l).unwrap_or_else(|e| {
                panic!("{what}: line {} is not a JSON record ({e}): {l:?}", i + 1)
            });
            if value["kind"] != "window" {
                return None;
            }
            let key = format!(
                "{}|{}",
                value["sli"].as_str().expect("sli"),
                value["window_start"].as_str().expect("window_start")
            );
            Some(WindowLine {
                key,
                line: l.to_string(),
                value,
            })
        })
        .collect()
}

pub fn file_window_lines(path: &Path, complete_only: bool) -> Vec<WindowLine> {
    let bytes = fs::read(path).unwrap_or_default();
    let text = String::from_utf8(bytes).expect("records are UTF-8");
    window_lines_of(&text, &path.display().to_string(), complete_only)
}

/// Waits until the records file holds every key of `want`.
pub fn wait_for_keys(path: &Path, want: &BTreeSet<String>, job: &mut Job, timeout: Duration) {
    wait_until(
        &format!("{} window records in {}", want.len(), path.display()),
        timeout,
        || {
            job.assert_running();
            let have: BTreeSet<String> = file_window_lines(path, true)
                .into_iter()
                .map(|l| l.key)
                .collect();
            want.is_subset(&have).then_some(())
        },
    );
}

/// The first value of each key; panics when a key was written with two
/// different values.
pub fn by_key<'a>(lines: &'a [WindowLine], what: &str) -> BTreeMap<&'a str, &'a WindowLine> {
    let mut m: BTreeMap<&str, &WindowLine> = BTreeMap::new();
    for l in lines {
        match m.get(l.key.as_str()) {
            Some(first) => assert!(
                first.value == l.value,
                "{what}: key {} written with two different values:\n  {}\n  {}",
                l.key,
                first.line,
                l.line
            ),
            None => {
                m.insert(&l.key, l);
            }
        }
    }
    m
}

/// Runs the job on `cfg` until the file sink holds every expected window,
/// stops it cleanly, and checks the file against the oracle.
pub fn run_to_every_window(s: &Setup, cfg: &Path, exp: &[Expect], what: &str) {
    let mut job = Job::start(cfg, &s.log(), &[], &[]);
    wait_for_keys(
        &s.records(),
        &expected_keys(exp),
        &mut job,
        Duration::from_secs(60),
    );
    assert_clean_exit(&mut job, what);
    assert_window_records(&file_window_lines(&s.records(), false), exp, what);
}

/// Every expected record present with the oracle's numbers, no key with two
/// values, no unexpected key.
pub fn assert_window_records(lines: &[WindowLine], exp: &[Expect], what: &str) {
    let slis = slis();
    let got = by_key(lines, what);
    let want = expected_keys(exp);
    let have: BTreeSet<String> = got.keys().map(|k| k.to_string()).collect();
    let missing: Vec<&String> = want.difference(&have).collect();
    let unexpected: Vec<&String> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{what}: missing keys {missing:?}, unexpected keys {unexpected:?}"
    );
    for e in exp {
        let sli = &slis[e.sli];
        assert_record(&got[key_of(sli.name, e.start_ns).as_str()].value, e, sli);
    }
}

// ---------------------------------------------------------------------------
// Configuration

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Setup {
    pub fn new() -> Setup {
        let mut dir = tempfile::Builder::new()
            .prefix("slipstream-stream-")
            .tempdir()
            .expect("tempdir");
        // SLIPSTREAM_TEST_KEEP=1 keeps the logs, records and configuration.
        if std::env::var_os("SLIPSTREAM_TEST_KEEP").is_some() {
            dir.disable_cleanup(true);
            eprintln!("keeping {}", dir.path().display());
        }
        Setup {
            dir,
            port: free_port(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `slipstream.toml`: the test SLIs, windows of 1m with 5s out of
    /// orderness, 10s lateness and 3s idle timeout, a file sink to
    /// `records.jsonl`, plus `extra` TOML (sinks, dead letters).
    pub fn config(
        &self,
        bootstrap: &str,
        group: &str,
        librdkafka: &[(&str, &str)],
        extra: &str,
        decode_extra: &str,
    ) -> PathBuf {
        let mut rd = String::new();
        for (k, v) in librdkafka {
            rd.push_str(&format!("\"{k}\" = \"{v}\"\n"));
        }
        let text = format!(
            r#"[source.kafka]
brokers = "{bootstrap}"
topics = ["in"]
group_id = "{group}"
[source.kafka.librdkafka]
{rd}
[window]
size = "1m"
max_out_of_orderness = "5s"
allowed_lateness = "10s"
idle_timeout = "3s"

[http]
listen = "127.0.0.1:{port}"

[[sink]]
type = "file"
path = '{records}'

{extra}

[decode]
{decode_extra}
[decode.fields]
latency = "latency_ms"

{SLIS_TOML}"#,
            port = self.port,
            records = self.path("records.jsonl").display(),
        );
        let path = self.path("slipstream.toml");
        fs::write(&path, text).expect("write config");
        path
    }

    pub fn records(&self) -> PathBuf {
        self.path("records.jsonl")
    }

    pub fn log(&self) -> PathBuf {
        self.path("job.log")
    }

    pub fn metrics(&self) -> Option<String> {
        metrics(self.port)
    }

    /// Waits until /metrics shows `name` (summed over labels) >= `min`.
    pub fn wait_metric(&self, job: &mut Job, name: &str, min: f64) -> f64 {
        wait_until(
            &format!("{name} >= {min} on /metrics"),
            Duration::from_secs(60),
            || {
                job.assert_running();
                let v = metric_sum(&self.metrics()?, name)?;
                (v >= min).then_some(v)
            },
        )
    }
}

pub fn assert_clean_exit(job: &mut Job, what: &str) {
    let (status, took) = job.sigterm();
    assert!(
        took <= Duration::from_secs(10),
        "{what}: SIGTERM must end the job within 10 s; it took {took:?} (status {status:?})"
    );
    let status = status.expect("exited");
    assert!(
        status.success(),
        "{what}: exit status after SIGTERM: {status}\n{}",
        tail(&job.log, 40)
    );
}
