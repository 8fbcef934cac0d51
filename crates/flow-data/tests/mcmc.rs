//! Samplers recover known distributions; diagnostics behave on known series.

mod common;

use common::rng;
use flow_core::{DType, Tensor};
use flow_data::energy::quadrature::expectation;
use flow_data::energy::{DiagonalGaussian, MultiDoubleWell, MultiWell, Tempered};
use flow_data::mcmc::*;

/// Checks per-coordinate mean and variance of a run against N(μ, σ²) using standard errors
/// inflated by the measured integrated autocorrelation time: |err| < 5 SE.
fn check_gaussian(run: &McmcRun, mean: &[f64], std: &[f64]) {
    for k in 0..mean.len() {
        let traces = run.traces(|x| x[k]);
        let tau = integrated_autocorrelation_time(&traces).max(1.0);
        let all: Vec<f64> = traces.concat();
        let n = all.len() as f64;
        let m = all.iter().sum::<f64>() / n;
        let v = all.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
        let se_m = std[k] * (tau / n).sqrt();
        // Var of a sample variance of a Gaussian: 2σ⁴/n_eff.
        let se_v = std[k].powi(2) * (2.0 * tau / n).sqrt();
        assert!(
            (m - mean[k]).abs() < 5.0 * se_m,
            "coord {k}: mean {m} vs {} (se {se_m}, τ {tau})",
            mean[k]
        );
        assert!(
            (v - std[k].powi(2)).abs() < 5.0 * se_v,
            "coord {k}: var {v} vs {} (se {se_v})",
            std[k].powi(2)
        );
        assert!(r_hat(&traces) < 1.05, "coord {k}: R̂ {}", r_hat(&traces));
    }
}

#[test]
fn mala_and_hmc_recover_a_gaussian() {
    let g = DiagonalGaussian {
        mean: vec![1.0, -2.0, 0.0],
        std: vec![0.5, 1.0, 2.0],
    };
    let e = Tempered::temperature(g.clone());
    let x0 = Tensor::randn(&[64, 3], DType::F64, &mut rng(1));
    // At T = 1.5 the variances scale by T.
    let t: f64 = 1.5;
    let std_t: Vec<f64> = g.std.iter().map(|s| s * t.sqrt()).collect();
    let mala = run_chains(
        &e,
        t,
        &x0,
        &McmcConfig::mala(0.1, 1000, 400, 2),
        &mut rng(2),
    );
    assert!(
        (mala.acceptance_rate - 0.574).abs() < 0.1,
        "MALA acceptance {}",
        mala.acceptance_rate
    );
    check_gaussian(&mala, &g.mean, &std_t);
    let hmc = run_chains(
        &e,
        t,
        &x0,
        &McmcConfig::hmc(0.2, 5, 500, 300, 1),
        &mut rng(3),
    );
    assert!(
        (hmc.acceptance_rate - 0.65).abs() < 0.1,
        "HMC acceptance {}",
        hmc.acceptance_rate
    );
    check_gaussian(&hmc, &g.mean, &std_t);
}

#[test]
fn mala_recovers_the_exact_double_well_marginal() {
    // 1-D u = x⁴ − 4x², T = 1. 256 chains from N(0, 1) (symmetric start, so the well
    // occupation is ½ by symmetry even if crossings are rare); compare symmetric moments
    // with quadrature using IAT-inflated standard errors.
    let mw = MultiWell {
        dim: 1,
        ..MultiWell::trade()
    };
    let e = Tempered::temperature(mw);
    let x0 = Tensor::randn(&[256, 1], DType::F64, &mut rng(4));
    let run = run_chains(
        &e,
        1.0,
        &x0,
        &McmcConfig::mala(0.05, 400, 200, 2),
        &mut rng(5),
    );
    let f = |x: f64| -(x.powi(4) - 4.0 * x * x);
    for (name, g) in [
        ("x²", (|x: f64| x * x) as fn(f64) -> f64),
        ("1[|x|<1]", |x: f64| (x.abs() < 1.0) as u8 as f64),
    ] {
        let exact = expectation(f, g, -8.0, 8.0, 4000);
        let traces = run.traces(|x| g(x[0]));
        let tau = integrated_autocorrelation_time(&traces).max(1.0);
        let all = traces.concat();
        let n = all.len() as f64;
        let m = all.iter().sum::<f64>() / n;
        let sd = (all.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
        let se = sd * (tau / n).sqrt();
        assert!(
            (m - exact).abs() < 5.0 * se,
            "{name}: {m} vs exact {exact} (se {se}, τ {tau})"
        );
    }
    // Sign balance across independent chains (last draw of each): binomial SE √(¼/256).
    let last = run
        .samples()
        .narrow(0, run.samples().dim(0) - 256, 256)
        .to_vec_f64();
    let pos = last.iter().filter(|v| **v > 0.0).count() as f64 / 256.0;
    assert!((pos - 0.5).abs() < 4.0 * (0.25f64 / 256.0).sqrt(), "{pos}");
}

#[test]
fn mean_free_chains_stay_mean_free() {
    let e = Tempered::temperature(MultiDoubleWell::dw4());
    let x0 = Tensor::randn(&[16, 8], DType::F64, &mut rng(6))
        .mul_scalar(2.0)
        .add_scalar(5.0);
    let cfg = McmcConfig::mala(0.01, 50, 20, 1).with_mean_free(4, 2);
    let run = run_chains(&e, 1.0, &x0, &cfg, &mut rng(7));
    for s in run.draws.chunks(8) {
        let (cx, cy) = (
            s.iter().step_by(2).sum::<f64>(),
            s.iter().skip(1).step_by(2).sum::<f64>(),
        );
        assert!(cx.abs() < 1e-10 && cy.abs() < 1e-10);
    }
    assert!(run.acceptance_rate > 0.3, "{}", run.acceptance_rate);
    // Stored energies are the energies of the stored draws.
    let recomputed = flow_data::energy::Energy::energy(
        &e,
        &run.samples(),
        &flow_data::energy::param(1.0, &run.samples()),
    );
    for (a, b) in recomputed.to_vec_f64().iter().zip(&run.energies) {
        assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()));
    }
}

#[test]
fn diagnostics_on_known_series() {
    // AR(1) with φ = 0.8: τ = (1 + φ)/(1 − φ) = 9. 8 chains × 20k draws: the windowed
    // estimator's relative SE is ≈ √(2(2M+1)/N) ≈ 0.04; allow 15%.
    let mut r = rng(8);
    let phi = 0.8;
    let noise = Tensor::randn(&[8, 20_000], DType::F64, &mut r).to_vec_f64();
    let chains: Vec<Vec<f64>> = noise
        .chunks(20_000)
        .map(|c| {
            let mut x = 0.0;
            c.iter()
                .map(|e| {
                    x = phi * x + (1.0f64 - phi * phi).sqrt() * e;
                    x
                })
                .collect()
        })
        .collect();
    let tau = integrated_autocorrelation_time(&chains);
    assert!((tau - 9.0).abs() < 0.15 * 9.0, "τ = {tau}");
    let iid: Vec<Vec<f64>> = Tensor::randn(&[4, 5000], DType::F64, &mut r)
        .to_vec_f64()
        .chunks(5000)
        .map(|c| c.to_vec())
        .collect();
    let tau_iid = integrated_autocorrelation_time(&iid);
    assert!((tau_iid - 1.0).abs() < 0.15, "iid τ = {tau_iid}");
    assert!(r_hat(&iid) < 1.01, "iid R̂ {}", r_hat(&iid));
    // Chains with different means: R̂ ≫ 1.
    let shifted: Vec<Vec<f64>> = iid
        .iter()
        .enumerate()
        .map(|(k, c)| c.iter().map(|v| v + k as f64).collect())
        .collect();
    assert!(r_hat(&shifted) > 1.5, "shifted R̂ {}", r_hat(&shifted));
}
