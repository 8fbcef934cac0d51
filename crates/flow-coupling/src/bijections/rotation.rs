//! Orthogonal maps (volume preserving, `log |det| = 0`): a fixed Haar-random rotation and a
//! learnable product of Householder reflections.
//!
//! - [`FixedRotation`]: `z = Q x` with `Q ~ Haar(O(D))`, inverse `x = Qᵀ z`. The random
//!   rotations between couplings of Draxler et al. (arXiv 2210.14032, 2306.13520).
//! - [`HouseholderRotation`]: `z = H_k ⋯ H_1 x`, `H_i = I − 2 v̂_i v̂_iᵀ`, `v̂ = v/‖v‖`; each
//!   `H_i` is its own inverse, so the inverse applies them in reverse order. `D` reflections
//!   reach every orthogonal matrix. Tomczak & Welling, "Improving Variational Auto-Encoders
//!   using Householder Flow", arXiv 1611.09630.

use flow_core::nn::{Module, Param, join_name};
use flow_core::{DType, Tensor};
use rand::Rng;

use crate::bijection::{Bijection, check_input};
use crate::linalg::haar_orthogonal;

/// A fixed Haar-random rotation (a buffer, not a parameter).
#[derive(Clone, Debug)]
pub struct FixedRotation {
    q: Tensor,
    prefix: String,
}

impl FixedRotation {
    /// A Haar-random orthogonal `Q` of size `dim`.
    pub fn random<R: Rng + ?Sized>(
        prefix: &str,
        dim: usize,
        dtype: DType,
        rng: &mut R,
    ) -> FixedRotation {
        let q = Tensor::from_vec(haar_orthogonal(dim, rng), &[dim, dim]).to_dtype(dtype);
        FixedRotation {
            q,
            prefix: prefix.to_string(),
        }
    }

    /// The matrix `Q`.
    pub fn matrix(&self) -> &Tensor {
        &self.q
    }
}

impl Module for FixedRotation {
    fn parameters(&self) -> Vec<Param> {
        Vec::new()
    }
}

impl Bijection for FixedRotation {
    fn name(&self) -> &str {
        "FixedRotation"
    }

    fn dim(&self) -> usize {
        self.q.dim(0)
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("FixedRotation", self.dim(), None, x, cond);
        (
            x.matmul_transposed(&self.q),
            Tensor::zeros(&[x.dim(0)], x.dtype()),
        )
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("FixedRotation", self.dim(), None, z, cond);
        (z.matmul(&self.q), Tensor::zeros(&[z.dim(0)], z.dtype()))
    }

    fn buffers(&self) -> Vec<(String, Tensor)> {
        vec![(join_name(&self.prefix, "q"), self.q.to_dtype(DType::F64))]
    }
}

/// A learnable rotation as a product of Householder reflections.
#[derive(Clone, Debug)]
pub struct HouseholderRotation {
    vectors: Param,
    dim: usize,
}

impl HouseholderRotation {
    /// `reflections` reflections with Gaussian-initialised vectors; parameter
    /// `{prefix}.vectors` of shape `[reflections, dim]`.
    ///
    /// # Panics
    /// If `reflections == 0`.
    pub fn new<R: Rng + ?Sized>(
        prefix: &str,
        dim: usize,
        reflections: usize,
        dtype: DType,
        rng: &mut R,
    ) -> HouseholderRotation {
        assert!(
            reflections > 0,
            "HouseholderRotation: needs at least one reflection"
        );
        let v = Tensor::randn(&[reflections, dim], dtype, rng);
        HouseholderRotation {
            vectors: Param::new(join_name(prefix, "vectors"), v),
            dim,
        }
    }

    fn reflect(&self, x: &Tensor, order: impl Iterator<Item = usize>) -> Tensor {
        let v = self.vectors.get();
        let mut h = x.clone();
        for i in order {
            let vi = v.narrow(0, i, 1); // [1, dim]
            let unit = vi.div(&vi.norm(1, true));
            let proj = h.matmul_transposed(&unit); // [batch, 1]
            h = h.sub(&proj.mul(&unit).mul_scalar(2.0));
        }
        h
    }
}

impl Module for HouseholderRotation {
    fn parameters(&self) -> Vec<Param> {
        vec![self.vectors.clone()]
    }
}

impl Bijection for HouseholderRotation {
    fn name(&self) -> &str {
        "HouseholderRotation"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("HouseholderRotation", self.dim, None, x, cond);
        let k = self.vectors.get().dim(0);
        (self.reflect(x, 0..k), Tensor::zeros(&[x.dim(0)], x.dtype()))
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("HouseholderRotation", self.dim, None, z, cond);
        let k = self.vectors.get().dim(0);
        (
            self.reflect(z, (0..k).rev()),
            Tensor::zeros(&[z.dim(0)], z.dtype()),
        )
    }
}
