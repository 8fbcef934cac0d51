//! Separable quartic wells: the TRADE 5-D multi-well, bgflow's 2-D double well and FAB's
//! many-well, with exact normalisers by 1-D quadrature and exact samplers.
//!
//! References: Wu, Köhler, Noé, "Stochastic normalizing flows", arXiv 2002.06707 (bgflow
//! `MultiDimensionalDoubleWell`, `DoubleWellEnergy`); Midgley et al., FAB, arXiv 2208.01893
//! (`many_well.py`); TRADE `multi_well.py`.

use std::f64::consts::PI;

use flow_core::{DType, Tensor};
use rand::Rng;

use super::quadrature::{GridSampler1d, log_integral};
use super::{Potential, check_input};

/// Integration range for the 1-D quartics (their densities are < e⁻¹⁰⁰ beyond it for T ≤ 10).
const RANGE: (f64, f64) = (-8.0, 8.0);
/// Simpson half-intervals for the 1-D normalisers (h = 0.004: error ≪ 1e-10).
const NODES: usize = 2000;

/// `q(x) = a x + b x² + c x⁴` element-wise.
fn quartic(x: &Tensor, a: f64, b: f64, c: f64) -> Tensor {
    let x2 = x.square();
    x.mul_scalar(a)
        .add(&x2.mul_scalar(b))
        .add(&x2.square().mul_scalar(c))
}

fn quartic_f64(x: f64, (a, b, c): (f64, f64, f64)) -> f64 {
    a * x + b * x * x + c * x.powi(4)
}

/// `log ∫ exp(−q(x)/T) dx`.
fn log_z_quartic(abc: (f64, f64, f64), t: f64) -> f64 {
    log_integral(|x| -quartic_f64(x, abc) / t, RANGE.0, RANGE.1, NODES)
}

/// `u(x) = Σ_i a x_i + b x_i² + c x_i⁴` (TRADE multi-well: a = 0, b = −4, c = 1: minima at
/// ±√2, barrier 4, 2^dim equal modes).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MultiWell {
    /// Dimension.
    pub dim: usize,
    /// Linear coefficient.
    pub a: f64,
    /// Quadratic coefficient.
    pub b: f64,
    /// Quartic coefficient.
    pub c: f64,
}

impl MultiWell {
    /// The TRADE 5-D multi-well (32 modes).
    pub fn trade() -> Self {
        Self {
            dim: 5,
            a: 0.0,
            b: -4.0,
            c: 1.0,
        }
    }

    /// `log Z(T) = dim · log ∫ exp(−q(x)/T) dx`.
    pub fn log_z(&self, t: f64) -> f64 {
        self.dim as f64 * log_z_quartic((self.a, self.b, self.c), t)
    }

    /// `n` exact samples at temperature `T` (independent coordinates, inverse CDF).
    pub fn sample_exact<R: Rng + ?Sized>(&self, n: usize, t: f64, rng: &mut R) -> Tensor {
        let abc = (self.a, self.b, self.c);
        let s = GridSampler1d::new(|x| -quartic_f64(x, abc) / t, RANGE.0, RANGE.1, 16_000);
        let v = (0..n * self.dim).map(|_| s.sample(rng)).collect();
        Tensor::from_vec(v, &[n, self.dim]).to_dtype(DType::F64)
    }
}

impl Potential for MultiWell {
    fn dim(&self) -> usize {
        self.dim
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("MultiWell", x, self.dim);
        quartic(x, self.a, self.b, self.c).sum_axis(1, false)
    }
}

/// `u(x) = a x₁ + b x₁² + c x₁⁴ + ½ x₂²` (bgflow `DoubleWellEnergy`: a = 0, b = −4, c = 1).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DoubleWell2d {
    /// Linear coefficient.
    pub a: f64,
    /// Quadratic coefficient.
    pub b: f64,
    /// Quartic coefficient.
    pub c: f64,
}

impl DoubleWell2d {
    /// bgflow's default: `x₁⁴ − 4x₁² + ½x₂²`.
    pub fn bgflow() -> Self {
        Self {
            a: 0.0,
            b: -4.0,
            c: 1.0,
        }
    }

    /// FAB's double well: `x₁⁴ − 6x₁² − 0.5x₁ + ½x₂²`.
    pub fn fab() -> Self {
        Self {
            a: -0.5,
            b: -6.0,
            c: 1.0,
        }
    }

    /// `log Z(T) = log ∫ exp(−q(x₁)/T) dx₁ + ½ log(2πT)`.
    pub fn log_z(&self, t: f64) -> f64 {
        log_z_quartic((self.a, self.b, self.c), t) + 0.5 * (2.0 * PI * t).ln()
    }
}

impl Potential for DoubleWell2d {
    fn dim(&self) -> usize {
        2
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("DoubleWell2d", x, 2);
        let x1 = x.narrow(1, 0, 1).squeeze(1);
        let x2 = x.narrow(1, 1, 1).squeeze(1);
        quartic(&x1, self.a, self.b, self.c).add(&x2.square().mul_scalar(0.5))
    }
}

/// FAB many-well: `dim/2` independent copies of [`DoubleWell2d::fab`] on the coordinate pairs
/// `(x_{2k}, x_{2k+1})`; `2^{dim/2}` modes with `x_{2k} ≈ ±1.7`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ManyWell {
    /// Even dimension.
    pub dim: usize,
    /// The 2-D well that is repeated.
    pub well: DoubleWell2d,
}

impl ManyWell {
    /// FAB's ManyWell-`dim` (standard: 32).
    ///
    /// # Panics
    /// If `dim` is odd or zero.
    pub fn fab(dim: usize) -> Self {
        assert!(
            dim > 0 && dim.is_multiple_of(2),
            "ManyWell: dim must be even and positive, got {dim}"
        );
        Self {
            dim,
            well: DoubleWell2d::fab(),
        }
    }

    /// `log Z(T) = (dim/2) log Z_2D(T)` (FAB: `Z_2D(1) = 11784.50927 √(2π)`).
    pub fn log_z(&self, t: f64) -> f64 {
        (self.dim / 2) as f64 * self.well.log_z(t)
    }
}

impl Potential for ManyWell {
    fn dim(&self) -> usize {
        self.dim
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("ManyWell", x, self.dim);
        let pairs = x.reshape(&[x.dim(0) * self.dim / 2, 2]);
        self.well
            .potential(&pairs)
            .reshape(&[x.dim(0), self.dim / 2])
            .sum_axis(1, false)
    }
}
