//! The flow-matching baseline's samplers and loss.

use flow_core::DType;
use flow_core::nn::Activation;
use flow_manifold::{
    Divergence, Manifold, Sphere, Torus, Uniform, VectorField, rfm_log_prob, rfm_log_prob_with,
    rfm_loss, sample_adaptive, sample_euler,
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

#[test]
fn hutchinson_log_likelihood_is_unbiased_for_the_exact_one() {
    // Same backward Euler path, divergence by one tangent probe per step: over R independent
    // repetitions the mean must match the exact value within 4 standard errors per point (an
    // 8-point family-wise false alarm rate below 1e-3), and the estimate must be random.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    for manifold in [
        Rc::new(Sphere::new(2)) as Rc<dyn Manifold>,
        Rc::new(Torus::new(2)) as Rc<dyn Manifold>,
    ] {
        let field = VectorField::new(manifold.clone(), &[16], Activation::Tanh, &mut rng);
        let base = Uniform::new(manifold.clone());
        let x1 = manifold.sample_uniform(8, DType::F64, &mut rng);
        let exact = rfm_log_prob(&field, &base, &x1, 10, &mut rng).to_vec_f64();
        let again = rfm_log_prob(&field, &base, &x1, 10, &mut rng).to_vec_f64();
        for (a, b) in exact.iter().zip(&again) {
            assert!(
                (a - b).abs() < 1e-10,
                "the exact value depends on the basis"
            );
        }
        let reps = 300;
        let draws: Vec<Vec<f64>> = (0..reps)
            .map(|_| {
                let method = Divergence::Hutchinson { probes: 1 };
                rfm_log_prob_with(&field, &base, &x1, 10, method, &mut rng).to_vec_f64()
            })
            .collect();
        for (i, e) in exact.iter().enumerate() {
            let v: Vec<f64> = draws.iter().map(|d| d[i]).collect();
            let mean = v.iter().sum::<f64>() / reps as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (reps - 1) as f64;
            let se = (var / reps as f64).sqrt();
            assert!(
                se > 1e-6,
                "{}: point {i}: the estimator is not random",
                manifold.name()
            );
            assert!(
                (mean - e).abs() < 4.0 * se,
                "{}: point {i}: Hutchinson {mean:.5} ± {se:.5} vs exact {e:.5}",
                manifold.name()
            );
        }
    }
}
