//! Tests of `ops/gemm_outer.rs`. The oracle for the bits is the scalar loop of the order
//! both kernels document (`gemm_skinny`'s tests, which also check it against the naive f64
//! product); faer is the second oracle, in an ignored test (its order is not a contract).

use std::mem::MaybeUninit;

use super::super::gemm_skinny::tests::{faer_product, reference, values};
use super::*;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every column count, row counts that end in a partial vector or a partial tile, one and
/// several `k` blocks.
fn shapes() -> Vec<(usize, usize, usize)> {
    let mut out = vec![(256, 512, 8), (64, 512, 4), (32, 2, 2)];
    for n in MIN_COLS..=MAX_COLS {
        out.extend([(100, 37, n), (64, 1100, n), (177, 513, n)]);
    }
    out
}

/// Every shape, overwriting, accumulating or filling fresh memory, has exactly the bits of
/// the documented order (the skinny kernel's), whose values the skinny tests check against
/// the naive f64 product.
#[test]
fn every_shape_has_the_documented_order() {
    if !has_avx512() {
        return; // The kernel declines everything; faer's path is tested in gemm_tests.
    }
    for (m, k, n) in shapes() {
        let (a, b, start) = (values(k * m, 1), values(k * n, 2), values(m * n, 3));
        for add in [false, true] {
            let mut want = if add { start.clone() } else { vec![0.0; m * n] };
            reference(&mut want, add, &a, &b, (m, k, n), (true, false), 0..m);
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
            assert!(product(&mut dst, &a, &b, (m, k, n), (true, false), 0..m));
            assert_eq!(bits(&got), bits(&want), "{m}x{k}x{n} add={add}");
        }
        let mut fresh = vec![MaybeUninit::new(f32::NAN); m * n];
        assert!(product(
            &mut Dst::Uninit(&mut fresh),
            &a,
            &b,
            (m, k, n),
            (true, false),
            0..m
        ));
        // SAFETY: the kernel wrote every element (NaN-initialised, so a skipped one shows).
        let fresh: Vec<f32> = fresh.iter().map(|x| unsafe { x.assume_init() }).collect();
        let mut want = vec![0.0; m * n];
        reference(&mut want, false, &a, &b, (m, k, n), (true, false), 0..m);
        assert_eq!(bits(&fresh), bits(&want), "{m}x{k}x{n} uninit");
    }
}

/// Row blocks (the parts of a parallel GEMM) give the bits of the whole product.
#[test]
fn row_blocks_give_the_whole_products_bits() {
    if !has_avx512() {
        return;
    }
    for ((m, k, n), cuts) in [
        ((100, 700, 8), vec![0..32, 32..65, 65..100]),
        ((256, 300, 3), vec![0..128, 128..256]),
    ] {
        let (a, b) = (values(k * m, 6), values(k * n, 7));
        let mut whole = vec![0.0; m * n];
        reference(&mut whole, false, &a, &b, (m, k, n), (true, false), 0..m);
        let mut cut = vec![0.0; m * n];
        for rows in cuts {
            let block = &mut cut[rows.start * n..rows.end * n];
            assert!(product(
                &mut Dst::Overwrite(block),
                &a,
                &b,
                (m, k, n),
                (true, false),
                rows
            ));
        }
        assert_eq!(bits(&whole), bits(&cut), "{m}x{k}x{n}");
    }
}

/// What the kernel does not cover is declined and left untouched: other transposes, one
/// term of `k`, one or more than 8 columns, fewer than 32 rows (also the mirror shape, few
/// rows and many columns, which faer runs faster).
#[test]
fn declines_shapes_it_does_not_cover() {
    for ((m, k, n), t) in [
        ((256, 64, 8), (false, false)),
        ((256, 64, 8), (true, true)),
        ((256, 64, 8), (false, true)),
        ((256, 1, 8), (true, false)),
        ((256, 64, 1), (true, false)),
        ((256, 64, 9), (true, false)),
        ((31, 64, 8), (true, false)),
        ((8, 64, 256), (true, false)),
    ] {
        let (a, b) = (values(m * k, 8), values(k * n, 9));
        let mut c = vec![7.0; m * n];
        let taken = product(&mut Dst::Overwrite(&mut c), &a, &b, (m, k, n), t, 0..m);
        assert!(!taken && c.iter().all(|&x| x == 7.0), "{m}x{k}x{n} {t:?}");
    }
}

/// A destination of the wrong size is a programmer error and names the shapes.
#[test]
#[should_panic(expected = "gemm_outer: destination of 10 values")]
fn a_wrong_destination_panics_with_the_shapes() {
    let (a, b) = (values(64 * 4, 1), values(64 * 4, 2));
    let mut c = vec![0.0; 10];
    product(
        &mut Dst::Overwrite(&mut c),
        &a,
        &b,
        (4, 64, 4),
        (true, false),
        0..4,
    );
}

/// The kernel left the workspace's results bit-identical because faer sums these shapes in
/// the same order on the project machines. Ignored for the reason the skinny kernel's twin
/// is: it checks faer's internals; run it after a faer upgrade.
#[test]
#[ignore = "checks faer's internal order of operations; run after a faer upgrade"]
fn matches_faer_bit_for_bit() {
    if !has_avx512() {
        return;
    }
    let mut bad = Vec::new();
    let mut all = shapes();
    all.extend([
        (256, 512, 2),
        (2, 512, 64),
        (64, 512, 4),
        (16, 512, 64),
        (4, 2000, 256),
    ]);
    for (m, k, n) in all {
        let (a, b, start) = (values(k * m, 1), values(k * n, 2), values(m * n, 3));
        for add in [false, true] {
            let mut ours = start.clone();
            let mut dst = if add {
                Dst::Add(&mut ours)
            } else {
                Dst::Overwrite(&mut ours)
            };
            if !product(&mut dst, &a, &b, (m, k, n), (true, false), 0..m) {
                continue;
            }
            let theirs = faer_product(&start, add, &a, &b, (m, k, n), (true, false));
            if bits(&ours) != bits(&theirs) {
                bad.push(format!("{m}x{k}x{n} add={add}"));
            }
        }
    }
    assert!(bad.is_empty(), "differ from faer: {bad:?}");
}
