//! The rearrangement lower bound on the KL of constant-Jacobian flows
//! (arXiv 2402.06578, Sec. 4: volume-preserving flows cannot change the law of `log p(X)`;
//! the bound via the symmetric decreasing rearrangement is derived in theory.md C.1).

use std::f64::consts::{E, PI};

/// Volume of the unit ball in `R^D`, `ω_D = π^{D/2} / Γ(D/2 + 1)` (Γ by exact recursion for
/// half-integers).
pub fn unit_ball_volume(d: usize) -> f64 {
    // Γ(D/2 + 1): start from Γ(1) = 1 or Γ(3/2) = √π/2, then multiply up.
    let (mut g, mut a) = if d.is_multiple_of(2) {
        (1.0, 1.0)
    } else {
        (PI.sqrt() / 2.0, 1.5)
    };
    while a < d as f64 / 2.0 + 1.0 - 1e-9 {
        g *= a;
        a += 1.0;
    }
    PI.powf(d as f64 / 2.0) / g
}

/// `KL_min` of a constant-Jacobian flow on the uniform cube `[0,1]^D`:
/// `(D/2) log(2πe R²/(D+2))` with `ω_D R^D = 1` (its rearrangement is the uniform ball of
/// unit volume; `1 − ln 2` for `D = 2`; arXiv 2402.06578, Sec. 4, theory.md C.1).
pub fn uniform_cube_kl_floor(d: usize) -> f64 {
    let df = d as f64;
    let r2 = unit_ball_volume(d).powf(-2.0 / df);
    0.5 * df * (2.0 * PI * E * r2 / (df + 2.0)).ln()
}

/// Entropy, varentropy and rearrangement floor of a 2-D density by quadrature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RearrangementStats {
    /// Total probability mass on the grid (≈ 1 if the box covers the density).
    pub mass: f64,
    /// `H(p) = −E log p`.
    pub entropy: f64,
    /// `Var_p[log p(X)]`, invariant under constant-Jacobian maps.
    pub varentropy: f64,
    /// `M2* = E_p[(V(X)/ω_2)^{2/2}]` with `V(x) = vol{y : p(y) > p(x)}`.
    pub m2_star: f64,
    /// `KL_min = −H + (D/2) log(2πe M2*/D)`: no constant-Jacobian flow gets below it.
    pub kl_min: f64,
}

/// Quadrature of [`RearrangementStats`] for a 2-D log-density on `[lo, hi]²` with `n × n`
/// cell midpoints: cells are sorted by density, `V` is the area of the denser cells plus half
/// the own cell (theory.md C.1, QB-C4; arXiv 2402.06578, Sec. 4).
///
/// # Panics
/// If `n < 2` or `lo ≥ hi`.
pub fn rearrangement_grid_2d(
    log_density: impl Fn(f64, f64) -> f64,
    lo: f64,
    hi: f64,
    n: usize,
) -> RearrangementStats {
    assert!(n >= 2 && lo < hi, "rearrangement_grid_2d: bad grid");
    let h = (hi - lo) / n as f64;
    let area = h * h;
    let mut cells: Vec<f64> = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            cells.push(log_density(
                lo + (i as f64 + 0.5) * h,
                lo + (j as f64 + 0.5) * h,
            ));
        }
    }
    cells.sort_by(|a, b| b.total_cmp(a));
    let (mut mass, mut h_acc, mut lp2, mut m2) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < cells.len() {
        // Equal densities share one level set: V is the area above the level plus half of it.
        let mut j = i;
        while j + 1 < cells.len() && cells[j + 1] == cells[i] {
            j += 1;
        }
        let lp = cells[i];
        let count = (j - i + 1) as f64;
        let p = if lp.is_finite() {
            lp.exp() * area * count
        } else {
            0.0
        };
        let v = area * (i as f64 + 0.5 * count);
        if p > 0.0 {
            mass += p;
            h_acc -= p * lp;
            lp2 += p * lp * lp;
            m2 += p * v / PI;
        }
        i = j + 1;
    }
    let (entropy, m2_star) = (h_acc / mass, m2 / mass);
    RearrangementStats {
        mass,
        entropy,
        varentropy: lp2 / mass - entropy * entropy,
        m2_star,
        kl_min: -entropy + (PI * E * m2_star).ln(),
    }
}
