//! # flow-trade
//!
//! TRADE (Wahl, Rousselot, Draxler, Schopmans, Köthe, arXiv 2410.19492): one conditional
//! normalizing flow `q_θ(x | c)` for a whole family `p(x | c) ∝ exp(−E(x, c))` across an
//! external parameter `c` (temperature, inverse temperature, φ⁴ hopping κ, likelihood power),
//! trained as a boundary value problem:
//!
//! - boundary: `q_θ(· | c₀) = p(· | c₀)` by NLL on data at `c₀`, or by reverse KL at `c₀`
//!   when only the energy is known (the data-free variant);
//! - PDE (§1.1 of the paper): `∂_c log p(x | c) = E_{p(·|c)}[A] − A(x; c)` with `A = ∂_c E`,
//!   enforced by a Huber penalty on `∂_c log q_θ(x | c) − (Ê_c[A] − A(x; c))`, where
//!   `∂_c log q_θ` comes per sample from forward mode in `c` inside the reverse pass
//!   ([`ParamFlow::log_prob_and_dc`]) and `Ê_c[A]` from self-normalised importance sampling
//!   ([`snis`]) cached on a log-spaced grid with EMA refresh ([`grid`]).
//!
//! Modules: [`family`] (the target family and its parameter derivative `A`), [`flow`] (the
//! parameter-aware flow), [`snis`], [`grid`] (E_c[A] table and causality weights),
//! [`continuous`] (the widening c-schedule with fresh SNIS), [`loss`] (Huber, boundary,
//! residual), [`free_energy`] (thermodynamic integration), [`train`] (TRADE and the baselines
//! on `flow_core::train`), [`metrics`] (forward KL, ESS, energy-free residual, self-consistency
//! KL), [`exact`] (exact double-well samples and E_T[A] by quadrature).
//!
//! [`lattice`] holds the φ⁴ lattice observables (⟨|m|⟩, action density, χ, Binder cumulant)
//! with importance weights and independent-group errors.
//!
//! [`adaptive`] holds the PINN-style adaptive weights of the two terms.
//!
//! [`baselines`] holds the NLL + reverse-KL and reweighting baselines, [`gmm6`] the exact
//! tempered GMM-6 sampler and quadrature, [`resume`] checkpointed TRADE training (grid state
//! included), [`spec`] self-describing model files.
//!
//! [`energy_free`] holds the energy-free variant: the model's own tempered energy as an
//! `Energy`, so TRADE runs on it unchanged.
//!
//! Not here yet (issue 16): the Lightning-path adaptive weights, and the tempered two-moons
//! posterior experiment (its coverage needs a flow conditioned on the observation x as well as
//! on β; `ParamFlow` conditions on c only).
//!
//! Built on `flow_coupling`'s conditional couplings (the condition is `log c`) and
//! `flow_data`'s energies with closed-form `∂E/∂c`.

pub mod adaptive;
pub mod baselines;
pub mod continuous;
pub mod energy_free;
pub mod error;
pub mod exact;
pub mod family;
pub mod fit;
pub mod flow;
pub mod free_energy;
pub mod gmm6;
pub mod grid;
pub mod init;
pub mod lattice;
pub mod loss;
pub mod metrics;
pub mod resume;
pub mod snis;
pub mod spec;
pub mod train;

pub use error::TradeError;
pub use family::Family;
pub use flow::{Architecture, LatentScale, ParamFlow, ParamFlowConfig};
