//! Normalisation of densities by quadrature (note §9 test 6): the vMF normaliser, the vMF
//! mixture on S², and exact model densities on S² and T².

use flow_core::nn::{Init, Module};
use flow_core::{DType, Tensor};
use flow_freeform::ResNetConfig;
use flow_manifold::bessel::log_vmf_normaliser;
use flow_manifold::{
    Manifold, ManifoldDensity, ManifoldFlow, Side, Sphere, Torus, Uniform, VmfMixture,
    exact_log_prob,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::f64::consts::PI;
use std::rc::Rc;

/// Composite Simpson on [a, b] with an even number of panels.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, panels: usize) -> f64 {
    let h = (b - a) / panels as f64;
    let inner: f64 = (1..panels)
        .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(a) + f(b) + inner) * h / 3.0
}

#[test]
fn vmf_normaliser_matches_quadrature() {
    // ∫_{S^{d−1}} C_d(κ) e^{κ μᵀx} dx = C_d(κ) vol(S^{d−2}) ∫_0^π e^{κ cos t} sin^{d−2} t dt = 1.
    // Simpson with 20000 panels is accurate far below the 1e-8 tolerance for κ ≤ 200.
    for d in [2usize, 3, 4, 6] {
        let log_area = Sphere::new(d - 2 + usize::from(d == 2)).log_volume();
        for kappa in [0.1, 3.0, 40.0, 200.0] {
            let integral = if d == 2 {
                // S¹: ∫_0^{2π} e^{κ cos t} dt.
                simpson(|t| (kappa * (t.cos() - 1.0)).exp(), 0.0, 2.0 * PI, 20_000).ln() + kappa
            } else {
                let f = |t: f64| (kappa * (t.cos() - 1.0)).exp() * t.sin().powi(d as i32 - 2);
                simpson(f, 0.0, PI, 20_000).ln() + kappa + log_area
            };
            let total = integral + log_vmf_normaliser(d, kappa);
            assert!(total.abs() < 1e-8, "d = {d}, κ = {kappa}: log ∫ = {total}");
        }
    }
}

/// Midpoint quadrature nodes on S² in (polar θ, azimuth φ) with weights sin θ dθ dφ.
fn sphere_grid(nt: usize) -> (Tensor, Vec<f64>) {
    let np = 2 * nt;
    let (dt, dp) = (PI / nt as f64, 2.0 * PI / np as f64);
    let mut pts = Vec::with_capacity(3 * nt * np);
    let mut w = Vec::with_capacity(nt * np);
    for i in 0..nt {
        let t = (i as f64 + 0.5) * dt;
        for j in 0..np {
            let p = (j as f64 + 0.5) * dp;
            pts.extend([t.sin() * p.cos(), t.sin() * p.sin(), t.cos()]);
            w.push(t.sin() * dt * dp);
        }
    }
    (Tensor::from_vec(pts, &[nt * np, 3]), w)
}

fn integrate(log_p: &Tensor, w: &[f64]) -> f64 {
    log_p
        .to_vec_f64()
        .iter()
        .zip(w)
        .map(|(l, w)| l.exp() * w)
        .sum()
}

fn mixture(rng: &mut Xoshiro256PlusPlus) -> VmfMixture {
    let locs = Sphere::new(2)
        .sample_uniform(3, DType::F64, rng)
        .to_vec_f64();
    let locations: Vec<Vec<f64>> = locs.chunks(3).map(<[f64]>::to_vec).collect();
    VmfMixture::new(
        "base",
        &locations,
        &[2.0, 8.0, 0.5],
        &[0.5, 0.3, 0.2],
        DType::F64,
    )
}

#[test]
fn vmf_mixture_integrates_to_one() {
    // Midpoint rule with 300 × 600 nodes: error O(h²·max|p''|) ≈ 1e-4·κ² p_max ≲ 1e-3 here.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let (grid, w) = sphere_grid(300);
    let total = integrate(&mixture(&mut rng).log_prob(&grid), &w);
    assert!((total - 1.0).abs() < 1e-3, "∫ p = {total}");
}

#[test]
fn vmf_sampler_matches_mean_resultant_length() {
    // E[μᵀx] = A_3(κ) = coth κ − 1/κ; 20000 draws, SE ≤ 0.01; band 5 SE.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let mu = [0.0, 0.6, 0.8];
    for kappa in [0.5f64, 5.0, 50.0] {
        let n = 20_000;
        let mean = (0..n)
            .map(|_| {
                let x = flow_manifold::sample_vmf(&mu, kappa, &mut rng);
                x.iter().zip(&mu).map(|(a, b)| a * b).sum::<f64>()
            })
            .sum::<f64>()
            / n as f64;
        let expect = 1.0 / kappa.tanh() - 1.0 / kappa;
        assert!(
            (mean - expect).abs() < 5.0 * 0.5 / (n as f64).sqrt(),
            "κ = {kappa}: {mean} vs {expect}"
        );
    }
}

/// A random near-identity ResNet flow (all parameters scaled by `shrink`, so f = π∘f̃ stays
/// a diffeomorphism of M) with the given base.
fn random_flow(m: Rc<dyn Manifold>, base: Box<dyn ManifoldDensity>, shrink: f64) -> ManifoldFlow {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(21);
    let d = m.ambient_dim();
    let net = ResNetConfig::new(d, d, &[16], 1).with_block_last_init(Init::TorchDefault);
    let flow = ManifoldFlow::new(
        m,
        Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
        Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
        base,
    );
    for p in flow.parameters() {
        p.set(p.get().mul_scalar(shrink));
    }
    flow
}

#[test]
fn exact_model_density_integrates_to_one_on_s2() {
    // Encoder-side density p_Z(f(x)) |det_M f'(x)| of a diffeomorphism f integrates to 1;
    // the deviation of the midpoint rule is ≲ 1e-3 (as for the mixture above).
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let flow = random_flow(s2, Box::new(mixture(&mut rng)), 0.8);
    let (grid, w) = sphere_grid(120);
    let e = exact_log_prob(&flow, &grid, Side::Encoder, 4096, &mut rng);
    let total = integrate(&e.log_prob, &w);
    assert!((total - 1.0).abs() < 3e-3, "∫ p = {total}");
    // The flow is not the identity: the density differs from the base's somewhere.
    let spread = e
        .log_volume
        .to_vec_f64()
        .iter()
        .fold(0.0f64, |a, b| a.max(b.abs()));
    assert!(spread > 0.05, "log-det range {spread}");
}

#[test]
fn exact_model_density_integrates_to_one_on_t2() {
    // Uniform base on T², grid 150 × 150 midpoint rule on the periodic square: spectrally
    // accurate for smooth periodic integrands; tolerance 1e-6.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let torus = Torus::new(2);
    let t2: Rc<dyn Manifold> = Rc::new(torus);
    let flow = random_flow(t2.clone(), Box::new(Uniform::new(t2)), 0.6);
    let n = 150;
    let h = 2.0 * PI / n as f64;
    let angles: Vec<f64> = (0..n * n)
        .flat_map(|k| [-PI + (k % n) as f64 * h, -PI + (k / n) as f64 * h])
        .collect();
    let grid = torus.from_angles(&Tensor::from_vec(angles, &[n * n, 2]));
    let e = exact_log_prob(&flow, &grid, Side::Encoder, 4096, &mut rng);
    let total = integrate(&e.log_prob, &vec![h * h; n * n]);
    assert!((total - 1.0).abs() < 1e-6, "∫ p = {total}");
    let spread = e
        .log_volume
        .to_vec_f64()
        .iter()
        .fold(0.0f64, |a, b| a.max(b.abs()));
    assert!(spread > 0.05, "log-det range {spread}");
}

#[test]
fn exp0_log_det_closed_form_matches_dense_jacobian() {
    use flow_manifold::wrapped::log_det_exp0;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    for n in [2usize, 3] {
        let v = Tensor::randn(&[6, n], DType::F64, &mut rng);
        let f = |u: &Tensor| {
            let r = u.norm(1, true);
            u.mul(&r.tanh().div(&r))
        };
        let dense = flow_core::jacobian(f, &v).slogdet().1.to_vec_f64();
        let radii = v.norm(1, false).to_vec_f64();
        for (d, r) in dense.iter().zip(radii) {
            assert!((d - log_det_exp0(n, r)).abs() < 1e-10, "n = {n}, r = {r}");
        }
    }
}

#[test]
fn wrapped_normal_integrates_to_one_against_the_metric_volume() {
    // ∫ p(x) √det G(x) dx over the disk = 1; midpoint rule on a 400² grid of [−1, 1]²: the
    // density is smooth and negligible near the boundary for s = 0.5; tolerance 2e-3.
    use flow_manifold::{PoincareBall, WrappedNormal};
    let n = 400;
    let h = 2.0 / n as f64;
    let mut pts = Vec::new();
    for k in 0..n * n {
        let (x, y) = (
            -1.0 + h * ((k % n) as f64 + 0.5),
            -1.0 + h * ((k / n) as f64 + 0.5),
        );
        if x * x + y * y < 0.999 {
            pts.extend([x, y]);
        }
    }
    let m = pts.len() / 2;
    let x = Tensor::from_vec(pts, &[m, 2]);
    let lp = WrappedNormal::new(2, 0.5).log_prob(&x);
    let half_g = PoincareBall::new(2).log_metric_det(&x).mul_scalar(0.5);
    let total: f64 = lp
        .add(&half_g)
        .to_vec_f64()
        .iter()
        .map(|l| l.exp() * h * h)
        .sum();
    assert!((total - 1.0).abs() < 2e-3, "∫ p dvol = {total}");
}

#[test]
fn rfm_density_integrates_to_one_on_s2() {
    // A random (untrained) tangent field: the continuous change of variables with the
    // Riemannian divergence tr(Qᵀ J Q) gives a normalised density; 100 backward Euler steps
    // leave an O(h) error, tolerance 0.02.
    use flow_core::nn::Activation;
    use flow_manifold::{VectorField, rfm_log_prob};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let field = VectorField::new(s2.clone(), &[16], Activation::Tanh, &mut rng);
    let (grid, w) = sphere_grid(40);
    let lp = rfm_log_prob(&field, &Uniform::new(s2), &grid, 100, &mut rng);
    let total = integrate(&lp, &w);
    assert!((total - 1.0).abs() < 0.02, "∫ p = {total}");
    let spread = lp
        .to_vec_f64()
        .iter()
        .fold(0.0f64, |a, b| a.max((b + (4.0 * PI).ln()).abs()));
    assert!(
        spread > 0.05,
        "the field moves mass: max |log p − log p_U| = {spread}"
    );
}

#[test]
fn so3_mixture_density_is_normalised_under_haar() {
    // 8π² E_Haar[p(R)] = 1. For κ = 4 the importance weights have relative variance
    // ≈ 8π²∫p² ≈ 40, so with 200 000 Haar draws the relative SE is ≈ 0.014; band 0.06.
    use flow_manifold::{So3Mixture, SpecialOrthogonal};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(13);
    let mut mix = So3Mixture::random(2, &mut rng);
    mix.kappas = vec![4.0, 6.0];
    let n = 200_000;
    let r = SpecialOrthogonal::default().sample_uniform(n, DType::F64, &mut rng);
    let mean_p = mix
        .log_prob(&r)
        .to_vec_f64()
        .iter()
        .map(|l| l.exp())
        .sum::<f64>()
        / n as f64;
    let total = mean_p * 8.0 * PI * PI;
    assert!((total - 1.0).abs() < 0.06, "8π² E[p] = {total}");
}

#[test]
fn wrapped_mixture_on_t2_integrates_to_one_and_matches_its_sampler() {
    // Periodic midpoint rule on 200² cells: spectrally accurate, tolerance 1e-8. The
    // sampler's circular mean of component 0 alone is checked against its mean angle.
    use flow_manifold::WrappedMixture;
    let mix = WrappedMixture {
        means: vec![vec![0.5, -2.0], vec![3.0, 1.0]],
        sigmas: vec![0.4, 0.9],
        weights: vec![0.6, 0.4],
    };
    let torus = Torus::new(2);
    let n = 200;
    let h = 2.0 * PI / n as f64;
    let angles: Vec<f64> = (0..n * n)
        .flat_map(|k| {
            [
                -PI + ((k % n) as f64 + 0.5) * h,
                -PI + ((k / n) as f64 + 0.5) * h,
            ]
        })
        .collect();
    let grid = torus.from_angles(&Tensor::from_vec(angles, &[n * n, 2]));
    let total: f64 = mix
        .log_prob(&grid)
        .to_vec_f64()
        .iter()
        .map(|l| l.exp() * h * h)
        .sum();
    assert!((total - 1.0).abs() < 1e-8, "∫ p = {total}");
    let one = WrappedMixture {
        means: vec![vec![0.5, -2.0]],
        sigmas: vec![0.4],
        weights: vec![1.0],
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let x = one
        .sample(20_000, &mut rng)
        .mean_axis(0, false)
        .to_vec_f64();
    // E[(cos θ, sin θ)] = e^{−σ²/2}(cos μ, sin μ); SE ≤ 1/√20000 ≈ 0.007, band 0.03.
    let r = (-0.08f64).exp();
    for (got, want) in x.iter().zip([
        r * 0.5f64.cos(),
        r * 0.5f64.sin(),
        r * (-2.0f64).cos(),
        r * (-2.0f64).sin(),
    ]) {
        assert!((got - want).abs() < 0.03, "{got} vs {want}");
    }
}
