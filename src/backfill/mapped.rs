//! Plain files read through a read-only memory map: the workers decode the
//! page cache in place, with no copy into a buffer on the way.
//!
//! The one caveat of maps, as for every tool that reads files this way: the
//! file must not change while it is read. Archived logs do not; a file that
//! another program truncates meanwhile ends the process (SIGBUS). Such files
//! are read with `backfill --no-mmap`.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

/// A whole file mapped read-only. Pages are mapped on first touch and
/// dropped again through [`Mapping::release`] once their lines are counted,
/// so the resident memory is about the chunks in flight, not the file.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
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

/// `MADV_POPULATE_READ` (Linux 5.14), which the libc crate does not name
/// on every target.
const MADV_POPULATE_READ: libc::c_int = 22;

/// Bytes read but kept mapped before they are dropped, more than the kernel
/// maps around a page touched.
const MARGIN: usize = 4 << 20;

// SAFETY: the mapping is read-only and never moves until dropped: sharing it
// between threads is sharing a `&[u8]`.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `file`, of `len` bytes. `None` when it cannot be mapped (it is
    /// empty, or the system refuses): it is read the usual way.
    pub fn new(file: &File, len: u64) -> Option<Mapping> {
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        // SAFETY: a fresh private read-only mapping of a file we hold open;
        // the result is checked for MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: advice on our own mapping; failure only loses read-ahead.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Some(Mapping {
            ptr,
            len,
            read: Mutex::default(),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `self` drops.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }

    /// Maps the pages of `range` into this process's memory in one call,
    /// before a worker reads them: cheaper than a page fault every few
    /// pages. Ignored where the system does not know the advice.
    pub fn populate(&self, range: Range<usize>) {
        let page = page_size();
        let start = range.start / page * page;
        let end = range.end.min(self.len);
        if start < end {
            // SAFETY: advice on pages within our read-only mapping; reading
            // them ahead changes nothing but when they are read.
            unsafe {
                libc::madvise(
                    self.ptr.cast::<u8>().add(start).cast(),
                    end - start,
                    MADV_POPULATE_READ,
                )
            };
        }
    }

    /// Drops the pages wholly inside `range` at once, before the bytes
    /// before them are read: for a line too long to keep, read only to
    /// find its end.
    pub fn drop_pages(&self, range: Range<usize>) {
        let page = page_size();
        self.dont_need(range.start.next_multiple_of(page), range.end / page * page);
    }

    /// Drops the pages from `start` (a page boundary) to `end` from this
    /// process's memory.
    fn dont_need(&self, start: usize, end: usize) {
        if start < end {
            // SAFETY: the pages are within our mapping, which is read-only
            // and file-backed: dropping them loses nothing, and touching them
            // again maps them again.
            unsafe {
                libc::madvise(
                    self.ptr.cast::<u8>().add(start).cast(),
                    end - start,
                    libc::MADV_DONTNEED,
                )
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
        let page = page_size();
        let upto = read.prefix.saturating_sub(MARGIN) / page * page;
        if upto >= read.dropped + MARGIN || read.prefix == self.len {
            let end = if read.prefix == self.len {
                self.len
            } else {
                upto
            };
            self.dont_need(read.dropped, end);
            read.dropped = end;
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped, once.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
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
        let page = page_size();
        let upto = (2 * MARGIN + 5 - MARGIN) / page * page;
        assert_eq!(state(&m), (2 * MARGIN + 5, upto, 0));
        m.release(2 * MARGIN + 5..len);
        assert_eq!(state(&m), (len, len, 0), "all dropped at the end");
        // Dropped pages read back the same bytes.
        assert!(m.bytes() == &data[..]);
    }
}
