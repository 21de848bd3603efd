//! A latency histogram with log-linear buckets over integer nanoseconds.
//!
//! Values below 64 ns have a bucket each; above, every power of two is split
//! into 64 equal buckets, so a bucket's midpoint is within 1/128 (0.78%) of
//! any value in it. Counts live in a dense array that covers only the buckets
//! between the smallest and largest value seen, so a window of latencies
//! between 1 ms and 2 s takes about 6 KB whatever the number of events.
//! Everything is integer: merging histograms in any order gives the same
//! bits, which makes multi-threaded and replayed runs byte-identical.

/// Bits of sub-bucket precision per power of two.
const SUB_BITS: u32 = 6;
const SUB_COUNT: u64 = 1 << SUB_BITS;

/// The bucket of a value in nanoseconds.
#[inline]
pub fn bucket_of(ns: u64) -> u32 {
    if ns < SUB_COUNT {
        return ns as u32;
    }
    let exp = 63 - ns.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let sub = ((ns >> shift) & (SUB_COUNT - 1)) as u32;
    (shift + 1) * SUB_COUNT as u32 + sub
}

/// The lowest value and the width of a bucket.
fn bucket_range(bucket: u32) -> (u64, u64) {
    if u64::from(bucket) < SUB_COUNT {
        return (u64::from(bucket), 1);
    }
    let shift = bucket / SUB_COUNT as u32 - 1;
    let sub = u64::from(bucket % SUB_COUNT as u32);
    ((SUB_COUNT + sub) << shift, 1 << shift)
}

/// The value that stands for a bucket: its midpoint.
fn bucket_value(bucket: u32) -> u64 {
    let (low, width) = bucket_range(bucket);
    low + (width - 1) / 2
}

/// Latency distribution of one SLI in one window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    count: u64,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
    /// Bucket number of `counts[0]`.
    offset: u32,
    counts: Vec<u64>,
}

impl Histogram {
    /// Records one value whose bucket the caller computed with [`bucket_of`]
    /// (once per event, shared by every SLI the event belongs to).
    #[inline]
    pub fn record(&mut self, ns: u64, bucket: u32) {
        if self.count == 0 {
            self.min_ns = ns;
            self.max_ns = ns;
            self.offset = bucket;
            self.counts.clear();
            self.counts.push(1);
        } else {
            self.min_ns = self.min_ns.min(ns);
            self.max_ns = self.max_ns.max(ns);
            self.bump(bucket, 1);
        }
        self.count += 1;
        self.sum_ns += u128::from(ns);
    }

    #[inline]
    fn bump(&mut self, bucket: u32, by: u64) {
        if bucket < self.offset {
            let grow = (self.offset - bucket) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = bucket;
        }
        let i = (bucket - self.offset) as usize;
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += by;
    }

    /// Adds another histogram's values to this one.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        self.min_ns = self.min_ns.min(other.min_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        for (i, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                self.bump(other.offset + i as u32, c);
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min_ns(&self) -> u64 {
        self.min_ns
    }

    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// Exact mean in nanoseconds.
    pub fn mean_ns(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sum_ns as f64 / self.count as f64
    }

    /// The value of nearest rank `ceil(count * numerator / denominator)`:
    /// the exact minimum and maximum at the ends, a bucket midpoint (within
    /// 0.78%) in between.
    pub fn quantile_ns(&self, numerator: u64, denominator: u64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = (u128::from(self.count) * u128::from(numerator))
            .div_ceil(u128::from(denominator))
            .clamp(1, u128::from(self.count)) as u64;
        if rank == 1 {
            return self.min_ns;
        }
        if rank == self.count {
            return self.max_ns;
        }
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let v = bucket_value(self.offset + i as u32);
                return v.clamp(self.min_ns, self.max_ns);
            }
        }
        self.max_ns
    }

    /// The non-empty buckets as (bucket, count) pairs, for serialization.
    pub fn buckets(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (self.offset + i as u32, c))
    }

    /// The exact sum of all values, in nanoseconds.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }

    /// Rebuilds a histogram from its parts (see [`Histogram::buckets`]).
    pub fn from_parts(min_ns: u64, max_ns: u64, sum_ns: u128, buckets: &[(u32, u64)]) -> Histogram {
        let mut h = Histogram::default();
        for &(b, c) in buckets {
            if h.count == 0 {
                h.offset = b;
                h.counts.clear();
                h.counts.push(0);
            }
            h.count += c;
            h.bump(b, c);
        }
        h.min_ns = min_ns;
        h.max_ns = max_ns;
        h.sum_ns = sum_ns;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_within_its_bucket() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for x in [v, v + 1, v * 3 / 2, v * 2 - 1] {
                let b = bucket_of(x);
                let (low, width) = bucket_range(b);
                assert!(
                    low <= x && x - low < width,
                    "{x} not in bucket {b} = [{low}, +{width})"
                );
                let mid = bucket_value(b);
                let err = (mid as f64 - x as f64).abs() / x as f64;
                assert!(
                    err <= 1.0 / 128.0 + 1e-12,
                    "{x}: midpoint {mid} off by {err}"
                );
            }
            v = v * 2 + 1;
        }
    }

    #[test]
    fn buckets_are_monotonic() {
        let mut last = 0;
        for x in (0..1_000_000u64).step_by(7) {
            let b = bucket_of(x);
            assert!(b >= last);
            last = b;
        }
    }

    fn exact_rank(sorted: &[u64], num: u64, den: u64) -> u64 {
        let n = sorted.len() as u64;
        let rank = (n * num).div_ceil(den).clamp(1, n);
        sorted[(rank - 1) as usize]
    }

    #[test]
    fn quantiles_are_within_one_percent_of_nearest_rank() {
        // A spread of values from 50 us to 5 s, in a scrambled order.
        let mut values: Vec<u64> = (0..20_000u64)
            .map(|i| 50_000 + (i * 7919 % 20_000) * (i % 13 + 1) * 19_000)
            .collect();
        let mut h = Histogram::default();
        for &v in &values {
            h.record(v, bucket_of(v));
        }
        values.sort_unstable();
        for (num, den) in [
            (1, 2),
            (9, 10),
            (99, 100),
            (999, 1000),
            (1, 1),
            (1, 100_000),
        ] {
            let exact = exact_rank(&values, num, den) as f64;
            let got = h.quantile_ns(num, den) as f64;
            assert!(
                (got - exact).abs() / exact <= 0.01,
                "q={num}/{den}: {got} vs {exact}"
            );
        }
        assert_eq!(h.min_ns(), values[0]);
        assert_eq!(h.max_ns(), *values.last().unwrap());
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
        assert!((h.mean_ns() - mean).abs() / mean < 1e-9);
    }

    #[test]
    fn merge_in_any_order_is_identical() {
        let values: Vec<u64> = (0..5000u64)
            .map(|i| (i * 104_729) % 3_000_000_000 + 1)
            .collect();
        let mut whole = Histogram::default();
        for &v in &values {
            whole.record(v, bucket_of(v));
        }
        let mut parts = vec![Histogram::default(); 3];
        for (i, &v) in values.iter().enumerate() {
            parts[i % 3].record(v, bucket_of(v));
        }
        let mut a = parts[2].clone();
        a.merge(&parts[0]);
        a.merge(&parts[1]);
        let mut b = Histogram::default();
        b.merge(&parts[1]);
        b.merge(&parts[2]);
        b.merge(&parts[0]);
        for h in [&a, &b] {
            assert_eq!(h.count(), whole.count());
            assert_eq!(h.sum_ns(), whole.sum_ns());
            assert_eq!(
                h.buckets().collect::<Vec<_>>(),
                whole.buckets().collect::<Vec<_>>()
            );
            assert_eq!(h.quantile_ns(99, 100), whole.quantile_ns(99, 100));
        }
        let parts_list: Vec<(u32, u64)> = whole.buckets().collect();
        let rebuilt =
            Histogram::from_parts(whole.min_ns(), whole.max_ns(), whole.sum_ns(), &parts_list);
        assert_eq!(rebuilt.buckets().collect::<Vec<_>>(), parts_list);
        assert_eq!(rebuilt.count(), whole.count());
    }
}
