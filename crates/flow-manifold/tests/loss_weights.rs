//! Each official loss key has its own weight in `mfff_loss`, and each term is the quantity its
//! key names (the official `FreeFormBase.compute_metrics`), recomputed here independently from
//! the model's encode/decode.

use flow_core::{DType, Tensor};
use flow_freeform::ResNetConfig;
use flow_manifold::{
    LossWeights, Manifold, ManifoldFlow, MfffLossConfig, Sphere, TangentScale, Uniform, mfff_loss,
    tangent_hutchinson,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::rc::Rc;

fn random_flow(seed: u64) -> ManifoldFlow {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
    let net = ResNetConfig::new(3, 3, &[8], 1);
    ManifoldFlow::new(
        s2.clone(),
        Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
        Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
        Box::new(Uniform::new(s2)),
    )
}

fn sq(a: &Tensor, b: &Tensor) -> f64 {
    a.sub(b).square().sum_per_sample().mean_all().item()
}

/// The loss with `weights` at a fixed random stream.
fn loss_at(flow: &ManifoldFlow, x: &Tensor, weights: LossWeights) -> f64 {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    mfff_loss(flow, x, &MfffLossConfig::from_weights(weights), &mut rng)
        .loss
        .item()
}

#[test]
fn each_loss_key_adds_its_own_weight_times_its_own_term() {
    let flow = random_flow(1);
    let s2 = Sphere::new(2);
    let x = s2.sample_uniform(16, DType::F64, &mut Xoshiro256PlusPlus::seed_from_u64(2));
    // Independent values of the five regularisers (the random stream of mfff_loss: the
    // Hutchinson draw, then x_s, then z_s).
    let z_raw = flow.encode_raw(&x);
    let z = s2.project(&z_raw);
    let x1_raw = flow.decode_raw(&z);
    let x1 = s2.project(&x1_raw);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    let _v = tangent_hutchinson(&s2, &z, TangentScale::Intrinsic, &mut rng);
    let xs = s2.sample_uniform(16, DType::F64, &mut rng);
    let x_sample = sq(&xs, &flow.decode(&flow.encode(&xs)));
    let expected = [
        ("z_projection", sq(&z_raw, &z)),
        ("x1_projection", sq(&x1_raw, &x1)),
        ("z_reconstruction", sq(&z, &flow.encode(&x1))),
        ("x_sample_reconstruction", x_sample),
    ];
    let base = loss_at(&flow, &x, LossWeights::default());
    for (key, term) in expected {
        assert!(
            term > 1e-6,
            "{key}: a random net leaves {term} (test is informative)"
        );
        let mut w = LossWeights::default();
        match key {
            "z_projection" => w.z_projection = 3.0,
            "x1_projection" => w.x1_projection = 3.0,
            "z_reconstruction" => w.z_reconstruction = 3.0,
            _ => w.x_sample_reconstruction = 3.0,
        }
        let added = loss_at(&flow, &x, w) - base;
        assert!(
            (added - 3.0 * term).abs() < 1e-10 * (1.0 + term),
            "{key}: loss grew by {added}, expected 3 × {term}"
        );
    }
    // z_sample alone: its draw comes right after the Hutchinson vector.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    let _v = tangent_hutchinson(&s2, &z, TangentScale::Intrinsic, &mut rng);
    let zs = s2.sample_uniform(16, DType::F64, &mut rng);
    let z_sample = sq(&zs, &flow.encode(&flow.decode(&zs)));
    let w = LossWeights {
        z_sample_reconstruction: 2.0,
        ..LossWeights::default()
    };
    let added = loss_at(&flow, &x, w) - base;
    assert!((added - 2.0 * z_sample).abs() < 1e-10 * (1.0 + z_sample));
    // βR: the data reconstruction.
    let w = LossWeights {
        noisy_reconstruction: 5.0,
        ..LossWeights::default()
    };
    let added = loss_at(&flow, &x, w) - base;
    assert!((added - 5.0 * sq(&x, &x1)).abs() < 1e-10);
}

#[test]
fn the_beta_setters_fill_both_keys_and_bad_weights_are_named() {
    let c = MfffLossConfig::new(7.0).with_beta_u(2.0).with_beta_p(3.0);
    assert_eq!(c.weights, LossWeights::betas(7.0, 2.0, 3.0));
    assert_eq!(
        (
            c.weights.x_sample_reconstruction,
            c.weights.z_sample_reconstruction
        ),
        (2.0, 2.0)
    );
    assert_eq!(
        (c.weights.z_projection, c.weights.x1_projection),
        (3.0, 3.0)
    );
    assert_eq!(c.weights.z_reconstruction, 0.0);
    let bad = LossWeights {
        z_reconstruction: -1.0,
        ..LossWeights::default()
    };
    assert!(bad.check().unwrap_err().contains("z_reconstruction"));
    assert!(LossWeights::betas(1.0, f64::NAN, 0.0).check().is_err());
    // The page text: nonzero keys only, and the keys that differ.
    let w = LossWeights::betas(1000.0, 0.0, 0.0);
    assert_eq!(w.to_string(), "noisy_reconstruction 1000");
    assert_eq!(LossWeights::default().to_string(), "none");
    let other = LossWeights {
        z_reconstruction: 100.0,
        ..w
    };
    assert_eq!(
        w.differences(&other),
        vec![("z_reconstruction", 0.0, 100.0)]
    );
}

#[test]
#[should_panic(expected = "x1_projection")]
fn a_negative_weight_panics_with_its_key() {
    let flow = random_flow(3);
    let x = Sphere::new(2).sample_uniform(4, DType::F64, &mut Xoshiro256PlusPlus::seed_from_u64(4));
    let w = LossWeights {
        x1_projection: -2.0,
        ..LossWeights::default()
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    mfff_loss(&flow, &x, &MfffLossConfig::from_weights(w), &mut rng);
}

#[test]
fn the_reconstruction_trains_both_networks_through_the_jvp_primal() {
    // x₁ of the loss is the primal of the decoder's forward-mode pass: its reverse gradient
    // must equal that of a plain decode(encode(x)), for encoder and decoder parameters alike
    // (the decoder learns to invert the encoder only through these terms).
    use flow_core::grad;
    use flow_core::nn::Module;
    let flow = random_flow(6);
    let x = Sphere::new(2).sample_uniform(8, DType::F64, &mut Xoshiro256PlusPlus::seed_from_u64(7));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
    let t = mfff_loss(&flow, &x, &MfffLossConfig::new(1.0), &mut rng);
    let params: Vec<Tensor> = flow.parameters().iter().map(|p| p.get()).collect();
    let refs: Vec<&Tensor> = params.iter().collect();
    let from_loss = grad(&t.reconstruction.mean_all(), &refs);
    let plain = x
        .sub(&flow.decode(&flow.encode(&x)))
        .square()
        .sum_per_sample()
        .mean_all();
    let direct = grad(&plain, &refs);
    let mut decoder_moved = false;
    for ((p, a), b) in flow.parameters().iter().zip(&from_loss).zip(&direct) {
        let (a, b) = (a.to_vec_f64(), b.to_vec_f64());
        for (u, v) in a.iter().zip(&b) {
            assert!(
                (u - v).abs() < 1e-12 * (1.0 + v.abs()),
                "{}: {u} vs {v}",
                p.name()
            );
        }
        decoder_moved |= p.name().starts_with("dec") && b.iter().any(|v| v.abs() > 1e-8);
    }
    assert!(decoder_moved, "the reconstruction reaches the decoder");
}
