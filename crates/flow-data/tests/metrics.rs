//! Metrics return their analytic values on cases with known answers.

mod common;

use common::rng;
use flow_core::{DType, Tensor};
use flow_data::energy::{DiagonalGaussian, Potential};
use flow_data::metrics::*;

#[test]
fn ess_properties() {
    assert!((reverse_ess(&[0.3; 100]) - 1.0).abs() < 1e-12);
    assert!((forward_ess(&[-5.0; 100]) - 1.0).abs() < 1e-12);
    let mut one = vec![f64::NEG_INFINITY; 50];
    one[7] = 0.0;
    assert!((reverse_ess(&one) - 1.0 / 50.0).abs() < 1e-12);
    // Shift invariance and stability at ±1000.
    let lw: Vec<f64> = Tensor::randn(&[200], DType::F64, &mut rng(1)).to_vec_f64();
    for shift in [1000.0, -1000.0] {
        let s: Vec<f64> = lw.iter().map(|l| l + shift).collect();
        assert!((reverse_ess(&s) - reverse_ess(&lw)).abs() < 1e-10);
        assert!((forward_ess(&s) - forward_ess(&lw)).abs() < 1e-10);
    }
    // Exact samples (q = p, lw = log Z constant): ESS = 1.
    let g = DiagonalGaussian {
        mean: vec![0.0, 1.0],
        std: vec![1.0, 2.0],
    };
    let x = Tensor::randn(&[500, 2], DType::F64, &mut rng(2))
        .mul(&Tensor::from_vec(vec![1.0, 2.0], &[1, 2]))
        .add(&Tensor::from_vec(vec![0.0, 1.0], &[1, 2]));
    let log_p = g.potential(&x).neg().to_vec_f64();
    let log_q: Vec<f64> = log_p.iter().map(|l| l - g.log_z(1.0)).collect();
    let lw: Vec<f64> = log_p.iter().zip(&log_q).map(|(p, q)| p - q).collect();
    assert!((reverse_ess(&lw) - 1.0).abs() < 1e-12 && (forward_ess(&lw) - 1.0).abs() < 1e-12);
    // Lognormal weights lw ~ N(0, s²): E[w]²/E[w²] = exp(−s²) (reverse ESS limit).
    let s = 0.5;
    let big: Vec<f64> = Tensor::randn(&[200_000], DType::F64, &mut rng(3))
        .mul_scalar(s)
        .to_vec_f64();
    assert!(
        (reverse_ess(&big) - (-s * s).exp()).abs() < 0.01,
        "{}",
        reverse_ess(&big)
    );
}

#[test]
fn log_z_kl_and_fep_on_gaussians() {
    // Target N(0, T σ²) unnormalised, proposal N(0, (1.2σ)²): Ẑ unbiased, log Ẑ below log Z.
    let (sigma, t) = (1.3, 1.0);
    let target = DiagonalGaussian {
        mean: vec![0.0; 2],
        std: vec![sigma; 2],
    };
    let log_z = target.log_z(t);
    let q_std = 1.2 * sigma;
    let mut zs = Vec::new();
    let mut log_zs = Vec::new();
    for rep in 0..200 {
        let x = Tensor::randn(&[100, 2], DType::F64, &mut rng(100 + rep)).mul_scalar(q_std);
        let log_p = target.potential(&x).neg().to_vec_f64();
        let log_q = DiagonalGaussian {
            mean: vec![0.0; 2],
            std: vec![q_std; 2],
        };
        let lq: Vec<f64> = log_q
            .potential(&x)
            .neg()
            .to_vec_f64()
            .iter()
            .map(|l| l - log_q.log_z(1.0))
            .collect();
        let lw: Vec<f64> = log_p.iter().zip(&lq).map(|(p, q)| p - q).collect();
        log_zs.push(log_z_importance(&lw));
        zs.push(log_z_importance(&lw).exp());
    }
    let n = zs.len() as f64;
    let mz = zs.iter().sum::<f64>() / n;
    let sd = (zs.iter().map(|z| (z - mz).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        (mz - log_z.exp()).abs() < 4.0 * sd / n.sqrt(),
        "E[Ẑ] {mz} vs Z {}",
        log_z.exp()
    );
    let mlz = log_zs.iter().sum::<f64>() / n;
    assert!(mlz < log_z, "E[log Ẑ] {mlz} should be below log Z {log_z}");
    // KL(N(0,σ²I) ‖ N(0,(1.2σ)²I)) per dim = log 1.2 + 1/(2·1.44) − ½.
    let x = Tensor::randn(&[100_000, 2], DType::F64, &mut rng(4)).mul_scalar(sigma);
    let lp = target.potential(&x).neg().to_vec_f64();
    let qd = DiagonalGaussian {
        mean: vec![0.0; 2],
        std: vec![q_std; 2],
    };
    let lq: Vec<f64> = qd
        .potential(&x)
        .neg()
        .to_vec_f64()
        .iter()
        .map(|l| l - qd.log_z(1.0))
        .collect();
    let kl = forward_kl_known_z(&lp, log_z, &lq);
    let exact = 2.0 * (1.2f64.ln() + 1.0 / 2.88 - 0.5);
    // Per-sample log-ratio sd ≈ 0.28 → SE ≈ 1e-3.
    assert!((kl - exact).abs() < 5e-3, "KL {kl} vs {exact}");
    // FEP between temperatures of a 3-D Gaussian: log(Z₁/Z₀) = (D/2) log(T₁/T₀).
    let g = DiagonalGaussian {
        mean: vec![0.0; 3],
        std: vec![1.0; 3],
    };
    let (t0, t1) = (1.0f64, 1.3);
    let x0 = Tensor::randn(&[200_000, 3], DType::F64, &mut rng(5)).mul_scalar(t0.sqrt());
    let u = g.potential(&x0).to_vec_f64();
    let e0: Vec<f64> = u.iter().map(|v| v / t0).collect();
    let e1: Vec<f64> = u.iter().map(|v| v / t1).collect();
    let est = fep_delta_log_z(&e0, &e1);
    assert!(
        (est - 1.5 * (t1 / t0).ln()).abs() < 0.01,
        "FEP {est} vs {}",
        1.5 * (t1 / t0).ln()
    );
    assert!(
        (nll_bgflow_to_normalised(1.0, 6) - (1.0 + 3.0 * (2.0 * std::f64::consts::PI).ln())).abs()
            < 1e-12
    );
}

#[test]
fn wasserstein_distances() {
    // Exact W₂ between a set and its translate by v is ‖v‖; between a set and a permutation
    // of itself is 0.
    let x = Tensor::randn(&[60, 3], DType::F64, &mut rng(6));
    let v = Tensor::from_vec(vec![0.3, -0.4, 1.2], &[1, 3]);
    assert!((wasserstein2_exact(&x, &x.add(&v)) - 1.3).abs() < 1e-10);
    let perm: Vec<usize> = (0..60).rev().collect();
    assert!(wasserstein2_exact(&x, &x.index_select(0, &perm)).abs() < 1e-12);
    // Brute force on 6 points (720 permutations).
    let a = Tensor::randn(&[6, 2], DType::F64, &mut rng(7));
    let b = Tensor::randn(&[6, 2], DType::F64, &mut rng(8));
    let (av, bv) = (a.to_vec_f64(), b.to_vec_f64());
    let mut best = f64::INFINITY;
    let mut p: Vec<usize> = (0..6).collect();
    permutohedron(&mut p, 0, &mut |p| {
        let c: f64 = (0..6)
            .map(|i| {
                (av[2 * i] - bv[2 * p[i]]).powi(2) + (av[2 * i + 1] - bv[2 * p[i] + 1]).powi(2)
            })
            .sum();
        best = best.min(c);
    });
    assert!((wasserstein2_exact(&a, &b) - (best / 6.0).sqrt()).abs() < 1e-12);
    // Sliced W₂ of a translate by v: every projection gives (θ·v)², E[(θ·v)²] = ‖v‖²/d.
    let big = Tensor::randn(&[2000, 3], DType::F64, &mut rng(9));
    let sw = sliced_wasserstein(&big, &big.add(&v), 2000, &mut rng(10));
    assert!((sw - 1.3 / 3f64.sqrt()).abs() < 0.03, "{sw}");
    let same = sliced_wasserstein(&big, &big, 50, &mut rng(11));
    assert!(same.abs() < 1e-12);
}

fn permutohedron(p: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
    if k == p.len() {
        f(p);
        return;
    }
    for i in k..p.len() {
        p.swap(k, i);
        permutohedron(p, k + 1, f);
        p.swap(k, i);
    }
}

#[test]
fn histograms() {
    let h = Histogram::new(&[0.1, 0.2, 0.6, 5.0, f64::NAN], 2, 0.0, 1.0);
    assert_eq!(h.probs, vec![2.0 / 3.0, 1.0 / 3.0]);
    assert_eq!(h.outside, 2);
    assert_eq!(histogram_kl(&h.probs, &h.probs), 0.0);
    // Empty bins in either are ignored; on common support KL ≥ 0.
    assert!((histogram_kl(&[0.5, 0.5, 0.0], &[0.0, 0.5, 0.5]) - 0.0).abs() < 1e-15);
    assert!(histogram_kl(&[0.7, 0.3], &[0.4, 0.6]) > 0.0);
}
