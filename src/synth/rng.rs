//! The generator's randomness: a xoshiro256** PRNG seeded through SplitMix64,
//! and the few distributions the generator needs (uniform, exponential,
//! normal), built from IEEE basic operations only.
//!
//! Nothing here calls the platform's `ln`, `exp` or `cos`: their last bit may
//! differ between libm versions, and a different last bit can flip a rounded
//! latency. `+ - * /` and `sqrt` are exactly rounded everywhere, so a seed
//! gives the same bytes on every machine and every toolchain.

/// xoshiro256** (Blackman and Vigna), seeded with SplitMix64 as its authors
/// recommend.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

/// One step of SplitMix64: advances `state` and returns the next output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

/// A uniform number in the open interval (0, 1) from the top 53 bits of `r`.
#[inline]
pub fn open01(r: u64) -> f64 {
    ((r >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p_per_2_32 / 2^32`, read from the top 32 bits of `r`.
#[inline]
pub fn hi_below(r: u64, p_per_2_32: u64) -> bool {
    (r >> 32) < p_per_2_32
}

/// A probability in 0..=1 as a threshold for [`hi_below`].
pub fn threshold(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * 4_294_967_296.0) as u64
}

/// The low 32 bits of `r` as a number in [0, 1).
#[inline]
pub fn lo01(r: u64) -> f64 {
    (r & 0xFFFF_FFFF) as f64 * (1.0 / 4_294_967_296.0)
}

const LN2: f64 = std::f64::consts::LN_2;

/// Natural logarithm of a positive, finite, normal `x` (absolute error below
/// 1e-15), from the exponent bits and an atanh series.
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7FF) as i64 - 1023;
    // The mantissa as a number in [1, 2).
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s) with |s| <= 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0
                    + s2 * (1.0 / 9.0
                        + s2 * (1.0 / 11.0
                            + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0 + s2 * (1.0 / 17.0))))))));
    e as f64 * LN2 + 2.0 * s * series
}

/// `e^x` for |x| < 700 (relative error below 1e-15), by reduction to
/// `2^k * e^r` with |r| <= ln(2)/2 and a Taylor polynomial.
pub fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN2).round();
    // ln 2 split in two (fdlibm's constants): `k * LN2_HI` is exact.
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..=14 {
        term = term * r / f64::from(i);
        sum += term;
    }
    // k is within the normal exponent range because |x| <= 700.
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    sum * scale
}

/// A standard exponential variate from `r` (mean 1).
#[inline]
pub fn exponential(r: u64) -> f64 {
    -ln(open01(r))
}

/// A standard normal variate from `r`, by Acklam's rational approximation of
/// the inverse normal CDF (relative error below 1.2e-9).
pub fn normal(r: u64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    let p = open01(r);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * ln(p)).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * ln(1.0 - p)).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_outputs() {
        // Reference values of SplitMix64 from seed 0 (Vigna's splitmix64.c).
        let mut s = 0;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut s), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64(&mut s), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn xoshiro_is_deterministic_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let xs: Vec<u64> = (0..1000).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..1000).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..1000).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        let ones: u32 = xs.iter().map(|x| x.count_ones()).sum();
        let mean = f64::from(ones) / 1000.0;
        assert!((mean - 32.0).abs() < 0.5, "mean popcount {mean}");
    }

    #[test]
    fn ln_and_exp_agree_with_std() {
        for &x in &[
            1e-300, 1e-9, 0.001, 0.3, 0.5, 0.70, 0.72, 1.0, 1.41, 1.42, 1.5, 2.0, 7.3, 1e6, 1e300,
        ] {
            let (ours, std) = (ln(x), f64::ln(x));
            assert!(
                (ours - std).abs() <= 1e-13 * std.abs().max(1.0),
                "ln {x}: {ours} vs {std}"
            );
        }
        for &x in &[-700.0, -20.0, -1.0, -0.1, 0.0, 0.2, 1.0, 3.7, 20.0, 700.0] {
            let (ours, std) = (exp(x), f64::exp(x));
            assert!(
                (ours - std).abs() <= 1e-14 * std,
                "exp {x}: {ours} vs {std}"
            );
        }
    }

    #[test]
    fn normal_has_the_right_quantiles_and_moments() {
        // Quantiles of the standard normal from tables.
        let at = |p: f64| normal(((p * (1u64 << 53) as f64) as u64) << 11);
        assert!(at(0.5).abs() < 1e-9);
        assert!((at(0.975) - 1.959_964).abs() < 1e-5);
        assert!((at(0.01) + 2.326_348).abs() < 1e-5);
        assert!((at(0.999) - 3.090_232).abs() < 1e-5);
        let mut rng = Rng::new(3);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| normal(rng.next_u64())).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        let e = (0..n).map(|_| exponential(rng.next_u64())).sum::<f64>() / n as f64;
        assert!((e - 1.0).abs() < 0.01, "exponential mean {e}");
    }
}
