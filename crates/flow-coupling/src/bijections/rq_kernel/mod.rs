//! The rational-quadratic spline, forward and inverse, as one fused op each
//! (`flow_core::autodiff::fused`): one pass over the rows for the values and log-derivatives
//! and one for their VJP, where the composition of [`rq_spline`](super::rq_spline) runs ~60
//! tensor ops forward and as many backward. The composition stays the definition: recorded
//! backward passes (higher derivatives) and tangents take it.
//!
//! The VJP is reverse-mode by hand through the formulas of [`rq_spline`](super::rq_spline)
//! (Durkan et al. 2019, eqs. 4–8). For one row, with `θ = (x − x_k)/w_k`, `s = h_k/w_k`,
//! `c₂ = d_{k+1} + d_k − 2s`, `t = θ(1 − θ)`, `D = s + c₂ t`, `P = s θ² + d_k t`,
//! `N = d_{k+1} θ² + 2 s t + d_k (1 − θ)²`, the outputs are `y = y_k + h_k P / D` and
//! `ℓ = 2 ln s + ln N − 2 ln D`, so with cotangents `ȳ`, `ℓ̄`:
//! - `P̄ = ȳ h_k / D`, `D̄ = −ȳ h_k P / D² − 2 ℓ̄ / D`, `N̄ = ℓ̄ / N`;
//! - `s̄ = 2 ℓ̄ / s + D̄ (1 − 2t) + P̄ θ² + 2 N̄ t`, `t̄ = D̄ c₂ + P̄ d_k + 2 N̄ s`;
//! - `θ̄ = t̄ (1 − 2θ) + 2 N̄ (d_{k+1} θ − d_k (1 − θ)) + 2 P̄ s θ`;
//! - `d̄_{k+1} = D̄ t + N̄ θ²`, `d̄_k = D̄ t + N̄ (1 − θ)² + P̄ t`;
//! - `h̄_k = ȳ P / D + s̄ / w_k`, `w̄_k = −(s̄ s + θ̄ θ) / w_k`, `x̄ = θ̄ / w_k`, `x̄_k = −θ̄ / w_k`,
//!   `ȳ_k = ȳ`;
//!
//! then back through the knots: `x_i = −B + Σ_{j<i} w_j` gives `w̄_j += x̄_k` for `j < k`, the
//! softmax `w = 2B (m + (1 − K m) softmax(u))` gives `ū_j = p_j (g_j − Σ_i p_i g_i)` with
//! `g = 2B (1 − K m) w̄`, and `d = m_d + softplus(r + c)` gives `r̄ = d̄ σ(r + c)`. Rows outside
//! `[−B, B]` are the identity: `x̄ = ȳ`, no parameter cotangent. The inverse's VJP follows
//! from the same rules by the implicit function theorem ([`rows::inverse_vjp`]).

//!
//! Layout: the raw parameters are transposed to one column per parameter, and every step is a
//! loop over all rows for one bin, so the loops vectorise across rows (the bin of each row is
//! selected by comparisons, never by a branch); the whole kernel runs inside
//! [`flow_core::fastmath::widest`], where the fast `exp`/`ln` polynomials inline. Forward and
//! inverse build their knots with the same code, so a round trip sees the same knots.

mod columns;
mod rows;

use flow_core::autodiff::fused::Fused;
use flow_core::fastmath::widest;
use flow_core::{DType, Element, Tensor};

use super::rq_spline::SplineShape;
use columns::{softmax_columns_vjp, transpose};
use rows::{RowGrads, forward_vjp, inverse_vjp, log_deriv, row};

/// The spline (or its inverse, `inverse`) for `v: [M]` and `raw: [M, 3K − 1]`, as a `[2, M]`
/// output: row 0 the values, row 1 the log-derivatives.
pub(super) struct SplineKernel {
    pub shape: SplineShape,
    pub inverse: bool,
}

#[inline(always)]
fn c<T: Element>(v: f64) -> T {
    T::from_f64_lossy(v)
}

#[inline(always)]
fn sigmoid<T: Element>(x: T) -> T {
    T::one() / (T::one() + (-x).exp_fast())
}

impl SplineKernel {
    #[inline(always)]
    fn value_typed<T: Element, const INVERSE: bool>(&self, v: &[T], raw: &[T]) -> Vec<T> {
        let (m, p) = (v.len(), self.shape.params_per_dim());
        let cols = transpose(raw, m, p);
        let kn = self.shape.column_knots::<T, INVERSE>(v, &cols);
        let mut out = vec![T::zero(); 2 * m];
        let (vals, logs) = out.split_at_mut(m);
        let (vals, logs, vs, inside) = (&mut vals[..m], &mut logs[..m], &v[..m], &kn.inside[..m]);
        let rows = kn.rows();
        for r in 0..m {
            let b = rows.at(r);
            let q = row(b, INVERSE);
            let (value, l) = if INVERSE {
                (b.xk + q.theta * b.wk, -log_deriv(&q))
            } else {
                (b.yk + b.hk * q.p / q.denom, log_deriv(&q))
            };
            vals[r] = if inside[r] { value } else { vs[r] };
            logs[r] = if inside[r] { l } else { T::zero() };
        }
        out
    }

    /// `(v̄, raw̄)` for `v: [M]`, `raw: [M, P]` and the cotangent `[2, M]`.
    #[inline(always)]
    fn vjp_typed<T: Element, const INVERSE: bool>(
        &self,
        v: &[T],
        raw: &[T],
        ct: &[T],
    ) -> (Vec<T>, Vec<T>) {
        let sh = &self.shape;
        let (m, k, p) = (v.len(), sh.bins, sh.params_per_dim());
        let cols = transpose(raw, m, p);
        let kn = sh.column_knots::<T, INVERSE>(v, &cols);
        let (g0, gl) = ct.split_at(m);
        let (g0, gl, inside) = (&g0[..m], &gl[..m], &kn.inside[..m]);
        let zeros = || vec![T::zero(); m];
        let (mut gv, mut gxk, mut gyk, mut gwk) = (zeros(), zeros(), zeros(), zeros());
        let (mut ghk, mut gdk, mut gdk1) = (zeros(), zeros(), zeros());
        {
            let (gv, gxk, gyk, gwk) = (&mut gv[..m], &mut gxk[..m], &mut gyk[..m], &mut gwk[..m]);
            let (ghk, gdk, gdk1) = (&mut ghk[..m], &mut gdk[..m], &mut gdk1[..m]);
            let rows = kn.rows();
            for r in 0..m {
                let g: RowGrads<T> = if INVERSE {
                    inverse_vjp(rows.at(r), g0[r], gl[r])
                } else {
                    forward_vjp(rows.at(r), g0[r], gl[r])
                };
                let keep = |x: T| if inside[r] { x } else { T::zero() };
                gv[r] = if inside[r] { g.input } else { g0[r] };
                gxk[r] = keep(g.xk);
                gyk[r] = keep(g.yk);
                gwk[r] = keep(g.wk);
                ghk[r] = keep(g.hk);
                gdk[r] = keep(g.dk);
                gdk1[r] = keep(g.dk1);
            }
        }
        let size = c::<T>(2.0 * sh.bound * (1.0 - sh.min_bin * k as f64));
        let mut gcols = vec![T::zero(); p * m];
        let (gw, rest) = gcols.split_at_mut(k * m);
        let (gh, gd) = rest.split_at_mut(k * m);
        softmax_columns_vjp(&kn.pw, &kn.bin, &gxk, &gwk, size, gw);
        softmax_columns_vjp(&kn.ph, &kn.bin, &gyk, &ghk, size, gh);
        let offset = c::<T>(sh.derivative_offset());
        for i in 1..k {
            let (f, f1) = (c::<T>(i as f64), c::<T>(i as f64 - 1.0));
            let raw_i = &cols[(2 * k + i - 1) * m..(2 * k + i) * m];
            let out = &mut gd[(i - 1) * m..i * m];
            let (bin, gdk, gdk1) = (&kn.bin[..m], &gdk[..m], &gdk1[..m]);
            for r in 0..m {
                let at = if bin[r] == f { gdk[r] } else { T::zero() };
                let above = if bin[r] == f1 { gdk1[r] } else { T::zero() };
                out[r] = (at + above) * sigmoid(raw_i[r] + offset);
            }
        }
        (gv, transpose(&gcols, p, m))
    }
}

/// Flat row-major values of a stored tensor.
fn slice<T: Element>(t: &Tensor) -> &[T] {
    t.data()
        .typed::<T>()
        .as_slice()
        .expect("stored tensors are in standard layout")
}

impl SplineKernel {
    fn value_of<T: Element>(&self, v: &Tensor, raw: &Tensor) -> Tensor {
        let (vs, rs) = (slice::<T>(v), slice::<T>(raw));
        // The direction is a constant inside each kernel, so its loops carry no branch on it.
        let out = if self.inverse {
            widest(
                #[inline(always)]
                || self.value_typed::<T, true>(vs, rs),
            )
        } else {
            widest(
                #[inline(always)]
                || self.value_typed::<T, false>(vs, rs),
            )
        };
        Tensor::from_vec(out, &[2, vs.len()])
    }

    fn vjp_of<T: Element>(&self, v: &Tensor, raw: &Tensor, ct: &Tensor) -> (Tensor, Tensor) {
        let (vs, rs, cs) = (slice::<T>(v), slice::<T>(raw), slice::<T>(ct));
        let (gv, graw) = if self.inverse {
            widest(
                #[inline(always)]
                || self.vjp_typed::<T, true>(vs, rs, cs),
            )
        } else {
            widest(
                #[inline(always)]
                || self.vjp_typed::<T, false>(vs, rs, cs),
            )
        };
        (
            Tensor::from_vec(gv, v.shape()),
            Tensor::from_vec(graw, raw.shape()),
        )
    }
}

impl Fused for SplineKernel {
    fn name(&self) -> &'static str {
        if self.inverse {
            "rq_spline_inverse"
        } else {
            "rq_spline_forward"
        }
    }

    fn compose(&self, inputs: &[Tensor]) -> Tensor {
        let m = inputs[0].len();
        let (out, logd) = self.shape.evaluate(&inputs[0], &inputs[1], self.inverse);
        Tensor::concat(&[&out.reshape(&[1, m]), &logd.reshape(&[1, m])], 0)
    }

    fn value(&self, inputs: &[Tensor]) -> Tensor {
        match inputs[0].dtype() {
            DType::F32 => self.value_of::<f32>(&inputs[0], &inputs[1]),
            DType::F64 => self.value_of::<f64>(&inputs[0], &inputs[1]),
        }
    }

    fn vjp(&self, inputs: &[Tensor], _: &Tensor, ct: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let (v, raw) = (&inputs[0], &inputs[1]);
        let (gv, graw) = match v.dtype() {
            DType::F32 => self.vjp_of::<f32>(v, raw, ct),
            DType::F64 => self.vjp_of::<f64>(v, raw, ct),
        };
        vec![Some(gv), Some(graw)]
    }
}
