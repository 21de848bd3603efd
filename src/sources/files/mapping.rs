//! A whole file mapped read-only, its pages mapped ahead of the workers and
//! dropped again behind them.
//!
//! The one caveat of maps, as for every tool that reads files this way: the
//! file must not change while it is read. Archived logs do not; a file that
//! another program truncates meanwhile ends the process (SIGBUS). Such files
//! are read with `backfill --no-mmap`.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::sync::Mutex;

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

/// A whole file mapped read-only. Pages are mapped on first touch and
/// dropped again through [`Mapping::release`] once their lines are counted,
/// so the resident memory is about the chunks in flight, not the file.
pub struct Mapping {
    map: Mmap,
    read: Mutex<Read>,
}

/// How much of a mapping is read, and dropped from memory.
#[derive(Default)]
struct Read {
    /// Every byte before this is read.
    prefix: usize,
    /// Ranges read after a gap: start to end.
    pending: BTreeMap<usize, usize>,
    /// The pages before this (a page boundary) are dropped.
    dropped: usize,
}

/// The granularity of the pages this module drops: the smallest page size
/// of the systems it runs on. Where pages are larger, each piece of advice
/// is widened to whole pages, which changes nothing but what stays resident.
const PAGE: usize = 4096;

/// Bytes read but kept mapped before they are dropped, more than the kernel
/// maps around a page touched.
const MARGIN: usize = 4 << 20;

impl Mapping {
    /// Maps `file`, of `len` bytes. `None` when it cannot be mapped (it is
    /// empty, or the system refuses): it is read the usual way.
    pub fn new(file: &File, len: u64) -> Option<Mapping> {
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        // SAFETY: a private read-only map of a file we hold open. What the
        // map cannot promise is that no other program changes the file
        // meanwhile; archived logs are not written to, and the module's doc
        // (and `backfill --help`) sends files that may be truncated to
        // `--no-mmap`, which reads them with read(2).
        #[allow(unsafe_code)]
        let map = unsafe { MmapOptions::new().len(len).map_copy_read_only(file) }.ok()?;
        // Advice only: failing loses read-ahead, nothing else.
        let _ = map.advise(Advice::Sequential);
        Some(Mapping {
            map,
            read: Mutex::default(),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Maps the pages of `range` into this process's memory in one call,
    /// before a worker reads them: cheaper than a page fault every few
    /// pages. Ignored where the system does not know the advice (Linux
    /// before 5.14, other systems).
    pub fn populate(&self, range: Range<usize>) {
        let end = range.end.min(self.map.len());
        if range.start < end {
            #[cfg(target_os = "linux")]
            let _ = self
                .map
                .advise_range(Advice::PopulateRead, range.start, end - range.start);
        }
    }

    /// Drops the pages wholly inside `range` at once, before the bytes
    /// before them are read: for a line too long to keep, read only to
    /// find its end.
    pub fn drop_pages(&self, range: Range<usize>) {
        self.dont_need(range.start.next_multiple_of(PAGE), range.end / PAGE * PAGE);
    }

    /// Drops the pages from `start` (a page boundary) to `end` from this
    /// process's memory.
    fn dont_need(&self, start: usize, end: usize) {
        let end = end.min(self.map.len());
        if start < end {
            // SAFETY: memmap2 calls `DontNeed` unchecked because on an
            // anonymous or written private map it loses data behind a live
            // borrow. This map is file-backed and never written (it is
            // mapped read-only): a dropped page is read again from the file
            // when touched, with the same bytes, so the slices lent out by
            // `bytes` keep their contents.
            #[allow(unsafe_code)]
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }

    /// Marks `range` as read. Once every byte before a point is read, the
    /// pages there leave this process's memory (they stay in the page cache).
    /// The last [`MARGIN`] bytes before that point stay a while: the kernel
    /// maps pages around each one touched, and a worker starting on the next
    /// chunk could map them again, for nobody to drop.
    pub fn release(&self, range: Range<usize>) {
        let Ok(mut guard) = self.read.lock() else {
            return;
        };
        let read = &mut *guard;
        read.pending.insert(range.start, range.end);
        while let Some(end) = read.pending.remove(&read.prefix) {
            read.prefix = end;
        }
        let len = self.map.len();
        let upto = read.prefix.saturating_sub(MARGIN) / PAGE * PAGE;
        if upto >= read.dropped + MARGIN || read.prefix == len {
            let end = if read.prefix == len { len } else { upto };
            self.dont_need(read.dropped, end);
            read.dropped = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(m: &Mapping) -> (usize, usize, usize) {
        let r = m.read.lock().expect("lock");
        (r.prefix, r.dropped, r.pending.len())
    }

    /// Pages are dropped once everything before them is read, a margin
    /// behind, and all of them at the end; out-of-order ranges wait.
    #[test]
    fn pages_are_dropped_behind_the_read_prefix() {
        let len = 3 * MARGIN + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().expect("tempfile");
        std::io::Write::write_all(&mut file, &data).expect("write");
        let m = Mapping::new(&file, len as u64).expect("map");
        assert!(m.bytes() == &data[..]);
        let mb = 1 << 20;

        m.release(0..3);
        m.release(3 + mb..3 + 2 * mb);
        assert_eq!(state(&m), (3, 0, 1), "a gap: nothing more is read");
        m.release(3..3 + mb);
        assert_eq!(state(&m), (3 + 2 * mb, 0, 0), "less than a margin read");
        m.release(3 + 2 * mb..2 * MARGIN + 5);
        let upto = (2 * MARGIN + 5 - MARGIN) / PAGE * PAGE;
        assert_eq!(state(&m), (2 * MARGIN + 5, upto, 0));
        m.release(2 * MARGIN + 5..len);
        assert_eq!(state(&m), (len, len, 0), "all dropped at the end");
        // Dropped pages read back the same bytes.
        assert!(m.bytes() == &data[..]);
    }

    /// The resident kilobytes of this process's mapping that starts at
    /// `addr`, as the kernel counts them in /proc/self/smaps.
    #[cfg(target_os = "linux")]
    fn resident_kb(addr: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let start = format!("{addr:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        assert!(lines.next().is_some(), "no mapping at {addr:x}");
        let rss = lines.find_map(|l| l.strip_prefix("Rss:")).expect("Rss");
        rss.trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .expect("kB")
    }

    /// The advice reaches the kernel: populated pages are resident before
    /// they are read (Linux 5.14 and later), and released ones leave the
    /// process, to be read back with the same bytes.
    #[cfg(target_os = "linux")]
    #[test]
    fn populated_pages_are_resident_and_released_ones_are_not() {
        let len = 4 * MARGIN;
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let mut file = tempfile::tempfile().expect("tempfile");
        std::io::Write::write_all(&mut file, &data).expect("write");
        let m = Mapping::new(&file, len as u64).expect("map");
        let addr = m.bytes().as_ptr() as usize;
        let all_kb = (len / 1024) as u64;

        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
        let mut version = release
            .split(['.', '-'])
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (version.next().unwrap_or(0), version.next().unwrap_or(0));
        if (major, minor) >= (5, 14) {
            m.populate(0..len);
            assert!(
                resident_kb(addr) >= all_kb,
                "{} of {all_kb} kB",
                resident_kb(addr)
            );
        }
        let sum: u64 = m.bytes().iter().map(|&b| u64::from(b)).sum();
        assert!(resident_kb(addr) >= all_kb);
        m.release(0..len);
        assert_eq!(resident_kb(addr), 0, "every page is dropped");
        assert!(m.bytes() == &data[..]);
        assert_eq!(sum, data.iter().map(|&b| u64::from(b)).sum::<u64>());
    }
}
