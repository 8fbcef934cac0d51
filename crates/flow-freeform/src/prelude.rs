//! One import for users of free-form flows: flow-core's prelude (tensors, densities, the
//! RNG, seeding) plus this crate's models, losses and training. Free-form's own
//! [`TrainConfig`] and [`Trainer`] take precedence over the engine's of the same name.

pub use flow_core::prelude::*;

pub use crate::{
    FffLossConfig, FreeFormFlow, JacobianSide, Latent, ModelSpec, NetConfig, ResNetConfig,
    TrainConfig, Trainer, exact_log_prob, fff_loss, load_model, save_model,
};
