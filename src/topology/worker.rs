//! The worker thread of the stream job: decoding, classification and
//! counting, off the thread that polls Kafka.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::error;

use super::Shared;
use crate::dead_letter::Origin;
use crate::reject::Reject;
use crate::sources::kafka::{Entry, MessageBatch};
use crate::stream::{Outcome, PartitionKey};

/// Messages copied out of the consumer, handed to the worker thread.
struct Batch {
    epoch: u64,
    messages: MessageBatch,
}

/// The worker thread: the poll thread copies messages into batches; the
/// worker decodes, classifies and counts them with the job locked, and
/// queues their dead letters under the same lock, so a commit (which takes
/// the lock) never sees a position past a dead letter not yet queued. The
/// poll thread waits for the worker ([`Worker::wait`]) before it closes
/// windows, commits or rewinds.
pub(super) struct Worker {
    tx: Option<crossbeam_channel::Sender<Batch>>,
    handle: Option<std::thread::JoinHandle<()>>,
    current: Batch,
    sent: u64,
    done: Arc<AtomicU64>,
    /// Batches from an older epoch are dropped (messages read before a rewind).
    epoch: Arc<AtomicU64>,
}

impl Worker {
    pub(super) fn start(shared: Arc<Shared>) -> Worker {
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(4);
        let done = Arc::new(AtomicU64::new(0));
        let epoch = Arc::new(AtomicU64::new(0));
        let handle = {
            let (done, epoch) = (done.clone(), epoch.clone());
            std::thread::Builder::new()
                .name("slipstream-worker".into())
                .spawn(move || {
                    for batch in rx {
                        if batch.epoch == epoch.load(Ordering::Acquire) {
                            handle_batch(&shared, &batch);
                        }
                        done.fetch_add(1, Ordering::Release);
                    }
                })
                .ok()
        };
        Worker {
            tx: Some(tx),
            handle,
            current: Batch {
                epoch: 0,
                messages: MessageBatch::default(),
            },
            sent: 0,
            done,
            epoch,
        }
    }

    pub(super) fn push(&mut self, key: PartitionKey, offset: i64, payload: &[u8]) {
        if self.current.messages.push(key, offset, payload) {
            self.flush();
        }
    }

    /// Marks, in order with the messages, that a partition reached its end.
    pub(super) fn push_end(&mut self, key: PartitionKey) {
        self.current.messages.push_end(key);
    }

    /// Hands the current batch to the worker.
    pub(super) fn flush(&mut self) {
        if self.current.messages.is_empty() {
            return;
        }
        let batch = std::mem::replace(
            &mut self.current,
            Batch {
                epoch: self.epoch.load(Ordering::Acquire),
                messages: MessageBatch::default(),
            },
        );
        if let Some(tx) = &self.tx {
            if tx.send(batch).is_ok() {
                self.sent += 1;
            }
        }
    }

    /// Hands over the current batch and waits until every batch is handled.
    pub(super) fn wait(&mut self) {
        self.flush();
        while self.done.load(Ordering::Acquire) < self.sent {
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Drops what was read but not handled yet (before a rewind).
    pub(super) fn discard_and_wait(&mut self) {
        let next = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        self.current.messages.clear();
        self.current.epoch = next;
        self.wait();
    }

    pub(super) fn stop(mut self) {
        self.wait();
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Handles one batch: the job and the dead letters are locked once for all
/// of it.
fn handle_batch(shared: &Shared, batch: &Batch) {
    let now = Instant::now();
    let began = unix_seconds();
    let mut local = super::Counters::default();
    let mut rewind = false;
    {
        let mut job = shared.job();
        let mut dead_letters = shared.dead_letters();
        // Messages come in runs from one partition: counted per run.
        let mut run: Option<(PartitionKey, u64)> = None;
        for entry in batch.messages.entries() {
            let (key, offset, payload) = match entry {
                Entry::Message {
                    key,
                    offset,
                    payload,
                } => (key, offset, payload),
                Entry::End(key) => {
                    job.reached_end(key, now);
                    continue;
                }
            };
            match &mut run {
                Some((k, n)) if *k == key => *n += 1,
                _ => {
                    if let Some((k, n)) = run.replace((key, 1)) {
                        *local.consumed.entry(k).or_insert(0) += n;
                    }
                }
            }
            let reason = match job.process(key, offset, payload, now) {
                Outcome::Counted => continue,
                Outcome::Replayed => {
                    local.replayed += 1;
                    continue;
                }
                Outcome::TooLate => Reject::TooLate,
                Outcome::Rejected(r) => r,
            };
            local.rejected[reason.index()] += 1;
            // A blank message is counted, and is nothing to resend.
            if reason.is_skipped() {
                continue;
            }
            local.dead_letters += 1;
            let topic = &shared.topics[key.0];
            let origin = Origin::Message {
                topic,
                partition: key.1,
                offset,
            };
            if let Err(e) = dead_letters.send(reason.name(), origin, payload, false) {
                // Re-read from the last commit, which is before this
                // message, so its dead letter is sent again rather than lost.
                local.dead_letter_errors += 1;
                error!(error = %format!("{e:#}"), reason = reason.name(), "Cannot queue a dead letter; re-reading from the last commit.");
                rewind = true;
            }
        }
        if let Some((k, n)) = run {
            *local.consumed.entry(k).or_insert(0) += n;
        }
    }
    if rewind {
        shared.rewind.store(true, Ordering::Release);
    }
    if let Ok(mut c) = shared.counters.lock() {
        for (k, n) in local.consumed {
            *c.consumed.entry(k).or_insert(0) += n;
        }
        for (i, n) in local.rejected.iter().enumerate() {
            c.rejected[i] += n;
        }
        c.replayed += local.replayed;
        c.dead_letters += local.dead_letters;
        c.dead_letter_errors += local.dead_letter_errors;
        c.first_message_at.get_or_insert(began);
        c.last_message_at = Some(unix_seconds());
    }
}

fn unix_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
