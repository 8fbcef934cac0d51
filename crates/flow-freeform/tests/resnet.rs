//! The residual encoder/decoder layout, including the fully connected front of the official
//! SBI configuration (`configs/fff/sbi_base.yaml`).

mod common;

use flow_core::nn::Module;
use flow_core::{DType, Tensor};
use flow_freeform::{Network, ResNetConfig};

/// Parameters of a dense layer `i → o` with bias.
fn dense(i: usize, o: usize) -> usize {
    i * o + o
}

/// The SBI model of the paper for two moons (θ ∈ R², x_obs ∈ R²): the encoder is
/// `FC([θ, c] → 256 → 256 → 2)` followed by two blocks `u + MLP([u, c])` of widths
/// [256, 256]; the decoder mirrors it, ending with the fully connected network.
#[test]
fn the_official_sbi_layout_has_the_expected_layers() {
    let (d, c) = (2, 2);
    let cfg = ResNetConfig::new(d, d, &[256, 256], 2)
        .with_condition(c)
        .with_front(&[256, 256]);
    let mlp = dense(d + c, 256) + dense(256, 256) + dense(256, d);
    let mut rng = common::rng(1);
    for (net, first) in [
        (cfg.build_encoder("enc", DType::F32, &mut rng), "enc.front"),
        (
            cfg.build_decoder("dec", DType::F32, &mut rng),
            "dec.blocks.0",
        ),
    ] {
        let params = net.parameters();
        let count: usize = params.iter().map(|p| p.numel()).sum();
        assert_eq!(count, 3 * mlp, "front + 2 blocks, no projection");
        assert!(
            params[0].name().starts_with(first),
            "first parameter {} should belong to {first}",
            params[0].name()
        );
    }
}

/// The decoder's front runs last with the hidden widths reversed, so an asymmetric front
/// gives mirrored weight shapes; both ends see the condition.
#[test]
fn the_front_is_mirrored_and_conditional() {
    let cfg = ResNetConfig::new(3, 3, &[5], 1)
        .with_condition(2)
        .with_front(&[8, 4]);
    let mut rng = common::rng(2);
    let encoder = cfg.build_encoder("enc", DType::F64, &mut rng);
    let decoder = cfg.build_decoder("dec", DType::F64, &mut rng);
    let front_shapes = |net: &dyn Module| -> Vec<Vec<usize>> {
        net.parameters()
            .iter()
            .filter(|p| p.name().contains("front") && p.shape().len() == 2)
            .map(|p| p.shape())
            .collect()
    };
    // Weights are [out, in]; inputs carry the 2 condition features.
    assert_eq!(front_shapes(&encoder), [[8, 5], [4, 8], [3, 4]]);
    assert_eq!(front_shapes(&decoder), [[4, 5], [8, 4], [3, 8]]);

    let x = Tensor::randn(&[4, 3], DType::F64, &mut rng);
    let c1 = Tensor::randn(&[4, 2], DType::F64, &mut rng);
    let c2 = c1.add_scalar(0.5);
    for net in [&encoder as &dyn Network, &decoder] {
        let a = net.forward(&x, Some(&c1)).to_vec_f64();
        let b = net.forward(&x, Some(&c2)).to_vec_f64();
        let change: f64 = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).sum();
        assert!(change > 1e-6, "output ignores the condition ({change})");
        assert_eq!(a.len(), 12);
    }
}
