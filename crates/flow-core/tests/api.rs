//! The public autodiff API end to end: gradients, JVPs, recording modes, deep graphs.

use flow_core::{DType, Tensor, grad, grad_with_graph, jvp, make_dual};

#[test]
fn mlp_like_gradient_matches_hand_computation() {
    let x = Tensor::from_slice(&[1.0f64, 2.0], &[1, 2]);
    let w = Tensor::from_slice(&[0.5f64, -1.0, 2.0, 0.25], &[2, 2]).requires_grad();
    let y = x.matmul(&w).tanh().sum_all();
    let g = grad(&y, &[&w]).remove(0);
    let h = [1.0 * 0.5 + 2.0 * 2.0, -1.0 + 2.0 * 0.25];
    let d: Vec<f64> = h.iter().map(|v: &f64| 1.0 - v.tanh().powi(2)).collect();
    let expect = [1.0 * d[0], 1.0 * d[1], 2.0 * d[0], 2.0 * d[1]];
    for (a, b) in g.to_vec_f64().iter().zip(expect) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn second_derivative_of_silu() {
    let x = Tensor::from_slice(&[0.3f64, -1.2], &[2]).requires_grad();
    let g = grad_with_graph(&x.silu().sum_all(), &[&x]).remove(0);
    let h = grad(&g.sum_all(), &[&x]).remove(0).to_vec_f64();
    for (i, &xv) in [0.3f64, -1.2].iter().enumerate() {
        let d = |v: f64| {
            let s = 1.0 / (1.0 + (-v).exp());
            s * (1.0 + v * (1.0 - s))
        };
        let fd = (d(xv + 1e-5) - d(xv - 1e-5)) / 2e-5;
        assert!((h[i] - fd).abs() < 1e-8, "{} vs {fd}", h[i]);
    }
}

#[test]
fn jvp_inside_reverse() {
    // f(x) = W x, J v = W v; ∇_W sum(J v) = 1 vᵀ
    let w = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0], &[2, 2]).requires_grad();
    let x = Tensor::from_slice(&[1.0f64, 1.0], &[1, 2]);
    let v = Tensor::from_slice(&[0.5f64, -1.0], &[1, 2]);
    let (_, jv) = jvp(|x| x.matmul(&w), &x, &v);
    let g = grad(&jv.sum_all(), &[&w]).remove(0);
    assert_eq!(g.to_vec_f64(), vec![0.5, 0.5, -1.0, -1.0]);
    let d = make_dual(&x, &v).exp();
    assert!(d.tangent().is_some());
    let _ = Tensor::zeros(&[2], DType::F32);
}

#[test]
fn backward_returns_gradients_of_every_tracked_leaf() {
    let a = Tensor::from_slice(&[1.0f64, 2.0], &[2]).requires_grad();
    let b = Tensor::from_slice(&[3.0f64], &[1]).requires_grad();
    let constant = Tensor::from_slice(&[5.0f64, 5.0], &[2]);
    let y = a.mul(&b).add(&constant).sum_all(); // Σ a·b + 10
    let g = y.backward();
    assert_eq!(g.len(), 2);
    assert_eq!(g.get(&a).unwrap().to_vec_f64(), vec![3.0, 3.0]);
    assert_eq!(g.get(&b).unwrap().to_vec_f64(), vec![3.0]);
    assert!(g.get(&constant).is_none());
}

#[test]
fn no_grad_records_nothing_but_keeps_tangents() {
    let x = Tensor::from_slice(&[0.5f64], &[1]).requires_grad();
    let v = Tensor::from_slice(&[2.0f64], &[1]);
    let y = flow_core::no_grad(|| make_dual(&x, &v).sin());
    assert!(!y.is_tracked());
    assert!((y.tangent().unwrap().item() - 2.0 * 0.5f64.cos()).abs() < 1e-15);
}

#[test]
fn detach_stops_cotangents_and_tangents() {
    let x = Tensor::from_slice(&[1.5f64], &[1]).requires_grad();
    let y = x.square().detach().mul(&x); // d/dx = x² (the detached factor is a constant)
    assert_eq!(grad(&y.sum_all(), &[&x])[0].item(), 2.25);
    let d = make_dual(&x, &Tensor::from_slice(&[1.0f64], &[1]))
        .exp()
        .detach();
    assert!(d.tangent().is_none());
}

#[test]
fn gradients_of_unrelated_inputs_are_zero() {
    let x = Tensor::from_slice(&[1.0f64, 2.0], &[2]).requires_grad();
    let unrelated = Tensor::from_slice(&[7.0f64], &[1]).requires_grad();
    let g = grad(&x.sum_all(), &[&x, &unrelated]);
    assert_eq!(g[1].to_vec_f64(), vec![0.0]);
}

#[test]
fn very_deep_graphs_neither_overflow_on_backward_nor_on_drop() {
    let x = Tensor::from_slice(&[1.0f64], &[1]).requires_grad();
    let mut y = x.clone();
    for _ in 0..200_000 {
        y = y.add_scalar(1e-6);
    }
    let g = grad(&y.sum_all(), &[&x]).remove(0);
    assert_eq!(g.item(), 1.0);
    drop(y);
}

#[test]
#[should_panic(expected = "make_dual: primal shape [2] differs from tangent shape [3]")]
fn make_dual_checks_shapes() {
    let _ = make_dual(
        &Tensor::zeros(&[2], DType::F64),
        &Tensor::zeros(&[3], DType::F64),
    );
}

#[test]
fn diagonal_normal_matches_its_formula_and_sample_moments() {
    use flow_core::distributions::{DiagonalNormal, StandardNormal};
    use rand::SeedableRng;
    let mean = Tensor::from_slice(&[1.0f64, -2.0], &[2]);
    let log_std = Tensor::from_slice(&[0.0f64, 1.0f64.ln()], &[2]).add_scalar(0.5f64.ln());
    let d = DiagonalNormal::new(mean, log_std);
    let x = Tensor::from_slice(&[1.5f64, -2.0], &[1, 2]);
    // σ = 0.5 each: log p = −½(1)² − 2 ln 0.5 − ln 2π
    let expect = -0.5 - 2.0 * 0.5f64.ln() - (2.0 * std::f64::consts::PI).ln();
    assert!((d.log_prob(&x).item() - expect).abs() < 1e-12);
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
    let n = 20_000;
    let s = d.sample(n, &mut rng);
    let m = s.mean_axis(0, false).to_vec_f64();
    // Standard error of the mean: σ/√n = 0.5/141 ≈ 0.0035; allow 5 SE.
    assert!(
        (m[0] - 1.0).abs() < 0.018 && (m[1] + 2.0).abs() < 0.018,
        "{m:?}"
    );
    let sd = s.var_axis(0, false).sqrt().to_vec_f64();
    assert!(sd.iter().all(|v| (v - 0.5).abs() < 0.015), "{sd:?}");
    let std_normal = StandardNormal::new(2);
    assert!(
        (std_normal.log_prob(&x).item()
            - (-0.5 * (2.25 + 4.0) - (2.0 * std::f64::consts::PI).ln()))
        .abs()
            < 1e-12
    );
}

#[test]
fn jacobian_of_a_gradient_is_the_hessian() {
    // jacobian(∇E) needs tangents through the backward pass (forward-over-reverse); it used to
    // panic. ∇²(Σ x³) = diag(6x).
    let x = Tensor::from_slice(&[1.0f64, 2.0], &[1, 2]).requires_grad();
    let h = flow_core::jacobian(
        |x| {
            let e = x.powf(3.0).sum_all();
            grad(&e, &[x]).remove(0)
        },
        &x,
    );
    assert_eq!(h.to_vec_f64(), vec![6.0, 0.0, 0.0, 12.0]);
}

#[test]
#[should_panic(expected = "make_dual: the primal (shape [1, 2]) already carries a tangent")]
fn nested_forward_mode_is_refused_not_silently_zero() {
    // jvp(jvp(..)) on the same input used to replace the outer tangent and return zeros.
    let x = Tensor::from_slice(&[1.0f64, 2.0], &[1, 2]);
    let v = Tensor::from_slice(&[1.0f64, 0.0], &[1, 2]);
    let _ = flow_core::jvp(|x| flow_core::jvp(|y| y.powf(3.0), x, &v).1, &x, &v);
}

#[test]
fn hvp_is_the_supported_second_directional_derivative() {
    // What the refused jvp-of-jvp above would compute: second derivatives go through hvp
    // (a jvp of a gradient, forward-over-reverse), which the panic message names.
    let x = Tensor::from_slice(&[1.0f64, 2.0], &[2]);
    let v = Tensor::from_slice(&[1.0f64, 1.0], &[2]);
    let h = flow_core::hvp(|x| x.powf(3.0).sum_all(), &x, &v).to_vec_f64();
    // ∇²(Σx³) = diag(6x): H v = (6, 12)
    assert!(
        (h[0] - 6.0).abs() < 1e-12 && (h[1] - 12.0).abs() < 1e-12,
        "{h:?}"
    );
}

#[test]
fn fused_linear_equals_its_composition_in_value_vjp_and_jvp() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(11);
    let x = Tensor::randn(&[5, 4], DType::F64, &mut rng).requires_grad();
    let w = Tensor::randn(&[3, 4], DType::F64, &mut rng).requires_grad();
    let b = Tensor::randn(&[3], DType::F64, &mut rng).requires_grad();
    let ct = Tensor::randn(&[5, 3], DType::F64, &mut rng);
    let fused = x.linear(&w, Some(&b));
    let composed = x.matmul_transposed(&w).add(&b);
    let close = |a: &Tensor, c: &Tensor| {
        a.to_vec_f64()
            .iter()
            .zip(c.to_vec_f64())
            .all(|(p, q)| (p - q).abs() < 1e-12)
    };
    assert!(close(&fused, &composed));
    let gf = flow_core::vjp(&fused, &[&x, &w, &b], &ct);
    let gc = flow_core::vjp(&composed, &[&x, &w, &b], &ct);
    for (f, c) in gf.iter().zip(&gc) {
        assert!(close(f, c));
    }
    // JVP in each argument and all three together.
    let (tx, tw, tb) = (
        Tensor::randn(&[5, 4], DType::F64, &mut rng),
        Tensor::randn(&[3, 4], DType::F64, &mut rng),
        Tensor::randn(&[3], DType::F64, &mut rng),
    );
    let (xd, wd, bd) = (make_dual(&x, &tx), make_dual(&w, &tw), make_dual(&b, &tb));
    let combos: [(&Tensor, &Tensor, &Tensor); 4] =
        [(&xd, &w, &b), (&x, &wd, &b), (&x, &w, &bd), (&xd, &wd, &bd)];
    for (xi, wi, bi) in combos {
        let f = xi.linear(wi, Some(bi)).tangent().expect("fused tangent");
        let c = xi
            .matmul_transposed(wi)
            .add(bi)
            .tangent()
            .expect("composed tangent");
        assert!(close(&f, &c));
    }
}

#[test]
#[should_panic(expected = "linear: shapes x [2, 3], weight [4, 2], bias Some([4])")]
fn linear_names_all_three_shapes() {
    let _ = Tensor::zeros(&[2, 3], DType::F64).linear(
        &Tensor::zeros(&[4, 2], DType::F64),
        Some(&Tensor::zeros(&[4], DType::F64)),
    );
}
