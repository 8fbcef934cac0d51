//! Exact piecewise-linear form and Fourier coefficients of 1-D ReLU networks
//! (arXiv 1806.08734, Sec. 2, Lemma 1 / Theorem 1 specialised to d = 1: `f̃(k)` decays as
//! `k⁻²` with a constant bounded by the number of linear pieces and the Lipschitz constant).

use flow_core::nn::Mlp;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rustfft::num_complex::Complex64;

/// A scalar ReLU MLP `R → R`: affine layers with ReLU between them (none after the last).
#[derive(Clone, Debug, PartialEq)]
pub struct ReluNet1d {
    layers: Vec<(DMatrix<f64>, DVector<f64>)>,
}

impl ReluNet1d {
    /// Wraps explicit `(W [out×in], b [out])` layers.
    ///
    /// # Panics
    /// If the first layer does not take 1 input, the last does not give 1 output, or shapes
    /// do not chain.
    pub fn new(layers: Vec<(DMatrix<f64>, DVector<f64>)>) -> ReluNet1d {
        assert!(!layers.is_empty(), "ReluNet1d: no layers");
        assert_eq!(
            layers[0].0.ncols(),
            1,
            "ReluNet1d: first layer must take 1 input"
        );
        assert_eq!(
            layers.last().expect("non-empty").0.nrows(),
            1,
            "ReluNet1d: last layer must give 1 output"
        );
        for w in layers.windows(2) {
            assert_eq!(
                w[0].0.nrows(),
                w[1].0.ncols(),
                "ReluNet1d: layer shapes do not chain"
            );
        }
        for (w, b) in &layers {
            assert_eq!(
                w.nrows(),
                b.len(),
                "ReluNet1d: bias length {} vs {} outputs",
                b.len(),
                w.nrows()
            );
        }
        ReluNet1d { layers }
    }

    /// A random network with `depth` hidden layers of `width`, PyTorch's default init
    /// (`U(±1/√fan_in)` for weights and biases, as in the paper's notebooks).
    pub fn random<R: Rng + ?Sized>(width: usize, depth: usize, rng: &mut R) -> ReluNet1d {
        let mut dims = vec![1];
        dims.extend(std::iter::repeat_n(width, depth));
        dims.push(1);
        let layers = dims
            .windows(2)
            .map(|w| {
                let a = 1.0 / (w[0] as f64).sqrt();
                let mut u = || a * (2.0 * rng.random::<f64>() - 1.0);
                (
                    DMatrix::from_fn(w[1], w[0], |_, _| u()),
                    DVector::from_fn(w[1], |_, _| u()),
                )
            })
            .collect();
        ReluNet1d::new(layers)
    }

    /// Reads the weights of a flow-core ReLU [`Mlp`] with 1 input and 1 output.
    ///
    /// # Panics
    /// As [`ReluNet1d::new`], or if a layer has no bias.
    pub fn from_mlp(mlp: &Mlp) -> ReluNet1d {
        let layers = mlp
            .layers
            .iter()
            .map(|l| {
                let w = l.weight.get();
                let (o, i) = (w.dim(0), w.dim(1));
                let b = l
                    .bias
                    .as_ref()
                    .expect("ReluNet1d::from_mlp: layer without bias")
                    .get();
                (
                    DMatrix::from_row_slice(o, i, &w.to_vec_f64()),
                    DVector::from_vec(b.to_vec_f64()),
                )
            })
            .collect();
        ReluNet1d::new(layers)
    }

    /// `f(x)`.
    pub fn eval(&self, x: f64) -> f64 {
        let mut h = DVector::from_element(1, x);
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = w * h + b;
            if i + 1 < self.layers.len() {
                h.apply(|v| *v = v.max(0.0));
            }
        }
        h[0]
    }

    /// The exact piecewise-linear form on `[lo, hi]` by region splitting: each layer's
    /// pre-activations are linear between the current breakpoints, so every sign change inside
    /// a segment is one new breakpoint found by linear interpolation (arXiv 1806.08734, Sec. 2:
    /// ReLU networks are continuous piecewise-linear).
    ///
    /// # Panics
    /// If `lo ≥ hi`.
    pub fn piecewise(&self, lo: f64, hi: f64) -> PiecewiseLinear {
        assert!(lo < hi, "ReluNet1d::piecewise: empty interval [{lo}, {hi}]");
        let mut knots = vec![lo, hi];
        // Activations at each knot: columns.
        let mut h = DMatrix::from_row_slice(1, 2, &[lo, hi]);
        for (li, (w, b)) in self.layers.iter().enumerate() {
            let mut pre = w * &h;
            for mut col in pre.column_iter_mut() {
                col += b;
            }
            if li + 1 == self.layers.len() {
                h = pre;
                break;
            }
            // Split segments at sign changes of any unit.
            let (mut new_knots, mut cols) = (vec![knots[0]], vec![pre.column(0).into_owned()]);
            for s in 0..knots.len() - 1 {
                let (a, c) = (pre.column(s), pre.column(s + 1));
                let mut cuts: Vec<f64> = (0..pre.nrows())
                    .filter(|&u| (a[u] < 0.0 && c[u] > 0.0) || (a[u] > 0.0 && c[u] < 0.0))
                    .map(|u| a[u] / (a[u] - c[u]))
                    .collect();
                cuts.sort_by(f64::total_cmp);
                cuts.dedup();
                for frac in cuts {
                    new_knots.push(knots[s] + frac * (knots[s + 1] - knots[s]));
                    cols.push(a * (1.0 - frac) + c * frac);
                }
                new_knots.push(knots[s + 1]);
                cols.push(c.into_owned());
            }
            knots = new_knots;
            h = DMatrix::from_columns(&cols);
            h.apply(|v| *v = v.max(0.0));
        }
        PiecewiseLinear {
            knots,
            values: h.row(0).iter().copied().collect(),
        }
    }

    /// `Π_l ‖W_l‖₂` (spectral norms by `iters` power iterations): an upper bound on the
    /// Lipschitz constant (arXiv 1806.08734, Sec. 2, `L_f`).
    pub fn lipschitz_bound(&self, iters: usize) -> f64 {
        self.layers
            .iter()
            .map(|(w, _)| {
                let wtw = w.transpose() * w;
                let mut v = DVector::from_element(w.ncols(), 1.0 / (w.ncols() as f64).sqrt());
                let mut lambda = 0.0;
                for _ in 0..iters {
                    let u = &wtw * &v;
                    lambda = u.norm();
                    if lambda == 0.0 {
                        break;
                    }
                    v = u / lambda;
                }
                lambda.sqrt()
            })
            .product()
    }
}

/// A continuous piecewise-linear function given by its values at increasing knots.
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseLinear {
    /// Increasing breakpoints; the first and last are the interval ends.
    pub knots: Vec<f64>,
    /// `f` at each knot.
    pub values: Vec<f64>,
}

impl PiecewiseLinear {
    /// Slope on each segment.
    pub fn slopes(&self) -> Vec<f64> {
        self.knots
            .windows(2)
            .zip(self.values.windows(2))
            .map(|(k, v)| (v[1] - v[0]) / (k[1] - k[0]))
            .collect()
    }

    /// Interior kinks `(x_j, Δ_j)` with slope jump `Δ_j = f'(x_j⁺) − f'(x_j⁻)`.
    pub fn kinks(&self) -> Vec<(f64, f64)> {
        let s = self.slopes();
        (1..self.knots.len() - 1)
            .map(|j| (self.knots[j], s[j] - s[j - 1]))
            .collect()
    }

    /// `TV(f') = Σ |Δ_j|`.
    pub fn slope_total_variation(&self) -> f64 {
        self.kinks().iter().map(|(_, d)| d.abs()).sum()
    }

    /// `∫₀¹ f(x) e^{−2πikx} dx` by exact integration of each linear piece: the antiderivative
    /// of `(α + βx) e^{−iωx}` is `e^{−iωx} (i f(x)/ω + β/ω²)` with `ω = 2πk`
    /// (arXiv 1806.08734, Sec. 2, the Fourier transform of a piecewise-linear function).
    /// Assumes the knots span `[0, 1]`.
    ///
    /// # Panics
    /// If `k == 0`.
    pub fn fourier_exact(&self, k: i64) -> Complex64 {
        assert!(k != 0, "fourier_exact: k must be non-zero");
        let w = 2.0 * std::f64::consts::PI * k as f64;
        let slopes = self.slopes();
        let anti = |x: f64, fx: f64, beta: f64| {
            Complex64::from_polar(1.0, -w * x) * Complex64::new(beta / (w * w), fx / w)
        };
        (0..slopes.len())
            .map(|s| {
                anti(self.knots[s + 1], self.values[s + 1], slopes[s])
                    - anti(self.knots[s], self.values[s], slopes[s])
            })
            .sum()
    }

    /// The boundary term `B(k) = −(f(1) − f(0))/(2πik) − (f'(1⁻) − f'(0⁺))/(2πik)²`
    /// (integration by parts twice; theory.md D.1).
    pub fn boundary_term(&self, k: i64) -> Complex64 {
        let ik = Complex64::new(0.0, 2.0 * std::f64::consts::PI * k as f64);
        let s = self.slopes();
        let df = self.values[self.values.len() - 1] - self.values[0];
        let dslope = s[s.len() - 1] - s[0];
        -df / ik - dslope / (ik * ik)
    }

    /// `B(k) + Σ_j Δ_j e^{−2πikx_j}/(2πik)²`: the kink expansion of `f̃(k)`
    /// (arXiv 1806.08734, Sec. 2, Eq. for `f̃` with `n = 0`-dimensional `H`, `‖k‖^{−2}` decay).
    pub fn fourier_kink_formula(&self, k: i64) -> Complex64 {
        let ik = Complex64::new(0.0, 2.0 * std::f64::consts::PI * k as f64);
        let w = 2.0 * std::f64::consts::PI * k as f64;
        self.boundary_term(k)
            + self
                .kinks()
                .iter()
                .map(|&(x, d)| Complex64::from_polar(d, -w * x) / (ik * ik))
                .sum::<Complex64>()
    }

    /// `f(x)` by linear interpolation (constant extrapolation outside the knots).
    pub fn eval(&self, x: f64) -> f64 {
        let n = self.knots.len();
        if x <= self.knots[0] {
            return self.values[0];
        }
        if x >= self.knots[n - 1] {
            return self.values[n - 1];
        }
        let i = self.knots.partition_point(|k| *k <= x) - 1;
        let t = (x - self.knots[i]) / (self.knots[i + 1] - self.knots[i]);
        self.values[i] * (1.0 - t) + self.values[i + 1] * t
    }
}
