//! `∂_c log q_θ(x|c)` by forward mode, per-sample reverse mode and a central difference in
//! log c, through every path by which c enters; and the θ-gradient of the residual loss
//! (forward-over-reverse) against a finite difference in θ (`trade.md` §6 items 4–5).

use flow_core::nn::Module;
use flow_core::{DType, Tensor, grad, no_grad};
use flow_trade::flow::{Architecture, LatentScale, ParamFlow, ParamFlowConfig};
use flow_trade::loss::residual_loss;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// Perturbs every parameter (the last subnet layers start at zero, which would hide c).
fn randomize(model: &ParamFlow, scale: f64, rng: &mut Xoshiro256PlusPlus) {
    for p in model.parameters() {
        let v = p.get();
        p.set(v.add(&Tensor::randn(v.shape(), DType::F64, rng).mul_scalar(scale)));
    }
}

fn configs() -> Vec<ParamFlowConfig> {
    vec![
        // Affine, MLP embedding of log c, c-dependent final affine, latent N(0, cI).
        ParamFlowConfig::affine(3, 3, &[16])
            .with_embedding(&[8], 2)
            .with_final_affine(8),
        // Spline couplings with log c, latent N(0, I/c).
        ParamFlowConfig::affine(2, 2, &[16])
            .with_architecture(Architecture::Spline {
                bins: 6,
                bound: 4.0,
            })
            .with_latent(LatentScale::InverseTemperature),
        // Unconditional flow with latent N(0, cI): only the latent depends on c.
        ParamFlowConfig::affine(2, 2, &[8]).with_conditional(false),
        // Z₂-symmetrised conditional flow (the φ⁴ model): c enters through both branches.
        ParamFlowConfig::affine(4, 2, &[8])
            .with_latent(LatentScale::None)
            .with_z2_symmetric(true),
    ]
}

/// The symmetrised density is even, `log q(x|c) = log q(−x|c)`, equals
/// `log(½q̃(x) + ½q̃(−x))` computed independently from the unsymmetrised flow with the same
/// parameters, and sampling returns the density of the sample it draws.
#[test]
fn z2_symmetrisation_is_exact() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let cfg = ParamFlowConfig::affine(4, 3, &[8]).with_latent(LatentScale::None);
    let plain = cfg.clone().build(DType::F64, &mut rng);
    randomize(&plain, 0.3, &mut rng);
    let mut rng2 = Xoshiro256PlusPlus::seed_from_u64(11);
    let sym = cfg.with_z2_symmetric(true).build(DType::F64, &mut rng2);
    for (p, q) in plain.parameters().iter().zip(sym.parameters()) {
        q.set(p.get());
    }
    let x = Tensor::randn(&[16, 4], DType::F64, &mut rng);
    let c = Tensor::from_vec(vec![0.27; 16], &[16]);
    let lq = sym.log_prob(&x, &c).to_vec_f64();
    let lq_neg = sym.log_prob(&x.neg(), &c).to_vec_f64();
    let a = plain.log_prob(&x, &c).to_vec_f64();
    let b = plain.log_prob(&x.neg(), &c).to_vec_f64();
    for i in 0..16 {
        let oracle = (0.5 * a[i].exp() + 0.5 * b[i].exp()).ln();
        assert!((lq[i] - lq_neg[i]).abs() < 1e-12, "not even at {i}");
        assert!((lq[i] - oracle).abs() < 1e-10, "{} vs {oracle}", lq[i]);
    }
    let (xs, lqs) = sym.sample_detached(&c, &mut rng);
    let again = sym.log_prob(&xs, &c).to_vec_f64();
    for (u, v) in lqs.to_vec_f64().iter().zip(&again) {
        assert!((u - v).abs() < 1e-10);
    }
}

#[test]
fn forward_reverse_and_central_difference_agree() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for cfg in configs() {
        let model = cfg.build(DType::F64, &mut rng);
        randomize(&model, 0.3, &mut rng);
        let n = 12;
        let x = Tensor::randn(&[n, cfg.dim], DType::F64, &mut rng);
        let cv: Vec<f64> = (0..n).map(|i| 0.4 + 0.15 * i as f64).collect();
        let c = Tensor::from_vec(cv.clone(), &[n]);
        let (_, fwd) = model.log_prob_and_dc(&x, &c);
        let fwd = fwd.to_vec_f64();
        // Per-sample reverse mode: each log q_i depends only on its own c_i.
        let cl = c.detach().requires_grad();
        let rev = grad(&model.log_prob(&x, &cl).sum_all(), &[&cl])
            .remove(0)
            .to_vec_f64();
        // Central difference in log c: (lq(c e^h) − lq(c e^{−h})) / (2 h c), bias O(h²).
        let h = 1e-4;
        let shifted = |s: f64| {
            let cs: Vec<f64> = cv.iter().map(|c| c * s.exp()).collect();
            no_grad(|| model.log_prob(&x, &Tensor::from_vec(cs, &[n])).to_vec_f64())
        };
        let (up, dn) = (shifted(h), shifted(-h));
        for i in 0..n {
            let fd = (up[i] - dn[i]) / (2.0 * h * cv[i]);
            let scale = 1.0 + fwd[i].abs();
            assert!(
                (fwd[i] - rev[i]).abs() < 1e-10 * scale,
                "{cfg:?}: fwd {} rev {}",
                fwd[i],
                rev[i]
            );
            // O(h²) = 1e-8 times third derivatives of order 10–100 here.
            assert!(
                (fwd[i] - fd).abs() < 1e-5 * scale,
                "{cfg:?}: fwd {} fd {fd}",
                fwd[i]
            );
        }
    }
}

/// ∇_θ of the Huber residual loss (forward mode in c inside the reverse pass) equals a
/// central difference of the loss in θ with x, c and target held fixed. ε = 1e-6: error
/// O(ε²) plus round-off 1e-16/ε ≈ 1e-10; tolerance 1e-6 relative.
#[test]
fn residual_gradient_in_theta_matches_finite_difference() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
    let cfg = ParamFlowConfig::affine(2, 2, &[8])
        .with_embedding(&[6], 2)
        .with_final_affine(6);
    let model = cfg.build(DType::F64, &mut rng);
    randomize(&model, 0.3, &mut rng);
    let n = 6;
    let x = Tensor::randn(&[n, 2], DType::F64, &mut rng);
    let c = Tensor::from_vec(
        (0..n).map(|i| 0.5 + 0.2 * i as f64).collect::<Vec<_>>(),
        &[n],
    );
    let target = Tensor::randn(&[n], DType::F64, &mut rng);
    let delta = 0.7; // both Huber branches occur for these residuals
    let loss = || residual_loss(&model, &x, &c, &target, delta);
    let params = model.parameters();
    let vals: Vec<Tensor> = params.iter().map(|p| p.get()).collect();
    let grads = grad(&loss(), &vals.iter().collect::<Vec<_>>());
    let eps = 1e-6;
    let mut checked = 0;
    for (p, g) in params.iter().zip(&grads) {
        let base = p.get().detach();
        let gv = g.to_vec_f64();
        for j in [0, base.len() / 2, base.len() - 1] {
            let bump = |s: f64| {
                let mut v = base.to_vec_f64();
                v[j] += s;
                p.set(Tensor::from_vec(v, base.shape()));
                let l = no_grad(|| loss().item());
                p.set(base.clone());
                l
            };
            let fd = (bump(eps) - bump(-eps)) / (2.0 * eps);
            assert!(
                (gv[j] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "{}[{j}]: {} vs {fd}",
                p.name(),
                gv[j]
            );
            checked += 1;
        }
    }
    assert!(checked >= 12);
}
