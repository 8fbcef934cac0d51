//! MALA and HMC kernels over a batch of independent chains.

use flow_core::{DType, Tensor};
use rand::Rng;

use crate::energy::{Energy, energy_and_grad, param, remove_mean};

/// The transition kernel.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Kernel {
    /// Metropolis-adjusted Langevin: `y = x − h∇E(x) + √(2h) ξ` (optimal acceptance ≈ 0.574).
    Mala,
    /// Hamiltonian Monte Carlo with unit mass and `leapfrog_steps` leapfrog steps of size h.
    Hmc {
        /// Leapfrog steps per proposal.
        leapfrog_steps: usize,
    },
}

/// Sampler settings (typed; no defaults hidden in strings).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct McmcConfig {
    /// The kernel.
    pub kernel: Kernel,
    /// Initial step size h.
    pub step_size: f64,
    /// Burn-in iterations (discarded; the step size adapts only here).
    pub burn_in: usize,
    /// Kept draws per chain (after thinning).
    pub n_draws: usize,
    /// Iterations per kept draw.
    pub thin: usize,
    /// Target mean acceptance probability for adaptation (`None`: fixed step size).
    pub target_accept: Option<f64>,
    /// `(n_particles, n_dims)`: remove the centre of mass from states and noise.
    pub mean_free: Option<(usize, usize)>,
}

impl McmcConfig {
    /// MALA with adaptation to 0.574 acceptance.
    pub fn mala(step_size: f64, burn_in: usize, n_draws: usize, thin: usize) -> Self {
        Self {
            kernel: Kernel::Mala,
            step_size,
            burn_in,
            n_draws,
            thin,
            target_accept: Some(0.574),
            mean_free: None,
        }
    }

    /// HMC with adaptation to 0.65 acceptance.
    pub fn hmc(
        step_size: f64,
        leapfrog_steps: usize,
        burn_in: usize,
        n_draws: usize,
        thin: usize,
    ) -> Self {
        let kernel = Kernel::Hmc { leapfrog_steps };
        Self {
            kernel,
            step_size,
            burn_in,
            n_draws,
            thin,
            target_accept: Some(0.65),
            mean_free: None,
        }
    }

    /// Keeps states and noise in the mean-free subspace of `n` particles in `d` dimensions.
    pub fn with_mean_free(mut self, n: usize, d: usize) -> Self {
        self.mean_free = Some((n, d));
        self
    }
}

/// The kept draws of all chains and their diagnostics.
#[derive(Clone, Debug)]
pub struct McmcRun {
    /// Draws, `[n_draws, chains, dim]` flattened row-major.
    pub draws: Vec<f64>,
    /// Energies `E(x, c)` of the draws, `[n_draws, chains]`.
    pub energies: Vec<f64>,
    /// Number of chains.
    pub chains: usize,
    /// Dimension.
    pub dim: usize,
    /// Mean acceptance probability after burn-in.
    pub acceptance_rate: f64,
    /// The (adapted) step size used after burn-in.
    pub step_size: f64,
}

impl McmcRun {
    /// All draws as a `[n_draws · chains, dim]` f64 tensor.
    pub fn samples(&self) -> Tensor {
        Tensor::from_vec(self.draws.clone(), &[self.draws.len() / self.dim, self.dim])
    }

    /// The series `f(x)` per chain (`[chains][n_draws]`), for diagnostics.
    pub fn traces(&self, f: impl Fn(&[f64]) -> f64) -> Vec<Vec<f64>> {
        let n = self.draws.len() / (self.dim * self.chains);
        (0..self.chains)
            .map(|c| {
                (0..n)
                    .map(|t| f(&self.draws[(t * self.chains + c) * self.dim..][..self.dim]))
                    .collect()
            })
            .collect()
    }
}

/// Runs `x0.dim(0)` chains at parameter `c` from `x0: [chains, dim]`.
///
/// Adaptation (burn-in only): `log h ← log h + (t + 1)^{−0.6} (ᾱ − target)` with ᾱ the mean
/// acceptance probability over chains (Robbins–Monro), then h is frozen so the kept draws
/// come from a fixed, reversible kernel. Non-finite proposal energies are rejected.
///
/// # Panics
/// If `x0` is not `[chains, energy.dim()]`.
pub fn run_chains<R: Rng + ?Sized>(
    energy: &dyn Energy,
    c: f64,
    x0: &Tensor,
    cfg: &McmcConfig,
    rng: &mut R,
) -> McmcRun {
    assert!(
        x0.ndim() == 2 && x0.dim(1) == energy.dim(),
        "run_chains: x0 must be [chains, {}]",
        energy.dim()
    );
    let (chains, dim) = (x0.dim(0), x0.dim(1));
    let project = |t: Tensor| match cfg.mean_free {
        Some((n, d)) => remove_mean(&t, n, d),
        None => t,
    };
    let mut x = project(x0.to_dtype(DType::F64));
    let ct = param(c, &x);
    let (mut e, mut g) = energy_and_grad(energy, &x, &ct);
    g = project(g);
    let mut h = cfg.step_size;
    let (mut draws, mut energies) = (Vec::new(), Vec::new());
    let mut accept_sum = 0.0;
    let total = cfg.burn_in + cfg.n_draws * cfg.thin;
    for it in 0..total {
        let (y, ey, gy, log_alpha) = match cfg.kernel {
            Kernel::Mala => mala_proposal(energy, &ct, &x, &e, &g, h, &project, rng),
            Kernel::Hmc { leapfrog_steps } => {
                hmc_proposal(energy, &ct, &x, &e, &g, h, leapfrog_steps, &project, rng)
            }
        };
        let la = log_alpha.to_vec_f64();
        let u = Tensor::rand_uniform(&[chains], 0.0, 1.0, DType::F64, rng).to_vec_f64();
        let acc: Vec<f64> = la
            .iter()
            .zip(&u)
            .map(|(l, u)| (l.is_finite() && u.ln() < *l) as u8 as f64)
            .collect();
        let alpha_bar = la
            .iter()
            .map(|l| if l.is_finite() { l.min(0.0).exp() } else { 0.0 })
            .sum::<f64>()
            / chains as f64;
        let mask = Tensor::from_vec(acc.clone(), &[chains]);
        let mask2 = mask.reshape(&[chains, 1]);
        x = Tensor::where_cond(&mask2, &y, &x);
        g = Tensor::where_cond(&mask2, &gy, &g);
        e = Tensor::where_cond(
            &mask,
            &ey.map_values(|v| if v.is_finite() { v } else { 0.0 }),
            &e,
        );
        if it < cfg.burn_in {
            if let Some(target) = cfg.target_accept {
                h *= ((alpha_bar - target) / ((it + 1) as f64).powf(0.6)).exp();
            }
        } else {
            accept_sum += alpha_bar;
            if (it - cfg.burn_in + 1).is_multiple_of(cfg.thin) {
                draws.extend(x.to_vec_f64());
                energies.extend(e.to_vec_f64());
            }
        }
    }
    let kept_iters = (total - cfg.burn_in).max(1) as f64;
    McmcRun {
        draws,
        energies,
        chains,
        dim,
        acceptance_rate: accept_sum / kept_iters,
        step_size: h,
    }
}

type Proposal = (Tensor, Tensor, Tensor, Tensor);

/// MALA proposal and `log α = −E(y) + E(x) + log q(x|y) − log q(y|x)`,
/// `log q(y|x) = −‖y − x + h∇E(x)‖² / 4h`.
#[allow(clippy::too_many_arguments)]
fn mala_proposal<R: Rng + ?Sized>(
    energy: &dyn Energy,
    c: &Tensor,
    x: &Tensor,
    e: &Tensor,
    g: &Tensor,
    h: f64,
    project: &dyn Fn(Tensor) -> Tensor,
    rng: &mut R,
) -> Proposal {
    let xi = project(Tensor::randn(x.shape(), DType::F64, rng));
    let y = x
        .sub(&g.mul_scalar(h))
        .add(&xi.mul_scalar((2.0 * h).sqrt()));
    let (ey, gy) = energy_and_grad(energy, &y, c);
    let gy = project(gy);
    let fwd = y.sub(x).add(&g.mul_scalar(h)).square().sum_axis(1, false);
    let bwd = x.sub(&y).add(&gy.mul_scalar(h)).square().sum_axis(1, false);
    let log_alpha = e.sub(&ey).add(&fwd.sub(&bwd).mul_scalar(0.25 / h));
    (y, ey, gy, log_alpha)
}

/// HMC proposal by leapfrog; `log α = H(x, p) − H(y, p')`, `H = E + ½‖p‖²`.
#[allow(clippy::too_many_arguments)]
fn hmc_proposal<R: Rng + ?Sized>(
    energy: &dyn Energy,
    c: &Tensor,
    x: &Tensor,
    e: &Tensor,
    g: &Tensor,
    h: f64,
    steps: usize,
    project: &dyn Fn(Tensor) -> Tensor,
    rng: &mut R,
) -> Proposal {
    let p0 = project(Tensor::randn(x.shape(), DType::F64, rng));
    let mut p = p0.sub(&g.mul_scalar(0.5 * h));
    let mut y = x.clone();
    let (mut ey, mut gy) = (e.clone(), g.clone());
    for k in 0..steps {
        y = y.add(&p.mul_scalar(h));
        let (en, gn) = energy_and_grad(energy, &y, c);
        (ey, gy) = (en, project(gn));
        let scale = if k + 1 == steps { 0.5 * h } else { h };
        p = p.sub(&gy.mul_scalar(scale));
    }
    let kin = |q: &Tensor| q.square().sum_axis(1, false).mul_scalar(0.5);
    let log_alpha = e.add(&kin(&p0)).sub(&ey).sub(&kin(&p));
    (y, ey, gy, log_alpha)
}
