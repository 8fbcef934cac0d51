//! Matrix products: `op(A) op(B)` with optional transposes (no copies), 2-D and batched 3-D.
//!
//! The transpose flags let every VJP be another flagged product, so backward passes never
//! materialise a transposed matrix:
//! for `C = op_a(A) op_b(B)`, `∂A = C̄ op_b(B)ᵀ` (or its transpose), `∂B = op_a(A)ᵀ C̄` (or its
//! transpose).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayD, ArrayView2, Axis, Ix2, Ix3, IxDyn};

use super::accumulate;
use crate::autodiff::graph::Op;
use crate::data::{Storage, map_data2};
use crate::dtype::Element;
use crate::tensor::Tensor;

struct MatMul {
    ta: bool,
    tb: bool,
}

fn view2<T: Element>(a: ArrayView2<'_, T>, transpose: bool) -> ArrayView2<'_, T> {
    if transpose { a.reversed_axes() } else { a }
}

fn matmul_2d<T: Element>(a: ArrayView2<T>, b: ArrayView2<T>, ta: bool, tb: bool) -> Array2<T> {
    let (a, b) = (view2(a, ta), view2(b, tb));
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
    c
}

fn kernel<T: Element>(a: &Storage<T>, b: &Storage<T>, ta: bool, tb: bool) -> ArrayD<T> {
    if a.ndim() == 2 {
        let a2 = a.view().into_dimensionality::<Ix2>().expect("2-D");
        let b2 = b.view().into_dimensionality::<Ix2>().expect("2-D");
        return matmul_2d(a2, b2, ta, tb).into_dyn();
    }
    let a3 = a.view().into_dimensionality::<Ix3>().expect("3-D");
    let b3 = b.view().into_dimensionality::<Ix3>().expect("3-D");
    let outs: Vec<Array2<T>> = a3
        .outer_iter()
        .zip(b3.outer_iter())
        .map(|(ai, bi)| matmul_2d(ai, bi, ta, tb))
        .collect();
    let (m, n) = outs.first().map_or((0, 0), |c| c.dim());
    let mut out = ArrayD::zeros(IxDyn(&[outs.len(), m, n]));
    for (i, c) in outs.into_iter().enumerate() {
        out.index_axis_mut(Axis(0), i).assign(&c);
    }
    out
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
