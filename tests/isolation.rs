//! Sinks isolated from each other (`[sink.buffer]`), end to end: a webhook
//! that answers 500 while the stream flows, window by window, from the
//! embedded broker. As `drop_newest` (a webhook's default) it never holds
//! the file sink, which gets every window record exactly once, and its full
//! queue drops the newest records, counted on /metrics; as `block` it holds
//! consumption, `/readyz` names it with its queue depth, and once it
//! answers only it gets the batch again. Counts come from the independent
//! oracle of tests/common, never from the job's output.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::kafka::*;
use common::*;
use serde_json::Value;

/// Windows of the scenario, each produced on its own.
const WINDOWS: usize = 8;
/// Events per window.
const PER_WINDOW: usize = 800;

/// A webhook server: answers 500 until `up` is set, then 200, and keeps the
/// records it acknowledged.
struct Hook {
    port: u16,
    up: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    taken: Arc<Mutex<Vec<Value>>>,
}

impl Hook {
    fn start() -> Hook {
        Hook::start_on(0)
    }

    /// On a given port (0: any free one).
    fn start_on(port: u16) -> Hook {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let taken = Arc::new(Mutex::new(Vec::new()));
        let (u, r, t) = (up.clone(), requests.clone(), taken.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(body) = read_request(&mut s) else {
                    continue;
                };
                r.fetch_add(1, Ordering::SeqCst);
                let ok = u.load(Ordering::SeqCst);
                if ok {
                    let v: Value = serde_json::from_slice(&body).expect("a JSON record");
                    t.lock().expect("lock").push(v);
                }
                let status = if ok {
                    "200 OK"
                } else {
                    "500 Internal Server Error"
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Hook {
            port,
            up,
            requests,
            taken,
        }
    }

    /// The sink's name in logs, metrics and `/readyz`.
    fn name(&self) -> String {
        format!("webhook:127.0.0.1:{}", self.port)
    }

    /// Window keys of the records acknowledged so far, in arrival order.
    fn window_keys(&self) -> Vec<String> {
        self.taken
            .lock()
            .expect("lock")
            .iter()
            .filter(|v| v["kind"] == "window")
            .map(|v| {
                format!(
                    "{}|{}",
                    v["sli"].as_str().expect("sli"),
                    v["window_start"].as_str().expect("window_start")
                )
            })
            .collect()
    }
}

/// The body of one HTTP request (head up to the blank line, then
/// `Content-Length` bytes).
fn read_request(s: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? != 1 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

/// The scenario's events, split by window, and the oracle's window records.
struct Stream {
    chunks: Vec<Vec<Msg>>,
    exp: Vec<Expect>,
}

impl Stream {
    fn new(seed: u64) -> Stream {
        let data = events(
            seed,
            WINDOWS * PER_WINDOW,
            BASE_NS,
            WINDOWS as i64 * WINDOW_NS,
            &[0, 1, 2, 3],
        );
        let exp = expected(&oracle_events(&data), None, None);
        assert_exercises_every_sli(&exp);
        let chunks = data.chunks(PER_WINDOW).map(|c| c.to_vec()).collect();
        Stream { chunks, exp }
    }

    /// Keys of the oracle's window records of window `w`.
    fn keys_of(&self, w: usize) -> BTreeSet<String> {
        let start = BASE_NS + w as i64 * WINDOW_NS;
        let slis = slis();
        self.exp
            .iter()
            .filter(|e| e.start_ns == start)
            .map(|e| key_of(slis[e.sli].name, e.start_ns))
            .collect()
    }

    /// Keys of windows `0..w`.
    fn keys_before(&self, w: usize) -> BTreeSet<String> {
        (0..w).flat_map(|i| self.keys_of(i)).collect()
    }

    /// Events far ahead on every partition: every window closes.
    fn pushers() -> Vec<Msg> {
        pushers(BASE_NS + (WINDOWS as i64 + 2) * WINDOW_NS, &[0, 1, 2, 3])
    }
}

/// Every line of the records file once: no record written twice.
fn assert_no_duplicate_lines(s: &Setup) {
    let text = fs::read_to_string(s.records()).expect("records");
    let mut seen = BTreeSet::new();
    for l in text.lines() {
        assert!(seen.insert(l), "written twice: {l}");
    }
}

/// Produces the stream one window at a time: window w's events close
/// window w - 1, which the file sink must have before more is produced;
/// then the pushers close the last one.
fn flow_window_by_window(s: &Setup, broker: &Broker, st: &Stream, job: &mut Job) {
    let mut producer = TestProducer::new(&broker.bootstrap, "in");
    for (w, chunk) in st.chunks.iter().enumerate() {
        producer.send_all(chunk);
        producer.flush();
        if w > 0 {
            wait_for_keys(
                &s.records(),
                &st.keys_before(w),
                job,
                Duration::from_secs(60),
            );
        }
    }
    producer.send_all(&Stream::pushers());
    producer.flush();
    wait_for_keys(
        &s.records(),
        &expected_keys(&st.exp),
        job,
        Duration::from_secs(60),
    );
}

fn config_with_hook(
    s: &Setup,
    bootstrap: &str,
    group: &str,
    hook_port: u16,
    extra: &str,
) -> std::path::PathBuf {
    s.config(
        bootstrap,
        group,
        FAST_REJOIN,
        &format!(
            "[[sink]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{}/hook\"\nrecords = [\"window\"]\n{extra}",
            hook_port
        ),
        "",
    )
}

/// A webhook answering 500 (a `drop_newest` sink by default, with room
/// for 8 records: two windows of the four SLIs) while the windows flow one
/// by one: the file sink gets each window as it closes, every record once
/// with the oracle's numbers; the webhook's queue keeps the oldest two
/// windows, the newer ones are dropped and counted; the job stays ready.
/// Once the webhook answers, it gets the queued windows, each once.
#[test]
fn a_webhook_down_never_holds_the_file_records_and_drops_its_newest_when_full() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let hook = Hook::start();
    let cfg = config_with_hook(
        &s,
        &broker.bootstrap,
        "drop-newest",
        hook.port,
        "[sink.buffer]\nmax_records = 8\n",
    );
    let st = Stream::new(1701);
    for w in 0..WINDOWS {
        assert_eq!(st.keys_of(w).len(), 4, "window {w} has a record per SLI");
    }
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    // The file sink gets each window while the webhook keeps failing.
    flow_window_by_window(&s, &broker, &st, &mut job);
    assert!(
        hook.requests.load(Ordering::SeqCst) >= 1,
        "the webhook was tried"
    );
    assert!(
        hook.window_keys().is_empty(),
        "the webhook acknowledged nothing"
    );

    // Every window record is either queued or dropped: the queue holds the
    // first two windows (an empty queue takes a batch, a second fits in 8
    // records), each later window was dropped whole.
    let series = |m: &str| format!("{m}{{sink=\"{}\"}}", hook.name());
    let total = st.exp.len() as f64;
    let m = wait_until(
        "every record queued or dropped",
        Duration::from_secs(30),
        || {
            let m = s.metrics()?;
            let queued = metric_labeled(&m, &series("slipstream_sink_queued_records"))?;
            let dropped = metric_labeled(&m, &series("slipstream_sink_dropped_records_total"))?;
            (queued + dropped == total).then_some(m)
        },
    );
    assert_eq!(
        metric_labeled(&m, &series("slipstream_sink_queued_records")),
        Some(8.0),
        "{m}"
    );
    assert_eq!(
        metric_labeled(&m, &series("slipstream_sink_dropped_records_total")),
        Some(total - 8.0)
    );
    assert_eq!(
        metric_labeled(&m, &series("slipstream_sink_failing")),
        Some(1.0)
    );
    assert!(metric_labeled(&m, &series("slipstream_sink_errors_total")) >= Some(1.0));
    let file = format!("file:{}", s.records().display());
    assert_eq!(
        metric_labeled(
            &m,
            &format!("slipstream_sink_dropped_records_total{{sink=\"{file}\"}}")
        ),
        Some(0.0)
    );
    assert_eq!(
        http_get(s.port, "/readyz"),
        Some((200, "ready\n".to_string())),
        "a failing drop_newest sink leaves the job ready"
    );
    let log = fs::read_to_string(s.log()).expect("log");
    assert!(
        log.contains("Sink queue full; dropping the newest records"),
        "{}",
        tail(&s.log(), 30)
    );

    // The webhook comes back: the two queued windows, oldest first, once.
    hook.up.store(true, Ordering::SeqCst);
    let first_two: Vec<String> = st.keys_before(2).into_iter().collect();
    let got = wait_until("the queue sent", Duration::from_secs(30), || {
        let got = hook.window_keys();
        (got.len() >= first_two.len()).then_some(got)
    });
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, first_two, "the oldest two windows, each once");
    wait_until("the sink to recover", Duration::from_secs(30), || {
        let m = s.metrics()?;
        (metric_labeled(&m, &series("slipstream_sink_failing"))? == 0.0
            && metric_labeled(&m, &series("slipstream_sink_queued_records"))? == 0.0)
            .then_some(())
    });
    assert_clean_exit(&mut job, "after the webhook outage");
    assert_eq!(hook.window_keys().len(), first_two.len(), "nothing more");

    assert_window_records(
        &file_window_lines(&s.records(), false),
        &st.exp,
        "file sink",
    );
    assert_eq!(
        file_window_lines(&s.records(), false).len(),
        st.exp.len(),
        "each window record once in the file"
    );
    assert_no_duplicate_lines(&s);
}

/// The same webhook as a `block` sink: the window it fails on holds
/// consumption (the next window is not written anywhere), `/readyz` names
/// it with the records it holds, and once it answers only it is written
/// again: the file sink, which took the batch first, has every record once,
/// and so has the webhook.
#[test]
fn a_block_webhook_holds_the_stream_names_itself_on_readyz_and_alone_gets_the_retry() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let hook = Hook::start();
    let cfg = config_with_hook(
        &s,
        &broker.bootstrap,
        "block",
        hook.port,
        "[sink.buffer]\nwhen_full = \"block\"\n",
    );
    let st = Stream::new(1702);
    let mut producer = TestProducer::new(&broker.bootstrap, "in");
    for chunk in &st.chunks[..2] {
        producer.send_all(chunk);
    }
    producer.flush();
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    // Window 0 is in the file (the first sink); the webhook fails on it.
    // (Window 1 cannot close yet: the events that close it come later.)
    let first = st.keys_of(0);
    wait_for_keys(&s.records(), &first, &mut job, Duration::from_secs(60));
    let want = format!(
        "not ready: sink {} is failing ({} records queued): ",
        hook.name(),
        first.len()
    );
    let (code, body) = wait_until("/readyz to name the sink", Duration::from_secs(30), || {
        let (code, body) = http_get(s.port, "/readyz")?;
        body.starts_with(&want).then_some((code, body))
    });
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("500"), "the reason: {body}");
    // Retried with backoff (100, 200, 400, 800 ms...), while window 1,
    // whose closing events now follow, stays unwritten.
    producer.send_all(&st.chunks[2]);
    producer.flush();
    wait_until("retries", Duration::from_secs(30), || {
        (hook.requests.load(Ordering::SeqCst) >= 5).then_some(())
    });
    let have: BTreeSet<String> = file_window_lines(&s.records(), true)
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(have, first, "nothing past the failing batch");
    let m = s.metrics().expect("metrics");
    let series = |m: &str| format!("{m}{{sink=\"{}\"}}", hook.name());
    assert_eq!(
        metric_labeled(&m, &series("slipstream_sink_queued_records")),
        Some(first.len() as f64)
    );
    assert_eq!(
        metric_labeled(&m, &series("slipstream_sink_failing")),
        Some(1.0)
    );

    hook.up.store(true, Ordering::SeqCst);
    for chunk in &st.chunks[3..] {
        producer.send_all(chunk);
    }
    producer.send_all(&Stream::pushers());
    producer.flush();
    let all = expected_keys(&st.exp);
    wait_for_keys(&s.records(), &all, &mut job, Duration::from_secs(60));
    wait_until(
        "the webhook to have every window",
        Duration::from_secs(30),
        || (hook.window_keys().len() >= all.len()).then_some(()),
    );
    wait_until("ready again", Duration::from_secs(30), || {
        (http_get(s.port, "/readyz")? == (200, "ready\n".to_string())).then_some(())
    });
    assert_clean_exit(&mut job, "after the webhook outage");

    let got = hook.window_keys();
    assert_eq!(
        got.len(),
        all.len(),
        "each window record once at the webhook"
    );
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), all);
    assert_window_records(
        &file_window_lines(&s.records(), false),
        &st.exp,
        "file sink",
    );
    assert_eq!(file_window_lines(&s.records(), false).len(), all.len());
    assert_no_duplicate_lines(&s);
}

/// A `drop_newest` webhook with a disk buffer, down (its port refuses
/// connections) while the windows flow and the job is stopped: its queue
/// (the oldest two windows; the newer ones were dropped) is kept in its
/// file, and a restart with the webhook answering sends exactly those,
/// once, and empties the file. The file sink has every record once.
#[test]
fn a_disk_buffer_keeps_a_webhook_queue_across_a_restart() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    // Nothing listens there until the restart: connections are refused.
    let hook_port = free_port();
    let hook_name = format!("webhook:127.0.0.1:{hook_port}");
    let queue = s.path("queues/hook.queue");
    let cfg = config_with_hook(
        &s,
        &broker.bootstrap,
        "disk-buffer",
        hook_port,
        &format!(
            "[sink.buffer]\nmax_records = 8\ntype = \"disk\"\npath = '{}'\n",
            queue.display()
        ),
    );
    let st = Stream::new(1703);
    for w in 0..WINDOWS {
        assert_eq!(st.keys_of(w).len(), 4, "window {w} has a record per SLI");
    }
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    flow_window_by_window(&s, &broker, &st, &mut job);
    let series = |m: &str| format!("{m}{{sink=\"{hook_name}\"}}");
    let total = st.exp.len() as f64;
    wait_until(
        "every record queued or dropped",
        Duration::from_secs(30),
        || {
            let m = s.metrics()?;
            let queued = metric_labeled(&m, &series("slipstream_sink_queued_records"))?;
            let dropped = metric_labeled(&m, &series("slipstream_sink_dropped_records_total"))?;
            (queued == 8.0 && queued + dropped == total).then_some(())
        },
    );
    assert_clean_exit(&mut job, "with the webhook down");
    let log = fs::read_to_string(s.log()).expect("log");
    for said in [
        "Sink write failed; its records wait in its queue",
        "Stopping with records queued on disk",
    ] {
        assert!(log.contains(said), "no `{said}`:\n{}", tail(&s.log(), 20));
    }

    let hook = Hook::start_on(hook_port);
    hook.up.store(true, Ordering::SeqCst);
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    let first_two: Vec<String> = st.keys_before(2).into_iter().collect();
    wait_until(
        "the queue sent after the restart",
        Duration::from_secs(60),
        || {
            job.assert_running();
            (hook.window_keys().len() >= first_two.len()).then_some(())
        },
    );
    wait_until("the queue file emptied", Duration::from_secs(30), || {
        (fs::metadata(&queue).ok()?.len() == 0).then_some(())
    });
    assert_clean_exit(&mut job, "after the restart");
    let mut got = hook.window_keys();
    got.sort();
    assert_eq!(got, first_two, "the queued windows, each once");
    assert_window_records(
        &file_window_lines(&s.records(), false),
        &st.exp,
        "file sink",
    );
    assert_eq!(file_window_lines(&s.records(), false).len(), st.exp.len());
    assert_no_duplicate_lines(&s);
}
