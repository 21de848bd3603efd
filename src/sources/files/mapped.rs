//! Plain files read through a read-only memory map ([`Mapping`]), cut into
//! chunks that are ranges of the map: the workers decode the page cache in
//! place, with no copy into a buffer on the way.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::compression::Compression;
use super::input::{Chunk, FirstLine, Lines, BOM, CHUNK_BYTES};
use super::ledger::Ledger;
use super::mapping::Mapping;

/// A memory map of `file` when it is a plain (uncompressed) regular file.
pub(crate) fn map_plain(file: &File) -> Option<Arc<Mapping>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let map = Mapping::new(file, meta.len())?;
    Compression::of(map.bytes())
        .is_none()
        .then(|| Arc::new(map))
}

/// Sends a mapped file as chunks of whole lines, without counting them:
/// each chunk has its place in `ledger`. A line longer than a chunk and
/// over `max_line` is not sent; a chunk of its first bytes stands for it.
/// Like a read input, a mapped one never holds more than a chunk or a
/// line's limit in memory.
pub(crate) fn send_mapped(
    index: u32,
    map: Arc<Mapping>,
    max_line: usize,
    bytes_read: &AtomicU64,
    ledger: &Ledger,
    tx: &Sender<Chunk>,
) {
    let bytes = map.bytes();
    let mut start = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    map.release(0..start);
    bytes_read.fetch_add(start as u64, Ordering::Relaxed);
    let mut first_chunk = true;
    let mut preamble = super::input::preamble(&bytes[start..]);
    while start < bytes.len() {
        let guess = (start + CHUNK_BYTES).min(bytes.len());
        let (end, lines) = match memchr::memrchr(b'\n', &bytes[start..guess]) {
            _ if guess == bytes.len() => (guess, None),
            Some(i) => (start + i + 1, None),
            // One line longer than a chunk: the chunk is that line, unless
            // it is over the limit.
            None => {
                let end = line_end(&map, guess);
                let line = bytes[start..end]
                    .strip_suffix(b"\n")
                    .unwrap_or(&bytes[start..end]);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() > max_line {
                    let head = bytes[start..start + max_line].to_vec();
                    map.release(start..end);
                    (end, Some(Lines::Oversized { head }))
                } else {
                    (end, None)
                }
            }
        };
        bytes_read.fetch_add((end - start) as u64, Ordering::Relaxed);
        let whole = lines.is_none();
        if whole {
            map.populate(start..end);
        }
        let at = ledger.push(first_chunk);
        first_chunk = false;
        let lines = lines.unwrap_or_else(|| Lines::Mapped {
            map: map.clone(),
            range: start..end,
        });
        // A closed channel means the workers are gone; the caller notices.
        let _ = tx.send(Chunk {
            input: index,
            first_line: FirstLine::Ledger(at),
            lines,
            preamble: preamble.clone(),
        });
        // The pages of a line over the limit were released: not read again.
        if whole {
            super::input::advance(&mut preamble, &bytes[start..end]);
        }
        start = end;
    }
}

/// The end (past its newline, or the end of the file) of the line that
/// goes on at `from`, searched a chunk at a time, dropping the pages read.
fn line_end(map: &Mapping, from: usize) -> usize {
    let bytes = map.bytes();
    let mut at = from;
    while at < bytes.len() {
        let to = (at + CHUNK_BYTES).min(bytes.len());
        if let Some(i) = memchr::memchr(b'\n', &bytes[at..to]) {
            return at + i + 1;
        }
        map.drop_pages(at..to);
        at = to;
    }
    bytes.len()
}
