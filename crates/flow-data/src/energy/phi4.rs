//! The 2-D φ⁴ lattice action on a periodic L×L lattice in two parametrisations.
//!
//! - Hopping form (TRADE, `vislearn/trade: datasets.py`; Nicoli et al. arXiv 2007.07115):
//!   `S = Σ_x [(1 − 2λ)φ_x² + λφ_x⁴ − 2κ Σ_μ φ_x φ_{x+μ̂}]`, parameter κ,
//!   `∂S/∂κ = −2 Σ_x Σ_μ φ_x φ_{x+μ̂}`.
//! - m²/λ form (Albergo, Kanwar, Shanahan, arXiv 1904.12072; tutorial arXiv 2101.08176):
//!   `S = Σ_x [Σ_μ φ_x(2φ_x − φ_{x+μ̂} − φ_{x−μ̂}) + m²φ_x² + λφ_x⁴]`, parameter m²,
//!   `∂S/∂m² = Σ_x φ_x²`.
//! - Mapping: `φ_AKS = √κ φ_hop`, `m² = (1 − 2λ_h)/κ − 4`, `λ = λ_h/κ²` (d = 2) makes
//!   `S_hop(φ) = S_AKS(√κ φ)` identically.
//!
//! Fields are `[batch, L²]`, site `(i, j)` at index `i·L + j`.

use flow_core::Tensor;

use super::{Energy, Parameter, check_input};

/// Index maps of the periodic shifts `x + μ̂` (μ = row, column) and `x − μ̂`.
fn shifts(l: usize, sign: isize) -> [Vec<usize>; 2] {
    let wrap = |v: usize| ((v as isize + sign).rem_euclid(l as isize)) as usize;
    let mut down = Vec::with_capacity(l * l);
    let mut right = Vec::with_capacity(l * l);
    for i in 0..l {
        for j in 0..l {
            down.push(wrap(i) * l + j);
            right.push(i * l + wrap(j));
        }
    }
    [down, right]
}

/// `Σ_x Σ_μ φ_x φ_{x+μ̂}` per sample.
fn neighbour_sum(phi: &Tensor, l: usize) -> Tensor {
    let [d, r] = shifts(l, 1);
    phi.mul(&phi.index_select(1, &d).add(&phi.index_select(1, &r)))
        .sum_axis(1, false)
}

/// The hopping-form action with fixed λ and parameter κ.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Phi4Hopping {
    /// Lattice side L.
    pub side: usize,
    /// Quartic coupling λ.
    pub lambda: f64,
    /// Reference κ (TRADE trains at 0.25 and 0.29).
    pub kappa0: f64,
}

impl Phi4Hopping {
    /// TRADE: L = 8, λ = 0.02, κ₀ = 0.27.
    pub fn trade() -> Self {
        Self {
            side: 8,
            lambda: 0.02,
            kappa0: 0.27,
        }
    }

    /// The mean-field critical coupling `κ_c = (1 − 2λ)/(2d)`, d = 2.
    pub fn kappa_mean_field(&self) -> f64 {
        (1.0 - 2.0 * self.lambda) / 4.0
    }
}

impl Energy for Phi4Hopping {
    fn dim(&self) -> usize {
        self.side * self.side
    }

    fn parameter(&self) -> Parameter {
        Parameter::Hopping
    }

    fn reference_parameter(&self) -> f64 {
        self.kappa0
    }

    fn energy(&self, phi: &Tensor, kappa: &Tensor) -> Tensor {
        check_input("Phi4Hopping", phi, self.dim());
        let p2 = phi.square();
        let local = p2
            .mul_scalar(1.0 - 2.0 * self.lambda)
            .add(&p2.square().mul_scalar(self.lambda));
        local
            .sum_axis(1, false)
            .add(&self.energy_dc(phi, kappa).mul(kappa))
    }

    fn energy_dc(&self, phi: &Tensor, _kappa: &Tensor) -> Tensor {
        check_input("Phi4Hopping", phi, self.dim());
        neighbour_sum(phi, self.side).mul_scalar(-2.0)
    }
}

/// The m²/λ-form action with fixed λ and parameter m².
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Phi4Aks {
    /// Lattice side L.
    pub side: usize,
    /// Quartic coupling λ.
    pub lambda: f64,
    /// Reference m².
    pub m2_0: f64,
}

impl Phi4Aks {
    /// GomalizingFlow.jl's standard 2-D example: L = 8, m² = −4, λ = 8.
    pub fn standard() -> Self {
        Self {
            side: 8,
            lambda: 8.0,
            m2_0: -4.0,
        }
    }

    /// The kinetic term `Σ_x Σ_μ φ_x(2φ_x − φ_{x+μ̂} − φ_{x−μ̂})` per sample.
    pub fn kinetic(&self, phi: &Tensor) -> Tensor {
        check_input("Phi4Aks", phi, self.dim());
        let [fd, fr] = shifts(self.side, 1);
        let [bd, br] = shifts(self.side, -1);
        let lap = |f: &[usize], b: &[usize]| {
            phi.mul_scalar(2.0)
                .sub(&phi.index_select(1, f))
                .sub(&phi.index_select(1, b))
        };
        phi.mul(&lap(&fd, &bd).add(&lap(&fr, &br)))
            .sum_axis(1, false)
    }
}

impl Energy for Phi4Aks {
    fn dim(&self) -> usize {
        self.side * self.side
    }

    fn parameter(&self) -> Parameter {
        Parameter::MassSquared
    }

    fn reference_parameter(&self) -> f64 {
        self.m2_0
    }

    fn energy(&self, phi: &Tensor, m2: &Tensor) -> Tensor {
        let p2 = phi.square();
        let quartic = p2.square().sum_axis(1, false).mul_scalar(self.lambda);
        self.kinetic(phi)
            .add(&quartic)
            .add(&p2.sum_axis(1, false).mul(m2))
    }

    fn energy_dc(&self, phi: &Tensor, _m2: &Tensor) -> Tensor {
        check_input("Phi4Aks", phi, self.dim());
        phi.square().sum_axis(1, false)
    }
}

/// Hopping parameters `(κ, λ_h)` to `(m², λ)` of the m²/λ form in d = 2; fields map as
/// `φ_AKS = √κ φ_hop`. TRADE's κ = 0.27, λ_h = 0.02 gives m² ≈ −0.444, λ ≈ 0.274.
pub fn hopping_to_aks(kappa: f64, lambda_h: f64) -> (f64, f64) {
    (
        (1.0 - 2.0 * lambda_h) / kappa - 4.0,
        lambda_h / (kappa * kappa),
    )
}
