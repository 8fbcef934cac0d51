//! The energy-free TRADE variant (arXiv 2410.19492, §3; `trade.md` §1.5,
//! `check_consistency_with: self`): the ground-truth energy is replaced by the model's own
//! tempered energy at the reference temperature,
//!
//! `E_θ(x, T) = −(T₀/T) · sg[log q_θ(x | T₀)]`, so `A_θ(x; T) = ∂_T E_θ = (T₀/T²) · sg[log q_θ(x | T₀)]`,
//!
//! and TRADE's residual `∂_T log q_θ(x|T) − (Ê_T[A_θ] − A_θ(x))` then asks the flow to temper
//! its own boundary distribution, `q_θ(x|T) ∝ q_θ(x|T₀)^{T₀/T}`, with no energy evaluation at
//! all (data at T₀ only). [`ModelEnergy`] is that energy as a [`flow_data::energy::Energy`],
//! so the grid and continuous TRADE paths run unchanged on `Family::new(ModelEnergy, …)`.
//!
//! The model is shared (`Rc`): the energy always reads the current parameters, detached
//! (`sg`), as the official code does.
//!
//! Exactness oracle: a volume-preserving flow with latent `N(0, T·I)` obeys
//! `log q(x|T) = (T₀/T) log q(x|T₀) + const(T)` exactly, so its energy-free residual is the
//! same number for every sample (and zero up to SNIS error); see the tests.

use std::rc::Rc;

use flow_core::{Tensor, no_grad};
use flow_data::energy::{Energy, Parameter};

use crate::family::c_vec;
use crate::flow::ParamFlow;

/// The model's own tempered energy at reference temperature `t0` (see the module docs).
pub struct ModelEnergy {
    model: Rc<ParamFlow>,
    t0: f64,
}

impl ModelEnergy {
    /// The energy of `model` tempered from `t0` (positive).
    ///
    /// # Panics
    /// If `t0` is not positive and finite.
    pub fn new(model: Rc<ParamFlow>, t0: f64) -> ModelEnergy {
        assert!(
            t0 > 0.0 && t0.is_finite(),
            "ModelEnergy: t0 must be positive, got {t0}"
        );
        ModelEnergy { model, t0 }
    }

    /// `sg[log q_θ(x | T₀)]`, `[n]`.
    fn log_q0(&self, x: &Tensor) -> Tensor {
        no_grad(|| {
            let xd = x.detach();
            self.model
                .log_prob(&xd, &c_vec(self.t0, xd.dim(0), &xd))
                .detach()
        })
    }
}

impl Energy for ModelEnergy {
    fn dim(&self) -> usize {
        self.model.dim()
    }

    fn parameter(&self) -> Parameter {
        Parameter::Temperature
    }

    fn reference_parameter(&self) -> f64 {
        self.t0
    }

    /// `E_θ(x, T) = −(T₀/T) log q_θ(x | T₀)`; differentiable in `T` only.
    fn energy(&self, x: &Tensor, t: &Tensor) -> Tensor {
        self.log_q0(x).mul_scalar(-self.t0).div(t)
    }

    /// `A_θ = (T₀/T²) log q_θ(x | T₀)`.
    fn energy_dc(&self, x: &Tensor, t: &Tensor) -> Tensor {
        self.log_q0(x).mul_scalar(self.t0).div(&t.square())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::Family;
    use crate::flow::{Architecture, LatentScale, ParamFlowConfig};
    use crate::loss::residual_target;
    use crate::snis::snis_expectation;
    use flow_core::DType;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    fn vp_flow(seed: u64) -> Rc<ParamFlow> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let cfg = ParamFlowConfig::affine(2, 4, &[16])
            .with_conditional(false)
            .with_architecture(Architecture::VolumePreserving { clamp: 2.0 })
            .with_latent(LatentScale::Temperature);
        Rc::new(cfg.build(DType::F64, &mut rng))
    }

    /// `A_θ` equals a central difference of `E_θ` in T (f64).
    #[test]
    fn a_matches_finite_difference() {
        let model = vp_flow(1);
        let e = ModelEnergy::new(model, 1.0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let x = Tensor::randn(&[8, 2], DType::F64, &mut rng);
        for t in [0.4, 1.0, 2.5] {
            let h = 1e-5 * t;
            let a = e.energy_dc(&x, &c_vec(t, 8, &x)).to_vec_f64();
            let ep = e.energy(&x, &c_vec(t + h, 8, &x)).to_vec_f64();
            let em = e.energy(&x, &c_vec(t - h, 8, &x)).to_vec_f64();
            for i in 0..8 {
                let fd = (ep[i] - em[i]) / (2.0 * h);
                assert!((a[i] - fd).abs() < 1e-6 * (1.0 + a[i].abs()), "T = {t}");
            }
        }
    }

    /// A volume-preserving flow with latent N(0, T·I) tempers exactly, so through the
    /// training path (SNIS table value + `residual_target` + forward-mode `∂_T log q`) its
    /// energy-free residual is one constant for all samples (to round-off: the SNIS weights
    /// `q(x|1)^{1/T}/q(x|T)` are equal), and that constant is zero within 4 Monte-Carlo
    /// standard errors of `Ê[A_θ]` (plain mean with equal weights: sd(A)/√N).
    #[test]
    fn volume_preserving_residual_vanishes() {
        let model = vp_flow(3);
        let fam = Family::new(
            Box::new(ModelEnergy::new(model.clone(), 1.0)),
            1.0,
            0.3,
            3.0,
        )
        .unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let n = 4000;
        for t in [0.5, 2.0] {
            let ex = snis_expectation(&model, &fam, t, n, 0, &mut rng).unwrap();
            assert!(
                ex.ess > 1.0 - 1e-9,
                "T = {t}: weights not uniform, ESS {}",
                ex.ess
            );
            let probe = Tensor::zeros(&[1], DType::F64);
            let c = c_vec(t, 500, &probe);
            let (x, _) = model.sample_detached(&c, &mut rng);
            let target = residual_target(&fam, &x, &c, &c_vec(ex.value, 500, &probe));
            let dc = no_grad(|| model.log_prob_and_dc(&x, &c).1);
            let r = dc.sub(&target).to_vec_f64();
            let spread = r.iter().fold(0.0f64, |m, v| m.max((v - r[0]).abs()));
            assert!(
                spread < 1e-9,
                "T = {t}: residual not constant, spread {spread}"
            );
            // MC error of Ê[A]: sd of A over the proposal samples / √N.
            let (xa, _) = model.sample_detached(&c_vec(t, n, &probe), &mut rng);
            let a = fam.a(&xa, &c_vec(t, n, &probe)).to_vec_f64();
            let mean = a.iter().sum::<f64>() / n as f64;
            let sd = (a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            let se = sd / (n as f64).sqrt();
            assert!(
                r[0].abs() < 4.0 * se,
                "T = {t}: residual {} vs 4 SE {}",
                r[0],
                4.0 * se
            );
        }
    }

    /// The check can fail: a general conditional affine flow (parameters perturbed away from
    /// the zero-initialised identity, which would temper exactly) does not temper exactly, so
    /// its energy-free residual varies from sample to sample.
    #[test]
    fn general_flow_residual_varies() {
        use flow_core::nn::Module;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let model = Rc::new(ParamFlowConfig::affine(2, 4, &[16]).build(DType::F64, &mut rng));
        for p in model.parameters() {
            let v = p.get();
            let noise = Tensor::randn(v.shape(), DType::F64, &mut rng).mul_scalar(0.3);
            p.set(v.add(&noise));
        }
        let fam = Family::new(
            Box::new(ModelEnergy::new(model.clone(), 1.0)),
            1.0,
            0.3,
            3.0,
        )
        .unwrap();
        let ex = snis_expectation(&model, &fam, 0.5, 2000, 0, &mut rng).unwrap();
        let probe = Tensor::zeros(&[1], DType::F64);
        let c = c_vec(0.5, 200, &probe);
        let (x, _) = model.sample_detached(&c, &mut rng);
        let target = residual_target(&fam, &x, &c, &c_vec(ex.value, 200, &probe));
        let r = no_grad(|| model.log_prob_and_dc(&x, &c).1)
            .sub(&target)
            .to_vec_f64();
        let spread = r.iter().fold(0.0f64, |m, v| m.max((v - r[0]).abs()));
        assert!(spread > 1e-3, "general flow residual spread {spread}");
    }
}
