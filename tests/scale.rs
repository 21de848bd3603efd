//! Scale-out end to end: `slipstream run --role ingest` instances and
//! `--role rollup` instances over a 6-partition topic on the embedded broker
//! (its own process), through starts, kill -9, SIGSTOP and rejoins. Their
//! records are checked against the independent oracle of tests/common, a
//! single-instance run (`--role all`) and a backfill of the same events.
//!
//! Why one long file: every file under `tests/` is a test binary of its own,
//! linked against the whole crate and its dependencies, so the tests of one
//! command share one binary and the test build stays a few links.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::kafka::*;
use common::pg;
use common::*;
use serde_json::Value;

const SOURCE_PARTITIONS: i32 = 6;

/// Appended to the scenario's configuration.
const GROUPED: &str = r#"
[[sli]]
name = "per-service"
good = 'status < 500'
group_by = ["service"]
group_limit = 2
[sli.objective]
target = 0.999
window = "1h"
"#;
const ALL_PARTITIONS: [i32; 6] = [0, 1, 2, 3, 4, 5];

/// One instance's configuration: the test configuration with its own HTTP
/// port (and, for a single-instance run, its own group and records file).
/// The scale tests run one at a time: each runs several jobs and brokers,
/// and four at once on a small machine can starve a consumer's heartbeats
/// past the 3-second session timeout, which turns a test's shutdown into a
/// rebalance storm no single test exercises on purpose.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn instance_config(s: &Setup, base: &Path, name: &str, group: Option<&str>) -> (PathBuf, u16) {
    let port = free_port();
    let mut text = fs::read_to_string(base).expect("read config").replace(
        &format!("127.0.0.1:{}\"", s.port),
        &format!("127.0.0.1:{port}\""),
    );
    if let Some(g) = group {
        text = text
            .replace("group_id = \"scale\"", &format!("group_id = \"{g}\""))
            .replace("records.jsonl", &format!("records-{name}.jsonl"));
    }
    let path = s.path(&format!("{name}.toml"));
    fs::write(&path, text).expect("write instance config");
    (path, port)
}

/// A running instance and its HTTP port.
struct Instance {
    name: &'static str,
    job: Job,
    port: u16,
    cfg: PathBuf,
    role: &'static str,
    log: PathBuf,
}

impl Instance {
    fn start(s: &Setup, base: &Path, name: &'static str, role: &'static str) -> Instance {
        let (cfg, port) = instance_config(s, base, name, None);
        let log = s.path(&format!("{name}.log"));
        Instance {
            name,
            job: Job::start(&cfg, &log, &["--role", role], &[]),
            port,
            cfg,
            role,
            log,
        }
    }

    fn restart(&mut self) {
        self.job = Job::start(&self.cfg, &self.log, &["--role", self.role], &[]);
    }

    fn metric(&self, name: &str) -> Option<f64> {
        metric_sum(&metrics(self.port)?, name)
    }

    /// Waits until the instance has read at least one message.
    fn wait_consuming(&mut self) {
        let port = self.port;
        let job = &mut self.job;
        wait_until("the instance to consume", Duration::from_secs(60), || {
            job.assert_running();
            let v = metric_sum(&metrics(port)?, "slipstream_events_consumed_total")?;
            (v >= 1.0).then_some(())
        });
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.job.pid().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -{sig} failed");
    }
}

/// The test's cluster: broker, configuration, events and the oracle.
struct Scenario {
    s: Setup,
    /// Kept running for the whole scenario.
    _broker: Broker,
    cfg: PathBuf,
    /// Data events then one pusher per partition.
    all: Vec<Msg>,
    exp: Vec<Expect>,
    producer: TestProducer,
    next: usize,
}

impl Scenario {
    fn new(seed: u64, n: usize) -> Scenario {
        let s = Setup::new();
        let broker = Broker::start_with(s.dir.path(), &["in"], 1, SOURCE_PARTITIONS);
        let cfg = s.config(&broker.bootstrap, "scale", FAST_REJOIN, "", "");
        // A grouped SLI beside the oracle's, its groups past the limit in
        // every window: the comparisons with a single instance and a
        // backfill cover its records, `__other__` included.
        let mut text = fs::read_to_string(&cfg).expect("read config");
        text.push_str(GROUPED);
        fs::write(&cfg, text).expect("write config");
        let data = events(seed, n, BASE_NS, 10 * WINDOW_NS, &ALL_PARTITIONS);
        let exp = expected(&oracle_events(&data), None, None);
        assert_exercises_every_sli(&exp);
        let push_ns = BASE_NS + 20 * WINDOW_NS + 30 * NS_PER_S;
        let all = data
            .into_iter()
            .chain(pushers(push_ns, &ALL_PARTITIONS))
            .collect();
        let producer = TestProducer::new(&broker.bootstrap, "in");
        Scenario {
            s,
            _broker: broker,
            cfg,
            all,
            exp,
            producer,
            next: 0,
        }
    }

    /// Produces up to `fraction` of the data, in small steps over `over`.
    fn produce_until(&mut self, fraction: f64, over: Duration) {
        let end = ((self.all.len() as f64 * fraction) as usize).min(self.all.len());
        let steps = (over.as_millis() / 20).max(1) as usize;
        let per = (end.saturating_sub(self.next)).div_ceil(steps).max(1);
        while self.next < end {
            let to = (self.next + per).min(end);
            self.producer.send_all(&self.all[self.next..to]);
            self.next = to;
            std::thread::sleep(Duration::from_millis(20));
        }
        self.producer.flush();
    }

    fn records(&self) -> PathBuf {
        self.s.records()
    }

    /// Waits until the rollup wrote every expected window record.
    fn wait_complete(&self, rollup: &mut Instance) {
        wait_for_keys(
            &self.records(),
            &expected_keys(&self.exp),
            &mut rollup.job,
            Duration::from_secs(120),
        );
    }

    /// A single instance (`--role all`) in its own group over the same topic.
    fn single_run(&self) -> Vec<Value> {
        let (cfg, _) = instance_config(&self.s, &self.cfg, "single", Some("single"));
        let path = self.s.path("records-single.jsonl");
        let mut job = Job::start(&cfg, &self.s.path("single.log"), &[], &[]);
        wait_for_keys(
            &path,
            &expected_keys(&self.exp),
            &mut job,
            Duration::from_secs(120),
        );
        assert_clean_exit(&mut job, "single instance");
        records(&fs::read(&path).expect("single records"))
    }

    /// A backfill of the same events.
    fn backfill_run(&self) -> Vec<Value> {
        let input = self.s.path("in.jsonl");
        let payloads: Vec<&[u8]> = self.all.iter().map(|m| m.payload.as_slice()).collect();
        fs::write(&input, join_lines(&payloads)).expect("write input");
        let (run, out) = backfill(
            &self.cfg,
            &self.s.path("backfill.jsonl"),
            &["--no-progress"],
            &[&input.display().to_string()],
            None,
        );
        run.assert_code(0, "backfill");
        records(&out)
    }

    /// The rollup's records: window records equal the oracle's, every key
    /// of every kind carries one value, and they equal a single instance
    /// and a backfill of the same events, record for record.
    fn assert_exact(&self) {
        let (lines, grouped): (Vec<_>, Vec<_>) = file_window_lines(&self.records(), false)
            .into_iter()
            .partition(|l| l.value["sli"] != "per-service");
        assert_window_records(&lines, &self.exp, "scaled-out window records");
        assert!(
            grouped
                .iter()
                .any(|l| l.value["group"]["service"] == "__other__"),
            "the grouped SLI must overflow into __other__"
        );
        let scaled = one_value_per_key(
            &records(&fs::read(self.records()).expect("records")),
            "scaled out",
        );
        let single = one_value_per_key(&self.single_run(), "single instance");
        let batch = one_value_per_key(&self.backfill_run(), "backfill");
        for kind in ["slo|", "alert|"] {
            assert!(
                scaled.keys().any(|k| k.starts_with(kind)),
                "the scenario must produce {kind} records"
            );
        }
        assert_eq!(
            scaled.keys().collect::<Vec<_>>(),
            single.keys().collect::<Vec<_>>(),
            "the scaled-out job and a single instance write the same keys"
        );
        for (k, v) in &scaled {
            assert_eq!(v, &single[k], "{k}: scaled out vs single instance");
            assert_eq!(Some(v), batch.get(k), "{k}: scaled out vs backfill");
        }
    }
}

/// SIGTERM to each instance: every one must exit 0 within 10 s.
fn stop_all(instances: &mut [&mut Instance]) {
    for i in instances.iter_mut() {
        assert_clean_exit(&mut i.job, i.name);
    }
}

/// Records by `kind|key`; panics when a key was written with two values.
fn one_value_per_key(records: &[Value], what: &str) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for r in records {
        let kind = r["kind"].as_str().expect("kind");
        let at = match kind {
            "window" => r["window_start"].as_str(),
            _ => r["at"].as_str(),
        }
        .expect("time of the record");
        let mut key = format!("{kind}|{}|{at}", r["sli"].as_str().expect("sli"));
        if !r["group"].is_null() {
            key.push_str(&format!("|{}", r["group"]));
        }
        if kind == "alert" {
            key.push('|');
            key.push_str(r["severity"].as_str().expect("severity"));
        }
        if let Some(first) = out.get(&key) {
            assert_eq!(first, r, "{what}: {key} written with two different values");
        } else {
            out.insert(key, r.clone());
        }
    }
    out
}

/// Three ingest instances and one rollup: start with one ingest, scale to
/// three while the stream flows, kill -9 one mid-stream, add it back.
#[test]
fn ingest_scales_out_and_survives_a_kill_with_one_exact_answer() {
    let _serial = one_at_a_time();
    let mut sc = Scenario::new(601, 36_000);
    sc.produce_until(0.15, Duration::from_millis(300));
    let mut rollup = Instance::start(&sc.s, &sc.cfg, "rollup", "rollup");
    let mut i1 = Instance::start(&sc.s, &sc.cfg, "ingest-1", "ingest");
    i1.wait_consuming();
    rollup.wait_consuming();
    sc.produce_until(0.35, Duration::from_secs(2));

    let mut i2 = Instance::start(&sc.s, &sc.cfg, "ingest-2", "ingest");
    let mut i3 = Instance::start(&sc.s, &sc.cfg, "ingest-3", "ingest");
    sc.produce_until(0.5, Duration::from_secs(2));
    i2.wait_consuming();
    i3.wait_consuming();
    sc.produce_until(0.65, Duration::from_secs(2));
    let windows_before_kill = file_window_lines(&sc.records(), true).len();

    i2.job.kill9();
    sc.produce_until(0.8, Duration::from_secs(2));
    i2.restart();
    sc.produce_until(1.0, Duration::from_secs(3));
    i2.wait_consuming();
    sc.wait_complete(&mut rollup);
    let partials = i1.metric("slipstream_partials_sent_total").unwrap_or(0.0);
    assert!(partials > 0.0, "ingest-1 sent partials");
    stop_all(&mut [&mut i1, &mut i2, &mut i3, &mut rollup]);
    eprintln!("window records before the kill: {windows_before_kill}");
    sc.assert_exact();
}

/// Three ingest instances sent SIGTERM together, a moment after one of
/// them was killed -9 and started again (the group still waits on the dead
/// member): each exits 0 within 10 s, none fails its final commit, and
/// instances started afterwards complete the stream with one exact answer.
#[test]
fn three_ingest_instances_stopped_together_after_a_kill_exit_cleanly() {
    let _serial = one_at_a_time();
    let mut sc = Scenario::new(605, 24_000);
    sc.produce_until(0.15, Duration::from_millis(300));
    let mut rollup = Instance::start(&sc.s, &sc.cfg, "rollup", "rollup");
    let mut i1 = Instance::start(&sc.s, &sc.cfg, "ingest-1", "ingest");
    let mut i2 = Instance::start(&sc.s, &sc.cfg, "ingest-2", "ingest");
    let mut i3 = Instance::start(&sc.s, &sc.cfg, "ingest-3", "ingest");
    for i in [&mut i1, &mut i2, &mut i3, &mut rollup] {
        i.wait_consuming();
    }
    sc.produce_until(0.45, Duration::from_secs(2));

    i3.job.kill9();
    i3.restart();
    sc.produce_until(0.5, Duration::from_secs(1));
    let signalled = Instant::now();
    for i in [&i1, &i2, &i3] {
        i.signal("TERM");
    }
    for i in [&mut i1, &mut i2, &mut i3] {
        let child = i.job.child.as_mut().expect("running");
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break Some(status);
            }
            if signalled.elapsed() > Duration::from_secs(20) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = signalled.elapsed();
        i.job.child = None;
        eprintln!("{} exited {took:?} after the signal", i.name);
        assert!(
            took <= Duration::from_secs(10),
            "{}: SIGTERM must end it within 10 s; it took {took:?} ({status:?})\n{}",
            i.name,
            tail(&i.log, 30)
        );
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{}:\n{}",
            i.name,
            tail(&i.log, 30)
        );
        // Stopping together may meet the group rebalancing, when the last
        // commit can fail: what it did not commit is replayed, which the
        // exact answer below checks.
    }

    // The stream goes on with new instances: nothing lost, nothing twice.
    i1.restart();
    i2.restart();
    sc.produce_until(1.0, Duration::from_secs(2));
    sc.wait_complete(&mut rollup);
    stop_all(&mut [&mut i1, &mut i2, &mut rollup]);
    sc.assert_exact();
}

/// The rollup is killed -9 twice at seeded moments while partials flow,
/// and restarted each time.
#[test]
fn a_killed_rollup_resumes_without_a_second_value_for_any_key() {
    let _serial = one_at_a_time();
    let mut sc = Scenario::new(602, 30_000);
    sc.produce_until(0.1, Duration::from_millis(200));
    let mut i1 = Instance::start(&sc.s, &sc.cfg, "ingest-1", "ingest");
    let mut i2 = Instance::start(&sc.s, &sc.cfg, "ingest-2", "ingest");
    let mut rollup = Instance::start(&sc.s, &sc.cfg, "rollup", "rollup");
    i1.wait_consuming();
    i2.wait_consuming();
    let mut rng = Rng::new(0x5CA1E);
    let mut written_at_kills = Vec::new();
    for fraction in [0.45, 0.8] {
        rollup.wait_consuming();
        let until = Instant::now() + Duration::from_millis(500 + rng.below(2500));
        sc.produce_until(fraction, until - Instant::now());
        rollup.job.assert_running();
        rollup.job.kill9();
        written_at_kills.push(file_window_lines(&sc.records(), true).len());
        rollup.restart();
    }
    sc.produce_until(1.0, Duration::from_secs(2));
    sc.wait_complete(&mut rollup);
    eprintln!("window records at the kills: {written_at_kills:?}");
    stop_all(&mut [&mut i1, &mut i2, &mut rollup]);
    sc.assert_exact();
}

/// An ingest instance stopped (SIGSTOP) past the session timeout loses its
/// partitions to the other; resumed, its stale work changes nothing.
#[test]
fn a_paused_ingest_instance_cannot_corrupt_the_output() {
    let _serial = one_at_a_time();
    let mut sc = Scenario::new(603, 30_000);
    sc.produce_until(0.2, Duration::from_millis(300));
    let mut rollup = Instance::start(&sc.s, &sc.cfg, "rollup", "rollup");
    let mut i1 = Instance::start(&sc.s, &sc.cfg, "ingest-1", "ingest");
    let mut i2 = Instance::start(&sc.s, &sc.cfg, "ingest-2", "ingest");
    i1.wait_consuming();
    i2.wait_consuming();
    sc.produce_until(0.4, Duration::from_secs(2));

    i1.signal("STOP");
    // Well past the 3 s session timeout: the group hands its partitions to
    // ingest-2, which reads on while more events arrive.
    sc.produce_until(0.7, Duration::from_secs(8));
    let consumed_by_2 = i2.metric("slipstream_events_consumed_total");
    i1.signal("CONT");
    sc.produce_until(1.0, Duration::from_secs(3));
    sc.wait_complete(&mut rollup);
    // The resumed instance rejoined and works again.
    i1.job.assert_running();
    eprintln!("ingest-2 had consumed {consumed_by_2:?} when ingest-1 resumed");
    stop_all(&mut [&mut i1, &mut i2, &mut rollup]);
    let log = fs::read_to_string(sc.s.path("ingest-1.log")).unwrap_or_default();
    assert!(
        log.contains("stalled"),
        "ingest-1 noticed it was stopped:\n{}",
        tail(&sc.s.path("ingest-1.log"), 30)
    );
    sc.assert_exact();
}

/// Two rollup instances share the partials partitions and one PostgreSQL
/// store; one is killed -9 (the other takes its partitions over and
/// continues its SLIs' budgets from the store), then comes back. Every row
/// of every table equals a single instance's records.
#[test]
fn two_rollups_share_the_work_and_survive_a_kill() {
    let _serial = one_at_a_time();
    let mut sc = Scenario::new(604, 30_000);
    let url = pg::fresh_db("pg_scale_rollups");
    let file_sink = format!(
        "[[sink]]\ntype = \"file\"\npath = '{}'\n",
        sc.records().display()
    );
    let text = fs::read_to_string(&sc.cfg).expect("config");
    assert!(
        text.contains(&file_sink),
        "the test config has its file sink"
    );
    let pg_cfg = sc.s.path("pg.toml");
    fs::write(
        &pg_cfg,
        text.replace(
            &file_sink,
            &format!("[[sink]]\ntype = \"postgres\"\nurl = \"{url}\"\n"),
        ),
    )
    .expect("write config");
    // The oracle's SLIs' rows: the grouped SLI's are compared at the end.
    let window_rows = |url: &str| {
        pg::try_rows(
            url,
            "SELECT sli FROM window_records WHERE sli <> 'per-service'",
        )
        .map(|r| r.len())
        .unwrap_or(0)
    };

    sc.produce_until(0.2, Duration::from_millis(300));
    let mut i1 = Instance::start(&sc.s, &pg_cfg, "ingest-1", "ingest");
    let mut i2 = Instance::start(&sc.s, &pg_cfg, "ingest-2", "ingest");
    let mut r1 = Instance::start(&sc.s, &pg_cfg, "rollup-1", "rollup");
    let mut r2 = Instance::start(&sc.s, &pg_cfg, "rollup-2", "rollup");
    for i in [&mut i1, &mut i2, &mut r1, &mut r2] {
        i.wait_consuming();
    }
    sc.produce_until(0.45, Duration::from_secs(2));
    wait_until("rows in PostgreSQL", Duration::from_secs(60), || {
        (window_rows(&url) > 0).then_some(())
    });
    let assigned = |i: &Instance| {
        fs::read_to_string(&i.log)
            .unwrap_or_default()
            .matches("Partition assigned")
            .count()
    };
    let before = assigned(&r2);
    r1.job.kill9();
    sc.produce_until(0.75, Duration::from_secs(3));
    // The survivor takes the dead one's partials partitions over once the
    // session times out, and writes their SLIs on.
    wait_until(
        "rollup-2 to take partitions over",
        Duration::from_secs(30),
        || (assigned(&r2) > before).then_some(()),
    );
    let rows_at_takeover = window_rows(&url);
    wait_until(
        "rollup-2 to write the windows of the SLIs it took over",
        Duration::from_secs(60),
        || (window_rows(&url) > rows_at_takeover).then_some(()),
    );
    r1.restart();
    sc.produce_until(1.0, Duration::from_secs(2));
    let want = expected_keys(&sc.exp).len();
    wait_until(
        "every window record in PostgreSQL",
        Duration::from_secs(120),
        || {
            r2.job.assert_running();
            (window_rows(&url) >= want).then_some(())
        },
    );
    // The last windows' slo records follow their window records in the
    // same transaction; give a late alert a moment, then stop.
    std::thread::sleep(Duration::from_secs(1));
    stop_all(&mut [&mut i1, &mut i2, &mut r1, &mut r2]);

    let single = sc.single_run();
    let n = [
        pg::assert_rows_match(
            &url,
            "window_records",
            &["sli", "group_key", "window_start"],
            &pg::flattened(&single, "window"),
        ),
        pg::assert_rows_match(
            &url,
            "slo_records",
            &["sli", "group_key", "at"],
            &pg::flattened(&single, "slo"),
        ),
        pg::assert_rows_match(
            &url,
            "alert_records",
            &["sli", "group_key", "severity", "at"],
            &pg::flattened(&single, "alert"),
        ),
    ];
    assert!(n.iter().all(|&c| c > 0), "rows of every kind: {n:?}");
}

/// The setup checks scaled out: an SLI whose events all sit in one
/// partition matches nothing in the other ingest instance's partitions,
/// and that is no wrong setup; an SLI that matches nothing anywhere is
/// said once, by the rollup, in its log and on its /metrics.
#[test]
fn the_rollup_says_once_which_sli_matched_nothing_in_any_partition() {
    let _serial = one_at_a_time();
    let s = Setup::new();
    let broker = Broker::start_with(s.dir.path(), &["in"], 1, SOURCE_PARTITIONS);
    let cfg = s.config(&broker.bootstrap, "scale-setup", FAST_REJOIN, "", "");
    let mut text = fs::read_to_string(&cfg).expect("config");
    text.push_str(
        r#"
[[sli]]
name = "only-in-zero"
filter = 'service == "zero"'
good = 'status < 500'

[[sli]]
name = "nowhere"
filter = 'service == "nowhere"'
good = 'status < 500'
"#,
    );
    fs::write(&cfg, text).expect("write config");
    let span_ns = 8 * WINDOW_NS;
    let mut data = events(605, 8_000, BASE_NS, span_ns, &ALL_PARTITIONS);
    // Every 10 s, a request of the "zero" service, on partition 0 only.
    data.extend((0..span_ns / (10 * NS_PER_S)).map(|i| {
        Msg {
            partition: 0,
            payload: serde_json::to_vec(&serde_json::json!({
                "timestamp": ts(BASE_NS + i * 10 * NS_PER_S),
                "service": "zero",
                "status": 200,
                "latency_ms": 3.0,
            }))
            .expect("json"),
        }
    }));
    data.sort_by_key(|m| {
        serde_json::from_slice::<Value>(&m.payload).expect("json")["timestamp"]
            .as_str()
            .map(str::to_owned)
    });
    data.extend(pushers(BASE_NS + span_ns + 30 * NS_PER_S, &ALL_PARTITIONS));
    let mut producer = TestProducer::new(&broker.bootstrap, "in");
    // The first seconds, so that both instances have partitions to read
    // before the checks' two minutes of event time have closed.
    let head = data.len() / 50;
    producer.send_all(&data[..head]);
    producer.flush();
    let mut i1 = Instance::start(&s, &cfg, "ingest-1", "ingest");
    let mut i2 = Instance::start(&s, &cfg, "ingest-2", "ingest");
    let mut rollup = Instance::start(&s, &cfg, "rollup", "rollup");
    i1.wait_consuming();
    i2.wait_consuming();
    producer.send_all(&data[head..]);
    producer.flush();
    let warning = "slipstream_setup_warnings{kind=\"no_match\",sli=\"nowhere\"} 1";
    let port = rollup.port;
    wait_until(
        "the rollup's no_match warning on /metrics",
        Duration::from_secs(90),
        || {
            rollup.job.assert_running();
            metrics(port)?.contains(warning).then_some(())
        },
    );
    for i in [&mut i1, &mut i2] {
        let port = i.port;
        let job = &mut i.job;
        wait_until("the ingest checks", Duration::from_secs(60), || {
            job.assert_running();
            metrics(port)?
                .contains("# TYPE slipstream_setup_warnings gauge")
                .then_some(())
        });
    }
    stop_all(&mut [&mut i1, &mut i2, &mut rollup]);
    let said = |name: &str| -> Vec<String> {
        fs::read_to_string(s.path(&format!("{name}.log")))
            .expect("log")
            .lines()
            .filter(|l| l.contains("Setup:") || l.contains("setup checks"))
            .map(str::to_owned)
            .collect()
    };
    for name in ["ingest-1", "ingest-2"] {
        let lines = said(name);
        // The generated events hold a few invalid ones on purpose: the
        // instance says so for its partitions.
        assert!(
            lines.iter().any(|l| l.contains("kind=\"invalid\"")),
            "{name} ran its checks: {lines:#?}"
        );
        assert!(
            lines.iter().all(|l| !l.contains("matched")),
            "{name} judges its lines, not which SLI matched: {lines:#?}"
        );
    }
    let lines = said("rollup");
    let no_match: Vec<&String> = lines.iter().filter(|l| l.contains("matched")).collect();
    assert_eq!(no_match.len(), 1, "{lines:#?}");
    assert!(
        no_match[0].contains(r#"SLI "nowhere" matched no event"#)
            && no_match[0].contains(r#"`service == "nowhere"`"#),
        "{}",
        no_match[0]
    );
}
