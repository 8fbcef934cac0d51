//! Isotropic Gaussian mixtures in 2-D, including "curve mixtures": a point drawn on a curve
//! and blurred by N(0, σ²I). Their densities are 1-D integrals along the curve, evaluated by
//! quadrature as a finite mixture, so the log-density is differentiable through flow-core.

use std::f64::consts::PI;

use flow_core::Tensor;

/// `p(x) = Σ_k w_k N(x; μ_k, σ²I)` in 2-D with log-weights `log w_k` (summing to one).
#[derive(Clone, Debug)]
pub struct IsoGaussianMixture2d {
    /// Component means `μ_k`.
    pub centers: Vec<[f64; 2]>,
    /// Log-weights `log w_k`; `logsumexp = 0`.
    pub log_weights: Vec<f64>,
    /// Common standard deviation σ > 0.
    pub sigma: f64,
}

impl IsoGaussianMixture2d {
    /// A mixture with equal weights.
    ///
    /// # Panics
    /// If `centers` is empty or `sigma ≤ 0`.
    pub fn equal_weights(centers: Vec<[f64; 2]>, sigma: f64) -> Self {
        assert!(
            !centers.is_empty() && sigma > 0.0,
            "IsoGaussianMixture2d: bad parameters"
        );
        let lw = -(centers.len() as f64).ln();
        let log_weights = vec![lw; centers.len()];
        Self {
            centers,
            log_weights,
            sigma,
        }
    }

    /// The quadrature mixture of a curve `c(t)`, `t ∈ [t0, t1]` with density `p_t(t)`
    /// (normalised), blurred by σ: `p(x) = ∫ p_t(t) N(x; c(t), σ²I) dt`, approximated with
    /// composite Simpson on `2·half_intervals + 1` nodes (error `O(h⁴ / σ⁴)` relative).
    pub fn from_curve(
        curve: impl Fn(f64) -> [f64; 2],
        density: impl Fn(f64) -> f64,
        (t0, t1): (f64, f64),
        half_intervals: usize,
        sigma: f64,
    ) -> Self {
        let m = 2 * half_intervals;
        let h = (t1 - t0) / m as f64;
        let mut centers = Vec::with_capacity(m + 1);
        let mut log_weights = Vec::with_capacity(m + 1);
        for i in 0..=m {
            let t = t0 + h * i as f64;
            let simpson = if i == 0 || i == m {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let w = simpson * h / 3.0 * density(t);
            if w > 0.0 {
                centers.push(curve(t));
                log_weights.push(w.ln());
            }
        }
        Self {
            centers,
            log_weights,
            sigma,
        }
    }

    /// Concatenates mixtures with mixing weights `π_j` (which must sum to one); all must share σ.
    ///
    /// # Panics
    /// If the σ differ.
    pub fn combine(parts: &[(f64, IsoGaussianMixture2d)]) -> Self {
        let sigma = parts[0].1.sigma;
        let mut centers = Vec::new();
        let mut log_weights = Vec::new();
        for (pi, part) in parts {
            assert!((part.sigma - sigma).abs() < 1e-15, "combine: σ must agree");
            centers.extend_from_slice(&part.centers);
            log_weights.extend(part.log_weights.iter().map(|lw| lw + pi.ln()));
        }
        Self {
            centers,
            log_weights,
            sigma,
        }
    }

    /// `log p(x)` for `x` of shape `[batch, 2]`, differentiable in `x`; returns `[batch]`.
    /// Cost `O(batch · components)`.
    ///
    /// # Panics
    /// If `x` is not `[batch, 2]`.
    pub fn log_density(&self, x: &Tensor) -> Tensor {
        assert!(
            x.ndim() == 2 && x.dim(1) == 2,
            "log_density: expected [batch, 2], got {:?}",
            x.shape()
        );
        let m = self.centers.len();
        let flat: Vec<f64> = self
            .centers
            .iter()
            .flat_map(|c| c.iter().copied())
            .collect();
        let mu = Tensor::from_vec(flat, &[1, m, 2]).to_dtype(x.dtype());
        let lw = Tensor::from_vec(self.log_weights.clone(), &[1, m]).to_dtype(x.dtype());
        let s2 = self.sigma * self.sigma;
        let sq = x.unsqueeze(1).sub(&mu).square().sum_axis(2, false);
        let log_norm = -(2.0 * PI * s2).ln();
        sq.mul_scalar(-0.5 / s2)
            .add(&lw)
            .add_scalar(log_norm)
            .logsumexp(1, false)
    }
}
