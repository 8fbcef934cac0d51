//! Small dense linear algebra on `[n, n]` or `[batch, n, n]`: inverse and `slogdet`, by LU
//! with partial pivoting (pure Rust; the matrices here are Jacobians with n ≲ 100).
//!
//! Rules: `d(A⁻¹) = −A⁻¹ dA A⁻¹`, `d log|det A| = tr(A⁻¹ dA)`, so `∇_A log|det A| = A⁻ᵀ`.

use ndarray::{Array2, ArrayView2, Axis, Ix2};

use super::matmul::matmul_t;
use crate::autodiff::graph::Op;
use crate::data::{Storage, map_data, with_data};
use crate::dtype::Element;
use crate::tensor::Tensor;

/// LU factors of a row-permuted copy of `a` (`P A = L U`, unit-diagonal L stored below the
/// diagonal), the permutation and its sign. A zero pivot is kept (the matrix is singular).
struct Lu<T> {
    lu: Array2<T>,
    perm: Vec<usize>,
    sign: T,
}

fn lu<T: Element>(a: ArrayView2<T>) -> Lu<T> {
    let n = a.nrows();
    let mut lu = a.to_owned();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sign = T::one();
    for k in 0..n {
        let p = (k..n)
            .max_by(|&i, &j| {
                lu[[i, k]]
                    .abs()
                    .partial_cmp(&lu[[j, k]].abs())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .unwrap_or(k);
        if p != k {
            for j in 0..n {
                lu.swap([k, j], [p, j]);
            }
            perm.swap(k, p);
            sign = -sign;
        }
        let pivot = lu[[k, k]];
        if pivot == T::zero() {
            continue;
        }
        for i in k + 1..n {
            let factor = lu[[i, k]] / pivot;
            lu[[i, k]] = factor;
            for j in k + 1..n {
                let u = lu[[k, j]];
                lu[[i, j]] -= factor * u;
            }
        }
    }
    Lu { lu, perm, sign }
}

fn inverse_2d<T: Element>(a: ArrayView2<T>) -> Array2<T> {
    let n = a.nrows();
    let Lu { lu, perm, .. } = lu(a);
    let mut inv = Array2::zeros((n, n));
    for col in 0..n {
        // Solve L U x = P e_col.
        let mut x: Vec<T> = (0..n)
            .map(|i| if perm[i] == col { T::one() } else { T::zero() })
            .collect();
        for i in 0..n {
            for j in 0..i {
                x[i] = x[i] - lu[[i, j]] * x[j];
            }
        }
        for i in (0..n).rev() {
            for j in i + 1..n {
                x[i] = x[i] - lu[[i, j]] * x[j];
            }
            x[i] /= lu[[i, i]];
        }
        for i in 0..n {
            inv[[i, col]] = x[i];
        }
    }
    inv
}

/// `(sign, ln|det|)` of one matrix; a singular matrix gives `(0, −∞)`.
fn slogdet_2d<T: Element>(a: ArrayView2<T>) -> (T, T) {
    let Lu { lu, sign, .. } = lu(a);
    let mut s = sign;
    let mut log = T::zero();
    for i in 0..lu.nrows() {
        let d = lu[[i, i]];
        if d == T::zero() {
            return (T::zero(), T::neg_infinity());
        }
        s *= d.signum();
        log += d.abs().ln();
    }
    (s, log)
}

/// Applies `f` to each matrix of a `[n, n]` or `[b, n, n]` array.
fn per_matrix<T: Element, R>(a: &Storage<T>, f: impl Fn(ArrayView2<T>) -> R) -> Vec<R> {
    if a.ndim() == 2 {
        vec![f(a.view().into_dimensionality::<Ix2>().expect("2-D"))]
    } else {
        a.axis_iter(Axis(0))
            .map(|m| f(m.into_dimensionality::<Ix2>().expect("3-D")))
            .collect()
    }
}

fn check_square(op: &str, x: &Tensor) {
    let s = x.shape();
    let ok = (s.len() == 2 || s.len() == 3) && s[s.len() - 1] == s[s.len() - 2];
    assert!(ok, "{op}: need [n, n] or [batch, n, n], got {s:?}");
}

/// The batch shape of a matrix tensor: `[]` or `[b]`.
fn batch_shape(x: &Tensor) -> Vec<usize> {
    x.shape()[..x.ndim() - 2].to_vec()
}

struct Inverse;

impl Op for Inverse {
    fn name(&self) -> &'static str {
        "inverse"
    }
    fn vjp(&self, _: &[Tensor], y: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        // Ā = −A⁻ᵀ Ȳ A⁻ᵀ
        vec![Some(
            matmul_t(&matmul_t(y, ct, true, false), y, false, true).neg(),
        )]
    }
    fn jvp(&self, _: &[Tensor], y: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let t = t[0].as_ref().expect("inverse: tangent");
        y.matmul(t).matmul(y).neg()
    }
}

struct LogAbsDet;

impl Op for LogAbsDet {
    fn name(&self) -> &'static str {
        "logabsdet"
    }
    fn vjp(&self, inputs: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let a = &inputs[0];
        let mut s = batch_shape(a);
        s.extend([1, 1]);
        vec![Some(a.inverse().t().mul(&ct.reshape(&s)))]
    }
    fn jvp(&self, inputs: &[Tensor], _: &Tensor, t: &[Option<Tensor>]) -> Tensor {
        let a = &inputs[0];
        let t = t[0].as_ref().expect("logabsdet: tangent");
        let n = a.ndim();
        // tr(A⁻¹ T) = Σ_ij (A⁻ᵀ)_ij T_ij
        a.inverse()
            .t()
            .mul(t)
            .sum_axis(n - 1, false)
            .sum_axis(n - 2, false)
    }
}

impl Tensor {
    /// Matrix inverse of `[n, n]` or `[batch, n, n]`. A singular matrix gives non-finite values.
    ///
    /// # Panics
    /// If the matrices are not square.
    pub fn inverse(&self) -> Tensor {
        check_square("inverse", self);
        let data = map_data!(self.data(), a => {
            let mats = per_matrix(a, inverse_2d);
            let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
            if a.ndim() == 2 { mats[0].clone().into_dyn() } else {
                ndarray::stack(Axis(0), &views).expect("inverse: stack").into_dyn()
            }
        });
        Tensor::from_op(data, Inverse, &[self])
    }

    /// Sign and natural log of the absolute determinant of `[n, n]` or `[batch, n, n]`:
    /// `(sign, ln|det A|)` with shapes `[]` or `[batch]`. Only the log is differentiable
    /// (`∇_A ln|det A| = A⁻ᵀ`). A singular matrix gives `(0, −∞)`.
    ///
    /// # Panics
    /// If the matrices are not square.
    ///
    /// ```
    /// use flow_core::Tensor;
    /// let a = Tensor::from_slice(&[2.0f64, 0.0, 0.0, -3.0], &[2, 2]);
    /// let (sign, logabs) = a.slogdet();
    /// assert_eq!(sign.item(), -1.0);
    /// assert!((logabs.item() - 6f64.ln()).abs() < 1e-12);
    /// ```
    pub fn slogdet(&self) -> (Tensor, Tensor) {
        check_square("slogdet", self);
        let shape = batch_shape(self);
        let pairs: Vec<(f64, f64)> = with_data!(self.data(), a => {
            per_matrix(a, slogdet_2d).into_iter().map(|(s, l)| (s.to_f64_exact(), l.to_f64_exact())).collect()
        });
        let dtype = self.dtype();
        let sign = Tensor::from_vec(pairs.iter().map(|p| p.0).collect(), &shape).to_dtype(dtype);
        let logs = Tensor::from_vec(pairs.iter().map(|p| p.1).collect(), &shape).to_dtype(dtype);
        let data = logs.data().clone();
        (sign, Tensor::from_op(data, LogAbsDet, &[self]))
    }
}
