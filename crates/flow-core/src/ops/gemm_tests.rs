//! Tests of `ops/gemm.rs`: the naive triple loop is the oracle.

use super::*;

/// The naive triple loop, in f64: the oracle.
fn naive(a: &[f64], b: &[f64], (m, k, n): (usize, usize, usize), ta: bool, tb: bool) -> Vec<f64> {
    let at = |i: usize, l: usize| if ta { a[l * m + i] } else { a[i * k + l] };
    let bt = |l: usize, j: usize| if tb { b[j * k + l] } else { b[l * n + j] };
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|l| at(i, l) * bt(l, j)).sum();
        }
    }
    c
}

fn values(len: usize, salt: usize) -> Vec<f64> {
    (0..len)
        .map(|i| (((i * 7919 + salt * 104_729) % 1000) as f64 - 500.0) / 250.0)
        .collect()
}

/// A product written through `Dst::Uninit` into a block poisoned with NaN (any read
/// of the destination would leak NaN into the result: `0 · NaN = NaN`).
fn poisoned<T: Gemm>(
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    nan: T,
) -> Vec<T> {
    let mut block = vec![MaybeUninit::new(nan); m * n];
    gemm_with(Dst::Uninit(&mut block), a, b, (m, k, n), (ta, tb), 0..m);
    block
        .into_iter()
        .map(|x| unsafe { x.assume_init() })
        .collect()
}

/// `gemm` over a NaN-filled output (overwrite mode) and, for `k > 0`, the uninitialised
/// path (`Dst::Uninit`, which relies on faer's documented promise not to read
/// the destination under `Accum::Replace`) against the naive product, f64 and f32, every
/// transpose, on shapes that also take faer's small-matrix, matrix-vector and skinny
/// paths. The uninitialised check fails if `Replace` is swapped for `Add`.
#[test]
fn matches_the_naive_product_for_every_transpose_and_awkward_shapes() {
    for &(m, k, n) in &[
        (1, 1, 1),
        (3, 0, 2),
        (0, 4, 3),
        (5, 7, 3),
        (33, 17, 2),
        (2, 65, 31),
        (1, 9, 33),
        (17, 9, 1),
        (128, 8, 256),
        (8, 512, 256),
        (130, 70, 45),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let want = naive(&a, &b, (m, k, n), ta, tb);
            let mut c = vec![f64::NAN; m * n];
            gemm(&mut c, &a, &b, (m, k, n), ta, tb, false);
            let mut results = vec![("gemm", c)];
            if k > 0 {
                results.push(("uninit", poisoned(&a, &b, (m, k, n), ta, tb, f64::NAN)));
            }
            for (path, c) in &results {
                for (x, y) in c.iter().zip(&want) {
                    assert!(
                        (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                        "{path} {m}x{k}x{n} {ta} {tb}: {x} vs {y}"
                    );
                }
            }
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
            let mut c32 = vec![f32::NAN; m * n];
            gemm(&mut c32, &a32, &b32, (m, k, n), ta, tb, false);
            let mut results = vec![("gemm", c32)];
            if k > 0 {
                let uninit = poisoned(&a32, &b32, (m, k, n), ta, tb, f32::NAN);
                results.push(("uninit", uninit));
            }
            for (path, c32) in &results {
                for (x, y) in c32.iter().zip(&want) {
                    let tol = 1e-5 * (1.0 + y.abs()) * (k as f64).sqrt().max(1.0);
                    assert!(
                        (f64::from(*x) - y).abs() <= tol,
                        "f32 {path} {m}x{k}x{n}: {x} vs {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn accumulate_adds_the_product_to_the_destination() {
    let (m, k, n) = (4, 3, 5);
    let (a, b) = (values(m * k, 5), values(k * n, 6));
    let mut c: Vec<f64> = (0..m * n).map(|i| i as f64).collect();
    gemm(&mut c, &a, &b, (m, k, n), false, false, true);
    let want = naive(&a, &b, (m, k, n), false, false);
    for (i, (x, y)) in c.iter().zip(&want).enumerate() {
        assert!((x - (y + i as f64)).abs() < 1e-12);
    }
}

/// Same inputs, same bits, whatever the thread count: the parts partition the output, never
/// the inner dimension, and no kernel's arithmetic for an entry depends on the rows of its
/// block, so a product cut into any number of parts on any number of threads (which `plan`
/// ties to the thread count) has the bits of the uncut product. f64 through faer; f32 also
/// through the skinny and outer kernels and with inner dimensions past faer's and the
/// kernels' 512-term blocks.
#[test]
fn products_are_bit_identical_for_any_cut_and_thread_count() {
    fn check<T: Gemm + From<f32> + Into<f64>>(shapes: &[(usize, usize, usize)], ty: &str) {
        for &(m, k, n) in shapes {
            let to_t = |v: Vec<f64>| v.into_iter().map(|x| T::from(x as f32)).collect::<Vec<T>>();
            let (a, b) = (to_t(values(m * k, 3)), to_t(values(k * n, 4)));
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut whole = vec![T::zero_impl(); m * n];
                let dims = (m, k, n);
                gemm_with(Dst::Overwrite(&mut whole), &a, &b, dims, (ta, tb), 0..m);
                for parts in [2, 3, 4] {
                    for threads in [1, 2, 3] {
                        let mut cut = vec![T::zero_impl(); m * n];
                        gemm_parts(&mut cut, &a, &b, dims, ta, tb, false, parts, threads);
                        // Compared as bits (widening to f64 keeps the sign of zero).
                        let bits = |v: &[T]| -> Vec<u64> {
                            v.iter().map(|&x| Into::<f64>::into(x).to_bits()).collect()
                        };
                        assert!(
                            bits(&whole) == bits(&cut),
                            "{ty} {m}x{k}x{n} ta={ta} tb={tb}: {parts} parts on {threads} threads"
                        );
                    }
                }
            }
        }
    }
    check::<f64>(&[(256, 192, 160), (389, 67, 101), (300, 1300, 40)], "f64");
    check::<f32>(
        &[
            (256, 192, 160),
            (512, 8, 256),
            (512, 256, 8),
            (256, 512, 4),
            (300, 1300, 40),
            (260, 1100, 6),
        ],
        "f32",
    );
}

/// `gemm_new` (parallel in-part initialisation) gives the bits of the in-place `gemm`
/// over a zeroed or bias-filled output, for every transpose, cut and degenerate shape.
#[test]
fn new_products_match_the_in_place_product_bit_for_bit() {
    for (m, k, n) in [
        (256, 192, 160),
        (389, 67, 101),
        (5, 0, 3),
        (0, 4, 3),
        (7, 3, 1),
    ] {
        let (a, b) = (values(m * k, 7), values(k * n, 8));
        let bias = values(n, 9);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut zero = vec![0.0; m * n];
            gemm(&mut zero, &a, &b, (m, k, n), ta, tb, false);
            let got = gemm_new(&a, &b, (m, k, n), ta, tb, Init::Zero);
            assert_eq!(got.len(), m * n);
            assert!(
                zero.iter()
                    .zip(&got)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
            );
            let mut biased: Vec<f64> = (0..m * n).map(|i| bias[i % n.max(1)]).collect();
            gemm(&mut biased, &a, &b, (m, k, n), ta, tb, true);
            let got = gemm_new(&a, &b, (m, k, n), ta, tb, Init::Rows(&bias));
            assert!(
                biased
                    .iter()
                    .zip(&got)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{m}x{k}x{n} ta={ta} tb={tb}"
            );
        }
    }
}

#[test]
fn most_parts_come_from_the_shape() {
    assert_eq!(
        parts_for(512, 2 * 512 * 8 * 256),
        4,
        "skinny, 128-row parts"
    );
    assert_eq!(parts_for(512, 2 * 512 * 2 * 256), 1, "below the threshold");
    assert_eq!(parts_for(512, 2 * 512 * 256 * 256), 4, "128-row parts");
    assert_eq!(parts_for(100, 1 << 30), 1, "too few rows to cut");
    assert_eq!(parts_for(1 << 14, 1 << 40), MAX_PARTS);
}

/// The fork rule on the shapes it was measured on: the hidden products of a 64-wide coupling
/// subnet at batch 512 stay on the caller with the element-wise passes around them; the
/// MLP steps' products, skinny ones included (their 512 × 256 output is split like the SiLU
/// pass that reads it), go to the team; and a long product goes whatever its rows.
#[test]
fn small_row_data_stays_on_the_caller() {
    use crate::parallel::{team::elementwise_parts, with_threads};
    assert!(!worth_a_fork(512, 64, 64), "coupling subnet, hidden layer");
    assert!(worth_a_fork(512, 256, 256), "MLP hidden layer");
    assert!(worth_a_fork(512, 8, 256), "MLP input layer: 512 × 256 out");
    assert!(
        worth_a_fork(512, 256, 8),
        "its input gradient: 512 × 256 in"
    );
    assert!(
        worth_a_fork(256, 200, 200),
        "50 Ki elements of rows, but 20 MFLOP"
    );
    assert!(
        !worth_a_fork(256, 64, 128),
        "4 MFLOP on 32 Ki elements of rows"
    );
    // The element-wise passes beside them fall on the same side of the line.
    let (silu_small, silu_large) = with_threads(2, || {
        (elementwise_parts(512 * 64), elementwise_parts(512 * 256))
    });
    assert_eq!((silu_small, silu_large), (1, 2));
}

/// Results do not depend on where the operands and the output start (what
/// [`CacheAligned`](crate::allocator::CacheAligned) changes): every shape of the reference
/// steps, with every operand and the output moved 0–15 floats off a cache line, gives the
/// bits of the aligned product. Were faer to sum differently for aligned data, declaring the
/// allocator would change results; this pins that it does not.
#[test]
fn products_do_not_depend_on_buffer_alignment() {
    let shapes = [
        ((512, 256, 256), (false, true)),
        ((512, 256, 256), (false, false)),
        ((256, 512, 256), (true, false)),
        ((8, 512, 256), (true, false)),
        ((256, 512, 8), (true, false)),
        ((512, 256, 8), (false, true)),
        ((512, 8, 256), (false, true)),
        ((64, 512, 64), (true, false)),
        ((512, 64, 64), (false, true)),
    ];
    // A slice of `len` values starting `shift` floats past a 64-byte boundary.
    fn at_shift(v: &[f32], store: &mut Vec<f32>, shift: usize) -> std::ops::Range<usize> {
        store.clear();
        store.resize(v.len() + 32, 0.0);
        let base = (store.as_ptr() as usize % 64) / 4;
        let start = (16 - base) % 16 + shift;
        store[start..start + v.len()].copy_from_slice(v);
        start..start + v.len()
    }
    for ((m, k, n), (ta, tb)) in shapes {
        let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
        let (a, b) = (to32(values(m * k, 1)), to32(values(k * n, 2)));
        let (mut sa, mut sb, mut sc) = (Vec::new(), Vec::new(), Vec::new());
        let mut want: Option<Vec<u32>> = None;
        for shift in [0, 1, 4, 15] {
            let (ra, rb) = (
                at_shift(&a, &mut sa, shift),
                at_shift(&b, &mut sb, 15 - shift),
            );
            let rc = at_shift(&vec![0.0; m * n], &mut sc, (shift + 7) % 16);
            gemm(
                &mut sc[rc.clone()],
                &sa[ra],
                &sb[rb],
                (m, k, n),
                ta,
                tb,
                false,
            );
            let bits: Vec<u32> = sc[rc].iter().map(|x| x.to_bits()).collect();
            match &want {
                None => want = Some(bits),
                Some(w) => assert!(*w == bits, "{m}x{k}x{n} ta={ta} tb={tb} shift {shift}"),
            }
        }
    }
}
