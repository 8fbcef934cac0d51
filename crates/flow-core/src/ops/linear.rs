//! The affine map of a dense layer, `y = x Wᵀ + b`, as one primitive.
//!
//! Fusing the bias into the GEMM (the output starts as the broadcast bias and the product is
//! accumulated onto it) saves a full pass over the `[batch, out]` activation and one buffer per
//! layer, forward and in every recorded derivative. The rules are those of the composition
//! `x.matmul_transposed(W).add(b)`, which the tests check it against:
//! - VJP: `x̄ = ȳ W`, `W̄ = ȳᵀ x`, `b̄ = Σ_rows ȳ`;
//! - JVP: `ẏ = ẋ Wᵀ + x Ẇᵀ + ḃ`.

use ndarray::{ArrayD, IxDyn};

use super::accumulate;
use super::gemm::{Gemm, Init, gemm_new};
use super::matmul::{matmul_t, values};
use crate::autodiff::graph::Op;
use crate::data::{Data, Storage};
use crate::dtype::Element;
use crate::tensor::Tensor;

struct Linear;

fn kernel<T: Element + Gemm>(x: &Storage<T>, w: &Storage<T>, b: Option<&Storage<T>>) -> Data {
    let (n, i, o) = (x.shape()[0], x.shape()[1], w.shape()[0]);
    let row = b.map(values);
    let init = match &row {
        Some(row) => Init::Rows(row),
        None => Init::Zero,
    };
    let out = gemm_new(&values(x), &values(w), (n, i, o), false, true, init);
    T::wrap(ArrayD::from_shape_vec(IxDyn(&[n, o]), out).expect("linear output shape"))
}

fn check_shapes(x: &Tensor, w: &Tensor, b: Option<&Tensor>) {
    let ok = x.ndim() == 2 && w.ndim() == 2 && x.dim(1) == w.dim(1);
    let bias_ok = b.is_none_or(|b| b.ndim() == 1 && b.dim(0) == w.dim(0));
    assert!(
        ok && bias_ok,
        "linear: shapes x {:?}, weight {:?}, bias {:?} do not fit y = x Wᵀ + b (need [n, i], [o, i], [o])",
        x.shape(),
        w.shape(),
        b.map(|b| b.shape().to_vec())
    );
}

/// `x Wᵀ + b` as one op (see the module docs).
pub(crate) fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
    check_shapes(x, w, b);
    let data = match (x.data(), w.data()) {
        (Data::F32(xs), Data::F32(ws)) => {
            let bs = b.map(|b| f32::unwrap_ref(b.data()).expect("linear: bias dtype is not f32"));
            kernel(xs, ws, bs)
        }
        (Data::F64(xs), Data::F64(ws)) => {
            let bs = b.map(|b| f64::unwrap_ref(b.data()).expect("linear: bias dtype is not f64"));
            kernel(xs, ws, bs)
        }
        (xd, wd) => panic!("linear: dtype mismatch ({} vs {})", xd.dtype(), wd.dtype()),
    };
    match b {
        Some(b) => Tensor::from_op(data, Linear, &[x, w, b]),
        None => Tensor::from_op(data, Linear, &[x, w]),
    }
}

impl Op for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn vjp(
        &self,
        inputs: &[Tensor],
        _: &Tensor,
        ct: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>> {
        let (x, w) = (&inputs[0], &inputs[1]);
        let mut out = vec![
            needs[0].then(|| matmul_t(ct, w, false, false)),
            needs[1].then(|| matmul_t(ct, x, true, false)),
        ];
        if inputs.len() == 3 {
            out.push(needs[2].then(|| ct.sum_axis(0, false)));
        }
        out
    }
    fn jvp(&self, inputs: &[Tensor], output: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let (x, w) = (&inputs[0], &inputs[1]);
        let mut sum = None;
        if let Some(tx) = &t[0] {
            sum = accumulate(sum, matmul_t(tx, w, false, true));
        }
        if let Some(tw) = &t[1] {
            sum = accumulate(sum, matmul_t(x, tw, false, true));
        }
        if let Some(Some(tb)) = t.get(2) {
            sum = Some(match sum {
                Some(s) => s.add(tb),
                None => tb.broadcast_to(output.shape()),
            });
        }
        sum.expect("linear jvp: no tangent")
    }
}

impl Tensor {
    /// The dense layer's affine map `x Wᵀ + b` for `x: [n, i]`, `W: [o, i]`, `b: [o]`, as one
    /// op with the bias fused into the matrix product (see [`Linear`](crate::nn::Linear)).
    ///
    /// # Panics
    /// If the shapes do not fit (the message names all three) or dtypes differ.
    ///
    /// ```
    /// use flow_core::Tensor;
    /// let x = Tensor::from_slice(&[1.0f64, 2.0], &[1, 2]);
    /// let w = Tensor::from_slice(&[1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]);
    /// let b = Tensor::from_slice(&[0.5f64, 0.0, -3.0], &[3]);
    /// assert_eq!(x.linear(&w, Some(&b)).to_vec_f64(), vec![1.5, 2.0, 0.0]);
    /// ```
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        linear(self, weight, bias)
    }
}
