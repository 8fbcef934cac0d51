//! Resumable TRADE training: the engine's checkpoint (parameters, Adam state, step, curves)
//! plus the TRADE state that lives outside the parameters (the grid's `E_c[A]` table, its
//! last ESS and the per-point loss EMA under `trade.grid.*`, the adaptive weights under
//! `trade.adaptive`), written together into one file so that a resumed run continues bit for
//! bit. The engine writes its part to a side file first; the combined file then replaces the
//! checkpoint atomically, so the checkpoint on disk is always complete.

use std::path::PathBuf;
use std::time::Instant;

use flow_core::Tensor;
use flow_core::io::Checkpoint;
use flow_core::nn::Module;
use flow_core::train::Trainer;

use crate::adaptive::AdaptiveWeights;
use crate::error::TradeError;
use crate::family::Family;
use crate::flow::ParamFlow;
use crate::train::{
    Boundary, Curves, LoopConfig, TradeConfig, TradeState, nan_loss, trade_step, train_config,
};

/// Where and how often to checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct ResumeSpec {
    /// The checkpoint file (resumed from when it exists).
    pub path: PathBuf,
    /// Checkpoint every this many steps (and at the end).
    pub every: u64,
    /// Stop (checkpointed) once this many steps are done; a later call continues. `None`:
    /// train to the end.
    pub stop_at: Option<u64>,
}

impl TradeState {
    /// Writes the grid and adaptive weights into `ck`.
    pub fn save_to(&self, ck: &mut Checkpoint) {
        self.grid.save_to(ck);
        let w = self.weights;
        ck.insert(
            "trade.adaptive",
            Tensor::from_vec(vec![w.boundary, w.residual], &[2]),
        );
    }

    /// Restores what [`TradeState::save_to`] wrote.
    ///
    /// # Errors
    /// As [`crate::grid::ExpectationGrid::restore_from`].
    pub fn restore_from(&mut self, ck: &Checkpoint) -> Result<(), TradeError> {
        self.grid.restore_from(ck)?;
        let w = ck.tensor("trade.adaptive")?.to_vec_f64();
        if w.len() != 2 {
            return Err(TradeError::Config(
                "trade.adaptive must hold 2 values".into(),
            ));
        }
        self.weights = AdaptiveWeights {
            boundary: w[0],
            residual: w[1],
        };
        Ok(())
    }
}

/// As [`crate::train::fit_trade`], checkpointing every `resume.every` steps into
/// `resume.path` and continuing from it when it exists (same parameters, optimiser state,
/// grid state and random streams, so the result equals an uninterrupted run bit for bit).
///
/// # Errors
/// [`TradeError::Config`] for a bad configuration or a checkpoint of another grid;
/// [`TradeError::Train`] / [`TradeError::Checkpoint`] when the checkpoint cannot be read or
/// does not fit; otherwise as [`crate::train::optimize`] (the last checkpoint is kept).
pub fn fit_trade_resumable(
    model: &ParamFlow,
    family: &Family,
    data: Option<&Tensor>,
    loop_cfg: &LoopConfig,
    config: &TradeConfig,
    resume: &ResumeSpec,
) -> Result<(Curves, TradeState), TradeError> {
    config.validate()?;
    if config.boundary == Boundary::Nll && data.is_none() {
        return Err(TradeError::Config(
            "the NLL boundary needs data at c0".into(),
        ));
    }
    if resume.every == 0 {
        return Err(TradeError::Config("checkpoint every must be ≥ 1".into()));
    }
    let params = model.parameters();
    let mut state = TradeState::new(family, config);
    let mut trainer = Trainer::new(params.clone(), train_config(loop_cfg));
    if resume.path.exists() {
        let ck = Checkpoint::load(&resume.path)?;
        let mut restored = state.clone();
        restored.restore_from(&ck)?;
        trainer.resume_from(&resume.path)?;
        state = restored;
    }
    let start = Instant::now();
    let steps = loop_cfg.steps;
    let end = resume.stop_at.map_or(steps, |s| s.min(steps));
    while trainer.step() < end {
        let until = ((trainer.step() / resume.every + 1) * resume.every).min(end);
        let mut failure = None;
        let result = trainer.fit_until(until, |step, rng| {
            match trade_step(model, family, data, config, &mut state, step, steps, rng) {
                Ok(l) => l,
                Err(e) => {
                    failure = Some(e);
                    nan_loss(&params)
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        result?;
        save(&trainer, &state, resume, start.elapsed().as_secs_f64())?;
    }
    Ok((trainer.curves().clone(), state))
}

/// Writes the engine's checkpoint and the TRADE state into `resume.path` (atomically).
fn save(
    trainer: &Trainer,
    state: &TradeState,
    resume: &ResumeSpec,
    seconds: f64,
) -> Result<(), TradeError> {
    let mut side = resume.path.clone().into_os_string();
    side.push(".engine");
    let side = PathBuf::from(side);
    trainer.save(&side, seconds)?;
    let mut ck = Checkpoint::load(&side)?;
    state.save_to(&mut ck);
    ck.save(&resume.path)?;
    std::fs::remove_file(&side).ok();
    Ok(())
}
