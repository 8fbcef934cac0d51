//! Pieces shared by the coupling experiments: model choice, sizes, chunked training and
//! density grids.

use flow_core::{DType, Tensor, no_grad};
use flow_coupling::{Flow, NsfConfig, RealNvpConfig, SplineConfig, Trainer};
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::ExperimentError;

/// Which coupling flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CouplingModel {
    /// RealNVP: ActNorm + affine couplings, alternating halves.
    RealNvp,
    /// Neural spline flow: ActNorm + RQ-spline couplings + LU linear layers.
    Nsf,
}

/// Model size shared by the fits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSize {
    /// Coupling blocks of RealNVP.
    pub realnvp_blocks: usize,
    /// Coupling blocks of NSF.
    pub nsf_blocks: usize,
    /// Hidden widths of the subnets.
    pub hidden: Vec<usize>,
    /// Spline bins.
    pub bins: usize,
}

impl ModelSize {
    pub(crate) fn build(&self, model: CouplingModel, seed: u64) -> Flow {
        let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(seed);
        match model {
            CouplingModel::RealNvp => RealNvpConfig::new(2)
                .with_blocks(self.realnvp_blocks)
                .with_hidden(&self.hidden)
                .build(DType::F32, &mut rng),
            CouplingModel::Nsf => NsfConfig::new(2)
                .with_blocks(self.nsf_blocks)
                .with_hidden(&self.hidden)
                .with_spline(SplineConfig::new(self.bins, 4.0))
                .build(DType::F32, &mut rng),
        }
    }
}

/// Trains in chunks so that Ctrl-C is honoured; returns the training wall time in seconds.
pub(crate) fn train_chunked(
    ctx: &RunContext,
    trainer: &mut Trainer<'_>,
    steps: u64,
    mut run: impl FnMut(&mut Trainer<'_>, u64) -> Result<(), flow_coupling::TrainError>,
) -> Result<f64, ExperimentError> {
    let start = std::time::Instant::now();
    let chunk = (steps / 20).max(1);
    while trainer.step() < steps {
        let until = (trainer.step() + chunk).min(steps);
        run(trainer, until).map_err(|e| ExperimentError::Failed(e.to_string()))?;
        ctx.check_cancelled()?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// `q(x)` on the cell centres of an `n × n` grid (row 0 at the bottom).
pub(crate) fn flow_density_grid(
    flow: &Flow,
    ((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)),
    n: usize,
) -> Vec<f64> {
    let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
    let pts: Vec<f64> = (0..n * n)
        .flat_map(|i| {
            [
                x0 + (i % n) as f64 * dx + dx / 2.0,
                y0 + (i / n) as f64 * dy + dy / 2.0,
            ]
        })
        .collect();
    no_grad(|| {
        let x = Tensor::from_vec(pts, &[n * n, 2]).to_dtype(flow.dtype());
        flow.log_prob(&x, None)
            .to_vec_f64()
            .into_iter()
            .map(f64::exp)
            .collect()
    })
}

pub(crate) fn model_name(m: CouplingModel) -> &'static str {
    match m {
        CouplingModel::RealNvp => "realnvp",
        CouplingModel::Nsf => "nsf",
    }
}
