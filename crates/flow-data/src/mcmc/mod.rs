//! Reference samplers (MALA, HMC) running many parallel chains as one batch, with step-size
//! adaptation during burn-in, thinning, optional centre-of-mass removal for particle systems,
//! and convergence diagnostics (acceptance rate, integrated autocorrelation time, split-R̂).
//!
//! References: Roberts & Tweedie, Bernoulli 2, 341 (1996) (MALA); Neal, "MCMC using
//! Hamiltonian dynamics", arXiv 1206.1901 (HMC); Sokal, "Monte Carlo methods in statistical
//! mechanics" (1997) (automatic windowing); Gelman et al., BDA3 (2013) (split-R̂).

mod diagnostics;
mod reference;
mod samplers;

pub use diagnostics::{integrated_autocorrelation_time, r_hat};
pub use reference::{
    CHAIN_GROUP, ReferenceSet, ReferenceTarget, generate_reference, generate_reference_with,
    load_or_generate_reference,
};
pub use samplers::{Kernel, McmcConfig, McmcRun, run_chains};
