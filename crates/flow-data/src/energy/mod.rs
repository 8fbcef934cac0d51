//! Analytic energies `E(x, c)` in kT with an external parameter `c` (temperature, inverse
//! temperature, lattice coupling, likelihood power), so `p(x | c) ∝ exp(−E(x, c))`.
//!
//! Every energy takes `x: [batch, dim]` and `c` of shape `[batch]` (one parameter per sample,
//! as TRADE needs) or `[1]` (broadcast), and returns `[batch]`, built from flow-core ops so
//! forces `−∇ₓE`, second derivatives and `∂E/∂c` by autodiff all work. Each energy also
//! gives `∂E/∂c` in closed form ([`Energy::energy_dc`]), which TRADE uses as its target
//! (TRADE, see `trade.md`; Köhler et al. arXiv 2006.02425).
//!
//! References: bgflow (`noegroup/bgflow`), FAB (`lollcat/fab-torch`, arXiv 2208.01893),
//! the TRADE code (`vislearn/trade`); see `boltzmann-targets.md`.

mod gaussian;
mod gmm6;
mod muller_brown;
mod particles;
mod phi4;
pub mod quadrature;
mod tempered;
mod two_moons;
mod wells;

use flow_core::{Tensor, grad};

pub use gaussian::DiagonalGaussian;
pub use gmm6::{COVS as GMM6_COVS, Gmm6, MEANS as GMM6_MEANS};
pub use muller_brown::MullerBrown;
pub use particles::{LennardJones, MultiDoubleWell, pair_distances, pair_indices, remove_mean};
pub use phi4::{Phi4Aks, Phi4Hopping, hopping_to_aks};
pub use tempered::{Potential, Tempered};
pub use two_moons::{TwoMoonsPosterior, TwoMoonsPrior, two_moons_log_likelihood};
pub use wells::{DoubleWell2d, ManyWell, MultiWell};

/// What the external parameter `c` of an energy means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Parameter {
    /// Temperature `T`: `E(x, T) = u(x) / T`.
    Temperature,
    /// Inverse temperature `β`: `E(x, β) = β u(x)`.
    InverseTemperature,
    /// The φ⁴ hopping parameter κ.
    Hopping,
    /// The φ⁴ bare mass `m²`.
    MassSquared,
    /// The power β of a tempered likelihood, `p_β(θ|x) ∝ p(x|θ)^β π(θ)`.
    LikelihoodPower,
}

/// An energy with an external parameter. See the [module docs](self) for shapes.
pub trait Energy {
    /// Dimension of one configuration `x`.
    fn dim(&self) -> usize;
    /// What `c` means.
    fn parameter(&self) -> Parameter;
    /// The reference value `c₀` (τ = 1, β = 1, or the paper's default coupling).
    fn reference_parameter(&self) -> f64;
    /// `E(x, c)`, shape `[batch]`, differentiable in `x` and `c`.
    fn energy(&self, x: &Tensor, c: &Tensor) -> Tensor;
    /// `∂E/∂c` at fixed `x` in closed form, shape `[batch]`.
    fn energy_dc(&self, x: &Tensor, c: &Tensor) -> Tensor;
}

/// `c` as a `[1]` tensor of `like`'s dtype, for broadcasting against a batch.
pub fn param(c: f64, like: &Tensor) -> Tensor {
    Tensor::from_vec(vec![c], &[1]).to_dtype(like.dtype())
}

/// `(E(x, c), ∇ₓE(x, c))`, both detached (for samplers and tests).
pub fn energy_and_grad(energy: &dyn Energy, x: &Tensor, c: &Tensor) -> (Tensor, Tensor) {
    let xl = x.detach().requires_grad();
    let e = energy.energy(&xl, c);
    let g = grad(&e.sum_all(), &[&xl]).remove(0);
    (e.detach(), g)
}

/// Checks `x: [batch, dim]`, panicking with the energy's name otherwise.
pub(crate) fn check_input(name: &str, x: &Tensor, dim: usize) {
    assert!(
        x.ndim() == 2 && x.dim(1) == dim,
        "{name}: expected x of shape [batch, {dim}], got {:?}",
        x.shape()
    );
}

/// A constant tensor of `like`'s dtype with the given values and shape.
pub(crate) fn constant(values: Vec<f64>, shape: &[usize], like: &Tensor) -> Tensor {
    Tensor::from_vec(values, shape).to_dtype(like.dtype())
}

/// The GMM-6 covariances `[Σ₁₁, Σ₁₂, Σ₂₂]` (TRADE Appendix C).
pub fn gmm6_covariances() -> [[f64; 3]; 6] {
    gmm6::COVS
}
