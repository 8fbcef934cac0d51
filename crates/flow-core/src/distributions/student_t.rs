//! The product of independent Student-t distributions with learnable location and scale.

use rand::Rng;
use rand_distr::{ChiSquared, Distribution};

use super::{Density, check_rows, ln_gamma};
use crate::dtype::DType;
use crate::nn::{Module, Param};
use crate::tensor::Tensor;

/// `Π_d t_ν(x_d; μ_d, σ_d)`, a heavy-tailed base for flows of heavy-tailed data (Jaini et al.
/// 2020, arXiv:1907.04481):
///
/// `log p(x) = Σ_d [ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ) − ln σ_d − (ν+1)/2 · ln(1 + z_d²/ν)]`,
/// `z = (x − μ)/σ`. The degrees of freedom ν are fixed (config); `base.loc` and
/// `base.log_scale` are learnable. Samples `μ + σ ε / √(v/ν)`, `ε ~ N(0, 1)`, `v ~ χ²_ν`, are
/// reparameterised in μ and σ.
#[derive(Clone, Debug)]
pub struct StudentT {
    df: f64,
    loc: Param,
    log_scale: Param,
}

impl StudentT {
    /// Standard location 0 and scale 1 in `dim` dimensions with `df` degrees of freedom.
    ///
    /// # Panics
    /// If `df` is not a positive finite number.
    pub fn new(dim: usize, df: f64, dtype: DType) -> StudentT {
        assert!(
            df > 0.0 && df.is_finite(),
            "StudentT: degrees of freedom {df} must be > 0"
        );
        StudentT {
            df,
            loc: Param::new("base.loc", Tensor::zeros(&[dim], dtype)),
            log_scale: Param::new("base.log_scale", Tensor::zeros(&[dim], dtype)),
        }
    }

    /// The degrees of freedom ν.
    pub fn df(&self) -> f64 {
        self.df
    }

    /// The normalising constant of one coordinate at unit scale.
    fn log_norm(&self) -> f64 {
        let nu = self.df;
        ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu) - 0.5 * (nu * std::f64::consts::PI).ln()
    }
}

impl Module for StudentT {
    fn parameters(&self) -> Vec<Param> {
        vec![self.loc.clone(), self.log_scale.clone()]
    }
}

impl Density for StudentT {
    fn event_dim(&self) -> usize {
        self.loc.get().dim(0)
    }

    fn log_prob(&self, x: &Tensor, _condition: Option<&Tensor>) -> Tensor {
        let d = self.event_dim();
        check_rows("StudentT", d, x);
        let log_scale = self.log_scale.get();
        let z = x.sub(&self.loc.get()).mul(&log_scale.neg().exp());
        let nu = self.df;
        z.square()
            .mul_scalar(1.0 / nu)
            .log1p()
            .mul_scalar(-0.5 * (nu + 1.0))
            .sub(&log_scale)
            .sum_axis(1, false)
            .add_scalar(d as f64 * self.log_norm())
    }

    fn rsample(&self, n: usize, _condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        let d = self.event_dim();
        let loc = self.loc.get();
        let chi = ChiSquared::new(self.df).expect("df > 0 was checked at construction");
        let inv_sqrt: Vec<f64> = (0..n * d)
            .map(|_| (self.df / chi.sample(rng)).sqrt())
            .collect();
        let eps = Tensor::randn(&[n, d], loc.dtype(), rng);
        let t = eps.mul(&Tensor::from_vec(inv_sqrt, &[n, d]).to_dtype(loc.dtype()));
        t.mul(&self.log_scale.get().exp()).add(&loc)
    }
}
