//! The `file` sink: records as JSON lines, appended to a file; and the
//! staged form a backfill uses, which holds the records in a temporary file
//! beside the target until every sink has them, then appends them to the
//! target (a `file` sink) or renames the temporary file over it
//! (`--output`), so a failed run never leaves the target emptied,
//! half-written, or cut off from another process writing to it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use anyhow::Context as _;

use super::{Context, Mode, Sink, WindowLines};
use crate::config::RecordKinds;
use crate::record::Record;

/// A `file` sink for `ctx.mode`: appended to as records come (live), or
/// staged and appended at the commit (backfill).
pub fn build(
    path: &Path,
    kinds: RecordKinds,
    ctx: &Context<'_>,
) -> anyhow::Result<Option<Box<dyn Sink>>> {
    let opened: io::Result<Box<dyn Sink>> = match ctx.mode {
        Mode::Live => FileSink::append(path, kinds).map(|s| Box::new(s) as Box<dyn Sink>),
        Mode::Backfill => {
            StagedFile::new(path, kinds, Keep::Append).map(|s| Box::new(s) as Box<dyn Sink>)
        }
    };
    let sink = opened.with_context(|| format!("cannot open the file sink {}", path.display()))?;
    Ok(Some(sink))
}

/// A backfill's `--output`: every record kind, staged, then renamed over
/// `path`.
pub fn output(path: &Path) -> anyhow::Result<Box<dyn Sink>> {
    let sink = StagedFile::new(path, RecordKinds::default(), Keep::Replace)
        .with_context(|| format!("cannot create the output file {}", path.display()))?;
    Ok(Box::new(sink))
}

/// The window records of a `file` sink: its lines, read whole (a missing
/// file holds none).
pub struct History<'a> {
    pub path: &'a Path,
}

impl super::History for History<'_> {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn windows(&self, _before_ns: Option<i64>, _history_ns: i64) -> anyhow::Result<WindowLines> {
        match std::fs::read_to_string(self.path) {
            Ok(t) => Ok(WindowLines::Text(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(WindowLines::Text(String::new())),
            Err(e) => Err(e).with_context(|| {
                format!(
                    "cannot read {} to rebuild the objectives",
                    self.path.display()
                )
            }),
        }
    }
}

/// Appends records to a JSONL file.
pub struct FileSink {
    path: PathBuf,
    kinds: RecordKinds,
    out: BufWriter<File>,
}

impl FileSink {
    /// Opens `path` for appending, creating it and its directory.
    pub fn append(path: &Path, kinds: RecordKinds) -> io::Result<FileSink> {
        create_parent(path)?;
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            kinds,
            out: BufWriter::with_capacity(256 * 1024, file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the records this sink wants; returns how many.
    pub fn write(&mut self, records: &[Record]) -> io::Result<usize> {
        write_records(&mut self.out, records, &self.kinds)
    }

    /// Writes buffered records through to the disk (`fsync`).
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }
}

impl Sink for FileSink {
    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn write(&mut self, records: &[Record]) -> anyhow::Result<usize> {
        let n = FileSink::write(self, records)?;
        self.sync()?;
        Ok(n)
    }
}

/// Creates the directory `path` will live in.
fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir),
        None => Ok(()),
    }
}

/// Writes the records of the wanted kinds as lines; returns how many.
fn write_records(
    out: &mut impl Write,
    records: &[Record],
    kinds: &RecordKinds,
) -> io::Result<usize> {
    let mut n = 0;
    for r in records.iter().filter(|r| r.kind.wanted_by(kinds)) {
        out.write_all(r.json.as_bytes())?;
        out.write_all(b"\n")?;
        n += 1;
    }
    Ok(n)
}

/// What a [`StagedFile`] does with the target's old content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The records come after the old lines (a `file` sink).
    Append,
    /// The records replace the old lines (`backfill --output`).
    Replace,
}

/// Records held back until every sink has them: they go to a temporary file
/// beside the target, and [`Sink::commit`] puts them in place. Dropped
/// without a commit, the temporary file is removed and the target is left
/// exactly as it was.
///
/// - [`Keep::Append`]: the temporary file holds only the new records; the
///   commit appends them to the target (opened in append mode, through any
///   symlink) and fsyncs it. The target keeps its inode, so a stream job
///   appending to the same file, or a shipper following it, loses nothing.
/// - [`Keep::Replace`]: the commit renames the temporary file over the
///   target; a symlinked target is resolved first, so the link stays a link
///   and the file it points to gets the records.
pub struct StagedFile {
    /// The target as the user named it, for messages.
    path: PathBuf,
    /// The file the records end up in: `path` with its symlinks resolved.
    target: PathBuf,
    kinds: RecordKinds,
    keep: Keep,
    /// Whether [`Sink::write`] was called: without it, a commit leaves the
    /// target alone.
    written: bool,
    /// `None` once committed.
    out: Option<BufWriter<NamedTempFile>>,
    /// How much of the staged file is on its way to the disk already (see
    /// [`StagedFile::write_back`]), and about how much was written since.
    sent: u64,
    unsent: usize,
}

/// A staged file that replaces its target is sent on to the disk a slice of
/// about this size at a time as it is written, so that the commit's fsync
/// waits for the last slice rather than for the whole file.
const WRITE_BACK_BYTES: usize = 1 << 20;

/// Appended lines go out in writes of about this size, each ending with a
/// line break, so another writer's lines never land inside one of ours.
const APPEND_CHUNK: usize = 1 << 20;

impl StagedFile {
    /// Creates the temporary file beside `path`'s target (and the target's
    /// directory), so that a target that cannot be written fails before any
    /// work is done.
    pub fn new(path: &Path, kinds: RecordKinds, keep: Keep) -> io::Result<StagedFile> {
        let target = resolve(path);
        create_parent(&target)?;
        let dir = match target.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d,
            None => Path::new("."),
        };
        let name = target
            .file_name()
            .map_or_else(|| "records".into(), |n| n.to_string_lossy().into_owned());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // As `File::create` would: 0666 less the umask.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir)?;
        Ok(StagedFile {
            path: path.to_path_buf(),
            target,
            kinds,
            keep,
            written: false,
            out: Some(BufWriter::with_capacity(256 * 1024, tmp)),
            sent: 0,
            unsent: 0,
        })
    }

    /// Starts the disk writing what is staged and not yet sent, without
    /// waiting for it: the commit's fsync then finds most of the file
    /// written. Only for a file the commit fsyncs (one replacing its
    /// target); a hint, whose failure the fsync would report.
    fn write_back(&mut self) -> io::Result<()> {
        let sent = self.sent;
        let out = self.out()?;
        out.flush()?;
        let file = out.get_ref().as_file();
        let end = file.metadata()?.len();
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (offset, len) = (sent as _, (end - sent) as _);
            // SAFETY: `file` is an open descriptor for the duration of the
            // call, which reads no memory of ours.
            #[allow(unsafe_code)]
            let _ = unsafe {
                libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
            };
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (file, sent);
        self.sent = end;
        Ok(())
    }

    /// The temporary file, until the commit.
    pub fn temp_path(&self) -> Option<&Path> {
        self.out.as_ref().map(|o| o.get_ref().path())
    }

    fn out(&mut self) -> io::Result<&mut BufWriter<NamedTempFile>> {
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was already committed"))
    }

    /// Appends the staged records to the target, after a line break when
    /// its last line has none, and fsyncs it.
    fn append(&self, tmp: &mut File) -> io::Result<()> {
        use std::io::{BufRead, BufReader, Seek, SeekFrom};
        use std::os::unix::fs::FileExt;
        if tmp.metadata()?.len() == 0 {
            return Ok(());
        }
        let mut target = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.target)?;
        let mut chunk = Vec::with_capacity(APPEND_CHUNK);
        let len = target.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            target.read_exact_at(&mut last, len - 1)?;
            if last[0] != b'\n' {
                chunk.push(b'\n');
            }
        }
        tmp.seek(SeekFrom::Start(0))?;
        let mut lines = BufReader::with_capacity(256 * 1024, tmp);
        loop {
            let n = lines.read_until(b'\n', &mut chunk)?;
            if n == 0 || chunk.len() >= APPEND_CHUNK {
                target.write_all(&chunk)?;
                chunk.clear();
            }
            if n == 0 {
                break;
            }
        }
        target.sync_data()
    }

    /// Renames the staged file over the target, keeping its permissions.
    fn replace(&self, tmp: NamedTempFile) -> io::Result<()> {
        tmp.as_file().sync_data()?;
        if let Ok(meta) = std::fs::metadata(&self.target) {
            std::fs::set_permissions(tmp.path(), meta.permissions())?;
        }
        tmp.persist(&self.target).map_err(|e| e.error)?;
        // The rename itself is durable once the directory is.
        let dir = match self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d,
            None => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Sink for StagedFile {
    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn write(&mut self, records: &[Record]) -> anyhow::Result<usize> {
        self.written = true;
        let kinds = self.kinds;
        if self.keep != Keep::Replace {
            return Ok(write_records(self.out()?, records, &kinds)?);
        }
        // In slices of about WRITE_BACK_BYTES, each sent on once written.
        let (mut n, mut from) = (0, 0);
        for (i, r) in records.iter().enumerate() {
            self.unsent += r.json.len() + 1;
            if self.unsent >= WRITE_BACK_BYTES {
                n += write_records(self.out()?, &records[from..=i], &kinds)?;
                self.write_back()?;
                (from, self.unsent) = (i + 1, 0);
            }
        }
        n += write_records(self.out()?, &records[from..], &kinds)?;
        Ok(n)
    }

    fn staged(&self) -> Option<&Path> {
        self.temp_path()
    }

    fn target(&self) -> Option<&Path> {
        Some(&self.target)
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        if !self.written {
            // Nothing was written: the target keeps its lines as they are.
            return Ok(());
        }
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let mut tmp = out.into_inner().map_err(|e| e.into_error())?;
        match self.keep {
            // Dropping `tmp` removes the temporary file.
            Keep::Append => self.append(tmp.as_file_mut())?,
            Keep::Replace => self.replace(tmp)?,
        }
        Ok(())
    }
}

/// `path` with its symlinks resolved: the file a rename must replace to
/// keep a symlink a symlink. A link to a file not yet created resolves to
/// that file; a path that is no link stays as it is.
fn resolve(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let mut p = path.to_path_buf();
    // A dangling link (or chain of links): follow it by hand, as the kernel
    // would, up to its own limit of hops.
    for _ in 0..40 {
        let Ok(link) = std::fs::read_link(&p) else {
            break;
        };
        p = match p.parent() {
            Some(dir) if link.is_relative() => dir.join(link),
            _ => link,
        };
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordKind;

    fn record(n: u32) -> Record {
        Record {
            kind: RecordKind::Window,
            key: format!("a|{n}"),
            json: format!("{{\"kind\":\"window\",\"n\":{n}}}"),
        }
    }

    fn staged(path: &Path, keep: Keep, n: u32) -> StagedFile {
        let mut s = StagedFile::new(path, RecordKinds::default(), keep).expect("stage");
        Sink::write(&mut s, &(0..n).map(record).collect::<Vec<_>>()).expect("write");
        s
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn appending_ends_a_ragged_last_line_and_adds_only_the_new_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "old 1\nold 2").expect("write");
        let mut s = staged(&path, Keep::Append, 2);
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "old 1\nold 2",
            "nothing reaches the target before the commit"
        );
        Sink::commit(&mut s).expect("commit");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "old 1\nold 2\n{\"kind\":\"window\",\"n\":0}\n{\"kind\":\"window\",\"n\":1}\n"
        );
        drop(s);
        assert_eq!(entries(dir.path()), ["r.jsonl"]);
    }

    #[test]
    fn records_past_one_append_chunk_arrive_whole_and_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let n = 60_000;
        let mut s = staged(&path, Keep::Append, n);
        Sink::commit(&mut s).expect("commit");
        let expected: String = (0..n)
            .map(|i| format!("{{\"kind\":\"window\",\"n\":{i}}}\n"))
            .collect();
        assert!(expected.len() > APPEND_CHUNK, "the test spans two chunks");
        assert!(std::fs::read_to_string(&path).expect("read") == expected);
    }

    /// A replacing file sent on to the disk slice by slice holds every
    /// wanted record once, in order, however the writes fall across the
    /// slices, and counts only those.
    #[test]
    fn records_sent_on_slice_by_slice_replace_the_target_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "old\n").expect("write");
        let kinds = RecordKinds {
            slo: false,
            ..RecordKinds::default()
        };
        let mut s = StagedFile::new(&path, kinds, Keep::Replace).expect("stage");
        let records: Vec<Record> = (0..150_000)
            .map(|n| Record {
                kind: if n % 7 == 0 {
                    RecordKind::Slo
                } else {
                    RecordKind::Window
                },
                ..record(n)
            })
            .collect();
        let mut counted = 0;
        // One write of more than three slices, then writes of odd sizes.
        let (first, rest) = records.split_at(90_000);
        counted += Sink::write(&mut s, first).expect("write");
        for part in rest.chunks(7_919) {
            counted += Sink::write(&mut s, part).expect("write");
        }
        // Slices are counted across writes: 4.3 MB of lines, 3.7 MB wanted.
        assert!(
            s.sent > 3 * WRITE_BACK_BYTES as u64 * 6 / 7,
            "sent on as written"
        );
        Sink::commit(&mut s).expect("commit");
        let wanted: Vec<&Record> = records
            .iter()
            .filter(|r| r.kind != RecordKind::Slo)
            .collect();
        assert_eq!(counted, wanted.len());
        let expected: String = wanted.iter().map(|r| format!("{}\n", r.json)).collect();
        assert!(std::fs::read_to_string(&path).expect("read") == expected);
        drop(s);
        assert_eq!(entries(dir.path()), ["r.jsonl"]);
    }

    #[test]
    fn a_dangling_symlink_stays_a_link_in_both_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (keep, name) in [(Keep::Append, "a"), (Keep::Replace, "r")] {
            let link = dir.path().join(format!("{name}.jsonl"));
            std::os::unix::fs::symlink(format!("sub/{name}-real.jsonl"), &link).expect("symlink");
            let mut s = staged(&link, keep, 1);
            Sink::commit(&mut s).expect("commit");
            drop(s);
            let meta = std::fs::symlink_metadata(&link).expect("lstat");
            assert!(meta.file_type().is_symlink(), "{keep:?}: still a link");
            assert_eq!(
                std::fs::read_to_string(dir.path().join(format!("sub/{name}-real.jsonl")))
                    .expect("read the link's target"),
                "{\"kind\":\"window\",\"n\":0}\n",
                "{keep:?}"
            );
        }
        assert_eq!(
            entries(&dir.path().join("sub")),
            ["a-real.jsonl", "r-real.jsonl"]
        );
    }

    #[test]
    fn dropped_without_a_commit_or_committed_unwritten_the_target_is_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, "old\n").expect("write");
        drop(staged(&path, Keep::Replace, 3));
        let mut unwritten =
            StagedFile::new(&path, RecordKinds::default(), Keep::Append).expect("stage");
        Sink::commit(&mut unwritten).expect("commit");
        drop(unwritten);
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "old\n");
        assert_eq!(entries(dir.path()), ["r.jsonl"]);
    }
}
