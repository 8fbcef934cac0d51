//! Monotone rational-quadratic splines on `[−B, B]` with identity tails, differentiable in
//! the input and in the raw parameters to any order. The definition is a composition of
//! flow-core ops ([`SplineShape::composed`]); [`SplineShape::forward`] and
//! [`SplineShape::inverse`] run it as one fused op each, whose value and first-order VJP are
//! kernels (`bijections/rq_kernel/`) and whose other derivatives are the
//! composition's.
//!
//! With knots `(x_k, y_k)`, bin widths `w_k`, heights `h_k`, slopes `s_k = h_k / w_k`,
//! knot derivatives `d_k` and `θ = (x − x_k)/w_k ∈ [0, 1]` (Durkan et al. 2019, eqs. 4–8):
//! - `g(x) = y_k + h_k [s_k θ² + d_k θ(1−θ)] / [s_k + (d_{k+1} + d_k − 2 s_k) θ(1−θ)]`,
//! - `g'(x) = s_k² [d_{k+1} θ² + 2 s_k θ(1−θ) + d_k (1−θ)²] / [s_k + (d_{k+1} + d_k − 2 s_k) θ(1−θ)]²`,
//! - inverse: `θ = 2c / (−b − √(b² − 4ac))` with `a = h_k(s_k − d_k) + Δ c₂`,
//!   `b = h_k d_k − Δ c₂`, `c = −s_k Δ`, `Δ = y − y_k`, `c₂ = d_{k+1} + d_k − 2 s_k`.
//!
//! Outside `[−B, B]` the map is the identity (log-derivative 0); boundary derivatives are 1 so
//! the map is C¹. Widths/heights are `min + (1 − K·min)·softmax(raw)` (times `2B`); interior
//! derivatives are `min_d + softplus(raw + ln(e^{1−min_d} − 1))`, so raw parameters 0 give the
//! identity.
//!
//! References: Durkan, Bekasov, Murray, Papamakarios, "Neural Spline Flows", arXiv 1906.04068;
//! Gregory & Delbourgo (1982) for the rational-quadratic interpolant.

use flow_core::Tensor;
use flow_core::autodiff::fused::fused;

use super::rq_kernel::SplineKernel;

/// Shape constants of a spline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplineShape {
    /// Number of bins K.
    pub bins: usize,
    /// Half-width B of the spline's support.
    pub bound: f64,
    /// Minimum bin width and height, as a fraction of `2B`.
    pub min_bin: f64,
    /// Minimum interior knot derivative.
    pub min_derivative: f64,
}

/// The spline's knots for `M` rows: each `[M, K]` or `[M, K+1]`.
struct Knots {
    xs: Tensor,
    ys: Tensor,
    widths: Tensor,
    heights: Tensor,
    derivs: Tensor,
}

/// The bin of each row's value: how many interior knots lie at or below it (`0..K`).
fn bin_index(values: &Tensor, knots: &Tensor, bins: usize) -> Vec<usize> {
    let v = values.to_vec_f64();
    let k = knots.to_vec_f64();
    v.iter()
        .enumerate()
        .map(|(row, &x)| {
            let edges = &k[row * (bins + 1)..(row + 1) * (bins + 1)];
            edges[1..bins].iter().filter(|&&e| e <= x).count()
        })
        .collect()
}

/// `t[r, bin[r] + shift]` for every row `r` of `t: [M, W]`, as `[M]`: one gather from the
/// flattened tensor, whose VJP scatters the cotangent back to the picked entries. (It
/// replaced a one-hot mask product summed over the row: the same values for finite `t`,
/// without two `[M, K]` temporaries per pick forward and three backward.)
fn pick(t: &Tensor, bin: &[usize], shift: usize) -> Tensor {
    let width = t.dim(1);
    let flat: Vec<usize> = bin
        .iter()
        .enumerate()
        .map(|(row, &b)| row * width + b + shift)
        .collect();
    t.reshape(&[t.len()]).index_select(0, &flat)
}

impl SplineShape {
    /// Raw parameters per feature: `K` widths, `K` heights, `K − 1` derivatives.
    pub fn params_per_dim(&self) -> usize {
        3 * self.bins - 1
    }

    fn knots(&self, raw: &Tensor) -> Knots {
        let (m, k, b) = (raw.dim(0), self.bins, self.bound);
        let dtype = raw.dtype();
        let size = |u: &Tensor| {
            u.softmax(1)
                .mul_scalar(1.0 - self.min_bin * k as f64)
                .add_scalar(self.min_bin)
                .mul_scalar(2.0 * b)
        };
        let widths = size(&raw.narrow(1, 0, k));
        let heights = size(&raw.narrow(1, k, k));
        // cumsum as a product with the strictly-upper-triangular ones matrix C[j, i] = [j < i].
        let mut c = vec![0.0; k * (k + 1)];
        for j in 0..k {
            for i in j + 1..=k {
                c[j * (k + 1) + i] = 1.0;
            }
        }
        let cum = Tensor::from_vec(c, &[k, k + 1]).to_dtype(dtype);
        let xs = widths.matmul(&cum).add_scalar(-b);
        let ys = heights.matmul(&cum).add_scalar(-b);
        let offset = ((1.0 - self.min_derivative).exp() - 1.0).ln();
        let inner = raw
            .narrow(1, 2 * k, k - 1)
            .add_scalar(offset)
            .softplus()
            .add_scalar(self.min_derivative);
        let one = Tensor::ones(&[m, 1], dtype);
        let derivs = Tensor::concat(&[&one, &inner, &one], 1);
        Knots {
            xs,
            ys,
            widths,
            heights,
            derivs,
        }
    }

    /// `(g(x), log g'(x))` element-wise for `x: [M]`, `raw: [M, 3K−1]`: one fused op
    /// (`bijections/rq_kernel/`) defined by the composition of [`composed`](Self::composed).
    ///
    /// # Panics
    /// If the shapes or dtypes do not match.
    pub fn forward(&self, x: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        self.fused(x, raw, false)
    }

    /// `(g⁻¹(y), log (g⁻¹)'(y))` element-wise, as one fused op like [`forward`](Self::forward).
    ///
    /// # Panics
    /// If the shapes or dtypes do not match.
    pub fn inverse(&self, y: &Tensor, raw: &Tensor) -> (Tensor, Tensor) {
        self.fused(y, raw, true)
    }

    /// The spline (or its inverse) as the composition of tensor ops that defines it, what
    /// [`forward`](Self::forward) and [`inverse`](Self::inverse) compute up to round-off: the
    /// oracle of the fused kernels.
    pub fn composed(&self, v: &Tensor, raw: &Tensor, inverse: bool) -> (Tensor, Tensor) {
        self.evaluate(v, raw, inverse)
    }

    fn fused(&self, v: &Tensor, raw: &Tensor, inverse: bool) -> (Tensor, Tensor) {
        let m = v.len();
        assert!(
            v.shape() == [m]
                && raw.shape() == [m, self.params_per_dim()]
                && v.dtype() == raw.dtype(),
            "rq spline: input {:?} ({}) and raw {:?} ({}) do not match [M] and [M, {}] of one dtype",
            v.shape(),
            v.dtype(),
            raw.shape(),
            raw.dtype(),
            self.params_per_dim()
        );
        let kernel = SplineKernel {
            shape: *self,
            inverse,
        };
        let out = fused(kernel, &[v, raw]);
        (
            out.narrow(0, 0, 1).reshape(&[m]),
            out.narrow(0, 1, 1).reshape(&[m]),
        )
    }

    pub(super) fn evaluate(&self, v: &Tensor, raw: &Tensor, inverse: bool) -> (Tensor, Tensor) {
        let (k, b) = (self.bins, self.bound);
        let kn = self.knots(raw);
        let inside = v.abs().lt_scalar(b);
        let vc = v.clamp(-b, b);
        let edges = if inverse { &kn.ys } else { &kn.xs };
        let bin = bin_index(&vc, edges, k);
        let xk = pick(&kn.xs, &bin, 0);
        let yk = pick(&kn.ys, &bin, 0);
        let wk = pick(&kn.widths, &bin, 0);
        let hk = pick(&kn.heights, &bin, 0);
        let dk = pick(&kn.derivs, &bin, 0);
        let dk1 = pick(&kn.derivs, &bin, 1);
        let sk = hk.div(&wk);
        let c2 = dk1.add(&dk).sub(&sk.mul_scalar(2.0));
        let theta = if inverse {
            let delta = vc.sub(&yk);
            let qa = hk.mul(&sk.sub(&dk)).add(&delta.mul(&c2));
            let qb = hk.mul(&dk).sub(&delta.mul(&c2));
            let qc = sk.mul(&delta).neg();
            let disc = qb.square().sub(&qa.mul(&qc).mul_scalar(4.0)).relu();
            qc.mul_scalar(2.0).div(&qb.neg().sub(&disc.sqrt()))
        } else {
            vc.sub(&xk).div(&wk)
        };
        let one_minus = theta.neg().add_scalar(1.0);
        let t1 = theta.mul(&one_minus);
        let denom = sk.add(&c2.mul(&t1));
        let numer = dk1
            .mul(&theta.square())
            .add(&sk.mul(&t1).mul_scalar(2.0))
            .add(&dk.mul(&one_minus.square()));
        let log_deriv = sk
            .log()
            .mul_scalar(2.0)
            .add(&numer.log())
            .sub(&denom.log().mul_scalar(2.0));
        let zero = v.zeros_like();
        if inverse {
            let x = theta.mul(&wk).add(&xk);
            (
                Tensor::where_cond(&inside, &x, v),
                Tensor::where_cond(&inside, &log_deriv.neg(), &zero),
            )
        } else {
            let y = yk.add(
                &hk.mul(&sk.mul(&theta.square()).add(&dk.mul(&t1)))
                    .div(&denom),
            );
            (
                Tensor::where_cond(&inside, &y, v),
                Tensor::where_cond(&inside, &log_deriv, &zero),
            )
        }
    }
}
