//! Element-wise loops compiled three times: for the baseline target, with AVX2+FMA and with
//! AVX-512F, the widest the CPU has chosen at run time (the crate is built for baseline
//! x86-64, so without this the polynomial `exp` and the activation loops would only use
//! SSE2). Results are identical on every path: the same scalar operations per lane, no FMA
//! contraction. AVX-512 pays even on CPUs that split 512-bit operations in two (AMD Zen 4):
//! the polynomial loops are bound by the latency of their dependency chains, not by
//! throughput, and a 512-bit chain carries twice the lanes. On a 512×256 f32 activation,
//! one core: SiLU 86–98 → 54–55 µs, `tanh` 165–177 → 85 µs, `exp` 62 → 39 µs
//! (`examples/elementwise_speed.rs`, session 13, BENCHMARKS.md).
//!
//! Outputs of at least [`MIN_PARALLEL_ELEMENTS`](crate::parallel::team::MIN_PARALLEL_ELEMENTS)
//! elements are written in parts on the compute team; element-wise results do not depend on
//! the cut.

use std::mem::MaybeUninit;

use crate::parallel::team::collect_parts;

/// Stands for the element type once per argument in the macro below.
macro_rules! elem {
    ($arg:ident) => {
        T
    };
}

/// Defines `$map(a, b, .., f) -> Vec<T>` with `out[i] = f(a[i], b[i], ..)` for one arity:
/// the parallel driver, the run-time dispatch, the plain loop and its AVX2+FMA and
/// AVX-512F copies.
macro_rules! map_n {
    ($(#[$doc:meta])* $map:ident, $fill:ident, $plain:ident, $avx2:ident, $avx512:ident, $first:ident $(, $arg:ident)*) => {
        $(#[$doc])*
        #[inline]
        pub fn $map<T: Copy + Send + Sync, F: Fn(elem!($first) $(, elem!($arg))*) -> T + Sync>(
            $first: &[T],
            $($arg: &[T],)*
            f: F,
        ) -> Vec<T> {
            $(assert_eq!(
                $first.len(),
                $arg.len(),
                concat!(stringify!($map), ": argument lengths differ")
            );)*
            collect_parts($first.len(), |start, out| {
                let r = start..start + out.len();
                $fill(&$first[r.clone()], $(&$arg[r.clone()],)* out, &f)
            })
        }

        #[inline]
        fn $fill<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> T>(
            $first: &[T],
            $($arg: &[T],)*
            out: &mut [MaybeUninit<T>],
            f: &F,
        ) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above), the only
                // requirement of the `target_feature` function.
                #[allow(unsafe_code)]
                return unsafe { $avx512($first, $($arg,)* out, f) };
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above), which is the
                // only requirement of the `target_feature` function.
                #[allow(unsafe_code)]
                return unsafe { $avx2($first, $($arg,)* out, f) };
            }
            $plain($first, $($arg,)* out, f)
        }

        #[inline(always)]
        fn $plain<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> T>(
            $first: &[T],
            $($arg: &[T],)*
            out: &mut [MaybeUninit<T>],
            f: &F,
        ) {
            // Every slice re-cut to the output's length, so the indexing below needs no
            // bounds checks and the loop vectorises.
            let n = out.len();
            let $first = &$first[..n];
            $(let $arg = &$arg[..n];)*
            for i in 0..n {
                out[i].write(f($first[i] $(, $arg[i])*));
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> T>(
            $first: &[T],
            $($arg: &[T],)*
            out: &mut [MaybeUninit<T>],
            f: &F,
        ) {
            $plain($first, $($arg,)* out, f)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $avx512<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> T>(
            $first: &[T],
            $($arg: &[T],)*
            out: &mut [MaybeUninit<T>],
            f: &F,
        ) {
            $plain($first, $($arg,)* out, f)
        }
    };
}

map_n!(
    /// `out[i] = f(a[i])`.
    map1, fill1, fill1_plain, fill1_avx2, fill1_avx512, a
);
map_n!(
    /// `out[i] = f(a[i], b[i])`.
    map2, fill2, fill2_plain, fill2_avx2, fill2_avx512, a, b
);
map_n!(
    /// `out[i] = f(a[i], b[i], c[i])`.
    map3, fill3, fill3_plain, fill3_avx2, fill3_avx512, a, b, c
);
map_n!(
    /// `out[i] = f(a[i], b[i], c[i], d[i])`.
    map4, fill4, fill4_plain, fill4_avx2, fill4_avx512, a, b, c, d
);
map_n!(
    /// `out[i] = f(a[i], b[i], c[i], d[i], e[i])`.
    map5, fill5, fill5_plain, fill5_avx2, fill5_avx512, a, b, c, d, e
);

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    /// Inputs over the ranges the activations see, plus the special values.
    fn inputs() -> Vec<f32> {
        let mut x: Vec<f32> = (0..4099).map(|i| (i as f32 - 2049.0) * 0.0493).collect();
        x.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            88.5,
            -104.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        x
    }

    fn bits(v: &[MaybeUninit<f32>]) -> Vec<u32> {
        // SAFETY: every caller passes a slice its fill has written in full.
        v.iter()
            .map(|x| unsafe { x.assume_init() }.to_bits())
            .collect()
    }

    /// Every dispatched copy (AVX2, AVX-512, whichever this CPU has) returns the bits of the
    /// plain loop: the per-lane operations are the same, nothing is contracted to FMA, and the
    /// explicit `mul_add`s of `exp` round once on every path (hardware or libm `fmaf`).
    /// Odd lengths exercise the vector loops' tails.
    #[test]
    fn every_instruction_set_path_gives_the_plain_loops_bits() {
        let x = inputs();
        let y: Vec<f32> = x.iter().rev().map(|v| v * 0.7 + 0.1).collect();
        let n = x.len();
        let unary = |v: f32| {
            super::super::tanh_f32(v) + super::super::exp_f32(v) * v + super::super::exp_m1_f32(v)
        };
        let binary = |a: f32, b: f32| a * b - a / (b + 2.0);
        let mut want1 = vec![MaybeUninit::uninit(); n];
        fill1_plain(&x, &mut want1, &unary);
        let mut want2 = vec![MaybeUninit::uninit(); n];
        fill2_plain(&x, &y, &mut want2, &binary);
        let mut checked = 0;
        #[cfg(target_arch = "x86_64")]
        for path in ["avx2", "avx512f"] {
            let has = match path {
                "avx2" => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
                _ => is_x86_feature_detected!("avx512f"),
            };
            if !has {
                continue;
            }
            let mut got1 = vec![MaybeUninit::uninit(); n];
            let mut got2 = vec![MaybeUninit::uninit(); n];
            // SAFETY: the CPU has the path's features (checked above).
            unsafe {
                if path == "avx2" {
                    fill1_avx2(&x, &mut got1, &unary);
                    fill2_avx2(&x, &y, &mut got2, &binary);
                } else {
                    fill1_avx512(&x, &mut got1, &unary);
                    fill2_avx512(&x, &y, &mut got2, &binary);
                }
            }
            assert_eq!(bits(&got1), bits(&want1), "{path}: one input");
            assert_eq!(bits(&got2), bits(&want2), "{path}: two inputs");
            checked += 1;
        }
        eprintln!("instruction-set paths checked against the plain loop: {checked}");
    }
}
