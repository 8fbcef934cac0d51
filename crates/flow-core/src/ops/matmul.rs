//! Matrix products: `op(A) op(B)` with optional transposes (no copies), 2-D and batched 3-D.
//!
//! The transpose flags let every VJP be another flagged product, so backward passes never
//! materialise a transposed matrix:
//! for `C = op_a(A) op_b(B)`, `∂A = C̄ op_b(B)ᵀ` (or its transpose), `∂B = op_a(A)ᵀ C̄` (or its
//! transpose).

use ndarray::{ArrayD, IxDyn};

use super::accumulate;
use super::gemm::{Gemm, Init, gemm, gemm_new};
use crate::autodiff::graph::Op;
use crate::data::{Storage, map_data2};
use crate::dtype::Element;
use crate::tensor::Tensor;

struct MatMul {
    ta: bool,
    tb: bool,
}

/// The `(m, k, n)` of `op_a(A) op_b(B)` for the last two axes of `a` and `b`.
fn mkn(a: &[usize], b: &[usize], ta: bool, tb: bool) -> (usize, usize, usize) {
    let r = a.len() - 2;
    let (m, k) = if ta {
        (a[r + 1], a[r])
    } else {
        (a[r], a[r + 1])
    };
    let n = if tb { b[r] } else { b[r + 1] };
    (m, k, n)
}

/// Row-major values of a standard-layout tensor (every tensor's storage is standard layout).
pub(crate) fn values<T: Element>(x: &Storage<T>) -> std::borrow::Cow<'_, [T]> {
    match x.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(x.iter().copied().collect()),
    }
}

/// `op_a(A) op_b(B)` for 2-D operands or batched 3-D operands (one GEMM per batch entry).
fn kernel<T: Element + Gemm>(a: &Storage<T>, b: &Storage<T>, ta: bool, tb: bool) -> ArrayD<T> {
    let shape = output_shape(a.shape(), b.shape(), ta, tb);
    let (m, k, n) = mkn(a.shape(), b.shape(), ta, tb);
    let batch = if a.ndim() == 3 { a.shape()[0] } else { 1 };
    let (av, bv) = (values(a), values(b));
    if batch == 1 {
        let out = gemm_new(&av, &bv, (m, k, n), ta, tb, Init::Zero);
        return ArrayD::from_shape_vec(IxDyn(&shape), out).expect("matmul output shape");
    }
    let mut out = vec![T::zero(); batch * m * n];
    for i in 0..batch {
        gemm(
            &mut out[i * m * n..(i + 1) * m * n],
            &av[i * m * k..(i + 1) * m * k],
            &bv[i * k * n..(i + 1) * k * n],
            (m, k, n),
            ta,
            tb,
            false,
        );
    }
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("matmul output shape")
}

/// The shape of `op_a(A) op_b(B)`, or a panic naming both shapes.
fn output_shape(a: &[usize], b: &[usize], ta: bool, tb: bool) -> Vec<usize> {
    let ok_rank = (a.len() == 2 && b.len() == 2) || (a.len() == 3 && b.len() == 3 && a[0] == b[0]);
    assert!(
        ok_rank,
        "matmul: unsupported shapes {a:?} and {b:?} (need 2-D × 2-D or [b,m,k] × [b,k,n])"
    );
    let r = a.len() - 2;
    let (m, ka) = if ta {
        (a[r + 1], a[r])
    } else {
        (a[r], a[r + 1])
    };
    let (kb, n) = if tb {
        (b[r + 1], b[r])
    } else {
        (b[r], b[r + 1])
    };
    assert_eq!(
        ka, kb,
        "matmul: inner dimensions differ for shapes {a:?} and {b:?} (transposed: {ta}, {tb})"
    );
    let mut out = a[..r].to_vec();
    out.extend([m, n]);
    out
}

/// `op_a(A) op_b(B)` where `op` transposes the last two axes when its flag is set.
pub(crate) fn matmul_t(a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Tensor {
    output_shape(a.shape(), b.shape(), ta, tb);
    let data = map_data2!("matmul", a.data(), b.data(), x, y => kernel(x, y, ta, tb));
    Tensor::from_op(data, MatMul { ta, tb }, &[a, b])
}

impl Op for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn vjp(
        &self,
        inputs: &[Tensor],
        _: &Tensor,
        ct: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let (a, b, ta, tb) = (&inputs[0], &inputs[1], self.ta, self.tb);
        let da = needs[0].then(|| {
            if ta {
                matmul_t(b, ct, tb, true)
            } else {
                matmul_t(ct, b, false, !tb)
            }
        });
        let db = needs[1].then(|| {
            if tb {
                matmul_t(ct, a, true, ta)
            } else {
                matmul_t(a, ct, !ta, false)
            }
        });
        vec![da, db]
    }
    fn jvp(&self, inputs: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (a, b) = (&inputs[0], &inputs[1]);
        let mut sum = None;
        if let Some(ta) = &t[0] {
            sum = accumulate(sum, matmul_t(ta, b, self.ta, self.tb));
        }
        if let Some(tb) = &t[1] {
            sum = accumulate(sum, matmul_t(a, tb, self.ta, self.tb));
        }
        sum.expect("matmul jvp: no tangent")
    }
}

impl Tensor {
    /// Matrix product. Supports `[m,k]·[k,n]`, `[b,m,k]·[b,k,n]` and `[b,m,k]·[k,n]` (the
    /// matrix is shared across the batch).
    ///
    /// # Panics
    /// If ranks or inner dimensions do not match (the message names both shapes).
    ///
    /// ```
    /// use flow_core::Tensor;
    /// let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let i = Tensor::eye(2, flow_core::DType::F32);
    /// assert_eq!(a.matmul(&i).to_vec_f32(), vec![1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        if self.ndim() == 3 && other.ndim() == 2 {
            let (b, m, k) = (self.dim(0), self.dim(1), self.dim(2));
            let flat = self.reshape(&[b * m, k]).matmul(other);
            return flat.reshape(&[b, m, other.dim(1)]);
        }
        matmul_t(self, other, false, false)
    }

    /// `self · otherᵀ` without materialising the transpose.
    pub fn matmul_transposed(&self, other: &Tensor) -> Tensor {
        matmul_t(self, other, false, true)
    }

    /// `selfᵀ · other` without materialising the transpose.
    pub fn transposed_matmul(&self, other: &Tensor) -> Tensor {
        matmul_t(self, other, true, false)
    }
}
