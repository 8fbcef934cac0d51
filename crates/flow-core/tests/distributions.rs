//! Base distributions: each log-density integrates to one (quadrature in 1-D and 2-D), samples
//! match the distribution's moments, every parameter receives a gradient, and `ln Γ` matches
//! known values.

use flow_core::distributions::{Base, BaseConfig, Density, GaussianMixture, UniformBox, ln_gamma};
use flow_core::nn::values;
use flow_core::{DType, Tensor, grad};
use rand::SeedableRng;

fn rng(seed: u64) -> rand::rngs::Xoshiro256PlusPlus {
    rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Moves every parameter off its initial value so the checks are not at a special point.
fn perturb(base: &dyn Base, seed: u64) {
    let mut r = rng(seed);
    for p in base.parameters() {
        let v = p.get();
        let shift = Tensor::randn(v.shape(), DType::F64, &mut r).mul_scalar(0.3);
        p.set(v.add(&shift));
    }
}

fn configs() -> Vec<BaseConfig> {
    vec![
        BaseConfig::StandardNormal,
        BaseConfig::DiagonalNormal,
        BaseConfig::StudentT { df: 4.0 },
        BaseConfig::GaussianMixture { components: 3 },
        BaseConfig::UniformBox {
            low: -1.5,
            high: 2.0,
        },
    ]
}

/// Trapezoid rule of `exp(log p)` on a uniform grid of `[-l, l]^dim` with `m` points per axis.
fn integral(base: &dyn Base, dim: usize, l: f64, m: usize) -> f64 {
    let h = 2.0 * l / (m - 1) as f64;
    let axis: Vec<f64> = (0..m).map(|i| -l + h * i as f64).collect();
    let weight = |i: usize| if i == 0 || i == m - 1 { 0.5 } else { 1.0 };
    let (points, weights): (Vec<Vec<f64>>, Vec<f64>) = if dim == 1 {
        (0..m).map(|i| (vec![axis[i]], weight(i) * h)).unzip()
    } else {
        (0..m * m)
            .map(|k| {
                let (i, j) = (k / m, k % m);
                (vec![axis[i], axis[j]], weight(i) * weight(j) * h * h)
            })
            .unzip()
    };
    let x = Tensor::from_vec(points.concat(), &[weights.len(), dim]);
    let lp = base.log_prob(&x, None).to_vec_f64();
    lp.iter().zip(&weights).map(|(l, w)| l.exp() * w).sum()
}

#[test]
fn every_base_integrates_to_one_in_one_and_two_dimensions() {
    for cfg in configs() {
        for dim in [1, 2] {
            let base = cfg.build(dim, DType::F64, &mut rng(1));
            perturb(base.as_ref(), 2);
            // Box [-40, 40]: the Student-t (ν = 4, scale ≤ e^0.9) loses < 1e-4 of its mass
            // per axis outside it; the trapezoid error of these smooth densities at h ≈ 0.02
            // (1-D) / 0.1 (2-D) is below 1e-4. The uniform box's edges lie on grid points that
            // count fully, adding one grid row per axis: exactly (1 + h/width)^dim.
            let (m, tol) = if dim == 1 { (4001, 2e-3) } else { (801, 5e-3) };
            let total = integral(base.as_ref(), dim, 40.0, m);
            let h = 80.0 / (m - 1) as f64;
            let (expected, tol) = match cfg {
                BaseConfig::UniformBox { low, high } => {
                    ((1.0 + h / (high - low)).powi(dim as i32), 1e-9)
                }
                _ => (1.0, tol),
            };
            assert!(
                (total - expected).abs() < tol,
                "{cfg:?} in {dim}-D integrates to {total}"
            );
        }
    }
}

#[test]
fn samples_match_the_moments() {
    let n = 40_000;
    for cfg in configs() {
        let base = cfg.build(2, DType::F64, &mut rng(3));
        perturb(base.as_ref(), 4);
        let x = base.sample(n, None, &mut rng(5));
        assert_eq!(x.shape(), &[n, 2]);
        // Reference moments by quadrature on a fine 1-D grid of each marginal would need the
        // marginal densities; instead compare with the mean and variance of the density
        // itself, computed by 2-D quadrature of x·p(x) and x²·p(x).
        let (mean, var) = quadrature_moments(base.as_ref());
        let m = x.mean_axis(0, false).to_vec_f64();
        let v = x.var_axis(0, false).to_vec_f64();
        for d in 0..2 {
            // 5 standard errors of the sample mean, and 10 % of the variance (the Student-t
            // with ν = 4 has infinite fourth moment, so its sample variance converges slowly).
            let se = (var[d] / n as f64).sqrt();
            assert!(
                (m[d] - mean[d]).abs() < 5.0 * se,
                "{cfg:?} mean {m:?} vs {mean:?}"
            );
            assert!(
                (v[d] - var[d]).abs() < 0.1 * var[d],
                "{cfg:?} var {v:?} vs {var:?}"
            );
        }
    }
}

fn quadrature_moments(base: &dyn Base) -> ([f64; 2], [f64; 2]) {
    let (l, m) = (60.0, 1201);
    let h = 2.0 * l / (m - 1) as f64;
    let axis: Vec<f64> = (0..m).map(|i| -l + h * i as f64).collect();
    let pts: Vec<f64> = (0..m * m)
        .flat_map(|k| [axis[k / m], axis[k % m]])
        .collect();
    let p: Vec<f64> = base
        .log_prob(&Tensor::from_vec(pts.clone(), &[m * m, 2]), None)
        .to_vec_f64()
        .iter()
        .map(|l| l.exp() * h * h)
        .collect();
    let total: f64 = p.iter().sum();
    let mut mean = [0.0; 2];
    let mut second = [0.0; 2];
    for (k, w) in p.iter().enumerate() {
        for d in 0..2 {
            mean[d] += w * pts[2 * k + d] / total;
            second[d] += w * pts[2 * k + d].powi(2) / total;
        }
    }
    let var = [second[0] - mean[0].powi(2), second[1] - mean[1].powi(2)];
    (mean, var)
}

#[test]
fn every_parameter_receives_a_gradient() {
    for cfg in configs() {
        let base = cfg.build(2, DType::F64, &mut rng(6));
        let params = base.parameters();
        if params.is_empty() {
            continue;
        }
        let x = base.sample(16, None, &mut rng(7));
        let lp = base.log_prob(&x, None).sum_all();
        let vals = values(&params);
        let grads = grad(&lp, &vals.iter().collect::<Vec<_>>());
        for (p, g) in params.iter().zip(grads) {
            let norm = g.square().sum_all().item();
            assert!(
                norm > 0.0 && norm.is_finite(),
                "{cfg:?}: {} gets {norm}",
                p.name()
            );
        }
    }
}

#[test]
fn mixture_log_prob_matches_a_direct_sum() {
    let logits = Tensor::from_slice(&[0.0f64, 1.0], &[2]);
    let means = Tensor::from_slice(&[-1.0f64, 0.0, 2.0, 1.0], &[2, 2]);
    let log_stds = Tensor::from_slice(&[0.0f64, 0.5, -0.5, 0.0], &[2, 2]);
    let gm = GaussianMixture::from_parts(logits, means, log_stds);
    let x = [0.3, -0.7];
    let w = [1.0 / (1.0 + 1f64.exp()), 1f64.exp() / (1.0 + 1f64.exp())];
    let normal = |v: f64, m: f64, ls: f64| {
        (-0.5 * ((v - m) / ls.exp()).powi(2)).exp()
            / (ls.exp() * (2.0 * std::f64::consts::PI).sqrt())
    };
    let direct = w[0] * normal(x[0], -1.0, 0.0) * normal(x[1], 0.0, 0.5)
        + w[1] * normal(x[0], 2.0, -0.5) * normal(x[1], 1.0, 0.0);
    let lp = gm.log_prob(&Tensor::from_slice(&x, &[1, 2]), None).item();
    assert!((lp - direct.ln()).abs() < 1e-12, "{lp} vs {}", direct.ln());
}

#[test]
fn uniform_box_is_minus_infinity_outside() {
    let u = UniformBox::new(&[0.0], &[1.0], DType::F64);
    let lp = u
        .log_prob(&Tensor::from_slice(&[-0.1f64, 0.5, 1.1], &[3, 1]), None)
        .to_vec_f64();
    assert_eq!(lp, vec![f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY]);
}

#[test]
fn ln_gamma_matches_factorials_and_the_half_integer() {
    let mut factorial = 1.0f64;
    for k in 1..30 {
        assert!((ln_gamma(k as f64) - factorial.ln()).abs() < 1e-11 * factorial.ln().max(1.0));
        factorial *= k as f64;
    }
    assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    assert!((ln_gamma(2.5) - (0.75 * std::f64::consts::PI.sqrt()).ln()).abs() < 1e-13);
}

#[test]
fn bad_base_configs_are_rejected_with_the_field() {
    let bad = [
        BaseConfig::StudentT { df: 0.0 },
        BaseConfig::GaussianMixture { components: 0 },
        BaseConfig::UniformBox {
            low: 1.0,
            high: 1.0,
        },
    ];
    for (cfg, field) in bad.iter().zip(["df", "components", "low < high"]) {
        let e = cfg.validate().unwrap_err();
        assert!(e.contains(field), "{e}");
    }
}
