//! Three theory pages (flow-theory): whitening by coupling flows (arXiv 2210.14032),
//! Gaussianization layer scaling (2306.13520) and the spectral bias of ReLU networks
//! (1806.08734). The volume-preserving experiment of the universality paper (2402.06578) lives
//! with its page in `experiments::universality`.

pub(crate) mod common;
pub mod gaussianization;
pub mod spectral;
pub mod whitening;
mod whitening_trained;

pub use gaussianization::GaussianizationLayers;
pub use spectral::SpectralBiasExperiment;
pub use whitening::WhiteningDepth;
