//! Archived inputs: files, directories (recursive) and stdin, decompressed by
//! their magic bytes, cut into chunks of whole lines for the workers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;

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
    /// Line number (1-based) of the first line in `data`.
    pub first_line: u64,
    /// Whole lines, each ended by `\n` except perhaps the input's last.
    pub data: Vec<u8>,
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

/// A line longer than the limit, found while chunking.
pub struct Oversized {
    pub input: u32,
    pub line: u64,
}

/// What reading one input produced besides chunks.
#[derive(Default)]
pub struct ReadReport {
    pub oversized: Vec<Oversized>,
    pub error: Option<InputError>,
    pub lines: u64,
}

const CHUNK_BYTES: usize = 1 << 20;
const READ_BYTES: usize = 256 * 1024;

fn new_buffer() -> Vec<u8> {
    Vec::with_capacity(CHUNK_BYTES + READ_BYTES)
}

/// Reads one input to its end, sending chunks of whole lines. Lines longer
/// than `max_line` are not sent; they are reported as oversized. A read or
/// decompression error ends this input with an error at its byte offset;
/// the lines before it have been sent.
pub fn read_input(
    index: u32,
    input: &Input,
    max_line: usize,
    bytes_read: &Arc<AtomicU64>,
    tx: &Sender<Chunk>,
) -> ReadReport {
    let mut report = ReadReport::default();
    let raw: Box<dyn Read> = match input {
        Input::Stdin => Box::new(io::stdin().lock()),
        Input::File(p) => match File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                report.error = Some(InputError {
                    input: input.name(),
                    offset: 0,
                    message: format!("cannot open: {e}"),
                });
                return report;
            }
        },
    };
    let counting = Counting {
        inner: raw,
        count: bytes_read.clone(),
        local: 0,
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, counting);
    let magic = match buffered.fill_buf() {
        Ok(b) => b.get(..4).map(|m| m.to_vec()).unwrap_or_else(|| b.to_vec()),
        Err(e) => {
            report.error = Some(InputError {
                input: input.name(),
                offset: 0,
                message: format!("read failed: {e}"),
            });
            return report;
        }
    };
    let (mut reader, kind): (Box<dyn Read>, &str) = if magic.starts_with(&[0x1f, 0x8b]) {
        (
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            "gzip",
        )
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        match zstd::stream::read::Decoder::with_buffer(buffered) {
            Ok(d) => (Box::new(d), "zstd"),
            Err(e) => {
                report.error = Some(InputError {
                    input: input.name(),
                    offset: 0,
                    message: format!("cannot start zstd decompression: {e}"),
                });
                return report;
            }
        }
    } else {
        (Box::new(buffered), "plain")
    };

    let mut line_no: u64 = 1; // number of the first line in `buf`
    let mut buf: Vec<u8> = new_buffer();
    let mut tail_start = 0;
    // Inside an oversized line, whose number is already used: skip to its end.
    let mut skipping = false;
    let start_count = bytes_read.load(Ordering::Relaxed);
    loop {
        // Read straight into the chunk buffer: no copy on the way.
        let len = buf.len();
        buf.resize(len + READ_BYTES, 0);
        let read = loop {
            match reader.read(&mut buf[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                // The line cut by the error is incomplete, not malformed: it is
                // dropped, and the error says where reading stopped.
                buf.truncate(tail_start);
                let offset = bytes_read
                    .load(Ordering::Relaxed)
                    .saturating_sub(start_count);
                let what = if kind == "plain" {
                    "read failed".to_string()
                } else {
                    format!("corrupt {kind} stream")
                };
                report.error = Some(InputError {
                    input: input.name(),
                    offset,
                    message: format!("{what} near byte {offset}: {e}"),
                });
                break;
            }
        };
        buf.truncate(len + n);
        if n == 0 {
            break;
        }
        if skipping {
            match memchr::memchr(b'\n', &buf[len..]) {
                Some(i) => {
                    skipping = false;
                    buf.drain(len..len + i + 1);
                }
                None => {
                    buf.truncate(len);
                    continue;
                }
            }
        }
        // Where the unfinished last line starts: only the new bytes can move it.
        if let Some(i) = memchr::memrchr(b'\n', &buf[len..]) {
            tail_start = len + i + 1;
        }
        // The unfinished last line must not grow without bound: once it is
        // longer than the limit it is reported and skipped. (Complete lines
        // over the limit are rejected by the decoder.)
        if buf.len() - tail_start > max_line {
            buf.truncate(tail_start);
            send(
                tx,
                index,
                &mut line_no,
                std::mem::replace(&mut buf, new_buffer()),
            );
            report.oversized.push(Oversized {
                input: index,
                line: line_no,
            });
            line_no += 1;
            skipping = true;
            tail_start = 0;
        } else if buf.len() >= CHUNK_BYTES && tail_start > 0 {
            let mut next = new_buffer();
            next.extend_from_slice(&buf[tail_start..]);
            buf.truncate(tail_start);
            send(tx, index, &mut line_no, std::mem::replace(&mut buf, next));
            tail_start = 0;
        }
    }
    if !buf.is_empty() {
        let unterminated = buf.last() != Some(&b'\n');
        send(tx, index, &mut line_no, buf);
        if unterminated {
            line_no += 1;
        }
    }
    report.lines = line_no - 1;
    report
}

/// Complete lines in a buffer (the count of newlines).
fn bytecount_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Sends whole lines as a chunk (when there are any) and advances the line
/// number past its complete lines.
fn send(tx: &Sender<Chunk>, input: u32, line_no: &mut u64, data: Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let first_line = *line_no;
    *line_no += bytecount_newlines(&data);
    // A closed channel means the workers are gone; the caller notices.
    let _ = tx.send(Chunk {
        input,
        first_line,
        data,
    });
}
