//! Fetching the objects to read, ahead of the reader: one thread drives
//! the object stores' client on [`Remote`]'s runtime, asking for every
//! object's bytes in ranges of [`RANGE_BYTES`], [`IN_FLIGHT`] at a time
//! across objects, and hands them over in order through a small bounded
//! queue. The reader takes them as a plain `Read` of each object in turn
//! ([`Fetched::object`]) and decompresses and cuts them as it does a local
//! file's. Memory stays bounded by the ranges in flight and queued,
//! whatever the size or number of objects.
//!
//! A range that fails after the client's retries ends its object with that
//! error (reported by its key); the object's later ranges are not asked
//! for, and the other objects are read.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use object_store::path::Path as KeyPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::mpsc;

use super::{Remote, IN_FLIGHT, RANGE_BYTES};
use crate::sources::files::input::Input;

/// Ranges fetched and waiting for the reader.
const QUEUED: usize = 2;

/// One range of one object, or the error that ended the object.
struct Piece {
    input: u32,
    data: Result<Bytes, String>,
    /// The object's last range.
    last: bool,
}

/// The queue of fetched ranges, shared by the [`ObjectRead`] of each
/// object in turn.
struct Queue {
    rx: mpsc::Receiver<Piece>,
    /// A piece of a later object, taken while looking for one of an
    /// earlier object that ended early.
    ahead: Option<Piece>,
}

impl Queue {
    /// The next piece of input `input`; `None` once the fetcher is gone.
    /// Pieces of earlier inputs, left when their reading stopped at an
    /// error, are dropped.
    fn next_for(&mut self, input: u32) -> Option<Piece> {
        loop {
            let piece = match self.ahead.take() {
                Some(p) => p,
                None => self.rx.blocking_recv()?,
            };
            if piece.input < input {
                continue;
            }
            if piece.input > input {
                self.ahead = Some(piece);
                return None;
            }
            return Some(piece);
        }
    }
}

/// The objects' bytes as the fetch thread delivers them.
pub struct Fetched {
    queue: Arc<Mutex<Queue>>,
}

impl Fetched {
    /// The bytes of input `input`, an object, as they arrive.
    pub(crate) fn object(&self, input: u32) -> Box<dyn Read> {
        Box::new(ObjectRead {
            queue: self.queue.clone(),
            input,
            current: Bytes::new(),
            done: false,
        })
    }
}

/// One object read from the queue.
struct ObjectRead {
    queue: Arc<Mutex<Queue>>,
    input: u32,
    current: Bytes,
    done: bool,
}

impl Read for ObjectRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            let piece = match self.queue.lock() {
                Ok(mut q) => q.next_for(self.input),
                Err(_) => None,
            };
            let Some(piece) = piece else {
                self.done = true;
                return Err(io::Error::other("the object's fetch stopped"));
            };
            self.done = piece.last;
            match piece.data {
                Ok(bytes) => self.current = bytes,
                Err(message) => {
                    self.done = true;
                    return Err(io::Error::other(message));
                }
            }
        }
    }
}

impl Remote {
    /// Starts fetching the objects among `inputs` on a thread of `scope`,
    /// in input order. The thread ends once every object is fetched or
    /// the returned [`Fetched`] is dropped.
    pub fn fetch<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        inputs: &[Input],
    ) -> Fetched {
        let mut objects = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            if let Input::Object(o) = input {
                if let (Some(store), Ok(i)) = (self.stores.get(&o.root), u32::try_from(i)) {
                    objects.push((i, store.clone(), o.key.clone(), o.size));
                }
            }
        }
        let (tx, rx) = mpsc::channel(QUEUED);
        scope.spawn(move || self.runtime.block_on(fetch_all(objects, tx)));
        Fetched {
            queue: Arc::new(Mutex::new(Queue { rx, ahead: None })),
        }
    }
}

/// Fetches every range of every object, [`IN_FLIGHT`] at once, and sends
/// them in order.
async fn fetch_all(
    objects: Vec<(u32, Arc<dyn ObjectStore>, KeyPath, u64)>,
    tx: mpsc::Sender<Piece>,
) {
    // The objects a range of which failed: their later ranges are skipped.
    let failed: Rc<RefCell<HashSet<u32>>> = Rc::default();
    let ranges = objects.into_iter().flat_map(|(input, store, key, size)| {
        let count = size.div_ceil(RANGE_BYTES).max(1);
        (0..count).map(move |n| {
            let start = n * RANGE_BYTES;
            let end = (start + RANGE_BYTES).min(size);
            (
                input,
                store.clone(),
                key.clone(),
                start..end,
                n + 1 == count,
            )
        })
    });
    let mut pieces = stream::iter(ranges)
        .map(|(input, store, key, range, last)| {
            let failed = failed.clone();
            async move {
                if failed.borrow().contains(&input) {
                    return None;
                }
                let data = if range.is_empty() {
                    Ok(Bytes::new())
                } else {
                    store
                        .get_range(&key, range)
                        .await
                        .map_err(|e| e.to_string())
                };
                if data.is_err() {
                    failed.borrow_mut().insert(input);
                }
                Some(Piece { input, data, last })
            }
        })
        .buffered(IN_FLIGHT);
    while let Some(piece) = pieces.next().await {
        let Some(piece) = piece else {
            continue;
        };
        if tx.send(piece).await.is_err() {
            // The reader is gone.
            return;
        }
    }
}
