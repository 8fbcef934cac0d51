//! Quick end-to-end smoke tests of the autodiff engine.

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
