//! Line numbers for chunks nobody counted before sending them.
//!
//! Counting the lines of a mapped file while cutting it into chunks would
//! read every byte one more time, on the reader thread, for a number that
//! only a rejected line needs. So a mapped file's chunks go out uncounted:
//! the worker that reads a chunk counts its lines anyway and records the
//! count here, and the first line number of each chunk follows from the
//! counts of the chunks before it. A worker that rejected a line in a chunk
//! asks for that chunk's first line, and waits, if it must, for the workers
//! still reading earlier chunks.
//!
//! No wait can last for ever: a worker records its chunk's count before it
//! asks, so every chunk not yet counted is being read by a worker that is
//! not waiting, and the earliest of them is always done in time. A worker
//! that panics instead wakes the others for good ([`AbandonOnPanic`]): the
//! run fails then, and must not hang.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};

/// The chunks in the order the reader sent them, from the earliest whose
/// first line some later chunk may still need.
#[derive(Default)]
pub struct Ledger {
    state: Mutex<State>,
    counted: Condvar,
}

#[derive(Default)]
struct State {
    /// Position of `entries[0]` in the order of chunks.
    base: usize,
    entries: VecDeque<Entry>,
    /// A worker panicked: its chunk will never be counted.
    abandoned: bool,
}

#[derive(Clone, Copy)]
struct Entry {
    /// The chunk's first line number, once known.
    first: Option<u64>,
    /// How many lines it holds, once a worker counted them.
    lines: Option<u64>,
    /// A worker waits for `first`: the entry must stay.
    wanted: bool,
}

impl Entry {
    fn next_first(&self) -> Option<u64> {
        Some(self.first? + self.lines?)
    }
}

impl State {
    /// Passes first line numbers on from entry `i` to the entries after it.
    fn pass_on(&mut self, i: usize) {
        for j in i..self.entries.len() - 1 {
            match (self.entries[j].next_first(), self.entries[j + 1].first) {
                (Some(next), None) => self.entries[j + 1].first = Some(next),
                (_, Some(_)) => {}
                (None, None) => break,
            }
        }
    }

    /// Forgets the entries at the front that no one needs any more. The
    /// last stays: the next chunk pushed starts where it ends.
    fn forget(&mut self) {
        while self.entries.len() > 1
            && self.entries[0].next_first().is_some()
            && !self.entries[0].wanted
        {
            self.entries.pop_front();
            self.base += 1;
        }
    }
}

impl Ledger {
    /// Registers the next chunk the reader sends; `starts_input`: its first
    /// line is line 1 of an input. Returns its place in the ledger.
    pub fn push(&self, starts_input: bool) -> usize {
        let mut s = self.lock();
        let first = if starts_input {
            Some(1)
        } else {
            s.entries.back().and_then(Entry::next_first)
        };
        s.entries.push_back(Entry {
            first,
            lines: None,
            wanted: false,
        });
        s.base + s.entries.len() - 1
    }

    /// Records that chunk `at` holds `lines` lines. With `want_first`, also
    /// returns its first line number, waiting until the chunks before it
    /// are counted (`None` if a worker panicked meanwhile).
    pub fn count(&self, at: usize, lines: u64, want_first: bool) -> Option<u64> {
        let mut s = self.lock();
        // Its own entry is there: only a counted entry is forgotten.
        let i = at - s.base;
        s.entries[i].lines = Some(lines);
        s.entries[i].wanted = want_first;
        s.pass_on(i);
        s.forget();
        self.counted.notify_all();
        if !want_first {
            return None;
        }
        loop {
            // Still there: a wanted entry is not forgotten.
            let i = at - s.base;
            if let Some(first) = s.entries[i].first {
                s.entries[i].wanted = false;
                s.forget();
                return Some(first);
            }
            if s.abandoned {
                return None;
            }
            s = self.counted.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Held by a worker: if the worker panics, the chunk it was reading will
/// never be counted, so every wait in the ledger ends.
pub struct AbandonOnPanic<'a>(pub &'a Ledger);

impl Drop for AbandonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().abandoned = true;
            self.0.counted.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ledger;

    #[test]
    fn first_lines_follow_from_the_counts_in_any_order() {
        let ledger = Ledger::default();
        let at: Vec<usize> = [true, false, false, true, false]
            .iter()
            .map(|&starts| ledger.push(starts))
            .collect();
        assert_eq!(at, vec![0, 1, 2, 3, 4]);
        // Counted out of order; a chunk that starts an input starts at 1.
        assert_eq!(ledger.count(at[3], 7, true), Some(1));
        assert_eq!(ledger.count(at[1], 5, false), None);
        assert_eq!(ledger.count(at[0], 10, true), Some(1));
        assert_eq!(ledger.count(at[2], 1, true), Some(16));
        assert_eq!(ledger.count(at[4], 2, true), Some(8));
        // Everything before the last chunk is forgotten.
        assert_eq!(ledger.lock().entries.len(), 1);
        let next = ledger.push(false);
        assert_eq!(ledger.count(next, 3, true), Some(10));
    }

    #[test]
    fn a_panicking_worker_ends_the_waits() {
        let ledger = Ledger::default();
        let (first, second) = (ledger.push(true), ledger.push(false));
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| ledger.count(second, 4, true));
            let crashed = scope.spawn(|| {
                let _abandon = super::AbandonOnPanic(&ledger);
                panic!("a worker fails before counting chunk {first}");
            });
            assert!(crashed.join().is_err());
            assert_eq!(waiter.join().expect("waiter"), None);
        });
    }

    /// Eight chunks in flight, counted out of order within them: the
    /// entries are about the chunks in flight, not every chunk read.
    #[test]
    fn entries_leave_once_the_chunks_before_them_are_counted() {
        let ledger = Ledger::default();
        let mut in_flight = std::collections::VecDeque::new();
        let mut longest = 0;
        for i in 0..1000 {
            in_flight.push_back(ledger.push(i % 97 == 0));
            if in_flight.len() == 8 {
                // The second earliest is done before the earliest.
                let second = in_flight.remove(1).expect("second");
                ledger.count(second, 3, false);
                let first = in_flight.pop_front().expect("first");
                ledger.count(first, 3, false);
            }
            longest = longest.max(ledger.lock().entries.len());
        }
        assert!(longest <= 9, "{longest} entries at once");
    }

    /// Workers count chunks while the reader pushes more; every first line
    /// is the sum of the counts before it, and the ledger drains at the end.
    /// (How long it grows meanwhile depends on the scheduler: a worker
    /// descheduled on a busy machine holds back the entries after its chunk.)
    #[test]
    fn concurrent_workers_get_every_first_line() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        // (starts an input, lines, wants its first line)
        let chunks: Vec<(bool, u64, bool)> = (0..3000)
            .map(|i| {
                let r = crate::testing::xorshift(&mut seed);
                (i == 0 || r % 97 == 0, r % 50, r % 3 == 0)
            })
            .collect();
        let mut want = Vec::new();
        let mut next = 1;
        for &(starts, lines, _) in &chunks {
            if starts {
                next = 1;
            }
            want.push(next);
            next += lines;
        }
        let ledger = Ledger::default();
        let (tx, rx) = crossbeam_channel::bounded(8);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    let (ledger, chunks, want) = (&ledger, &chunks, &want);
                    scope.spawn(move || {
                        for (i, at) in rx {
                            let (_, lines, wanted) = chunks[i];
                            let got = ledger.count(at, lines, wanted);
                            assert_eq!(got, wanted.then_some(want[i]), "chunk {i}");
                        }
                    })
                })
                .collect();
            drop(rx);
            for (i, &(starts, _, _)) in chunks.iter().enumerate() {
                tx.send((i, ledger.push(starts))).expect("send");
            }
            drop(tx);
            for w in workers {
                w.join().expect("worker");
            }
        });
        assert_eq!(ledger.lock().entries.len(), 1);
    }
}
