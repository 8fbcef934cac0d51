//! The initial scale of a conditional flow's subnets.
//!
//! flow-core's default initialiser is PyTorch's `U(−1/√fan_in, 1/√fan_in)`, and a conditional
//! coupling's first subnet layer has `fan_in = passive + condition features`. Left as is, the
//! weights on the passive half `x` start smaller by `√((passive + features)/passive)` than in
//! the same flow without the condition: √2 in 2-D, where the passive half is one coordinate.
//! That made every conditional method (TRADE and the conditional baselines) fit worse at
//! `c₀`, where the condition `log c₀ = 0` contributes nothing, than the unconditional
//! baselines: on the GMM-6 (4 affine blocks of [32, 32], 2000 steps, 3 seeds), NLL at T = 1
//! of the conditional flow reached a forward KL of 0.66 nats against 0.44 for the same flow
//! without the condition, and 0.41–0.46 once the passive weights were rescaled
//! (`examples/trade_diagnose.rs`, `rescale=1`). The paper's subnets (Xavier-normal, `trade.md`
//! §2.2) barely depend on the input width, so the fair comparison rescales.

use flow_core::Tensor;
use flow_core::nn::{Module, Param};

/// Rescales the first layer of every coupling subnet of `module` (weights `[out, in]` named
/// `…subnet.layers.0.weight`, and its bias) so that the columns of the passive inputs
/// (all but the last `features`) and the bias have the scale of an unconditional subnet:
/// factor `√(in / (in − features))`. The condition's own columns are left as they are.
///
/// # Panics
/// If a first layer has no more inputs than `features`.
pub fn match_unconditional_init(module: &dyn Module, features: usize) {
    let params = module.parameters();
    for w in params
        .iter()
        .filter(|p| p.name().ends_with("subnet.layers.0.weight"))
    {
        let (rows, cols) = (w.shape()[0], w.shape()[1]);
        assert!(
            cols > features,
            "match_unconditional_init: {} has {cols} inputs, condition {features}",
            w.name()
        );
        let passive = cols - features;
        let f = (cols as f64 / passive as f64).sqrt();
        let scale: Vec<f64> = (0..rows * cols)
            .map(|k| if k % cols < passive { f } else { 1.0 })
            .collect();
        let v = w.get();
        w.set(v.mul(&Tensor::from_vec(scale, &[rows, cols]).to_dtype(v.dtype())));
        let bias_name = w.name().replace("weight", "bias");
        if let Some(b) = params.iter().find(|p| p.name() == bias_name) {
            b.set(b.get().mul_scalar(f));
        }
    }
}

/// Per first subnet layer of `module`, `√passive · max |w|` over its passive columns
/// (`features` condition columns excluded): 1 is the bound of `U(−1/√passive, 1/√passive)`.
/// Returns the smallest and the largest value over the layers.
pub fn passive_weight_extent(module: &dyn Module, features: usize) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for w in module
        .parameters()
        .iter()
        .filter(|p: &&Param| p.name().ends_with("subnet.layers.0.weight"))
    {
        let cols = w.shape()[1];
        let passive = cols - features;
        let max = w
            .get()
            .to_vec_f64()
            .iter()
            .enumerate()
            .filter(|(k, _)| k % cols < passive)
            .fold(0.0f64, |m, (_, v)| m.max(v.abs()));
        let r = max * (passive as f64).sqrt();
        (lo, hi) = (lo.min(r), hi.max(r));
    }
    (lo, hi)
}
