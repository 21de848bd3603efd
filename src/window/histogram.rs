//! The latency distribution of one SLI in one window: an HdrHistogram of
//! microseconds with two significant digits, beside the exact count, sum,
//! minimum and maximum in nanoseconds.
//!
//! A value is rounded to the nearest microsecond; from 256 us up, the
//! histogram's buckets are at most 1/128 of their value wide and a
//! percentile is reported at its bucket's midpoint, so it stays within 0.4%
//! of the exact value (plus half a microsecond). Counts are integers, so
//! merging in any order gives the same histogram, the same percentiles and
//! the same encoding: multi-threaded and replayed runs stay byte-identical.
//!
//! Up to [`LIST_MAX`] values a histogram keeps them as a list of the
//! indexes of their buckets (2 bytes each) and moves them into
//! HdrHistogram's counts on the next one: with hundreds of SLIs most
//! windows are quiet, and a quiet window's HdrHistogram takes 2 to 15 KB.
//! Every answer (count, percentiles, encodings, equality, merges) is the
//! same from either form: both keep the bucket of each value, and the
//! exact minimum, maximum and sum beside it.
//!
//! Records carry the histogram in HdrHistogram's V2 compressed encoding,
//! base64 (the `HISTF...` form that the Java, Go and Python libraries read),
//! so a store of window records can merge windows into the percentiles of
//! any period.
//!
//! Why one long file: the counts, their percentiles, their encodings and
//! [`Merged`] share the private helpers that keep every encoding canonical
//! (`index_of`, `v2_into`, `add`, `quantile`, `deflate_v2`), and a third of
//! it is the tests that hold the encodings to the library's byte for byte.

use std::io::Read;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;

/// Significant decimal digits the histogram keeps.
const SIGFIG: u8 = 2;

/// Values a histogram keeps as a list before it moves them into counts.
pub const LIST_MAX: usize = 256;

/// Nanoseconds per recorded unit.
const NS_PER_US: u64 = 1_000;

/// An encoding (after decompression) larger than this is refused: a
/// window's takes a few kilobytes at most.
const MAX_ENCODED_BYTES: usize = 1 << 20;

/// The first four bytes of HdrHistogram's V2 encodings.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;

/// More significant digits than this would make a decoded histogram take
/// megabytes; this code writes 2.
const MAX_SIGFIG: u32 = 3;

type Hdr = hdrhistogram::Histogram<u64>;

/// Latency distribution of one SLI in one window.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    counts: Counts,
}

/// The values, in microseconds.
#[derive(Debug, Clone)]
enum Counts {
    /// The values' bucket indexes (see [`index_of`]), at most
    /// [`LIST_MAX`], in the order recorded, or sorted once the window is
    /// kept. Empty costs nothing, so SLIs without latencies cost nothing.
    List(Vec<u16>),
    /// Never empty.
    Hdr(Box<Hdr>),
}

impl Default for Counts {
    fn default() -> Counts {
        Counts::List(Vec::new())
    }
}

/// An empty histogram that grows to whatever it is given.
fn empty() -> Hdr {
    // Two significant digits is a valid precision: creation cannot fail.
    Hdr::new(SIGFIG).unwrap_or_else(|_| unreachable!("2 significant digits are supported"))
}

/// A histogram for its bucket arithmetic alone (which bucket a value falls
/// in, and that bucket's midpoint), the same at every size.
fn scale() -> &'static Hdr {
    static SCALE: std::sync::OnceLock<Hdr> = std::sync::OnceLock::new();
    SCALE.get_or_init(empty)
}

fn micros(ns: u64) -> u64 {
    ns.saturating_add(NS_PER_US / 2) / NS_PER_US
}

/// Records `us` in `hdr`. The histogram grows to any value below 2^63 us;
/// beyond (which no latency bound lets through) the value is clamped to
/// the top.
fn record_us(hdr: &mut Hdr, us: u64) {
    if hdr.record(us).is_err() {
        hdr.saturating_record(us);
    }
}

/// A list's values as counts: each as the lowest value of its bucket.
fn hdr_of(list: &[u16]) -> Hdr {
    let mut h = empty();
    for &index in list {
        record_us(&mut h, value_at(index.into()));
    }
    h
}

impl Counts {
    fn len(&self) -> u64 {
        match self {
            Counts::List(l) => l.len() as u64,
            Counts::Hdr(h) => h.len(),
        }
    }

    /// Makes these the counts form (from a list), and gives it.
    fn counted(&mut self) -> &mut Hdr {
        if let Counts::List(l) = self {
            *self = Counts::Hdr(Box::new(hdr_of(l)));
        }
        match self {
            Counts::Hdr(h) => h,
            Counts::List(_) => unreachable!("made counts just above"),
        }
    }

    /// `(highest value of the bucket, count)` of each bucket that holds
    /// values, by value: what both forms agree on.
    fn buckets(&self) -> Vec<(u64, u64)> {
        match self {
            Counts::Hdr(h) => h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
            Counts::List(l) => tally(
                sorted(l)
                    .iter()
                    .map(|&index| scale().highest_equivalent(value_at(index.into()))),
            ),
        }
    }

    /// The midpoint of the bucket of the value at each rank of `ranks`
    /// (1-based, ascending, each at most the count), handed to `put` with
    /// the place that goes with the rank.
    fn at_ranks(&self, ranks: &[(u64, usize)], mut put: impl FnMut(usize, u64)) {
        match self {
            Counts::List(l) => {
                let sorted = sorted(l);
                for &(rank, i) in ranks {
                    let index = sorted[(rank - 1) as usize];
                    put(i, scale().median_equivalent(value_at(index.into())));
                }
            }
            Counts::Hdr(h) => {
                let mut next = ranks.iter().peekable();
                let mut seen = 0u64;
                for v in h.iter_recorded() {
                    seen += v.count_at_value();
                    while let Some(&(_, i)) = next.next_if(|&&(rank, _)| seen >= rank) {
                        put(i, h.median_equivalent(v.value_iterated_to()));
                    }
                    if next.peek().is_none() {
                        break;
                    }
                }
            }
        }
    }

    /// The counts in HdrHistogram's V2 encoding, byte for byte what the
    /// library's serializer writes for them in a histogram that grew from
    /// empty to its largest value in one step: how a histogram grew shows
    /// in the highest trackable value the header carries, so this takes
    /// it from the values alone and every way of reaching the same counts
    /// encodes alike. Written here rather than by the library so that a
    /// list is not first made into counts (and counts are not copied into
    /// a histogram of canonical bounds) for each of millions of records.
    fn to_v2(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_v2(&mut out);
        out
    }

    /// [`Counts::to_v2`] onto the end of `out`.
    fn write_v2(&self, out: &mut Vec<u8>) {
        match self {
            Counts::List(l) => list_v2_into(out, &sorted(l)),
            Counts::Hdr(h) => v2_into(
                out,
                h.distinct_values().min(h.len() as usize),
                h.iter_recorded()
                    .map(|v| (index_of(v.value_iterated_to()), v.count_at_value())),
            ),
        }
    }
}

/// A list's values in ascending order: the list itself once sorted (see
/// [`Histogram::shrink_to_fit`]), else a sorted copy.
fn sorted(list: &[u16]) -> std::borrow::Cow<'_, [u16]> {
    if list.is_sorted() {
        return std::borrow::Cow::Borrowed(list);
    }
    let mut copy = list.to_vec();
    copy.sort_unstable();
    std::borrow::Cow::Owned(copy)
}

/// Sorts a list's bucket indexes by counting, a byte at a time (the low
/// byte, then the high one): for the hundred or so of a quiet window, a
/// third of the work of a comparison sort, and it runs as each of
/// thousands of windows closes.
fn sort_indexes(list: &mut [u16]) {
    if list.len() < 32 || list.len() > LIST_MAX {
        list.sort_unstable();
        return;
    }
    // Where each byte value's run starts, per byte. The largest index,
    // 7,423, has a high byte of 28.
    let (mut low, mut high) = ([0u16; 256], [0u16; 32]);
    for &v in list.iter() {
        low[usize::from(v & 0xff)] += 1;
        high[usize::from(v >> 8)] += 1;
    }
    let starts = |counts: &mut [u16]| {
        let mut at = 0;
        for c in counts.iter_mut() {
            (*c, at) = (at, at + *c);
        }
    };
    starts(&mut low);
    starts(&mut high);
    let mut by_low = [0u16; LIST_MAX];
    for &v in list.iter() {
        let at = &mut low[usize::from(v & 0xff)];
        by_low[usize::from(*at)] = v;
        *at += 1;
    }
    for &v in &by_low[..list.len()] {
        let at = &mut high[usize::from(v >> 8)];
        list[usize::from(*at)] = v;
        *at += 1;
    }
}

/// Ascending keys as `(key, how many times)`: a sorted list's values by
/// bucket (a bucket's top or index both rise with the value).
fn tally<K: PartialEq>(ascending: impl Iterator<Item = K>) -> Vec<(K, u64)> {
    let mut out: Vec<(K, u64)> = Vec::new();
    for key in ascending {
        match out.last_mut() {
            Some((k, n)) if *k == key => *n += 1,
            _ => out.push((key, 1)),
        }
    }
    out
}

/// Sub-buckets per bucket at two significant digits (unit resolution up
/// to 2 * 10^2, rounded up to a power of two), and its log2.
const SUB_BUCKETS: u64 = 256;
const SUB_BUCKET_BITS: u32 = 8;

/// The index of `us` in the counts of a histogram of [`SIGFIG`] digits
/// whose lowest discernible value is 1: buckets double in width, each
/// after the first holding its upper half of [`SUB_BUCKETS`] sub-buckets.
fn index_of(us: u64) -> usize {
    let bucket = (64 - SUB_BUCKET_BITS) - (us | (SUB_BUCKETS - 1)).leading_zeros();
    let sub = us >> bucket;
    (((u64::from(bucket) + 1) << (SUB_BUCKET_BITS - 1)) + sub - SUB_BUCKETS / 2) as usize
}

/// The V2 encoding of counts given as `(index, count)`, by index, none
/// zero (at most `runs` of them): the header, then each count as a zig-zag
/// LEB128 varint up to the last one, a run of two or more zeros as the
/// negated run's length.
/// It goes onto the end of `out`.
fn v2_into(out: &mut Vec<u8>, runs: usize, counts: impl Iterator<Item = (usize, u64)>) {
    // Two varints a count, each of one to nine bytes: room for all of
    // them, so that no push grows the vector (up to a few hundred).
    out.reserve(40 + runs.min(LIST_MAX) * 18);
    let at = v2_header(out);
    let mut next = 0usize;
    for (index, count) in counts {
        match index - next {
            0 => {}
            1 => varint(out, 0),
            zeros => varint(out, zig_zag(-(zeros as i64))),
        }
        varint(out, zig_zag(count.min(i64::MAX as u64) as i64));
        next = index + 1;
    }
    v2_finish(out, at, next);
}

/// [`v2_into`] for a list's indexes in ascending order, without a branch
/// on the size of a varint: a list's counts (at most [`LIST_MAX`]) and
/// the zeros between them (fewer than 7,424 buckets) zig-zag to less than
/// 2^14, one or two bytes each. It runs for each of millions of records.
fn list_v2_into(out: &mut Vec<u8>, sorted: &[u16]) {
    let at = v2_header(out);
    // At most two varints of two bytes a value.
    let start = out.len();
    out.resize(start + 4 * sorted.len(), 0);
    let buf = &mut out[start..];
    let (mut pos, mut next, mut i) = (0, 0usize, 0);
    while i < sorted.len() {
        let index = usize::from(sorted[i]);
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        // None, a single zero (0), or a run of them (its zig-zagged
        // negated length, 2 * zeros - 1).
        let zeros = index - next;
        let mark = if zeros == 1 {
            0
        } else {
            (2 * zeros).wrapping_sub(1)
        };
        pos += put_varint14(buf, pos, mark, zeros > 0);
        pos += put_varint14(buf, pos, 2 * (j - i), true);
        (next, i) = (index + 1, j);
    }
    out.truncate(start + pos);
    v2_finish(out, at, next);
}

/// Writes `v` (below 2^14 when `keep`) as a LEB128 varint at `buf[pos..]`,
/// two bytes whatever its size; returns how many of them it takes, none
/// unless `keep` (the next write then overwrites them).
#[inline(always)]
fn put_varint14(buf: &mut [u8], pos: usize, v: usize, keep: bool) -> usize {
    let two = usize::from(v >= 0x80);
    buf[pos] = (v as u8 & 0x7f) | ((two as u8) << 7);
    buf[pos + 1] = (v >> 7) as u8;
    usize::from(keep) * (1 + two)
}

/// A V2 header onto the end of `out`, its payload length and highest
/// trackable value left for [`v2_finish`]; returns where it starts.
fn v2_header(out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.extend_from_slice(&V2_COOKIE.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&u32::from(SIGFIG).to_be_bytes());
    out.extend_from_slice(&1u64.to_be_bytes());
    // The highest trackable value, written once the counts are.
    out.extend_from_slice(&0u64.to_be_bytes());
    out.extend_from_slice(&1.0f64.to_be_bytes());
    at
}

/// Fills in the header at `at` once the counts are written, `next` past
/// the last counted index.
fn v2_finish(out: &mut [u8], at: usize, next: usize) {
    // An empty histogram tracks 2 and covers the first bucket (0 to 255);
    // past it, it grows to the top of the largest value's bucket.
    let top = next
        .checked_sub(1)
        .map_or(0, |last| scale().highest_equivalent(value_at(last)));
    let highest = if top < SUB_BUCKETS { 2 } else { top };
    out[at + 24..at + 32].copy_from_slice(&highest.to_be_bytes());
    let len = (out.len() - at - 40) as u32;
    out[at + 4..at + 8].copy_from_slice(&len.to_be_bytes());
}

/// [`index_of`] as a list holds it: the largest index (of `u64::MAX`)
/// is 7,423.
fn list_index(us: u64) -> u16 {
    index_of(us) as u16
}

/// The lowest value of the sub-bucket at `index` (see [`index_of`]).
fn value_at(index: usize) -> u64 {
    let half = SUB_BUCKETS / 2;
    let index = index as u64;
    match (index >> (SUB_BUCKET_BITS - 1)).checked_sub(1) {
        None | Some(0) => index,
        Some(bucket) => ((index & (half - 1)) + half) << bucket,
    }
}

fn zig_zag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// HdrHistogram's LEB128-64b9B: seven bits a byte, low first, and a
/// ninth byte (if any) whole.
#[inline(always)]
fn varint(out: &mut Vec<u8>, mut n: u64) {
    // Most are one byte: a count below 64, a single zero.
    if n < 0x80 {
        out.push(n as u8);
        return;
    }
    for _ in 0..8 {
        if n < 0x80 {
            out.push(n as u8);
            return;
        }
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

impl Histogram {
    /// Records one value in nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        if self.counts.len() == 0 {
            self.min_ns = ns;
            self.max_ns = ns;
        } else {
            self.min_ns = self.min_ns.min(ns);
            self.max_ns = self.max_ns.max(ns);
        }
        self.sum_ns += u128::from(ns);
        let us = micros(ns);
        match &mut self.counts {
            Counts::List(l) if l.len() < LIST_MAX => l.push(list_index(us)),
            Counts::List(_) => record_us(self.counts.counted(), us),
            Counts::Hdr(h) => record_us(h, us),
        }
    }

    /// Adds another histogram's values to this one.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count() == 0 {
            return;
        }
        if self.count() == 0 {
            *self = other.clone();
            return;
        }
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
        self.sum_ns += other.sum_ns;
        match (&mut self.counts, &other.counts) {
            (Counts::List(ours), Counts::List(theirs)) if ours.len() + theirs.len() <= LIST_MAX => {
                ours.extend_from_slice(theirs)
            }
            (ours, Counts::List(theirs)) => {
                let ours = ours.counted();
                for &index in theirs {
                    record_us(ours, value_at(index.into()));
                }
            }
            (ours, Counts::Hdr(theirs)) => add(ours.counted(), theirs),
        }
    }

    /// Gives back the room its counts grew into but do not use. Counts
    /// grow like any vector, by doubling, so a histogram kept for long
    /// (a closed window waiting in memory) can hold up to twice what it
    /// needs; after this, [`Histogram::heap_bytes`] is what it holds. A
    /// list is also sorted, so its percentiles and encodings read it as it
    /// is rather than sorting a copy each.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.counts {
            Counts::List(l) => {
                sort_indexes(l);
                l.shrink_to_fit();
            }
            Counts::Hdr(h) => {
                if let Ok(mut exact) = Hdr::new_with_max(h.max().max(2), SIGFIG) {
                    exact.auto(true);
                    add(&mut exact, h);
                    **h = exact;
                }
            }
        }
    }

    /// About how many bytes of the heap the histogram holds.
    pub fn heap_bytes(&self) -> usize {
        match &self.counts {
            Counts::List(l) => l.capacity() * std::mem::size_of::<u16>(),
            Counts::Hdr(h) => {
                std::mem::size_of::<Hdr>() + h.distinct_values() * std::mem::size_of::<u64>()
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.len()
    }

    pub fn min_ns(&self) -> u64 {
        self.min_ns
    }

    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// The exact sum of all values, in nanoseconds.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }

    /// Exact mean in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum_ns as f64 / n as f64,
        }
    }

    /// The value of nearest rank `ceil(count * numerator / denominator)`:
    /// the exact minimum and maximum at the ends, a bucket's midpoint in
    /// between.
    pub fn quantile_ns(&self, numerator: u64, denominator: u64) -> u64 {
        self.quantiles_ns(&[(numerator, denominator)])[0]
    }

    /// [`Histogram::quantile_ns`] of each `(numerator, denominator)`, in
    /// their order, from one pass over the counts.
    pub fn quantiles_ns(&self, quantiles: &[(u64, u64)]) -> Vec<u64> {
        if self.count() == 0 {
            return vec![0; quantiles.len()];
        }
        let count = u128::from(self.count());
        let rank = |&(num, den): &(u64, u64)| match den {
            0 => u64::MAX,
            d => (count * u128::from(num))
                .div_ceil(u128::from(d))
                .clamp(1, count.max(1)) as u64,
        };
        // (rank, position in `quantiles`), by rank: on the stack for the
        // few percentiles an SLI asks, since this runs for every record.
        let mut few = [(0, 0); 8];
        let mut many = Vec::new();
        let ranks: &mut [(u64, usize)] = if quantiles.len() <= few.len() {
            &mut few[..quantiles.len()]
        } else {
            many.resize(quantiles.len(), (0, 0));
            &mut many
        };
        for (slot, (i, q)) in ranks.iter_mut().zip(quantiles.iter().enumerate()) {
            *slot = (rank(q), i);
        }
        ranks.sort_unstable();
        // A rank past the count (a zero denominator) answers the maximum.
        let within = ranks.partition_point(|&(rank, _)| rank <= self.count());
        let mut out = vec![self.max_ns; quantiles.len()];
        self.counts.at_ranks(&ranks[..within], |i, us| {
            out[i] = us.saturating_mul(NS_PER_US);
        });
        for v in &mut out {
            *v = (*v).clamp(self.min_ns, self.max_ns);
        }
        out
    }

    /// The histogram in HdrHistogram's V2 encoding (uncompressed), for the
    /// partials between ingest and rollup; `None` when empty.
    pub fn to_v2(&self) -> Option<Vec<u8>> {
        if self.count() == 0 {
            return None;
        }
        Some(self.counts.to_v2())
    }

    /// The histogram as a record carries it: V2 compressed, base64.
    pub fn to_base64(&self) -> Option<String> {
        if self.count() == 0 {
            return None;
        }
        // Both encodings on the way are kept, one pair a thread: a record
        // allocates only the text it carries.
        thread_local! {
            static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = Default::default();
        }
        BUFFERS.with_borrow_mut(|(v2, deflated)| {
            v2.clear();
            self.counts.write_v2(v2);
            deflated.clear();
            deflate_v2(v2, deflated)?;
            Some(base64::engine::general_purpose::STANDARD.encode(&deflated))
        })
    }

    /// Rebuilds a histogram from its exact parts and its V2 encoding (see
    /// [`Histogram::to_v2`]).
    pub fn from_v2(min_ns: u64, max_ns: u64, sum_ns: u128, v2: &[u8]) -> Result<Histogram> {
        let hdr = decode(v2)?;
        if hdr.is_empty() {
            bail!("an empty latency histogram");
        }
        Ok(Histogram {
            sum_ns,
            min_ns,
            max_ns,
            counts: Counts::Hdr(Box::new(hdr)),
        })
    }
}

impl PartialEq for Histogram {
    fn eq(&self, other: &Histogram) -> bool {
        (self.sum_ns, self.min_ns, self.max_ns) == (other.sum_ns, other.min_ns, other.max_ns)
            && self.counts.buckets() == other.counts.buckets()
    }
}

impl Eq for Histogram {}

/// The V2 compressed encoding of a V2 encoding: the cookie, the length of
/// what follows, then `v2` as a zlib stream, which HdrHistogram's
/// `V2DeflateSerializer` writes at zlib's default level and every
/// library's deserializer inflates. This one codes the bytes in one
/// Huffman block (see [`super::zlib`]): as small, and far cheaper for
/// millions of window records. It goes onto the end of `out`.
fn deflate_v2(v2: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let at = out.len();
    out.reserve(8 + v2.len());
    out.extend_from_slice(&V2_COMPRESSED_COOKIE.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    super::zlib::compress(v2, out);
    let len = u32::try_from(out.len() - at - 8).ok()?;
    out[at + 4..at + 8].copy_from_slice(&len.to_be_bytes());
    Some(())
}

/// Adds `theirs` to `ours`, growing `ours` as needed.
fn add(ours: &mut Hdr, theirs: &Hdr) {
    // `ours` resizes itself, so adding fails only past 2^63 us: clamp.
    if ours.add(theirs).is_err() {
        for v in theirs.iter_recorded() {
            ours.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// The value (in the histogram's unit) of nearest rank
/// `ceil(count * numerator / denominator)`: the midpoint of its bucket.
fn quantile(hdr: &Hdr, numerator: u64, denominator: u64) -> Option<u64> {
    let count = hdr.len();
    if count == 0 || denominator == 0 {
        return None;
    }
    let rank = (u128::from(count) * u128::from(numerator))
        .div_ceil(u128::from(denominator))
        .clamp(1, u128::from(count)) as u64;
    let mut seen = 0u64;
    for v in hdr.iter_recorded() {
        seen += v.count_at_value();
        if seen >= rank {
            return Some(hdr.median_equivalent(v.value_iterated_to()));
        }
    }
    None
}

/// Reads a V2 encoding, compressed or not, into a histogram that grows.
/// Sizes are checked before anything is allocated for them.
fn decode(bytes: &[u8]) -> Result<Hdr> {
    let be32 = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
            .context("a latency histogram that ends early")
    };
    let inflated;
    let plain = match be32(bytes, 0)? {
        V2_COOKIE => bytes,
        V2_COMPRESSED_COOKIE => {
            let mut out = Vec::new();
            let mut z = flate2::read::ZlibDecoder::new(bytes.get(8..).unwrap_or_default())
                .take(MAX_ENCODED_BYTES as u64 + 1);
            z.read_to_end(&mut out)
                .context("a latency histogram whose compression is broken")?;
            inflated = out;
            &inflated[..]
        }
        _ => bail!("not an HdrHistogram V2 encoding (its first bytes are not a V2 cookie)"),
    };
    if plain.len() > MAX_ENCODED_BYTES {
        bail!("a latency histogram of more than {MAX_ENCODED_BYTES} bytes");
    }
    let sigfig = be32(plain, 12)?;
    if sigfig > MAX_SIGFIG {
        bail!("a latency histogram of {sigfig} significant digits (at most {MAX_SIGFIG})");
    }
    let read: Hdr = Deserializer::new()
        .deserialize(&mut &plain[..])
        .map_err(|e| anyhow::anyhow!("{e:?}"))
        .context("not an HdrHistogram V2 encoding")?;
    // A decoded histogram has fixed bounds; merges need one that grows.
    let mut h = empty();
    add(&mut h, &read);
    Ok(h)
}

/// A histogram read back from a record's `latency_histogram`: percentiles
/// over any set of windows, merged in any order.
#[derive(Debug, Clone)]
pub struct Merged(Hdr);

impl Default for Merged {
    fn default() -> Merged {
        Merged(empty())
    }
}

impl Merged {
    /// Decodes a record's `latency_histogram` (V2, compressed or not, base64).
    pub fn from_base64(text: &str) -> Result<Merged> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .context("latency_histogram is not base64")?;
        decode(&bytes).map(Merged)
    }

    pub fn merge(&mut self, other: &Merged) {
        add(&mut self.0, &other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value of nearest rank `ceil(count * numerator / denominator)`
    /// in milliseconds, at its bucket's midpoint; `None` when empty.
    pub fn quantile_ms(&self, numerator: u64, denominator: u64) -> Option<f64> {
        quantile(&self.0, numerator, denominator).map(|us| us as f64 / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::{Serializer, V2Serializer};

    /// Microseconds recorded by the library itself, the tests' oracle.
    fn recorded(us: &[u64]) -> Hdr {
        let mut h = empty();
        for &u in us {
            record_us(&mut h, u);
        }
        h
    }

    /// The same counts in a histogram whose bounds depend on its values
    /// alone, as the library grows one from empty: the oracle for
    /// [`Counts::to_v2`]'s header.
    fn canonical(hdr: &Hdr) -> Hdr {
        let mut h = empty();
        add(&mut h, hdr);
        h
    }

    /// The compressed encoding is the library's V2 encoding through zlib,
    /// behind the compressed cookie and its length, and the library reads
    /// it back as it reads its own `V2DeflateSerializer`'s.
    #[test]
    fn the_library_reads_the_compressed_encoding_as_its_own() {
        use hdrhistogram::serialization::V2DeflateSerializer;
        let values = spread();
        for n in [1usize, 2, 17, 256, 300, 5_000, 20_000, 3, 1] {
            let mut h = Histogram::default();
            for &v in values.iter().take(n) {
                h.record(v);
            }
            let us: Vec<u64> = values.iter().take(n).map(|&v| micros(v)).collect();
            let hdr = canonical(&recorded(&us));
            let (mut v2, mut theirs) = (Vec::new(), Vec::new());
            V2Serializer::new()
                .serialize(&hdr, &mut v2)
                .expect("serialize");
            V2DeflateSerializer::new()
                .serialize(&hdr, &mut theirs)
                .expect("serialize");
            let ours = base64::engine::general_purpose::STANDARD
                .decode(h.to_base64().expect("an encoding"))
                .expect("base64");
            assert_eq!(ours[..4], theirs[..4], "{n} values: the cookie");
            assert_eq!(
                u32::from_be_bytes([ours[4], ours[5], ours[6], ours[7]]) as usize,
                ours.len() - 8
            );
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(&ours[8..])
                .read_to_end(&mut inflated)
                .expect("zlib reads it");
            assert_eq!(inflated, v2, "{n} values");
            let read = |bytes: &[u8]| -> Hdr {
                Deserializer::new()
                    .deserialize(&mut &bytes[..])
                    .expect("the library reads it")
            };
            let (a, b) = (read(&ours), read(&theirs));
            assert_eq!(a, b, "{n} values");
            assert_eq!(a.len(), n as u64);
        }
    }

    /// Either form's V2 encoding is the library's serializer's, byte for
    /// byte, for the same values in a histogram of canonical bounds: at
    /// zero, at the first bucket's edges, with single zeros and runs of
    /// them between counts, and up to the largest values kept.
    #[test]
    fn the_v2_encoding_is_the_librarys() {
        let cases: Vec<Vec<u64>> = vec![
            vec![0],
            vec![255],
            vec![256],
            vec![0, 1, 3, 3, 3, 255, 256, 257, 511, 512],
            vec![1 << 40, 7, 7, (1 << 40) + 12_345],
            vec![u64::MAX / 1_000],
            (0..300).map(|i| i * i).collect(),
            (0..5_000).map(|i| (i * 7_919) % 2_000_000).collect(),
            // Counts and runs of zeros about the size where a varint takes
            // a second byte, and a list's largest count.
            vec![5; 63],
            vec![5; 64],
            vec![5; LIST_MAX],
            vec![0, 64, 129],
            vec![0, u64::MAX / 2],
        ];
        // And lists of every shape: few values or many, repeated or not
        // (never none: an empty histogram has no encoding).
        let mut x = 0x0123_4567_u64;
        let random = (0..300).map(|_| {
            let len = 1 + crate::testing::below(&mut x, LIST_MAX as u64);
            let spread = 1 << crate::testing::below(&mut x, 40);
            (0..len)
                .map(|_| crate::testing::below(&mut x, spread))
                .collect::<Vec<u64>>()
        });
        for us in cases.into_iter().chain(random) {
            let mut theirs = Vec::new();
            V2Serializer::new()
                .serialize(&canonical(&recorded(&us)), &mut theirs)
                .expect("serialize");
            let listed = Counts::List(us.iter().map(|&u| list_index(u)).collect());
            let counted = Counts::Hdr(Box::new(recorded(&us)));
            assert_eq!(counted.to_v2(), theirs, "{us:?}");
            if us.len() <= LIST_MAX {
                assert_eq!(listed.to_v2(), theirs, "{us:?}");
            }
        }
    }

    /// Shrinking keeps every count and the encoding, and the histogram
    /// still grows when given larger values.
    #[test]
    fn shrinking_keeps_the_counts_and_the_growth() {
        let values = spread();
        let mut h = Histogram::default();
        for &v in &values {
            h.record(v);
        }
        let before = (h.to_v2(), h.quantile_ns(99, 100), h.count());
        h.shrink_to_fit();
        assert_eq!((h.to_v2(), h.quantile_ns(99, 100), h.count()), before);
        let mut whole = h.clone();
        h.record(3_600_000_000_000);
        whole.merge(&{
            let mut one = Histogram::default();
            one.record(3_600_000_000_000);
            one
        });
        assert_eq!(h.count(), values.len() as u64 + 1);
        assert_eq!(h.to_v2(), whole.to_v2());
        assert_eq!(h.max_ns(), 3_600_000_000_000);
    }

    fn exact_rank(sorted: &[u64], num: u64, den: u64) -> u64 {
        let n = sorted.len() as u64;
        let rank = (n * num).div_ceil(den).clamp(1, n);
        sorted[(rank - 1) as usize]
    }

    /// A spread of values from 50 us to 5 s, in a scrambled order.
    fn spread() -> Vec<u64> {
        (0..20_000u64)
            .map(|i| 50_000 + (i * 7919 % 20_000) * (i % 13 + 1) * 19_000)
            .collect()
    }

    const QUANTILES: [(u64, u64); 6] = [
        (1, 2),
        (9, 10),
        (99, 100),
        (999, 1000),
        (1, 1),
        (1, 100_000),
    ];

    #[test]
    fn quantiles_in_one_pass_equal_each_alone() {
        let mut h = Histogram::default();
        assert_eq!(h.quantiles_ns(&[(1, 2), (0, 0)]), [0, 0]);
        for v in spread() {
            h.record(v);
        }
        let asked = [
            (99, 100),
            (1, 2),
            (0, 1),
            (1, 1),
            (999, 1000),
            (1, 2),
            (7, 0),
        ];
        let one_by_one: Vec<u64> = asked.iter().map(|&(n, d)| h.quantile_ns(n, d)).collect();
        assert_eq!(h.quantiles_ns(&asked), one_by_one);
        assert!(one_by_one.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn quantiles_are_within_one_percent_of_nearest_rank() {
        let mut values = spread();
        let mut h = Histogram::default();
        for &v in &values {
            h.record(v);
        }
        values.sort_unstable();
        for (num, den) in QUANTILES {
            let exact = exact_rank(&values, num, den) as f64;
            let got = h.quantile_ns(num, den) as f64;
            assert!(
                (got - exact).abs() / exact <= 0.01,
                "q={num}/{den}: {got} vs {exact}"
            );
        }
        assert_eq!(h.count(), values.len() as u64);
        assert_eq!(h.min_ns(), values[0]);
        assert_eq!(h.max_ns(), *values.last().unwrap());
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
        assert!((h.mean_ns() - mean).abs() / mean < 1e-9);
    }

    #[test]
    fn merge_in_any_order_is_identical_down_to_the_encoding() {
        let values: Vec<u64> = (0..5000u64)
            .map(|i| (i * 104_729) % 3_000_000_000 + 1)
            .collect();
        let mut whole = Histogram::default();
        for &v in &values {
            whole.record(v);
        }
        let mut parts = vec![Histogram::default(); 3];
        for (i, &v) in values.iter().enumerate() {
            parts[i % 3].record(v);
        }
        let mut a = parts[2].clone();
        a.merge(&parts[0]);
        a.merge(&parts[1]);
        let mut b = Histogram::default();
        b.merge(&parts[1]);
        b.merge(&parts[2]);
        b.merge(&parts[0]);
        for h in [&a, &b] {
            assert_eq!(h, &whole);
            assert_eq!(h.to_v2(), whole.to_v2());
            assert_eq!(h.to_base64(), whole.to_base64());
            assert_eq!(h.quantile_ns(99, 100), whole.quantile_ns(99, 100));
        }
        // A histogram that grew by a merge encodes like one that grew by
        // recording.
        let (mut small, mut big) = (Histogram::default(), Histogram::default());
        small.record(3_000);
        big.record(9_000_000_000);
        let mut grown = small.clone();
        grown.merge(&big);
        let mut recorded = big.clone();
        recorded.record(3_000);
        assert_eq!(grown.to_base64(), recorded.to_base64());
        assert_eq!(grown.to_v2(), recorded.to_v2());
    }

    #[test]
    fn the_v2_encoding_round_trips() {
        let mut h = Histogram::default();
        for v in spread() {
            h.record(v);
        }
        let v2 = h.to_v2().unwrap();
        let back = Histogram::from_v2(h.min_ns(), h.max_ns(), h.sum_ns(), &v2).unwrap();
        assert_eq!(back, h);
        assert!(Histogram::from_v2(1, 2, 3, &v2[..v2.len() / 2]).is_err());
        assert!(Histogram::from_v2(1, 2, 3, b"not a histogram").is_err());
        assert_eq!(Histogram::default().to_v2(), None);
    }

    #[test]
    fn records_merge_into_the_percentiles_of_the_whole() {
        let mut values = spread();
        let mut merged = Merged::default();
        for chunk in values.chunks(1_000) {
            let mut h = Histogram::default();
            for &v in chunk {
                h.record(v);
            }
            let text = h.to_base64().unwrap();
            assert!(text.starts_with("HISTF"), "{text}");
            merged.merge(&Merged::from_base64(&text).unwrap());
        }
        values.sort_unstable();
        assert_eq!(merged.count(), values.len() as u64);
        for (num, den) in QUANTILES {
            let exact = exact_rank(&values, num, den) as f64 / 1e6;
            let got = merged.quantile_ms(num, den).unwrap();
            assert!(
                (got - exact).abs() / exact <= 0.01,
                "q={num}/{den}: {got} vs {exact}"
            );
        }
        assert!(Merged::from_base64("HISTF!!").is_err());
        assert!(Merged::from_base64("aGVsbG8=").is_err());
        assert_eq!(Merged::default().quantile_ms(1, 2), None);
    }

    /// The same values with their counts in HdrHistogram from the first.
    /// `values` in the counts form, recorded by the library from the
    /// microseconds themselves (not from a list's buckets).
    fn counted(values: &[u64]) -> Histogram {
        let mut h = Histogram::default();
        for &v in values {
            h.record(v);
        }
        let us: Vec<u64> = values.iter().map(|&v| micros(v)).collect();
        h.counts = Counts::Hdr(Box::new(recorded(&us)));
        h
    }

    /// Every answer of `a` is `b`'s, down to the encodings' bytes.
    fn assert_same(a: &Histogram, b: &Histogram, what: &str) {
        assert_eq!(a, b, "{what}");
        assert_eq!(a.count(), b.count(), "{what}");
        assert_eq!(
            (a.min_ns(), a.max_ns(), a.sum_ns()),
            (b.min_ns(), b.max_ns(), b.sum_ns()),
            "{what}"
        );
        let asked: Vec<(u64, u64)> = QUANTILES
            .iter()
            .copied()
            .chain([(0, 1), (1, 3), (2, 3), (7, 0), (255, 256), (1, 257)])
            .collect();
        assert_eq!(a.quantiles_ns(&asked), b.quantiles_ns(&asked), "{what}");
        for &(n, d) in &asked {
            assert_eq!(a.quantile_ns(n, d), b.quantile_ns(n, d), "{what}: {n}/{d}");
        }
        assert_eq!(a.to_v2(), b.to_v2(), "{what}");
        assert_eq!(a.to_base64(), b.to_base64(), "{what}");
    }

    /// Values around the top of HdrHistogram's first bucket (256 us, where
    /// a histogram first grows) and far above it.
    fn near_the_first_bucket(n: usize) -> Vec<u64> {
        (0..n as u64)
            .map(|i| match i % 4 {
                0 => 254_000 + i * 37 % 3_000,
                1 => 255_600 + i % 900,
                2 => 1_000 + i * 7_919 % 500_000,
                _ => 40_000_000 + i * 104_729,
            })
            .collect()
    }

    /// A list and HdrHistogram's counts give the same answers, on either
    /// side of the list's limit.
    #[test]
    fn a_list_answers_as_counts_do() {
        for n in [1, 2, 3, 100, 255, 256, 257, 300, 600] {
            for values in [near_the_first_bucket(n), spread()[..n].to_vec()] {
                let mut listed = Histogram::default();
                for &v in &values {
                    listed.record(v);
                }
                assert_eq!(
                    matches!(listed.counts, Counts::List(_)),
                    n <= LIST_MAX,
                    "{n} values"
                );
                assert_same(&listed, &counted(&values), &format!("{n} values"));
                let mut sorted = values.clone();
                sorted.sort_unstable();
                for (num, den) in [(1, 1), (1, 2), (99, 100), (1, n as u64 + 1)] {
                    let exact = exact_rank(&sorted, num, den) as f64;
                    let got = listed.quantile_ns(num, den) as f64;
                    // Within 1%, after rounding to the microsecond.
                    assert!(
                        (got - exact).abs() <= exact * 0.01 + 500.0,
                        "{n} values, {num}/{den}: {got} vs {exact}"
                    );
                }
            }
        }
    }

    /// Merges of lists, counts and both, either way round, equal the
    /// values recorded into one histogram.
    #[test]
    fn merges_of_either_form_either_way_round_are_the_whole() {
        let values = near_the_first_bucket(700);
        for (left, right) in [
            (1, 1),
            (100, 156),
            (100, 157),
            (256, 1),
            (3, 400),
            (400, 300),
        ] {
            let (a, b) = values[..left + right].split_at(left);
            let whole = counted(&values[..left + right]);
            let forms = |part: &[u64]| {
                let mut listed = Histogram::default();
                for &v in part {
                    listed.record(v);
                }
                [listed, counted(part)]
            };
            for ours in forms(a) {
                for theirs in forms(b) {
                    let mut ab = ours.clone();
                    ab.merge(&theirs);
                    assert_same(&ab, &whole, &format!("{left} + {right}"));
                    let mut ba = theirs.clone();
                    ba.merge(&ours);
                    assert_same(&ba, &whole, &format!("{right} + {left}"));
                }
            }
            let mut onto_empty = Histogram::default();
            onto_empty.merge(&forms(a)[0]);
            onto_empty.merge(&Histogram::default());
            assert_same(&onto_empty, &counted(a), "onto an empty one");
        }
    }

    /// A list takes 2 bytes a value, and shrinking (which sorts it) gives
    /// back the rest and changes no answer.
    #[test]
    fn a_list_takes_two_bytes_a_value() {
        let mut h = Histogram::default();
        assert_eq!(h.heap_bytes(), 0);
        for v in near_the_first_bucket(100) {
            h.record(v);
        }
        let before = h.clone();
        h.shrink_to_fit();
        assert_same(&h, &before, "shrunk");
        assert!(matches!(&h.counts, Counts::List(l) if l.is_sorted()));
        h.record(1_000);
        assert_same(
            &h,
            &counted(&[near_the_first_bucket(100), vec![1_000]].concat()),
            "then one more",
        );
        h.shrink_to_fit();
        assert_eq!(h.heap_bytes(), 101 * 2);
        assert!(counted(&near_the_first_bucket(100)).heap_bytes() > 2_000);
    }

    /// Every bucket index fits a list's 2 bytes, and the lowest value of a
    /// bucket is in that bucket, by the library's reckoning too: a list
    /// that holds indexes answers for the values it was given.
    #[test]
    fn a_bucket_index_fits_two_bytes_and_names_its_bucket() {
        assert_eq!(index_of(u64::MAX), 7_423);
        let lib = scale();
        let mut previous = None;
        for index in 0..=usize::from(list_index(u64::MAX)) {
            let low = value_at(index);
            assert_eq!(index_of(low), index);
            assert!(previous < Some(low), "buckets rise with their index");
            previous = Some(low);
            if low < 1 << 62 {
                assert_eq!(lib.lowest_equivalent(low), low, "{index}");
                assert_eq!(index_of(lib.highest_equivalent(low)), index, "{index}");
            }
        }
    }

    /// Sorting by counting orders a list as a comparison sort does, at
    /// every length a list takes.
    #[test]
    fn indexes_sorted_by_counting_are_in_order() {
        let mut x = 0x1D_u64;
        let indexes = u64::from(list_index(u64::MAX)) + 1;
        for len in 0..=LIST_MAX {
            let mut list: Vec<u16> = (0..len)
                .map(|_| crate::testing::below(&mut x, indexes) as u16)
                .collect();
            let mut want = list.clone();
            want.sort_unstable();
            sort_indexes(&mut list);
            assert_eq!(list, want, "{len} indexes");
        }
    }

    #[test]
    fn microseconds_are_rounded_and_huge_values_kept() {
        let mut h = Histogram::default();
        h.record(1_499);
        h.record(1_500);
        h.record(u64::MAX);
        assert_eq!(h.count(), 3);
        assert_eq!(h.quantile_ns(1, 3), 1_499, "the exact minimum");
        assert_eq!(h.quantile_ns(2, 3), 2_000, "1.5 us rounds to 2 us");
        assert_eq!(h.max_ns(), u64::MAX);
    }
}
