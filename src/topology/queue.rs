//! The queue of a `drop_newest` sink (`[sink.buffer] when_full =
//! "drop_newest"`): the sink runs on its own thread, taking batches of
//! records from a bounded queue head-first and retrying the head with
//! backoff while the sink fails, so its outage — or a slow answer — never
//! holds the job. When a batch would take the queue past `max_records`, the
//! newest batch is dropped and counted instead. Nothing here is per event:
//! one batch is the records of the windows closed at once.
//!
//! With `type = "disk"` the queue is also kept in a file ([`Spool`]): a
//! batch is written there before the sink is tried and removed once it is
//! acknowledged, so a restart sends what was still queued.
//!
//! `block` sinks do not come here: the job writes them itself and holds
//! consumption while one fails (see `Runner::write_out`).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use super::spool::Spool;
use crate::config::RecordKinds;
use crate::record::Record;
use crate::sinks::Sink;
use crate::telemetry::SinkStats;

const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What [`Detached::offer`] did with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// None of the records is of a kind the sink takes.
    Nothing,
    /// Queued.
    Queued,
    /// Dropped: the queue was full. `records` were dropped, `queued` wait.
    Dropped { records: usize, queued: usize },
}

/// What the sink's thread and the job share.
struct State {
    /// Batches not yet acknowledged, oldest first; the head is the one
    /// being written.
    batches: VecDeque<Arc<Vec<Record>>>,
    /// Records in `batches` not yet delivered.
    queued: usize,
    /// Records of the head batch already delivered: a retry resumes after
    /// them.
    head_done: usize,
    /// Set at shutdown: the thread ends once the queue is empty.
    stopping: bool,
    stats: SinkStats,
    /// The queue's file, for a disk buffer.
    spool: Option<Spool>,
    /// Whether the last write to the file failed (logged once until it
    /// works again).
    spool_failing: bool,
}

impl State {
    /// Reports a failed write to the queue's file, once until one works.
    fn spool_result(&mut self, name: &str, result: std::io::Result<()>) {
        match (result, self.spool_failing) {
            (Ok(()), true) => {
                self.spool_failing = false;
                info!(sink = %name, "The disk buffer is written again.");
            }
            (Err(e), false) => {
                self.spool_failing = true;
                let path = self.spool.as_ref().map(|s| s.path().display().to_string());
                error!(sink = %name, path, error = %e, "Cannot write the disk buffer; the queue is kept in memory meanwhile, so a restart may not send all of it. Check the disk and the file's permissions.");
            }
            _ => {}
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signals a new batch or the stop to the thread, and an emptied queue
    /// to the job.
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on the sink's thread poisons the lock; the counters stay
        // usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A `drop_newest` sink on its own thread, behind its queue.
pub struct Detached {
    name: String,
    kinds: RecordKinds,
    max_records: usize,
    shared: Arc<Shared>,
}

impl Detached {
    /// Starts the sink's thread; with `disk`, first reads the batches a
    /// previous run left queued there.
    pub fn start(
        sink: Box<dyn Sink>,
        kinds: RecordKinds,
        max_records: usize,
        disk: Option<&std::path::Path>,
    ) -> anyhow::Result<Detached> {
        let name = sink.name();
        let mut state = State {
            batches: VecDeque::new(),
            queued: 0,
            head_done: 0,
            stopping: false,
            stats: SinkStats::default(),
            spool: None,
            spool_failing: false,
        };
        if let Some(path) = disk {
            let loaded = Spool::open(path)?;
            for b in loaded.batches {
                state.queued += b.len();
                state.batches.push_back(Arc::new(b));
            }
            if loaded.skipped > 0 {
                warn!(sink = %name, path = %path.display(), lines = loaded.skipped, "Skipped unreadable lines of the disk buffer (a write cut short by a crash).");
            }
            if state.queued > 0 {
                info!(sink = %name, records = state.queued, "Sending the records queued before the restart.");
            }
            state.spool = Some(loaded.spool);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Condvar::new(),
        });
        let for_thread = shared.clone();
        let thread_name = format!("sink {name}");
        std::thread::Builder::new()
            .name(thread_name.chars().take(15).collect())
            .spawn(move || deliver(sink, &for_thread))
            .map_err(|e| anyhow::anyhow!("cannot start the thread of sink {thread_name}: {e}"))?;
        Ok(Detached {
            name,
            kinds,
            max_records,
            shared,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn max_records(&self) -> usize {
        self.max_records
    }

    /// Whether the queue is kept on disk, and so outlives the process.
    pub fn on_disk(&self) -> bool {
        self.shared.lock().spool.is_some()
    }

    /// Queues the records the sink takes, unless the queue would pass
    /// `max_records` (a batch is always taken by an empty queue, whatever
    /// its size, so a sink that keeps up gets every batch). Never waits for
    /// the sink.
    pub fn offer(&self, records: &[Record]) -> Offer {
        let batch: Vec<Record> = records
            .iter()
            .filter(|r| r.kind.wanted_by(&self.kinds))
            .cloned()
            .collect();
        if batch.is_empty() {
            return Offer::Nothing;
        }
        let mut st = self.shared.lock();
        if !st.batches.is_empty() && st.queued + batch.len() > self.max_records {
            st.stats.dropped += batch.len() as u64;
            return Offer::Dropped {
                records: batch.len(),
                queued: st.queued,
            };
        }
        // On disk before the sink is tried.
        if let Some(spool) = st.spool.as_mut() {
            let written = spool.append(&batch);
            st.spool_result(&self.name, written);
        }
        st.queued += batch.len();
        st.batches.push_back(Arc::new(batch));
        drop(st);
        self.shared.changed.notify_all();
        Offer::Queued
    }

    /// The sink's counters, with its queue depth.
    pub fn stats(&self) -> SinkStats {
        let st = self.shared.lock();
        let mut stats = st.stats.clone();
        stats.queued = st.queued as u64;
        stats
    }

    /// Asks the thread to end once its queue is empty.
    pub fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.changed.notify_all();
    }

    /// Waits until the queue is empty or `deadline` passes; returns the
    /// records still queued.
    pub fn drain(&self, deadline: Instant) -> usize {
        let mut st = self.shared.lock();
        while st.queued > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        st.queued
    }
}

/// The sink's thread: writes the head batch until it is acknowledged, with
/// backoff while it fails; ends at shutdown once the queue is empty.
fn deliver(mut sink: Box<dyn Sink>, shared: &Shared) {
    let name = sink.name();
    let mut backoff = BACKOFF_FIRST;
    loop {
        let (batch, from) = {
            let mut st = shared.lock();
            loop {
                if let Some(b) = st.batches.front() {
                    break (b.clone(), st.head_done);
                }
                if st.stopping {
                    return;
                }
                st = match shared.changed.wait(st) {
                    Ok(g) => g,
                    Err(e) => e.into_inner(),
                };
            }
        };
        let started = Instant::now();
        let (done, result) = sink.write_from(batch.get(from..).unwrap_or_default());
        let mut st = shared.lock();
        st.stats.writes += 1;
        st.stats.write_seconds += started.elapsed().as_secs_f64();
        st.queued = st.queued.saturating_sub(done);
        st.head_done += done;
        if result.is_ok() {
            st.batches.pop_front();
            st.head_done = 0;
        }
        if done > 0 {
            // The file keeps only what is not delivered.
            let State {
                spool,
                batches,
                head_done,
                ..
            } = &mut *st;
            if let Some(spool) = spool.as_mut() {
                let skip = *head_done;
                let left = batches.iter().enumerate().map(|(i, b)| {
                    if i == 0 {
                        b.get(skip..).unwrap_or_default()
                    } else {
                        b.as_slice()
                    }
                });
                let written = spool.rewrite(left);
                st.spool_result(&name, written);
            }
        }
        match result {
            Ok(n) => {
                st.stats.records += n as u64;
                if st.stats.failing {
                    st.stats.failing = false;
                    info!(sink = %name, queued = st.queued, "Sink recovered; sending its queue.");
                }
                backoff = BACKOFF_FIRST;
                drop(st);
                shared.changed.notify_all();
            }
            Err(e) => {
                st.stats.errors += 1;
                if !st.stats.failing {
                    st.stats.failing = true;
                    error!(sink = %name, queued = st.queued, error = %format!("{e:#}"), "Sink write failed; its records wait in its queue and are retried with backoff while the job goes on (when_full = \"drop_newest\").");
                }
                // Woken early only by the stop, which does not end the
                // retries: the job decides how long it waits for the queue.
                let until = Instant::now() + backoff;
                while Instant::now() < until {
                    let left = until.saturating_duration_since(Instant::now());
                    st = match shared.changed.wait_timeout(st, left) {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    };
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Logs a dropped batch (the caller rate-limits).
pub fn log_dropped(name: &str, records: usize, queued: usize, max_records: usize) {
    warn!(
        sink = %name,
        records,
        queued,
        max_records,
        "Sink queue full; dropping the newest records for this sink (when_full = \"drop_newest\"). Records of this sink are at most once: raise [sink.buffer] max_records or fix the sink."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordKind;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A sink that fails while `down` is set and counts what it took.
    struct Flaky {
        down: Arc<AtomicBool>,
        took: Arc<Mutex<Vec<String>>>,
        tries: Arc<AtomicUsize>,
    }

    impl Sink for Flaky {
        fn name(&self) -> String {
            "flaky".into()
        }
        fn write(&mut self, records: &[Record]) -> anyhow::Result<usize> {
            self.tries.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                anyhow::bail!("down");
            }
            let mut took = self.took.lock().unwrap();
            took.extend(records.iter().map(|r| r.key.clone()));
            Ok(records.len())
        }
    }

    fn rec(kind: RecordKind, key: &str) -> Record {
        Record {
            kind,
            key: key.into(),
            json: "{}".into(),
        }
    }

    fn batch(keys: &[&str]) -> Vec<Record> {
        keys.iter().map(|k| rec(RecordKind::Window, k)).collect()
    }

    #[test]
    fn a_failing_sink_keeps_its_queue_drops_the_newest_when_full_and_catches_up() {
        let down = Arc::new(AtomicBool::new(true));
        let took = Arc::new(Mutex::new(Vec::new()));
        let tries = Arc::new(AtomicUsize::new(0));
        let sink = Flaky {
            down: down.clone(),
            took: took.clone(),
            tries: tries.clone(),
        };
        let d = Detached::start(Box::new(sink), RecordKinds::default(), 5, None).unwrap();
        assert_eq!(d.offer(&batch(&["a", "b"])), Offer::Queued);
        assert_eq!(d.offer(&batch(&["c", "d", "e"])), Offer::Queued);
        // 5 queued: a sixth record does not fit.
        assert_eq!(
            d.offer(&batch(&["f"])),
            Offer::Dropped {
                records: 1,
                queued: 5
            }
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while tries.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let s = d.stats();
        assert!(s.failing && s.errors >= 2, "{s:?}");
        assert_eq!((s.queued, s.dropped, s.records), (5, 1, 0));

        down.store(false, Ordering::SeqCst);
        d.stop();
        assert_eq!(d.drain(Instant::now() + Duration::from_secs(10)), 0);
        // Oldest first, each once; the dropped one never.
        assert_eq!(*took.lock().unwrap(), vec!["a", "b", "c", "d", "e"]);
        let s = d.stats();
        assert!(!s.failing);
        assert_eq!((s.queued, s.dropped, s.records), (0, 1, 5));
    }

    /// Delivers the first record of its first write, then fails it; then
    /// delivers everything.
    struct HalfFirst {
        calls: usize,
        took: Arc<Mutex<Vec<String>>>,
    }

    impl Sink for HalfFirst {
        fn name(&self) -> String {
            "half".into()
        }
        fn write(&mut self, records: &[Record]) -> anyhow::Result<usize> {
            self.write_from(records).1
        }
        fn write_from(&mut self, records: &[Record]) -> (usize, anyhow::Result<usize>) {
            self.calls += 1;
            let n = if self.calls == 1 { 1 } else { records.len() };
            let mut took = self.took.lock().unwrap();
            took.extend(records[..n].iter().map(|r| r.key.clone()));
            if self.calls == 1 {
                return (1, Err(anyhow::anyhow!("cut short")));
            }
            (n, Ok(n))
        }
    }

    #[test]
    fn a_retry_resumes_after_what_a_failed_write_delivered() {
        let took = Arc::new(Mutex::new(Vec::new()));
        let sink = HalfFirst {
            calls: 0,
            took: took.clone(),
        };
        let d = Detached::start(Box::new(sink), RecordKinds::default(), 10, None).unwrap();
        assert_eq!(d.offer(&batch(&["a", "b", "c"])), Offer::Queued);
        d.stop();
        assert_eq!(d.drain(Instant::now() + Duration::from_secs(10)), 0);
        assert_eq!(*took.lock().unwrap(), vec!["a", "b", "c"], "each once");
        let s = d.stats();
        assert_eq!((s.errors, s.queued), (1, 0));
    }

    #[test]
    fn only_the_kinds_the_sink_takes_are_queued_and_an_empty_queue_takes_any_batch() {
        let down = Arc::new(AtomicBool::new(true));
        let sink = Flaky {
            down,
            took: Arc::new(Mutex::new(Vec::new())),
            tries: Arc::new(AtomicUsize::new(0)),
        };
        let alerts = RecordKinds {
            window: false,
            slo: false,
            alert: true,
        };
        let d = Detached::start(Box::new(sink), alerts, 2, None).unwrap();
        assert_eq!(d.offer(&batch(&["w1", "w2", "w3"])), Offer::Nothing);
        let big: Vec<Record> = ["x", "y", "z"]
            .iter()
            .map(|k| rec(RecordKind::Alert, k))
            .collect();
        assert_eq!(d.offer(&big), Offer::Queued, "an empty queue takes it");
        assert_eq!(d.stats().queued, 3);
        assert_eq!(
            d.offer(&[rec(RecordKind::Alert, "n"), rec(RecordKind::Window, "w")]),
            Offer::Dropped {
                records: 1,
                queued: 3
            }
        );
        d.stop();
        // Still failing: the drain gives up at its deadline.
        assert_eq!(d.drain(Instant::now() + Duration::from_millis(50)), 3);
    }
}
