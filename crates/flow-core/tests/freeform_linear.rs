//! The linear sanity check of free-form flows (Draxler et al. 2024, arXiv:2310.16624, §3):
//! for `f(x) = A x` and `g = A⁻¹`, the surrogate `vᵀ J_f(x) · stop_grad(J_g(z) v)` has expected
//! gradient `E_v[v vᵀ] A⁻ᵀ = A⁻ᵀ = ∇_A log|det A|` for `E[v vᵀ] = I`.

use flow_core::{DType, Tensor, grad, jvp, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[test]
fn hutchinson_surrogate_gradient_is_unbiased_for_the_log_determinant() {
    let d = 3;
    let k = 4000; // Hutchinson vectors, one per row
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let a0 = Tensor::randn(&[d, d], DType::F64, &mut rng)
        .add(&Tensor::eye(d, DType::F64).mul_scalar(2.0));
    let a = a0.requires_grad();
    let a_inv = a0.inverse();
    let x = Tensor::randn(&[k, d], DType::F64, &mut rng).requires_grad();
    let v = Tensor::randn(&[k, d], DType::F64, &mut rng);
    // Row convention: f(x) = x Aᵀ, so J_f = A; g(z) = z A⁻ᵀ, so J_g = A⁻¹.
    let z = x.matmul_transposed(&a);
    let vt_jf = vjp_with_graph(&z, &[&x], &v).remove(0); // rows: vᵀ A (differentiable in A)
    let (_, jg_v) = jvp(|z| z.matmul_transposed(&a_inv), &z.detach(), &v); // rows: A⁻¹ v
    let per_vector = vt_jf.mul(&jg_v.detach()).sum_axis(1, false); // [k]
    // Per-vector gradients (for the Monte-Carlo standard error): ∂/∂A (vᵀ A w) = v wᵀ.
    let mean_grad = grad(&per_vector.mean_all(), &[&a]).remove(0).to_vec_f64();
    let (vv, ww) = (v.to_vec_f64(), jg_v.to_vec_f64());
    let exact = a0.inverse().t().to_vec_f64();
    // Cross-check against ∇_A log|det A| from the slogdet op.
    let ldet = grad(&a.slogdet().1, &[&a]).remove(0).to_vec_f64();
    for idx in 0..d * d {
        let (i, j) = (idx / d, idx % d);
        let samples: Vec<f64> = (0..k).map(|n| vv[n * d + i] * ww[n * d + j]).collect();
        let mean = samples.iter().sum::<f64>() / k as f64;
        let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (k - 1) as f64;
        let standard_error = (var / k as f64).sqrt();
        assert!(
            (mean - mean_grad[idx]).abs() < 1e-12,
            "autodiff gradient vs per-vector mean"
        );
        assert!(
            (ldet[idx] - exact[idx]).abs() < 1e-12,
            "slogdet gradient vs A⁻ᵀ"
        );
        // 4.5 standard errors: a false alarm over 9 entries has probability < 1e-4.
        assert!(
            (mean - exact[idx]).abs() < 4.5 * standard_error,
            "entry ({i},{j}): estimate {mean} vs A⁻ᵀ {} (SE {standard_error})",
            exact[idx]
        );
    }
}
