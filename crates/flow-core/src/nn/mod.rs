//! Neural-network building blocks with named parameters and typed (serde) configs.

mod activation;
mod init;
mod linear;
mod mlp;
mod param;

pub use activation::Activation;
pub use init::Init;
pub use linear::{Linear, LinearConfig};
pub use mlp::{Mlp, MlpConfig, ResidualMlp, ResidualMlpConfig};
pub use param::{Module, Param, join_name, values};
