//! The Hessian claim at a digits minimum: near-zero eigenvalues of `PHP` beyond the ReLU
//! rescaling and softmax-shift symmetries, and curvature along the path direction against
//! random directions (paper note §3 and FULL-E5).

use flow_core::nn::Mlp;
use flow_core::{DType, Tensor};
use flow_landscape::classifier::{DigitsTask, split_landscape};
use flow_landscape::hessian::{
    FlatCount, Symmetries, count_flat, curvature_along, dense_hessian, lanczos, orthonormal_basis,
    project_complement,
};
use flow_landscape::{FlatLayout, Landscape, norm};
use rand::rngs::Xoshiro256PlusPlus;

/// What the Hessian analysis of one minimum measured.
pub(super) struct Flatness {
    pub count: FlatCount,
    /// Largest asymmetry of the assembled Hessian (round-off check).
    pub asymmetry: f64,
    /// Rayleigh quotient along the (symmetry-projected) first chord of the AutoNEB path.
    pub path_curvature: f64,
    /// Mean Rayleigh quotient over random symmetry-projected directions.
    pub random_curvature: f64,
    /// Gradient norm at the minimum (the symmetry identities are exact only at ∇L = 0).
    pub grad_norm: f64,
    /// Lanczos (full re-orthogonalisation, `lanczos_steps` HVPs) on `PHP`: the largest and
    /// smallest Ritz values.
    pub ritz: (f64, f64),
    /// Lanczos steps used.
    pub lanczos_steps: usize,
}

/// Dense Hessian of the full-batch training loss at `theta` (loaded into `mlp`).
pub(super) fn analyse(
    mlp: &Mlp,
    task: &DigitsTask,
    theta: &[f64],
    path_direction: &[f64],
    random_dirs: usize,
    rel_tol: f64,
    rng: &mut Xoshiro256PlusPlus,
) -> Flatness {
    let layout = FlatLayout::of(mlp);
    layout.load(theta).expect("theta fits the model");
    let landscape = split_landscape(mlp, &task.train);
    let (h, asymmetry) = dense_hessian(&landscape, theta);
    let sym = Symmetries::of_relu_mlp(mlp, &layout);
    let basis = orthonormal_basis(&sym.all());
    let count = count_flat(&h, &basis, rel_tol);
    let path_curvature = curvature_along(&landscape, theta, &basis, path_direction);
    let n = theta.len();
    let random_curvature = (0..random_dirs)
        .map(|_| {
            let v = Tensor::randn(&[n], DType::F64, rng).to_vec_f64();
            curvature_along(&landscape, theta, &basis, &v)
        })
        .sum::<f64>()
        / random_dirs.max(1) as f64;
    let grad_norm = norm(&landscape.loss_and_grad(theta).1);
    let lanczos_steps = 100.min(n);
    let ritz = lanczos(
        |v| {
            let pv = project_complement(&basis, v);
            project_complement(&basis, &landscape.hvp(theta, &pv))
        },
        n,
        lanczos_steps,
        rng,
    );
    let top = ritz.values[ritz.values.len() - 1];
    let bottom = ritz.values[0];
    Flatness {
        count,
        asymmetry,
        path_curvature,
        random_curvature,
        grad_norm,
        ritz: (top, bottom),
        lanczos_steps,
    }
}
