//! Coupling flows for the volume-preserving experiment, assembled from flow-coupling
//! (arXiv 2402.06578, Sec. 6 and App. C.2: GIN/NICE-style volume-preserving couplings plus a
//! final global `ScalingBlock`, against affine and spline couplings).

use flow_core::nn::{Activation, Module};
use flow_core::train::{StepRng, TrainConfig, TrainError, Trainer};
use flow_core::{DType, Tensor, no_grad};
use flow_coupling::{
    ActNorm, ActiveHalf, AdditiveCoupling, AffineCoupling, Bijection, FixedRotation, Flow,
    GlobalScale, SplineConfig, SplineCoupling, SubnetConfig, VolumePreserving,
};
use nalgebra::DMatrix;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Which coupling the flow stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowKind {
    /// Additive (NICE) couplings and one global scale: `log|det J|` is the same constant for
    /// every input (arXiv 2402.06578, Sec. 4).
    VolumePreserving,
    /// Affine couplings with soft-clamped log-scales (RealNVP).
    Affine,
    /// Rational-quadratic spline couplings (8 bins on [−3, 3]).
    Spline,
}

impl FlowKind {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            FlowKind::VolumePreserving => "volume-preserving",
            FlowKind::Affine => "affine",
            FlowKind::Spline => "spline",
        }
    }
}

/// `blocks × [fixed Haar rotation → coupling]`, then a final [`GlobalScale`] for
/// [`FlowKind::VolumePreserving`] or an identity-initialised [`ActNorm`] otherwise. Subnets are ReLU MLPs with the given hidden widths.
///
/// # Panics
/// If `dim < 2`.
pub fn build_flow<R: Rng + ?Sized>(
    kind: FlowKind,
    dim: usize,
    blocks: usize,
    hidden: &[usize],
    dtype: DType,
    rng: &mut R,
) -> Flow {
    let subnet = SubnetConfig::new(hidden).with_activation(Activation::Relu);
    let mut layers: Vec<Box<dyn Bijection>> = Vec::new();
    for b in 0..blocks {
        let name = format!("layers.{}", layers.len());
        layers.push(Box::new(FixedRotation::random(&name, dim, dtype, rng)));
        let name = format!("layers.{}", layers.len());
        let active = ActiveHalf::alternating(b);
        layers.push(match kind {
            FlowKind::VolumePreserving => Box::new(AdditiveCoupling::new(
                &name,
                VolumePreserving::Shift,
                dim,
                active,
                &subnet,
                None,
                dtype,
                rng,
            )),
            FlowKind::Affine => Box::new(AffineCoupling::new(
                &name, 2.0, dim, active, &subnet, None, dtype, rng,
            )),
            FlowKind::Spline => Box::new(SplineCoupling::new(
                &name,
                SplineConfig::new(8, 3.0),
                dim,
                active,
                &subnet,
                None,
                dtype,
                rng,
            )),
        });
    }
    let name = format!("layers.{}", layers.len());
    if kind == FlowKind::VolumePreserving {
        layers.push(Box::new(GlobalScale::new(&name, dim, 0.0, dtype)));
    } else {
        // A final learnable per-feature scale and shift (identity at start): the passive
        // rescaling `r` of the optimal block of arXiv 2210.14032, Sec. 4.
        layers.push(Box::new(ActNorm::new(&name, dim, dtype)));
    }
    Flow::new(dim, dtype, layers)
}

/// Maximum likelihood on the workspace's training loop ([`flow_core::train`]): step `s`
/// draws a batch with `sample(batch, rng)` from its own stream `step_rng(config.seed, s)` and
/// minimises `−mean log p(x)`. Returns the loss per step.
///
/// # Errors
/// [`TrainError::NonFinite`] at the first non-finite loss or gradient (the flow keeps the
/// parameters from before that step), as the config's policy says.
pub fn train_nll(
    flow: &Flow,
    mut sample: impl FnMut(usize, &mut StepRng) -> Tensor,
    config: TrainConfig,
    batch: usize,
) -> Result<Vec<f64>, TrainError> {
    let mut trainer = Trainer::new(flow.parameters(), config);
    let report = trainer.fit(|_, rng| {
        let x = sample(batch, rng);
        flow.log_prob(&x, None).mean_all().neg()
    })?;
    Ok(report.curves.loss)
}

/// Mean `−log p(x)` over the rows of `x`, in chunks, without recording gradients.
pub fn mean_nll(flow: &Flow, x: &Tensor, chunk: usize) -> f64 {
    let n = x.dim(0);
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let part = x.narrow(0, start, len);
        total -= no_grad(|| flow.log_prob(&part, None)).sum_all().item();
        start += len;
    }
    total / n as f64
}

/// The latent `z = f(x)` of the rows of `x`, without recording gradients.
pub fn latent(flow: &Flow, x: &Tensor) -> Tensor {
    no_grad(|| flow.forward(x, None))
}

/// The matrix `M` of a linear layer `z = M x` of `flow` (for [`build_flow`], layer `2b` is the
/// fixed Haar rotation `Q_b` of block `b`), read off by pushing the identity through it: the
/// rows of the output are `f(e_i)ᵀ = (M e_i)ᵀ`, so the output is `Mᵀ`. Lets covariance-level
/// predictions use a trained flow's own rotations (arXiv 2210.14032, Sec. 4).
///
/// # Panics
/// If `layer` is out of range.
pub fn linear_layer_matrix(flow: &Flow, layer: usize) -> DMatrix<f64> {
    let d = flow.layers()[layer].dim();
    let eye = Tensor::eye(d, flow.dtype());
    let out = no_grad(|| flow.layers()[layer].forward(&eye, None));
    DMatrix::from_row_slice(d, d, &out.to_vec_f64()).transpose()
}
