//! Reference posterior sampler for SLCP (sbibm obtains its reference posteriors by MCMC on
//! the exact likelihood, too).
//!
//! The target is `π(θ) ∝ 1[θ ∈ [−3, 3]⁵] · p(x_obs | θ)`. The likelihood depends on θ₃ and θ₄
//! only through θ₃² and θ₄² and the prior box is symmetric, so π is invariant under the group
//! G = {±1}² of sign flips of (θ₃, θ₄): the posterior has (at least) four mirror modes of
//! exactly equal mass. The sampler therefore
//!
//! 1. runs random-walk Metropolis on the *folded* density `π_f = 4 π` restricted to the
//!    fundamental domain θ₃, θ₄ ≥ 0 (the box `[−3,3]² × [0,3]² × [−3,3]`), and
//! 2. applies an independent uniformly random element of G to every kept draw.
//!
//! Step 2 is exact: if φ ~ π_f and g ~ U(G) independently, then g·φ has density
//! `π_f(|·|)/4 = π` because each g is a volume-preserving bijection of the box that leaves π
//! unchanged (equivalently, it is a Metropolis move proposing g·θ, whose acceptance ratio
//! π(g·θ)/π(θ) is identically 1). The mirror modes are thus populated with exact
//! Binomial(n, ¼) counts, and the chains never have to cross the low-density region θ₃ ≈ 0 or
//! θ₄ ≈ 0 (where s₁ or s₂ → 0 and the likelihood vanishes) — the crossing that makes naive MCMC
//! miss modes.
//!
//! Chains start from sampling-importance-resampling (SIR) of many folded prior draws weighted
//! by the likelihood (as sbibm initialises its chains), so modes inside the fundamental
//! domain are seeded in proportion to their mass. The proposal is a fixed two-component
//! mixture of Gaussian random walks `N(0, λ² Σ)` and `N(0, (λ/10)² Σ)` (weights 0.8/0.2; each
//! symmetric, so the mixture is symmetric and the Metropolis ratio is `π_f(y)/π_f(θ)`),
//! where Σ is the across-chain covariance of the current states and λ is tuned towards 0.234
//! acceptance — during burn-in only; during sampling the kernel is fixed and therefore
//! leaves π_f invariant. Proposals outside the box have density 0 and are rejected.

use flow_core::Tensor;
use rand::{Rng, RngExt};

use super::tasks::{Slcp, normal};

const D: usize = 5;
const HALF: f64 = 3.0;

/// Settings of the SLCP reference-posterior sampler [`Slcp::sample_posterior_mcmc`]:
/// parallel random-walk Metropolis chains on the posterior folded onto θ₃, θ₄ ≥ 0, started by
/// likelihood-weighted resampling of prior draws, with adaptation only during burn-in; every
/// kept draw then gets independent uniform random signs on θ₃ and θ₄, which is exact because
/// the prior box and the likelihood (a function of θ₃², θ₄²) are invariant under those flips.
#[derive(Clone, Debug, PartialEq)]
pub struct SlcpMcmcConfig {
    /// Independent parallel chains.
    pub chains: usize,
    /// Folded prior draws for the SIR initialisation.
    pub init_draws: usize,
    /// Burn-in iterations per chain (discarded; adaptation happens only here).
    pub burn_in: usize,
    /// Iterations per kept draw.
    pub thin: usize,
}

impl Default for SlcpMcmcConfig {
    fn default() -> Self {
        Self {
            chains: 256,
            init_draws: 100_000,
            burn_in: 5000,
            thin: 40,
        }
    }
}

/// The output of [`Slcp::sample_posterior_mcmc`].
#[derive(Clone, Debug)]
pub struct SlcpMcmcRun {
    /// `[n, 5]` posterior draws (random mirror signs applied), draw-major over chains.
    pub samples: Tensor,
    /// Folded traces (θ₃, θ₄ ≥ 0): `traces[chain][draw]`, `⌈n / chains⌉` draws per chain.
    pub traces: Vec<Vec<[f64; D]>>,
    /// Mean Metropolis acceptance rate over the kept iterations.
    pub acceptance: f64,
}

fn in_folded_box(t: &[f64; D]) -> bool {
    t.iter().enumerate().all(|(k, &v)| {
        let lo = if k == 2 || k == 3 { 0.0 } else { -HALF };
        v > lo && v < HALF
    })
}

fn log_target(t: &[f64; D], x: &[f64]) -> f64 {
    if in_folded_box(t) {
        let l = Slcp::log_likelihood(t, x);
        if l.is_nan() { f64::NEG_INFINITY } else { l }
    } else {
        f64::NEG_INFINITY
    }
}

/// Lower Cholesky factor of the covariance of `pts` plus a small ridge (keeps it positive
/// definite when the chains start collapsed on a few SIR points).
fn cov_cholesky(pts: &[[f64; D]]) -> [[f64; D]; D] {
    let n = pts.len() as f64;
    let mut mean = [0.0; D];
    for p in pts {
        for k in 0..D {
            mean[k] += p[k] / n;
        }
    }
    let mut c = [[0.0; D]; D];
    for p in pts {
        for i in 0..D {
            for j in 0..=i {
                c[i][j] += (p[i] - mean[i]) * (p[j] - mean[j]) / (n - 1.0).max(1.0);
            }
        }
    }
    for (i, row) in c.iter_mut().enumerate() {
        row[i] += 1e-8;
    }
    let mut l = [[0.0; D]; D];
    for i in 0..D {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                l[i][i] = (c[i][i] - s).max(1e-12).sqrt();
            } else {
                l[i][j] = (c[i][j] - s) / l[j][j];
            }
        }
    }
    l
}

struct Chains<'a> {
    x: &'a [f64],
    state: Vec<[f64; D]>,
    logp: Vec<f64>,
    chol: [[f64; D]; D],
    lambda: f64,
}

impl Chains<'_> {
    /// One Metropolis step of every chain; returns the number of acceptances.
    fn step(&mut self, rng: &mut dyn Rng) -> usize {
        let mut acc = 0;
        for c in 0..self.state.len() {
            let scale = if rng.random::<f64>() < 0.8 {
                self.lambda
            } else {
                0.1 * self.lambda
            };
            let xi: [f64; D] = std::array::from_fn(|_| normal(rng));
            let mut y = self.state[c];
            for i in 0..D {
                y[i] += scale * (0..=i).map(|k| self.chol[i][k] * xi[k]).sum::<f64>();
            }
            let ly = log_target(&y, self.x);
            if ly.is_finite() && rng.random::<f64>().ln() < ly - self.logp[c] {
                self.state[c] = y;
                self.logp[c] = ly;
                acc += 1;
            }
        }
        acc
    }
}

impl Slcp {
    /// Reference posterior draws by MCMC on the exact posterior (see [`SlcpMcmcConfig`] for
    /// the construction and why the sign flips are exact).
    ///
    /// # Panics
    /// If `cfg.chains < 2`, `cfg.thin == 0`, `cfg.init_draws == 0` or `x_obs.len() != 8`.
    pub fn sample_posterior_mcmc(
        x_obs: &[f64],
        n: usize,
        cfg: &SlcpMcmcConfig,
        rng: &mut dyn Rng,
    ) -> SlcpMcmcRun {
        assert!(cfg.chains >= 2 && cfg.thin >= 1 && cfg.init_draws >= 1);
        assert_eq!(x_obs.len(), 8, "SLCP: x has 8 entries");
        // SIR initialisation from the folded prior.
        let draws: Vec<[f64; D]> = (0..cfg.init_draws)
            .map(|_| {
                std::array::from_fn(|k| {
                    let u = rng.random::<f64>();
                    if k == 2 || k == 3 {
                        HALF * u
                    } else {
                        HALF * (2.0 * u - 1.0)
                    }
                })
            })
            .collect();
        let ll: Vec<f64> = draws.iter().map(|t| log_target(t, x_obs)).collect();
        let max = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut cum = Vec::with_capacity(ll.len());
        let mut total = 0.0;
        for l in &ll {
            total += (l - max).exp();
            cum.push(total);
        }
        let state: Vec<[f64; D]> = (0..cfg.chains)
            .map(|_| {
                let u = rng.random::<f64>() * total;
                draws[cum.partition_point(|&c| c < u).min(draws.len() - 1)]
            })
            .collect();
        let logp = state.iter().map(|t| log_target(t, x_obs)).collect();
        let mut ch = Chains {
            x: x_obs,
            chol: cov_cholesky(&state),
            state,
            logp,
            lambda: 2.38 / (D as f64).sqrt(),
        };
        // Burn-in with adaptation of Σ (across-chain covariance) and λ (towards 0.234
        // acceptance) every `window` iterations, in the first 80 % of the burn-in only.
        let window = 25;
        let adapt_until = cfg.burn_in * 4 / 5;
        let mut acc = 0;
        for it in 1..=cfg.burn_in {
            acc += ch.step(rng);
            if it % window == 0 && it <= adapt_until {
                let rate = acc as f64 / (window * cfg.chains) as f64;
                ch.lambda *= (2.0 * (rate - 0.234)).exp();
                ch.chol = cov_cholesky(&ch.state);
                acc = 0;
            }
        }
        // Sampling with the kernel fixed.
        let per_chain = n.div_ceil(cfg.chains);
        let mut traces = vec![Vec::with_capacity(per_chain); cfg.chains];
        let mut acc = 0usize;
        for _ in 0..per_chain {
            for _ in 0..cfg.thin {
                acc += ch.step(rng);
            }
            for (t, s) in traces.iter_mut().zip(&ch.state) {
                t.push(*s);
            }
        }
        let acceptance = acc as f64 / (per_chain * cfg.thin * cfg.chains).max(1) as f64;
        let mut out = Vec::with_capacity(n * D);
        'fill: for d in 0..per_chain {
            for t in &traces {
                if out.len() == n * D {
                    break 'fill;
                }
                let mut th = t[d];
                for k in [2, 3] {
                    if rng.random::<bool>() {
                        th[k] = -th[k];
                    }
                }
                out.extend(th);
            }
        }
        SlcpMcmcRun {
            samples: Tensor::from_vec(out, &[n, D]),
            traces,
            acceptance,
        }
    }
}
