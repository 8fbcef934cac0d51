//! Exact likelihoods (FFF arXiv:2310.16624 §4.1; FIF arXiv:2306.01843 Eq. 3): the linear FFF
//! equals the Gaussian NLL, the rectangular volume carries its ½, encoder and decoder versions
//! agree when g = f⁻¹, chunking does not change results, and the bgflow convention differs from
//! the normalised NLL by ½ d_eff log 2π.

mod common;

use std::f64::consts::PI;
use std::rc::Rc;

use common::{Coupling, CouplingNet, LinearNet};
use flow_core::{DType, Tensor};
use flow_freeform::{EgnnConfig, FreeFormFlow, JacobianSide, Latent, exact_log_prob, log_volume};

/// Cholesky factor (lower, row-major) of an SPD matrix, by hand.
fn cholesky(s: &[f64], n: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                l[i * n + i] = (s[i * n + i] - sum).sqrt();
            } else {
                l[i * n + j] = (s[i * n + j] - sum) / l[j * n + j];
            }
        }
    }
    l
}

/// log N(x; μ, Σ) with Σ given densely, via a hand-written Cholesky solve.
fn gaussian_log_density(x: &[f64], mu: &[f64], sigma: &[f64], n: usize) -> f64 {
    let l = cholesky(sigma, n);
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (x[i] - mu[i] - s) / l[i * n + i];
    }
    let log_det: f64 = (0..n).map(|i| 2.0 * l[i * n + i].ln()).sum();
    -0.5 * y.iter().map(|v| v * v).sum::<f64>() - 0.5 * log_det - 0.5 * n as f64 * (2.0 * PI).ln()
}

#[test]
fn exact_nll_of_a_linear_fff_is_the_gaussian_nll() {
    let mut rng = common::rng(20);
    let d = 4;
    let a = Tensor::eye(d, DType::F64)
        .add(&Tensor::randn(&[d, d], DType::F64, &mut rng).mul_scalar(0.5));
    let b = Tensor::randn(&[d], DType::F64, &mut rng);
    let a_inv = a.inverse();
    // f(x) = A x + b, g(z) = A⁻¹ z − A⁻¹ b.
    let model = FreeFormFlow::new(
        Box::new(LinearNet::new(&a, &b, "enc")),
        Box::new(LinearNet::new(
            &a_inv,
            &b.reshape(&[1, d])
                .matmul_transposed(&a_inv)
                .neg()
                .reshape(&[d]),
            "dec",
        )),
        Latent::standard_normal(d),
    );
    // x ~ N(μ, Σ) with μ = −A⁻¹ b and Σ = A⁻¹ A⁻ᵀ.
    let mu = b
        .reshape(&[1, d])
        .matmul_transposed(&a_inv)
        .neg()
        .to_vec_f64();
    let sigma = a_inv.matmul(&a_inv.t()).to_vec_f64();
    let x = Tensor::randn(&[9, d], DType::F64, &mut rng);
    let want: Vec<f64> = x
        .to_vec_f64()
        .chunks(d)
        .map(|r| gaussian_log_density(r, &mu, &sigma, d))
        .collect();
    for side in [JacobianSide::Decoder, JacobianSide::Encoder] {
        for chunk in [2, 100] {
            let eval = exact_log_prob(&model, &x, None, side, chunk);
            for (got, w) in eval.log_prob.to_vec_f64().iter().zip(&want) {
                assert!(
                    (got - w).abs() < 1e-10,
                    "{side:?}, chunk {chunk}: {got} vs {w}"
                );
            }
            assert!(eval.mean_reconstruction() < 1e-20);
        }
    }
}

#[test]
fn rectangular_volume_of_a_linear_decoder_is_half_log_det_gram() {
    let mut rng = common::rng(21);
    let (big_d, d) = (5, 2);
    let bmat = Tensor::randn(&[big_d, d], DType::F64, &mut rng);
    let bv = bmat.to_vec_f64();
    // Gram matrix BᵀB by hand, determinant of a 2×2.
    let g = |i: usize, j: usize| {
        (0..big_d)
            .map(|k| bv[k * d + i] * bv[k * d + j])
            .sum::<f64>()
    };
    let want = 0.5 * (g(0, 0) * g(1, 1) - g(0, 1) * g(1, 0)).ln();
    let jac = bmat.reshape(&[1, big_d, d]);
    assert!((log_volume(&jac).item() - want).abs() < 1e-12, "missing ½?");
    // Wide orientation (an encoder Jacobian) gives the same.
    assert!((log_volume(&jac.t()).item() - want).abs() < 1e-12);
    // Through a model: log p(x̂) = log p_Z(z) − ½ log det(BᵀB).
    let c = bmat
        .transposed_matmul(&bmat)
        .inverse()
        .matmul_transposed(&bmat);
    let model = FreeFormFlow::new(
        Box::new(LinearNet::new(&c, &Tensor::zeros(&[d], DType::F64), "enc")),
        Box::new(LinearNet::new(
            &bmat,
            &Tensor::zeros(&[big_d], DType::F64),
            "dec",
        )),
        Latent::standard_normal(d),
    );
    let x = Tensor::randn(&[3, big_d], DType::F64, &mut rng);
    let eval = exact_log_prob(&model, &x, None, JacobianSide::Decoder, 8);
    for (lp, lz) in eval
        .log_prob
        .to_vec_f64()
        .iter()
        .zip(eval.log_prob_latent.to_vec_f64())
    {
        assert!((lp - (lz - want)).abs() < 1e-12);
    }
    // Off-manifold points reconstruct with error > 0, reported beside the likelihood.
    assert!(eval.mean_reconstruction() > 1e-3);
}

#[test]
fn encoder_and_decoder_likelihoods_agree_when_g_inverts_f() {
    let inner = Rc::new(Coupling::new(22));
    let model = FreeFormFlow::new(
        Box::new(CouplingNet {
            inner: inner.clone(),
            inverse: false,
        }),
        Box::new(CouplingNet {
            inner: inner.clone(),
            inverse: true,
        }),
        Latent::standard_normal(4),
    );
    let x = Tensor::randn(&[7, 4], DType::F64, &mut common::rng(23));
    let dec = exact_log_prob(&model, &x, None, JacobianSide::Decoder, 3);
    let enc = exact_log_prob(&model, &x, None, JacobianSide::Encoder, 3);
    for (a, b) in dec
        .log_prob
        .to_vec_f64()
        .iter()
        .zip(enc.log_prob.to_vec_f64())
    {
        assert!((a - b).abs() < 1e-10, "decoder {a} vs encoder {b}");
    }
    for (lv, ld) in enc
        .log_volume
        .to_vec_f64()
        .iter()
        .zip(inner.log_det(&x).to_vec_f64())
    {
        assert!(
            (lv - ld).abs() < 1e-10,
            "dense log-det {lv} vs analytic {ld}"
        );
    }
}

#[test]
fn bgflow_nll_differs_from_normalised_nll_by_half_effective_dim_log_two_pi() {
    let (n, d) = (4, 2);
    let mut rng = common::rng(24);
    let cfg = EgnnConfig::new(n, d, 2)
        .with_hidden(8)
        .with_coord_head_gain(1.0);
    let model = FreeFormFlow::new(
        Box::new(cfg.build("enc", DType::F64, &mut rng)),
        Box::new(cfg.build("dec", DType::F64, &mut rng)),
        Latent::mean_free(n, d),
    );
    let x = Latent::mean_free(n, d).sample(5, DType::F64, &mut rng);
    let eval = exact_log_prob(&model, &x, None, JacobianSide::Decoder, 5);
    let shift = 0.5 * ((n - 1) * d) as f64 * (2.0 * PI).ln();
    for (bg, lp) in eval
        .nll_bgflow(&model)
        .to_vec_f64()
        .iter()
        .zip(eval.log_prob.to_vec_f64())
    {
        assert!(
            (bg + shift - (-lp)).abs() < 1e-10,
            "bgflow {bg} + {shift} vs {}",
            -lp
        );
    }
}
