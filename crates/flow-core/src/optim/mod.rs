//! Optimisers with explicit, checkpointable state; gradient clipping; learning-rate schedules.
//!
//! Usage pattern (one training step):
//! ```
//! use flow_core::{Tensor, DType, grad, nn::{MlpConfig, Module, values}, optim::{Adam, AdamConfig, Optimizer}};
//! use rand::SeedableRng;
//! let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
//! let net = MlpConfig::new(2, &[16], 1).build("net", DType::F64, &mut rng);
//! let params = net.parameters();
//! let mut opt = Adam::new(AdamConfig::new(1e-2));
//! let x = Tensor::randn(&[32, 2], DType::F64, &mut rng);
//! let loss0 = net.forward(&x).square().mean_all();
//! for _ in 0..50 {
//!     let loss = net.forward(&x).square().mean_all();
//!     let grads = grad(&loss, &values(&params).iter().collect::<Vec<_>>());
//!     opt.step(&params, &grads);
//! }
//! assert!(net.forward(&x).square().mean_all().item() < loss0.item());
//! ```

mod adam;
mod clip;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use clip::clip_grad_norm;
pub use schedule::{MomentumCycle, Schedule};
pub use sgd::{Sgd, SgdConfig};

use crate::io::{Checkpoint, CheckpointError};
use crate::nn::Param;
use crate::tensor::Tensor;

/// A first-order optimiser. State is keyed by parameter name.
pub trait Optimizer {
    /// Updates each parameter with its gradient (same order).
    ///
    /// # Panics
    /// If lengths, shapes or dtypes of `params` and `grads` differ.
    fn step(&mut self, params: &[Param], grads: &[Tensor]);
    /// The current learning rate.
    fn learning_rate(&self) -> f64;
    /// Sets the learning rate (schedules call this every step).
    fn set_learning_rate(&mut self, lr: f64);
    /// Sets the momentum (Adam's β₁, SGD's μ; a [`MomentumCycle`] calls this every step).
    fn set_momentum(&mut self, momentum: f64);
    /// Writes the state (moments, step count) into a checkpoint under `optim.*` names.
    fn save_state(&self, checkpoint: &mut Checkpoint);
    /// Restores the state written by [`Optimizer::save_state`].
    ///
    /// # Errors
    /// If an entry for one of `params` is missing or does not match its shape and dtype.
    fn load_state(
        &mut self,
        checkpoint: &Checkpoint,
        params: &[Param],
    ) -> Result<(), CheckpointError>;
}

pub(crate) fn check_step_inputs(op: &str, params: &[Param], grads: &[Tensor]) {
    assert_eq!(
        params.len(),
        grads.len(),
        "{op}: {} parameters but {} gradients",
        params.len(),
        grads.len()
    );
    for (p, g) in params.iter().zip(grads) {
        let v = p.get();
        assert!(
            v.shape() == g.shape() && v.dtype() == g.dtype(),
            "{op}: gradient {:?} {} does not match parameter {} {:?} {}",
            g.shape(),
            g.dtype(),
            p.name(),
            v.shape(),
            v.dtype()
        );
    }
}
