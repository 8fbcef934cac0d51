//! The full presets' loss weights against the official configs (`vislearn/FFF`,
//! `configs/m-fff/*.yaml` at commit `02db8ec`), typed here key by key from the YAML files so
//! that a preset which drops, merges or misweights an official loss key fails a test (session 7
//! trained RNA and the Poincaré toys without `z_reconstruction`, with RNA's
//! `z_sample_reconstruction` at 100 instead of 1000 and the five Gaussians' `x1_projection` at
//! 1 instead of 100).

#[cfg(test)]
mod tests {
    use flow_manifold::{LossWeights, TangentScale};

    use super::super::earth::EarthPreset;
    use super::super::poincare::{HyperbolicToy, PoincarePreset};
    use super::super::so3::So3Preset;
    use super::super::torus::TorusPreset;
    use super::super::{MfffEarth, MfffPoincare, MfffSo3, MfffTorus};
    use crate::experiment::{Experiment, Mode};

    /// `(noisy_reconstruction, x_sample, z_sample, z_reconstruction, z_projection,
    /// x1_projection)` as the YAML files set them (absent keys: 0).
    fn yaml(w: [f64; 6]) -> LossWeights {
        LossWeights {
            noisy_reconstruction: w[0],
            x_sample_reconstruction: w[1],
            z_sample_reconstruction: w[2],
            z_reconstruction: w[3],
            z_projection: w[4],
            x1_projection: w[5],
        }
    }

    fn full<T: serde::de::DeserializeOwned>(e: &dyn Experiment) -> T {
        serde_json::from_value(e.preset(Mode::Full)).expect("the full preset parses")
    }

    #[test]
    fn rna_weights_are_the_official_keys() {
        // rna.yaml: noisy_reconstruction 1000, x_sample_reconstruction 100,
        // z_reconstruction 100, z_sample_reconstruction 1000.
        let p: TorusPreset = full(&MfffTorus);
        assert_eq!(
            p.rna_weights,
            yaml([1000.0, 100.0, 1000.0, 100.0, 0.0, 0.0])
        );
        assert_eq!(p.rna_noise, 0.01);
        assert_eq!(p.rna_scale, TangentScale::Ambient, "the official √m");
        // No gradient_clip key (lightning_trainable's default None), Adam 1e-3, wd 1e-3,
        // batch 512, 2 blocks of [256, 256].
        let n = &p.rna;
        assert_eq!(n.clip_grad_norm, None);
        assert_eq!((n.lr, n.weight_decay, n.batch), (1e-3, 1e-3, 512));
        assert_eq!((n.blocks, n.hidden.clone()), (2, vec![256, 256]));
        // `lr_scheduler: "onecyclelr"` (a bare name): lightning_trainable builds PyTorch's
        // OneCycleLR with its defaults, cycle_momentum on, 0.85–0.95, final_div_factor 1e4.
        assert_eq!(n.schedule, super::super::common::LrSchedule::OneCycle);
        assert_eq!(n.momentum, torch_momentum());
        assert_eq!(n.final_div_factor, 1e4);
    }

    /// PyTorch's OneCycleLR momentum defaults, typed from its signature
    /// (`base_momentum=0.85, max_momentum=0.95`).
    fn torch_momentum() -> flow_core::optim::MomentumCycle {
        flow_core::optim::MomentumCycle {
            base: 0.85,
            max: 0.95,
        }
    }

    #[test]
    fn poincare_weights_are_the_official_keys() {
        // hyperbolic_five_gaussians.yaml: 1000, x_sample 100, z_reconstruction 100,
        // x1_projection 100, z_projection 1; hyperbolic_checkerboard.yaml: the same with
        // z_projection 100.
        let p: PoincarePreset = full(&MfffPoincare);
        let by_toy: Vec<(HyperbolicToy, LossWeights)> =
            p.toys.iter().map(|r| (r.toy, r.weights)).collect();
        assert_eq!(
            by_toy,
            vec![
                (
                    HyperbolicToy::FiveGaussians,
                    yaml([1000.0, 100.0, 0.0, 100.0, 1.0, 100.0])
                ),
                (
                    HyperbolicToy::Checkerboard,
                    yaml([1000.0, 100.0, 0.0, 100.0, 100.0, 100.0])
                ),
            ]
        );
        assert_eq!(p.base_scale, 0.5);
        // No gradient_clip; Adam 1e-4, wd 1e-3, batch 4096, 6 blocks of [256, 256, 256], SiLU.
        let n = &p.net;
        assert_eq!(n.clip_grad_norm, None);
        assert_eq!((n.lr, n.weight_decay, n.batch), (1e-4, 1e-3, 4096));
        assert_eq!((n.blocks, n.hidden.clone()), (6, vec![256; 3]));
        // `lr_scheduler: onecyclelr` with PyTorch's defaults, momentum cycling included.
        assert_eq!(n.momentum, torch_momentum());
    }

    #[test]
    fn so3_and_earth_weights_are_the_official_keys() {
        // so3.yaml: 500, x/z_sample 10/10, z/x1_projection 10/10.
        let p: So3Preset = full(&MfffSo3);
        let w = LossWeights::betas(p.beta_r, p.beta_u, p.beta_p);
        assert_eq!(w, yaml([500.0, 10.0, 10.0, 0.0, 10.0, 10.0]));
        assert_eq!(p.scale, TangentScale::Ambient, "the official √m");
        // so3.yaml: ExponentialLR γ = 0.99999 per step, gradient_clip 1, Adam 1e-3, wd 1e-5,
        // batch 1024, 2 blocks of 5 × 512; float32 (fff/__init__.py).
        assert_eq!(
            p.net.schedule,
            super::super::common::LrSchedule::Exponential { gamma: 0.99999 }
        );
        assert_eq!(
            (
                p.net.clip_grad_norm,
                p.net.lr,
                p.net.weight_decay,
                p.net.batch
            ),
            (Some(1.0), 1e-3, 1e-5, 1024)
        );
        assert_eq!((p.net.blocks, p.net.hidden.clone()), (2, vec![512; 5]));
        assert_eq!(p.net.dtype, flow_core::DType::F32);
        assert_eq!(
            p.net.momentum,
            super::super::common::CONSTANT_BETA1,
            "ExponentialLR cycles nothing; Adam's default β₁"
        );
        // earth.yaml: 10000, x/z_sample 200/200, the official √m Hutchinson scale.
        let p: EarthPreset = full(&MfffEarth);
        let w = LossWeights::betas(p.beta_r, p.beta_u, p.beta_p);
        assert_eq!(w, yaml([10_000.0, 200.0, 200.0, 0.0, 0.0, 0.0]));
        assert_eq!(p.scale, TangentScale::Ambient);
        // earth.yaml: gradient_clip 10, Adam 2e-4 with wd 5e-5, batch 32, one-cycle with
        // final_div_factor 100, 4 blocks of [256, 256] with sin.
        let n = &p.net;
        assert_eq!(n.clip_grad_norm, Some(10.0));
        assert_eq!((n.lr, n.weight_decay, n.batch), (2e-4, 5e-5, 32));
        assert_eq!(
            (n.schedule, n.final_div_factor),
            (super::super::common::LrSchedule::OneCycle, 100.0)
        );
        assert_eq!((n.blocks, n.hidden.clone()), (4, vec![256, 256]));
        assert_eq!(n.activation, flow_core::nn::Activation::Sin);
        // earth.yaml's lr_scheduler: base_momentum 0.85, max_momentum 0.95.
        assert_eq!(n.momentum, torch_momentum());
        // volcano.yaml noise 0.008; earthquake/flood/fire.yaml 0.0015.
        let n = p.noise;
        assert_eq!(
            (n.volcano, n.earthquake, n.flood, n.fire),
            (0.008, 0.0015, 0.0015, 0.0015)
        );
    }
}
