//! Invertible linear map with an LU parametrisation ("invertible 1×1 convolution" on vectors).
//!
//! `z = W x + b` with `W = P L (U + diag(σ ⊙ exp(ŝ)))`: `P` a fixed permutation, `L` unit
//! lower-triangular, `U` strictly upper-triangular, `σ` fixed signs and `ŝ` learnable
//! log-magnitudes, so `log |det ∂z/∂x| = Σ_i ŝ_i` (same for every sample). The inverse uses
//! flow-core's differentiable matrix inverse: `x = W⁻¹ (z − b)`, log-det `−Σ ŝ`.
//! Initialised at the PLU factors of a Haar-random rotation (Glow).
//!
//! References: Kingma, Dhariwal, "Glow", arXiv 1807.03039 (Sec. 3.2, LU decomposition).

use flow_core::nn::{Module, Param, join_name};
use flow_core::{DType, Tensor};
use rand::Rng;

use crate::bijection::{Bijection, check_input, constant_ladj};
use crate::linalg::{haar_orthogonal, plu};

/// An LU-parametrised invertible linear layer (see the module docs).
#[derive(Clone, Debug)]
pub struct LuLinear {
    lower: Param,
    upper: Param,
    log_diag: Param,
    bias: Param,
    /// `W = (L U').index_select(rows)` realises the permutation.
    rows: Vec<usize>,
    sign: Tensor,
    lower_mask: Tensor,
    upper_mask: Tensor,
    eye: Tensor,
    prefix: String,
    dim: usize,
}

impl LuLinear {
    /// Initialised at a Haar-random rotation; parameters `{prefix}.{lower,upper,log_diag,bias}`.
    pub fn new<R: Rng + ?Sized>(prefix: &str, dim: usize, dtype: DType, rng: &mut R) -> LuLinear {
        let q = haar_orthogonal(dim, rng);
        let (perm, l, u) = plu(&q, dim);
        let mut rows = vec![0; dim];
        for (i, &p) in perm.iter().enumerate() {
            rows[p] = i;
        }
        let diag: Vec<f64> = (0..dim).map(|i| u[i * dim + i]).collect();
        let mask = |keep: fn(usize, usize) -> bool| {
            let v: Vec<f64> = (0..dim * dim)
                .map(|k| f64::from(u8::from(keep(k / dim, k % dim))))
                .collect();
            Tensor::from_vec(v, &[dim, dim]).to_dtype(dtype)
        };
        let t = |v: Vec<f64>, shape: &[usize]| Tensor::from_vec(v, shape).to_dtype(dtype);
        LuLinear {
            lower: Param::new(join_name(prefix, "lower"), t(l, &[dim, dim])),
            upper: Param::new(join_name(prefix, "upper"), t(u, &[dim, dim])),
            log_diag: Param::new(
                join_name(prefix, "log_diag"),
                t(diag.iter().map(|d| d.abs().ln()).collect(), &[dim]),
            ),
            bias: Param::new(join_name(prefix, "bias"), Tensor::zeros(&[dim], dtype)),
            rows,
            sign: t(diag.iter().map(|d| d.signum()).collect(), &[1, dim]),
            lower_mask: mask(|i, j| i > j),
            upper_mask: mask(|i, j| i < j),
            eye: Tensor::eye(dim, dtype),
            prefix: prefix.to_string(),
            dim,
        }
    }

    /// The current matrix `W` (differentiable in the parameters).
    pub fn weight(&self) -> Tensor {
        let l = self.lower.get().mul(&self.lower_mask).add(&self.eye);
        let d = self
            .log_diag
            .get()
            .exp()
            .reshape(&[1, self.dim])
            .mul(&self.sign);
        let u = self
            .upper
            .get()
            .mul(&self.upper_mask)
            .add(&self.eye.mul(&d));
        l.matmul(&u).index_select(0, &self.rows)
    }
}

impl Module for LuLinear {
    fn parameters(&self) -> Vec<Param> {
        vec![
            self.lower.clone(),
            self.upper.clone(),
            self.log_diag.clone(),
            self.bias.clone(),
        ]
    }
}

impl Bijection for LuLinear {
    fn name(&self) -> &str {
        "LuLinear"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("LuLinear", self.dim, None, x, cond);
        let z = x.matmul_transposed(&self.weight()).add(&self.bias.get());
        (z, constant_ladj(&self.log_diag.get().sum_all(), x.dim(0)))
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("LuLinear", self.dim, None, z, cond);
        let x = z
            .sub(&self.bias.get())
            .matmul_transposed(&self.weight().inverse());
        (
            x,
            constant_ladj(&self.log_diag.get().sum_all().neg(), z.dim(0)),
        )
    }

    fn buffers(&self) -> Vec<(String, Tensor)> {
        let rows: Vec<f64> = self.rows.iter().map(|&r| r as f64).collect();
        vec![
            (
                join_name(&self.prefix, "rows"),
                Tensor::from_vec(rows, &[self.dim]),
            ),
            (
                join_name(&self.prefix, "sign"),
                self.sign.to_dtype(DType::F64),
            ),
        ]
    }
}
