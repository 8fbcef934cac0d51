//! The Müller–Brown potential (Müller & Brown, Theor. Chim. Acta 53, 75 (1979)), in bgflow's
//! scaled form `u = s·(V + shift)` (`MuellerEnergy`: s = 0.15, shift = 146.7).

use flow_core::Tensor;

use super::{Potential, check_input, constant};

/// Prefactors `A_k`.
pub const A: [f64; 4] = [-200.0, -100.0, -170.0, 15.0];
/// `a_k` (coefficient of `(x − x_k)²`).
pub const LA: [f64; 4] = [-1.0, -1.0, -6.5, 0.7];
/// `b_k` (coefficient of `(x − x_k)(y − y_k)`).
pub const LB: [f64; 4] = [0.0, 0.0, 11.0, 0.6];
/// `c_k` (coefficient of `(y − y_k)²`).
pub const LC: [f64; 4] = [-10.0, -10.0, -6.5, 0.7];
/// Centres `x_k`.
pub const XK: [f64; 4] = [1.0, 0.0, -0.5, -1.0];
/// Centres `y_k`.
pub const YK: [f64; 4] = [0.0, 0.5, 1.5, 1.0];

/// `V(x, y) = Σ_k A_k exp(a_k(x − x_k)² + b_k(x − x_k)(y − y_k) + c_k(y − y_k)²)`, and
/// `u = scale · (V + shift)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MullerBrown {
    /// Multiplier s.
    pub scale: f64,
    /// Additive shift inside the scaling.
    pub shift: f64,
}

impl MullerBrown {
    /// The raw potential `V` (s = 1, shift = 0).
    pub fn raw() -> Self {
        Self {
            scale: 1.0,
            shift: 0.0,
        }
    }

    /// bgflow's `MuellerEnergy` defaults: `0.15 (V + 146.7)` (global minimum ≈ 0).
    pub fn bgflow() -> Self {
        Self {
            scale: 0.15,
            shift: 146.7,
        }
    }

    /// `V(x, y)` in plain f64.
    pub fn v(x: f64, y: f64) -> f64 {
        (0..4)
            .map(|k| {
                let (dx, dy) = (x - XK[k], y - YK[k]);
                A[k] * (LA[k] * dx * dx + LB[k] * dx * dy + LC[k] * dy * dy).exp()
            })
            .sum()
    }
}

impl Potential for MullerBrown {
    fn dim(&self) -> usize {
        2
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("MullerBrown", x, 2);
        let c = |v: &[f64; 4]| constant(v.to_vec(), &[1, 4], x);
        let dx = x.narrow(1, 0, 1).sub(&c(&XK));
        let dy = x.narrow(1, 1, 1).sub(&c(&YK));
        let expo = dx
            .square()
            .mul(&c(&LA))
            .add(&dx.mul(&dy).mul(&c(&LB)))
            .add(&dy.square().mul(&c(&LC)));
        let v = expo.exp().mul(&c(&A)).sum_axis(1, false);
        v.add_scalar(self.shift).mul_scalar(self.scale)
    }
}
