//! Free-form injective flows (FIF, arXiv 2306.01843), the experiments of the injective-flows
//! page: the sine manifold and 8×8 digits, the stable surrogate against naive maximum
//! likelihood, and the cost of a free-form step against a plain autoencoder step. They share
//! the network and training helpers of `experiments::free_form`.

pub mod fif_naive;
pub mod fif_naive_verdict;
pub mod fif_sine_digits;
pub mod step_time;

pub use fif_naive::FifNaiveVsStable;
pub use fif_sine_digits::FifManifolds;
pub use step_time::FffStepTime;
