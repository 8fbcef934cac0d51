//! What most users of the workspace need, in one import: `use flow_core::prelude::*;`
//! (every crate of the workspace re-exports it from its own prelude, so one dependency is
//! enough).
//!
//! ```
//! use flow_core::prelude::*;
//! let mut rng = FlowRng::seed_from_u64(0);
//! let x = Tensor::randn(&[4, 2], DType::F64, &mut rng);
//! let base = BaseConfig::StandardNormal.build(2, DType::F64, &mut rng);
//! assert_eq!(base.log_prob(&x, None).shape(), &[4]);
//! ```

pub use crate::distributions::{Base, BaseConfig, Density};
pub use crate::nn::{Module, Param};
pub use crate::optim::Schedule;
pub use crate::train::{
    FitConfig, NonFinitePolicy, StepLoss, TrainConfig, TrainError, TrainReport, Trainer,
    fit_to_data,
};
pub use crate::{DType, Tensor, grad, grad_with_graph, jvp, no_grad};
pub use rand::{RngExt, SeedableRng};

/// The random-number generator the workspace uses everywhere (seed it with
/// [`SeedableRng::seed_from_u64`]).
pub type FlowRng = rand::rngs::Xoshiro256PlusPlus;
