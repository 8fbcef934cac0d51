//! Spectral bias of ReLU networks (Rahaman et al., ICML 2019, arXiv 1806.08734).
//!
//! [`relu1d`] turns a 1-D ReLU network into its exact piecewise-linear form and integrates its
//! Fourier coefficients exactly (Sec. 2); [`spectrum`] computes numerical spectra with rustfft;
//! [`learning`] trains networks on sums of sines and records which frequencies are learned
//! when (Sec. 3), along curves of growing complexity (Sec. 4) and under parameter
//! perturbation (Sec. 3, robustness).

pub mod learning;
pub mod relu1d;
pub mod spectrum;

pub use learning::{
    LearningOrderConfig, LearningTrace, ManifoldConfig, RobustnessConfig, SineTarget, curve_points,
    first_crossing, perturbation_robustness, train_learning_order, train_on_curve,
};
pub use relu1d::{PiecewiseLinear, ReluNet1d};
pub use spectrum::{amplitude_spectrum, dft, octave_envelope_slope};
