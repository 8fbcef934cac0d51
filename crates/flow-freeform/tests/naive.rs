//! The naive maximum-likelihood volume term (FIF arXiv:2306.01843, §4): the exact
//! `½ log det(J_gᵀ J_g)` through the decoder, its value and gradient for linear decoders, and
//! the loss it gives against the exact evaluation.

mod common;

use common::LinearNet;
use flow_core::nn::{Module, values};
use flow_core::{DType, Tensor, grad};
use flow_freeform::{
    FffLossConfig, FreeFormFlow, JacobianSide, Latent, ResNetConfig, VolumeTerm,
    decoder_log_volume, exact_log_prob, fff_loss,
};

fn max_abs(t: &Tensor) -> f64 {
    t.to_vec_f64().iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[test]
fn linear_decoder_volume_and_gradient_are_the_pseudo_inverse() {
    let mut rng = common::rng(31);
    let (big_d, d) = (5, 2);
    let bmat = Tensor::randn(&[big_d, d], DType::F64, &mut rng);
    let dec = LinearNet::new(&bmat, &Tensor::zeros(&[big_d], DType::F64), "dec");
    let z = Tensor::randn(&[4, d], DType::F64, &mut rng);
    let f = |z: &Tensor| dec.layer.forward(z);
    let (x1, lv) = decoder_log_volume(&f, &z);
    let gram = bmat.transposed_matmul(&bmat);
    let want = 0.5 * gram.slogdet().1.item();
    for v in lv.to_vec_f64() {
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
    }
    assert!(max_abs(&x1.sub(&z.matmul_transposed(&bmat))) < 1e-12);
    // ∂ ½ log det(BᵀB) / ∂B = B (BᵀB)⁻¹, per sample.
    let w = &dec.parameters()[0];
    let g = grad(&lv.mean_all(), &[&w.get()]).remove(0);
    let expect = bmat.matmul(&gram.inverse());
    assert!(max_abs(&g.sub(&expect)) < 1e-10);
}

#[test]
fn decoder_exact_loss_nll_is_the_exact_on_manifold_nll() {
    let mut rng = common::rng(32);
    let cfg = ResNetConfig::new(3, 2, &[16], 1);
    let model = FreeFormFlow::new(
        Box::new(cfg.build_encoder("enc", DType::F64, &mut rng)),
        Box::new(cfg.build_decoder("dec", DType::F64, &mut rng)),
        Latent::standard_normal(2),
    );
    let x = Tensor::randn(&[6, 3], DType::F64, &mut rng);
    let loss_cfg = FffLossConfig::new(10.0).with_volume(VolumeTerm::DecoderExact);
    let terms = fff_loss(&model, &x, None, &loss_cfg, &mut rng);
    let eval = exact_log_prob(&model, &x, None, JacobianSide::Decoder, 4);
    for (a, b) in terms
        .nll
        .to_vec_f64()
        .iter()
        .zip(eval.log_prob.neg().to_vec_f64())
    {
        assert!((a - b).abs() < 1e-10, "{a} vs {b}");
    }
    // Unlike the surrogate, the naive term sends gradient to the decoder.
    let dec_params = model.decoder_parameters();
    let without_rec = terms.nll.mean_all();
    let g = grad(
        &without_rec,
        &values(&dec_params).iter().collect::<Vec<_>>(),
    );
    assert!(g.iter().any(|t| max_abs(t) > 1e-6));
}
