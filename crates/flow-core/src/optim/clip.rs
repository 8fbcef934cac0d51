//! Gradient-norm clipping.

use crate::autodiff::no_grad;
use crate::tensor::Tensor;

/// Scales `grads` so that their joint Euclidean norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`). Returns the clipped gradients and the norm before clipping; a
/// non-finite norm is returned as is (callers stop training on it) with unchanged gradients.
///
/// ```
/// use flow_core::{Tensor, optim::clip_grad_norm};
/// let g = vec![Tensor::from_slice(&[3.0f64, 4.0], &[2])];
/// let (clipped, norm) = clip_grad_norm(&g, 1.0);
/// assert_eq!(norm, 5.0);
/// assert!((clipped[0].to_vec_f64()[0] - 0.6).abs() < 1e-6);
/// ```
pub fn clip_grad_norm(grads: &[Tensor], max_norm: f64) -> (Vec<Tensor>, f64) {
    let norm = grads
        .iter()
        .map(|g| g.data().sum_of_squares())
        .sum::<f64>()
        .sqrt();
    if !norm.is_finite() || norm <= max_norm {
        return (grads.to_vec(), norm);
    }
    let scale = max_norm / (norm + 1e-6);
    let clipped = no_grad(|| grads.iter().map(|g| g.detach().mul_scalar(scale)).collect());
    (clipped, norm)
}
