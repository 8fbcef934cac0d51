//! The trained half of `whitening-depth` (arXiv 2210.14032, Sec. 4 and Fig. 3): affine-coupling
//! flows of each depth L on N(0, Σ) and on standardised digits. The depths share the
//! `flow_core::parallel` threads, depth `k` drawing everything from `chunk_rng(seed, k)`, so the
//! results are the same at any thread count.

use flow_core::train::TrainConfig;
use flow_core::{DType, Tensor, parallel};
use flow_theory::linalg::{empirical_moments, gaussian_matrix};
use flow_theory::nalgebra::{DMatrix, DVector};
use flow_theory::volume::{
    Flow, FlowKind, build_flow, latent, linear_layer_matrix, mean_nll, train_nll,
};
use flow_theory::whitening::{non_standardness, optimal_linear_block};
use rand::Rng;
use rand::rngs::Xoshiro256PlusPlus;

use super::whitening::WhiteningPreset;
use crate::experiment::ExperimentError;

/// Rows of `x` as an f32 tensor.
pub(super) fn to_tensor(x: &DMatrix<f64>) -> Tensor {
    Tensor::from_vec(x.transpose().as_slice().to_vec(), &[x.nrows(), x.ncols()])
        .to_dtype(DType::F32)
}

/// S of the latent of `flow` on the rows of `x`: `½(‖m‖² + tr Σ − D − log det Σ)`.
fn latent_s(flow: &Flow, x: &Tensor) -> f64 {
    let z = latent(flow, x);
    let zm = DMatrix::from_row_slice(z.dim(0), z.dim(1), &z.to_vec_f64());
    let (m, c) = empirical_moments(&zm);
    non_standardness(&m, &c)
}

/// What the trained flows of one depth measured.
#[derive(Clone, Copy, Debug)]
pub(super) struct DepthResult {
    /// S of the latent of the flow trained on N(0, Σ), on the test samples.
    pub s_gauss: f64,
    /// For L = 1: S after the optimal linear block with the flow's own rotation (exact).
    pub l1_prediction: Option<f64>,
    /// S of the latent of the flow trained on the digits.
    pub s_digits: f64,
    /// Its mean NLL on the digits (train set).
    pub nll_digits: f64,
}

/// The data every depth reads: the Gaussian's covariance and Cholesky factor, its test
/// samples, and the digits as rows (tensors cannot cross threads).
pub(super) struct TrainedData<'a> {
    pub cov: &'a DMatrix<f64>,
    pub chol: &'a DMatrix<f64>,
    pub test: &'a DMatrix<f64>,
    pub digits: &'a DMatrix<f64>,
}

/// Trains both flows of every depth of the preset, one depth per parallel chunk.
///
/// # Errors
/// [`ExperimentError::Failed`] if a training diverges.
pub(super) fn train_depths(
    p: &WhiteningPreset,
    data: &TrainedData,
    seed: u64,
) -> Result<Vec<DepthResult>, ExperimentError> {
    parallel::map_chunks(p.trained_depths.len(), 1, |k, _| {
        train_depth(p, data, p.trained_depths[k], parallel::chunk_rng(seed, k))
    })
    .into_iter()
    .collect::<Result<Vec<_>, String>>()
    .map_err(ExperimentError::Failed)
}

fn train_depth(
    p: &WhiteningPreset,
    data: &TrainedData,
    l: usize,
    mut rng: Xoshiro256PlusPlus,
) -> Result<DepthResult, String> {
    let d = p.trained_dim;
    let flow = build_flow(FlowKind::Affine, d, l, &p.hidden, DType::F32, &mut rng);
    train_nll(
        &flow,
        |n, r: &mut Xoshiro256PlusPlus| {
            to_tensor(&(gaussian_matrix(n, d, r) * data.chol.transpose()))
        },
        TrainConfig::new(p.train_steps as u64, p.lr).with_seed(rng.next_u64()),
        p.batch,
    )
    .map_err(|e| format!("L = {l}, Gaussian data: {e}"))?;
    let s_gauss = latent_s(&flow, &to_tensor(data.test));
    // Exact for L = 1: rotation Q (layer 0), one coupling (active = second half), ActNorm.
    let l1_prediction = (l == 1).then(|| {
        let q = linear_layer_matrix(&flow, 0);
        let out = optimal_linear_block(data.cov, &q, d - d / 2);
        non_standardness(&DVector::zeros(d), &out)
    });
    let xd = to_tensor(data.digits);
    let flow = build_flow(
        FlowKind::Affine,
        xd.dim(1),
        l,
        &p.digits_hidden,
        DType::F32,
        &mut rng,
    );
    let n = xd.dim(0);
    train_nll(
        &flow,
        |b, r: &mut Xoshiro256PlusPlus| {
            let idx: Vec<usize> = (0..b)
                .map(|_| rand::RngExt::random_range(r, 0..n))
                .collect();
            xd.index_select(0, &idx)
        },
        TrainConfig::new(p.train_steps as u64, p.lr).with_seed(rng.next_u64()),
        p.batch,
    )
    .map_err(|e| format!("L = {l}, digits: {e}"))?;
    Ok(DepthResult {
        s_gauss,
        l1_prediction,
        s_digits: latent_s(&flow, &xd),
        nll_digits: mean_nll(&flow, &xd, 512),
    })
}
