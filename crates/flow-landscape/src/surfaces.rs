//! The analytic 2-D test energies of the official code (`torch_autoneb/models/simple.py`),
//! whose saddle energies are known exactly, so AutoNEB can be checked against the truth.

use std::f64::consts::PI;

use crate::objective::Landscape;

/// CurvyValley: `E(x, y) = (y − sin x)² + (βx⁴ − αx²)·4β/α² + 1` with `α = 1`,
/// `x₀ = 5π/2`, `β = α/(2x₀²)`.
///
/// Minima `(±x₀, ±1)` with `E = 0`; every path between them crosses `x = 0` where
/// `E = y² + 1 ≥ 1`, so the minimax (saddle) energy is exactly 1, at the index-1 saddle
/// `(0, 0)`. The straight segment between the minima peaks at ≈ 2.977. (The official code
/// clamps the location to `[−15, 15]`; paths here never leave that box, so no clamp.)
///
/// ```
/// use flow_landscape::{CurvyValley, Landscape};
/// let e = CurvyValley::default();
/// assert!(e.loss(&[e.x0(), 1.0]).abs() < 1e-12);
/// assert!((e.loss(&[0.0, 0.0]) - 1.0).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvyValley {
    /// `α` (1 in the official config).
    pub alpha: f64,
}

impl Default for CurvyValley {
    fn default() -> Self {
        CurvyValley { alpha: 1.0 }
    }
}

impl CurvyValley {
    /// `x₀ = 5π/2`, the x-coordinate of the minima.
    pub fn x0(&self) -> f64 {
        2.5 * PI
    }
    fn beta(&self) -> f64 {
        self.alpha / (2.0 * self.x0() * self.x0())
    }
    /// The minima `(−x₀, −1)` and `(x₀, 1)`.
    pub fn minima(&self) -> [[f64; 2]; 2] {
        [[-self.x0(), -1.0], [self.x0(), 1.0]]
    }
    /// The exact minimax energy between the minima.
    pub const SADDLE: f64 = 1.0;
    /// The analytic Hessian at `(x, y)`, row-major 2×2.
    pub fn hessian(&self, t: &[f64]) -> [f64; 4] {
        let (x, y, a, b) = (t[0], t[1], self.alpha, self.beta());
        let c = 4.0 * b / (a * a);
        let r = y - x.sin();
        let hxx = 2.0 * x.cos().powi(2) + 2.0 * r * x.sin() + c * (12.0 * b * x * x - 2.0 * a);
        let hxy = -2.0 * x.cos();
        [hxx, hxy, hxy, 2.0]
    }
}

impl Landscape for CurvyValley {
    fn dim(&self) -> usize {
        2
    }
    fn loss(&self, t: &[f64]) -> f64 {
        let (x, y, a, b) = (t[0], t[1], self.alpha, self.beta());
        (y - x.sin()).powi(2) + (b * x.powi(4) - a * x * x) * 4.0 * b / (a * a) + 1.0
    }
    fn loss_and_grad(&self, t: &[f64]) -> (f64, Vec<f64>) {
        let (x, y, a, b) = (t[0], t[1], self.alpha, self.beta());
        let c = 4.0 * b / (a * a);
        let r = y - x.sin();
        let gx = -2.0 * r * x.cos() + c * (4.0 * b * x.powi(3) - 2.0 * a * x);
        (self.loss(t), vec![gx, 2.0 * r])
    }
    fn hvp(&self, t: &[f64], v: &[f64]) -> Vec<f64> {
        let h = self.hessian(t);
        vec![h[0] * v[0] + h[1] * v[1], h[2] * v[0] + h[3] * v[1]]
    }
}

/// Eggcarton: `E(x) = Σᵢ cos(2πxᵢ)`.
///
/// Minima at half-integers (`(½, ½)`, `(1½, 1½)`, `E = −2`); the straight path between those
/// two crosses the maximum `(1, 1)` (`E = +2`); the best path passes a saddle such as
/// `(½, 1)` with `E = 0`. The diagonal is invariant (there the gradient is along it), so
/// NEB pivots placed exactly on it never leave it: start them with noise.
///
/// ```
/// use flow_landscape::{Eggcarton, Landscape};
/// assert!((Eggcarton.loss(&[0.5, 1.0])).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Eggcarton;

impl Eggcarton {
    /// The two minima used in the official config.
    pub fn minima(&self) -> [[f64; 2]; 2] {
        [[0.5, 0.5], [1.5, 1.5]]
    }
    /// The exact minimax energy between them.
    pub const SADDLE: f64 = 0.0;
}

impl Landscape for Eggcarton {
    fn dim(&self) -> usize {
        2
    }
    fn loss(&self, t: &[f64]) -> f64 {
        t.iter().map(|x| (2.0 * PI * x).cos()).sum()
    }
    fn loss_and_grad(&self, t: &[f64]) -> (f64, Vec<f64>) {
        let g = t.iter().map(|x| -2.0 * PI * (2.0 * PI * x).sin()).collect();
        (self.loss(t), g)
    }
    fn hvp(&self, t: &[f64], v: &[f64]) -> Vec<f64> {
        t.iter()
            .zip(v)
            .map(|(x, v)| -4.0 * PI * PI * (2.0 * PI * x).cos() * v)
            .collect()
    }
}
