//! The flow-matching baseline's samplers and loss.

use flow_core::DType;
use flow_core::nn::Activation;
use flow_manifold::{
    Manifold, Sphere, Uniform, VectorField, rfm_loss, sample_adaptive, sample_euler,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::rc::Rc;

#[test]
fn adaptive_and_fine_euler_samplers_agree_on_the_manifold() {
    // Geodesic Euler has global error O(h): 2000 steps ≈ 1e-3 · |∇v|; Heun at tol 1e-7 is far
    // more accurate, so the two end points agree to a few 1e-3.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let field = VectorField::new(s2.clone(), &[16], Activation::Tanh, &mut rng);
    let x0 = s2.sample_uniform(32, DType::F64, &mut rng);
    let (fine, nfe_euler) = sample_euler(&field, &x0, 2000);
    let (adaptive, nfe) = sample_adaptive(&field, &x0, 1e-7);
    assert_eq!(nfe_euler, 2000);
    assert!(nfe > 2 && nfe < 2000, "adaptive used {nfe} evaluations");
    let d = s2.dist(&fine, &adaptive).to_vec_f64();
    assert!(d.iter().all(|e| *e < 5e-3), "{d:?}");
    assert!(
        s2.distance_to_manifold(&adaptive)
            .to_vec_f64()
            .iter()
            .all(|e| *e < 1e-9)
    );
}

#[test]
fn rfm_loss_is_finite_positive_and_reaches_the_parameters() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let field = VectorField::new(s2.clone(), &[16], Activation::Tanh, &mut rng);
    let x1 = s2.sample_uniform(64, DType::F64, &mut rng);
    let loss = rfm_loss(&field, &Uniform::new(s2), &x1, &mut rng);
    assert!(loss.item() > 0.0 && loss.item().is_finite());
    let params: Vec<_> = flow_core::nn::Module::parameters(&field)
        .iter()
        .map(|p| p.get())
        .collect();
    let grads = flow_core::grad(&loss, &params.iter().collect::<Vec<_>>());
    assert!(grads.iter().any(|g| g.abs().sum_all().item() > 0.0));
}
