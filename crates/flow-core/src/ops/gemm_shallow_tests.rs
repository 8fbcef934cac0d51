//! Tests of `ops/gemm_shallow.rs`. The oracle for the bits is the scalar loop of the order the
//! kernels document (`gemm_skinny`'s tests, which also check it against the naive f64
//! product); faer is the second oracle, in an ignored test (its order is not a contract).

use std::mem::MaybeUninit;

use super::super::gemm_skinny::tests::{faer_product, reference, values};
use super::*;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The reference MLP's two shapes, the subnet's, and shapes that end in a partial vector, a
/// partial tile of columns or of rows, at both ends of the term range.
fn shapes() -> Vec<(usize, usize, usize)> {
    let mut out = vec![(256, 8, 256), (512, 4, 64), (32, 2, 16)];
    for k in [2, 3, 8, 13, 16] {
        out.extend([(37, k, 17), (66, k, 100), (33, k, 257)]);
    }
    out
}

const TRANSPOSES: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

/// `NaN`-filled fresh memory, and the values after the kernel wrote it (every one, or a NaN
/// shows).
fn fresh(len: usize) -> Vec<MaybeUninit<f32>> {
    vec![MaybeUninit::new(f32::NAN); len]
}
fn written(block: &[MaybeUninit<f32>]) -> Vec<f32> {
    // SAFETY: initialised with NaN by `fresh`, so every element is initialised.
    block.iter().map(|x| unsafe { x.assume_init() }).collect()
}

/// Every shape and transpose, overwriting, accumulating, into fresh memory and from a bias
/// row, has exactly the bits of the documented order.
#[test]
fn every_path_has_the_documented_order() {
    if !has_avx512() {
        return; // The kernel declines everything; faer's path is tested in gemm_tests.
    }
    for (m, k, n) in shapes() {
        let (a, b, start) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
        let row = values(n, 4);
        for tr in TRANSPOSES {
            let case = format!("{m}x{k}x{n} {tr:?}");
            for add in [false, true] {
                let mut want = start.clone();
                reference(&mut want, add, &a, &b, (m, k, n), tr, 0..m);
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
                assert!(product(&mut dst, &a, &b, (m, k, n), tr, 0..m), "{case}");
                assert_eq!(bits(&got), bits(&want), "{case} add={add}");
            }
            let mut want = vec![0.0; m * n];
            reference(&mut want, false, &a, &b, (m, k, n), tr, 0..m);
            let mut block = fresh(m * n);
            assert!(product(
                &mut Dst::Uninit(&mut block),
                &a,
                &b,
                (m, k, n),
                tr,
                0..m
            ));
            assert_eq!(bits(&written(&block)), bits(&want), "{case} uninit");

            let mut want: Vec<f32> = row.iter().copied().cycle().take(m * n).collect();
            reference(&mut want, true, &a, &b, (m, k, n), tr, 0..m);
            let mut block = fresh(m * n);
            assert!(product_from_row(
                &mut block,
                &row,
                &a,
                &b,
                (m, k, n),
                tr,
                0..m
            ));
            assert_eq!(bits(&written(&block)), bits(&want), "{case} from a row");
        }
    }
}

/// Row blocks cut anywhere (as the team cuts a product) give the whole product's bits.
#[test]
fn row_blocks_give_the_whole_products_bits() {
    if !has_avx512() {
        return;
    }
    let (m, k, n) = (200, 8, 70);
    let (a, b, row) = (values(m * k, 5), values(k * n, 6), values(n, 7));
    for tr in TRANSPOSES {
        let mut whole = fresh(m * n);
        assert!(product_from_row(
            &mut whole,
            &row,
            &a,
            &b,
            (m, k, n),
            tr,
            0..m
        ));
        let mut cut = fresh(m * n);
        let (top, bottom) = cut.split_at_mut(77 * n);
        assert!(product_from_row(top, &row, &a, &b, (m, k, n), tr, 0..77));
        assert!(product_from_row(bottom, &row, &a, &b, (m, k, n), tr, 77..m));
        assert_eq!(bits(&written(&whole)), bits(&written(&cut)), "{tr:?}");
    }
}

/// One term, more than sixteen, fewer than sixteen columns or 32 rows: declined, untouched.
#[test]
fn declines_shapes_it_does_not_cover() {
    for (m, k, n) in [(64, 1, 64), (64, 17, 64), (64, 8, 15), (31, 8, 64)] {
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        let mut c = vec![7.0; m * n];
        assert!(!product(
            &mut Dst::Overwrite(&mut c),
            &a,
            &b,
            (m, k, n),
            (false, false),
            0..m
        ));
        assert!(c.iter().all(|&x| x == 7.0), "{m}x{k}x{n} written");
        let mut block = vec![MaybeUninit::new(7.0); m * n];
        let row = values(n, 3);
        assert!(!product_from_row(
            &mut block,
            &row,
            &a,
            &b,
            (m, k, n),
            (false, false),
            0..m
        ));
        assert!(
            written(&block).iter().all(|&x| x == 7.0),
            "{m}x{k}x{n} written"
        );
    }
}

#[test]
#[should_panic(expected = "gemm_shallow: destination of 10 values for rows 0..64 of 64×8·8×64")]
fn a_wrong_destination_panics_with_the_shapes() {
    let (a, b) = (values(64 * 8, 1), values(8 * 64, 2));
    let mut c = vec![0.0; 10];
    product(
        &mut Dst::Overwrite(&mut c),
        &a,
        &b,
        (64, 8, 64),
        (false, false),
        0..64,
    );
}

/// The kernel's bits are faer's, for every transpose, overwriting and accumulating (the
/// bias-row path is the accumulating one: `gemm_new` added faer's product to the copied row
/// before the kernel, and the unit test above ties the two paths to one scalar loop). Ignored
/// as the other kernels' twin tests are: it checks faer's internals; run it after a faer
/// upgrade.
#[test]
#[ignore = "checks faer's internal order of operations; run after a faer upgrade"]
fn matches_faer_bit_for_bit() {
    if !has_avx512() {
        return;
    }
    let mut bad = Vec::new();
    let mut all = shapes();
    all.extend([(512, 8, 256), (128, 16, 512), (1000, 5, 33)]);
    for (m, k, n) in all {
        let (a, b, start) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
        for tr in TRANSPOSES {
            for add in [false, true] {
                let mut ours = start.clone();
                let mut dst = if add {
                    Dst::Add(&mut ours)
                } else {
                    Dst::Overwrite(&mut ours)
                };
                assert!(product(&mut dst, &a, &b, (m, k, n), tr, 0..m));
                let theirs = faer_product(&start, add, &a, &b, (m, k, n), tr);
                if bits(&ours) != bits(&theirs) {
                    bad.push(format!("{m}x{k}x{n} {tr:?} add={add}"));
                }
            }
        }
    }
    assert!(bad.is_empty(), "differ from faer: {bad:?}");
}
