//! Element-wise loops that write two outputs in one pass, compiled and dispatched like the
//! one-output loops of `simd.rs` (baseline, AVX2+FMA, AVX-512F; the same per-lane operations
//! on every path, so the same bits).
//!
//! Every one replaces two passes over the same inputs: SiLU's value and the σ(x) its rules
//! keep (`map1_pair`); the two cotangents of a recorded `g ⊙ f′(x)` (`map4_pair`); the primal
//! and tangent of a backward pass that carries tangents (`map5_pair`). On activation-sized
//! tensors these loops are bound by memory traffic, and the fused pass reads each input once
//! instead of once per output.

use std::mem::MaybeUninit;

/// The two output blocks a fill writes.
type Outputs<'a, T> = (&'a mut [MaybeUninit<T>], &'a mut [MaybeUninit<T>]);

/// Stands for the element type once per argument in the macro below.
macro_rules! elem {
    ($arg:ident) => {
        T
    };
}

/// Defines `$map(a, b, .., f) -> (Vec<T>, Vec<T>)` with `(p[i], q[i]) = f(a[i], b[i], ..)`:
/// the parallel driver (the compute team's parts, as `collect_parts`), the run-time dispatch,
/// the plain loop and its AVX2+FMA and AVX-512F copies.
macro_rules! pair_n {
    ($(#[$doc:meta])* $map:ident, $fill:ident, $plain:ident, $avx2:ident, $avx512:ident, $first:ident $(, $arg:ident)*) => {
        $(#[$doc])*
        pub fn $map<T: Copy + Send + Sync, F: Fn(elem!($first) $(, elem!($arg))*) -> (T, T) + Sync>(
            $first: &[T],
            $($arg: &[T],)*
            f: F,
        ) -> (Vec<T>, Vec<T>) {
            let n = $first.len();
            $(assert_eq!(n, $arg.len(), concat!(stringify!($map), ": argument lengths differ"));)*
            let (mut p, mut q) = (Vec::with_capacity(n), Vec::with_capacity(n));
            let parts = crate::parallel::team::elementwise_parts(n);
            let chunk = n.div_ceil(parts).max(1);
            let chunks: Vec<_> = p.spare_capacity_mut()[..n]
                .chunks_mut(chunk)
                .zip(q.spare_capacity_mut()[..n].chunks_mut(chunk))
                .enumerate()
                .map(|(i, (o1, o2))| (i * chunk, o1, o2))
                .collect();
            crate::parallel::team::run_parts(chunks, parts, |(start, o1, o2)| {
                let r = start..start + o1.len();
                $fill(&$first[r.clone()], $(&$arg[r.clone()],)* (o1, o2), &f);
            });
            // SAFETY: the chunk pairs cover `0..n` of both vectors and the fill writes every
            // element of each; a panic unwinds before this line, leaving both empty.
            #[allow(unsafe_code)]
            unsafe {
                p.set_len(n);
                q.set_len(n);
            }
            (p, q)
        }

        #[inline]
        fn $fill<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> (T, T)>(
            $first: &[T],
            $($arg: &[T],)*
            (o1, o2): Outputs<'_, T>,
            f: &F,
        ) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above), the only
                // requirement of the `target_feature` function.
                #[allow(unsafe_code)]
                return unsafe { $avx512($first, $($arg,)* (o1, o2), f) };
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: as above, for AVX2 and FMA.
                #[allow(unsafe_code)]
                return unsafe { $avx2($first, $($arg,)* (o1, o2), f) };
            }
            $plain($first, $($arg,)* (o1, o2), f)
        }

        #[inline(always)]
        fn $plain<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> (T, T)>(
            $first: &[T],
            $($arg: &[T],)*
            (o1, o2): Outputs<'_, T>,
            f: &F,
        ) {
            // Every slice re-cut to the outputs' length: no bounds checks, the loop vectorises.
            let n = o1.len();
            let o2 = &mut o2[..n];
            let $first = &$first[..n];
            $(let $arg = &$arg[..n];)*
            for i in 0..n {
                let (u, v) = f($first[i] $(, $arg[i])*);
                o1[i].write(u);
                o2[i].write(v);
            }
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> (T, T)>(
            $first: &[T],
            $($arg: &[T],)*
            (o1, o2): Outputs<'_, T>,
            f: &F,
        ) {
            $plain($first, $($arg,)* (o1, o2), f)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $avx512<T: Copy, F: Fn(elem!($first) $(, elem!($arg))*) -> (T, T)>(
            $first: &[T],
            $($arg: &[T],)*
            (o1, o2): Outputs<'_, T>,
            f: &F,
        ) {
            $plain($first, $($arg,)* (o1, o2), f)
        }
    };
}

pair_n!(
    /// `(p[i], q[i]) = f(a[i])` (SiLU's value and the σ(x) its derivative rules keep).
    map1_pair, fill1_pair, fill1_pair_plain, fill1_pair_avx2, fill1_pair_avx512, a
);
pair_n!(
    /// `(p[i], q[i]) = f(a[i], b[i], c[i], d[i])` (both cotangents of a recorded `g ⊙ f′(x)`).
    map4_pair, fill4_pair, fill4_pair_plain, fill4_pair_avx2, fill4_pair_avx512, a, b, c, d
);
pair_n!(
    /// `(p[i], q[i]) = f(a[i], .., e[i])` (primal and tangent of a dual backward rule).
    map5_pair, fill5_pair, fill5_pair_plain, fill5_pair_avx2, fill5_pair_avx512, a, b, c, d, e
);

/// `(p[i], q[i], r[i]) = f(a[i], b[i])` in one pass (the value, kept σ(x) and tangent of a
/// SiLU on a dual input), cut and dispatched like the pair maps above.
pub fn map2_triple<T: Copy + Send + Sync, F: Fn(T, T) -> (T, T, T) + Sync>(
    a: &[T],
    b: &[T],
    f: F,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let n = a.len();
    assert_eq!(n, b.len(), "map2_triple: argument lengths differ");
    let (mut p, mut q, mut r) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let parts = crate::parallel::team::elementwise_parts(n);
    let chunk = n.div_ceil(parts).max(1);
    let chunks: Vec<_> = p.spare_capacity_mut()[..n]
        .chunks_mut(chunk)
        .zip(q.spare_capacity_mut()[..n].chunks_mut(chunk))
        .zip(r.spare_capacity_mut()[..n].chunks_mut(chunk))
        .enumerate()
        .map(|(i, ((o1, o2), o3))| (i * chunk, o1, o2, o3))
        .collect();
    crate::parallel::team::run_parts(chunks, parts, |(start, o1, o2, o3)| {
        let s = start..start + o1.len();
        fill2_triple(&a[s.clone()], &b[s], (o1, o2, o3), &f);
    });
    // SAFETY: the chunk triples cover `0..n` of all three vectors and the fill writes every
    // element of each; a panic unwinds before this line, leaving all three empty.
    #[allow(unsafe_code)]
    unsafe {
        p.set_len(n);
        q.set_len(n);
        r.set_len(n);
    }
    (p, q, r)
}

/// The three output blocks of [`map2_triple`]'s fill.
type Triple<'a, T> = (
    &'a mut [MaybeUninit<T>],
    &'a mut [MaybeUninit<T>],
    &'a mut [MaybeUninit<T>],
);

#[inline]
fn fill2_triple<T: Copy, F: Fn(T, T) -> (T, T, T)>(a: &[T], b: &[T], o: Triple<'_, T>, f: &F) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above).
        #[allow(unsafe_code)]
        return unsafe { fill2_triple_avx512(a, b, o, f) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: as above, for AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { fill2_triple_avx2(a, b, o, f) };
    }
    fill2_triple_plain(a, b, o, f)
}

#[inline(always)]
fn fill2_triple_plain<T: Copy, F: Fn(T, T) -> (T, T, T)>(
    a: &[T],
    b: &[T],
    (o1, o2, o3): Triple<'_, T>,
    f: &F,
) {
    let n = o1.len();
    let (o2, o3, a, b) = (&mut o2[..n], &mut o3[..n], &a[..n], &b[..n]);
    for i in 0..n {
        let (u, v, w) = f(a[i], b[i]);
        o1[i].write(u);
        o2[i].write(v);
        o3[i].write(w);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fill2_triple_avx2<T: Copy, F: Fn(T, T) -> (T, T, T)>(a: &[T], b: &[T], o: Triple<'_, T>, f: &F) {
    fill2_triple_plain(a, b, o, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fill2_triple_avx512<T: Copy, F: Fn(T, T) -> (T, T, T)>(
    a: &[T],
    b: &[T],
    o: Triple<'_, T>,
    f: &F,
) {
    fill2_triple_plain(a, b, o, f)
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    fn bits(v: &[MaybeUninit<f32>]) -> Vec<u32> {
        // SAFETY: every caller passes a slice its fill has written in full.
        v.iter()
            .map(|x| unsafe { x.assume_init() }.to_bits())
            .collect()
    }

    fn inputs(n: usize, salt: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7 + salt * 131) % 997) as f32 - 498.0) * 0.0213)
            .collect()
    }

    /// Each instruction-set path gives the plain loop's bits (odd length: the vector tails).
    #[test]
    fn every_instruction_set_path_gives_the_plain_loops_bits() {
        let n = 4099;
        let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(|s| inputs(n, s));
        let one = |x: f32| {
            (
                super::super::exp_f32(x),
                x / (1.0 + super::super::exp_f32(-x)),
            )
        };
        let five = |a: f32, b: f32, c: f32, d: f32, e: f32| (a * b + c, a * d - c * e / (b + 9.0));
        let new = || vec![MaybeUninit::uninit(); n];
        let (mut p1, mut q1, mut p5, mut q5) = (new(), new(), new(), new());
        fill1_pair_plain(&a, (&mut p1, &mut q1), &one);
        fill5_pair_plain(&a, &b, &c, &d, &e, (&mut p5, &mut q5), &five);
        #[cfg(target_arch = "x86_64")]
        for path in ["avx2", "avx512f"] {
            let has = match path {
                "avx2" => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
                _ => is_x86_feature_detected!("avx512f"),
            };
            if !has {
                continue;
            }
            let (mut g1, mut h1, mut g5, mut h5) = (new(), new(), new(), new());
            // SAFETY: the CPU has the path's features (checked above).
            unsafe {
                if path == "avx2" {
                    fill1_pair_avx2(&a, (&mut g1, &mut h1), &one);
                    fill5_pair_avx2(&a, &b, &c, &d, &e, (&mut g5, &mut h5), &five);
                } else {
                    fill1_pair_avx512(&a, (&mut g1, &mut h1), &one);
                    fill5_pair_avx512(&a, &b, &c, &d, &e, (&mut g5, &mut h5), &five);
                }
            }
            assert_eq!(bits(&g1), bits(&p1), "{path}: one input, first");
            assert_eq!(bits(&h1), bits(&q1), "{path}: one input, second");
            assert_eq!(bits(&g5), bits(&p5), "{path}: five inputs, first");
            assert_eq!(bits(&h5), bits(&q5), "{path}: five inputs, second");
        }
    }

    /// Over the compute team's parts, each output of a pair map equals the one-output map of
    /// its component.
    #[test]
    fn pair_maps_match_two_single_maps() {
        use super::super::simd::{map1, map4};
        let n = (1 << 17) + 3;
        let [a, b, c, d] = [0, 1, 2, 3].map(|s| inputs(n, s));
        let f = |v: f32| (v * 2.0 - 1.0, super::super::exp_f32(v));
        let (p, q) = map1_pair(&a, f);
        assert_eq!(p, map1(&a, |v| f(v).0));
        assert_eq!(q, map1(&a, |v| f(v).1));
        let g = |a: f32, b: f32, c: f32, d: f32| (a * c - d, a * b * super::super::exp_f32(c));
        let (p, q) = map4_pair(&a, &b, &c, &d, g);
        assert_eq!(p, map4(&a, &b, &c, &d, |a, b, c, d| g(a, b, c, d).0));
        assert_eq!(q, map4(&a, &b, &c, &d, |a, b, c, d| g(a, b, c, d).1));
    }

    #[test]
    #[should_panic(expected = "map4_pair: argument lengths differ")]
    fn unequal_lengths_panic_with_the_map() {
        let _ = map4_pair(
            &[1.0f32; 3],
            &[1.0; 3],
            &[1.0; 2],
            &[1.0; 3],
            |a, _, _, _| (a, a),
        );
    }
}
