//! Primitive operations. Each file keeps an op's forward kernel, VJP rule and JVP rule
//! together; the rules are written with differentiable ops so higher orders come for free.
//! Composite functions (softmax, logsumexp, norms) are built from the primitives in
//! [`composite`].

pub(crate) mod activations;
pub(crate) mod arith;
pub(crate) mod broadcast;
pub(crate) mod cast;
pub(crate) mod column_sums;
pub mod composite;
pub(crate) mod deriv_product;
pub(crate) mod functions;
pub(crate) mod gemm;
pub(crate) mod gemm_outer;
pub(crate) mod gemm_shallow;
pub(crate) mod gemm_skinny;
pub(crate) mod index;
pub(crate) mod join;
pub(crate) mod kernels;
pub(crate) mod linalg;
pub(crate) mod linear;
pub(crate) mod matmul;
pub(crate) mod overload;
pub(crate) mod reduce;
pub(crate) mod row_max;
pub(crate) mod select;
pub(crate) mod shape;
pub(crate) mod unary;

use crate::tensor::Tensor;

/// Adds `term` to an optional running sum of tangents.
pub(crate) fn accumulate(sum: Option<Tensor>, term: Tensor) -> Option<Tensor> {
    Some(match sum {
        Some(s) => s.add(&term),
        None => term,
    })
}

/// The broadcast shape of two shapes (numpy rules), or a panic naming `op` and both shapes.
pub(crate) fn broadcast_shape(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => panic!("{op}: shapes {a:?} and {b:?} cannot be broadcast together"),
        };
    }
    out
}
