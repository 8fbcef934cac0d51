//! The knots of every row, computed column by column: each loop runs over all rows for one
//! bin, so it vectorises across rows, and each row's bin is selected by comparisons, never by
//! a branch.

use flow_core::Element;

use super::c;
use super::rows::Bin;
use crate::bijections::rq_spline::SplineShape;

#[inline(always)]
fn softplus<T: Element>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp_fast().ln_1p_fast()
}

/// `[rows, cols]` to `[cols, rows]`.
#[inline(always)]
pub(super) fn transpose<T: Element>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = vec![T::zero(); rows * cols];
    let a = &a[..rows * cols];
    for (c, o) in out.chunks_exact_mut(rows).enumerate() {
        for (r, o) in o.iter_mut().enumerate() {
            *o = a[r * cols + c];
        }
    }
    out
}

/// The knots of `M` rows.
pub(super) struct Knots<T> {
    /// Softmax probabilities of the widths and of the heights, `[K, M]`.
    pub pw: Vec<T>,
    pub ph: Vec<T>,
    /// The input clamped into `[−B, B]` (0 outside, NaN included), whether it lies inside,
    /// and its bin (as a float).
    pub v: Vec<T>,
    pub inside: Vec<bool>,
    pub bin: Vec<T>,
    /// `x_k, y_k, w_k, h_k, d_k, d_{k+1}` of each row's bin.
    xk: Vec<T>,
    yk: Vec<T>,
    wk: Vec<T>,
    hk: Vec<T>,
    dk: Vec<T>,
    dk1: Vec<T>,
}

/// Column-wise softmax of the `k` columns starting at `first` of `cols` (`[P, M]`).
#[inline(always)]
fn softmax_columns<T: Element>(cols: &[T], m: usize, first: usize, k: usize) -> Vec<T> {
    let col = |j: usize| &cols[(first + j) * m..(first + j + 1) * m];
    let mut max = col(0).to_vec();
    for j in 1..k {
        for (mx, &u) in max.iter_mut().zip(col(j)) {
            *mx = mx.max(u);
        }
    }
    let mut p = vec![T::zero(); k * m];
    let mut sum = vec![T::zero(); m];
    for j in 0..k {
        let pj = &mut p[j * m..(j + 1) * m];
        for (((pj, &u), &mx), s) in pj.iter_mut().zip(col(j)).zip(&max).zip(&mut sum) {
            *pj = (u - mx).exp_fast();
            *s += *pj;
        }
    }
    for pj in p.chunks_exact_mut(m) {
        for (pj, &s) in pj.iter_mut().zip(&sum) {
            *pj /= s;
        }
    }
    p
}

/// Knot derivatives `[K + 1, M]`: 1 at both ends, `m_d + softplus(r + c)` inside.
#[inline(always)]
fn derivatives<T: Element>(sh: &SplineShape, cols: &[T], m: usize) -> Vec<T> {
    let k = sh.bins;
    let mut d = vec![T::one(); (k + 1) * m];
    let (offset, min_d) = (c::<T>(sh.derivative_offset()), c::<T>(sh.min_derivative));
    for i in 1..k {
        let raw = &cols[(2 * k + i - 1) * m..(2 * k + i) * m];
        for (d, &r) in d[i * m..(i + 1) * m].iter_mut().zip(raw) {
            *d = softplus(r + offset) + min_d;
        }
    }
    d
}

impl SplineShape {
    /// The derivative offset `ln(e^{1 − m_d} − 1)` that makes raw parameters 0 the identity.
    pub(super) fn derivative_offset(&self) -> f64 {
        ((1.0 - self.min_derivative).exp() - 1.0).ln()
    }

    /// Knots from the parameter columns `cols: [3K − 1, M]` and the bin of each value of
    /// `v: [M]` among the knots' `x` (forward) or `y` (`INVERSE`) positions.
    #[inline(always)]
    pub(super) fn column_knots<T: Element, const INVERSE: bool>(
        &self,
        v: &[T],
        cols: &[T],
    ) -> Knots<T> {
        let (m, k, b) = (v.len(), self.bins, c::<T>(self.bound));
        let d = derivatives(self, cols, m);
        let inside: Vec<bool> = v.iter().map(|v| v.abs() < b).collect();
        let vc = v
            .iter()
            .zip(&inside)
            .map(|(&v, &i)| if i { v } else { T::zero() });
        let mut kn = Knots {
            pw: softmax_columns(cols, m, 0, k),
            ph: softmax_columns(cols, m, k, k),
            v: vc.collect(),
            inside,
            bin: vec![T::zero(); m],
            xk: vec![-b; m],
            yk: vec![-b; m],
            wk: vec![T::zero(); m],
            hk: vec![T::zero(); m],
            dk: vec![T::zero(); m],
            dk1: vec![T::zero(); m],
        };
        let (scale, min) = (c::<T>(1.0 - self.min_bin * k as f64), c::<T>(self.min_bin));
        let two_b = c::<T>(2.0) * b;
        let (mut cx, mut cy) = (vec![-b; m], vec![-b; m]);
        for j in 0..k {
            let jf = c::<T>(j as f64);
            let (pw, ph) = (&kn.pw[j * m..(j + 1) * m], &kn.ph[j * m..(j + 1) * m]);
            let (dj, dj1) = (&d[j * m..(j + 1) * m], &d[(j + 1) * m..(j + 2) * m]);
            let (vs, bin) = (&kn.v[..m], &mut kn.bin[..m]);
            let (xk, yk, wk, hk) = (
                &mut kn.xk[..m],
                &mut kn.yk[..m],
                &mut kn.wk[..m],
                &mut kn.hk[..m],
            );
            let (dk, dk1, cx, cy) = (
                &mut kn.dk[..m],
                &mut kn.dk1[..m],
                &mut cx[..m],
                &mut cy[..m],
            );
            for r in 0..m {
                let w = (pw[r] * scale + min) * two_b;
                let h = (ph[r] * scale + min) * two_b;
                // The bin is the last knot at or below v (knot 0 always qualifies).
                let edge = if INVERSE { cy[r] } else { cx[r] };
                let sel = j == 0 || edge <= vs[r];
                let pick = |new: T, old: T| if sel { new } else { old };
                bin[r] = pick(jf, bin[r]);
                xk[r] = pick(cx[r], xk[r]);
                yk[r] = pick(cy[r], yk[r]);
                wk[r] = pick(w, wk[r]);
                hk[r] = pick(h, hk[r]);
                dk[r] = pick(dj[r], dk[r]);
                dk1[r] = pick(dj1[r], dk1[r]);
                cx[r] += w;
                cy[r] += h;
            }
        }
        kn
    }
}

impl<T: Element> Knots<T> {
    /// The bins of all rows as slices cut to `M` (so that loops over them need no bounds
    /// checks and vectorise), read through [`BinRows::at`].
    #[inline(always)]
    pub(super) fn rows(&self) -> BinRows<'_, T> {
        let m = self.v.len();
        BinRows {
            v: &self.v[..m],
            xk: &self.xk[..m],
            yk: &self.yk[..m],
            wk: &self.wk[..m],
            hk: &self.hk[..m],
            dk: &self.dk[..m],
            dk1: &self.dk1[..m],
        }
    }
}

pub(super) struct BinRows<'a, T> {
    v: &'a [T],
    xk: &'a [T],
    yk: &'a [T],
    wk: &'a [T],
    hk: &'a [T],
    dk: &'a [T],
    dk1: &'a [T],
}

impl<T: Element> BinRows<'_, T> {
    #[inline(always)]
    pub(super) fn at(&self, r: usize) -> Bin<T> {
        Bin {
            v: self.v[r],
            xk: self.xk[r],
            yk: self.yk[r],
            wk: self.wk[r],
            hk: self.hk[r],
            dk: self.dk[r],
            dk1: self.dk1[r],
        }
    }
}

/// The VJP of `size · softmax(u)` column by column, for a cotangent that is `below` in the
/// bins under each row's bin, `at` in its bin and 0 above: `ū_j = size p_j (w̄_j − Σ_i p_i w̄_i)`.
#[inline(always)]
pub(super) fn softmax_columns_vjp<T: Element>(
    p: &[T],
    bin: &[T],
    below: &[T],
    at: &[T],
    size: T,
    out: &mut [T],
) {
    let m = bin.len();
    let (bin, below, at) = (&bin[..m], &below[..m], &at[..m]);
    let cot = |j: usize, r: usize| {
        let jf = c::<T>(j as f64);
        if jf < bin[r] {
            below[r]
        } else if jf == bin[r] {
            at[r]
        } else {
            T::zero()
        }
    };
    let mut dot = vec![T::zero(); m];
    let dot = &mut dot[..m];
    for (j, pj) in p.chunks_exact(m).enumerate() {
        let pj = &pj[..m];
        for r in 0..m {
            dot[r] += pj[r] * cot(j, r);
        }
    }
    for (j, (pj, oj)) in p.chunks_exact(m).zip(out.chunks_exact_mut(m)).enumerate() {
        let (pj, oj) = (&pj[..m], &mut oj[..m]);
        for r in 0..m {
            oj[r] = size * pj[r] * (cot(j, r) - dot[r]);
        }
    }
}
