//! Spectral bias of ReLU networks (Rahaman et al., ICML 2019, arXiv 1806.08734).
//!
//! [`relu1d`] turns a 1-D ReLU network into its exact piecewise-linear form and integrates its
//! Fourier coefficients exactly (Sec. 2); [`spectrum`] computes numerical spectra with rustfft;
//! [`learning`] trains networks on sums of sines and records which frequencies are learned
//! when (Sec. 3), along curves of growing complexity (Sec. 4) and under parameter
//! perturbation ([`robustness`], Sec. 3).

pub mod learning;
pub mod relu1d;
pub mod robustness;
pub mod spectrum;

pub use learning::{
    LearningOrderConfig, LearningTrace, ManifoldConfig, SineTarget, curve_points, first_crossing,
    train_learning_order, train_on_curve, train_until_learned,
};
pub use relu1d::{PiecewiseLinear, ReluNet1d};
pub use robustness::{Robustness, RobustnessConfig, perturbation_robustness};
pub use spectrum::{amplitude_spectrum, dft, octave_envelope_slope};
