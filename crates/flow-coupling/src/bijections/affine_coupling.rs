//! Affine coupling (RealNVP, Glow) with soft-clamped log-scales.
//!
//! `z_a = x_a ⊙ exp(s) + t`, `(ŝ, t) = NN(x_p, c)`, `s = α · tanh(ŝ / α)` (soft clamping keeps
//! `|s| < α` while being the identity near 0), so `log |det ∂z/∂x| = Σ_i s_i`. FrEIA's `ATAN`
//! variant `s = α · (2/π) · atan(ŝ / α)` ([`SoftClamp::Atan`]) has the same bound but heavier
//! tails, so large raw scales keep a useful gradient.
//! Inverse: `x_a = (z_a − t) ⊙ exp(−s)`, `log |det ∂x/∂z| = −Σ_i s_i`.
//!
//! References: Dinh, Sohl-Dickstein, Bengio, "Density estimation using Real NVP",
//! arXiv 1605.08803; Kingma, Dhariwal, "Glow", arXiv 1807.03039; soft clamping: Ardizzone et
//! al., "Analyzing Inverse Problems with Invertible Neural Networks", arXiv 1808.04730 (FrEIA's
//! `TANH` clamping, as TRADE uses it).

use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::coupling::{ActiveHalf, Coupling, CouplingTransform, raw_column};
use crate::conditioner::{ConditionConfig, SubnetConfig};

/// The squashing function that soft-clamps the raw log-scale `ŝ` to `|s| < α`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoftClamp {
    /// `s = α · tanh(ŝ / α)` (FrEIA `TANH`, the default).
    #[default]
    Tanh,
    /// `s = α · (2/π) · atan(ŝ / α)` (FrEIA `ATAN`): slope 2/π at 0, gradient decays like
    /// `1/ŝ²` instead of exponentially.
    Atan,
}

/// The element-wise part of an affine coupling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Soft-clamp bound α of the log-scales (e.g. 2.0; TRADE uses 0.3 per block in deep stacks).
    pub clamp: f64,
    /// How the bound is applied.
    pub soft_clamp: SoftClamp,
}

/// A RealNVP/Glow affine coupling block.
pub type AffineCoupling = Coupling<Affine>;

impl AffineCoupling {
    /// Builds an affine coupling; see [`Coupling::build`].
    ///
    /// # Panics
    /// If `dim < 2` or `clamp ≤ 0`.
    #[allow(clippy::too_many_arguments)]
    pub fn new<R: Rng + ?Sized>(
        prefix: &str,
        clamp: f64,
        dim: usize,
        active: ActiveHalf,
        subnet: &SubnetConfig,
        condition: Option<&ConditionConfig>,
        dtype: DType,
        rng: &mut R,
    ) -> AffineCoupling {
        assert!(
            clamp > 0.0,
            "AffineCoupling: clamp must be positive, got {clamp}"
        );
        Coupling::build(
            prefix,
            Affine {
                clamp,
                soft_clamp: SoftClamp::Tanh,
            },
            dim,
            active,
            subnet,
            condition,
            dtype,
            rng,
        )
    }
}

impl AffineCoupling {
    /// Replaces the soft-clamp function (the default is [`SoftClamp::Tanh`]).
    pub fn with_soft_clamp(self, soft_clamp: SoftClamp) -> AffineCoupling {
        self.map_transform(|t| Affine { soft_clamp, ..t })
    }
}

impl Affine {
    fn scale_shift(&self, raw: &Tensor) -> (Tensor, Tensor) {
        let scaled = raw_column(raw, 0).mul_scalar(1.0 / self.clamp);
        let s = match self.soft_clamp {
            SoftClamp::Tanh => scaled.tanh().mul_scalar(self.clamp),
            SoftClamp::Atan => scaled
                .atan()
                .mul_scalar(self.clamp * std::f64::consts::FRAC_2_PI),
        };
        (s, raw_column(raw, 1))
    }
}

impl CouplingTransform for Affine {
    fn name(&self) -> &'static str {
        "AffineCoupling"
    }

    fn params_per_dim(&self) -> usize {
        2
    }

    fn forward(&self, a: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        let (s, t) = self.scale_shift(raw);
        (a.mul(&s.exp()).add(&t), s.sum_axis(1, false))
    }

    fn inverse(&self, b: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        let (s, t) = self.scale_shift(raw);
        (b.sub(&t).mul(&s.neg().exp()), s.sum_axis(1, false).neg())
    }
}
