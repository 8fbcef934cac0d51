//! One import for users of coupling flows: flow-core's prelude (tensors, densities, the RNG,
//! seeding) plus this crate's flows, configs and training. Coupling's own [`TrainConfig`] and
//! [`Trainer`] take precedence over the engine's of the same name.

pub use flow_core::prelude::*;

pub use crate::train::nll::{Dataset, evaluate_nll, nll_loss, train_nll};
pub use crate::{
    Bijection, Flow, FlowConfig, GlowConfig, ModelSpec, NsfConfig, RealNvpConfig, TrainConfig,
    Trainer, load_model, save_model,
};
