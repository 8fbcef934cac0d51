//! Every energy's x-gradient and parameter derivative against f64 finite differences.

mod common;

use common::{check_energy_grads, jittered_cluster, rng};
use flow_core::{DType, Tensor};
use flow_data::energy::*;

/// Central differences with h = 1e-5 on O(1)-curvature energies: error ≲ 1e-8 relative.
const TOL: f64 = 1e-6;

fn randn(b: usize, d: usize, scale: f64, seed: u64) -> Tensor {
    Tensor::randn(&[b, d], DType::F64, &mut rng(seed)).mul_scalar(scale)
}

#[test]
fn dw4_gradients() {
    // Particles spread at scale ~3 so pair distances are away from 0.
    check_energy_grads(
        &Tempered::temperature(MultiDoubleWell::dw4()),
        &randn(6, 8, 2.0, 1),
        0.8,
        TOL,
    );
}

#[test]
fn lennard_jones_gradients() {
    let x = jittered_cluster(4, 13, 1.1, 0.05, 2);
    check_energy_grads(&Tempered::temperature(LennardJones::lj13()), &x, 1.3, TOL);
    let x55 = jittered_cluster(2, 55, 1.1, 0.05, 3);
    // Wider jittered grid for 55 particles: 3×3×7 layout still has spacing 1.1.
    check_energy_grads(&Tempered::temperature(LennardJones::lj55()), &x55, 1.0, TOL);
}

#[test]
fn well_gradients() {
    check_energy_grads(
        &Tempered::temperature(MultiWell::trade()),
        &randn(8, 5, 1.5, 4),
        0.7,
        TOL,
    );
    check_energy_grads(
        &Tempered::temperature(DoubleWell2d::bgflow()),
        &randn(8, 2, 1.5, 5),
        1.1,
        TOL,
    );
    check_energy_grads(
        &Tempered::inverse_temperature(ManyWell::fab(8)),
        &randn(8, 8, 1.5, 6),
        0.9,
        TOL,
    );
}

#[test]
fn muller_brown_and_gmm6_gradients() {
    let x = randn(8, 2, 0.7, 7).add(&Tensor::from_vec(vec![-0.3, 0.7], &[1, 2]));
    check_energy_grads(&Tempered::temperature(MullerBrown::bgflow()), &x, 1.0, TOL);
    check_energy_grads(&Tempered::temperature(Gmm6), &randn(8, 2, 3.0, 8), 0.5, TOL);
    check_energy_grads(
        &Tempered::inverse_temperature(Gmm6),
        &randn(8, 2, 3.0, 9),
        2.0,
        TOL,
    );
}

#[test]
fn phi4_gradients() {
    check_energy_grads(&Phi4Hopping::trade(), &randn(4, 64, 1.0, 10), 0.27, TOL);
    check_energy_grads(&Phi4Aks::standard(), &randn(4, 64, 1.0, 11), -4.0, TOL);
}

#[test]
fn two_moons_posterior_gradients() {
    // θ near a point whose simulated observation is known to lie in the support.
    let theta0 = [0.3f64, -0.1];
    let (a, r) = (0.4f64, 0.1);
    let m1 = -(theta0[0] + theta0[1]).abs() / 2f64.sqrt();
    let m2 = (theta0[1] - theta0[0]) / 2f64.sqrt();
    let x_obs = [r * a.cos() + 0.25 + m1, r * a.sin() + m2];
    let post = TwoMoonsPosterior {
        x_obs,
        prior: TwoMoonsPrior::Gaussian { std: 0.3 },
    };
    let theta = randn(6, 2, 0.003, 12).add(&Tensor::from_vec(theta0.to_vec(), &[1, 2]));
    assert!(post.energy(&theta, &param(1.0, &theta)).all_finite());
    check_energy_grads(&post, &theta, 1.5, 1e-5);
}
