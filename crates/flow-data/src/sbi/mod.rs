//! Simulation-based-inference tasks of the sbibm benchmark (Lueckmann et al., arXiv
//! 2101.04653): prior, simulator and a reference-posterior sampler per task.
//!
//! Reference posteriors here are exact samplers derived from the task definitions (sbibm
//! ships precomputed samples for 10 fixed observations instead; those are not vendored),
//! except SLCP, whose reference is MCMC on the exact posterior (as in sbibm).

mod slcp_mcmc;
mod tasks;

use flow_core::Tensor;
use rand::Rng;

pub use slcp_mcmc::{SlcpMcmcConfig, SlcpMcmcRun};
pub use tasks::{GaussianLinear, GaussianMixture, Slcp, TwoMoons};

/// An SBI task. All tensors are f64, batch-first.
pub trait SbiTask {
    /// Dimension of θ.
    fn theta_dim(&self) -> usize;
    /// Dimension of x.
    fn x_dim(&self) -> usize;
    /// `n` draws from the prior, `[n, theta_dim]`.
    fn sample_prior(&self, n: usize, rng: &mut dyn Rng) -> Tensor;
    /// One simulation per row of `theta: [n, theta_dim]`, `[n, x_dim]`.
    fn simulate(&self, theta: &Tensor, rng: &mut dyn Rng) -> Tensor;
    /// `n` draws from `p(θ | x_obs)` (exact, or MCMC on the exact posterior for SLCP), or
    /// `None` where no reference sampler is implemented.
    fn sample_posterior(&self, x_obs: &[f64], n: usize, rng: &mut dyn Rng) -> Option<Tensor>;
}
