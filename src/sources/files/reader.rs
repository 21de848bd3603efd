//! The reader thread of archived inputs: each input opened in turn — a plain file
//! mapped, anything else read and decompressed — and cut into chunks of
//! whole lines for the workers, with the lines over the size limit
//! standing for themselves.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

use super::compression::decompressed;
use super::input::{
    BufferPool, Chunk, FirstLine, Input, InputError, Lines, BOM, CHUNK_BYTES, READ_BYTES,
};
use super::ledger::Ledger;
use super::mapped::{map_plain, send_mapped};
use super::object::Fetched;

/// What reading every input shares: the limits, the counters and where the
/// chunks go.
pub struct Reader<'a> {
    /// Lines longer than this (`decode.max_event_bytes`) are not sent whole.
    pub max_line: usize,
    /// Plain files are mapped into memory rather than read.
    pub map_files: bool,
    /// Raw bytes read over all inputs, for progress and error offsets.
    pub bytes_read: &'a Arc<AtomicU64>,
    /// Where the chunk buffers come from and go back to.
    pub pool: &'a BufferPool,
    /// The place of each uncounted chunk of a mapped file.
    pub ledger: &'a Ledger,
    /// The workers' queue.
    pub tx: &'a Sender<Chunk>,
    /// The objects' bytes, fetched ahead, when some input is an object.
    pub fetched: Option<&'a Fetched>,
}

/// Where reading an input stands: the chunk being filled.
struct Filling {
    /// The number of the first line in `buf`.
    line_no: u64,
    buf: Vec<u8>,
    /// Bytes in `buf`; it is never shrunk, so reads land on initialized memory.
    len: usize,
    /// Where the unfinished last line starts.
    tail_start: usize,
    /// The whole lines before `tail_start`.
    lines: u64,
    /// The input's preamble, once its first chunk is cut (`None` before).
    preamble: Option<Option<Arc<[u8]>>>,
}

impl Filling {
    /// The preamble of the chunk of the first `len` bytes (the input's,
    /// found in its first chunk), moved past them for the chunks after
    /// ([`super::input::advance`]).
    fn preamble(&mut self, len: usize) -> Option<Arc<[u8]>> {
        let preamble = self
            .preamble
            .get_or_insert_with(|| super::input::preamble(&self.buf[..len]));
        let current = preamble.clone();
        super::input::advance(preamble, &self.buf[..len]);
        current
    }
}

/// Counts the raw bytes read from an input, for progress and error offsets.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Reader<'_> {
    /// Reads input number `index` to its end, sending chunks of whole lines.
    /// A line over `max_line` that is not sent whole (read: still unfinished
    /// past the limit; mapped: longer than a chunk) is sent as a chunk of its
    /// first bytes that stands for it. A read or decompression error ends
    /// this input with an error at its byte offset, returned; the lines
    /// before it have been sent. The chunks of a mapped file go out
    /// uncounted, in the ledger.
    pub fn read(&self, index: u32, input: &Input) -> Option<InputError> {
        let raw: Box<dyn Read> = match input {
            Input::Stdin => Box::new(io::stdin().lock()),
            Input::Object(_) => match self.fetched {
                Some(fetched) => fetched.object(index),
                None => {
                    return Some(InputError {
                        input: input.name(),
                        offset: 0,
                        message: "no fetch of objects was started".to_string(),
                    })
                }
            },
            Input::File(p) => match File::open(p) {
                Ok(f) => match self.map_files.then(|| map_plain(&f)).flatten() {
                    Some(map) => {
                        send_mapped(
                            index,
                            map,
                            self.max_line,
                            self.bytes_read,
                            self.ledger,
                            self.tx,
                        );
                        return None;
                    }
                    None => Box::new(f),
                },
                Err(e) => {
                    return Some(InputError {
                        input: input.name(),
                        offset: 0,
                        message: format!("cannot open: {e}"),
                    });
                }
            },
        };
        self.read_stream(index, input, raw)
    }

    /// Reads `raw`, the bytes of `input`, through its decompression.
    fn read_stream(&self, index: u32, input: &Input, raw: Box<dyn Read>) -> Option<InputError> {
        let counting = Counting {
            inner: raw,
            count: self.bytes_read.clone(),
        };
        let buffered = BufReader::with_capacity(256 * 1024, counting);
        let (mut reader, kind) = match decompressed(buffered) {
            Ok(r) => r,
            Err(e) => {
                return Some(InputError {
                    input: input.name(),
                    offset: 0,
                    message: e.to_string(),
                });
            }
        };
        let mut f = Filling {
            line_no: 1,
            buf: self.pool.take(),
            len: 0,
            tail_start: 0,
            lines: 0,
            preamble: None,
        };
        // Inside an oversized line, whose number is already used: skip to its end.
        let mut skipping = false;
        let mut bom_checked = false;
        let mut error = None;
        let start_count = self.bytes_read.load(Ordering::Relaxed);
        loop {
            if f.buf.len() < f.len + READ_BYTES {
                // One line longer than a chunk: the buffer grows for it.
                f.buf.resize(f.len + READ_BYTES, 0);
            }
            // Read straight into the chunk buffer: no copy on the way.
            let read = loop {
                match reader.read(&mut f.buf[f.len..f.len + READ_BYTES]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let mut n = match read {
                Ok(n) => n,
                Err(e) => {
                    // The line cut by the error is incomplete, not malformed:
                    // it is dropped, and the error says where reading stopped.
                    f.len = f.tail_start;
                    let offset = self
                        .bytes_read
                        .load(Ordering::Relaxed)
                        .saturating_sub(start_count);
                    error = Some(read_error(input, kind, offset, &e));
                    break;
                }
            };
            if n == 0 {
                break;
            }
            if skipping {
                // The end of the skipped line: what follows is read as usual
                // (and `cut` below says whether to skip again).
                match memchr::memchr(b'\n', &f.buf[f.len..f.len + n]) {
                    Some(i) => {
                        f.buf.copy_within(f.len + i + 1..f.len + n, f.len);
                        n -= i + 1;
                    }
                    None => continue,
                }
            }
            let mut fresh = f.len..f.len + n;
            f.len += n;
            // A byte-order mark some editors put at the start of a file is not
            // part of the first line.
            if !bom_checked && f.len >= BOM.len() {
                bom_checked = true;
                if f.buf.starts_with(BOM) {
                    f.buf.copy_within(BOM.len()..f.len, 0);
                    f.len -= BOM.len();
                    fresh = 0..f.len;
                }
            }
            // Only the new bytes can move the tail; they are counted while the
            // read has just brought them into the cache.
            if let Some(i) = memchr::memrchr(b'\n', &f.buf[fresh.clone()]) {
                f.tail_start = fresh.start + i + 1;
                f.lines += memchr::memchr_iter(b'\n', &f.buf[fresh]).count() as u64;
            }
            skipping = self.cut(index, &mut f);
        }
        if f.len > 0 {
            // An unterminated last line still counts as a line.
            let unterminated = u64::from(f.buf[f.len - 1] != b'\n');
            let len = f.len;
            let preamble = f.preamble(len);
            let lines = f.lines + unterminated;
            send(
                self.tx,
                index,
                &mut f.line_no,
                (f.buf, len),
                lines,
                preamble,
            );
        }
        error
    }

    /// Sends the whole lines of `f` once it holds a chunk's worth. The
    /// unfinished last line must not grow without bound: once it is longer
    /// than the limit and a `\r` it may end with (not part of the event), a
    /// chunk of its first bytes stands for it, and `true` says to skip the
    /// rest. (Complete lines over the limit are rejected by the decoder.)
    fn cut(&self, index: u32, f: &mut Filling) -> bool {
        if f.len - f.tail_start > self.max_line + 1 {
            let head = f.buf[f.tail_start..f.tail_start + self.max_line].to_vec();
            let preamble = f.preamble(f.tail_start);
            let buf = std::mem::replace(&mut f.buf, self.pool.take());
            let whole = (buf, f.tail_start);
            send(
                self.tx,
                index,
                &mut f.line_no,
                whole,
                f.lines,
                preamble.clone(),
            );
            let _ = self.tx.send(Chunk {
                input: index,
                first_line: FirstLine::Known(f.line_no),
                lines: Lines::Oversized { head },
                preamble,
            });
            f.line_no += 1;
            (f.len, f.tail_start, f.lines) = (0, 0, 0);
            return true;
        }
        if f.len >= CHUNK_BYTES && f.tail_start > 0 {
            let mut next = self.pool.take();
            let tail = f.len - f.tail_start;
            if next.len() < tail + READ_BYTES {
                next.resize(tail + READ_BYTES, 0);
            }
            next[..tail].copy_from_slice(&f.buf[f.tail_start..f.len]);
            let preamble = f.preamble(f.tail_start);
            let buf = std::mem::replace(&mut f.buf, next);
            let whole = (buf, f.tail_start);
            send(self.tx, index, &mut f.line_no, whole, f.lines, preamble);
            (f.len, f.tail_start, f.lines) = (tail, 0, 0);
        }
        false
    }
}

/// The error that ends an input whose read failed at `offset`.
fn read_error(input: &Input, kind: &str, offset: u64, e: &io::Error) -> InputError {
    let what = if kind == "plain" {
        "read failed".to_string()
    } else {
        format!("corrupt {kind} stream")
    };
    InputError {
        input: input.name(),
        offset,
        message: format!("{what} near byte {offset}: {e}"),
    }
}

/// Sends the first `len` bytes of `buf`, `lines` whole lines, as a chunk
/// (when there are any) and advances the line number past them.
fn send(
    tx: &Sender<Chunk>,
    input: u32,
    line_no: &mut u64,
    (buf, len): (Vec<u8>, usize),
    lines: u64,
    preamble: Option<Arc<[u8]>>,
) {
    if len == 0 {
        return;
    }
    let first_line = FirstLine::Known(*line_no);
    *line_no += lines;
    // A closed channel means the workers are gone; the caller notices.
    let _ = tx.send(Chunk {
        input,
        first_line,
        lines: Lines::Read { buf, len },
        preamble,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::files::input::BUFFER_BYTES;

    /// What reading an input gave, with every line numbered as the
    /// workers number them.
    struct Read {
        /// Each chunk of lines with the number of its first line.
        chunks: Vec<(u64, Vec<u8>)>,
        /// The lines over the limit, by number, with their first bytes.
        oversized: Vec<(u64, Vec<u8>)>,
        lines: u64,
        error: Option<InputError>,
    }

    /// Reads `data` as a file, mapped or not, and numbers the lines of the
    /// chunks in order, as workers that count them would.
    fn chunks_of(data: &[u8], max_line: usize, map: bool) -> Read {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("input.jsonl");
        std::fs::write(&path, data).expect("write");
        let (tx, rx) = crossbeam_channel::unbounded();
        let pool = BufferPool::default();
        let ledger = Ledger::default();
        let reader = Reader {
            max_line,
            map_files: map,
            bytes_read: &Arc::new(AtomicU64::new(0)),
            pool: &pool,
            ledger: &ledger,
            tx: &tx,
            fetched: None,
        };
        let error = reader.read(0, &Input::File(path));
        drop(tx);
        let mut read = Read {
            chunks: Vec::new(),
            oversized: Vec::new(),
            lines: 0,
            error,
        };
        for c in rx {
            let data = c.data();
            let lines = match c.oversized() {
                Some(_) => 1,
                None => {
                    let body = data.strip_suffix(b"\n").unwrap_or(data);
                    body.split(|&b| b == b'\n').count() as u64
                }
            };
            let first = match c.first_line {
                FirstLine::Known(n) => n,
                FirstLine::Ledger(at) => ledger.count(at, lines, true).expect("first line"),
            };
            read.lines += lines;
            match c.oversized() {
                Some(head) => read.oversized.push((first, head.to_vec())),
                None => read.chunks.push((first, data.to_vec())),
            }
            // Buffers come back dirty: the next chunk must not show it.
            c.done(&pool);
        }
        read
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_dropped() {
        for map in [false, true] {
            let read = chunks_of(
                b"\xef\xbb\xbf{\"a\":1}\n{\"b\":\"\xef\xbb\xbf\"}\n",
                100,
                map,
            );
            assert_eq!(read.lines, 2);
            assert_eq!(
                read.chunks,
                vec![(1, b"{\"a\":1}\n{\"b\":\"\xef\xbb\xbf\"}\n".to_vec())]
            );
            let read = chunks_of(b"\xef\xbb", 100, map);
            assert_eq!(read.chunks, vec![(1, b"\xef\xbb".to_vec())]);
            let read = chunks_of(b"\xef\xbb\xbf", 100, map);
            assert_eq!((read.chunks, read.lines), (vec![], 0), "map: {map}");
        }
    }

    /// Lines of every length around the chunk and read sizes, one longer
    /// than a whole buffer, oversized ones, and no final newline.
    #[test]
    fn chunks_hold_every_line_once_with_its_number() {
        for map in [false, true] {
            every_line_once(map);
        }
    }

    fn every_line_once(map: bool) {
        let max_line = 3 * CHUNK_BYTES;
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut len = 1usize;
        while lines.iter().map(|l| l.len() + 1).sum::<usize>() < 5 * CHUNK_BYTES {
            lines.push(vec![b'a' + (lines.len() % 26) as u8; len]);
            len = (len * 7 + 13) % 70_000;
        }
        lines.insert(40, vec![b'L'; 2 * BUFFER_BYTES]);
        lines.insert(60, vec![b'X'; max_line + 1]);
        lines.insert(61, vec![b'Y'; max_line + READ_BYTES]);
        lines.push(b"last".to_vec());
        let data = lines.join(&b'\n'); // the last line has no newline

        let Read {
            chunks,
            oversized,
            lines: read_lines,
            error,
        } = chunks_of(&data, max_line, map);
        assert!(error.is_none());
        assert_eq!(read_lines, lines.len() as u64);
        // Reading, a line over the limit is skipped by the reader once its
        // unfinished part is over the limit; one that ends within the same
        // read is sent whole, for the decoder to reject. Either way it is
        // there once. Mapped, every line over the limit and longer than a
        // chunk is skipped, any shorter one sent.
        for (line, head) in &oversized {
            assert!(
                head[..] == lines[*line as usize - 1][..max_line],
                "line {line}"
            );
        }
        let oversized: Vec<u64> = oversized.iter().map(|(line, _)| *line).collect();
        if map {
            let over: Vec<u64> = (1..=lines.len() as u64)
                .filter(|n| lines[*n as usize - 1].len() > max_line)
                .collect();
            assert_eq!(oversized, over);
            // Chunks are cut at the last line that ends within a chunk's size.
            for (_, c) in &chunks {
                let body = c.strip_suffix(b"\n").unwrap_or(c);
                assert!(
                    c.len() <= CHUNK_BYTES || !body.contains(&b'\n'),
                    "{}",
                    c.len()
                );
            }
        } else {
            assert!(oversized.contains(&62), "{oversized:?}");
        }
        for n in &oversized {
            assert!(lines[*n as usize - 1].len() > max_line, "line {n} reported");
        }

        // Number every line the chunks hold and compare with the input's.
        let mut seen: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut next_line = 1;
        for (first, data) in &chunks {
            assert!(*first >= next_line, "chunks in order");
            let mut n = *first;
            let body = data.strip_suffix(b"\n").unwrap_or(data);
            for l in body.split(|&b| b == b'\n') {
                seen.push((n, l.to_vec()));
                n += 1;
            }
            next_line = n;
        }
        let want: Vec<(u64, Vec<u8>)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.clone()))
            .filter(|(n, _)| !oversized.contains(n))
            .collect();
        assert_eq!(seen.len(), want.len());
        for (s, w) in seen.iter().zip(&want) {
            assert_eq!((s.0, s.1.len(), s.1.first()), (w.0, w.1.len(), w.1.first()));
            assert!(s == w, "line {} differs", w.0);
        }
    }
}
