//! `slipstream run`'s HTTP endpoints under slow clients: while 64 clients
//! hold connections open (half of them trickle a request line a byte every
//! 1.5 s, half send nothing), `/healthz`, `/readyz` and `/metrics` still
//! answer within 2 s, again and again; and SIGTERM still ends the job
//! promptly with those connections open.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::kafka::*;

const SLOW_CLIENTS: usize = 64;
/// A slow client's pace: one byte (or nothing) per this long.
const TRICKLE: Duration = Duration::from_millis(1500);
/// How long a probe may take, as a Kubernetes probe with `timeoutSeconds: 2`.
const PROBE_DEADLINE: Duration = Duration::from_secs(2);
/// How long the probes go on while the slow clients are connected.
const PROBING: Duration = Duration::from_secs(5);

/// Clients that keep connections open and never finish a request; each one
/// connects again when the server drops it. They stop when this is dropped.
struct SlowClients {
    stop: Arc<AtomicBool>,
    connected: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<()>>,
}

impl SlowClients {
    fn start(addr: SocketAddr, n: usize) -> SlowClients {
        let stop = Arc::new(AtomicBool::new(false));
        let connected = Arc::new(AtomicUsize::new(0));
        let threads = (0..n)
            .map(|i| {
                let (stop, connected) = (stop.clone(), connected.clone());
                // Even clients trickle a request line; odd ones stay silent.
                let trickle = i % 2 == 0;
                std::thread::spawn(move || slow_client(addr, trickle, &stop, &connected))
            })
            .collect();
        SlowClients {
            stop,
            connected,
            threads,
        }
    }

    /// Connections opened so far (reconnections included).
    fn connections(&self) -> usize {
        self.connected.load(Ordering::SeqCst)
    }
}

impl Drop for SlowClients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn slow_client(addr: SocketAddr, trickle: bool, stop: &AtomicBool, connected: &AtomicUsize) {
    const LINE: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
            return;
        };
        connected.fetch_add(1, Ordering::SeqCst);
        // The read timeout paces the client: one byte per TRICKLE, until the
        // server closes the connection or the test stops.
        if s.set_read_timeout(Some(TRICKLE)).is_err() {
            return;
        }
        let mut sent = 0;
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::SeqCst) {
            if trickle && s.write_all(&LINE[sent % LINE.len()..][..1]).is_err() {
                break;
            }
            sent += 1;
            match s.read(&mut buf) {
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // Closed, reset, or answered (and about to close): connect again.
                _ => break,
            }
        }
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// GET `path` with every step bounded by what is left of `deadline`: the
/// status and body, or why there is none.
fn get_within(addr: SocketAddr, path: &str, deadline: Duration) -> Result<(u16, String), String> {
    let started = Instant::now();
    let left = || {
        deadline
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {deadline:?}"))
    };
    let mut s = TcpStream::connect_timeout(&addr, left()?).map_err(|e| format!("connect: {e}"))?;
    s.set_write_timeout(Some(left()?))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut resp = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        s.set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => resp.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!("no answer within {deadline:?}"))
            }
            Err(e) => return Err(format!("read after {:?}: {e}", started.elapsed())),
        }
    }
    left()?;
    let text = String::from_utf8_lossy(&resp);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of head: {text:?}"))?
        .1
        .to_string();
    Ok((status, body))
}

#[test]
fn probes_answer_while_slow_clients_hold_connections() {
    let s = Setup::new();
    let broker = Broker::start(s.dir.path(), &["in"]);
    let cfg = s.config(&broker.bootstrap, "http-group", FAST_REJOIN, "", "");
    let mut job = Job::start(&cfg, &s.log(), &[], &[]);
    let addr = SocketAddr::from(([127, 0, 0, 1], s.port));
    // Ready (partitions assigned) and publishing metrics before the clients
    // arrive, so that every probe has one right answer.
    wait_until("/readyz to say ready", Duration::from_secs(60), || {
        job.assert_running();
        (http_get(s.port, "/readyz")? == (200, "ready\n".to_string())).then_some(())
    });
    wait_until("/metrics", Duration::from_secs(30), || {
        metric_sum(&s.metrics()?, "slipstream_windows_open")
    });

    let clients = SlowClients::start(addr, SLOW_CLIENTS);
    wait_until(
        "the slow clients to connect",
        Duration::from_secs(10),
        || (clients.connections() >= SLOW_CLIENTS).then_some(()),
    );
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < PROBING {
        for path in ["/healthz", "/readyz", "/metrics"] {
            let (status, body) = get_within(addr, path, PROBE_DEADLINE).unwrap_or_else(|e| {
                panic!(
                    "{path} in round {rounds}, {:?} into the probing with {SLOW_CLIENTS} slow clients: {e}",
                    started.elapsed()
                )
            });
            assert_eq!(status, 200, "{path}: {body}");
            match path {
                "/healthz" => assert_eq!(body, "ok\n"),
                "/readyz" => assert_eq!(body, "ready\n"),
                _ => assert!(
                    metric_sum(&body, "slipstream_windows_open").is_some(),
                    "/metrics: {body}"
                ),
            }
        }
        rounds += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(rounds >= 5, "only {rounds} rounds of probes in {PROBING:?}");

    // SIGTERM with the slow connections still open.
    assert!(clients.connections() >= SLOW_CLIENTS);
    assert_clean_exit(&mut job, "SIGTERM with slow HTTP clients connected");
    drop(clients);
}
