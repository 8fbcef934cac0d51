//! A minimal minibatch Adam loop for M-FFF (to be replaced by the workspace's
//! `flow_core::train` engine once it lands; the per-step loss is the function
//! [`crate::mfff_loss`] of a minibatch drawn from the step's RNG).

use flow_core::nn::{Module, Param, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer, Schedule, clip_grad_norm};
use flow_core::{Tensor, grad};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::loss::{MfffLossConfig, mfff_loss};
use crate::model::ManifoldFlow;

/// Optimisation settings of [`train_mfff`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Adam steps.
    pub steps: u64,
    /// Minibatch size (drawn with replacement).
    pub batch_size: usize,
    /// Base learning rate.
    pub learning_rate: f64,
    /// Adam weight decay.
    pub weight_decay: f64,
    /// Gradient-norm clipping threshold.
    pub clip: f64,
}

/// Trains `model` on the rows of `data` (`[N, m]`); returns the loss per step. Non-finite
/// steps are skipped (parameters unchanged) and counted in the second return value.
///
/// ```
/// use flow_core::DType;
/// use flow_freeform::ResNetConfig;
/// use flow_manifold::{Manifold, ManifoldFlow, MfffLossConfig, Sphere, TrainSettings, Uniform, train_mfff};
/// use rand::SeedableRng;
/// use std::rc::Rc;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
/// let net = ResNetConfig::new(3, 3, &[8], 1);
/// let flow = ManifoldFlow::new(s2.clone(),
///     Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
///     Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
///     Box::new(Uniform::new(s2.clone())));
/// let data = s2.sample_uniform(64, DType::F64, &mut rng);
/// let settings = TrainSettings { steps: 3, batch_size: 16, learning_rate: 1e-3, weight_decay: 0.0, clip: 10.0 };
/// let (curve, skipped) = train_mfff(&flow, &data, &MfffLossConfig::new(10.0), &settings, &mut rng);
/// assert_eq!((curve.len(), skipped), (3, 0));
/// ```
pub fn train_mfff(
    model: &ManifoldFlow,
    data: &Tensor,
    loss: &MfffLossConfig,
    settings: &TrainSettings,
    rng: &mut dyn Rng,
) -> (Vec<f64>, usize) {
    let params: Vec<Param> = model.parameters();
    let mut adam =
        Adam::new(AdamConfig::new(settings.learning_rate).with_weight_decay(settings.weight_decay));
    let schedule = Schedule::one_cycle(settings.steps);
    let n = data.dim(0);
    let (mut curve, mut skipped) = (Vec::with_capacity(settings.steps as usize), 0);
    for step in 0..settings.steps {
        adam.set_learning_rate(schedule.learning_rate(settings.learning_rate, step));
        let idx: Vec<usize> = (0..settings.batch_size)
            .map(|_| rng.random_range(0..n))
            .collect();
        let batch = data.index_select(0, &idx);
        let terms = mfff_loss(model, &batch, loss, rng);
        let value = terms.loss.item();
        let grads = grad(&terms.loss, &values(&params).iter().collect::<Vec<_>>());
        let (grads, norm) = clip_grad_norm(&grads, settings.clip);
        if !value.is_finite() || !norm.is_finite() {
            skipped += 1;
            curve.push(f64::NAN);
            continue;
        }
        adam.step(&params, &grads);
        curve.push(value);
    }
    (curve, skipped)
}
