//! The reference workloads of `benches/core.rs` (BENCHMARKS.md), shared with
//! `examples/sharded_step.rs` so the profiled loop and the measurement of record run the same
//! models and loss: MLP 8→256→256→8 with SiLU, f32, and the free-form-flow loss on an
//! encoder/decoder pair of them.

use flow_core::nn::{Activation, Mlp, MlpConfig, Module, Param};
use flow_core::{DType, Tensor, jvp, vjp_with_graph};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// One reference MLP, its parameters named under `prefix`.
pub fn mlp(prefix: &str, rng: &mut Xoshiro256PlusPlus) -> Mlp {
    MlpConfig::new(8, &[256, 256], 8)
        .with_activation(Activation::Silu)
        .build(prefix, DType::F32, rng)
}

/// Shards of the `*_sharded` rows: one per core of the project machine. Fixed, not the
/// thread count, so the numbers do not depend on it.
pub const SHARDS: usize = 2;

/// Encoder and decoder as `steps` builds them (seed 0), with their parameters.
pub fn enc_dec() -> ((Mlp, Mlp), Vec<Param>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let (enc, dec) = (mlp("enc", &mut rng), mlp("dec", &mut rng));
    let mut params = enc.parameters();
    params.extend(dec.parameters());
    ((enc, dec), params)
}

/// The free-form-flow loss of Draxler et al. (arXiv:2310.16624, eq. 9) with β = 10, K = 1.
pub fn free_form_loss(enc: &Mlp, dec: &Mlp, x: &Tensor, v: &Tensor) -> Tensor {
    let xr = x.requires_grad();
    let z = enc.forward(&xr);
    let (x_hat, jg_v) = jvp(|z| dec.forward(z), &z, v);
    let vt_jf = vjp_with_graph(&z, &[&xr], v).remove(0);
    let surrogate = vt_jf.mul(&jg_v.detach()).sum_axis(1, false);
    let nll = z
        .square()
        .sum_axis(1, false)
        .mul_scalar(0.5)
        .sub(&surrogate);
    let recon = x_hat.sub(x).square().sum_axis(1, false);
    nll.add(&recon.mul_scalar(10.0)).mean_all()
}
