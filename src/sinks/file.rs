//! The `file` sink: records as JSON lines, appended to a file; and the
//! staged form a backfill uses, which writes a temporary file beside the
//! target and renames it into place only once every record is written, so a
//! failed run never leaves the target emptied or half-written.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::Sink;
use crate::config::RecordKinds;
use crate::record::Record;

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

/// A file written in full before it replaces its target: records go to a
/// temporary file in the target's directory (after a copy of the old lines
/// when appending), and [`Sink::commit`] renames it over the target. Dropped
/// without a commit, the temporary file is removed and the target is left
/// exactly as it was.
pub struct StagedFile {
    path: PathBuf,
    kinds: RecordKinds,
    keep: Keep,
    /// `None` once committed.
    out: Option<BufWriter<NamedTempFile>>,
}

impl StagedFile {
    /// Creates the temporary file beside `path` (and `path`'s directory), so
    /// that a target that cannot be written fails before any work is done.
    pub fn new(path: &Path, kinds: RecordKinds, keep: Keep) -> io::Result<StagedFile> {
        create_parent(path)?;
        let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d,
            None => Path::new("."),
        };
        let name = path
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
            kinds,
            keep,
            out: Some(BufWriter::with_capacity(256 * 1024, tmp)),
        })
    }

    fn out(&mut self) -> io::Result<&mut BufWriter<NamedTempFile>> {
        self.out
            .as_mut()
            .ok_or_else(|| io::Error::other("the file was already committed"))
    }

    /// Copies the target's current lines into the temporary file, ending
    /// them with a line break when the last one had none.
    fn copy_old(&mut self) -> io::Result<()> {
        let mut old = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let copied = io::copy(&mut old, self.out()?)?;
        if copied > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            old.seek(SeekFrom::Start(copied - 1))?;
            old.read_exact(&mut last)?;
            if last[0] != b'\n' {
                self.out()?.write_all(b"\n")?;
            }
        }
        Ok(())
    }
}

impl Sink for StagedFile {
    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn write(&mut self, records: &[Record]) -> anyhow::Result<usize> {
        if self.keep == Keep::Append {
            self.copy_old()?;
            // Copied once: a second write appends to what is staged.
            self.keep = Keep::Replace;
        }
        let kinds = self.kinds;
        Ok(write_records(self.out()?, records, &kinds)?)
    }

    fn commit(&mut self) -> anyhow::Result<()> {
        if self.keep == Keep::Append {
            // Nothing was written: the target keeps its lines as they are.
            return Ok(());
        }
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let tmp = out.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_data()?;
        if let Ok(meta) = std::fs::metadata(&self.path) {
            std::fs::set_permissions(tmp.path(), meta.permissions())?;
        }
        tmp.persist(&self.path).map_err(|e| e.error)?;
        // The rename itself is durable once the directory is.
        let dir = match self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d,
            None => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
