//! The rotation group SO(3) ⊂ R^{3×3} (flattened to R⁹, row-major).

use flow_core::{DType, Tensor, no_grad};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

use super::{Manifold, check_points, gaussian_vec, rowwise};

/// How [`SpecialOrthogonal::project`] turns a polar factor with `det = −1` into a rotation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DetFix {
    /// The closest rotation in Frobenius norm: `Q(I − 2 v vᵀ)` with v the right singular
    /// vector of the smallest singular value (`U diag(1, 1, −1) Vᵀ`). The flip vector v is
    /// treated as a constant by AD (it only matters for inputs with `det < 0`, far from a
    /// trained model's outputs).
    #[default]
    SmallestSingular,
    /// Negate the last column of the polar factor, as the official code (geomstats) does; not
    /// the closest rotation in general. For parity with arXiv:2312.09852's code.
    LastColumn,
}

/// SO(3) with the bi-invariant metric `⟨A, B⟩ = ½ tr(AᵀB)`, whose total volume is 8π² and
/// whose geodesic distance is the rotation angle of `RᵀS`.
///
/// The embedding metric (Frobenius) is twice this one; the constant factor cancels in
/// `det(Rᵀ J Q)`, so densities are with respect to the measure of total volume 8π², as in
/// the paper's tables (note §4). Projection: the polar factor `M(MᵀM)^{−1/2}` by the scaled
/// Newton iteration `X ← ½(ζX + ζ⁻¹X^{−T})` (Higham 1986), ten steps, with a [`DetFix`].
///
/// ```
/// use flow_manifold::{Manifold, SpecialOrthogonal};
/// use flow_core::{DType, Tensor};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
/// let so3 = SpecialOrthogonal::default();
/// let r = so3.project(&Tensor::randn(&[3, 9], DType::F64, &mut rng));
/// assert!(so3.distance_to_manifold(&r).to_vec_f64().iter().all(|d| *d < 1e-10));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpecialOrthogonal {
    /// The determinant fix used by the projection.
    pub det_fix: DetFix,
}

impl SpecialOrthogonal {
    /// SO(3) with the given determinant fix.
    pub fn new(det_fix: DetFix) -> SpecialOrthogonal {
        SpecialOrthogonal { det_fix }
    }
}

type M3 = [[f64; 3]; 3];

fn m3(v: &[f64]) -> M3 {
    [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]]
}

fn mul(a: &M3, b: &M3) -> M3 {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

fn tr(a: &M3) -> M3 {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = a[j][i];
        }
    }
    c
}

fn det(a: &M3) -> f64 {
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
}

/// Eigenvector of the smallest eigenvalue of a symmetric 3×3 matrix (cyclic Jacobi).
fn smallest_eigenvector(s: &M3) -> [f64; 3] {
    let (mut a, mut v) = (*s, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);
    for _ in 0..50 {
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q].abs() < 1e-300 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let (c, sn) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
            let mut rot = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
            rot[p][p] = c;
            rot[q][q] = c;
            rot[p][q] = sn;
            rot[q][p] = -sn;
            a = mul(&tr(&rot), &mul(&a, &rot));
            v = mul(&v, &rot);
        }
    }
    let k = (0..3)
        .min_by(|&i, &j| a[i][i].total_cmp(&a[j][j]))
        .unwrap_or(0);
    [v[0][k], v[1][k], v[2][k]]
}

/// Rotation angle θ ∈ [0, π] of a rotation matrix: `atan2(‖A − Aᵀ‖_F/(2√2), (tr A − 1)/2)`.
fn rotation_angle(a: &M3) -> f64 {
    let skew: f64 = (0..3)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| (a[i][j] - a[j][i]).powi(2))
        .sum();
    let trace = a[0][0] + a[1][1] + a[2][2];
    (skew.sqrt() / (2.0 * 2f64.sqrt())).atan2((trace - 1.0) / 2.0)
}

/// `expm(Ω)` of a skew matrix by Rodrigues' formula.
fn expm_skew(w: &M3) -> M3 {
    let omega = [w[2][1], w[0][2], w[1][0]];
    let theta = omega.iter().map(|o| o * o).sum::<f64>().sqrt();
    let (a, b) = if theta < 1e-8 {
        (1.0 - theta * theta / 6.0, 0.5 - theta * theta / 24.0)
    } else {
        (theta.sin() / theta, (1.0 - theta.cos()) / (theta * theta))
    };
    let w2 = mul(w, w);
    let mut e = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            e[i][j] = f64::from(u8::from(i == j)) + a * w[i][j] + b * w2[i][j];
        }
    }
    e
}

/// `logm(A)` of a rotation with angle θ < π: `θ/(2 sin θ) (A − Aᵀ)`.
fn logm_rotation(a: &M3) -> M3 {
    let theta = rotation_angle(a);
    let f = if theta < 1e-8 {
        0.5 + theta * theta / 12.0
    } else {
        theta / (2.0 * theta.sin())
    };
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            l[i][j] = f * (a[i][j] - a[j][i]);
        }
    }
    l
}

fn flat(a: &M3, out: &mut [f64]) {
    for i in 0..3 {
        for j in 0..3 {
            out[3 * i + j] = a[i][j];
        }
    }
}

impl SpecialOrthogonal {
    /// The polar factor `M(MᵀM)^{−1/2}` of `[b, 3, 3]` matrices by scaled Newton iterations,
    /// recorded. The scale ζ is detached: every step `X ↦ ½(ζX + ζ⁻¹X^{−T})` preserves the
    /// polar factor for any ζ > 0, so the gradient is that of the polar factor.
    fn polar(&self, m: &Tensor) -> Tensor {
        let mut x = m.clone();
        for step in 0..10 {
            let inv_t = x.inverse().t();
            let zeta = if step < 7 {
                let (nx, ni) = (
                    x.detach().square().sum_axis(2, true).sum_axis(1, true),
                    inv_t.detach().square().sum_axis(2, true).sum_axis(1, true),
                );
                ni.div(&nx).sqrt().sqrt()
            } else {
                Tensor::ones(&[m.dim(0), 1, 1], m.dtype())
            };
            x = x.mul(&zeta).add(&inv_t.div(&zeta)).mul_scalar(0.5);
        }
        x
    }
}

impl Manifold for SpecialOrthogonal {
    fn name(&self) -> String {
        "SO(3)".into()
    }
    fn ambient_dim(&self) -> usize {
        9
    }
    fn dim(&self) -> usize {
        3
    }
    fn project(&self, x: &Tensor) -> Tensor {
        check_points("SpecialOrthogonal::project", self, x);
        let b = x.dim(0);
        let m = x.reshape(&[b, 3, 3]);
        let q = self.polar(&m);
        let vals = x.to_vec_f64();
        let mut negative = vec![0.0; b];
        let mut flip = vec![0.0; b * 9];
        for r in 0..b {
            let a = m3(&vals[9 * r..9 * r + 9]);
            if det(&a) >= 0.0 {
                continue;
            }
            negative[r] = 1.0;
            let h = match self.det_fix {
                DetFix::LastColumn => [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]],
                DetFix::SmallestSingular => {
                    let v = smallest_eigenvector(&mul(&tr(&a), &a));
                    let mut h = [[0.0; 3]; 3];
                    for i in 0..3 {
                        for j in 0..3 {
                            h[i][j] = f64::from(u8::from(i == j)) - 2.0 * v[i] * v[j];
                        }
                    }
                    h
                }
            };
            flat(&h, &mut flip[9 * r..9 * r + 9]);
        }
        if negative.iter().all(|n| *n == 0.0) {
            return q.reshape(&[b, 9]);
        }
        let h = Tensor::from_vec(flip, &[b, 3, 3]).to_dtype(x.dtype());
        let mask = Tensor::from_vec(negative, &[b, 1, 1]).to_dtype(x.dtype());
        Tensor::where_cond(&mask, &q.matmul(&h), &q).reshape(&[b, 9])
    }
    fn to_tangent(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("SpecialOrthogonal::to_tangent", self, x);
        let b = x.dim(0);
        let (r, w) = (x.reshape(&[b, 3, 3]), v.reshape(&[b, 3, 3]));
        w.sub(&r.matmul(&w.t()).matmul(&r))
            .mul_scalar(0.5)
            .reshape(&[b, 9])
    }
    fn log_volume(&self) -> f64 {
        (8.0 * PI * PI).ln()
    }
    /// Haar samples: rotations of unit quaternions drawn uniformly from S³.
    fn sample_uniform(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        let mut out = vec![0.0; 9 * n];
        for r in 0..n {
            let q = gaussian_vec(4, rng);
            let s = q.iter().map(|a| a * a).sum::<f64>().sqrt();
            let (w, x, y, z) = (q[0] / s, q[1] / s, q[2] / s, q[3] / s);
            let m = [
                [
                    1.0 - 2.0 * (y * y + z * z),
                    2.0 * (x * y - z * w),
                    2.0 * (x * z + y * w),
                ],
                [
                    2.0 * (x * y + z * w),
                    1.0 - 2.0 * (x * x + z * z),
                    2.0 * (y * z - x * w),
                ],
                [
                    2.0 * (x * z - y * w),
                    2.0 * (y * z + x * w),
                    1.0 - 2.0 * (x * x + y * y),
                ],
            ];
            flat(&m, &mut out[9 * r..9 * r + 9]);
        }
        Tensor::from_vec(out, &[n, 9]).to_dtype(dtype)
    }
    /// `exp_R(V) = R expm(RᵀV)`.
    fn exp(&self, x: &Tensor, v: &Tensor) -> Tensor {
        check_points("SpecialOrthogonal::exp", self, x);
        rowwise(x, v, 9, |x, v, out| {
            let r = m3(x);
            flat(&mul(&r, &expm_skew(&mul(&tr(&r), &m3(v)))), out);
        })
        .to_dtype(x.dtype())
    }
    /// `log_R(S) = R logm(RᵀS)` (for rotation angles below π).
    fn log(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("SpecialOrthogonal::log", self, x);
        rowwise(x, y, 9, |x, y, out| {
            let r = m3(x);
            flat(&mul(&r, &logm_rotation(&mul(&tr(&r), &m3(y)))), out);
        })
        .to_dtype(x.dtype())
    }
    /// The rotation angle of `RᵀS`.
    fn dist(&self, x: &Tensor, y: &Tensor) -> Tensor {
        check_points("SpecialOrthogonal::dist", self, x);
        rowwise(x, y, 1, |x, y, out| {
            out[0] = rotation_angle(&mul(&tr(&m3(x)), &m3(y)));
        })
    }
    /// `‖V‖ = ‖V‖_F/√2` in the metric `½ tr(AᵀB)`.
    fn tangent_norm(&self, _x: &Tensor, v: &Tensor) -> Tensor {
        no_grad(|| {
            v.to_dtype(DType::F64)
                .square()
                .sum_per_sample()
                .mul_scalar(0.5)
                .sqrt()
        })
    }
}

/// Rotation angles θ ∈ [0, π] of rotations `[batch, 9]`, f64 (no tape).
pub fn rotation_angles(r: &Tensor) -> Vec<f64> {
    r.to_vec_f64()
        .chunks(9)
        .map(|c| rotation_angle(&m3(c)))
        .collect()
}
