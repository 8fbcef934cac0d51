//! A diagonal Gaussian potential: the oracle target for samplers and estimators (every
//! moment, normaliser and free energy is known in closed form).

use std::f64::consts::PI;

use flow_core::Tensor;

use super::{Potential, check_input, constant};

/// `u(x) = ½ Σ_i ((x_i − μ_i)/σ_i)²`, so at temperature T, `x ~ N(μ, T·diag σ²)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiagonalGaussian {
    /// Means μ.
    pub mean: Vec<f64>,
    /// Standard deviations σ at T = 1.
    pub std: Vec<f64>,
}

impl DiagonalGaussian {
    /// `log Z(T) = Σ_i log(σ_i √(2πT))`.
    pub fn log_z(&self, t: f64) -> f64 {
        self.std
            .iter()
            .map(|s| (s * (2.0 * PI * t).sqrt()).ln())
            .sum()
    }
}

impl Potential for DiagonalGaussian {
    fn dim(&self) -> usize {
        self.mean.len()
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        let d = self.dim();
        check_input("DiagonalGaussian", x, d);
        let mu = constant(self.mean.clone(), &[1, d], x);
        let inv = constant(self.std.iter().map(|s| 1.0 / s).collect(), &[1, d], x);
        x.sub(&mu)
            .mul(&inv)
            .square()
            .sum_axis(1, false)
            .mul_scalar(0.5)
    }
}
