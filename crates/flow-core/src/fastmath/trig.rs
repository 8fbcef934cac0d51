//! Branch-free `sin` and `cos` that the compiler vectorises (glibc's `sin`/`cos` are scalar
//! calls: 26 % of the manifold Earth step, whose networks use the Sin activation).
//!
//! Cody–Waite reduction `x = n π/2 + r`, `|r| ≤ π/4 (1 + 2⁻⁴⁰)`, with π/2 split into three
//! pieces of ≤ 33 significant bits and a tail (fdlibm's constants), so `n · piece` is exact
//! for `|n| < 2²⁰`; then
//! fdlibm's minimax kernels for `sin r` and `cos r` on `|r| ≤ π/4` (error < 2⁻⁵⁸) and the
//! quadrant `n mod 4` picks `±sin r` or `±cos r` by selects, not branches.
//!
//! Accuracy (tested against libm): within 2 ulp for `|x| < 2²² π/2 ≈ 6.6·10⁶`, except near
//! the zeros of the function, where the error is at most `2⁻⁵²` absolute (the reduction's
//! rounding); beyond, the absolute error is at most `|x| 2⁻⁵²`, the size of the rounding of
//! `x` itself. ±∞ and NaN give NaN.

/// 2/π.
const FRAC_2_PI: f64 = std::f64::consts::FRAC_2_PI;
/// π/2 = P1 + P2 + P3 + P3T (to 7e-49), the first three with at most 33 significant bits.
const P1: f64 = 1.570_796_326_734_125_6e0;
const P2: f64 = 6.077_100_506_303_966e-11;
const P3: f64 = 2.022_266_248_711_166_5e-21;
const P3T: f64 = 8.478_427_660_368_9e-32;
/// 1.5 · 2⁵²: adding and subtracting it rounds an f64 in (−2⁵¹, 2⁵¹) to the nearest integer.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

// fdlibm's __kernel_sin / __kernel_cos coefficients.
const S1: f64 = -1.666_666_666_666_663_2e-1;
const S2: f64 = 8.333_333_333_322_49e-3;
const S3: f64 = -1.984_126_982_985_795e-4;
const S4: f64 = 2.755_731_370_707_006_8e-6;
const S5: f64 = -2.505_076_025_340_686_3e-8;
const S6: f64 = 1.589_690_995_211_55e-10;
const C1: f64 = 4.166_666_666_666_66e-2;
const C2: f64 = -1.388_888_888_887_411e-3;
const C3: f64 = 2.480_158_728_947_673e-5;
const C4: f64 = -2.755_731_435_139_066_3e-7;
const C5: f64 = 2.087_572_321_298_175e-9;
const C6: f64 = -1.135_964_755_778_819_5e-11;

/// `sin x` (`shift` = 0) or `cos x = sin(x + π/2)` (`shift` = 1).
#[inline(always)]
fn sin_shifted(x: f64, shift: i64) -> f64 {
    let shifted = x * FRAC_2_PI + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    // Exact for |n| < 2²⁰: each piece has ≤ 33 bits and x − n P1 cancels (Sterbenz).
    let r = x - n * P1;
    let r = r - n * P2;
    let r = r - n * P3;
    let r = r - n * P3T;
    let z = r * r;
    let sin_r = r + (z * r) * (S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)))));
    let tail = z * (z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6))))));
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    let cos_r = w + (((1.0 - w) - hz) + tail);
    // n sits in the low mantissa bits of `shifted` (bits 0x4338_0000_0000_0000 + n).
    let quadrant = (shifted.to_bits() as i64).wrapping_add(shift) & 3;
    let v = if quadrant & 1 == 0 { sin_r } else { cos_r };
    let sign = ((quadrant & 2) as u64) << 62;
    f64::from_bits(v.to_bits() ^ sign)
}

/// `sin x` for one value, written so that a loop over it vectorises.
#[inline(always)]
pub fn sin_f64(x: f64) -> f64 {
    sin_shifted(x, 0)
}

/// `cos x` for one value, written so that a loop over it vectorises.
#[inline(always)]
pub fn cos_f64(x: f64) -> f64 {
    sin_shifted(x, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i128 - b.to_bits() as i128).unsigned_abs() as u64
    }

    /// Error in ulp of libm's value, counted as 0 where it is within the stated absolute
    /// bound (`2⁻⁵²` below 2²² π/2, `|x| 2⁻⁵²` beyond).
    fn error(fast: f64, exact: f64, x: f64) -> u64 {
        let bound = f64::EPSILON * if x.abs() < 6.5e6 { 1.0 } else { x.abs() };
        // Away from the zeros (|value| ≥ 1/8) and within the reduction's exact range the ulp
        // bound holds on its own.
        if exact.abs() >= 0.125 && x.abs() < 6.5e6 {
            return ulps(fast, exact);
        }
        if (fast - exact).abs() <= bound {
            0
        } else {
            ulps(fast, exact)
        }
    }

    #[test]
    fn sin_and_cos_match_libm_within_two_ulp() {
        let mut worst = (0, 0.0);
        let mut check = |x: f64| {
            for (fast, exact) in [(sin_f64(x), x.sin()), (cos_f64(x), x.cos())] {
                let e = error(fast, exact, x);
                if e > worst.0 {
                    worst = (e, x);
                }
            }
        };
        let mut x = 1e-300f64;
        while x < 1e9 {
            check(x);
            check(-x);
            x *= 1.000_37;
        }
        let mut x = -20.0;
        while x < 20.0 {
            check(x);
            x += 1.3e-4;
        }
        // Multiples of π/2, where one of the two has a zero and the reduction cancels.
        for k in -2000i32..2000 {
            let x = f64::from(k) * std::f64::consts::FRAC_PI_2;
            check(x);
            check(x.next_up());
            check(x.next_down());
        }
        assert!(worst.0 <= 2, "worst error {} ulp at {}", worst.0, worst.1);
    }

    #[test]
    fn special_values() {
        assert_eq!(sin_f64(0.0), 0.0);
        assert_eq!(cos_f64(0.0), 1.0);
        for v in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            assert!(sin_f64(v).is_nan() && cos_f64(v).is_nan(), "{v}");
        }
        assert_eq!(sin_f64(1e-200), 1e-200);
    }
}
