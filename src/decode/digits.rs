//! Runs of ASCII digits read eight bytes at a time.
//!
//! Numbers in logs are long runs of digits (a Unix time in milliseconds has
//! 13): read one by one, each digit waits for the multiplication of the one
//! before. Here a word of eight bytes is checked and converted at once, with
//! a few multiplications whose work overlaps.

/// Powers of ten up to the eighth, to shift a value by a run's length.
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The leading ASCII digits of the eight bytes of `word` (the first byte in
/// the lowest bits): how many there are (0 to 8) and their value.
#[inline(always)]
fn leading_eight(word: u64) -> (usize, u64) {
    const LO_NIBBLES: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    // A digit's byte becomes its value (0 to 9), any other byte has a bit
    // in its high nibble, or a low nibble of 10 or more that adding 6
    // carries into the high one. A carry out of a byte of 0xFA or more can
    // only upset the bytes above it, which follow a byte already flagged.
    let t = word ^ 0x3030_3030_3030_3030;
    let flags = (t | t.wrapping_add(0x0606_0606_0606_0606)) & !LO_NIBBLES;
    let count = (flags.trailing_zeros() / 8) as usize;
    if count == 0 {
        return (0, 0);
    }
    // The digits to the top of the word, zeros (leading zeros) below them;
    // then pairs, fours and the eight are summed with their weights.
    let v = t << (64 - 8 * count as u32);
    let v = (v & LO_NIBBLES).wrapping_mul(10 << 8 | 1) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(100 << 16 | 1) >> 16;
    let v = (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(10_000 << 32 | 1) >> 32;
    (count, v)
}

/// Reads the run of digits of `s` from `*at`, moving `*at` past it, into
/// `value` (`value * 10^n + the digits`, wrapping on overflow). Returns the
/// run's length.
#[inline(always)]
pub fn run(s: &[u8], at: &mut usize, value: &mut u64) -> usize {
    let from = *at;
    while let Some(bytes) = s.get(*at..).and_then(|r| r.first_chunk::<8>()) {
        let (n, v) = leading_eight(u64::from_le_bytes(*bytes));
        *value = value.wrapping_mul(POW10[n]).wrapping_add(v);
        *at += n;
        if n < 8 {
            return *at - from;
        }
    }
    // Fewer than eight bytes left: one at a time.
    while let Some(d) = s.get(*at).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        *value = value.wrapping_mul(10).wrapping_add(u64::from(d));
        *at += 1;
    }
    *at - from
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `run` must give, a byte at a time.
    fn one_by_one(s: &[u8], from: usize) -> (usize, u64) {
        let mut v = 0u64;
        let mut i = from;
        while i < s.len() && s[i].is_ascii_digit() {
            v = v.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
            i += 1;
        }
        (i - from, v)
    }

    #[test]
    fn every_byte_after_a_run_ends_it() {
        // Each byte value in each position after 0 to 8 digits.
        for digits in 0..=8 {
            for b in 0..=255u8 {
                let mut bytes = [0u8; 8];
                for (k, byte) in bytes.iter_mut().enumerate() {
                    *byte = b'0' + ((k as u8 * 7 + 3) % 10);
                }
                if digits < 8 {
                    bytes[digits] = b;
                    // The bytes above may carry anything, 0xFF included.
                    bytes[digits + 1..].fill(0xFF);
                }
                let want = one_by_one(&bytes, 0);
                let (n, v) = leading_eight(u64::from_le_bytes(bytes));
                assert_eq!((n, v), want, "{bytes:?}");
            }
        }
    }

    #[test]
    fn runs_of_any_length_read_as_one_by_one() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..50_000 {
            let r = crate::testing::xorshift(&mut seed);
            let len = (r % 40) as usize;
            let digits = ((r >> 8) % 30) as usize;
            let from = ((r >> 16) % 4) as usize;
            let s: Vec<u8> = (0..len)
                .map(|k| {
                    let x = crate::testing::xorshift(&mut seed);
                    if k >= from && k < from + digits {
                        b'0' + (x % 10) as u8
                    } else {
                        [b'.', b'e', b'}', b'/', b':', b'"', b',', 0xFF][(x % 8) as usize]
                    }
                })
                .collect();
            if from > s.len() {
                continue;
            }
            let (mut at, mut v) = (from, 0u64);
            let n = run(&s, &mut at, &mut v);
            assert_eq!((n, v), one_by_one(&s, from), "{s:?} from {from}");
            assert_eq!(at, from + n);
        }
    }

    #[test]
    fn a_value_carried_in_is_shifted_by_the_run() {
        let (mut at, mut v) = (0, 12u64);
        assert_eq!(run(b"345678901,", &mut at, &mut v), 9);
        assert_eq!(v, 12_345_678_901);
        assert_eq!(at, 9);
    }
}
