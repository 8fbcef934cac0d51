//! Tests of `ops/gemm_skinny.rs`: the naive f64 product is the oracle for the values, a
//! scalar loop written from the module's stated order is the oracle for the bits.

use std::mem::MaybeUninit;

use super::*;

pub(crate) fn values(len: usize, salt: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + salt * 104_729) % 1013) as f32 - 506.0) / 371.0)
        .collect()
}

fn at(a: &[f32], (m, k): (usize, usize), ta: bool, i: usize, l: usize) -> f32 {
    if ta { a[l * m + i] } else { a[i * k + l] }
}

fn bt(b: &[f32], (k, n): (usize, usize), tb: bool, l: usize, j: usize) -> f32 {
    if tb { b[j * k + l] } else { b[l * n + j] }
}

/// The order the module documents, one scalar at a time: per element, `k` in blocks of
/// `KC`, each block a chain of `mul_add` from zero, added to the running output.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reference(
    c: &mut [f32],
    add: bool,
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    rows: Range<usize>,
) {
    for i in rows.clone() {
        for j in 0..n {
            let out = &mut c[(i - rows.start) * n + j];
            for k0 in (0..k).step_by(KC) {
                let mut acc = 0.0f32;
                for l in k0..(k0 + KC).min(k) {
                    acc = at(a, (m, k), ta, i, l).mul_add(bt(b, (k, n), tb, l, j), acc);
                }
                *out = if k0 == 0 && !add { acc } else { *out + acc };
            }
        }
    }
}

/// The instruction sets this CPU can run the kernel with.
fn levels() -> Vec<Level> {
    let mut out = Vec::new();
    if let Some(best) = simd_level() {
        out.push(Level::Avx2);
        if matches!(best, Level::Avx512) {
            out.push(Level::Avx512);
        }
    }
    out
}

const SHAPES: [(usize, usize, usize); 8] = [
    (32, 2, 8),
    (33, 7, 2),
    (33, 256, 8),
    (40, 513, 3),
    (100, 64, 2),
    (45, 1100, 5),
    (64, 8, 7),
    (256, 256, 8),
];

/// Every path (both instruction sets, overwrite / add / uninitialised, every transpose,
/// full and ragged row groups, one and several `k` blocks, 2–8 columns) has exactly the bits
/// of the scalar loop of the documented order, and values within round-off of the naive f64
/// product (`k · 2⁻²³ · Σ|a b|`, the textbook bound on a length-`k` f32 sum).
#[test]
fn every_path_has_the_documented_order_and_the_naive_values() {
    let levels = levels();
    if levels.is_empty() {
        return; // No AVX2/FMA: the kernel never runs; faer's path is tested in gemm_tests.
    }
    for (m, k, n) in SHAPES {
        let (a, b, start) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for add in [false, true] {
                let mut want = if add {
                    start.clone()
                } else {
                    vec![f32::NAN; m * n]
                };
                reference(&mut want, add, &a, &b, (m, k, n), (ta, tb), 0..m);
                for &level in &levels {
                    let mut got = if add {
                        start.clone()
                    } else {
                        vec![f32::NAN; m * n]
                    };
                    let mut dst = if add {
                        Dst::Add(&mut got)
                    } else {
                        Dst::Overwrite(&mut got)
                    };
                    assert!(product_at(
                        Some(level),
                        &mut dst,
                        &a,
                        &b,
                        (m, k, n),
                        (ta, tb),
                        0..m
                    ));
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{m}x{k}x{n} ta={ta} tb={tb} add={add}"
                    );
                }
                for i in 0..m {
                    for j in 0..n {
                        let terms = (0..k).map(|l| {
                            f64::from(at(&a, (m, k), ta, i, l))
                                * f64::from(bt(&b, (k, n), tb, l, j))
                        });
                        let (exact, size) =
                            terms.fold((0.0, 0.0), |(s, z), t| (s + t, z + t.abs()));
                        let exact = exact
                            + if add {
                                f64::from(start[i * n + j])
                            } else {
                                0.0
                            };
                        let err = (f64::from(want[i * n + j]) - exact).abs();
                        assert!(err <= (k + 1) as f64 * f32::EPSILON as f64 * (size + 1.0));
                    }
                }
            }
        }
    }
}

/// Fresh (uninitialised) memory is written without being read, and every element is written.
#[test]
fn an_uninitialised_block_is_fully_written() {
    for level in levels() {
        let (m, k, n) = (37, 300, 6);
        let (a, b) = (values(m * k, 4), values(k * n, 5));
        let mut block = vec![MaybeUninit::new(f32::NAN); m * n];
        assert!(product_at(
            Some(level),
            &mut Dst::Uninit(&mut block),
            &a,
            &b,
            (m, k, n),
            (false, true),
            0..m
        ));
        let got: Vec<f32> = block.iter().map(|x| unsafe { x.assume_init() }).collect();
        let mut want = vec![0.0; m * n];
        reference(&mut want, false, &a, &b, (m, k, n), (false, true), 0..m);
        assert_eq!(got, want);
    }
}

/// Rows cut anywhere give the bits of the whole product (the parts of a parallel GEMM).
#[test]
fn rows_cut_anywhere_give_the_same_bits() {
    for level in levels() {
        let (m, k, n) = (100, 700, 8);
        let (a, b) = (values(m * k, 6), values(k * n, 7));
        let mut whole = vec![0.0; m * n];
        assert!(product_at(
            Some(level),
            &mut Dst::Overwrite(&mut whole),
            &a,
            &b,
            (m, k, n),
            (true, false),
            0..m
        ));
        let mut cut = vec![0.0; m * n];
        for rows in [0..32, 32..65, 65..100] {
            let block = &mut cut[rows.start * n..rows.end * n];
            assert!(product_at(
                Some(level),
                &mut Dst::Overwrite(block),
                &a,
                &b,
                (m, k, n),
                (true, false),
                rows
            ));
        }
        assert_eq!(whole, cut);
    }
}

/// What the kernel does not cover is declined and left untouched: one or more than 8 columns,
/// fewer than two terms of `k`, fewer than 32 rows, or no instruction set.
#[test]
fn declines_shapes_it_does_not_cover() {
    let level = simd_level();
    for (m, k, n, rows) in [
        (40, 4, 9, 0..40),
        (40, 4, 1, 0..40),
        (40, 0, 4, 0..40),
        (40, 1, 4, 0..40),
        (40, 4, 4, 0..31),
    ] {
        let (a, b) = (values(m * k, 8), values(k * n, 9));
        let mut c = vec![7.0; rows.len() * n];
        let taken = product_at(
            level,
            &mut Dst::Overwrite(&mut c),
            &a,
            &b,
            (m, k, n),
            (false, false),
            rows,
        );
        assert!(!taken && c.iter().all(|&x| x == 7.0), "{m}x{k}x{n}");
    }
    let (a, b) = (values(32 * 4, 1), values(4 * 4, 2));
    let mut c = vec![7.0; 32 * 4];
    assert!(!product_at(
        None,
        &mut Dst::Overwrite(&mut c),
        &a,
        &b,
        (32, 4, 4),
        (false, false),
        0..32
    ));
}

/// A destination of the wrong size is a programmer error and names the shapes.
#[test]
#[should_panic(expected = "gemm_skinny: destination of 10 values")]
fn a_wrong_destination_panics_with_the_shapes() {
    let (a, b) = (values(32 * 4, 1), values(4 * 4, 2));
    let mut c = vec![0.0; 10];
    product_at(
        simd_level(),
        &mut Dst::Overwrite(&mut c),
        &a,
        &b,
        (32, 4, 4),
        (false, false),
        0..32,
    );
}

/// The kernel left every result of the workspace bit-identical because faer sums in the same
/// order on the project machine. Ignored: it checks faer's internals (its blocking of `k` and
/// one fused chain per element), which a faer upgrade or another CPU may change; run it after
/// upgrading faer to learn whether results (and `NUMERICS_VERSION`) change.
#[test]
#[ignore = "checks faer's internal order of operations; run after a faer upgrade"]
fn matches_faer_bit_for_bit() {
    let bad = matches_faer_shapes();
    assert!(bad.is_empty(), "differ from faer: {bad:?}");
}

fn matches_faer_shapes() -> Vec<String> {
    let mut shapes = vec![(256, 256, 8), (512, 256, 8), (64, 5000, 8), (300, 513, 8)];
    for n in 2..=8 {
        for (m, k) in [
            (32, 2),
            (100, 64),
            (2000, 64),
            (20000, 64),
            (512, 2),
            (64, 700),
            (33, 1500),
        ] {
            shapes.push((m, k, n));
        }
        for m in [32, 33, 48, 63, 64, 100, 128, 256, 512] {
            for k in [
                2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 31, 32, 63, 64, 100, 128, 256, 512,
            ] {
                shapes.push((m, k, n));
            }
        }
    }
    let mut bad = Vec::new();
    for (m, k, n) in shapes {
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let start = values(m * n, 3);
            for add in [false, true] {
                let mut ours = start.clone();
                let mut dst = if add {
                    Dst::Add(&mut ours)
                } else {
                    Dst::Overwrite(&mut ours)
                };
                assert!(product(&mut dst, &a, &b, (m, k, n), (ta, tb), 0..m));
                let theirs = faer_product(&start, add, &a, &b, (m, k, n), (ta, tb));
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                if bits(&ours) != bits(&theirs) {
                    bad.push(format!("{m}x{k}x{n} ta={ta} tb={tb} add={add}"));
                }
            }
        }
    }
    bad
}

/// faer's product `start (=|+=) op_a(A) op_b(B)` on one thread (`A` stored `[m, k]` or, when
/// `ta`, `[k, m]`; `B` stored `[k, n]` or `[n, k]`): the second oracle of the kernels' ignored
/// twin tests.
pub(crate) fn faer_product(
    start: &[f32],
    add: bool,
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
) -> Vec<f32> {
    use faer::{Accum, MatMut, MatRef, Par};
    fn view(s: &[f32], r: usize, c: usize, t: bool) -> MatRef<'_, f32> {
        let v = MatRef::from_row_major_slice(s, r, c);
        if t { v.transpose() } else { v }
    }
    let lhs = if ta {
        view(a, k, m, true)
    } else {
        view(a, m, k, false)
    };
    let rhs = if tb {
        view(b, n, k, true)
    } else {
        view(b, k, n, false)
    };
    let mut out = start.to_vec();
    let accum = if add { Accum::Add } else { Accum::Replace };
    let dst = MatMut::from_row_major_slice_mut(&mut out, m, n);
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, 1.0f32, Par::Seq);
    out
}
