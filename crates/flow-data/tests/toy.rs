//! Toy samplers against their exact densities.

mod common;

use common::rng;
use flow_core::{DType, Tensor, grad};
use flow_data::toy::Toy2d;

/// Midpoint-rule grid on `[−half, half]²` with spacing h: points `[n², 2]` and h².
fn grid(half: f64, h: f64) -> (Tensor, f64) {
    let n = (2.0 * half / h).round() as usize;
    let mut v = Vec::with_capacity(2 * n * n);
    for i in 0..n {
        for j in 0..n {
            v.push(-half + h * (i as f64 + 0.5));
            v.push(-half + h * (j as f64 + 0.5));
        }
    }
    (Tensor::from_vec(v, &[n * n, 2]), h * h)
}

/// Density values on the grid, evaluated in chunks to bound memory.
fn density_on(toy: &Toy2d, pts: &Tensor) -> Vec<f64> {
    let n = pts.dim(0);
    let mut out = Vec::with_capacity(n);
    let mut s = 0;
    while s < n {
        let len = 1000.min(n - s);
        let lp = toy.log_density(&pts.narrow(0, s, len)).unwrap();
        out.extend(lp.to_vec_f64().into_iter().map(f64::exp));
        s += len;
    }
    out
}

#[test]
fn densities_integrate_to_one_and_match_sample_moments() {
    // Grid spacing h = 0.1 = σ for the σ = 0.1 toys: the midpoint rule on Gaussians of width σ
    // is accurate to ~exp(−2π²σ²/h²) ≈ 3e-9, so 2e-3 covers the curve quadrature, the box
    // edges and the checkerboard's cell edges (which fall on grid-cell boundaries). Moments: 20k samples, tolerance 5 Monte-Carlo standard errors.
    for toy in Toy2d::ALL
        .iter()
        .filter(|t| t.mixture().is_some() || **t == Toy2d::Checkerboard)
    {
        let (pts, area) = grid(5.0, 0.1);
        let p = density_on(toy, &pts);
        let mass: f64 = p.iter().sum::<f64>() * area;
        assert!((mass - 1.0).abs() < 2e-3, "{toy:?}: ∫p = {mass}");
        let xs = pts.to_vec_f64();
        let fs: [fn(f64, f64) -> f64; 5] =
            [|a, _| a, |_, b| b, |a, _| a * a, |_, b| b * b, |a, b| a * b];
        let samples = toy.sample(20_000, DType::F64, &mut rng(3)).to_vec_f64();
        for (k, f) in fs.iter().enumerate() {
            let exact: f64 = p
                .iter()
                .enumerate()
                .map(|(i, pi)| pi * f(xs[2 * i], xs[2 * i + 1]))
                .sum::<f64>()
                * area;
            let vals: Vec<f64> = samples.chunks(2).map(|s| f(s[0], s[1])).collect();
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let se = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n * n)).sqrt();
            assert!(
                (mean - exact).abs() < 5.0 * se + 2e-3,
                "{toy:?} moment {k}: sample {mean} vs exact {exact} (se {se})"
            );
        }
    }
}

#[test]
fn pinwheel_radius_and_shapes() {
    // |x|/2 = |f| with f₀ ~ N(1, 0.3²), f₁ ~ N(0, 0.1²): E|x|²/4 = 1 + 0.09 + 0.01 = 1.1.
    let x = Toy2d::Pinwheel
        .sample(20_000, DType::F64, &mut rng(4))
        .to_vec_f64();
    let r2: Vec<f64> = x
        .chunks(2)
        .map(|p| (p[0] * p[0] + p[1] * p[1]) / 4.0)
        .collect();
    let m = r2.iter().sum::<f64>() / r2.len() as f64;
    // Var(|f|²) ≈ 4·0.09·1 + 2·0.09² + ... ≈ 0.38; SE ≈ 0.0044.
    assert!((m - 1.1).abs() < 0.02, "{m}");
    for toy in Toy2d::ALL {
        let s = toy.sample(7, DType::F32, &mut rng(5));
        assert_eq!(s.shape(), &[7, 2]);
        assert_eq!(s.dtype(), DType::F32);
    }
    assert!(
        Toy2d::Pinwheel
            .log_density(&Tensor::zeros(&[1, 2], DType::F64))
            .is_none()
    );
    assert!(
        Toy2d::Sine
            .log_density(&Tensor::zeros(&[1, 2], DType::F64))
            .is_none()
    );
}

#[test]
fn eight_gaussians_density_is_exact_and_differentiable() {
    // At a mode, the density is (1/8) N(0; 0, σ²I) plus negligible other components.
    let x = Tensor::from_vec(vec![2.0, 0.0], &[1, 2]).requires_grad();
    let lp = Toy2d::EIGHT_GAUSSIANS.log_density(&x).unwrap();
    let want = -(8.0f64).ln() - (2.0 * std::f64::consts::PI * 0.01).ln();
    assert!((lp.item() - want).abs() < 1e-12);
    let g = grad(&lp.sum_all(), &[&x]).remove(0).to_vec_f64();
    assert!(
        g.iter().all(|v| v.abs() < 1e-10),
        "gradient at a mode {g:?}"
    );
    // Checkerboard: support and constant density.
    let cb = Toy2d::Checkerboard
        .log_density(&Tensor::from_vec(
            vec![0.5, 0.5, 0.5, 2.5, 5.0, 0.0],
            &[3, 2],
        ))
        .unwrap();
    let v = cb.to_vec_f64();
    assert!(
        (v[0] + 32f64.ln()).abs() < 1e-12 && v[1] == f64::NEG_INFINITY && v[2] == f64::NEG_INFINITY
    );
}
