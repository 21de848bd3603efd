//! Helpers shared by unit tests.

/// One step of a xorshift64 generator: deterministic from its seed, and
/// enough to spread generated test cases. The seed must not be 0.
pub fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}
