//! The NEB force on one interior pivot: the improved tangent (Henkelman & Jónsson 2000,
//! J. Chem. Phys. 113, 9978, eqs. 8–11), removal of the gradient's component along it, and
//! the spring term (arXiv 1803.00885 §3, `neb_model.py::NEB.apply`).

use serde::{Deserialize, Serialize};

use crate::objective::{dot, norm};

/// How the tangent blends the two chords at a local extremum of the pivot losses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TangentForm {
    /// Henkelman & Jónsson eq. 10: the larger energy change weights the chord toward the
    /// higher neighbour: `τ = ΔV_max τ⁺ + ΔV_min τ⁻` if `V_{i+1} > V_{i−1}`, else
    /// `τ = ΔV_min τ⁺ + ΔV_max τ⁻`.
    #[default]
    HenkelmanJonsson,
    /// The official repository's form, with the two weights swapped (kept for comparison).
    OfficialRepo,
}

/// The improved tangent at pivot `cur`, oriented from `prev` toward `next`, of unit length.
///
/// With unit chords `τ⁻ = (θ_i − θ_{i−1})/‖·‖`, `τ⁺ = (θ_{i+1} − θ_i)/‖·‖` (the official
/// code normalises the chords; H&J use raw differences):
/// - monotone losses (`L_{i−1} < L_i < L_{i+1}` or reversed, ties included): the chord toward
///   the higher neighbour;
/// - at a local maximum or minimum: the blend of [`TangentForm`].
///
/// ```
/// use flow_landscape::{improved_tangent, TangentForm};
/// let t = improved_tangent(&[0.0, 0.0], &[1.0, 0.0], &[1.0, 1.0], [0.0, 1.0, 2.0],
///                          TangentForm::HenkelmanJonsson);
/// assert_eq!(t, vec![0.0, 1.0]); // monotone: the chord toward the higher (next) pivot
/// ```
pub fn improved_tangent(
    prev: &[f64],
    cur: &[f64],
    next: &[f64],
    losses: [f64; 3],
    form: TangentForm,
) -> Vec<f64> {
    let [lp, l, ln] = losses;
    let minus = unit(&sub(cur, prev));
    let plus = unit(&sub(next, cur));
    let extremum = (lp < l && l > ln) || (lp > l && l < ln);
    let tau = if extremum {
        let (dp, dn) = ((l - lp).abs(), (l - ln).abs());
        let (dmax, dmin) = (dp.max(dn), dp.min(dn));
        let next_higher = ln > lp;
        let (wp, wm) = match (form, next_higher) {
            (TangentForm::HenkelmanJonsson, true) | (TangentForm::OfficialRepo, false) => {
                (dmax, dmin)
            }
            _ => (dmin, dmax),
        };
        plus.iter()
            .zip(&minus)
            .map(|(p, m)| wp * p + wm * m)
            .collect()
    } else if ln > lp {
        plus.clone()
    } else if ln < lp {
        minus.clone()
    } else {
        plus.iter().zip(&minus).map(|(p, m)| p + m).collect()
    };
    let u = unit(&tau);
    if u.iter().all(|x| *x == 0.0) { plus } else { u }
}

/// Removes the component of `g` along the unit vector `tau`: `g − (g·τ)τ`.
pub fn project_out(g: &mut [f64], tau: &[f64]) {
    let c = dot(g, tau);
    for (x, t) in g.iter_mut().zip(tau) {
        *x -= c * t;
    }
}

/// The NEB gradient of interior pivot `i` (the step direction is its negative):
/// `g = ∇L(θ_i) + λθ_i`, projected perpendicular to `τ`, plus, for a finite spring constant
/// `k`, the spring term `k((d_{i−1} − d*_{i−1}) − (d_i − d*_i))τ` where `d_j` is the length
/// of segment `j` and `d*_j = w_j · Σd` its target.
#[allow(clippy::too_many_arguments)]
pub fn neb_gradient(
    grad: &[f64],
    theta: &[f64],
    tau: &[f64],
    weight_decay: f64,
    spring: Option<f64>,
    lengths: (f64, f64),
    targets: (f64, f64),
) -> Vec<f64> {
    let mut g: Vec<f64> = grad
        .iter()
        .zip(theta)
        .map(|(g, t)| g + weight_decay * t)
        .collect();
    project_out(&mut g, tau);
    if let Some(k) = spring {
        let c = k * ((lengths.0 - targets.0) - (lengths.1 - targets.1));
        for (x, t) in g.iter_mut().zip(tau) {
            *x += c * t;
        }
    }
    g
}

fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

fn unit(v: &[f64]) -> Vec<f64> {
    let n = norm(v);
    if n == 0.0 {
        v.to_vec()
    } else {
        v.iter().map(|x| x / n).collect()
    }
}
