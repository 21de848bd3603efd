//! The file behind a `[sink.buffer] type = "disk"` queue: the batches a
//! `drop_newest` sink has not acknowledged, one JSON line per batch, so
//! they survive a restart. A batch is appended (and fsynced) before the
//! sink is tried; once the sink acknowledges the head, the file is
//! rewritten with what is left (emptied when nothing is), beside itself and
//! renamed over, so a crash leaves the old queue or the new one, never half
//! of either. A torn last line — a crash while appending — is skipped when
//! the file is read back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::record::{Record, RecordKind};

/// One record as the file keeps it.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    kind: &'a str,
    key: std::borrow::Cow<'a, str>,
    json: std::borrow::Cow<'a, str>,
}

/// An open queue file.
pub struct Spool {
    path: PathBuf,
    file: File,
}

/// What [`Spool::open`] read back.
pub struct Loaded {
    pub spool: Spool,
    /// The batches found, oldest first.
    pub batches: Vec<Vec<Record>>,
    /// Lines that could not be read (a torn last line after a crash).
    pub skipped: usize,
}

impl Spool {
    /// Opens (or creates) the file and reads the batches it holds.
    pub fn open(path: &Path) -> anyhow::Result<Loaded> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the directory of the disk buffer {}",
                    path.display()
                )
            })?;
        }
        let text = match fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the disk buffer {}", path.display()))
            }
        };
        let mut batches = Vec::new();
        let mut skipped = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match decode(line) {
                Some(batch) => batches.push(batch),
                None => skipped += 1,
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the disk buffer {}", path.display()))?;
        let mut spool = Spool {
            path: path.to_path_buf(),
            file,
        };
        if skipped > 0 {
            // Leave only what was read, so the torn line does not stay
            // in front of the batches appended from now on.
            spool.rewrite(batches.iter().map(Vec::as_slice))?;
        }
        Ok(Loaded {
            spool,
            batches,
            skipped,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a batch and waits until it is on disk.
    pub fn append(&mut self, batch: &[Record]) -> io::Result<()> {
        let mut line = encode(batch)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }

    /// Replaces the file's batches with `batches`.
    pub fn rewrite<'a>(&mut self, batches: impl Iterator<Item = &'a [Record]>) -> io::Result<()> {
        let mut text = String::new();
        for b in batches {
            text.push_str(&encode(b)?);
            text.push('\n');
        }
        if text.is_empty() {
            self.file.set_len(0)?;
            return self.file.sync_data();
        }
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = self.path.with_file_name(tmp_name);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()?;
        }
        fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

fn encode(batch: &[Record]) -> io::Result<String> {
    let lines: Vec<Line<'_>> = batch
        .iter()
        .map(|r| Line {
            kind: match r.kind {
                RecordKind::Window => "window",
                RecordKind::Slo => "slo",
                RecordKind::Alert => "alert",
            },
            key: r.key.as_str().into(),
            json: r.json.as_str().into(),
        })
        .collect();
    serde_json::to_string(&lines).map_err(io::Error::other)
}

fn decode(line: &str) -> Option<Vec<Record>> {
    let lines: Vec<Line<'_>> = serde_json::from_str(line).ok()?;
    lines
        .into_iter()
        .map(|l| {
            let kind = match l.kind {
                "window" => RecordKind::Window,
                "slo" => RecordKind::Slo,
                "alert" => RecordKind::Alert,
                _ => return None,
            };
            Some(Record {
                kind,
                key: l.key.into_owned(),
                json: l.json.into_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: RecordKind, key: &str) -> Record {
        Record {
            kind,
            key: key.into(),
            // Quotes, a tab and non-ASCII survive the round trip.
            json: format!("{{\"k\":\"{key}\",\"s\":\"a\\\"b\\tc é\"}}"),
        }
    }

    #[test]
    fn batches_survive_a_reopen_and_a_rewrite_keeps_only_what_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hook.queue");
        let a = vec![rec(RecordKind::Window, "a|1"), rec(RecordKind::Slo, "a|2")];
        let b = vec![rec(RecordKind::Alert, "b|1")];
        {
            let mut l = Spool::open(&path).unwrap();
            assert!(l.batches.is_empty());
            l.spool.append(&a).unwrap();
            l.spool.append(&b).unwrap();
        }
        let mut l = Spool::open(&path).unwrap();
        assert_eq!(
            (l.batches.clone(), l.skipped),
            (vec![a.clone(), b.clone()], 0)
        );
        // The head acknowledged: only `b` is left, and a new batch follows it.
        l.spool.rewrite([b.as_slice()].into_iter()).unwrap();
        l.spool.append(&a).unwrap();
        let l = Spool::open(&path).unwrap();
        assert_eq!(l.batches, vec![b.clone(), a.clone()]);
        let mut l = l;
        l.spool.rewrite(std::iter::empty()).unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), 0);
        assert!(Spool::open(&path).unwrap().batches.is_empty());
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hook.queue");
        let a = vec![rec(RecordKind::Window, "a|1")];
        {
            let mut l = Spool::open(&path).unwrap();
            l.spool.append(&a).unwrap();
        }
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("[{\"kind\":\"window\",\"ke");
        fs::write(&path, text).unwrap();
        let mut l = Spool::open(&path).unwrap();
        assert_eq!((l.batches.clone(), l.skipped), (vec![a.clone()], 1));
        l.spool.append(&a).unwrap();
        let l = Spool::open(&path).unwrap();
        assert_eq!((l.batches, l.skipped), (vec![a.clone(), a], 0));
    }
}
