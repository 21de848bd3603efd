//! A zlib stream of one Huffman-coded block, for the small V2 encodings
//! that window records carry.
//!
//! A V2 encoding is a few hundred bytes of varints with few repeats:
//! coding its bytes by their frequencies (one dynamic Huffman block, no
//! LZ77 matches) makes it a little smaller than zlib's default level does
//! (141 against 147 bytes on average over a day of per-route windows). It
//! also costs a tenth of the time: a general compressor clears hash tables
//! of 64 to 128 KB for every stream, which for millions of window records
//! is most of the work of writing them. Any inflater reads the result
//! (RFC 1950 and 1951); the tests read it back with zlib's.

/// Lengths of the lit/length codes written: the 256 bytes and end-of-block
/// (no length codes, since there are no matches).
const LITERALS: usize = 257;
const END_OF_BLOCK: usize = 256;
/// Longest code of the lit/length alphabet, and of the code-length one.
const MAX_BITS: u8 = 15;
const MAX_CL_BITS: u8 = 7;
/// The order the code-length code's lengths are written in.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// `input` as a zlib stream: the two-byte header (32 KB window, fastest
/// level), one final dynamic Huffman block of its bytes, and its Adler-32.
///
/// The work beyond one pass over the bytes is on the symbols they use (a
/// few dozen of the 257 in a window's encoding), not on the whole
/// alphabet: this runs once for each of millions of records. For the same
/// reason its arrays are kept between streams, one set a thread, and
/// cleared where the last stream used them.
pub fn compress(input: &[u8], out: &mut Vec<u8>) {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Box<Scratch>> =
            std::cell::RefCell::new(Box::new(Scratch::new()));
    }
    SCRATCH.with_borrow_mut(|s| s.compress(input, out));
}

/// What [`compress`] keeps from one stream to the next. Between streams,
/// `freqs` and the codes' lengths are all zero.
struct Scratch {
    freqs: [u32; LITERALS],
    lit: Code<LITERALS>,
    cl: Code<19>,
    /// [`code_lengths`]'s working space.
    keys: [u64; LITERALS],
    depths: [u32; LITERALS],
    /// The code lengths of both alphabets in a row, the places of those not
    /// 0, and their run-length coding.
    all: [u8; LITERALS + 2],
    nonzero: [u16; LITERALS + 2],
    runs: [Run; LITERALS + 2],
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            freqs: [0; LITERALS],
            lit: Code::new(),
            cl: Code::new(),
            keys: [0; LITERALS],
            depths: [0; LITERALS],
            all: [0; LITERALS + 2],
            nonzero: [0; LITERALS + 2],
            runs: [Run::default(); LITERALS + 2],
        }
    }

    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let freqs = &mut self.freqs;
        for &b in input {
            freqs[usize::from(b)] += 1;
        }
        freqs[END_OF_BLOCK] = 1;
        let lit = &mut self.lit;
        lit.build(freqs, MAX_BITS, &mut self.keys, &mut self.depths);
        for &s in lit.used() {
            freqs[usize::from(s)] = 0;
        }

        // The code lengths of both alphabets as one run-length coded
        // sequence; no distances are used, and two codes of one bit keep
        // that code complete, as zlib writes it.
        let dist_lens = [1u8, 1];
        self.all[..LITERALS].copy_from_slice(&lit.lens);
        self.all[LITERALS..].copy_from_slice(&dist_lens);
        self.nonzero[..lit.n].copy_from_slice(lit.used());
        self.nonzero[lit.n] = LITERALS as u16;
        self.nonzero[lit.n + 1] = LITERALS as u16 + 1;
        let runs = run_lengths(&self.all, &self.nonzero[..lit.n + 2], &mut self.runs);
        let mut cl_freqs = [0u32; 19];
        for run in runs {
            cl_freqs[usize::from(run.symbol)] += 1;
        }
        let cl = &mut self.cl;
        cl.build(&mut cl_freqs, MAX_CL_BITS, &mut self.keys, &mut self.depths);
        let cl_count = CL_ORDER
            .iter()
            .rposition(|&s| cl.lens[s] != 0)
            .map_or(4, |last| (last + 1).max(4));

        out.reserve(input.len() + 64);
        out.extend_from_slice(&[0x78, 0x01]);
        let mut bits = Bits::new(out);
        bits.put(1, 1); // the final block
        bits.put(2, 2); // dynamic Huffman codes
        bits.put((LITERALS - 257) as u32, 5);
        bits.put((dist_lens.len() - 1) as u32, 5);
        bits.put((cl_count - 4) as u32, 4);
        for &s in &CL_ORDER[..cl_count] {
            bits.put(u32::from(cl.lens[s]), 3);
        }
        for run in runs {
            let s = usize::from(run.symbol);
            bits.put(cl.codes[s], cl.lens[s]);
            bits.put(u32::from(run.extra), run.extra_bits);
        }
        for &b in input {
            let s = usize::from(b);
            bits.put(lit.codes[s], lit.lens[s]);
        }
        bits.put(lit.codes[END_OF_BLOCK], lit.lens[END_OF_BLOCK]);
        bits.flush();
        out.extend_from_slice(&adler32(input).to_be_bytes());
    }
}

/// A Huffman code over an alphabet of `N` symbols, canonical (RFC 1951,
/// 3.2.2): each symbol's length (0 for an unused one) and its code,
/// bit-reversed to be written least significant bit first.
struct Code<const N: usize> {
    lens: [u8; N],
    codes: [u32; N],
    /// The symbols that have a code, in order: `n` of them.
    used: [u16; N],
    n: usize,
}

impl<const N: usize> Code<N> {
    fn new() -> Code<N> {
        Code {
            lens: [0; N],
            codes: [0; N],
            used: [0; N],
            n: 0,
        }
    }

    /// The code for `freqs`, none longer than `limit`, in place of the one
    /// held. A lone used symbol gets a partner of frequency 1 (no symbol,
    /// two), so that every code is complete. `keys` and `depths` are
    /// working space.
    fn build(&mut self, freqs: &mut [u32; N], limit: u8, keys: &mut [u64], depths: &mut [u32]) {
        for &s in &self.used[..self.n] {
            self.lens[usize::from(s)] = 0;
        }
        self.n = used_symbols(freqs, &mut self.used);
        let used = &self.used[..self.n];
        code_lengths(freqs, used, limit, keys, depths, &mut self.lens);
        codes(&self.lens, used, &mut self.codes);
    }

    fn used(&self) -> &[u16] {
        &self.used[..self.n]
    }
}

/// One symbol of the code-length alphabet and its extra bits.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    symbol: u8,
    extra_bits: u8,
    extra: u8,
}

/// Bits written least significant first, as deflate packs them.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u8,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut Vec<u8>) -> Bits<'a> {
        Bits { out, acc: 0, n: 0 }
    }

    /// Adds the low `bits` of `value` (at most 16); whole 32-bit words go
    /// out as they fill.
    #[inline]
    fn put(&mut self, value: u32, bits: u8) {
        self.acc |= u64::from(value) << self.n;
        self.n += bits;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Writes what is left, padded with zero bits to a whole byte.
    fn flush(&mut self) {
        let bytes = usize::from(self.n.div_ceil(8));
        self.out.extend_from_slice(&self.acc.to_le_bytes()[..bytes]);
        self.acc = 0;
        self.n = 0;
    }
}

/// The symbols of nonzero frequency into `out`, in order, and how many.
/// With fewer than two, partners of frequency 1 are added (symbol 0, or 1
/// when 0 is taken).
fn used_symbols<const N: usize>(freqs: &mut [u32; N], out: &mut [u16; N]) -> usize {
    let mut n = 0;
    // Most symbols are unused: whole blocks of zeros are passed over.
    for (block, chunk) in freqs.chunks(8).enumerate() {
        if chunk.iter().fold(0, |any, &f| any | f) == 0 {
            continue;
        }
        for (i, &f) in chunk.iter().enumerate() {
            out[n] = (block * 8 + i) as u16;
            n += usize::from(f > 0);
        }
    }
    while n < 2 {
        let partner = usize::from(n == 1 && out[0] == 0);
        freqs[partner] = 1;
        if n == 1 && partner < usize::from(out[0]) {
            out[1] = out[0];
            out[0] = partner as u16;
        } else {
            out[n] = partner as u16;
        }
        n += 1;
    }
    n
}

/// Huffman code lengths for the `used` symbols of `freqs` (at least two),
/// none longer than `limit`, into `lens` (whose other lengths are left as
/// they are: 0); `keys` and `depths` are working space of at least
/// `used.len()`. When the optimal code is too
/// deep, the frequencies are halved (a used symbol keeps at least 1) and
/// the code built again: flatter frequencies give a shallower code, and
/// equal ones a balanced code, which fits every alphabet here.
fn code_lengths<const N: usize>(
    freqs: &[u32; N],
    used: &[u16],
    limit: u8,
    keys: &mut [u64],
    depths: &mut [u32],
    lens: &mut [u8; N],
) {
    // Leaves as one key each, the weight above the symbol: sorting the
    // keys orders the leaves by weight, then by symbol, so the code
    // depends on the weights alone.
    let keys = &mut keys[..used.len()];
    for (k, &s) in keys.iter_mut().zip(used) {
        *k = (u64::from(freqs[usize::from(s)]) << 16) | u64::from(s);
    }
    let depths = &mut depths[..used.len()];
    loop {
        keys.sort_unstable();
        for (d, &k) in depths.iter_mut().zip(keys.iter()) {
            *d = (k >> 16) as u32;
        }
        minimum_redundancy(depths);
        // The lightest leaf is the deepest.
        if depths[0] <= u32::from(limit) {
            for (&k, &d) in keys.iter().zip(depths.iter()) {
                lens[(k & 0xFFFF) as usize] = d as u8;
            }
            return;
        }
        for k in keys.iter_mut() {
            *k = (((*k >> 16) / 2).max(1) << 16) | (*k & 0xFFFF);
        }
    }
}

/// Optimal code lengths in place (Moffat and Katajainen, "In-place
/// calculation of minimum-redundancy codes", 1995): `a` holds at least
/// two weights in ascending order and is left holding each one's code
/// length. Ties go to leaves before merged nodes.
fn minimum_redundancy(a: &mut [u32]) {
    let n = a.len();
    // Left to right: the merged nodes take the slots of the leaves used up,
    // and each, once merged itself, holds its parent's slot.
    a[0] += a[1];
    let (mut root, mut leaf) = (0, 2);
    for next in 1..n - 1 {
        if leaf >= n || a[root] < a[leaf] {
            a[next] = a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] = a[leaf];
            leaf += 1;
        }
        if leaf >= n || (root < next && a[root] < a[leaf]) {
            a[next] += a[root];
            a[root] = next as u32;
            root += 1;
        } else {
            a[next] += a[leaf];
            leaf += 1;
        }
    }
    // Right to left: each merged node's depth from its parent's (the root,
    // the last, is at depth 0).
    a[n - 2] = 0;
    for next in (0..n - 2).rev() {
        a[next] = a[a[next] as usize] + 1;
    }
    // Right to left: the leaves, as many at each depth as the nodes there
    // that are not merged ones.
    let (mut available, mut depth) = (1usize, 0u32);
    let (mut merged, mut next) = (n - 1, n);
    while available > 0 {
        let mut used = 0;
        while merged > 0 && a[merged - 1] == depth {
            used += 1;
            merged -= 1;
        }
        for _ in used..available {
            next -= 1;
            a[next] = depth;
        }
        available = 2 * used;
        depth += 1;
    }
}

/// The canonical codes of `lens` (RFC 1951, 3.2.2), bit-reversed to be
/// written least significant bit first, into `codes` (the other symbols'
/// are left as they are); `used` are the symbols of nonzero length, in
/// order.
fn codes<const N: usize>(lens: &[u8; N], used: &[u16], codes: &mut [u32; N]) {
    let mut count = [0u32; 16];
    for &s in used {
        count[usize::from(lens[usize::from(s)])] += 1;
    }
    let mut next = [0u32; 16];
    let mut code = 0;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    for &s in used {
        let l = lens[usize::from(s)];
        let c = next[usize::from(l)];
        next[usize::from(l)] += 1;
        codes[usize::from(s)] = c.reverse_bits() >> (32 - u32::from(l));
    }
}

/// Code lengths as the code-length alphabet's symbols, into `out`: 0 to
/// 15 as they are, 16 repeats the previous length 3 to 6 times, 17 and 18
/// give 3 to 10 and 11 to 138 zeros. `nonzero` are the places of the
/// lengths that are not 0, in order. No more symbols than lengths.
fn run_lengths<'o>(lens: &[u8], nonzero: &[u16], out: &'o mut [Run]) -> &'o [Run] {
    let mut runs = Runs { out, n: 0 };
    // The next place to write, and the next of `nonzero`.
    let (mut at, mut k) = (0, 0);
    while k < nonzero.len() {
        let first = usize::from(nonzero[k]);
        runs.zeros(first - at);
        let l = lens[first];
        let mut run = 1;
        while nonzero
            .get(k + run)
            .is_some_and(|&p| usize::from(p) == first + run && lens[first + run] == l)
        {
            run += 1;
        }
        runs.repeat(l, run);
        at = first + run;
        k += run;
    }
    runs.zeros(lens.len() - at);
    let n = runs.n;
    &runs.out[..n]
}

/// The symbols [`run_lengths`] has written so far.
struct Runs<'o> {
    out: &'o mut [Run],
    n: usize,
}

impl Runs<'_> {
    fn push(&mut self, symbol: u8, extra_bits: u8, extra: usize) {
        self.out[self.n] = Run {
            symbol,
            extra_bits,
            extra: extra as u8,
        };
        self.n += 1;
    }

    fn zeros(&mut self, mut run: usize) {
        while run >= 11 {
            let take = run.min(138);
            self.push(18, 7, take - 11);
            run -= take;
        }
        if run >= 3 {
            self.push(17, 3, run - 3);
            run = 0;
        }
        for _ in 0..run {
            self.push(0, 0, 0);
        }
    }

    /// `run` lengths `l` (not 0) in a row.
    fn repeat(&mut self, l: u8, mut run: usize) {
        self.push(l, 0, 0);
        run -= 1;
        while run >= 3 {
            let take = run.min(6);
            self.push(16, 2, take - 3);
            run -= take;
        }
        for _ in 0..run {
            self.push(l, 0, 0);
        }
    }
}

/// Adler-32 (RFC 1950), the checksum ending a zlib stream.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // The largest run of bytes whose sums cannot overflow before `% MOD`.
    const RUN: usize = 5_552;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(RUN) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::testing::xorshift;

    fn inflate(stream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(stream)
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("zlib cannot read it back: {e}"));
        out
    }

    /// The code lengths [`Code::build`] gives `freqs`, limited to `limit`
    /// bits (deeper than deflate allows, to see what limiting does).
    fn lengths_of(freqs: &[u32; LITERALS], limit: u8) -> [u8; LITERALS] {
        let mut freqs = *freqs;
        let mut used = [0; LITERALS];
        let n = used_symbols(&mut freqs, &mut used);
        let mut lens = [0; LITERALS];
        let (mut keys, mut depths) = ([0; LITERALS], [0; LITERALS]);
        code_lengths(&freqs, &used[..n], limit, &mut keys, &mut depths, &mut lens);
        lens
    }

    fn round_trip(input: &[u8]) -> usize {
        let mut out = Vec::new();
        compress(input, &mut out);
        assert_eq!(inflate(&out), input, "{} bytes", input.len());
        out.len()
    }

    /// A stream's bytes depend on its input alone, not on the streams the
    /// thread compressed before (whose arrays it reuses): each input gives
    /// the bytes a fresh thread gives it, in either order.
    #[test]
    fn a_stream_does_not_depend_on_the_streams_before_it() {
        let mut x = 0x5EED_u64;
        let inputs: Vec<Vec<u8>> = (0..60)
            .map(|i| {
                let len = (xorshift(&mut x) % 600) as usize;
                let alphabet = [1, 2, 5, 40, 256][i % 5];
                (0..len)
                    .map(|_| (xorshift(&mut x) % alphabet) as u8)
                    .collect()
            })
            .collect();
        let compressed = |input: &[u8]| {
            let mut out = Vec::new();
            compress(input, &mut out);
            out
        };
        let fresh: Vec<Vec<u8>> = inputs
            .iter()
            .map(|input| std::thread::scope(|s| s.spawn(|| compressed(input)).join().unwrap()))
            .collect();
        for (input, want) in inputs.iter().zip(&fresh) {
            assert_eq!(&compressed(input), want);
        }
        for (input, want) in inputs.iter().zip(&fresh).rev() {
            assert_eq!(&compressed(input), want);
        }
    }

    #[test]
    fn zlib_reads_back_edge_cases() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(&[0; 1]);
        round_trip(&[255; 1]);
        round_trip(&[7; 10_000]);
        round_trip(&(0..=255u8).collect::<Vec<_>>());
        round_trip(&(0..=255u8).cycle().take(70_000).collect::<Vec<_>>());
        // Two values, one of them rare.
        let mut two = vec![1u8; 5_000];
        two[17] = 2;
        round_trip(&two);
    }

    #[test]
    fn zlib_reads_back_random_inputs_of_every_shape() {
        let mut x = 0x2C0F_FEE5_u64;
        for _ in 0..400 {
            let len = (xorshift(&mut x) % 3_000) as usize;
            let alphabet = 1 + xorshift(&mut x) % 256;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    // Skewed: small values far more often than large.
                    let r = xorshift(&mut x) % alphabet;
                    (r * r / alphabet) as u8
                })
                .collect();
            round_trip(&input);
        }
    }

    /// Fibonacci frequencies make the optimal code deeper than deflate
    /// allows; the lengths are limited and the stream still reads back.
    #[test]
    fn codes_deeper_than_fifteen_bits_are_limited() {
        let mut input = Vec::new();
        let (mut a, mut b) = (1usize, 2usize);
        for sym in 0..26u8 {
            input.extend(std::iter::repeat_n(sym, a));
            (a, b) = (b, a + b);
        }
        let mut freqs = [0u32; LITERALS];
        for &s in &input {
            freqs[usize::from(s)] += 1;
        }
        freqs[END_OF_BLOCK] = 1;
        assert!(lengths_of(&freqs, 64).iter().any(|&l| l > MAX_BITS));
        assert!(lengths_of(&freqs, MAX_BITS).iter().all(|&l| l <= MAX_BITS));
        round_trip(&input);
    }

    /// The code lengths are optimal: their cost (each frequency times its
    /// length) is a Huffman code's, built here with a priority queue, and
    /// they make a complete prefix code (Kraft's sum is exactly one).
    #[test]
    fn code_lengths_are_optimal_and_complete() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut x = 0x5EED_u64;
        for _ in 0..2_000 {
            let mut freqs = [0u32; LITERALS];
            let used = 1 + xorshift(&mut x) % 80;
            for _ in 0..used {
                let s = (xorshift(&mut x) % LITERALS as u64) as usize;
                freqs[s] += 1 + (xorshift(&mut x) % 40) as u32;
            }
            let lens = lengths_of(&freqs, MAX_BITS);
            let mut heap: BinaryHeap<Reverse<u64>> = freqs
                .iter()
                .filter(|&&f| f > 0)
                .map(|&f| Reverse(u64::from(f)))
                .collect();
            let mut optimal = 0;
            while heap.len() > 1 {
                let (Some(Reverse(a)), Some(Reverse(b))) = (heap.pop(), heap.pop()) else {
                    unreachable!("two nodes at least");
                };
                optimal += a + b;
                heap.push(Reverse(a + b));
            }
            let cost: u64 = freqs
                .iter()
                .zip(lens)
                .map(|(&f, l)| u64::from(f) * u64::from(l))
                .sum();
            let coded = lens.iter().filter(|&&l| l > 0).count();
            if freqs.iter().filter(|&&f| f > 0).count() == 1 {
                // One symbol gets a partner: two codes of one bit.
                assert_eq!(
                    (coded, cost),
                    (2, optimal + freqs.iter().sum::<u32>() as u64)
                );
                continue;
            }
            if lens.iter().all(|&l| l < MAX_BITS) {
                assert_eq!(cost, optimal, "{freqs:?}");
            }
            let kraft: f64 = lens
                .iter()
                .filter(|&&l| l > 0)
                .map(|&l| 0.5f64.powi(i32::from(l)))
                .sum();
            assert_eq!(kraft, 1.0, "{lens:?}");
            for (s, (&f, &l)) in freqs.iter().zip(&lens).enumerate() {
                assert_eq!(f > 0, l > 0, "symbol {s}: frequency {f}, length {l}");
            }
        }
    }

    #[test]
    fn the_checksum_is_adler32() {
        // RFC 1950's definition, summed without the shortcut.
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (mut a, mut b) = (1u64, 0u64);
        for &d in &data {
            a = (a + u64::from(d)) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&data), ((b << 16) | a) as u32);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
