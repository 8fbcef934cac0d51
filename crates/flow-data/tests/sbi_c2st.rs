//! SBI tasks (reference posteriors) and the C2ST metric.

mod common;

use common::rng;
use flow_core::{DType, Tensor};
use flow_data::energy::two_moons_log_likelihood;
use flow_data::metrics::{C2stConfig, c2st};
use flow_data::sbi::*;

#[test]
fn c2st_same_is_half_and_different_is_one() {
    let cfg = C2stConfig {
        steps: 200,
        ..C2stConfig::default()
    };
    let a = Tensor::randn(&[400, 2], DType::F64, &mut rng(1));
    let b = Tensor::randn(&[400, 2], DType::F64, &mut rng(2));
    // Same distribution: accuracy ~ 0.5 ± 1/√(4·800) ≈ 0.018 sampling noise (+ overfitting).
    let same = c2st(&a, &b, &cfg);
    assert!((same - 0.5).abs() < 0.07, "same: {same}");
    // Means 4σ apart: the Bayes accuracy is Φ(2) ≈ 0.977.
    let far = c2st(&a, &b.add_scalar(4.0 / 2f64.sqrt()), &cfg);
    assert!(far > 0.95, "different: {far}");
}

#[test]
fn gaussian_linear_posterior_is_exact() {
    // Posterior N(x/2, 0.05 I): check mean and variance (n = 20k: SE of the mean 0.0016).
    let x: Vec<f64> = (0..10).map(|k| 0.1 * k as f64 - 0.4).collect();
    let s = GaussianLinear
        .sample_posterior(&x, 20_000, &mut rng(3))
        .unwrap();
    let (m, v) = (
        s.mean_axis(0, false).to_vec_f64(),
        s.var_axis(0, false).to_vec_f64(),
    );
    for k in 0..10 {
        assert!(
            (m[k] - x[k] / 2.0).abs() < 0.008 && (v[k] - 0.05).abs() < 0.005,
            "{k}: {} {}",
            m[k],
            v[k]
        );
    }
}

#[test]
fn two_moons_posterior_samples_satisfy_the_likelihood_and_match_simulation() {
    let task = TwoMoons;
    let theta0 = Tensor::from_vec(vec![0.3, -0.5], &[1, 2]);
    let x = task.simulate(&theta0, &mut rng(4)).to_vec_f64();
    let post = task.sample_posterior(&x, 2000, &mut rng(5)).unwrap();
    // Every posterior sample has positive likelihood and lies in the prior box.
    let ll = two_moons_log_likelihood(&Tensor::from_vec(x.clone(), &[1, 2]), &post);
    assert!(ll.all_finite(), "a posterior draw has zero likelihood");
    assert!(post.to_vec_f64().iter().all(|t| t.abs() < 1.0));
    // Both branches (sign of θ₁+θ₂) appear with about equal frequency (by symmetry of the
    // likelihood in |θ₁+θ₂| and of the prior, unless one branch leaves the box).
    let v = post.to_vec_f64();
    let pos = v.chunks(2).filter(|t| t[0] + t[1] > 0.0).count() as f64 / 2000.0;
    assert!(pos > 0.2 && pos < 0.8, "{pos}");
    // Prior samples weighted by the exact likelihood agree (rejection ABC-free check):
    // the posterior mean of |θ₁+θ₂| matches the self-normalised IS estimate from the prior.
    let prior = task.sample_prior(200_000, &mut rng(6));
    let w: Vec<f64> = two_moons_log_likelihood(&Tensor::from_vec(x.clone(), &[1, 2]), &prior)
        .to_vec_f64()
        .iter()
        .map(|l| l.exp())
        .collect();
    let pv = prior.to_vec_f64();
    let is_mean = w
        .iter()
        .zip(pv.chunks(2))
        .map(|(w, t)| w * (t[0] - t[1]))
        .sum::<f64>()
        / w.iter().sum::<f64>();
    let mc_mean = v.chunks(2).map(|t| t[0] - t[1]).sum::<f64>() / 2000.0;
    assert!(
        (is_mean - mc_mean).abs() < 0.03,
        "E[θ₁−θ₂]: IS {is_mean} vs sampler {mc_mean}"
    );
}

#[test]
fn gaussian_mixture_and_slcp_simulators() {
    let gm = GaussianMixture;
    let th = gm.sample_prior(5, &mut rng(7));
    assert!(th.to_vec_f64().iter().all(|t| t.abs() < 10.0));
    let post = gm
        .sample_posterior(&[1.0, -2.0], 20_000, &mut rng(8))
        .unwrap();
    // Mixture centred at x: mean x, variance ½(1 + 0.01).
    let (m, v) = (
        post.mean_axis(0, false).to_vec_f64(),
        post.var_axis(0, false).to_vec_f64(),
    );
    assert!(
        (m[0] - 1.0).abs() < 0.03 && (m[1] + 2.0).abs() < 0.03,
        "{m:?}"
    );
    assert!((v[0] - 0.505).abs() < 0.03, "{v:?}");
    // SLCP: simulated x has the likelihood's moments: mean (θ₁, θ₂), std (θ₃², θ₄²).
    let theta = Tensor::from_vec(vec![0.5, -1.0, 1.2, 0.8, 0.4], &[1, 5]).broadcast_to(&[5000, 5]);
    let xs = Slcp.simulate(&theta, &mut rng(9)).reshape(&[20_000, 2]);
    let (m, v) = (
        xs.mean_axis(0, false).to_vec_f64(),
        xs.var_axis(0, false).to_vec_f64(),
    );
    assert!((m[0] - 0.5).abs() < 0.03 && (m[1] + 1.0).abs() < 0.02);
    assert!(
        (v[0] - 1.44f64.powi(2)).abs() < 0.1 && (v[1] - 0.64f64.powi(2)).abs() < 0.03,
        "{v:?}"
    );
    // The log-likelihood is maximised near the true θ compared with a shifted θ.
    let x8 = Slcp
        .simulate(
            &Tensor::from_vec(vec![0.5, -1.0, 1.2, 0.8, 0.4], &[1, 5]),
            &mut rng(10),
        )
        .to_vec_f64();
    let l_true = Slcp::log_likelihood(&[0.5, -1.0, 1.2, 0.8, 0.4], &x8);
    let l_far = Slcp::log_likelihood(&[2.5, 1.0, 1.2, 0.8, 0.4], &x8);
    assert!(l_true > l_far);
}
