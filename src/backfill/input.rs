//! Archived inputs: files, directories (recursive) and stdin, decompressed by
//! their magic bytes, cut into chunks of whole lines for the workers. Plain
//! files are mapped into memory, their chunks ranges of the map.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::ledger::Ledger;
use super::mapped::Mapping;

/// One input: a file or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Size on disk, when known.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        }
    }
}

/// A problem with one input. The rest of the input is still read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub input: String,
    /// Byte offset in the input (compressed bytes for compressed input).
    pub offset: u64,
    pub message: String,
}

/// Expands the command-line arguments: directories recursively, in name
/// order, so runs are reproducible. A missing path is reported, not fatal.
pub fn expand(args: &[String], errors: &mut Vec<InputError>) -> Vec<Input> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
        } else {
            walk(Path::new(a), &mut out, errors);
        }
    }
    out
}

fn walk(path: &Path, out: &mut Vec<Input>, errors: &mut Vec<InputError>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(InputError {
                input: path.display().to_string(),
                offset: 0,
                message: format!("cannot open: {e}"),
            });
            return;
        }
    };
    if !meta.is_dir() {
        out.push(Input::File(path.to_path_buf()));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(InputError {
                input: path.display().to_string(),
                offset: 0,
                message: format!("cannot list the directory: {e}"),
            });
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for c in children {
        walk(&c, out, errors);
    }
}

/// A run of whole lines from one input.
pub struct Chunk {
    pub input: u32,
    pub first_line: FirstLine,
    lines: Lines,
}

/// The line number (1-based) of a chunk's first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLine {
    /// Counted by the reader.
    Known(u64),
    /// Not counted: it follows from the chunks before this place in the
    /// [`Ledger`].
    Ledger(usize),
}

/// Where a chunk's lines are.
enum Lines {
    /// The first `len` bytes of a buffer of a [`BufferPool`].
    Read { buf: Vec<u8>, len: usize },
    /// A range of a mapped file.
    Mapped {
        map: Arc<Mapping>,
        range: Range<usize>,
    },
    /// One line over the size limit, not sent: its first bytes.
    Oversized { head: Vec<u8> },
}

impl Chunk {
    /// Whole lines, each ended by `\n` except perhaps the input's last.
    pub fn data(&self) -> &[u8] {
        match &self.lines {
            Lines::Read { buf, len } => &buf[..*len],
            Lines::Mapped { map, range } => &map.bytes()[range.clone()],
            Lines::Oversized { .. } => &[],
        }
    }

    /// The first bytes of the one line over the size limit that this chunk
    /// stands for, if it is such a chunk.
    pub fn oversized(&self) -> Option<&[u8]> {
        match &self.lines {
            Lines::Oversized { head } => Some(head),
            _ => None,
        }
    }

    /// Called once the lines are processed: the buffer goes back to the
    /// pool, or the mapped pages leave this process's memory.
    pub fn done(self, pool: &BufferPool) {
        match self.lines {
            Lines::Read { buf, .. } => pool.give_back(buf),
            Lines::Mapped { map, range } => map.release(range),
            Lines::Oversized { .. } => {}
        }
    }
}

/// Chunk buffers going round between the reader and the workers. A buffer
/// is zeroed once, when it is made, and then only ever overwritten by reads:
/// a gigabyte of input costs no gigabyte of zeroing.
#[derive(Clone)]
pub struct BufferPool {
    free: Sender<Vec<u8>>,
    taken: Receiver<Vec<u8>>,
}

impl Default for BufferPool {
    fn default() -> BufferPool {
        let (free, taken) = unbounded();
        BufferPool { free, taken }
    }
}

impl BufferPool {
    /// A free buffer of at least [`BUFFER_BYTES`].
    fn take(&self) -> Vec<u8> {
        // A fresh zeroed allocation is pages the kernel maps on first touch.
        self.taken
            .try_recv()
            .unwrap_or_else(|_| vec![0; BUFFER_BYTES])
    }

    /// Returns a chunk's buffer once its lines are processed. One that grew
    /// for a long line is freed instead: the pool keeps its usual size.
    pub fn give_back(&self, buf: Vec<u8>) {
        if buf.len() > BUFFER_BYTES {
            return;
        }
        // Nobody left to take it: the reader is done, the buffer is dropped.
        let _ = self.free.send(buf);
    }
}

/// Counts the raw bytes read from an input, for progress and error offsets.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    local: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.local += n as u64;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A chunk is sent once it holds this much.
const CHUNK_BYTES: usize = 1 << 20;
/// Bytes asked of the input per read.
const READ_BYTES: usize = 256 * 1024;
/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";
/// A buffer holds a full chunk and one more read.
const BUFFER_BYTES: usize = CHUNK_BYTES + READ_BYTES;

/// Reads one input to its end, sending chunks of whole lines. A line over
/// `max_line` that is not sent whole (read: still unfinished past the limit;
/// mapped: longer than a chunk) is sent as a chunk of its first bytes that
/// stands for it. A read or decompression error ends this input with an
/// error at its byte offset, returned; the lines before it have been sent.
/// The chunks of a mapped file go out uncounted, in `ledger`.
#[allow(clippy::too_many_arguments)]
pub fn read_input(
    index: u32,
    input: &Input,
    max_line: usize,
    map: bool,
    bytes_read: &Arc<AtomicU64>,
    pool: &BufferPool,
    ledger: &Ledger,
    tx: &Sender<Chunk>,
) -> Option<InputError> {
    let raw: Box<dyn Read> = match input {
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::File(p) => match File::open(p) {
            Ok(f) => match map.then(|| map_plain(&f)).flatten() {
                Some(map) => {
                    send_mapped(index, map, max_line, bytes_read, ledger, tx);
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
    let counting = Counting {
        inner: raw,
        count: bytes_read.clone(),
        local: 0,
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

    let mut line_no: u64 = 1; // number of the first line in `buf`
    let mut buf = pool.take();
    // Bytes in `buf`; it is never shrunk, so reads land on initialized memory.
    let mut len = 0;
    // Where the unfinished last line starts, and the lines before it.
    let mut tail_start = 0;
    let mut lines = 0;
    // Inside an oversized line, whose number is already used: skip to its end.
    let mut skipping = false;
    let mut bom_checked = false;
    let mut error = None;
    let start_count = bytes_read.load(Ordering::Relaxed);
    loop {
        if buf.len() < len + READ_BYTES {
            // One line longer than a chunk: the buffer grows for it.
            buf.resize(len + READ_BYTES, 0);
        }
        // Read straight into the chunk buffer: no copy on the way.
        let read = loop {
            match reader.read(&mut buf[len..len + READ_BYTES]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let mut n = match read {
            Ok(n) => n,
            Err(e) => {
                // The line cut by the error is incomplete, not malformed: it is
                // dropped, and the error says where reading stopped.
                len = tail_start;
                let offset = bytes_read
                    .load(Ordering::Relaxed)
                    .saturating_sub(start_count);
                let what = if kind == "plain" {
                    "read failed".to_string()
                } else {
                    format!("corrupt {kind} stream")
                };
                error = Some(InputError {
                    input: input.name(),
                    offset,
                    message: format!("{what} near byte {offset}: {e}"),
                });
                break;
            }
        };
        if n == 0 {
            break;
        }
        if skipping {
            match memchr::memchr(b'\n', &buf[len..len + n]) {
                Some(i) => {
                    skipping = false;
                    buf.copy_within(len + i + 1..len + n, len);
                    n -= i + 1;
                }
                None => continue,
            }
        }
        let mut fresh = len..len + n;
        len += n;
        // A byte-order mark some editors put at the start of a file is not
        // part of the first line.
        if !bom_checked && len >= BOM.len() {
            bom_checked = true;
            if buf.starts_with(BOM) {
                buf.copy_within(BOM.len()..len, 0);
                len -= BOM.len();
                fresh = 0..len;
            }
        }
        // Only the new bytes can move the tail; they are counted while the
        // read has just brought them into the cache.
        if let Some(i) = memchr::memrchr(b'\n', &buf[fresh.clone()]) {
            tail_start = fresh.start + i + 1;
            lines += memchr::memchr_iter(b'\n', &buf[fresh]).count() as u64;
        }
        // The unfinished last line must not grow without bound: once it is
        // longer than the limit and a `\r` it may end with (not part of the
        // event), a chunk of its first bytes stands for it and the rest is
        // skipped. (Complete lines over the limit are rejected by the
        // decoder.)
        if len - tail_start > max_line + 1 {
            let head = buf[tail_start..tail_start + max_line].to_vec();
            send(tx, index, &mut line_no, buf, tail_start, lines);
            buf = pool.take();
            let _ = tx.send(Chunk {
                input: index,
                first_line: FirstLine::Known(line_no),
                lines: Lines::Oversized { head },
            });
            line_no += 1;
            skipping = true;
            (len, tail_start, lines) = (0, 0, 0);
        } else if len >= CHUNK_BYTES && tail_start > 0 {
            let mut next = pool.take();
            let tail = len - tail_start;
            if next.len() < tail + READ_BYTES {
                next.resize(tail + READ_BYTES, 0);
            }
            next[..tail].copy_from_slice(&buf[tail_start..len]);
            send(tx, index, &mut line_no, buf, tail_start, lines);
            buf = next;
            (len, tail_start, lines) = (tail, 0, 0);
        }
    }
    if len > 0 {
        // An unterminated last line still counts as a line.
        let unterminated = u64::from(buf[len - 1] != b'\n');
        send(tx, index, &mut line_no, buf, len, lines + unterminated);
    }
    error
}

/// A memory map of `file` when it is a plain (uncompressed) regular file.
fn map_plain(file: &File) -> Option<Arc<Mapping>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let map = Mapping::new(file, meta.len())?;
    Compression::of(map.bytes())
        .is_none()
        .then(|| Arc::new(map))
}

/// A compressed input, known by its magic bytes.
enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression of an input that starts with `magic`.
    fn of(magic: &[u8]) -> Option<Compression> {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// One input as a stream of decompressed bytes (gzip and zstd found by
/// their magic bytes, as the backfill reader finds them), for commands that
/// read only the first lines of an input.
pub fn open_decompressed(input: &Input) -> io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = match input {
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::File(p) => Box::new(File::open(p)?),
    };
    let (reader, _) = decompressed(BufReader::with_capacity(64 * 1024, raw))?;
    Ok(Box::new(BufReader::new(reader)))
}

/// `buffered` decompressed by what its first bytes say, with the name of
/// the compression (`gzip`, `zstd` or `plain`).
fn decompressed<R: BufRead + 'static>(
    mut buffered: R,
) -> io::Result<(Box<dyn Read>, &'static str)> {
    let head = buffered
        .fill_buf()
        .map_err(|e| io::Error::new(e.kind(), format!("read failed: {e}")))?;
    let magic = head[..head.len().min(4)].to_vec();
    Ok(match Compression::of(&magic) {
        Some(Compression::Gzip) => (
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            "gzip",
        ),
        Some(Compression::Zstd) => match zstd::stream::read::Decoder::with_buffer(buffered) {
            Ok(d) => (Box::new(d), "zstd"),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot start zstd decompression: {e}"),
                ))
            }
        },
        None => (Box::new(buffered), "plain"),
    })
}

/// Sends a mapped file as chunks of whole lines, without counting them:
/// each chunk has its place in `ledger`. A line longer than a chunk and
/// over `max_line` is not sent; a chunk of its first bytes stands for it.
/// Like a read input, a mapped one never holds more than a chunk or a
/// line's limit in memory.
fn send_mapped(
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
        if lines.is_none() {
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
        });
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

/// Sends the first `len` bytes of `buf`, `lines` whole lines, as a chunk
/// (when there are any) and advances the line number past them.
fn send(tx: &Sender<Chunk>, input: u32, line_no: &mut u64, buf: Vec<u8>, len: usize, lines: u64) {
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
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let error = read_input(
            0,
            &Input::File(path),
            max_line,
            map,
            &Arc::new(AtomicU64::new(0)),
            &pool,
            &ledger,
            &tx,
        );
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
