//! The target family `p(x | c) ∝ exp(−E(x, c))` over an interval of the external parameter,
//! and its parameter derivative `A(x; c) = ∂_c E(x, c)` (TRADE arXiv 2410.19492, §2, eq. of
//! the identity `∂_c log p = E_p[A] − A`).
//!
//! The energies and their closed-form derivatives live in `flow_data::energy`; this module
//! adds the training interval, the reference `c₀`, and range checks. The mathematically
//! correct `A` for each parameter type (tested against a central difference in `c`):
//!
//! | c | E(x\|c) | A |
//! |---|---|---|
//! | temperature T | u/T | −u/T² |
//! | inverse temperature β | βu | u |
//! | φ⁴ hopping κ | S(φ; κ, λ) | −2 Σ_x Σ_μ φ_x φ_{x+μ} |
//! | likelihood power β | −β log L − log π | −log L |
//!
//! (The official code gets the first row wrong in its grid path, `−u/T` instead of `−u/T²`;
//! see `trade.md` §5 (a)–(c).)

use flow_core::Tensor;
use flow_data::energy::{Energy, Parameter};

use crate::error::TradeError;

/// An energy with its reference parameter `c₀` and the interval `[c_min, c_max]` TRADE covers.
///
/// ```
/// use flow_data::energy::{DoubleWell2d, Tempered};
/// use flow_trade::Family;
/// let fam = Family::new(Box::new(Tempered::temperature(DoubleWell2d::bgflow())), 1.0, 0.4, 1.1)
///     .unwrap();
/// assert!(fam.in_range(0.5) && !fam.in_range(2.0));
/// ```
pub struct Family {
    energy: Box<dyn Energy>,
    c0: f64,
    c_min: f64,
    c_max: f64,
}

impl Family {
    /// A family over `[c_min, c_max] ∋ c₀`.
    ///
    /// # Errors
    /// [`TradeError::Config`] unless `0 < c_min ≤ c₀ ≤ c_max` (all parameters here are
    /// positive, and the flow sees `log c`).
    pub fn new(
        energy: Box<dyn Energy>,
        c0: f64,
        c_min: f64,
        c_max: f64,
    ) -> Result<Family, TradeError> {
        if !(c_min > 0.0 && c_min <= c0 && c0 <= c_max && c_max.is_finite()) {
            return Err(TradeError::Config(format!(
                "need 0 < c_min ≤ c0 ≤ c_max, got c_min = {c_min}, c0 = {c0}, c_max = {c_max}"
            )));
        }
        Ok(Family {
            energy,
            c0,
            c_min,
            c_max,
        })
    }

    /// The boundary parameter `c₀` (where data or the reverse-KL boundary sits).
    pub fn c0(&self) -> f64 {
        self.c0
    }

    /// `(c_min, c_max)`.
    pub fn range(&self) -> (f64, f64) {
        (self.c_min, self.c_max)
    }

    /// Whether `c` lies in the trained interval. Evaluation outside it is allowed, but results
    /// there should be flagged as extrapolation.
    pub fn in_range(&self, c: f64) -> bool {
        c >= self.c_min && c <= self.c_max
    }

    /// Dimension of `x`.
    pub fn dim(&self) -> usize {
        self.energy.dim()
    }

    /// What `c` means.
    pub fn parameter(&self) -> Parameter {
        self.energy.parameter()
    }

    /// The underlying energy.
    pub fn energy_fn(&self) -> &dyn Energy {
        self.energy.as_ref()
    }

    /// `E(x, c)`, `[batch]`; `c` is `[batch]` or `[1]`.
    pub fn energy(&self, x: &Tensor, c: &Tensor) -> Tensor {
        self.energy.energy(x, c)
    }

    /// `A(x; c) = ∂_c E(x, c)`, `[batch]`, in closed form.
    pub fn a(&self, x: &Tensor, c: &Tensor) -> Tensor {
        self.energy.energy_dc(x, c)
    }
}

/// `c` broadcast to a `[n]` tensor of `like`'s dtype.
pub fn c_vec(c: f64, n: usize, like: &Tensor) -> Tensor {
    Tensor::from_vec(vec![c; n], &[n]).to_dtype(like.dtype())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_core::DType;
    use flow_data::energy::{
        DoubleWell2d, Gmm6, Phi4Hopping, Tempered, TwoMoonsPosterior, TwoMoonsPrior,
    };
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    /// `A` from the closed form equals the f64 central difference `(E(c+h) − E(c−h))/2h`.
    /// h = 1e-5·c: truncation O(h² E''') ≈ 1e-10 relative, round-off ≈ 1e-16·|E|/h ≈ 1e-11
    /// relative, so 1e-6 relative is a generous bound that still catches a missing 1/c factor.
    fn check_a(energy: Box<dyn Energy>, x: &Tensor, cs: &[f64]) {
        let fam = Family::new(energy, cs[0], cs[0], cs[cs.len() - 1]).unwrap();
        for &c in cs {
            let n = x.dim(0);
            let h = 1e-5 * c;
            let a = fam.a(x, &c_vec(c, n, x)).to_vec_f64();
            let ep = fam.energy(x, &c_vec(c + h, n, x)).to_vec_f64();
            let em = fam.energy(x, &c_vec(c - h, n, x)).to_vec_f64();
            for i in 0..n {
                let fd = (ep[i] - em[i]) / (2.0 * h);
                let tol = 1e-6 * (1.0 + a[i].abs());
                assert!(
                    (a[i] - fd).abs() < tol,
                    "{:?} at c = {c}: A = {} vs central difference {fd}",
                    fam.parameter(),
                    a[i]
                );
            }
        }
    }

    fn randn(n: usize, d: usize, scale: f64, seed: u64) -> Tensor {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        Tensor::randn(&[n, d], DType::F64, &mut rng).mul_scalar(scale)
    }

    #[test]
    fn a_temperature_matches_finite_difference() {
        let x = randn(16, 2, 2.0, 1);
        check_a(
            Box::new(Tempered::temperature(DoubleWell2d::bgflow())),
            &x,
            &[0.4, 0.7, 1.0, 1.1],
        );
        check_a(Box::new(Tempered::temperature(Gmm6)), &x, &[0.2, 1.0, 4.8]);
    }

    #[test]
    fn a_inverse_temperature_matches_finite_difference() {
        let x = randn(16, 2, 2.0, 2);
        check_a(
            Box::new(Tempered::inverse_temperature(Gmm6)),
            &x,
            &[0.16, 1.0, 6.1],
        );
    }

    #[test]
    fn a_hopping_matches_finite_difference() {
        let x = randn(8, 64, 1.0, 3);
        check_a(Box::new(Phi4Hopping::trade()), &x, &[0.22, 0.27, 0.32]);
    }

    #[test]
    fn a_likelihood_power_matches_finite_difference() {
        // θ with u₁ = 0.3 + |θ₁+θ₂|/√2 − 0.25 > 0 for x_obs = (0.3, 0) so the likelihood is finite.
        let theta = randn(16, 2, 0.05, 4).add_scalar(-0.1);
        let post = TwoMoonsPosterior {
            x_obs: [0.3, 0.0],
            prior: TwoMoonsPrior::Gaussian { std: 0.3 },
        };
        let e = post.energy(&theta, &c_vec(1.0, 16, &theta)).to_vec_f64();
        assert!(
            e.iter().all(|v| v.is_finite()),
            "test points off the support"
        );
        check_a(Box::new(post), &theta, &[0.4, 1.0, 2.1]);
    }

    #[test]
    fn bad_interval_is_a_typed_error() {
        let e = Box::new(Tempered::temperature(Gmm6));
        assert!(matches!(
            Family::new(e, 2.0, 0.5, 1.0),
            Err(TradeError::Config(_))
        ));
    }
}
