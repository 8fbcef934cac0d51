//! The coupling skeleton shared by the additive, affine and spline couplings
//! (Dinh et al., NICE, arXiv 1410.8516): split `x = (x_p, x_a)`, keep the passive half,
//! transform the active half element-wise with parameters `θ = NN(x_p, c)`:
//! `z_p = x_p`, `z_a = τ(x_a; θ)`. The Jacobian is block-triangular, so
//! `log |det ∂z/∂x| = Σ_i log |τ'(x_{a,i}; θ_i)|`.

use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::bijection::{Bijection, check_input};
use crate::conditioner::{ConditionConfig, Conditioner, SubnetConfig};

/// Which half of the features is transformed (the other half conditions the subnet). The
/// first half holds `⌊D/2⌋` features, the second `D − ⌊D/2⌋`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActiveHalf {
    /// Transform features `0..⌊D/2⌋`.
    First,
    /// Transform features `⌊D/2⌋..D`.
    Second,
}

impl ActiveHalf {
    /// The other half (for alternating stacks).
    pub fn flip(self) -> ActiveHalf {
        match self {
            ActiveHalf::First => ActiveHalf::Second,
            ActiveHalf::Second => ActiveHalf::First,
        }
    }

    /// `ActiveHalf::Second` for even `i`, `First` for odd `i`.
    pub fn alternating(i: usize) -> ActiveHalf {
        if i.is_multiple_of(2) {
            ActiveHalf::Second
        } else {
            ActiveHalf::First
        }
    }
}

/// An element-wise monotone transform `τ(·; θ)` of the active half, with `params_per_dim`
/// raw parameters per feature; raw parameters 0 MUST give the identity.
pub trait CouplingTransform {
    /// The coupling's name for error messages.
    fn name(&self) -> &'static str;
    /// Raw parameters per active feature.
    fn params_per_dim(&self) -> usize;
    /// `(τ(a), Σ_i log τ'(a_i))` for `a: [batch, n]` and `raw: [batch, n, P]`; returns
    /// `([batch, n], [batch])`.
    fn forward(&self, a: &Tensor, raw: &Tensor) -> (Tensor, Tensor);
    /// `(τ⁻¹(b), Σ_i log (τ⁻¹)'(b_i))`.
    fn inverse(&self, b: &Tensor, raw: &Tensor) -> (Tensor, Tensor);
}

/// A coupling block with element-wise transform `T` (see the module docs).
#[derive(Clone, Debug)]
pub struct Coupling<T> {
    transform: T,
    conditioner: Conditioner,
    dim: usize,
    active: ActiveHalf,
}

impl<T: CouplingTransform> Coupling<T> {
    /// Builds a coupling on `dim` features; parameters are named `{prefix}.subnet.*`.
    ///
    /// # Panics
    /// If `dim < 2`.
    #[allow(clippy::too_many_arguments)]
    pub fn build<R: Rng + ?Sized>(
        prefix: &str,
        transform: T,
        dim: usize,
        active: ActiveHalf,
        subnet: &SubnetConfig,
        condition: Option<&ConditionConfig>,
        dtype: DType,
        rng: &mut R,
    ) -> Coupling<T> {
        assert!(
            dim >= 2,
            "{}: a coupling needs dim ≥ 2, got {dim}",
            transform.name()
        );
        let (n_active, n_passive) = sizes(dim, active);
        let out = n_active * transform.params_per_dim();
        let conditioner = Conditioner::build(prefix, n_passive, out, subnet, condition, dtype, rng);
        Coupling {
            transform,
            conditioner,
            dim,
            active,
        }
    }

    /// The element-wise transform.
    pub fn transform(&self) -> &T {
        &self.transform
    }

    /// Replaces the element-wise transform by `f(transform)`, keeping the conditioner (the
    /// new transform must take the same number of parameters per active feature).
    ///
    /// # Panics
    /// If the parameter count per feature changes.
    pub fn map_transform(self, f: impl FnOnce(T) -> T) -> Coupling<T> {
        let before = self.transform.params_per_dim();
        let transform = f(self.transform);
        assert_eq!(
            transform.params_per_dim(),
            before,
            "{}: map_transform changed the parameters per feature",
            transform.name()
        );
        Coupling { transform, ..self }
    }

    fn split(&self, x: &Tensor) -> (Tensor, Tensor) {
        let half = self.dim / 2;
        match self.active {
            ActiveHalf::First => (x.narrow(1, 0, half), x.narrow(1, half, self.dim - half)),
            ActiveHalf::Second => (x.narrow(1, half, self.dim - half), x.narrow(1, 0, half)),
        }
    }

    fn join(&self, active: &Tensor, passive: &Tensor) -> Tensor {
        match self.active {
            ActiveHalf::First => Tensor::concat(&[active, passive], 1),
            ActiveHalf::Second => Tensor::concat(&[passive, active], 1),
        }
    }

    fn raw(&self, passive: &Tensor, n_active: usize, cond: Option<&Tensor>) -> Tensor {
        let out = self.conditioner.forward(passive, cond);
        out.reshape(&[passive.dim(0), n_active, self.transform.params_per_dim()])
    }

    fn apply(&self, x: &Tensor, cond: Option<&Tensor>, inverse: bool) -> (Tensor, Tensor) {
        check_input(self.transform.name(), self.dim, self.cond_dim(), x, cond);
        let (a, p) = self.split(x);
        let raw = self.raw(&p, a.dim(1), cond);
        let (b, ladj) = if inverse {
            self.transform.inverse(&a, &raw)
        } else {
            self.transform.forward(&a, &raw)
        };
        (self.join(&b, &p), ladj)
    }
}

/// `(active, passive)` sizes.
fn sizes(dim: usize, active: ActiveHalf) -> (usize, usize) {
    let half = dim / 2;
    match active {
        ActiveHalf::First => (half, dim - half),
        ActiveHalf::Second => (dim - half, half),
    }
}

/// Column `j` of the raw parameters `[batch, n, P]` as `[batch, n]`.
pub(crate) fn raw_column(raw: &Tensor, j: usize) -> Tensor {
    raw.narrow(2, j, 1).reshape(&[raw.dim(0), raw.dim(1)])
}

impl<T: CouplingTransform> Module for Coupling<T> {
    fn parameters(&self) -> Vec<Param> {
        self.conditioner.parameters()
    }
}

impl<T: CouplingTransform> Bijection for Coupling<T> {
    fn name(&self) -> &str {
        self.transform.name()
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn cond_dim(&self) -> Option<usize> {
        self.conditioner.cond_dim()
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        self.apply(x, cond, false)
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        self.apply(z, cond, true)
    }
}
