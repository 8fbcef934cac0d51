//! ActNorm: a per-feature affine map with data-dependent initialisation.
//!
//! `z = (x + b) ⊙ exp(s)`, `log |det ∂z/∂x| = Σ_i s_i` (the same for every sample);
//! inverse `x = z ⊙ exp(−s) − b`. [`Bijection::initialize`] sets `b = −mean(x)` and
//! `s = −ln(std(x) + ε)` on a batch, so the block's output starts standardised.
//!
//! References: Kingma, Dhariwal, "Glow", arXiv 1807.03039 (Sec. 3.1).

use flow_core::nn::{Module, Param, join_name};
use flow_core::{DType, Tensor, no_grad};

use crate::bijection::{Bijection, check_input, constant_ladj};

/// ε added to the standard deviation in the data-dependent initialisation (Glow uses 1e-6).
const STD_EPS: f64 = 1e-6;

/// Per-feature shift and log-scale (see the module docs).
#[derive(Clone, Debug)]
pub struct ActNorm {
    bias: Param,
    log_scale: Param,
    dim: usize,
}

impl ActNorm {
    /// An identity-initialised ActNorm; parameters `{prefix}.bias`, `{prefix}.log_scale`.
    pub fn new(prefix: &str, dim: usize, dtype: DType) -> ActNorm {
        ActNorm {
            bias: Param::new(join_name(prefix, "bias"), Tensor::zeros(&[dim], dtype)),
            log_scale: Param::new(join_name(prefix, "log_scale"), Tensor::zeros(&[dim], dtype)),
            dim,
        }
    }
}

impl Module for ActNorm {
    fn parameters(&self) -> Vec<Param> {
        vec![self.bias.clone(), self.log_scale.clone()]
    }
}

impl Bijection for ActNorm {
    fn name(&self) -> &str {
        "ActNorm"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("ActNorm", self.dim, None, x, cond);
        let s = self.log_scale.get();
        let z = x.add(&self.bias.get()).mul(&s.exp());
        (z, constant_ladj(&s.sum_all(), x.dim(0)))
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("ActNorm", self.dim, None, z, cond);
        let s = self.log_scale.get();
        let x = z.mul(&s.neg().exp()).sub(&self.bias.get());
        (x, constant_ladj(&s.sum_all().neg(), z.dim(0)))
    }

    fn initialize(&self, x: &Tensor, cond: Option<&Tensor>) {
        check_input("ActNorm", self.dim, None, x, cond);
        no_grad(|| {
            let x = x.detach();
            let mean = x.mean_axis(0, false);
            let std = x.var_axis(0, false).sqrt().add_scalar(STD_EPS);
            self.bias.set(mean.neg());
            self.log_scale.set(std.log().neg());
        });
    }
}
