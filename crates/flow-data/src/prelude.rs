//! One import for users of the data sets and targets: flow-core's prelude plus the toy
//! densities, energies and metrics.

pub use flow_core::prelude::*;

pub use crate::energy::Energy;
pub use crate::metrics::reverse_ess;
pub use crate::toy::Toy2d;
