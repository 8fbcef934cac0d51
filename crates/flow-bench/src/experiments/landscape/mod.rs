//! "Essentially No Barriers in Neural Network Energy Landscape" (arXiv 1803.00885):
//! AutoNEB on analytic surfaces with known saddles, and low-loss paths, the minimum spanning
//! tree and Hessian flat directions for small MLPs on the 8×8 digits (flow-landscape).

mod analytic;
mod common;
mod digits;
mod flatness;
mod pairs;
mod report;
#[cfg(test)]
mod tests;

pub use analytic::AnalyticSaddles;
pub use digits::DigitsPaths;
