//! Archived inputs: files, directories (recursive), stdin and objects, and the
//! chunks of whole lines the reader cuts them into for the workers: bytes
//! in a buffer of a [`BufferPool`], or a range of a mapped file.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::mapping::Mapping;
use super::object::{ObjectRef, Remote};
use super::select::Selection;

/// A chunk is sent once it holds this much.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;
/// Bytes asked of the input per read.
pub(crate) const READ_BYTES: usize = 256 * 1024;
/// The UTF-8 byte-order mark.
pub(crate) const BOM: &[u8] = b"\xef\xbb\xbf";
/// A buffer holds a full chunk and one more read.
pub(crate) const BUFFER_BYTES: usize = CHUNK_BYTES + READ_BYTES;

/// One input: a file, standard input, or an object in a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    Object(ObjectRef),
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File(p) => p.display().to_string(),
            Input::Object(o) => o.to_string(),
        }
    }

    /// Size on disk, when known.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Object(o) => Some(o.size),
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

/// Expands the command-line arguments: directories recursively and object
/// store prefixes (through `remote`, which knows their buckets) like
/// directories, in name order, so runs are reproducible; what is found
/// under them is kept as `selection` says. A missing path or a failed
/// listing is reported, not fatal.
pub fn expand(
    args: &[String],
    selection: &Selection,
    remote: Option<&Remote>,
    errors: &mut Vec<InputError>,
) -> Vec<Input> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
        } else if super::object::parse_url(a).is_some() {
            let found = remote.map_or_else(
                || Err("no client for this object store".to_string()),
                |r| r.expand(a, selection),
            );
            match found {
                Ok(objects) => out.extend(objects.into_iter().map(Input::Object)),
                Err(message) => errors.push(InputError {
                    input: a.clone(),
                    offset: 0,
                    message,
                }),
            }
        } else {
            walk(Path::new(a), selection, true, &mut out, errors);
        }
    }
    out
}

/// Adds `path`: the file, or what the directory holds. A file named on the
/// command line (`named`) is read whatever the selection says.
fn walk(
    path: &Path,
    selection: &Selection,
    named: bool,
    out: &mut Vec<Input>,
    errors: &mut Vec<InputError>,
) {
    if !named && selection.leaves_out(path) {
        return;
    }
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
        if named || selection.wants_file(&path.to_string_lossy()) {
            out.push(Input::File(path.to_path_buf()));
        }
        return;
    }
    if !named && !selection.wants_dir(&path.to_string_lossy()) {
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
        walk(&c, selection, false, out, errors);
    }
}

/// A run of whole lines from one input.
pub struct Chunk {
    pub input: u32,
    pub first_line: FirstLine,
    pub(crate) lines: Lines,
    /// The input's [`preamble`], carried by every one of its chunks, so that
    /// a worker that starts in the middle of the input reads its lines as
    /// the one that read the start.
    pub preamble: Option<Arc<[u8]>>,
}

/// The longest preamble kept.
const PREAMBLE_BYTES: usize = 64 * 1024;

/// The lines starting with `#` at the start of an input (a W3C log's
/// `#Version` and `#Fields`, which set the columns of the lines after
/// them), each with its `\n`; `None` when it starts otherwise.
pub fn preamble(start: &[u8]) -> Option<Arc<[u8]>> {
    let mut end = 0;
    while start.get(end) == Some(&b'#') && end < PREAMBLE_BYTES {
        end = match memchr::memchr(b'\n', &start[end..]) {
            Some(i) => end + i + 1,
            // Cut by the end of what was read: the whole lines before it.
            None => break,
        };
    }
    (end > 0).then(|| Arc::from(&start[..end.min(PREAMBLE_BYTES)]))
}

/// The preamble of the chunks after `chunk` (whole lines) of an input that
/// has one: the last run of `#` lines in it, if any. W3C logs joined into
/// one file carry each part's header, which sets the columns of the lines
/// after it; a worker starting after such a header reads them as the one
/// that read the header.
pub fn last_header(chunk: &[u8]) -> Option<Arc<[u8]>> {
    let last = match chunk.first() {
        Some(b'#') => memchr::memmem::rfind(chunk, b"\n#").map_or(0, |i| i + 1),
        _ => memchr::memmem::rfind(chunk, b"\n#")? + 1,
    };
    // Back to the first line of the run.
    let mut begin = last;
    while begin > 0 {
        let prev = memchr::memrchr(b'\n', &chunk[..begin - 1]).map_or(0, |i| i + 1);
        if chunk[prev] != b'#' {
            break;
        }
        begin = prev;
    }
    preamble(&chunk[begin..])
}

/// Moves an input's `preamble` past `chunk`, whole lines about to be sent:
/// to the [`last_header`] in it, if the input has a preamble at all.
pub fn advance(preamble: &mut Option<Arc<[u8]>>, chunk: &[u8]) {
    if preamble.is_some() {
        if let Some(header) = last_header(chunk) {
            *preamble = Some(header);
        }
    }
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
pub(crate) enum Lines {
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
    pub(crate) fn take(&self) -> Vec<u8> {
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

#[cfg(test)]
mod tests {
    use super::{last_header, preamble};

    #[test]
    fn a_preamble_is_the_leading_hash_lines() {
        let log = b"#Version: 1.0\n#Fields: date time\n2026-01-01\t00:00:00\n#Fields: x\n";
        assert_eq!(
            preamble(log).as_deref(),
            Some(&b"#Version: 1.0\n#Fields: date time\n"[..])
        );
        assert_eq!(preamble(b"2026-01-01\t00:00:00\n#Fields: x\n"), None);
        // The last run of header lines of a chunk, wherever it is.
        let joined = b"#Version: 1.0\n#Fields: a b\n1\t2\n#Version: 1.0\n#Fields: b a\n3\t4\n";
        assert_eq!(
            last_header(joined).as_deref(),
            Some(&b"#Version: 1.0\n#Fields: b a\n"[..])
        );
        assert_eq!(
            last_header(b"#Fields: a b\n1\t2\n").as_deref(),
            Some(&b"#Fields: a b\n"[..])
        );
        assert_eq!(last_header(b"1\t2\n3\t4\n"), None);
        assert_eq!(last_header(b""), None);
        assert_eq!(preamble(b""), None);
        // A header line cut by the end of the chunk is no preamble.
        assert_eq!(
            preamble(b"#Version: 1.0\n#Fie").as_deref(),
            Some(&b"#Version: 1.0\n"[..])
        );
    }
}
