//! Exact references for the tempered GMM-6 of TRADE (Appendix C; `boltzmann-targets.md` §3.1),
//! `p(x|T) ∝ GMM(x)^{1/T}`: exact samples at any temperature by rejection, and `log Z(T)` and
//! `E_T[A] = −E_T[u]/T²` (`u = −log GMM`) by 2-D trapezoid quadrature (spectrally accurate for
//! these smooth, fast-decaying integrands).
//!
//! **Sampler.** With `a_k(x) = w_k N(x; μ_k, Σ_k)` and `β = 1/T`, the target is
//! `f = (Σ_k a_k)^β` and the proposal `g = Σ_k a_k^β`, a Gaussian mixture with components
//! `N(μ_k, Σ_k/β)` and weights `∝ w_k^β ∫N_k^β = w_k^β (2π)^{1−β} |Σ_k|^{(1−β)/2} / β`.
//! For `β ≤ 1`, subadditivity of `t ↦ t^β` gives `f ≤ g` (accept with `f/g`); for `β > 1`,
//! `f/g ≤ K^{β−1}` (power mean) but is far smaller away from overlaps, so the bound used is
//! `M = min(K^{β−1}, 1.25·max f/g)` over a grid of spacing a tenth of the narrowest tempered
//! standard deviation; every accepted draw checks `f/g ≤ M` and panics otherwise, so a too
//! small `M` cannot pass silently.

use std::f64::consts::PI;

use flow_core::{DType, Tensor};
use flow_data::energy::quadrature::log_sum_exp;
use flow_data::energy::{GMM6_COVS as COVS, GMM6_MEANS as MEANS};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

/// Per component: precision `[P₁₁, P₁₂, P₂₂]`, `log det Σ`, Cholesky `[l₁₁, l₂₁, l₂₂]` of Σ.
struct Comp {
    prec: [f64; 3],
    logdet: f64,
    chol: [f64; 3],
}

fn comps() -> Vec<Comp> {
    COVS.iter()
        .map(|&[s11, s12, s22]| {
            let det = s11 * s22 - s12 * s12;
            let l11 = s11.sqrt();
            let l21 = s12 / l11;
            Comp {
                prec: [s22 / det, -s12 / det, s11 / det],
                logdet: det.ln(),
                chol: [l11, l21, (s22 - l21 * l21).sqrt()],
            }
        })
        .collect()
}

/// `log a_k(x)` for the six components.
fn log_terms(cs: &[Comp], x: f64, y: f64) -> [f64; 6] {
    let mut out = [0.0; 6];
    for (k, c) in cs.iter().enumerate() {
        let (dx, dy) = (x - MEANS[k][0], y - MEANS[k][1]);
        let q = c.prec[0] * dx * dx + 2.0 * c.prec[1] * dx * dy + c.prec[2] * dy * dy;
        out[k] = -0.5 * q - (2.0 * PI).ln() - 0.5 * c.logdet - 6f64.ln();
    }
    out
}

/// `log f − log g` at one point (both unnormalised, `β = 1/T`).
fn log_ratio(cs: &[Comp], beta: f64, x: f64, y: f64) -> f64 {
    let t = log_terms(cs, x, y);
    let scaled = t.map(|v| beta * v);
    beta * lse6(&t) - lse6(&scaled)
}

/// `log Σ exp` of six finite values (no allocation).
fn lse6(v: &[f64; 6]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Exact sampler of the tempered GMM-6 at one temperature (see the module docs).
pub struct TemperedGmm6Sampler {
    beta: f64,
    comps: Vec<Comp>,
    /// Cumulative proposal weights.
    cum: Vec<f64>,
    log_m: f64,
}

impl TemperedGmm6Sampler {
    /// The sampler at temperature `t > 0`.
    ///
    /// # Panics
    /// If `t` is not positive and finite.
    pub fn new(t: f64) -> TemperedGmm6Sampler {
        assert!(t > 0.0 && t.is_finite(), "TemperedGmm6Sampler: T = {t}");
        let beta = 1.0 / t;
        let comps = comps();
        let logw: Vec<f64> = comps
            .iter()
            .map(|c| {
                -beta * 6f64.ln() + (1.0 - beta) * (2.0 * PI).ln() + 0.5 * (1.0 - beta) * c.logdet
                    - beta.ln()
            })
            .collect();
        let m = log_sum_exp(&logw);
        let mut acc = 0.0;
        let cum = logw
            .iter()
            .map(|l| {
                acc += (l - m).exp();
                acc
            })
            .collect();
        let log_m = if beta <= 1.0 {
            0.0
        } else {
            let power_mean = (beta - 1.0) * 6f64.ln();
            power_mean.min(Self::grid_max(&comps, beta) + 1.25f64.ln())
        };
        TemperedGmm6Sampler {
            beta,
            comps,
            cum,
            log_m,
        }
    }

    /// `max log(f/g)` on a grid (spacing a tenth of the narrowest tempered standard deviation)
    /// over the box of the means widened by 8 of the widest tempered standard deviations.
    fn grid_max(comps: &[Comp], beta: f64) -> f64 {
        let eig = |&[a, b, c]: &[f64; 3], sign: f64| {
            let tr = 0.5 * (a + c);
            (tr + sign * (tr * tr - (a * c - b * b)).sqrt()).sqrt() / beta.sqrt()
        };
        let sd_min = COVS
            .iter()
            .map(|s| eig(s, -1.0))
            .fold(f64::INFINITY, f64::min);
        let sd_max = COVS.iter().map(|s| eig(s, 1.0)).fold(0.0, f64::max);
        let h = 0.1 * sd_min;
        let (x0, x1) = (-4.0 - 8.0 * sd_max, 5.0 + 8.0 * sd_max);
        let (y0, y1) = (-4.0 - 8.0 * sd_max, 7.0 + 8.0 * sd_max);
        let (nx, ny) = (((x1 - x0) / h) as usize, ((y1 - y0) / h) as usize);
        let mut best = f64::NEG_INFINITY;
        for i in 0..=nx {
            let x = x0 + h * i as f64;
            for j in 0..=ny {
                best = best.max(log_ratio(comps, beta, x, y0 + h * j as f64));
            }
        }
        best
    }

    /// `n` exact samples, `[n, 2]` f64.
    ///
    /// # Panics
    /// If an accepted draw exceeds the rejection bound (the bound was too small).
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Tensor {
        let s = self.beta.sqrt().recip();
        let mut v = Vec::with_capacity(2 * n);
        while v.len() < 2 * n {
            let u: f64 = rng.random();
            let k = self.cum.partition_point(|&c| c < u).min(5);
            let [l11, l21, l22] = self.comps[k].chol;
            let (e1, e2): (f64, f64) = (StandardNormal.sample(rng), StandardNormal.sample(rng));
            let x = MEANS[k][0] + s * l11 * e1;
            let y = MEANS[k][1] + s * (l21 * e1 + l22 * e2);
            let lr = log_ratio(&self.comps, self.beta, x, y) - self.log_m;
            assert!(
                lr <= 1e-12,
                "TemperedGmm6Sampler: f/g exceeds the bound at ({x}, {y}) by {lr}"
            );
            if rng.random::<f64>().ln() < lr {
                v.push(x);
                v.push(y);
            }
        }
        Tensor::from_vec(v, &[n, 2]).to_dtype(DType::F64)
    }
}

/// `(log Z(T), E_T[u])` of the tempered GMM-6 by the 2-D trapezoid rule on `[−L, L]²`,
/// `L = 10 + 6√T`, spacing `h` (0.05 resolves the narrowest tempered component at T ≥ 0.15
/// with ≥ 1.4 nodes per standard deviation, where the trapezoid error is `~e^{−2π²σ²/h²}`).
pub fn log_z_and_mean_u(t: f64, h: f64) -> (f64, f64) {
    let cs = comps();
    let l = 10.0 + 6.0 * t.sqrt();
    let n = (2.0 * l / h).ceil() as usize;
    let mut lw = Vec::with_capacity((n + 1) * (n + 1));
    let mut us = Vec::with_capacity((n + 1) * (n + 1));
    for i in 0..=n {
        let x = -l + h * i as f64;
        for j in 0..=n {
            let u = -lse6(&log_terms(&cs, x, -l + h * j as f64));
            lw.push(-u / t);
            us.push(u);
        }
    }
    let lse = log_sum_exp(&lw);
    let mean_u = lw
        .iter()
        .zip(&us)
        .map(|(w, u)| (w - lse).exp() * u)
        .sum::<f64>();
    (lse + 2.0 * h.ln(), mean_u)
}

/// `E_T[A] = −E_T[u]/T²` of the tempered GMM-6 (c = T).
pub fn ex_a(t: f64, h: f64) -> f64 {
    -log_z_and_mean_u(t, h).1 / (t * t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_data::energy::Gmm6;
    use rand::SeedableRng;

    /// Quadrature agrees with flow-data's independent `Gmm6::log_z` and gives Z(1) = 1.
    #[test]
    fn quadrature_matches_flow_data_and_normalises() {
        for t in [0.2, 1.0, 4.8] {
            let (lz, _) = log_z_and_mean_u(t, 0.05);
            assert!((lz - Gmm6::log_z(t, 0.05)).abs() < 1e-9, "T = {t}");
        }
        assert!(log_z_and_mean_u(1.0, 0.05).0.abs() < 1e-8);
    }

    /// `E_T[u]` equals `−∂ log Z/∂(1/T)`, i.e. `T² ∂_T log Z`, by a central difference.
    #[test]
    fn mean_u_is_the_derivative_of_log_z() {
        for t in [0.3, 1.0, 3.0] {
            let h = 1e-4 * t;
            let d = (log_z_and_mean_u(t + h, 0.05).0 - log_z_and_mean_u(t - h, 0.05).0) / (2.0 * h);
            let eu = log_z_and_mean_u(t, 0.05).1;
            assert!((t * t * d - eu).abs() < 1e-5 * (1.0 + eu.abs()), "T = {t}");
        }
    }

    /// Sample means of x, y and u match quadrature within 5 standard errors at T = 0.25, 1
    /// and 4 (both branches of the rejection bound).
    #[test]
    fn samples_match_quadrature_moments() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
        let cs = comps();
        for t in [0.25, 1.0, 4.0] {
            let n = 20_000;
            let x = TemperedGmm6Sampler::new(t).sample(n, &mut rng).to_vec_f64();
            let u: Vec<f64> = x
                .chunks(2)
                .map(|p| -lse6(&log_terms(&cs, p[0], p[1])))
                .collect();
            let m = u.iter().sum::<f64>() / n as f64;
            let var = u.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
            let truth = log_z_and_mean_u(t, 0.05).1;
            let se = (var / n as f64).sqrt();
            assert!((m - truth).abs() < 5.0 * se, "T = {t}: E[u] {m} vs {truth}");
        }
    }
}
