//! Known values, minima, normalisers and symmetries of the analytic energies.

mod common;

use common::{jittered_cluster, permute_particles, random_orthogonal, rng, rotate_particles};
use flow_core::{DType, Tensor, grad, hvp};
use flow_data::energy::quadrature::{expectation, log_integral};
use flow_data::energy::*;

fn t(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape)
}

fn u(p: &dyn Potential, x: &Tensor) -> Vec<f64> {
    p.potential(x).to_vec_f64()
}

#[test]
fn muller_brown_minima_by_newton() {
    // Newton from the rounded literature points converges to stationary points with the
    // literature values (3 printed decimals ⇒ tolerance 0.01), zero gradient and SPD Hessian.
    let mb = MullerBrown::raw();
    for (x0, y0, v_ref) in [
        (-0.558, 1.442, -146.70),
        (0.623, 0.028, -108.17),
        (-0.050, 0.467, -80.77),
    ] {
        let mut p = t(vec![x0, y0], &[1, 2]);
        for _ in 0..20 {
            let xl = p.requires_grad();
            let g = grad(&mb.potential(&xl).sum_all(), &[&xl]).remove(0);
            let h = t(hessian(&mb, &p), &[2, 2]);
            let step = h.inverse().matmul(&g.reshape(&[2, 1])).reshape(&[1, 2]);
            p = p.sub(&step);
        }
        let v = MullerBrown::v(p.to_vec_f64()[0], p.to_vec_f64()[1]);
        assert!((v - v_ref).abs() < 0.01, "minimum value {v} vs {v_ref}");
        let q = p.to_vec_f64();
        assert!(
            (q[0] - x0).abs() < 2e-3 && (q[1] - y0).abs() < 2e-3,
            "location {q:?}"
        );
        let xl = p.requires_grad();
        let g = grad(&mb.potential(&xl).sum_all(), &[&xl])
            .remove(0)
            .to_vec_f64();
        assert!(g.iter().all(|gi| gi.abs() < 1e-8), "gradient {g:?}");
        let h = hessian(&mb, &p);
        let (tr, det) = (h[0] + h[3], h[0] * h[3] - h[1] * h[2]);
        assert!(tr > 0.0 && det > 0.0, "Hessian not SPD: {h:?}");
    }
    // bgflow scaling: 0.15 (V + 146.7) is ≈ 0 at the global minimum.
    let g = u(
        &MullerBrown::bgflow(),
        &t(vec![-0.558224, 1.441726], &[1, 2]),
    )[0];
    assert!(g.abs() < 0.01, "{g}");
}

/// The 2×2 Hessian of `u` at a `[1, 2]` point (row-major), by Hessian-vector products.
fn hessian(p: &dyn Potential, x: &Tensor) -> Vec<f64> {
    let mut h = Vec::new();
    for e in [[1.0, 0.0], [0.0, 1.0]] {
        h.extend(hvp(|z| p.potential(z).sum_all(), x, &t(e.to_vec(), &[1, 2])).to_vec_f64());
    }
    h
}

#[test]
fn dw4_pair_conventions() {
    let dw = MultiDoubleWell {
        n_particles: 2,
        n_dims: 2,
        ..MultiDoubleWell::dw4()
    };
    // At d = d0 the pair energy is c = 0; minima at d0 ± sqrt(−b/2a) with value −b²/4a.
    let at = |d: f64| u(&dw, &t(vec![0.0, 0.0, d, 0.0], &[1, 4]))[0];
    assert!(at(4.0).abs() < 1e-12);
    let s = (4.0f64 / 1.8).sqrt();
    for d in [4.0 - s, 4.0 + s] {
        assert!((at(d) + 16.0 / 3.6).abs() < 1e-10);
        assert!(at(d) < at(d + 1e-3) && at(d) < at(d - 1e-3));
    }
    // DW4 over i<j = ½ Σ_{i≠j} Köhler form with (a', b', c') = (0, −4, 0.9).
    let x = Tensor::randn(&[5, 8], DType::F64, &mut rng(1)).mul_scalar(2.0);
    let e = u(&MultiDoubleWell::dw4(), &x);
    let v = x.to_vec_f64();
    for s in 0..5 {
        let p = &v[s * 8..(s + 1) * 8];
        let mut k = 0.0;
        for i in 0..4 {
            for j in 0..4 {
                if i != j {
                    let d = ((p[2 * i] - p[2 * j]).powi(2) + (p[2 * i + 1] - p[2 * j + 1]).powi(2))
                        .sqrt()
                        - 4.0;
                    k += 0.5 * (-4.0 * d * d + 0.9 * d.powi(4));
                }
            }
        }
        assert!((k - e[s]).abs() < 1e-9 * (1.0 + k.abs()), "{k} vs {}", e[s]);
    }
}

/// The ordered-pair LJ13 (equivariant flow matching's energy) doubles bgflow's pair sum and
/// keeps the oscillator: `u₂(x) − u₁(x) = u₁(x) − osc(x)` on random clusters.
#[test]
fn ordered_pair_lennard_jones_doubles_the_pair_sum() {
    let x = Tensor::randn(&[8, 39], DType::F64, &mut rng(11)).mul_scalar(1.5);
    let bgflow = u(&LennardJones::lj13(), &x);
    let ordered = u(&LennardJones::lj13_ordered_pairs(), &x);
    let no_osc = LennardJones {
        oscillator_scale: 0.0,
        ..LennardJones::lj13()
    };
    let pairs = u(&no_osc, &x);
    for i in 0..8 {
        let expected = bgflow[i] + pairs[i];
        assert!(
            (ordered[i] - expected).abs() < 1e-9 * (1.0 + expected.abs()),
            "sample {i}: {} vs {expected}",
            ordered[i]
        );
    }
    let two = LennardJones::lj13_ordered_pairs();
    assert_eq!(
        two.pair_energy(1.0),
        2.0 * LennardJones::lj13().pair_energy(1.0)
    );
}

#[test]
fn lennard_jones_pair_minimum() {
    let lj = LennardJones {
        n_particles: 2,
        oscillator_scale: 0.0,
        ..LennardJones::lj13()
    };
    let at = |d: f64| u(&lj, &t(vec![0.0, 0.0, 0.0, d, 0.0, 0.0], &[1, 6]))[0];
    // Closed form with softening sqrt(d² + 1e-6).
    for d in [0.9, 1.0, 1.3, 2.0] {
        let r = (d * d + 1e-6f64).sqrt();
        assert!((at(d) - (r.powi(-12) - 2.0 * r.powi(-6))).abs() < 1e-12);
    }
    // Minimum −ε at r = r_m (the softening shifts it by ~5e-7).
    assert!((at(1.0) + 1.0).abs() < 1e-10);
    assert!(at(1.0) < at(1.0 + 1e-3) && at(1.0) < at(1.0 - 1e-3));
}

#[test]
fn particle_energy_invariances() {
    // E(n) and permutation invariance to round-off (relative 1e-10).
    let cases: Vec<(Box<dyn Potential>, Tensor, usize, usize)> = vec![
        (
            Box::new(MultiDoubleWell::dw4()),
            Tensor::randn(&[4, 8], DType::F64, &mut rng(2)).mul_scalar(2.0),
            4,
            2,
        ),
        (
            Box::new(LennardJones::lj13()),
            jittered_cluster(4, 13, 1.1, 0.05, 3),
            13,
            3,
        ),
    ];
    for (p, x, n, d) in cases {
        let e0 = u(p.as_ref(), &x);
        let shift = Tensor::randn(&[1, d], DType::F64, &mut rng(4))
            .broadcast_to(&[n, d])
            .reshape(&[1, n * d]);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.reverse();
        perm.swap(0, 1);
        let variants = [
            x.add(&shift),
            rotate_particles(&x, &random_orthogonal(d, false, 5), n, d),
            rotate_particles(&x, &random_orthogonal(d, true, 6), n, d),
            permute_particles(&x, &perm, n, d),
        ];
        for (k, xv) in variants.iter().enumerate() {
            for (a, b) in u(p.as_ref(), xv).iter().zip(&e0) {
                assert!(
                    (a - b).abs() < 1e-10 * (1.0 + b.abs()),
                    "variant {k}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn multiwell_landscape_and_normaliser() {
    let mw = MultiWell {
        dim: 1,
        ..MultiWell::trade()
    };
    let at = |x: f64| u(&mw, &t(vec![x], &[1, 1]))[0];
    let m = 2f64.sqrt();
    assert!((at(m) + 4.0).abs() < 1e-12 && (at(-m) + 4.0).abs() < 1e-12);
    assert!((at(0.0) - at(m) - 4.0).abs() < 1e-12, "barrier 4");
    // Z(T) of the 5-D product equals 5 × the 1-D quadrature integral, for several T.
    for temp in [0.5, 1.0, 2.0] {
        let one = log_integral(|x| -(x.powi(4) - 4.0 * x * x) / temp, -10.0, 10.0, 20_000);
        assert!((MultiWell::trade().log_z(temp) - 5.0 * one).abs() < 1e-9);
    }
}

#[test]
fn multiwell_exact_sampler_matches_quadrature() {
    // n·dim = 100k draws: SE of E[x²] ≈ sd(x²)/√1e5 ≈ 0.004; SE of P(x>0) ≈ 0.0016. 4 SE.
    let mw = MultiWell::trade();
    let x = mw.sample_exact(20_000, 1.0, &mut rng(7)).to_vec_f64();
    let f = |x: f64| -(x.powi(4) - 4.0 * x * x);
    let m2 = expectation(f, |x| x * x, -8.0, 8.0, 4000);
    let m4 = expectation(f, |x| x.powi(4), -8.0, 8.0, 4000);
    let n = x.len() as f64;
    let e2 = x.iter().map(|v| v * v).sum::<f64>() / n;
    let se2 = ((m4 - m2 * m2) / n).sqrt();
    assert!((e2 - m2).abs() < 4.0 * se2, "E[x²] {e2} vs {m2} (se {se2})");
    // All 32 modes carry equal mass: every orthant sign is a fair coin, independently.
    let pos = x.iter().filter(|v| **v > 0.0).count() as f64 / n;
    assert!((pos - 0.5).abs() < 4.0 * (0.25 / n).sqrt(), "{pos}");
    let mut counts = [0usize; 32];
    for s in x.chunks(5) {
        counts[s
            .iter()
            .enumerate()
            .map(|(i, v)| ((*v > 0.0) as usize) << i)
            .sum::<usize>()] += 1;
    }
    let exp = 20_000.0 / 32.0;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - exp).powi(2) / exp).sum();
    // χ²(31): mean 31, sd ≈ 7.9; 99.99% quantile ≈ 66.
    assert!(chi2 < 66.0, "mode occupancy χ² = {chi2}");
}

#[test]
fn many_well_normaliser_and_modes() {
    let one = log_integral(
        |x| -(x.powi(4) - 6.0 * x * x - 0.5 * x),
        -10.0,
        10.0,
        20_000,
    )
    .exp();
    assert!((one - 11784.50927).abs() < 1e-4, "{one}");
    let z2 = (11784.50927 * (2.0 * std::f64::consts::PI).sqrt()).ln();
    assert!((ManyWell::fab(32).log_z(1.0) - 16.0 * z2).abs() < 1e-7);
    // Stationary points solve 4x³ − 12x − 0.5 = 0; the two minima are near ±1.7.
    let well = DoubleWell2d::fab();
    for x0 in [1.74, -1.70] {
        let xt = t(vec![x0, 0.0], &[1, 2]).requires_grad();
        let g = grad(&well.potential(&xt).sum_all(), &[&xt])
            .remove(0)
            .to_vec_f64();
        assert!((g[0] - (4.0 * x0.powi(3) - 12.0 * x0 - 0.5)).abs() < 1e-10);
    }
    // Newton on the cubic: the outer roots (the modes) are 1.7525 and −1.7110 ("≈ ±1.7").
    for (mut x, want) in [(2.0f64, 1.7525), (-2.0, -1.71083)] {
        for _ in 0..50 {
            x -= (4.0 * x.powi(3) - 12.0 * x - 0.5) / (12.0 * x * x - 12.0);
        }
        assert!((x - want).abs() < 1e-4, "{x}");
    }
}

#[test]
fn gmm6_normaliser_and_samples() {
    for c in flow_data::energy::gmm6_covariances() {
        assert!(
            c[0] > 0.0 && c[0] * c[2] - c[1] * c[1] > 0.0,
            "not SPD: {c:?}"
        );
    }
    // Z(1) = 1 (spectrally accurate trapezoid; 1e-6 leaves room for the finite box).
    let z1 = Gmm6::log_z(1.0, 0.025);
    assert!(z1.abs() < 1e-6, "log Z(1) = {z1}");
    // Z(T) converges under refinement.
    for temp in [0.1624, 2.0, 6.158] {
        let (a, b) = (Gmm6::log_z(temp, 0.05), Gmm6::log_z(temp, 0.025));
        assert!((a - b).abs() < 1e-6, "T = {temp}: {a} vs {b}");
    }
    // Exact samples reproduce the mixture mean (mean of the means); SE from the mixture
    // variance (≈ 15 per axis) over 40k samples ≈ 0.02; 4 SE.
    let s = Gmm6::sample(40_000, &mut rng(8))
        .mean_axis(0, false)
        .to_vec_f64();
    let mean = [
        1.0 / 6.0 * (-1.0 + 3.0 - 4.0 - 2.0 + 0.0 + 5.0),
        1.0 / 6.0 * (2.0 + 7.0 + 2.0 - 4.0 + 4.0 - 2.0),
    ];
    for k in 0..2 {
        assert!((s[k] - mean[k]).abs() < 0.08, "{s:?} vs {mean:?}");
    }
}

#[test]
fn phi4_mapping_kinetic_identity_and_symmetries() {
    let l = 8;
    let phi = Tensor::randn(&[3, l * l], DType::F64, &mut rng(9));
    let hop = Phi4Hopping::trade();
    for (kappa, lam) in [(0.27, 0.02), (0.22, 0.1), (0.31, 0.5)] {
        let hop = Phi4Hopping {
            lambda: lam,
            ..hop.clone()
        };
        let (m2, la) = hopping_to_aks(kappa, lam);
        let aks = Phi4Aks {
            side: l,
            lambda: la,
            m2_0: m2,
        };
        let a = hop.energy(&phi, &param(kappa, &phi)).to_vec_f64();
        let b = aks
            .energy(&phi.mul_scalar(kappa.sqrt()), &param(m2, &phi))
            .to_vec_f64();
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() < 1e-10 * (1.0 + x.abs()),
                "S_hop {x} vs S_AKS {y}"
            );
        }
    }
    let (m2, la) = hopping_to_aks(0.27, 0.02);
    assert!((m2 + 0.444).abs() < 1e-3 && (la - 0.274).abs() < 1e-3);
    // Kinetic term = Σ_x Σ_μ (φ_{x+μ} − φ_x)².
    let aks = Phi4Aks::standard();
    let kin = aks.kinetic(&phi).to_vec_f64();
    let v = phi.to_vec_f64();
    for s in 0..3 {
        let f = &v[s * 64..(s + 1) * 64];
        let mut k = 0.0;
        for i in 0..l {
            for j in 0..l {
                k += (f[((i + 1) % l) * l + j] - f[i * l + j]).powi(2)
                    + (f[i * l + (j + 1) % l] - f[i * l + j]).powi(2);
            }
        }
        assert!((k - kin[s]).abs() < 1e-10 * k);
    }
    // Sign flip, translations, reflections.
    let shift: Vec<usize> = (0..64)
        .map(|x| ((x / l + 3) % l) * l + (x % l + 5) % l)
        .collect();
    let reflect: Vec<usize> = (0..64).map(|x| (x / l) * l + (l - 1 - x % l)).collect();
    let transpose: Vec<usize> = (0..64).map(|x| (x % l) * l + x / l).collect();
    let energies: [&dyn Energy; 2] = [&hop, &aks];
    for e in energies {
        let c = param(e.reference_parameter(), &phi);
        let s0 = e.energy(&phi, &c).to_vec_f64();
        for variant in [
            phi.neg(),
            phi.index_select(1, &shift),
            phi.index_select(1, &reflect),
            phi.index_select(1, &transpose),
        ] {
            for (a, b) in e.energy(&variant, &c).to_vec_f64().iter().zip(&s0) {
                assert!((a - b).abs() < 1e-10 * (1.0 + b.abs()));
            }
        }
    }
}

#[test]
fn phi4_kappa_zero_factorises() {
    // At κ = 0 the hopping action is a sum of independent sites s(φ) = (1−2λ)φ² + λφ⁴.
    let hop = Phi4Hopping::trade();
    let x = Tensor::randn(&[2, 64], DType::F64, &mut rng(10)).mul_scalar(1.5);
    let e = hop.energy(&x, &param(0.0, &x)).to_vec_f64();
    let v = x.to_vec_f64();
    for b in 0..2 {
        let want: f64 = v[b * 64..(b + 1) * 64]
            .iter()
            .map(|p| 0.96 * p * p + 0.02 * p.powi(4))
            .sum();
        assert!((e[b] - want).abs() < 1e-10 * want, "{} vs {want}", e[b]);
    }
}

#[test]
fn two_moons_likelihood_integrates_to_one() {
    // ∫ p(x|θ) dx = 1 over a box holding the arc (radius 0.1 ± 5·0.01 around the centre).
    let theta = t(vec![0.2, 0.5], &[1, 2]);
    let cx = 0.25 - (0.7f64).abs() / 2f64.sqrt();
    let cy = 0.3 / 2f64.sqrt();
    let (n, half) = (600usize, 0.2);
    let h = 2.0 * half / n as f64;
    let mut pts = Vec::with_capacity(2 * n * n);
    for i in 0..n {
        for j in 0..n {
            pts.push(cx - half + h * (i as f64 + 0.5));
            pts.push(cy - half + h * (j as f64 + 0.5));
        }
    }
    let x = t(pts, &[n * n, 2]);
    let ll = two_moons_log_likelihood(&x, &theta.broadcast_to(&[n * n, 2]));
    let z: f64 = ll.to_vec_f64().iter().map(|l| l.exp()).sum::<f64>() * h * h;
    // Midpoint rule with h = 6.7e-4 ≪ σ_r = 0.01; the hard edge u₁ = 0 costs O(h) ≈ 1e-3.
    assert!((z - 1.0).abs() < 5e-3, "∫ p = {z}");
}
