//! The `file` sink: records as JSON lines, appended to a file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

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
        Self::open(path, kinds, false)
    }

    /// Opens `path` empty, replacing what was there.
    pub fn create(path: &Path, kinds: RecordKinds) -> io::Result<FileSink> {
        Self::open(path, kinds, true)
    }

    fn open(path: &Path, kinds: RecordKinds, truncate: bool) -> io::Result<FileSink> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if truncate {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        let file = options.open(path)?;
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
        let mut n = 0;
        for r in records.iter().filter(|r| r.kind.wanted_by(&self.kinds)) {
            self.out.write_all(r.json.as_bytes())?;
            self.out.write_all(b"\n")?;
            n += 1;
        }
        Ok(n)
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
