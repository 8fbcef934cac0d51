//! Evaluation metrics: effective sample sizes, the classifier two-sample test, KL with a known normaliser, log Z and
//! free-energy estimates, NLL conventions, Wasserstein distances and histograms.
//! All take plain `f64` slices or `[n, d]` tensors and return `f64`.

mod c2st;
mod ess;
mod estimators;
mod histogram;
mod wasserstein;

pub use c2st::{C2stConfig, c2st};
pub use ess::{forward_ess, reverse_ess};
pub use estimators::{
    fep_delta_log_z, forward_kl_known_z, log_z_importance, nll_bgflow_to_normalised,
    reverse_kl_known_z,
};
pub use histogram::{Histogram, histogram_kl};
pub use wasserstein::{sliced_wasserstein, wasserstein2_exact};
