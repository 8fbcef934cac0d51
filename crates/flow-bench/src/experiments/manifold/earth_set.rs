//! One Earth set of `mfff-earth`: trained (resuming from its checkpoint) or, when the preset
//! names a stored checkpoint for it, loaded without training; then evaluated on the official
//! test split. The result is stored in the page's work folder ([`RunStore`]) as soon as the
//! set finishes, so a rerun of the page (after a timeout, say) reuses every finished set and
//! resumes the unfinished one from its checkpoint.

use std::path::Path;

use flow_core::Tensor;
use flow_manifold::{
    BaseSpec, EarthSet, ManifoldSpec, MfffLossConfig, Side, TrainedCheckpoint, load_earth,
    load_trained, split_official, train_mfff,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::common::{
    Model, SideGap, build_flow, density_map, failed, mean_se, side_gap, train_config_at,
};
use super::earth::EarthPreset;
use super::sphere_mass::{SphereMass, sphere_mass};
use crate::context::RunContext;
use crate::experiment::ExperimentError;
use crate::experiments::run_store::RunStore;

/// A stored checkpoint to evaluate for one set instead of training it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetCheckpoint {
    /// The set.
    pub set: EarthSet,
    /// The training checkpoint (a `{Set}.safetensors` that `mfff-earth` writes in its work
    /// folder; copy it first if a run is still writing it).
    pub path: String,
}

/// Where the evaluated parameters come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) enum Provenance {
    /// Trained by this page (`steps` done, resumed runs included).
    Trained {
        /// Steps done.
        steps: u64,
        /// Training seconds, resumed runs included.
        seconds: f64,
        /// Non-finite steps skipped.
        skipped: usize,
        /// `(step, value)` of the best validation NLL (its parameters are evaluated).
        best: Option<(u64, f64)>,
    },
    /// Loaded from a stored checkpoint without training.
    Loaded {
        /// The file.
        path: String,
        /// What it records.
        checkpoint: TrainedCheckpoint,
    },
}

/// The measured outcome of one set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SetResult {
    /// Rows of the official split: train, validation, test.
    pub rows: (usize, usize, usize),
    /// Exact decoder-side test NLL: mean and standard error.
    pub nll: (f64, f64),
    /// ∫ p dA on the preset's equal-area grid.
    pub mass: f64,
    /// ∫ p dA of the encoder side and of the base on the same grid.
    pub masses: SphereMass,
    /// Mean decoder-side test reconstruction.
    pub reconstruction: f64,
    /// The encoder − decoder gap on the test points.
    pub gap: SideGap,
    /// The density on the grid (for the map).
    pub density: Vec<f64>,
    /// Trained here or loaded.
    pub provenance: Provenance,
}

/// The stored result of set `set` (the `i`-th of the preset), or its run's, which is then
/// stored.
pub(super) fn run_set(
    ctx: &RunContext,
    p: &EarthPreset,
    i: usize,
    set: EarthSet,
) -> Result<SetResult, ExperimentError> {
    let source = p.checkpoints.iter().find(|c| c.set == set);
    RunStore::cached(ctx, set.label(), |checkpoint| {
        let mut rng = ctx.rng(i as u64);
        let data = load_earth(set).map_err(failed)?;
        let (train, val, test) = split_official(&data, p.split_seed);
        let flow = build_flow(
            ManifoldSpec::Sphere { n: 2 },
            &p.net,
            BaseSpec::VmfMixture { modes: p.modes },
            &mut rng,
        );
        let provenance = match source {
            Some(c) => Provenance::Loaded {
                checkpoint: load_trained(&flow, Path::new(&c.path)).map_err(|e| {
                    failed(format!(
                        "{}: loading the checkpoint {}: {e}",
                        set.label(),
                        c.path
                    ))
                })?,
                path: c.path.clone(),
            },
            None => {
                let loss = MfffLossConfig::new(p.beta_r)
                    .with_beta_u(p.beta_u)
                    .with_beta_p(p.beta_p)
                    .with_noise(p.noise.of(set))
                    .with_scale(p.scale);
                let mut config = train_config_at(&p.net, checkpoint, 1 + i as u64)?;
                if p.validate_every > 0 {
                    config = config.with_validation(p.validate_every, None);
                }
                let validation = (p.validate_every > 0).then_some(&val);
                let report = train_mfff(&flow, &train, validation, p.net.batch, &loss, config)
                    .map_err(failed)?;
                Provenance::Trained {
                    steps: report.steps,
                    seconds: report.total_seconds,
                    skipped: report.curves.skipped.len(),
                    best: report.best,
                }
            }
        };
        let rows = (train.dim(0), val.dim(0), test.dim(0));
        Ok(evaluate(&flow, &test, p.grid, rows, provenance, &mut rng))
    })
}

/// The test NLL, the density map and its mass, and the encoder − decoder gap of `flow`.
fn evaluate(
    flow: &Model,
    test: &Tensor,
    (nx, ny): (usize, usize),
    rows: (usize, usize, usize),
    provenance: Provenance,
    rng: &mut dyn Rng,
) -> SetResult {
    let e = flow.exact(test, Side::Decoder, rng);
    let nll: Vec<f64> = e.log_prob.to_vec_f64().iter().map(|l| -l).collect();
    let (density, mass) = density_map(flow, nx, ny, rng);
    SetResult {
        rows,
        nll: mean_se(&nll),
        mass,
        masses: sphere_mass(flow, nx, ny, rng),
        reconstruction: e.mean_reconstruction(),
        gap: side_gap(flow, test, &e.log_prob, rng),
        density,
        provenance,
    }
}

impl SetResult {
    /// A label suffix stating where the parameters come from when they were not trained by
    /// this page for its full budget.
    pub(super) fn budget_label(&self, preset_steps: u64) -> String {
        match &self.provenance {
            Provenance::Trained { .. } => String::new(),
            Provenance::Loaded { checkpoint: c, .. } => {
                let of = c.of.map_or("?".to_string(), |s| s.to_string());
                let partial = if c.finished() { "" } else { "partial run, " };
                let other = match c.of {
                    Some(s) if s != preset_steps => {
                        format!("; this preset: {preset_steps} steps")
                    }
                    _ => String::new(),
                };
                format!(
                    " [{partial}stored checkpoint at step {} of {of}{other}]",
                    c.step
                )
            }
        }
    }

    /// The page's note on this set's run.
    pub(super) fn note(&self, set: EarthSet, p: &EarthPreset) -> String {
        let (train, val, test) = self.rows;
        let run = match &self.provenance {
            Provenance::Trained {
                steps,
                seconds,
                skipped,
                best,
            } => format!(
                "{steps} steps in {seconds:.1} s (CPU shared with other jobs), {skipped} non-finite steps skipped{}",
                best.map_or(String::new(), |(s, v)| format!(
                    ", best validation NLL {v:.3} at step {s}"
                ))
            ),
            Provenance::Loaded { path, checkpoint: c } => format!(
                "not trained by this page: parameters loaded from the stored checkpoint {path} (step {} of {}{}{}), built with this preset's architecture (the training settings stated below are this preset's, not necessarily those of the stored run)",
                c.step,
                c.of.map_or("?".to_string(), |s| s.to_string()),
                c.best.map_or(", its last parameters".to_string(), |(s, v)| format!(
                    ", its best validation NLL {v:.3} at step {s}, whose parameters are evaluated"
                )),
                c.seconds
                    .map_or(String::new(), |s| format!(", {s:.0} s of training"))
            ),
        };
        format!(
            "{}: {train} train / {val} validation / {test} test rows (the official split: numpy's default_rng({}).permutation, then 80/10/10), noise σ = {} re-projected onto S², {run}.",
            set.label(),
            p.split_seed,
            p.noise.of(set),
        )
    }
}
