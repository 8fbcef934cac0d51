//! Hessian tools (paper note §5 tests 7–9): exact HVP against finite differences and the
//! dense Hessian, Lanczos against dense eigenvalues, and the symmetry identities.

use flow_core::nn::{Activation, MlpConfig};
use flow_core::nn::{Mlp, Module};
use flow_core::{DType, Tensor};
use flow_landscape::classifier::{TrainSettings, cross_entropy, relu_mlp, train_minimum};
use flow_landscape::hessian::{
    Symmetries, count_flat, dense_hessian, lanczos_smallest, orthonormal_basis,
    symmetric_eigenvalues,
};
use flow_landscape::{FlatLayout, Landscape, ModuleLandscape, dot, fd_hvp, lanczos, norm};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};

/// A tiny ReLU classifier `4 → 5 → 3` on random data: 43 parameters.
fn tiny(seed: u64) -> (Mlp, ModuleLandscape<impl Fn() -> Tensor>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mlp = MlpConfig::new(4, &[5], 3)
        .with_activation(Activation::Relu)
        .build("m", DType::F64, &mut rng);
    let x = Tensor::randn(&[30, 4], DType::F64, &mut rng);
    let mut oh = vec![0.0; 90];
    (0..30).for_each(|i| oh[i * 3 + i % 3] = 1.0);
    let y = Tensor::from_vec(oh, &[30, 3]);
    let net = mlp.clone();
    let obj = ModuleLandscape::new(FlatLayout::of(&mlp), move || {
        cross_entropy(&net.forward(&x), &y)
    });
    (mlp, obj)
}

fn randn(n: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

#[test]
fn exact_hvp_matches_finite_differences_and_dense_hessian() {
    let (_, obj) = tiny(0);
    let theta = obj.layout().read();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let v = randn(theta.len(), &mut rng);
    let exact = obj.hvp(&theta, &v);
    let fd = fd_hvp(&obj, &theta, &v);
    // Central differences with h ≈ 1e-4/‖v‖: O(h²) truncation plus ε/h round-off ≈ 1e-8
    // relative (ReLU kinks are not crossed at a random θ with this h).
    let err = exact
        .iter()
        .zip(&fd)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-6 * norm(&exact), "hvp vs fd: {err}");
    let (h, asym) = dense_hessian(&obj, &theta);
    assert!(asym < 1e-12, "asymmetry {asym}");
    let hv: Vec<f64> = (0..theta.len())
        .map(|i| (0..theta.len()).map(|j| h[(i, j)] * v[j]).sum())
        .collect();
    let err = exact
        .iter()
        .zip(&hv)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-12 * norm(&exact).max(1.0), "hvp vs dense: {err}");
}

#[test]
fn lanczos_agrees_with_dense_eigenvalues() {
    let (_, obj) = tiny(1);
    let theta = obj.layout().read();
    let (h, _) = dense_hessian(&obj, &theta);
    let dense = symmetric_eigenvalues(&h);
    let n = theta.len();
    let lmax = dense.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let r = lanczos(|v| obj.hvp(&theta, v), n, 30, &mut rng);
    // Extreme Ritz values converge first; with full re-orthogonalisation 30 steps pin the
    // top and bottom eigenvalues to round-off relative to λ_max.
    assert!((r.values[r.values.len() - 1] - dense[n - 1]).abs() < 1e-8 * lmax);
    assert!((r.values[0] - dense[0]).abs() < 1e-8 * lmax);
    assert!(r.residuals.last().unwrap() < &(1e-6 * lmax));
}

#[test]
fn lanczos_on_shifted_operator_recovers_planted_small_eigenvalues() {
    // Planted spectrum: 3 exact zeros, small 1e-3, then 1..=36 in a random rotation.
    let n = 40;
    let mut spec = vec![0.0, 0.0, 0.0, 1e-3];
    spec.extend((1..=36).map(f64::from));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let q = orthonormal_basis(&(0..n).map(|_| randn(n, &mut rng)).collect::<Vec<_>>());
    let op = |v: &[f64]| {
        let mut out = vec![0.0; n];
        for (qk, lk) in q.iter().zip(&spec) {
            let c = lk * dot(qk, v);
            out.iter_mut().zip(qk).for_each(|(o, x)| *o += c * x);
        }
        out
    };
    let r = lanczos_smallest(op, n, n, 36.0, &mut rng);
    // Single-vector Lanczos sees one copy of a repeated eigenvalue in exact arithmetic;
    // once the Krylov space is exhausted, round-off restarts it and may find further copies,
    // but never more than the true multiplicity 3. The zero cluster and the next eigenvalue
    // 1e-3 must both be resolved to 1e-6·λ_max.
    let zeros = r.values.iter().take_while(|v| **v < 5e-4).count();
    assert!((1..=3).contains(&zeros), "{:?}", &r.values[..5]);
    assert!(r.values[..zeros].iter().all(|v| v.abs() < 1e-6 * 36.0));
    assert!(
        (r.values[zeros] - 1e-3).abs() < 1e-6 * 36.0,
        "{:?}",
        &r.values[..5]
    );
    assert!(r.residuals[0] < 1e-6 * 36.0);
}

/// `D_j`: +1 on unit j's incoming weights and bias, −1 on its outgoing weights.
fn rescaling_mask(mlp: &Mlp, layout: &FlatLayout, j: usize) -> Vec<f64> {
    let (w_in, _) = layout.locate(mlp.layers[0].weight.name()).unwrap();
    let (b_in, _) = layout
        .locate(mlp.layers[0].bias.as_ref().unwrap().name())
        .unwrap();
    let (w_out, _) = layout.locate(mlp.layers[1].weight.name()).unwrap();
    let (fi, width, fo) = (
        mlp.layers[0].input_dim(),
        mlp.layers[0].output_dim(),
        mlp.layers[1].output_dim(),
    );
    let mut d = vec![0.0; layout.len()];
    (0..fi).for_each(|k| d[w_in + j * fi + k] = 1.0);
    d[b_in + j] = 1.0;
    (0..fo).for_each(|c| d[w_out + c * width + j] = -1.0);
    d
}

#[test]
fn symmetry_identities_hold_exactly_at_any_theta() {
    let (mlp, obj) = tiny(2);
    let layout = FlatLayout::of(&mlp);
    let theta = layout.read();
    let (_, g) = obj.loss_and_grad(&theta);
    let sym = Symmetries::of_relu_mlp(&mlp, &layout);
    assert_eq!((sym.rescaling.len(), sym.softmax.len()), (5, 6));
    let scale = norm(&g).max(1.0);
    for t in &sym.softmax {
        assert!(dot(&g, t).abs() < 1e-12 * scale);
        assert!(norm(&obj.hvp(&theta, t)) < 1e-12 * scale * norm(t));
    }
    for (j, t) in sym.rescaling.iter().enumerate() {
        assert!(dot(&g, t).abs() < 1e-12 * scale * norm(t));
        let d = rescaling_mask(&mlp, &layout, j);
        let ht = obj.hvp(&theta, t);
        let err = ht
            .iter()
            .zip(&d)
            .zip(&g)
            .map(|((h, d), g)| (h + d * g).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-12 * scale, "H t + D_j g = {err} for unit {j}");
    }
}

#[test]
fn symmetry_directions_are_null_directions_of_a_trained_relu_network() {
    let task = flow_landscape::classifier::DigitsTask::new(200, 0);
    let mlp = relu_mlp(&[6], 3);
    let s = TrainSettings {
        steps: 300,
        batch: 50,
        lr: 1e-2,
        polish_steps: 300,
        weight_decay: 0.0,
    };
    train_minimum(&mlp, &task.train, &s, 3).unwrap();
    let obj = flow_landscape::classifier::split_landscape(&mlp, &task.train);
    let layout = FlatLayout::of(&mlp);
    let theta = layout.read();
    let (h, _) = dense_hessian(&obj, &theta);
    let lmax = symmetric_eigenvalues(&h)
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    let (_, g) = obj.loss_and_grad(&theta);
    let sym = Symmetries::of_relu_mlp(&mlp, &layout);
    for t in sym.all() {
        let u: Vec<f64> = t.iter().map(|x| x / norm(&t)).collect();
        let rq = dot(&u, &obj.hvp(&theta, &u));
        // H t = −D_j ∇L, so the Rayleigh quotient is bounded by ‖∇L‖/‖t‖ (small after
        // training); it must sit far below the top curvature.
        assert!(
            rq.abs() < 1e-3 * lmax,
            "curvature {rq} vs λ_max {lmax}, ‖g‖ {}",
            norm(&g)
        );
    }
    let basis = orthonormal_basis(&sym.all());
    let count = count_flat(&h, &basis, 1e-6);
    assert_eq!(count.symmetry_rank, 6 + 7);
    assert!(count.near_zero >= count.symmetry_rank);
    let _ = mlp.num_parameters();
}

#[test]
fn module_gradient_matches_finite_differences_of_the_loss() {
    let (_, obj) = tiny(5);
    let theta = obj.layout().read();
    let (l0, g) = obj.loss_and_grad(&theta);
    assert!((l0 - obj.loss(&theta)).abs() < 1e-14);
    let h = 1e-6;
    for k in [0, 7, 19, 30, 42] {
        let mut tp = theta.clone();
        let mut tm = theta.clone();
        tp[k] += h;
        tm[k] -= h;
        let fd = (obj.loss(&tp) - obj.loss(&tm)) / (2.0 * h);
        // Central difference: O(h²) ≈ 1e-12 truncation plus ε/h ≈ 1e-10 round-off.
        assert!((fd - g[k]).abs() < 1e-8, "coordinate {k}: {fd} vs {}", g[k]);
    }
}

#[test]
fn cross_entropy_and_error_rate_match_hand_computation() {
    use flow_landscape::classifier::error_rate;
    // Two rows of 10 logits: row 0 predicts class 2 (label 2), row 1 predicts 0 (label 5).
    let mut z = vec![0.0; 20];
    z[2] = 3.0;
    z[10] = 1.0;
    let logits = Tensor::from_vec(z.clone(), &[2, 10]);
    let mut oh = vec![0.0; 20];
    oh[2] = 1.0;
    oh[15] = 1.0;
    let ce = cross_entropy(&logits, &Tensor::from_vec(oh, &[2, 10])).item();
    let lse0 = (3f64.exp() + 9.0).ln();
    let lse1 = (1f64.exp() + 9.0).ln();
    let expected = 0.5 * ((lse0 - 3.0) + lse1);
    assert!((ce - expected).abs() < 1e-14);
    assert_eq!(error_rate(&logits, &[2, 5]), 0.5);
}

#[test]
fn block_lanczos_counts_a_planted_zero_cluster() {
    // Spectrum: 5 exact zeros, 3 at 1e-3, then 92 values spread over [10, 32], in a random
    // rotation of R^100 (the gap 10 of 32 makes the cluster converge within 10 block steps).
    let n = 100;
    let mut spec = vec![0.0; 5];
    spec.extend([1e-3; 3]);
    spec.extend((0..92).map(|k| 10.0 + 22.0 * k as f64 / 91.0));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
    let q = orthonormal_basis(&(0..n).map(|_| randn(n, &mut rng)).collect::<Vec<_>>());
    let lmax = 32.0;
    // Lanczos on B = λ_max·I − H: the zero cluster becomes the top of B's spectrum.
    let op = |v: &[f64]| {
        let mut out: Vec<f64> = v.iter().map(|x| lmax * x).collect();
        for (qk, lk) in q.iter().zip(&spec) {
            let c = lk * dot(qk, v);
            out.iter_mut().zip(qk).for_each(|(o, x)| *o -= c * x);
        }
        out
    };
    let r = flow_landscape::hessian::block_lanczos(op, n, 8, 10, &mut rng);
    let mut small: Vec<f64> = r.values.iter().map(|mu| lmax - mu).collect();
    small.sort_by(f64::total_cmp);
    // 80 of 100 Krylov directions, block 8 ≥ multiplicity 5: all five zeros and the three
    // 1e-3 copies appear, each to 1e-6·λ_max; single-vector Lanczos sees one copy of each in
    // exact arithmetic.
    let zeros = small.iter().filter(|x| x.abs() < 1e-6 * lmax).count();
    assert_eq!(zeros, 5, "{:?}", &small[..10]);
    let near = small
        .iter()
        .filter(|x| (**x - 1e-3).abs() < 1e-6 * lmax)
        .count();
    assert_eq!(near, 3, "{:?}", &small[..10]);
    // Ritz values converge quadratically in the vector error, residuals only linearly: the
    // note's residual bound is 1e-3·λ_max.
    let cluster = r
        .values
        .iter()
        .zip(&r.residuals)
        .filter(|(mu, _)| lmax - **mu < 0.5);
    assert!(cluster.clone().count() == 8 && cluster.into_iter().all(|(_, res)| *res < 1e-3 * lmax));
}

#[test]
fn minibatch_landscape_samples_reproducibly_and_defaults_to_full_batch() {
    use flow_landscape::MinibatchLandscape;
    use flow_landscape::classifier::{DigitsTask, minibatch_loss, split_landscape};
    let task = DigitsTask::new(100, 1);
    let mlp = relu_mlp(&[4], 0);
    let theta = FlatLayout::of(&mlp).read();
    let (net, train) = (mlp.clone(), task.train.clone());
    let mb = MinibatchLandscape::new(
        split_landscape(&mlp, &task.train),
        FlatLayout::of(&mlp),
        move |rng| minibatch_loss(&net, &train, 10, rng),
    );
    let (a, ga) = mb.sample_loss_and_grad(&theta, 7);
    let (b, gb) = mb.sample_loss_and_grad(&theta, 7);
    assert_eq!((a, &ga), (b, &gb), "same seed, same minibatch");
    let (c, _) = mb.sample_loss_and_grad(&theta, 8);
    assert_ne!(a, c, "another seed draws another minibatch");
    // Full-batch methods are those of the wrapped landscape; the analytic surfaces' sampled
    // gradient is their full gradient.
    let full = split_landscape(&mlp, &task.train);
    assert_eq!(mb.loss_and_grad(&theta), full.loss_and_grad(&theta));
    let e = flow_landscape::CurvyValley::default();
    assert_eq!(
        e.sample_loss_and_grad(&[0.3, 0.1], 5),
        e.loss_and_grad(&[0.3, 0.1])
    );
}

#[test]
fn projected_spectrum_and_random_direction_mean_match_independent_oracles() {
    let (mlp, obj) = tiny(11);
    let layout = FlatLayout::of(&mlp);
    let theta = layout.read();
    let (h, _) = dense_hessian(&obj, &theta);
    let basis = orthonormal_basis(&Symmetries::of_relu_mlp(&mlp, &layout).all());
    let count = count_flat(&h, &basis, 1e-6);
    // Oracle 1: the dense projector P = I − Σ qqᵀ applied on both sides.
    let n = theta.len();
    let mut p = nalgebra::DMatrix::<f64>::identity(n, n);
    for q in &basis {
        let qv = nalgebra::DVector::from_column_slice(q);
        p -= &qv * qv.transpose();
    }
    let dense = symmetric_eigenvalues(&(&p * &h * &p));
    let scale = count.lambda_max;
    for (a, b) in count.eigenvalues.iter().zip(&dense) {
        assert!((a - b).abs() < 1e-12 * scale, "{a} vs {b}");
    }
    // Oracle 2: Monte-Carlo mean of the Rayleigh quotient over random projected directions,
    // within 4 standard errors of tr(PHP)/(n − r).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12);
    let k = 4000;
    let mc = (0..k)
        .map(|_| {
            let v = randn(n, &mut rng);
            flow_landscape::hessian::curvature_along(&obj, &theta, &basis, &v)
        })
        .sum::<f64>()
        / k as f64;
    let se = count.curvature_sd() / (k as f64).sqrt();
    assert!(
        (mc - count.mean_curvature()).abs() < 4.0 * se,
        "MC {mc} vs exact {} (s.e. {se})",
        count.mean_curvature()
    );
}
