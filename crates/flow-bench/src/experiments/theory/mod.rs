//! The four theory papers (flow-theory): whitening by coupling flows (arXiv 2210.14032),
//! Gaussianization layer scaling (2306.13520), volume-preserving limits and the universality
//! construction (2402.06578), and the spectral bias of ReLU networks (1806.08734).

mod common;
pub mod gaussianization;
pub mod spectral;
pub mod volume;
pub mod whitening;

pub use gaussianization::GaussianizationLayers;
pub use spectral::SpectralBiasExperiment;
pub use volume::VolumePreservingFloor;
pub use whitening::WhiteningDepth;
