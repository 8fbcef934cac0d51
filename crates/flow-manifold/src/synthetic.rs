//! Synthetic data on manifolds: the SO(3) mixture of the M-FFF paper.
//!
//! References: arXiv:2312.09852, §5.3; the official `fff/data/special_orthogonal.py`
//! (K Haar means, precisions κ_k ~ Gamma(100, 1), draws `μ_k expm(κ_k^{−1/2} A(ε))` with
//! `ε ~ N(0, I₃)` in the Frobenius-normalised basis of so(3)). The official means come from
//! scipy with seed 12479 and are not reproduced bit for bit.

use flow_core::{DType, Tensor};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Gamma};

use crate::manifold::{Manifold, SpecialOrthogonal, gaussian_vec};

/// A mixture of K concentrated rotation distributions on SO(3).
#[derive(Clone, Debug)]
pub struct So3Mixture {
    /// Component means, `[K, 9]`.
    pub means: Tensor,
    /// Precisions κ_k.
    pub kappas: Vec<f64>,
}

impl So3Mixture {
    /// K Haar-random means and κ_k ~ Gamma(shape 100, scale 1).
    pub fn random(k: usize, rng: &mut dyn Rng) -> So3Mixture {
        let means = SpecialOrthogonal::default().sample_uniform(k, DType::F64, rng);
        let gamma = Gamma::new(100.0, 1.0).expect("valid Gamma parameters");
        let kappas = (0..k).map(|_| gamma.sample(rng)).collect();
        So3Mixture { means, kappas }
    }

    /// `n` draws, `[n, 9]` f64: a uniform component k, then `μ_k expm(κ_k^{−1/2} A(ε))` with
    /// `A(ε) = Σ ε_i B_i`, `B_i` the skew basis of unit Frobenius norm.
    pub fn sample(&self, n: usize, rng: &mut dyn Rng) -> Tensor {
        let so3 = SpecialOrthogonal::default();
        let k = self.kappas.len();
        let (mut mu, mut v) = (Vec::with_capacity(9 * n), Vec::with_capacity(9 * n));
        let means = self.means.to_vec_f64();
        let s = std::f64::consts::FRAC_1_SQRT_2;
        for _ in 0..n {
            let c = rng.random_range(0..k);
            let m = &means[9 * c..9 * c + 9];
            let e = gaussian_vec(3, rng);
            let scale = s / self.kappas[c].sqrt();
            // Ω = skew(ε)/√2 · κ^{−1/2}: (B_i) = (E_32 − E_23, E_13 − E_31, E_21 − E_12)/√2.
            let w = [[0.0, -e[2], e[1]], [e[2], 0.0, -e[0]], [-e[1], e[0], 0.0]];
            // Tangent vector at μ: V = μ Ω.
            for i in 0..3 {
                for j in 0..3 {
                    v.push(scale * (0..3).map(|l| m[3 * i + l] * w[l][j]).sum::<f64>());
                }
            }
            mu.extend_from_slice(m);
        }
        so3.exp(
            &Tensor::from_vec(mu, &[n, 9]),
            &Tensor::from_vec(v, &[n, 9]),
        )
    }

    /// The exact log-density w.r.t. the bi-invariant volume (total 8π²), `[n]` f64, no tape.
    ///
    /// In exponential coordinates at μ_k the rotation vector is `ω = κ^{−1/2} ε/√2 ~
    /// N(0, I/(2κ))` and the volume element is `2(1 − cos θ)/θ² d³ω` (θ = ‖ω‖), so
    /// `p(R) = (1/K) Σ_k N(ω_k; 0, I/(2κ_k)) θ_k²/(2(1 − cos θ_k))` with `ω_k = log(μ_kᵀR)`.
    /// Preimages with `θ > π` are ignored (their mass is below `P(χ₃ > π√(2κ))`, negligible
    /// for the paper's κ ≈ 100).
    pub fn log_prob(&self, x: &Tensor) -> Tensor {
        let so3 = SpecialOrthogonal::default();
        let n = x.dim(0);
        let k = self.kappas.len();
        let mut per = vec![0.0; n * k];
        for (c, kappa) in self.kappas.iter().enumerate() {
            let mu = self.means.narrow(0, c, 1).broadcast_to(&[n, 9]);
            let theta = so3.dist(&mu, x).to_vec_f64();
            let s2 = 0.5 / kappa;
            for (i, t) in theta.iter().enumerate() {
                let log_n = -1.5 * (2.0 * std::f64::consts::PI * s2).ln() - t * t / (2.0 * s2);
                let jac = if *t < 1e-6 {
                    0.0
                } else {
                    (t * t / (2.0 * (1.0 - t.cos()))).ln()
                };
                per[i * k + c] = log_n + jac - (k as f64).ln();
            }
        }
        Tensor::from_vec(per, &[n, k]).logsumexp(1, false)
    }
}

/// A mixture of isotropic wrapped normals on the flat torus `T^k`:
/// `p(θ) = Σ_c w_c Π_i Σ_j N(θ_i + 2πj; μ_{c,i}, σ_c²)` (wraps `|j| ≤ 4`, enough for
/// σ ≤ 2), a density w.r.t. the volume of total `(2π)^k` (the angle chart is isometric).
#[derive(Clone, Debug)]
pub struct WrappedMixture {
    /// Component means (angles, radians), one row of k angles per component.
    pub means: Vec<Vec<f64>>,
    /// Component standard deviations.
    pub sigmas: Vec<f64>,
    /// Component weights (sum to 1).
    pub weights: Vec<f64>,
}

impl WrappedMixture {
    fn torus(&self) -> crate::manifold::Torus {
        crate::manifold::Torus::new(self.means[0].len())
    }

    /// `n` draws as `[n, 2k]` points of `T^k`.
    pub fn sample(&self, n: usize, rng: &mut dyn Rng) -> Tensor {
        let k = self.means[0].len();
        let mut angles = Vec::with_capacity(n * k);
        for _ in 0..n {
            let u: f64 = rng.random();
            let mut c = self.weights.len() - 1;
            let mut acc = 0.0;
            for (i, w) in self.weights.iter().enumerate() {
                acc += w;
                if u < acc {
                    c = i;
                    break;
                }
            }
            let e = gaussian_vec(k, rng);
            angles.extend(
                e.iter()
                    .zip(&self.means[c])
                    .map(|(z, m)| m + self.sigmas[c] * z),
            );
        }
        self.torus().from_angles(&Tensor::from_vec(angles, &[n, k]))
    }

    /// The exact log-density of `[n, 2k]` points, `[n]` f64 (no tape).
    pub fn log_prob(&self, x: &Tensor) -> Tensor {
        let angles = self.torus().angles(x).to_vec_f64();
        let k = self.means[0].len();
        let two_pi = 2.0 * std::f64::consts::PI;
        let dens: Vec<f64> = angles
            .chunks(k)
            .map(|a| {
                let p: f64 = self
                    .means
                    .iter()
                    .zip(&self.sigmas)
                    .zip(&self.weights)
                    .map(|((m, s), w)| {
                        w * a
                            .iter()
                            .zip(m)
                            .map(|(ai, mi)| {
                                (-4..=4)
                                    .map(|j| {
                                        let d = ai + two_pi * j as f64 - mi;
                                        (-0.5 * d * d / (s * s)).exp() / (s * two_pi.sqrt())
                                    })
                                    .sum::<f64>()
                            })
                            .product::<f64>()
                    })
                    .sum();
                p.ln()
            })
            .collect();
        Tensor::from_vec(dens, &[x.dim(0)])
    }
}
