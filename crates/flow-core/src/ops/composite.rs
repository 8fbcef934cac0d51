//! Functions composed from primitives (so every derivative order works without new rules).

use crate::tensor::Tensor;

impl Tensor {
    /// `ln Σ exp(x)` over `axis`, stabilised by subtracting the (constant) maximum.
    ///
    /// ```
    /// use flow_core::Tensor;
    /// let x = Tensor::from_slice(&[1000.0f64, 1000.0], &[1, 2]);
    /// let l = x.logsumexp(1, false);
    /// assert!((l.item() - (1000.0 + 2f64.ln())).abs() < 1e-9);
    /// ```
    pub fn logsumexp(&self, axis: usize, keep_dim: bool) -> Tensor {
        let m = self.max_axis(axis, true).detach();
        let m = Tensor::where_cond(
            &m.map_values(|v| if v.is_finite() { 1.0 } else { 0.0 }),
            &m,
            &m.zeros_like(),
        );
        let s = self.sub(&m).exp().sum_axis(axis, true).log().add(&m);
        if keep_dim { s } else { s.squeeze(axis) }
    }

    /// Softmax over `axis`.
    pub fn softmax(&self, axis: usize) -> Tensor {
        self.log_softmax(axis).exp()
    }

    /// Log-softmax over `axis`: `x − logsumexp(x)`.
    pub fn log_softmax(&self, axis: usize) -> Tensor {
        self.sub(&self.logsumexp(axis, true))
    }

    /// Euclidean norm over `axis` (its gradient is undefined at 0; add a small constant
    /// inside the square root where that can happen, see [`Tensor::norm_eps`]).
    pub fn norm(&self, axis: usize, keep_dim: bool) -> Tensor {
        self.square().sum_axis(axis, keep_dim).sqrt()
    }

    /// `sqrt(Σ x² + eps)` over `axis`: a norm with a finite gradient everywhere.
    pub fn norm_eps(&self, axis: usize, keep_dim: bool, eps: f64) -> Tensor {
        self.square()
            .sum_axis(axis, keep_dim)
            .add_scalar(eps)
            .sqrt()
    }

    /// Population variance over `axis`.
    pub fn var_axis(&self, axis: usize, keep_dim: bool) -> Tensor {
        let mean = self.mean_axis(axis, true);
        self.sub(&mean).square().mean_axis(axis, keep_dim)
    }

    /// Sum over all axes except the first: `[b, ...] → [b]` (per-sample sums, e.g. of
    /// log-densities over dimensions).
    pub fn sum_per_sample(&self) -> Tensor {
        self.flatten_batch().sum_axis(1, false)
    }
}
