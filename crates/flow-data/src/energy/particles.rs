//! Particle systems: pair distances, centre-of-mass removal, the multi-particle double well
//! (DW4) and Lennard-Jones clusters (LJ13, LJ55) in bgflow's conventions.
//!
//! References: Köhler, Klein, Noé, "Equivariant flows", arXiv 2006.02425; bgflow
//! `multi_double_well_potential.py`, `lennard_jones.py`.

use flow_core::Tensor;

use super::{Potential, check_input};

/// The unordered pairs `i < j` of `n` particles as two index lists (row-major order).
pub fn pair_indices(n: usize) -> (Vec<usize>, Vec<usize>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..n {
        for j in i + 1..n {
            a.push(i);
            b.push(j);
        }
    }
    (a, b)
}

/// Distances `sqrt(‖x_i − x_j‖² + eps)` over pairs `i < j`: `[batch, n·d] → [batch, n(n−1)/2]`.
///
/// # Panics
/// If `x` is not `[batch, n·d]`.
pub fn pair_distances(x: &Tensor, n: usize, d: usize, eps: f64) -> Tensor {
    check_input("pair_distances", x, n * d);
    let (a, b) = pair_indices(n);
    let p = x.reshape(&[x.dim(0), n, d]);
    let diff = p.index_select(1, &a).sub(&p.index_select(1, &b));
    let sq = diff.square().sum_axis(2, false);
    if eps > 0.0 {
        sq.add_scalar(eps).sqrt()
    } else {
        sq.sqrt()
    }
}

/// Subtracts the per-sample centre of mass: `x_i ← x_i − (1/n) Σ_j x_j` (equal masses).
///
/// # Panics
/// If `x` is not `[batch, n·d]`.
pub fn remove_mean(x: &Tensor, n: usize, d: usize) -> Tensor {
    check_input("remove_mean", x, n * d);
    let p = x.reshape(&[x.dim(0), n, d]);
    p.sub(&p.mean_axis(1, true)).reshape(&[x.dim(0), n * d])
}

/// `u(x) = Σ_{i<j} a(d_ij − d₀)⁴ + b(d_ij − d₀)² + c` (bgflow `MultiDoubleWellPotential`).
/// No confining term: invariant under E(d) and permutations, so work mean-free.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MultiDoubleWell {
    /// Number of particles.
    pub n_particles: usize,
    /// Spatial dimension.
    pub n_dims: usize,
    /// Quartic coefficient.
    pub a: f64,
    /// Quadratic coefficient.
    pub b: f64,
    /// Constant per pair.
    pub c: f64,
    /// Preferred distance d₀.
    pub offset: f64,
}

impl MultiDoubleWell {
    /// DW4: 4 particles in 2-D, a = 0.9, b = −4, c = 0, d₀ = 4.
    pub fn dw4() -> Self {
        Self {
            n_particles: 4,
            n_dims: 2,
            a: 0.9,
            b: -4.0,
            c: 0.0,
            offset: 4.0,
        }
    }

    /// The pair energy `a(r − d₀)⁴ + b(r − d₀)² + c` for one distance.
    pub fn pair_energy(&self, r: f64) -> f64 {
        let s = r - self.offset;
        self.a * s.powi(4) + self.b * s * s + self.c
    }
}

impl Potential for MultiDoubleWell {
    fn dim(&self) -> usize {
        self.n_particles * self.n_dims
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("MultiDoubleWell", x, self.dim());
        let s = pair_distances(x, self.n_particles, self.n_dims, 0.0).add_scalar(-self.offset);
        let s2 = s.square();
        let per_pair = s2
            .square()
            .mul_scalar(self.a)
            .add(&s2.mul_scalar(self.b))
            .add_scalar(self.c);
        per_pair.sum_axis(1, false)
    }
}

/// `u(x) = a Σ_{i<j} ε[(r_m/d_ij)¹² − 2(r_m/d_ij)⁶] + (k/2) Σ_i ‖x_i − x̄‖²` with
/// `d_ij = sqrt(‖x_i − x_j‖² + softening)` (bgflow `LennardJonesPotential`, oscillator on).
///
/// The pair factor `a` is 1 in bgflow and EACF. The equivariant-flow-matching LJ13/LJ55 data
/// (Klein et al. 2023), which FFF trains on, follow the sum over *ordered* pairs,
/// `a = 2` (DEM's `LennardJonesPotential` keeps `energy_factor = 1` on the ordered sum "to
/// match the eq-fm energy" and notes 0.5 for EACF); see [`LennardJones::lj13_ordered_pairs`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LennardJones {
    /// Number of particles.
    pub n_particles: usize,
    /// Spatial dimension.
    pub n_dims: usize,
    /// Well depth ε.
    pub eps: f64,
    /// Pair minimum distance r_m.
    pub rm: f64,
    /// Harmonic confinement k (bgflow `oscillator_scale`; 0 disables it).
    pub oscillator_scale: f64,
    /// The constant added under the square root of distances (bgflow: 1e-6).
    pub softening: f64,
    /// Factor `a` on the pair sum over i < j (bgflow: 1; equivariant flow matching: 2).
    #[serde(default = "unit_pair_factor")]
    pub pair_factor: f64,
}

fn unit_pair_factor() -> f64 {
    1.0
}

impl LennardJones {
    /// `n` particles in 3-D with ε = r_m = k = 1 and softening 1e-6.
    pub fn cluster(n: usize) -> Self {
        Self {
            n_particles: n,
            n_dims: 3,
            eps: 1.0,
            rm: 1.0,
            oscillator_scale: 1.0,
            softening: 1e-6,
            pair_factor: 1.0,
        }
    }

    /// LJ13 (39-D).
    pub fn lj13() -> Self {
        Self::cluster(13)
    }

    /// LJ13 with the pair sum over ordered pairs (pair factor 2): the energy of the
    /// equivariant-flow-matching data set (Klein et al. 2023) behind FFF's LJ13 numbers. At
    /// τ = 1 it equals bgflow's LJ at τ = ½ with the oscillator at full strength.
    pub fn lj13_ordered_pairs() -> Self {
        Self {
            pair_factor: 2.0,
            ..Self::cluster(13)
        }
    }

    /// LJ55 (165-D).
    pub fn lj55() -> Self {
        Self::cluster(55)
    }

    /// The pair energy `a ε[(r_m/r)¹² − 2(r_m/r)⁶]` at a (softened) distance `r`.
    pub fn pair_energy(&self, r: f64) -> f64 {
        let q = (self.rm / r).powi(6);
        self.pair_factor * self.eps * (q * q - 2.0 * q)
    }
}

impl Potential for LennardJones {
    fn dim(&self) -> usize {
        self.n_particles * self.n_dims
    }

    fn potential(&self, x: &Tensor) -> Tensor {
        check_input("LennardJones", x, self.dim());
        let (n, d) = (self.n_particles, self.n_dims);
        let r = pair_distances(x, n, d, self.softening);
        let q = r.recip().mul_scalar(self.rm).powf(6.0);
        let lj = q
            .square()
            .sub(&q.mul_scalar(2.0))
            .mul_scalar(self.eps * self.pair_factor)
            .sum_axis(1, false);
        if self.oscillator_scale == 0.0 {
            return lj;
        }
        let osc = remove_mean(x, n, d).square().sum_axis(1, false);
        lj.add(&osc.mul_scalar(0.5 * self.oscillator_scale))
    }
}
