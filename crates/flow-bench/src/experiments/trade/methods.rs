//! TRADE and its baselines as one enum, trained on one budget, and the per-pair judgement of
//! the paper's claim (TRADE away from `c₀` beats each baseline), shared by the TRADE pages.

use std::path::PathBuf;
use std::rc::Rc;

use flow_core::DType;
use flow_core::Tensor;
use flow_trade::baselines::{NllKlConfig, fit_nll_reverse_kl, fit_reweight};
use flow_trade::continuous::Widening;
use flow_trade::energy_free::ModelEnergy;
use flow_trade::resume::{ResumeSpec, fit_trade_resumable};
use flow_trade::train::{
    LoopConfig, Sampler, TradeConfig, TradeState, fit_nll, fit_reverse_kl, fit_trade,
};
use flow_trade::{Architecture, Family, LatentScale, ParamFlow, ParamFlowConfig};
use serde::{Deserialize, Serialize};

use crate::experiment::{ExperimentError, Mode, Table, Verdict};

/// The methods compared on one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// TRADE, grid variant, NLL boundary at c₀.
    Trade,
    /// TRADE, continuous variant (fresh SNIS on a widening interval), NLL boundary.
    TradeContinuous,
    /// TRADE, grid variant, energy-free: the model's own tempered energy
    /// (`flow_trade::energy_free::ModelEnergy`) replaces the ground truth; temperature
    /// families only.
    TradeEnergyFree,
    /// Reverse KL with c log-uniform on the interval (no data).
    ReverseKl,
    /// NLL at c₀ plus a ramped reverse KL across c.
    NllReverseKl,
    /// NLL at c₀ only, conditional flow (evaluated across c without any training signal
    /// there: the paper's "NLL only" φ⁴ baseline).
    Nll,
    /// NLL at c₀ of an unconditional flow with latent N(0, c·I).
    NllLatentScaling,
    /// NLL across c on the data at c₀ reweighted with the true energies.
    Reweight,
    /// Volume-preserving (GIN) flow with latent N(0, c·I), NLL at c₀ (temperature-steerable).
    VolumePreserving,
}

impl Method {
    /// Label on the page.
    pub fn label(self) -> &'static str {
        match self {
            Method::Trade => "TRADE (grid)",
            Method::TradeContinuous => "TRADE (continuous)",
            Method::TradeEnergyFree => "TRADE (energy-free)",
            Method::ReverseKl => "reverse KL across T",
            Method::NllReverseKl => "NLL + reverse KL",
            Method::Nll => "NLL at c₀ only",
            Method::NllLatentScaling => "NLL + latent T-scaling",
            Method::Reweight => "reweighting",
            Method::VolumePreserving => "volume-preserving, latent N(0, T·I)",
        }
    }

    /// Whether this is a TRADE variant.
    pub fn is_trade(self) -> bool {
        matches!(
            self,
            Method::Trade | Method::TradeContinuous | Method::TradeEnergyFree
        )
    }
}

/// The flow and its optimiser: the settings every TRADE page has, the two-moons posterior
/// included. Flattened (`#[serde(flatten)]`) into [`Budget`] and the two-moons preset, so the
/// preset JSON (and with it the preset hash) keeps these keys at the top level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Optimiser steps (same for every method).
    pub steps: u64,
    /// Adam learning rate (cosine decay).
    pub learning_rate: f64,
    /// Gradient-norm clip.
    pub clip: f64,
    /// Batch of the NLL / reverse-KL / reweighting terms.
    pub batch: usize,
    /// Coupling blocks of the conditional flow.
    pub blocks: usize,
    /// Subnet hidden widths.
    pub hidden: Vec<usize>,
    /// Coupling type of the conditional flow.
    pub architecture: Architecture,
}

impl Training {
    /// The optimisation loop of one run with this seed.
    pub fn loop_config(&self, seed: u64) -> LoopConfig {
        LoopConfig {
            steps: self.steps,
            learning_rate: self.learning_rate,
            clip: self.clip,
            seed,
        }
    }
}

/// Everything that shapes a training run, shared by all methods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Steps, learning rate, clip, batch and the conditional flow's shape.
    #[serde(flatten)]
    pub training: Training,
    /// The latent's dependence on c (every method; `N(0, c·I)` for temperatures).
    #[serde(default = "temperature_latent")]
    pub latent: LatentScale,
    /// Symmetrise every flow under `x → −x` (φ⁴'s Z₂ symmetry; see `ParamFlowConfig`).
    #[serde(default)]
    pub z2_symmetric: bool,
    /// GIN blocks of the volume-preserving baseline (it has no log-det, so more blocks).
    pub vp_blocks: usize,
    /// TRADE settings (grid variant; the continuous variant replaces the sampler).
    pub trade: TradeConfig,
    /// The continuous variant's c-schedule.
    pub continuous: Widening,
    /// The NLL + reverse-KL baseline's KL ramp.
    pub nll_kl: NllKlConfig,
    /// TRADE (grid) checkpoints its training state (grid table included) every this many
    /// steps when the run has a work folder, so an interrupted run resumes mid-training.
    pub checkpoint_every: u64,
}

fn temperature_latent() -> LatentScale {
    LatentScale::Temperature
}

/// `test`, `quick` or `full` by mode.
pub fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

/// An [`ExperimentError::Failed`] from any error.
pub fn fail(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Failed(e.to_string())
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (m, sd)
}

/// The flow `method` trains: the conditional flow of the budget, the same flow without the
/// condition (latent scaling), or the GIN flow (volume-preserving); the budget's latent, event
/// dimension `dim`.
pub fn build_model(
    method: Method,
    b: &Budget,
    dim: usize,
    rng: &mut impl rand::Rng,
) -> Rc<ParamFlow> {
    let t = &b.training;
    let cfg = ParamFlowConfig::affine(dim, t.blocks, &t.hidden)
        .with_architecture(t.architecture.clone())
        .with_latent(b.latent)
        .with_z2_symmetric(b.z2_symmetric);
    let cfg = match method {
        Method::NllLatentScaling => cfg.with_conditional(false),
        Method::VolumePreserving => {
            let mut c = cfg
                .with_conditional(false)
                .with_architecture(Architecture::VolumePreserving { clamp: 2.0 });
            c.blocks = b.vp_blocks;
            c
        }
        _ => cfg,
    };
    Rc::new(cfg.build(DType::F64, rng))
}

/// Trains `model` with `method` on `data` (at c₀) for `seed`; TRADE (grid) returns its state
/// (the E_c[A] table). The model is shared (`Rc`) because the energy-free variant's energy
/// reads it. With a `checkpoint` file, TRADE (grid) resumes from it and writes it.
pub fn train(
    method: Method,
    model: &Rc<ParamFlow>,
    fam: &Family,
    data: &Tensor,
    b: &Budget,
    seed: u64,
    checkpoint: Option<PathBuf>,
) -> Result<Option<TradeState>, ExperimentError> {
    let lc = b.training.loop_config(seed);
    let c0 = fam.c0();
    match method {
        Method::Trade => {
            let tc = TradeConfig {
                sampler: Sampler::Grid,
                ..b.trade.clone()
            };
            let (_, state) = match checkpoint {
                Some(path) => {
                    let spec = ResumeSpec {
                        path,
                        every: b.checkpoint_every,
                        stop_at: None,
                    };
                    fit_trade_resumable(model, fam, Some(data), &lc, &tc, &spec)
                }
                None => fit_trade(model, fam, Some(data), &lc, &tc),
            }
            .map_err(fail)?;
            return Ok(Some(state));
        }
        Method::TradeEnergyFree => {
            let tc = TradeConfig {
                sampler: Sampler::Grid,
                ..b.trade.clone()
            };
            let energy = ModelEnergy::new(model.clone(), c0);
            let (lo, hi) = fam.range();
            let own = Family::new(Box::new(energy), c0, lo, hi).map_err(fail)?;
            fit_trade(model, &own, Some(data), &lc, &tc).map_err(fail)?;
        }
        Method::TradeContinuous => {
            let tc = TradeConfig {
                sampler: Sampler::Continuous(b.continuous.clone()),
                ..b.trade.clone()
            };
            fit_trade(model, fam, Some(data), &lc, &tc).map_err(fail)?;
        }
        Method::ReverseKl => {
            fit_reverse_kl(model, fam, b.training.batch, &lc).map_err(fail)?;
        }
        Method::NllReverseKl => {
            fit_nll_reverse_kl(model, fam, data, b.training.batch, &b.nll_kl, &lc).map_err(fail)?;
        }
        Method::Reweight => {
            fit_reweight(model, fam, data, b.training.batch, &lc).map_err(fail)?;
        }
        Method::Nll | Method::NllLatentScaling | Method::VolumePreserving => {
            fit_nll(model, data, c0, b.training.batch, &lc).map_err(fail)?;
        }
    }
    Ok(None)
}

/// The claim, one row per (baseline, TRADE variant) at one parameter value: with `metric[m]`
/// the per-seed values (lower is better), pass when the baseline's mean exceeds TRADE's by
/// more than 2 standard errors of the difference of seed means, fail otherwise (the claim is
/// then not shown at this budget, whichever way the difference goes).
pub fn judge_pairs(table: &mut Table, methods: &[Method], metric: &[Vec<f64>]) {
    let n = metric.first().map_or(1, Vec::len) as f64;
    for (bi, &b) in methods.iter().enumerate().filter(|(_, m)| !m.is_trade()) {
        for (ti, &t) in methods.iter().enumerate().filter(|(_, m)| m.is_trade()) {
            let (bm, bsd) = mean_sd(&metric[bi]);
            let (tm, tsd) = mean_sd(&metric[ti]);
            let se = ((bsd * bsd + tsd * tsd) / n).sqrt();
            let diff = bm - tm;
            table.push(
                format!("{} − {} (difference of means)", b.label(), t.label()),
                diff,
                format!("> 2 SE = {:.3}", 2.0 * se),
                Verdict::check(diff > 2.0 * se),
            );
        }
    }
}

/// The rows of [`judge_pairs`] at one setting `at` (e.g. "T = 0.5"), each carrying the
/// per-method values `summary` in its text, so the values need no rows of their own.
pub fn judge_pairs_at(
    table: &mut Table,
    at: &str,
    summary: &str,
    methods: &[Method],
    metric: &[Vec<f64>],
) {
    let mut pairs = Table::new("", "", "");
    judge_pairs(&mut pairs, methods, metric);
    for row in pairs.rows {
        table.push(
            format!("{}, {at} ({summary})", row.setting),
            row.ours,
            row.paper,
            row.verdict,
        );
    }
}

/// `"label mean ± sd"` per method (`values[method][seed]`, shown as `scale · value` with
/// `digits` decimals), joined by "; ".
pub fn summarize(methods: &[Method], values: &[Vec<f64>], scale: f64, digits: usize) -> String {
    methods
        .iter()
        .zip(values)
        .map(|(m, v)| {
            let (mean, sd) = mean_sd(v);
            format!(
                "{} {:.digits$} ± {:.digits$}",
                m.label(),
                scale * mean,
                scale * sd
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where `t` lies relative to the trained interval (evaluation outside it is allowed).
pub fn range_flag(fam: &Family, t: f64) -> &'static str {
    if fam.in_range(t) {
        ""
    } else {
        " [outside the trained range: extrapolation]"
    }
}
