//! Data-parallel training of a coupling flow: each step's minibatch cut into shards, one per
//! core, each run on its own replica of the flow ([`flow_core::train::DataParallel`]).
//!
//! The minibatch is drawn on the caller from the step's own stream, exactly as
//! [`train_nll`](super::nll::train_nll) draws it, so a sharded run follows the unsharded one up
//! to round-off (the shard gradients are summed, weighted by their row counts), and it is
//! bit-identical for any thread count. Measured on the project machine, a RealNVP/NSF step
//! with [64, 64] subnets at batch 512 runs at 0.54–0.79× flowjax's wall time sharded in two,
//! against 0.70–1.19× with the ops' own intra-op split (BENCHMARKS.md, session 12).

use flow_core::train::{DataParallel, Shard, StepLoss};
use flow_core::{Data, Tensor};
use rand::rngs::Xoshiro256PlusPlus;

use super::nll::{Dataset, nll_loss};
use super::{TrainError, Trainer};
use crate::bijection::Bijection;
use crate::flow::Flow;
use crate::spec::ModelSpec;

/// Replicas of `flow`, built from the `spec` that built it, for batches cut into `shards`.
/// Each replica's fixed buffers (permutations, rotations) are checked bit for bit against
/// `flow`'s when it is built, so a spec that does not describe `flow` fails loudly.
///
/// # Panics
/// If `shards == 0`; when a replica is built (on the first sharded step), if its buffers
/// differ from `flow`'s.
pub fn replicas(spec: &ModelSpec, flow: &Flow, shards: usize) -> DataParallel<Flow> {
    let spec = spec.clone();
    let expected: Vec<(String, Vec<u64>)> = flow.buffers().iter().map(bits).collect();
    DataParallel::new(shards, move || {
        let replica = spec.build();
        let got: Vec<(String, Vec<u64>)> = replica.buffers().iter().map(bits).collect();
        assert!(
            got == expected,
            "flow_coupling::replicas: the spec builds other buffers than the flow's \
             (another seed or architecture?)"
        );
        let params = flow_core::nn::Module::parameters(&replica);
        (replica, params)
    })
}

fn bits((name, t): &(String, Tensor)) -> (String, Vec<u64>) {
    (
        name.clone(),
        t.to_vec_f64().iter().map(|v| v.to_bits()).collect(),
    )
}

impl Trainer<'_> {
    /// As [`Trainer::run_until`], each step's loss run as shards by `dp` (module docs):
    /// `batch(rng)` draws the step's batch on the caller and returns it as plain data with its
    /// row count; `loss(flow, shard, batch)` is the shard's mean loss over its rows.
    ///
    /// # Errors
    /// As [`Trainer::run`].
    pub fn run_sharded<B: Sync>(
        &mut self,
        until: u64,
        dp: &DataParallel<Flow>,
        mut batch: impl FnMut(&mut Xoshiro256PlusPlus) -> (B, usize),
        loss: impl Fn(&Flow, &Shard, &B) -> Tensor + Sync,
    ) -> Result<(), TrainError> {
        let flow = self.flow;
        self.engine.fit_sharded(
            until,
            dp,
            flow,
            |_, rng| batch(rng),
            |f, s, b| StepLoss::new(loss(f, s, b)),
            None,
        )?;
        Ok(())
    }
}

/// [`train_nll`](super::nll::train_nll) with each minibatch cut into shards by `dp` (from
/// [`replicas`]): the same minibatches, the same loss up to round-off.
///
/// # Errors
/// As [`Trainer::run`].
pub fn train_nll_sharded(
    trainer: &mut Trainer<'_>,
    data: &Dataset,
    batch_size: usize,
    dp: &DataParallel<Flow>,
) -> Result<(), TrainError> {
    trainer.run_sharded(
        u64::MAX,
        dp,
        |rng| {
            let (x, c) = data.batch(batch_size, rng);
            let plain: (Data, Option<Data>) = (x.data().clone(), c.map(|c| c.data().clone()));
            (plain, batch_size)
        },
        |flow, shard, (x, c)| {
            let c = c.as_ref().map(|c| shard.take(c));
            nll_loss(flow, &shard.take(x), c.as_ref())
        },
    )
}
