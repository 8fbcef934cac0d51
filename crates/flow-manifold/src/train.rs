//! Training M-FFF with the workspace's engine (`flow_core::train`): the step loss is
//! [`crate::mfff_loss`] on a minibatch drawn from the step's own random stream, so runs are
//! reproducible and resumable bit for bit.

use flow_core::Tensor;
use flow_core::nn::Module;
use flow_core::train::{StepLoss, StepRng, TrainConfig, TrainError, TrainReport, Trainer};
use rand::RngExt;

use crate::exact::{Side, exact_log_prob};
use crate::loss::{MfffLossConfig, mfff_loss};
use crate::model::ManifoldFlow;

/// One training step's loss: a minibatch of `batch_size` rows of `data` drawn with
/// replacement from `rng`, then [`mfff_loss`]; records the terms `nll` (surrogate),
/// `reconstruction`, `sample_reconstruction` (both keys), `z_reconstruction` and `projection`
/// (both keys).
pub fn mfff_step_loss(
    model: &ManifoldFlow,
    data: &Tensor,
    batch_size: usize,
    config: &MfffLossConfig,
    rng: &mut StepRng,
) -> StepLoss {
    let n = data.dim(0);
    let idx: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..n)).collect();
    let t = mfff_loss(model, &data.index_select(0, &idx), config, rng);
    StepLoss::new(t.loss.clone())
        .with_term("nll", t.nll.mean_all().item())
        .with_term("reconstruction", t.reconstruction.mean_all().item())
        .with_term("sample_reconstruction", t.sample_reconstruction())
        .with_term("z_reconstruction", t.z_reconstruction.item())
        .with_term("projection", t.projection())
}

/// Trains `model` on `data` (`[N, m]`) with `train` (steps, optimiser, schedule, …). With a
/// validation set, the exact decoder NLL on it is the validation metric and the best
/// parameters are restored at the end.
///
/// ```
/// use flow_core::DType;
/// use flow_core::train::TrainConfig;
/// use flow_freeform::ResNetConfig;
/// use flow_manifold::{Manifold, ManifoldFlow, MfffLossConfig, Sphere, Uniform, train_mfff};
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
/// let report = train_mfff(&flow, &data, None, 16, &MfffLossConfig::new(10.0),
///     TrainConfig::new(3, 1e-3)).expect("finite");
/// assert_eq!(report.curves.loss.len(), 3);
/// ```
///
/// # Errors
/// As [`Trainer::fit`].
pub fn train_mfff(
    model: &ManifoldFlow,
    data: &Tensor,
    validation: Option<&Tensor>,
    batch_size: usize,
    loss: &MfffLossConfig,
    train: TrainConfig,
) -> Result<TrainReport, TrainError> {
    let seed = train.seed;
    let mut trainer = Trainer::new(model.parameters(), train);
    trainer.resume_if_present()?;
    let step = |_: u64, rng: &mut StepRng| mfff_step_loss(model, data, batch_size, loss, rng);
    match validation {
        None => trainer.fit(step),
        Some(val) => {
            let report = trainer.fit_validated(step, |s| {
                let mut rng = flow_core::train::step_rng(seed ^ 0x5EED, s);
                exact_log_prob(model, val, Side::Decoder, 1024, &mut rng).mean_nll()
            })?;
            trainer.restore_best();
            Ok(report)
        }
    }
}
