//! Rational-quadratic spline coupling (Neural Spline Flows, coupling variant "RQ-NSF (C)").
//!
//! `z_a,i = g(x_a,i; θ_i)` with `θ = NN(x_p, c)` the `3K − 1` raw parameters per feature of a
//! monotone rational-quadratic spline on `[−B, B]` with identity tails (see
//! [`rq_spline`](super::rq_spline) for the formulas), so
//! `log |det ∂z/∂x| = Σ_i log g'(x_a,i; θ_i)` and the inverse log-det is its negative.
//!
//! References: Durkan, Bekasov, Murray, Papamakarios, "Neural Spline Flows",
//! arXiv 1906.04068.

use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::coupling::{ActiveHalf, Coupling, CouplingTransform};
use super::rq_spline::SplineShape;
use crate::conditioner::{ConditionConfig, SubnetConfig};

/// Spline settings (nflows defaults: 1e-3 minima).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplineConfig {
    /// Number of bins K (≥ 2).
    pub bins: usize,
    /// Half-width B of the spline's support; identity outside.
    pub bound: f64,
    /// Minimum bin width and height as a fraction of `2B`.
    pub min_bin: f64,
    /// Minimum interior knot derivative.
    pub min_derivative: f64,
}

impl SplineConfig {
    /// `bins` bins on `[−bound, bound]`, minima 1e-3.
    pub fn new(bins: usize, bound: f64) -> SplineConfig {
        SplineConfig {
            bins,
            bound,
            min_bin: 1e-3,
            min_derivative: 1e-3,
        }
    }
}

/// The element-wise part of a spline coupling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RationalQuadratic {
    shape: SplineShape,
}

/// A rational-quadratic spline coupling block.
pub type SplineCoupling = Coupling<RationalQuadratic>;

impl SplineCoupling {
    /// Builds a spline coupling; see [`Coupling::build`].
    ///
    /// # Panics
    /// If `dim < 2`, `bins < 2`, `bound ≤ 0` or `bins · min_bin ≥ 1`.
    #[allow(clippy::too_many_arguments)]
    pub fn new<R: Rng + ?Sized>(
        prefix: &str,
        spline: SplineConfig,
        dim: usize,
        active: ActiveHalf,
        subnet: &SubnetConfig,
        condition: Option<&ConditionConfig>,
        dtype: DType,
        rng: &mut R,
    ) -> SplineCoupling {
        assert!(
            spline.bins >= 2 && spline.bound > 0.0 && (spline.bins as f64) * spline.min_bin < 1.0,
            "SplineCoupling: invalid spline {spline:?}"
        );
        let shape = SplineShape {
            bins: spline.bins,
            bound: spline.bound,
            min_bin: spline.min_bin,
            min_derivative: spline.min_derivative,
        };
        Coupling::build(
            prefix,
            RationalQuadratic { shape },
            dim,
            active,
            subnet,
            condition,
            dtype,
            rng,
        )
    }
}

impl RationalQuadratic {
    fn apply(&self, v: &Tensor, raw: &Tensor, inverse: bool) -> (Tensor, Tensor) {
        let (batch, n, p) = (raw.dim(0), raw.dim(1), raw.dim(2));
        let flat_v = v.reshape(&[batch * n]);
        let flat_raw = raw.reshape(&[batch * n, p]);
        let (out, logd) = if inverse {
            self.shape.inverse(&flat_v, &flat_raw)
        } else {
            self.shape.forward(&flat_v, &flat_raw)
        };
        (
            out.reshape(&[batch, n]),
            logd.reshape(&[batch, n]).sum_axis(1, false),
        )
    }
}

impl CouplingTransform for RationalQuadratic {
    fn name(&self) -> &'static str {
        "SplineCoupling"
    }

    fn params_per_dim(&self) -> usize {
        self.shape.params_per_dim()
    }

    fn forward(&self, a: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        self.apply(a, raw, false)
    }

    fn inverse(&self, b: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        self.apply(b, raw, true)
    }
}
