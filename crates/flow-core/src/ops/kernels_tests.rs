//! Tests of `ops/kernels.rs`: ndarray's general paths and naive index loops are the oracles.

use super::*;

/// The contiguous-row fast paths agree with ndarray's general broadcasting and axis sums.
#[test]
fn fast_sum_to_and_broadcast_to_match_the_general_path() {
    let a = ArrayD::from_shape_vec(
        IxDyn(&[2, 3, 4]),
        (0..24).map(|v| f64::from(v) * 0.37 - 2.0).collect(),
    )
    .expect("shape");
    for target in [&[4][..], &[1, 4], &[3, 4], &[1, 3, 4], &[1, 1, 1], &[]] {
        let mut general = a.clone();
        let lead = a.ndim() - target.len();
        for i in (lead..a.ndim()).rev() {
            if target[i - lead] == 1 {
                general = general.sum_axis(Axis(i)).insert_axis(Axis(i));
            }
        }
        for _ in 0..lead {
            general = general.sum_axis(Axis(0));
        }
        let fast = sum_to(&a.clone().into_shared(), target);
        assert_eq!(fast.shape(), target);
        let err = fast
            .iter()
            .zip(&general)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(err < 1e-12, "sum_to {target:?}: {err}");
        let back = broadcast_to(&fast, a.shape());
        let want = fast.broadcast(IxDyn(a.shape())).expect("bc").to_owned();
        assert_eq!(back, want, "broadcast_to from {target:?}");
    }
}
/// Gather and scatter-add along a middle axis agree with ndarray's `select` and a naive
/// loop, with repeated and missing indices.
#[test]
fn gather_and_scatter_add_match_naive_loops() {
    let a = ArrayD::from_shape_vec(
        IxDyn(&[2, 3, 4]),
        (0..24).map(|v| f64::from(v) * 0.5 - 3.0).collect(),
    )
    .expect("shape")
    .into_shared();
    let indices = [2, 0, 2, 1, 2];
    // Every axis: runs of 12 (axis 0), 4 and 1 (the last axis, one value per index).
    for axis in 0..3 {
        let within: Vec<usize> = indices.iter().map(|&i| i % a.shape()[axis]).collect();
        assert_eq!(
            gather(&a, axis, &within),
            a.select(Axis(axis), &within),
            "axis {axis}"
        );
    }
    let got = gather(&a, 1, &indices);
    let picked = got.into_shared();
    let summed = scatter_add(&picked, 1, &indices, 4);
    for o in 0..2 {
        for j in 0..4 {
            for t in 0..4 {
                let want: f64 = indices
                    .iter()
                    .enumerate()
                    .filter(|&(_, &i)| i == j)
                    .map(|(k, _)| picked[[o, k, t]])
                    .sum();
                assert_eq!(summed[[o, j, t]], want, "[{o}, {j}, {t}]");
            }
        }
    }
}

/// The row-sum fast path of `sum_to` has the bits of ndarray's `sum_axis` (the general path
/// it replaced) for every width around the blocks of eight, including signed zeros.
#[test]
fn row_sums_keep_ndarrays_bits() {
    for width in 2..=27 {
        for lead in [&[5][..], &[3, 2]] {
            let mut shape = lead.to_vec();
            shape.push(width);
            let len: usize = shape.iter().product();
            let values = (0..len).map(|i| match i % 11 {
                3 => -0.0,
                7 => 0.0,
                r => ((i * 7919) % 1009) as f32 * 10f32.powi(r as i32 % 5 - 2) - 37.0,
            });
            let a = ArrayD::from_shape_vec(IxDyn(&shape), values.collect()).expect("shape");
            let mut target = shape.clone();
            target[lead.len()] = 1;
            let fast = sum_to(&a.clone().into_shared(), &target);
            let general = a.sum_axis(Axis(lead.len())).insert_axis(Axis(lead.len()));
            let bits = |x: &ArrayD<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast.to_owned()), bits(&general), "{shape:?}");
        }
    }
}

/// `narrow`, `pad` and `concat` agree with naive index loops for runs of every length
/// around the short-copy paths (0–40 values per row), along the last and a middle axis.
#[test]
fn narrow_pad_and_concat_match_index_loops() {
    for (inner, len) in (0..=40).map(|l| (1, l)).chain([(3, 5), (2, 17)]) {
        let (outer, dim, start) = (4, len + 9, 6.min(len + 9 - len));
        let shape = [outer, dim, inner];
        let a = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
            (ix[0] * 1000 + ix[1] * 10 + ix[2]) as f64
        })
        .into_shared();
        let cut = narrow(&a, 1, start, len);
        assert_eq!(
            cut,
            a.slice(ndarray::s![.., start..start + len, ..])
                .to_owned()
                .into_dyn(),
            "narrow {len}"
        );
        let padded = pad(&cut.clone().into_shared(), 1, 2, 3);
        for ((o, j, t), v) in (0..outer)
            .flat_map(|o| (0..len + 5).flat_map(move |j| (0..inner).map(move |t| (o, j, t))))
            .zip(padded.iter())
        {
            let want = if (2..2 + len).contains(&j) {
                cut[[o, j - 2, t]]
            } else {
                0.0
            };
            assert_eq!(*v, want, "pad {len} at [{o}, {j}, {t}]");
        }
        let joined = concat(&[&a, &cut.clone().into_shared(), &a], 1);
        let want =
            ndarray::concatenate(Axis(1), &[a.view(), cut.view(), a.view()]).expect("concat");
        assert_eq!(joined, want, "concat {len}");
    }
}
