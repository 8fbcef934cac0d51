//! Self-describing free-form checkpoints and the `Density` interface: a model is rebuilt from
//! its path alone; its `log_prob` equals an independent change of variables through a
//! finite-difference decoder Jacobian.

use flow_core::distributions::Density;
use flow_core::nn::Module;
use flow_core::{DType, Tensor, no_grad};
use flow_freeform::{Latent, ModelSpec, NetConfig, ResNetConfig, load_model, save_model};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn spec() -> ModelSpec {
    ModelSpec {
        net: NetConfig::ResNet(ResNetConfig::new(2, 2, &[16], 2)),
        latent: Latent::standard_normal(2),
        dtype: DType::F64,
        seed: 9,
    }
}

fn perturbed(spec: &ModelSpec) -> flow_freeform::FreeFormFlow {
    let model = spec.build();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for p in model.parameters() {
        let v = p.get();
        p.set(v.add(&Tensor::randn(v.shape(), DType::F64, &mut rng).mul_scalar(0.1)));
    }
    model
}

#[test]
fn a_saved_model_is_rebuilt_from_its_path_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fff.safetensors");
    let model = perturbed(&spec());
    save_model(&model, &spec(), &path).unwrap();
    let (loaded, back) = load_model(&path).unwrap();
    assert_eq!(back, spec());
    let x = Tensor::randn(
        &[6, 2],
        DType::F64,
        &mut Xoshiro256PlusPlus::seed_from_u64(2),
    );
    assert_eq!(
        loaded.log_prob(&x, None).to_vec_f64(),
        model.log_prob(&x, None).to_vec_f64()
    );
    let mut ck = flow_core::io::Checkpoint::load(&path).unwrap();
    ck.set_metadata(
        "model",
        ck.metadata("model")
            .unwrap()
            .replace("\"dtype\"", "\"dype\""),
    );
    ck.save(&path).unwrap();
    let err = load_model(&path).err().expect("tampered").to_string();
    assert!(err.contains("dtype"), "{err}");
}

/// `log p(x) = log N(z) − log|det J_g(z)|` at `z = f(x)`, with `J_g` by central differences
/// (h = 1e-5: truncation O(h²) ≈ 1e-10, round-off ≈ 1e-16/h ≈ 1e-11; tolerance 1e-6). This
/// holds where `g` inverts `f`, so the check uses reconstructed points `x = g(z)`.
#[test]
fn log_prob_matches_a_finite_difference_change_of_variables() {
    let model = perturbed(&spec());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let z0 = Tensor::randn(&[5, 2], DType::F64, &mut rng);
    let x = no_grad(|| model.decode(&z0, None));
    let lp = model.log_prob(&x, None).to_vec_f64();
    let z = no_grad(|| model.encode(&x, None)).to_vec_f64();
    let h = 1e-5;
    for i in 0..5 {
        let zi = [z[2 * i], z[2 * i + 1]];
        let g = |a: f64, b: f64| {
            no_grad(|| model.decode(&Tensor::from_slice(&[a, b], &[1, 2]), None)).to_vec_f64()
        };
        let col = |k: usize| {
            let (mut p, mut m) = (zi, zi);
            p[k] += h;
            m[k] -= h;
            let (gp, gm) = (g(p[0], p[1]), g(m[0], m[1]));
            [(gp[0] - gm[0]) / (2.0 * h), (gp[1] - gm[1]) / (2.0 * h)]
        };
        let (c0, c1) = (col(0), col(1));
        let det = c0[0] * c1[1] - c1[0] * c0[1];
        let log_n = -0.5 * (zi[0] * zi[0] + zi[1] * zi[1]) - (2.0 * std::f64::consts::PI).ln();
        let expected = log_n - det.abs().ln();
        assert!(
            (lp[i] - expected).abs() < 1e-6,
            "row {i}: {} vs {expected}",
            lp[i]
        );
    }
    let s = model.sample(3, None, &mut rng);
    assert_eq!(s.shape(), &[3, 2]);
}
