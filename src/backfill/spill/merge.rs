//! The k-way merge of spill runs and the windows still in memory: every
//! window once, oldest first, with the counts of all its parts added up.
//!
//! A run is opened only when the merge reaches its oldest window, so runs
//! that do not overlap in time (an input in rough time order) are read one
//! after the other, never all open at once.

use std::cmp::Reverse;
use std::collections::{btree_map, BinaryHeap};

use anyhow::Result;

use super::run::{Run, RunReader};
use crate::window::Window;

enum Source {
    Memory(btree_map::IntoIter<i64, Window>),
    /// A run not opened yet.
    Pending(Run),
    Open(RunReader),
    Done,
}

/// Windows in time order, each merged from every source that holds it.
pub struct Merge {
    sources: Vec<Source>,
    /// The next window of each source, by source.
    heads: Vec<Option<Window>>,
    /// (start of the next window, source) of the sources not done.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    sli_count: usize,
}

impl Merge {
    pub fn new(
        memory: std::collections::BTreeMap<i64, Window>,
        runs: Vec<Run>,
        sli_count: usize,
    ) -> Merge {
        let mut merge = Merge {
            sources: Vec::with_capacity(runs.len() + 1),
            heads: Vec::new(),
            heap: BinaryHeap::new(),
            sli_count,
        };
        for run in runs {
            merge
                .heap
                .push(Reverse((run.first_ns, merge.sources.len())));
            merge.sources.push(Source::Pending(run));
            merge.heads.push(None);
        }
        let mut memory = memory.into_iter();
        if let Some((start, w)) = memory.next() {
            merge.heap.push(Reverse((start, merge.sources.len())));
            merge.sources.push(Source::Memory(memory));
            merge.heads.push(Some(w));
        }
        merge
    }

    /// The start of the next window, if any.
    pub fn peek_start(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse((start, _))| *start)
    }

    /// The next window, all its parts merged.
    pub fn next_window(&mut self) -> Result<Option<Window>> {
        let Some(start) = self.peek_start() else {
            return Ok(None);
        };
        let mut merged: Option<Window> = None;
        while let Some(Reverse((s, i))) = self.heap.peek().copied() {
            if s != start {
                break;
            }
            self.heap.pop();
            if let Source::Pending(run) = &self.sources[i] {
                let reader = RunReader::open(run, self.sli_count)?;
                self.sources[i] = Source::Open(reader);
                self.advance(i)?;
                continue;
            }
            let Some(w) = self.heads[i].take() else {
                continue;
            };
            match &mut merged {
                None => merged = Some(w),
                Some(m) => {
                    for (a, b) in m.slis.iter_mut().zip(w.slis.iter()) {
                        a.merge(b);
                    }
                }
            }
            self.advance(i)?;
        }
        Ok(merged)
    }

    /// Reads the next window of source `i` and queues it.
    fn advance(&mut self, i: usize) -> Result<()> {
        let next = match &mut self.sources[i] {
            Source::Memory(it) => it.next().map(|(_, w)| w),
            Source::Open(reader) => reader.next_window()?,
            Source::Pending(_) | Source::Done => None,
        };
        match next {
            Some(w) => {
                self.heap.push(Reverse((w.start_ns, i)));
                self.heads[i] = Some(w);
            }
            // Closes the run's file.
            None => self.sources[i] = Source::Done,
        }
        Ok(())
    }
}
