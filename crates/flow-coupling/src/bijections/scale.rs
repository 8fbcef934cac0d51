//! A global scale: `z = e^{λ} x` with one learnable scalar `λ`, `log |det ∂z/∂x| = D λ`.
//! Appended to volume-preserving stacks so that they can match the data's overall volume
//! (the `ScalingBlock` of Draxler et al., arXiv 2402.06578, Sec. C.2).

use flow_core::nn::{Module, Param, join_name};
use flow_core::{DType, Tensor};

use crate::bijection::{Bijection, check_input, constant_ladj};

/// A learnable global log-scale `λ` (see the module docs).
#[derive(Clone, Debug)]
pub struct GlobalScale {
    log_scale: Param,
    dim: usize,
}

impl GlobalScale {
    /// Starts at `λ = log_scale`; parameter `{prefix}.log_scale` of shape `[1]`.
    pub fn new(prefix: &str, dim: usize, log_scale: f64, dtype: DType) -> GlobalScale {
        let value = Tensor::full(&[1], log_scale, dtype);
        GlobalScale {
            log_scale: Param::new(join_name(prefix, "log_scale"), value),
            dim,
        }
    }
}

impl Module for GlobalScale {
    fn parameters(&self) -> Vec<Param> {
        vec![self.log_scale.clone()]
    }
}

impl Bijection for GlobalScale {
    fn name(&self) -> &str {
        "GlobalScale"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("GlobalScale", self.dim, None, x, cond);
        let l = self.log_scale.get();
        (
            x.mul(&l.exp()),
            constant_ladj(&l.mul_scalar(self.dim as f64), x.dim(0)),
        )
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("GlobalScale", self.dim, None, z, cond);
        let l = self.log_scale.get();
        (
            z.mul(&l.neg().exp()),
            constant_ladj(&l.mul_scalar(-(self.dim as f64)), z.dim(0)),
        )
    }
}
