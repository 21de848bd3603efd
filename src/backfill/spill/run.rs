//! A spill run: closed windows written oldest first to a file of their own,
//! read back one window at a time.
//!
//! Each window is its start (`i64`, little-endian), how many of its SLIs
//! follow (`u32`), then per SLI its index (`u32`), the length (`u32`) and
//! the counts in the partials' encoding ([`crate::scale::codec`]). A window
//! in which no SLI counted an event is written with no SLI: it still closes
//! a window for the objectives, as it does in memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::scale::codec::{read_sli_window, write_sli_window};
use crate::window::{SliWindow, Window};

/// A run on disk.
#[derive(Debug)]
pub struct Run {
    pub path: PathBuf,
    /// The start of its oldest window.
    pub first_ns: i64,
    pub bytes: u64,
}

/// Writes windows, oldest first, to a new run.
pub struct RunWriter {
    out: BufWriter<File>,
    path: PathBuf,
    first_ns: Option<i64>,
    bytes: u64,
    scratch: Vec<u8>,
}

impl RunWriter {
    pub fn new(file: File, path: PathBuf) -> RunWriter {
        RunWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            path,
            first_ns: None,
            bytes: 0,
            scratch: Vec::new(),
        }
    }

    pub fn push(&mut self, w: &Window) -> io::Result<()> {
        self.first_ns.get_or_insert(w.start_ns);
        let present = w.slis.iter().filter(|s| has_counts(s)).count();
        self.out.write_all(&w.start_ns.to_le_bytes())?;
        self.out.write_all(&(present as u32).to_le_bytes())?;
        self.bytes += 12;
        for (i, s) in w.slis.iter().enumerate().filter(|(_, s)| has_counts(s)) {
            self.scratch.clear();
            write_sli_window(&mut self.scratch, s);
            self.out.write_all(&(i as u32).to_le_bytes())?;
            self.out
                .write_all(&(self.scratch.len() as u32).to_le_bytes())?;
            self.out.write_all(&self.scratch)?;
            self.bytes += 8 + self.scratch.len() as u64;
        }
        Ok(())
    }

    /// Flushes the run; `None` when it holds no window.
    pub fn finish(mut self) -> io::Result<Option<Run>> {
        self.out.flush()?;
        Ok(self.first_ns.map(|first_ns| Run {
            path: self.path,
            first_ns,
            bytes: self.bytes,
        }))
    }
}

fn has_counts(s: &SliWindow) -> bool {
    s.total > 0
        || s.invalid > 0
        || s.latency.count() > 0
        || !s.breakdown.is_empty()
        || s.groups.is_some()
}

/// Reads a run's windows back, oldest first.
pub struct RunReader {
    input: BufReader<File>,
    sli_count: usize,
    path: PathBuf,
    scratch: Vec<u8>,
}

impl RunReader {
    pub fn open(run: &Run, sli_count: usize) -> Result<RunReader> {
        let file = File::open(&run.path)
            .with_context(|| format!("cannot open the spill file {}", run.path.display()))?;
        Ok(RunReader {
            input: BufReader::with_capacity(1 << 16, file),
            sli_count,
            path: run.path.clone(),
            scratch: Vec::new(),
        })
    }

    /// The next window, or `None` at the end of the run.
    pub fn next_window(&mut self) -> Result<Option<Window>> {
        let context = || {
            format!(
                "cannot read the spill file {}: was it changed or its disk full?",
                self.path.display()
            )
        };
        let mut head = [0u8; 12];
        match read_full(&mut self.input, &mut head).with_context(context)? {
            0 => return Ok(None),
            12 => {}
            _ => bail!("{}: it ends inside a window", context()),
        }
        let start_ns = i64::from_le_bytes(head[..8].try_into().unwrap_or_default());
        let present = u32::from_le_bytes(head[8..].try_into().unwrap_or_default()) as usize;
        let mut slis = vec![SliWindow::default(); self.sli_count].into_boxed_slice();
        for _ in 0..present {
            let mut entry = [0u8; 8];
            self.input.read_exact(&mut entry).with_context(context)?;
            let i = u32::from_le_bytes(entry[..4].try_into().unwrap_or_default()) as usize;
            let len = u32::from_le_bytes(entry[4..].try_into().unwrap_or_default()) as usize;
            if i >= self.sli_count || len > 1 << 26 {
                bail!("{}: a window entry out of range", context());
            }
            self.scratch.resize(len, 0);
            self.input
                .read_exact(&mut self.scratch)
                .with_context(context)?;
            slis[i] = read_sli_window(&self.scratch).with_context(context)?;
        }
        Ok(Some(Window { start_ns, slis }))
    }
}

/// Reads into `buf` until it is full or the input ends; how many bytes.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The path of run number `n` in `dir`.
pub fn path(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("run-{n:06}.bin"))
}
