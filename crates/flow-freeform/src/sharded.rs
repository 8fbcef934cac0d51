//! Data-parallel training of a free-form flow: each step's minibatch cut into shards, one per
//! core, each run on its own replica of the model ([`flow_core::train::DataParallel`]).
//!
//! The minibatch is drawn on the caller from the step's stream exactly as [`Trainer::fit`]
//! draws it; each shard draws its own noise and Hutchinson vectors from its shard stream, so a
//! sharded run is a different (equally distributed) sample of the same estimator, and
//! bit-identical for any thread count. With the exact decoder volume and no noise the loss is
//! deterministic given the batch, and a sharded run follows [`Trainer::fit`] up to round-off
//! (tested). On the reference free-form step (MLP 8→256→256→8, batch 512) two shards ran at
//! 0.87–0.94× the intra-op step's time (BENCHMARKS.md, session 12).

use flow_core::nn::Module;
use flow_core::train::{DataParallel, StepLoss};
use flow_core::{Data, Tensor};

use crate::model::FreeFormFlow;
use crate::spec::ModelSpec;
use crate::train::{Trainer, batch, check_data, step_loss};
use crate::{TrainError, TrainReport};

/// Replicas of the model `spec` builds, for batches cut into `shards` (values are replaced
/// by the caller's each step; a model of other parameter shapes panics in `Param::set`).
///
/// # Panics
/// If `shards == 0`.
pub fn replicas(spec: &ModelSpec, shards: usize) -> DataParallel<FreeFormFlow> {
    let spec = spec.clone();
    DataParallel::new(shards, move || {
        let model = spec.build();
        let params = model.parameters();
        (model, params)
    })
}

impl Trainer {
    /// As [`Trainer::fit`], with each minibatch's loss run as shards by `dp` (module docs).
    ///
    /// # Errors
    /// As [`Trainer::fit`].
    pub fn fit_sharded(
        &mut self,
        model: &FreeFormFlow,
        dp: &DataParallel<FreeFormFlow>,
        data: &Tensor,
        condition: Option<&Tensor>,
    ) -> Result<TrainReport, TrainError> {
        check_data(model, data)?;
        let (loss, size) = (self.loss.clone(), self.config.batch_size);
        let steps = self.config.steps;
        self.engine(model).fit_sharded(
            steps,
            dp,
            model,
            |_, rng| {
                let (x, c) = batch(data, condition, size, rng);
                let plain: (Data, Option<Data>) = (x.data().clone(), c.map(|c| c.data().clone()));
                (plain, size)
            },
            |m, shard, (x, c)| -> StepLoss {
                let c = c.as_ref().map(|c| shard.take(c));
                step_loss(m, &shard.take(x), c.as_ref(), &loss, &mut shard.rng())
            },
            None,
        )
    }
}
