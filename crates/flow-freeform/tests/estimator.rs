//! The free-form estimator (FFF arXiv:2310.16624, Eqs. 7–10; FIF arXiv:2306.01843, Eq. 12):
//! exact identities for linear maps, unbiasedness against the dense-Jacobian log-det gradient
//! once g = f⁻¹, the fixed-v identity for any g, gradient routing, and agreement of the two
//! AD paths.

mod common;

use std::rc::Rc;

use common::{Coupling, CouplingNet, LinearNet, flat, mean_and_se};
use flow_core::nn::{Module, values};
use flow_core::{DType, Tensor, grad, jacobian};
use flow_freeform::{
    Differentiation, FffLossConfig, FreeFormFlow, HutchinsonSampler, Latent, ResNetConfig,
    fff_loss, sample_v, volume_change_surrogate,
};

#[test]
fn linear_flow_with_exact_inverse_gives_s_equal_dim_per_sample() {
    let mut rng = common::rng(3);
    let d = 5;
    let a = Tensor::eye(d, DType::F64)
        .add(&Tensor::randn(&[d, d], DType::F64, &mut rng).mul_scalar(0.4));
    let a_inv = a.inverse();
    let x = Tensor::randn(&[20, d], DType::F64, &mut rng);
    let vs = sample_v(20, d, 3, HutchinsonSampler::Qr, DType::F64, &mut rng);
    let enc = |x: &Tensor| x.matmul_transposed(&a);
    let dec = |z: &Tensor| z.matmul_transposed(&a_inv);
    for mode in [
        Differentiation::ReverseOverReverse,
        Differentiation::ReverseOverForward,
    ] {
        let s = volume_change_surrogate(&enc, &dec, &x, &vs, mode).surrogate;
        // vᵀ A A⁻¹ v = ‖v‖² = D for √D-scaled vectors.
        for v in s.to_vec_f64() {
            assert!((v - d as f64).abs() < 1e-10, "{mode:?}: S = {v}");
        }
    }
}

#[test]
fn injective_linear_pair_with_cb_identity_gives_s_equal_latent_dim() {
    // f = C (d×D), g = B (D×d) with C B = I_d: S = vᵀ C B v = ‖v‖² = d (FIF identity).
    let mut rng = common::rng(4);
    let (big_d, d) = (6, 2);
    let b = Tensor::randn(&[big_d, d], DType::F64, &mut rng);
    let c = b.transposed_matmul(&b).inverse().matmul_transposed(&b); // (BᵀB)⁻¹Bᵀ
    let x = Tensor::randn(&[10, big_d], DType::F64, &mut rng);
    let vs = sample_v(10, d, 1, HutchinsonSampler::Qr, DType::F64, &mut rng);
    let enc = |x: &Tensor| x.matmul_transposed(&c);
    let dec = |z: &Tensor| z.matmul_transposed(&b);
    let s = volume_change_surrogate(&enc, &dec, &x, &vs, Differentiation::ReverseOverReverse);
    assert_eq!(s.reconstruction.shape(), &[10, big_d]);
    for v in s.surrogate.to_vec_f64() {
        assert!((v - d as f64).abs() < 1e-10, "S = {v}");
    }
}

#[test]
fn expected_surrogate_gradient_equals_exact_log_det_gradient_when_g_inverts_f() {
    let model = Coupling::new(5);
    let params = model.params();
    let wrt = values(&params);
    let wrt_refs: Vec<&Tensor> = wrt.iter().collect();
    let mut rng = common::rng(6);
    let points = Tensor::randn(&[4, 4], DType::F64, &mut rng);
    // Oracle: ∇θ mean log|det J_f| from the slogdet of the dense Jacobian (our autodiff).
    let jac = jacobian(|x| model.forward(x), &points);
    let exact = flat(&grad(&jac.slogdet().1.mean_all(), &wrt_refs));
    // ... which agrees with the analytic log-det.
    let analytic = flat(&grad(&model.log_det(&points).mean_all(), &wrt_refs));
    for (e, a) in exact.iter().zip(&analytic) {
        assert!(
            (e - a).abs() < 1e-10,
            "dense slogdet gradient {e} vs analytic {a}"
        );
    }
    // Estimator: groups of R Hutchinson vectors per point; one gradient estimate per group.
    let (groups, reps) = (40, 100);
    let idx: Vec<usize> = (0..4 * reps).map(|i| i % 4).collect();
    let x = points.index_select(0, &idx);
    for sampler in [HutchinsonSampler::Qr, HutchinsonSampler::Gaussian] {
        let estimates: Vec<Vec<f64>> = (0..groups)
            .map(|_| {
                let vs = sample_v(4 * reps, 4, 1, sampler, DType::F64, &mut rng);
                let out = volume_change_surrogate(
                    &|x| model.forward(x),
                    &|z| model.inverse(z),
                    &x,
                    &vs,
                    Differentiation::ReverseOverReverse,
                );
                flat(&grad(&out.surrogate.mean_all(), &wrt_refs))
            })
            .collect();
        let (mean, se) = mean_and_se(&estimates);
        let scale = exact.iter().fold(0.0f64, |m, e| m.max(e.abs()));
        let max_se = se.iter().fold(0.0f64, |m, s| m.max(*s));
        assert!(
            max_se < 0.1 * scale,
            "{sampler:?}: test too noisy (SE {max_se}, scale {scale})"
        );
        for (i, ((m, s), e)) in mean.iter().zip(&se).zip(&exact).enumerate() {
            // 5 SE per entry (≈ 90 entries × 2 samplers: false alarm < 1e-4).
            assert!(
                (m - e).abs() < 5.0 * s + 1e-12,
                "{sampler:?}, parameter entry {i}: estimate {m} ± {s} vs exact {e}"
            );
        }
    }
}

fn resnet_model(seed: u64, dim: usize, latent: usize) -> FreeFormFlow {
    let mut rng = common::rng(seed);
    let cfg = ResNetConfig::new(dim, latent, &[16, 16], 2);
    FreeFormFlow::new(
        Box::new(cfg.build_encoder("enc", DType::F64, &mut rng)),
        Box::new(cfg.build_decoder("dec", DType::F64, &mut rng)),
        Latent::standard_normal(latent),
    )
}

#[test]
fn fixed_v_gradient_matches_dense_jacobian_expression_for_any_decoder() {
    for (dim, latent) in [(3, 3), (5, 2)] {
        let model = resnet_model(7, dim, latent);
        let mut rng = common::rng(8);
        let x = Tensor::randn(&[6, dim], DType::F64, &mut rng);
        let v = sample_v(6, latent, 1, HutchinsonSampler::Qr, DType::F64, &mut rng).remove(0);
        let enc_params = model.encoder_parameters();
        let wrt = values(&enc_params);
        let wrt_refs: Vec<&Tensor> = wrt.iter().collect();
        // Oracle: vᵀ J_f(x) C v with dense J_f (differentiable) and frozen C = J_g(f(x)).
        let jf = jacobian(|x| model.encode(x, None), &x); // [b, d, D]
        let z = model.encode(&x, None).detach();
        let c = jacobian(|z| model.decode(z, None), &z).detach(); // [b, D, d]
        let jfc_v = jf.matmul(&c).matmul(&v.reshape(&[6, latent, 1]));
        let oracle_val = jfc_v.reshape(&[6, latent]).mul(&v).sum_axis(1, false);
        let oracle = flat(&grad(&oracle_val.sum_all(), &wrt_refs));
        let mut per_mode = Vec::new();
        for mode in [
            Differentiation::ReverseOverReverse,
            Differentiation::ReverseOverForward,
        ] {
            let out = volume_change_surrogate(
                &|x| model.encode(x, None),
                &|z| model.decode(z, None),
                &x,
                std::slice::from_ref(&v),
                mode,
            );
            for (s, o) in out
                .surrogate
                .to_vec_f64()
                .iter()
                .zip(oracle_val.to_vec_f64())
            {
                assert!((s - o).abs() < 1e-10, "{mode:?}: S = {s} vs oracle {o}");
            }
            let g = flat(&grad(&out.surrogate.sum_all(), &wrt_refs));
            let scale = oracle.iter().fold(1e-3f64, |m, e| m.max(e.abs()));
            for (a, b) in g.iter().zip(&oracle) {
                assert!(
                    (a - b).abs() < 1e-10 * scale,
                    "{mode:?} ({dim}→{latent}): {a} vs {b}"
                );
            }
            // Routing: the surrogate sends exactly zero gradient to the decoder.
            let dec_params = model.decoder_parameters();
            let dec = values(&dec_params);
            let dg = grad(&out.surrogate.sum_all(), &dec.iter().collect::<Vec<_>>());
            assert!(
                flat(&dg).iter().all(|&g| g == 0.0),
                "{mode:?}: S reached the decoder"
            );
            per_mode.push(g);
        }
        // Reverse-over-reverse and reverse-over-forward agree to round-off.
        for (a, b) in per_mode[0].iter().zip(&per_mode[1]) {
            assert!(
                (a - b).abs() < 1e-12 * (1.0 + a.abs()),
                "AD paths differ: {a} vs {b}"
            );
        }
    }
}

#[test]
fn central_difference_of_the_surrogate_agrees_to_second_order() {
    // (c) of the AD recipe: ⟨v, f(x + εc) − f(x − εc)⟩ / 2ε with c = J_g(z) v, in f64.
    let model = resnet_model(9, 3, 3);
    let mut rng = common::rng(10);
    let x = Tensor::randn(&[4, 3], DType::F64, &mut rng);
    let v = sample_v(4, 3, 1, HutchinsonSampler::Qr, DType::F64, &mut rng).remove(0);
    let out = volume_change_surrogate(
        &|x| model.encode(x, None),
        &|z| model.decode(z, None),
        &x,
        std::slice::from_ref(&v),
        Differentiation::ReverseOverReverse,
    );
    let (_, c) = flow_core::jvp(|z| model.decode(z, None), &model.encode(&x, None), &v);
    let fd = |eps: f64| {
        let plus = model.encode(&x.add(&c.mul_scalar(eps)), None);
        let minus = model.encode(&x.sub(&c.mul_scalar(eps)), None);
        plus.sub(&minus)
            .mul(&v)
            .sum_axis(1, false)
            .mul_scalar(0.5 / eps)
            .to_vec_f64()
    };
    let s = out.surrogate.to_vec_f64();
    let (e1, e2): (f64, f64) = fd(1e-3)
        .iter()
        .zip(fd(5e-4))
        .zip(&s)
        .fold((0.0, 0.0), |(a, b), ((p, q), s)| {
            (a.max((p - s).abs()), b.max((q - s).abs()))
        });
    assert!(e1 < 1e-4, "central difference error {e1}");
    // O(ε²): halving ε divides the error by ≈ 4 (between 2.5 and 6 allowing round-off).
    assert!(e1 / e2 > 2.5 && e1 / e2 < 6.0, "error ratio {}", e1 / e2);
}

#[test]
fn smoke_minimal_config_every_parameter_gets_gradient_and_loss_sums_dimensions() {
    // test/test_minimal.py: 2→32→2 SiLU MLPs, batch 16, β = 100, K = 1.
    let model = resnet_model(11, 2, 2);
    let mut rng = common::rng(12);
    let x = Tensor::randn(&[16, 2], DType::F64, &mut rng);
    let cfg = FffLossConfig::new(100.0);
    let terms = fff_loss(&model, &x, None, &cfg, &mut rng);
    let params = model.parameters();
    let grads = grad(&terms.loss, &values(&params).iter().collect::<Vec<_>>());
    for (p, g) in params.iter().zip(&grads) {
        assert!(
            g.to_vec_f64().iter().any(|&v| v != 0.0),
            "{} got no gradient",
            p.name()
        );
    }
    // Reconstruction is a per-sample sum over dimensions; the loss is a batch mean.
    let x1 = model.reconstruct(&x, None);
    let manual: Vec<f64> = x
        .sub(&x1)
        .square()
        .to_vec_f64()
        .chunks(2)
        .map(|r| r.iter().sum())
        .collect();
    for (a, b) in terms.reconstruction.to_vec_f64().iter().zip(&manual) {
        assert!((a - b).abs() < 1e-12);
    }
    let want = terms.nll.mean_all().item() + 100.0 * terms.reconstruction.mean_all().item();
    assert!((terms.loss.item() - want).abs() < 1e-10 * want.abs().max(1.0));
}

#[test]
fn analytic_inverse_pair_builds_a_model() {
    let inner = Rc::new(Coupling::new(13));
    let model = FreeFormFlow::new(
        Box::new(CouplingNet {
            inner: inner.clone(),
            inverse: false,
        }),
        Box::new(CouplingNet {
            inner,
            inverse: true,
        }),
        Latent::standard_normal(4),
    );
    let x = Tensor::randn(&[5, 4], DType::F64, &mut common::rng(14));
    let err = model.reconstruct(&x, None).sub(&x).abs().to_vec_f64();
    assert!(err.iter().all(|e| *e < 1e-12), "inverse is not exact");
    let _ = LinearNet::new(
        &Tensor::eye(2, DType::F64),
        &Tensor::zeros(&[2], DType::F64),
        "l",
    );
}
