//! The fused spline (`SplineShape::forward` and `inverse`) against its definition, the
//! composition of tensor ops (`SplineShape::composed`): values, the kernel VJP, f32 against
//! f64, round trips, higher derivatives (which the composition supplies) and inputs that
//! share a path. Every check runs in both directions.

use flow_core::testing::check_grads;
use flow_core::{DType, Tensor, grad, grad_with_graph, hvp, vjp};
use flow_coupling::rq_spline::SplineShape;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

const SHAPE: SplineShape = SplineShape {
    bins: 8,
    bound: 3.0,
    min_bin: 1e-3,
    min_derivative: 1e-3,
};

/// `m` inputs ~ N(0, 2²) (about a seventh outside `[−3, 3]`) whose first three are `B`, `−B`
/// and just inside `B`, and raw parameters ~ N(0, 1.5²), in `dtype`.
fn inputs(m: usize, seed: u64, dtype: DType) -> (Tensor, Tensor) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut x = Tensor::randn(&[m], DType::F64, &mut rng)
        .mul_scalar(2.0)
        .to_vec_f64();
    x[0] = SHAPE.bound;
    x[1] = -SHAPE.bound;
    x[2] = SHAPE.bound * (1.0 - 1e-9);
    let raw = Tensor::randn(&[m, SHAPE.params_per_dim()], DType::F64, &mut rng).mul_scalar(1.5);
    (
        Tensor::from_vec(x, &[m]).to_dtype(dtype),
        raw.to_dtype(dtype),
    )
}

/// The inputs without their three edge rows.
fn interior((x, raw): (Tensor, Tensor)) -> (Tensor, Tensor) {
    let m = x.len();
    (x.narrow(0, 3, m - 3), raw.narrow(0, 3, m - 3))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
}

/// `max |a − b| / max(1, |b|)` over the entries.
fn max_rel_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(p, q)| (p - q).abs() / q.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The fused spline in one direction.
fn fused(inverse: bool, v: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
    if inverse {
        SHAPE.inverse(v, raw)
    } else {
        SHAPE.forward(v, raw)
    }
}

/// `(y, log g')` stacked as `[2, M]`.
fn stacked(pair: (Tensor, Tensor)) -> Tensor {
    let m = pair.0.len();
    Tensor::concat(&[&pair.0.reshape(&[1, m]), &pair.1.reshape(&[1, m])], 0)
}

// Tolerances: f64 values of magnitude ≤ B = 3 whose knots are summed in another order
// (a running sum against a product with a triangular ones matrix): a few ulp of 3, far below
// 1e-12. VJP entries pass through divisions by bin widths ≥ 2B·1e-3 and by the spline's
// denominator, which amplify round-off by up to ~1e3: 1e-9 relative.

#[test]
fn values_match_the_composition_in_f64() {
    for inverse in [false, true] {
        let (x, raw) = inputs(257, 1, DType::F64);
        let out = stacked(fused(inverse, &x, &raw));
        let composed = stacked(SHAPE.composed(&x, &raw, inverse));
        let err = max_abs_diff(&out, &composed);
        assert!(
            err < 1e-12,
            "inverse {inverse}: max |fused − composed| = {err}"
        );
        // Rows at or beyond ±B are the identity with log-derivative 0.
        let v = out.to_vec_f64();
        assert_eq!((v[0], v[1], v[257], v[258]), (3.0, -3.0, 0.0, 0.0));
    }
}

#[test]
fn round_trips_share_their_knots() {
    // g⁻¹(g(x)) = x and log g′ + log (g⁻¹)′ = 0. The steepest bins of these parameters
    // amplify round-off ~1.6e4-fold (the f32 composition's round trip loses 5.7e-3): in f64
    // within 1e-9, in f32 within 1.5× the composition's own round-trip error.
    let (x, raw) = interior(inputs(400, 10, DType::F64));
    let trip = |x: &Tensor, raw: &Tensor, fused: bool| {
        let (y, l) = if fused {
            SHAPE.forward(x, raw)
        } else {
            SHAPE.composed(x, raw, false)
        };
        let (back, l_inv) = if fused {
            SHAPE.inverse(&y, raw)
        } else {
            SHAPE.composed(&y, raw, true)
        };
        (
            max_abs_diff(&back, x),
            max_abs_diff(&l.add(&l_inv), &l.zeros_like()),
        )
    };
    let (err, err_l) = trip(&x, &raw, true);
    assert!(
        err < 1e-9 && err_l < 1e-8,
        "f64: round trip {err}, log-derivatives {err_l}"
    );
    let (x32, raw32) = (x.to_dtype(DType::F32), raw.to_dtype(DType::F32));
    let ((err, err_l), (base, base_l)) = (trip(&x32, &raw32, true), trip(&x32, &raw32, false));
    assert!(err <= 1.5 * base + 1e-6, "f32: round trip {err} vs {base}");
    assert!(
        err_l <= 1.5 * base_l + 1e-6,
        "f32: log-derivatives {err_l} vs {base_l}"
    );
}

#[test]
fn the_kernel_vjp_matches_the_composition_in_f64() {
    for inverse in [false, true] {
        let (x, raw) = inputs(257, 2, DType::F64);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let ct = Tensor::randn(&[2, 257], DType::F64, &mut rng);
        let (xs, raws) = (x.requires_grad(), raw.requires_grad());
        let out = vjp(&stacked(fused(inverse, &xs, &raws)), &[&xs, &raws], &ct);
        let composed = vjp(
            &stacked(SHAPE.composed(&xs, &raws, inverse)),
            &[&xs, &raws],
            &ct,
        );
        for (name, f, c) in [("x", &out[0], &composed[0]), ("raw", &out[1], &composed[1])] {
            let err = max_rel_diff(f, c);
            assert!(
                err < 1e-9,
                "inverse {inverse}, {name}: max relative difference {err}"
            );
        }
        // Outside rows pass the value's cotangent through and give their parameters nothing.
        let (gx, ctv) = (out[0].to_vec_f64(), ct.to_vec_f64());
        assert_eq!(gx[0], ctv[0]);
        assert!(
            out[1].to_vec_f64()[..SHAPE.params_per_dim()]
                .iter()
                .all(|&g| g == 0.0)
        );
    }
}

/// f32 kernels are as accurate as the f32 composition, measured against the f64 one: with
/// raw parameters of scale 1.5 some bins are steep, and both lose up to ~1e-4 (forward) or
/// ~4e-4 (inverse, the quadratic's root) to f32 rounding. The kernel sums its knots in
/// another order and uses the fast polynomial `exp`/`ln`: within 3× the composition's error.
#[test]
fn f32_kernels_track_the_f64_composition() {
    // Without the edge rows: B(1 − 1e-9) rounds to B in f32, which lies outside.
    let (x, raw) = interior(inputs(500, 4, DType::F64));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let ct = Tensor::randn(&[2, 497], DType::F64, &mut rng);
    let (x32, raw32, ct32) = (
        x.to_dtype(DType::F32).requires_grad(),
        raw.to_dtype(DType::F32).requires_grad(),
        ct.to_dtype(DType::F32),
    );
    let (xs, raws) = (x.requires_grad(), raw.requires_grad());
    for inverse in [false, true] {
        let out64 = stacked(SHAPE.composed(&xs, &raws, inverse));
        let kernel = stacked(fused(inverse, &x32, &raw32));
        let composed = stacked(SHAPE.composed(&x32, &raw32, inverse));
        let (err, base) = (
            max_abs_diff(&kernel, &out64),
            max_abs_diff(&composed, &out64),
        );
        assert!(
            err <= 3.0 * base + 1e-6,
            "inverse {inverse}: values {err} vs {base}"
        );
        let g64 = vjp(&out64, &[&xs, &raws], &ct);
        let gk = vjp(&kernel, &[&x32, &raw32], &ct32);
        let gc = vjp(&composed, &[&x32, &raw32], &ct32);
        for i in 0..2 {
            let (err, base) = (max_rel_diff(&gk[i], &g64[i]), max_rel_diff(&gc[i], &g64[i]));
            assert!(
                err <= 3.0 * base + 1e-6,
                "inverse {inverse}: vjp {i}: {err} vs {base}"
            );
        }
    }
}

#[test]
fn raw_zero_is_the_identity() {
    let x = Tensor::from_slice(&[-2.9f64, -1.0, 0.0, 0.37, 2.5], &[5]);
    let raw = Tensor::zeros(&[5, SHAPE.params_per_dim()], DType::F64);
    for inverse in [false, true] {
        let (y, logd) = fused(inverse, &x, &raw);
        assert!(max_abs_diff(&y, &x) < 1e-12);
        assert!(logd.to_vec_f64().iter().all(|l| l.abs() < 1e-12));
    }
}

#[test]
fn higher_derivatives_are_the_compositions() {
    for inverse in [false, true] {
        let (x, raw) = inputs(40, 6, DType::F64);
        let loss = |f: (Tensor, Tensor)| f.0.square().sum_all().add(&f.1.sum_all());
        // Reverse over reverse, through the fused op and through the composition.
        let (xs, raws) = (x.requires_grad(), raw.requires_grad());
        let g = grad_with_graph(&loss(fused(inverse, &xs, &raws)), &[&xs, &raws]);
        let gc = grad_with_graph(&loss(SHAPE.composed(&xs, &raws, inverse)), &[&xs, &raws]);
        let hx = grad(&g[1].square().sum_all(), &[&xs, &raws]);
        let hxc = grad(&gc[1].square().sum_all(), &[&xs, &raws]);
        for (a, b) in hx.iter().zip(&hxc) {
            assert!(max_rel_diff(a, b) < 1e-9);
        }
        // Forward over reverse in x.
        let v = Tensor::ones(&[40], DType::F64);
        let r1 = raw.clone();
        let hv = hvp(move |x| loss(fused(inverse, x, &r1)), &x, &v);
        let r2 = raw.clone();
        let hvc = hvp(move |x| loss(SHAPE.composed(x, &r2, inverse)), &x, &v);
        assert!(max_rel_diff(&hv, &hvc) < 1e-9);
    }
}

#[test]
fn second_order_gradcheck() {
    // Without the edge rows, where a finite difference would step across ±B.
    let (x, raw) = interior(inputs(12, 7, DType::F64));
    for inverse in [false, true] {
        check_grads(
            &|v: &[Tensor]| stacked(fused(inverse, &v[0], &v[1])),
            &[x.clone(), raw.clone()],
        );
    }
}

#[test]
fn parameters_computed_from_the_input_get_total_derivatives() {
    // raw = x ⊗ a: the gradient of the output with respect to x is ∂/∂x + ∂/∂raw · a.
    let (x, _) = inputs(30, 8, DType::F64);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let a = Tensor::randn(&[1, SHAPE.params_per_dim()], DType::F64, &mut rng).mul_scalar(0.3);
    let xs = x.requires_grad();
    let raw = xs.reshape(&[30, 1]).matmul(&a);
    let total = |f: (Tensor, Tensor)| f.0.sum_all().add(&f.1.sum_all());
    for inverse in [false, true] {
        let plain = grad(&total(fused(inverse, &xs, &raw)), &[&xs]);
        let recorded = grad_with_graph(&total(fused(inverse, &xs, &raw)), &[&xs]);
        let oracle = grad(&total(SHAPE.composed(&xs, &raw, inverse)), &[&xs]);
        assert!(max_rel_diff(&plain[0], &oracle[0]) < 1e-9);
        assert!(max_rel_diff(&recorded[0], &oracle[0]) < 1e-9);
    }
}
