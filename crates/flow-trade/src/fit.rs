//! One-call training of TRADE and the baselines on [`crate::train::optimize`].

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_core::train::StepLoss;

use crate::error::TradeError;
use crate::family::Family;
use crate::flow::ParamFlow;
use crate::train::{
    Boundary, Curves, LoopConfig, TradeConfig, TradeState, nll_step, optimize, reverse_kl_step,
    trade_step,
};

/// Trains `model` with TRADE (grid variant); returns the loss curve and the final state
/// (its grid holds the `E_c[A]` table for the free-energy curve).
///
/// # Errors
/// [`TradeError::Config`] for a bad configuration; otherwise as [`optimize`].
pub fn fit_trade(
    model: &ParamFlow,
    family: &Family,
    data: Option<&Tensor>,
    loop_cfg: &LoopConfig,
    config: &TradeConfig,
) -> Result<(Curves, TradeState), TradeError> {
    config.validate()?;
    if config.boundary == Boundary::Nll && data.is_none() {
        return Err(TradeError::Config(
            "the NLL boundary needs data at c0".into(),
        ));
    }
    let mut state = TradeState::new(family, config);
    let steps = loop_cfg.steps;
    let curve = optimize(&model.parameters(), loop_cfg, |step, rng| {
        trade_step(model, family, data, config, &mut state, step, steps, rng)
    })?;
    Ok((curve, state))
}

/// Trains `model` by reverse KL across `c` (baseline).
///
/// # Errors
/// As [`optimize`].
pub fn fit_reverse_kl(
    model: &ParamFlow,
    family: &Family,
    batch: usize,
    loop_cfg: &LoopConfig,
) -> Result<Curves, TradeError> {
    optimize(&model.parameters(), loop_cfg, |_, rng| {
        Ok(StepLoss::new(reverse_kl_step(model, family, batch, rng)))
    })
}

/// Trains `model` by NLL at `c₀` only (baseline; with an unconditional flow and latent
/// `N(0, cI)` this is "NLL + latent temperature scaling").
///
/// # Errors
/// As [`optimize`].
pub fn fit_nll(
    model: &ParamFlow,
    data: &Tensor,
    c0: f64,
    batch: usize,
    loop_cfg: &LoopConfig,
) -> Result<Curves, TradeError> {
    optimize(&model.parameters(), loop_cfg, |_, rng| {
        Ok(StepLoss::new(nll_step(model, data, c0, batch, rng)))
    })
}
