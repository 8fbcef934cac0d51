//! SiLU keeps σ(x) from its forward pass for its scalar derivative rules
//! (`Elementwise::KEEPS_AUX`, `ops/unary.rs`) instead of recomputing it per rule. The kept σ
//! is bit-identical to a recomputed one, so every derivative the rules produce must carry the
//! bits of the same rule evaluated on a fresh σ: the `silu_prime` op (which recomputes σ from
//! `x`) is the oracle. Checked in f32 (where a stale or wrong σ would show in the last bits)
//! and f64, on inputs that include the saturated tails and zero.

use flow_core::{DType, Tensor, grad, hvp, jvp, no_grad, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn inputs(dtype: DType) -> (Tensor, Tensor, Tensor) {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(13);
    let x = Tensor::randn(&[64, 33], dtype, &mut r).mul_scalar(4.0);
    let mut xv = x.to_vec_f64();
    xv[..6].copy_from_slice(&[0.0, -0.0, 30.0, -30.0, 95.0, -95.0]);
    let x = Tensor::from_vec(xv, &[64, 33]).to_dtype(dtype);
    let g = Tensor::randn(&[64, 33], dtype, &mut r);
    let v = Tensor::randn(&[64, 33], dtype, &mut r);
    (x, g, v)
}

fn bits(t: &Tensor) -> Vec<u64> {
    t.to_vec_f64().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn recorded_silu_output_has_the_bits_of_inference() {
    for dtype in [DType::F32, DType::F64] {
        let (x, _, _) = inputs(dtype);
        let plain = no_grad(|| x.silu());
        let kept = x.detach().requires_grad().silu();
        assert_eq!(bits(&kept), bits(&plain), "{dtype:?}");
    }
}

#[test]
fn backward_and_tangent_rules_read_the_kept_sigma_exactly() {
    for dtype in [DType::F32, DType::F64] {
        let (x, g, v) = inputs(dtype);
        let oracle = |w: &Tensor| w.mul(&x.silu_prime());
        // Backward (fused kernel): ∂/∂x Σ g ⊙ silu(x) = g ⊙ silu′(x).
        let xr = x.detach().requires_grad();
        let back = grad(&xr.silu().mul(&g).sum_all(), &[&xr]).remove(0);
        assert_eq!(bits(&back), bits(&oracle(&g)), "{dtype:?}: backward");
        // Recorded backward (the derivative-product op reads σ too).
        let xr = x.detach().requires_grad();
        let recorded = vjp_with_graph(&xr.silu(), &[&xr], &g).remove(0);
        assert_eq!(bits(&recorded), bits(&oracle(&g)), "{dtype:?}: recorded");
        // Forward mode: the tangent of silu(x) along v is v ⊙ silu′(x).
        let (_, tangent) = jvp(|x| x.silu(), &x, &v);
        assert_eq!(bits(&tangent), bits(&oracle(&v)), "{dtype:?}: jvp");
    }
}

/// Second order (forward-over-reverse, the dual kernel with the kept σ): the HVP of
/// `Σ g ⊙ silu(x)` is `g ⊙ silu″(x) ⊙ v`, where `silu″ ⊙ v` is the tangent of the
/// `silu_prime` op (σ recomputed). The two round in a different order, so the check is to
/// a few ulps of f64 (and 1e-5 relative in f32).
#[test]
fn forward_over_reverse_matches_the_recomputed_second_derivative() {
    for (dtype, tol) in [(DType::F64, 1e-14), (DType::F32, 1e-5)] {
        let (x, g, v) = inputs(dtype);
        let h = hvp(|x| x.silu().mul(&g).sum_all(), &x, &v);
        let (_, second_v) = jvp(|x| x.silu_prime(), &x, &v);
        let want = g.mul(&second_v).to_vec_f64();
        let scale = 1.0 + want.iter().fold(0.0f64, |m, w| m.max(w.abs()));
        let err = h
            .to_vec_f64()
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= tol * scale, "{dtype:?}: error {err:.2e}");
    }
}
