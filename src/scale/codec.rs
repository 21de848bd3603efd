//! The messages of the partials topic, in a compact binary form: a version
//! byte, a kind byte, then unsigned LEB128 varints (zigzag for signed
//! values) and length-prefixed strings; a latency histogram is a
//! length-prefixed HdrHistogram V2 encoding.
//!
//! - `Partial`: one source partition's counts of one window for the SLIs
//!   that meet on this partials partition, *cumulative* up to `through`
//!   (the next source offset not read). A later version of the same
//!   (source partition, window) replaces an earlier one; the same version
//!   twice is a duplicate.
//! - `Progress`: where each of an ingest instance's source partitions
//!   stands. Every partial of a partition for a window ending at or before
//!   its `frontier` precedes this message on every partials partition.

use anyhow::{bail, Context, Result};

use crate::window::{Groups, Histogram, SliWindow, TopValues};

/// 2: latencies as HdrHistogram V2 encodings; 3: the groups of grouped SLIs.
const VERSION: u8 = 3;
const KIND_PARTIAL: u8 = 1;
const KIND_PROGRESS: u8 = 2;

pub use crate::stream::Source;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub source: Source,
    pub start_ns: i64,
    /// The counts cover the source's offsets below this.
    pub through: i64,
    /// Per SLI (by name), its counts in the window; SLIs with no event are
    /// left out.
    pub slis: Vec<(String, SliWindow)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceState {
    pub frontier_ns: i64,
    pub watermark_ns: Option<i64>,
    pub idle: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Partial(Partial),
    Progress(Vec<(Source, SourceState)>),
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256));
        w.0.push(VERSION);
        match self {
            Message::Partial(p) => {
                w.0.push(KIND_PARTIAL);
                w.source(&p.source);
                w.signed(p.start_ns);
                w.signed(p.through);
                w.unsigned(p.slis.len() as u64);
                for (name, sw) in &p.slis {
                    w.str(name);
                    w.sli_window(sw);
                }
            }
            Message::Progress(entries) => {
                w.0.push(KIND_PROGRESS);
                w.unsigned(entries.len() as u64);
                for (source, s) in entries {
                    w.source(source);
                    w.signed(s.frontier_ns);
                    match s.watermark_ns {
                        Some(wm) => {
                            w.0.push(1);
                            w.signed(wm);
                        }
                        None => w.0.push(0),
                    }
                    w.0.push(u8::from(s.idle));
                }
            }
        }
        w.0
    }

    pub fn decode(bytes: &[u8]) -> Result<Message> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.byte()?;
        if version != VERSION {
            bail!("partials message version {version}, this build reads {VERSION}: run one slipstream version across the ingest and rollup stages");
        }
        let message = match r.byte()? {
            KIND_PARTIAL => {
                let source = r.source()?;
                let start_ns = r.signed()?;
                let through = r.signed()?;
                let n = r.len()?;
                let mut slis = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    slis.push((r.string()?, r.sli_window()?));
                }
                Message::Partial(Partial {
                    source,
                    start_ns,
                    through,
                    slis,
                })
            }
            KIND_PROGRESS => {
                let n = r.len()?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let source = r.source()?;
                    let frontier_ns = r.signed()?;
                    let watermark_ns = match r.byte()? {
                        0 => None,
                        _ => Some(r.signed()?),
                    };
                    let idle = r.byte()? != 0;
                    entries.push((
                        source,
                        SourceState {
                            frontier_ns,
                            watermark_ns,
                            idle,
                        },
                    ));
                }
                Message::Progress(entries)
            }
            kind => bail!("unknown partials message kind {kind}"),
        };
        if r.at != bytes.len() {
            bail!(
                "{} trailing bytes after a partials message",
                bytes.len() - r.at
            );
        }
        Ok(message)
    }
}

/// One SLI's counts in one window as a partial carries them, appended to
/// `out` (backfill's spill files hold the same encoding).
pub fn write_sli_window(out: &mut Vec<u8>, w: &SliWindow) {
    let mut writer = Writer(std::mem::take(out));
    writer.sli_window(w);
    *out = writer.0;
}

/// Reads what [`write_sli_window`] wrote, all of `bytes`.
pub fn read_sli_window(bytes: &[u8]) -> Result<SliWindow> {
    let mut r = Reader { bytes, at: 0 };
    let w = r.sli_window()?;
    if r.at != bytes.len() {
        bail!(
            "{} trailing bytes after a window's counts",
            bytes.len() - r.at
        );
    }
    Ok(w)
}

struct Writer(Vec<u8>);

impl Writer {
    fn unsigned(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn signed(&mut self, v: i64) {
        self.unsigned(((v << 1) ^ (v >> 63)) as u64);
    }

    fn str(&mut self, s: &str) {
        self.unsigned(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn source(&mut self, (topic, partition): &Source) {
        self.str(topic);
        self.signed(i64::from(*partition));
    }

    fn sli_window(&mut self, w: &SliWindow) {
        for v in [w.total, w.good, w.bad, w.invalid] {
            self.unsigned(v);
        }
        let h = &w.latency;
        self.unsigned(h.count());
        if h.count() > 0 {
            self.unsigned(h.min_ns());
            self.unsigned(h.max_ns());
            let sum = h.sum_ns();
            self.unsigned(sum as u64);
            self.unsigned((sum >> 64) as u64);
            let v2 = h.to_v2().unwrap_or_default();
            self.unsigned(v2.len() as u64);
            self.0.extend_from_slice(&v2);
        }
        self.unsigned(w.breakdown.len() as u64);
        for top in &w.breakdown {
            self.unsigned(top.capacity() as u64);
            self.0.push(u8::from(top.exact()));
            let values = top.top();
            self.unsigned(values.len() as u64);
            for (v, n) in values {
                self.str(v);
                self.unsigned(n);
            }
        }
        // A grouped SLI's groups: 0, or 1, the limit, the kept groups (key
        // and counts) and `__other__` (0, or 1 and its counts).
        match &w.groups {
            None => self.0.push(0),
            Some(g) => {
                self.0.push(1);
                self.unsigned(g.limit() as u64);
                let kept: Vec<(&str, &SliWindow)> = g.kept().collect();
                self.unsigned(kept.len() as u64);
                for (key, gw) in kept {
                    self.str(key);
                    self.sli_window(gw);
                }
                match g.other() {
                    None => self.0.push(0),
                    Some(o) => {
                        self.0.push(1);
                        self.sli_window(o);
                    }
                }
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.at)
            .context("a partials message ends early")?;
        self.at += 1;
        Ok(b)
    }

    fn unsigned(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bail!("a varint longer than 64 bits in a partials message")
    }

    fn signed(&mut self) -> Result<i64> {
        let v = self.unsigned()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A length, checked against the bytes left so a corrupt message cannot
    /// ask for a huge allocation.
    fn len(&mut self) -> Result<usize> {
        let n = self.unsigned()?;
        if n > (self.bytes.len() - self.at) as u64 {
            bail!("a length of {n} past the end of a partials message");
        }
        Ok(n as usize)
    }

    /// The next `n` bytes (`n` from [`Reader::len`], so within the message).
    fn bytes(&mut self, n: usize) -> Result<&[u8]> {
        let b = self
            .bytes
            .get(self.at..self.at + n)
            .context("a partials message ends early")?;
        self.at += n;
        Ok(b)
    }

    fn string(&mut self) -> Result<String> {
        let n = self.len()?;
        let s = std::str::from_utf8(self.bytes(n)?)
            .context("a string that is not UTF-8 in a partials message")?;
        Ok(s.to_string())
    }

    fn source(&mut self) -> Result<Source> {
        let topic = self.string()?;
        let partition = i32::try_from(self.signed()?).context("a partition out of range")?;
        Ok((topic, partition))
    }

    /// One window's counts; `nested` for a group's, which holds no groups.
    fn group_window(&mut self, nested: bool) -> Result<SliWindow> {
        let mut w = SliWindow {
            total: self.unsigned()?,
            good: self.unsigned()?,
            bad: self.unsigned()?,
            invalid: self.unsigned()?,
            ..SliWindow::default()
        };
        let count = self.unsigned()?;
        if count > 0 {
            let min = self.unsigned()?;
            let max = self.unsigned()?;
            let sum = u128::from(self.unsigned()?) | (u128::from(self.unsigned()?) << 64);
            let n = self.len()?;
            let v2 = self.bytes(n)?;
            w.latency = Histogram::from_v2(min, max, sum, v2)?;
            if w.latency.count() != count {
                bail!("a latency histogram whose buckets do not add up to its count");
            }
        }
        let fields = self.len()?;
        for _ in 0..fields {
            let capacity = usize::try_from(self.unsigned()?).context("a capacity out of range")?;
            let exact = self.byte()? != 0;
            let n = self.len()?;
            let mut counts = Vec::with_capacity(n);
            for _ in 0..n {
                counts.push((self.string()?.into_boxed_str(), self.unsigned()?));
            }
            w.breakdown
                .push(TopValues::from_parts(capacity, exact, counts));
        }
        if self.byte()? != 0 {
            if nested {
                bail!("groups within a group in a partials message");
            }
            let limit = usize::try_from(self.unsigned()?).context("a group limit out of range")?;
            let n = self.len()?;
            let mut kept = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                kept.push((self.string()?.into_boxed_str(), self.group_window(true)?));
            }
            let other = match self.byte()? {
                0 => None,
                _ => Some(self.group_window(true)?),
            };
            w.groups = Some(Box::new(Groups::from_parts(limit, kept, other)));
        }
        Ok(w)
    }

    fn sli_window(&mut self) -> Result<SliWindow> {
        self.group_window(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(seed: u64) -> SliWindow {
        let mut w = SliWindow {
            total: 1000 + seed,
            good: 990,
            bad: 7 + seed,
            invalid: 3,
            ..SliWindow::default()
        };
        for i in 0..500u64 {
            let ns = (i * 7919 + seed * 13) % 2_000_000_000 + 1;
            w.latency.record(ns);
        }
        let mut top = TopValues::for_limit(5);
        for v in ["/checkout", "/cart", "/checkout", "ユーザー"] {
            top.add(v);
        }
        w.breakdown.push(top);
        w
    }

    /// A grouped SLI's window: three groups kept of four, the fourth in
    /// `__other__`, each with its own histogram.
    fn grouped(seed: u64) -> SliWindow {
        let mut w = SliWindow::default();
        let mut groups = Groups::new(3);
        for (i, route) in ["/d", "/a", "/c", "/b", "/a"].iter().enumerate() {
            let key = crate::window::key_of(&[Some(route), None]);
            groups.with_group(&key, |g| {
                g.total += 1;
                g.good += 1;
                g.latency.record(1_000_000 * (i as u64 + seed));
            });
            w.total += 1;
            w.good += 1;
        }
        w.groups = Some(Box::new(groups));
        w
    }

    #[test]
    fn groups_round_trip_and_merge_as_in_memory() {
        let (a, b) = (grouped(1), grouped(2));
        let mut bytes = Vec::new();
        write_sli_window(&mut bytes, &a);
        let back = read_sli_window(&bytes).expect("decodes");
        assert_eq!(back, a);
        let g = back.groups.as_deref().expect("groups");
        assert_eq!(g.kept().count(), 3);
        assert_eq!(g.other().map(|o| o.total), Some(1), "/d went to __other__");
        let mut merged = back;
        merged.merge(&b);
        let mut want = a.clone();
        want.merge(&b);
        assert_eq!(merged, want);
        assert_eq!(merged.total, 10);
    }

    #[test]
    fn partials_and_progress_round_trip() {
        let messages = [
            Message::Partial(Partial {
                source: ("requests".into(), 5),
                start_ns: -60_000_000_000,
                through: 123_456_789,
                slis: vec![
                    ("a".into(), window(1)),
                    ("b".into(), SliWindow::default()),
                    ("c".into(), grouped(3)),
                ],
            }),
            Message::Progress(vec![
                (
                    ("requests".into(), 0),
                    SourceState {
                        frontier_ns: i64::MIN,
                        watermark_ns: None,
                        idle: true,
                    },
                ),
                (
                    ("other".into(), i32::MAX),
                    SourceState {
                        frontier_ns: 1_700_000_000_000_000_000,
                        watermark_ns: Some(i64::MAX),
                        idle: false,
                    },
                ),
            ]),
        ];
        for m in messages {
            let bytes = m.encode();
            assert_eq!(Message::decode(&bytes).expect("decodes"), m);
        }
    }

    #[test]
    fn a_decoded_histogram_merges_like_the_original() {
        let (a, b) = (window(1), window(2));
        let mut direct = a.clone();
        direct.merge(&b);
        let decoded = |w: &SliWindow| {
            let m = Message::Partial(Partial {
                source: ("t".into(), 0),
                start_ns: 0,
                through: 0,
                slis: vec![("s".into(), w.clone())],
            });
            match Message::decode(&m.encode()).expect("decodes") {
                Message::Partial(p) => p.slis[0].1.clone(),
                Message::Progress(_) => unreachable!(),
            }
        };
        let mut merged = decoded(&a);
        merged.merge(&decoded(&b));
        assert_eq!(merged, direct);
        assert_eq!(
            merged.latency.quantile_ns(99, 100),
            direct.latency.quantile_ns(99, 100)
        );
    }

    #[test]
    fn corrupt_messages_are_errors_not_panics() {
        let good = Message::Partial(Partial {
            source: ("requests".into(), 1),
            start_ns: 0,
            through: 9,
            slis: vec![("a".into(), window(3))],
        })
        .encode();
        for cut in 0..good.len() {
            assert!(Message::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = good.clone();
        flipped[0] = 9;
        let e = Message::decode(&flipped).expect_err("version");
        assert!(e.to_string().contains("version 9"), "{e}");
        let mut long = good;
        long.push(0);
        assert!(Message::decode(&long).is_err());
        // A length far past the end must not allocate.
        assert!(Message::decode(&[VERSION, KIND_PROGRESS, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        // Nor a histogram claiming a precision of megabytes.
        let mut w = Writer(vec![VERSION, KIND_PARTIAL]);
        w.source(&("t".to_string(), 0));
        w.signed(0);
        w.signed(1);
        w.unsigned(1);
        w.str("s");
        for v in [2u64, 2, 0, 0, 2, 1, 9, 10, 0, 40] {
            w.unsigned(v);
        }
        let mut header = Vec::new();
        for word in [0x1c84_9313u32, 0, 0, 5] {
            header.extend_from_slice(&word.to_be_bytes());
        }
        header.extend_from_slice(&1u64.to_be_bytes());
        header.extend_from_slice(&u64::MAX.to_be_bytes());
        header.extend_from_slice(&1f64.to_be_bytes());
        w.0.extend_from_slice(&header);
        w.unsigned(0);
        let e = Message::decode(&w.0).expect_err("precision");
        assert!(format!("{e:#}").contains("5 significant digits"), "{e:#}");
    }
}
