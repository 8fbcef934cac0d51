//! Data-parallel gradients on one machine: the batch cut into shards, each shard's forward
//! and backward pass run whole on one core against its own replica of the model, the shard
//! gradients summed in shard order.
//!
//! # Why
//! flow-core's ops split each product and each element-wise loop across the cores
//! (`parallel/team.rs`). For the small dense networks of flow models that intra-op split
//! scales 1.6–1.7× on two cores: between two products every op forks and joins, and the
//! serial glue (tape bookkeeping, small element-wise ops, bias reductions) runs on one core.
//! A step whose loss is a mean over independent samples can instead be cut by samples: two
//! half-batch steps run concurrently, one per core, with no synchronisation until the
//! gradients are summed. On the reference MLP 8→256→256→8 steps (BENCHMARKS.md, session 12)
//! this runs at 0.78–0.96× the intra-op time, and the coupling-flow steps, whose [64, 64]
//! subnets leave the intra-op split little to share, at 0.59–0.77×. It is what `pmap` / DDP
//! do across devices, here across the cores of one CPU.
//!
//! # The contract
//! With a batch of `N` rows cut into shards `S_k` of `n_k` rows, the loss closure returns the
//! shard's own mean loss `L_k`, and the full loss and gradient are
//! `L = Σ_k (n_k / N) L_k`, `∇L = Σ_k (n_k / N) ∇L_k` — exact when the loss is a mean over
//! samples that do not interact (every flow NLL, the free-form surrogate, reconstruction).
//! A loss that couples samples (batch norm, a batch-wide statistic) must not be sharded.
//!
//! The model never crosses threads (its tensors are `Rc`): shard 0 runs on the caller's
//! model, and each other worker of the compute team keeps a replica built once by the
//! factory (only its structure matters) and receives the caller's parameter values each call
//! (shared buffers, no copy). Randomness comes from [`Shard::rng`]: shard `k` of a call with
//! seed `s` draws from `chunk_rng(s, k)`.
//!
//! # Determinism
//! The cut depends only on the row count and the shard count the caller fixes, every shard
//! runs its ops on one thread, and the sum runs in shard order, so the result is
//! bit-identical for any thread count (one thread runs the shards one after another on the
//! caller's model).

#![allow(unsafe_code)]

use std::any::Any;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use crate::data::Data;
use crate::nn::{Param, values};
use crate::parallel::{chunk_rng, in_parallel_region, team, threads, with_thread_budget};
use crate::tensor::Tensor;

use super::shard_grad::{combine, run_shard};
use crate::train::StepLoss;

/// One shard of a batch: which rows, its weight in the full loss, and its random stream.
#[derive(Clone, Debug)]
pub struct Shard {
    /// The shard's index, `0..count`.
    pub index: usize,
    /// The rows of the batch this shard covers.
    pub rows: Range<usize>,
    /// The batch's row count `N`.
    pub total: usize,
    seed: u64,
}

impl Shard {
    /// `n_k / N`, the shard's weight in the full loss.
    pub fn weight(&self) -> f64 {
        self.rows.len() as f64 / self.total as f64
    }

    /// The shard's random stream (`chunk_rng(seed, index)`), independent of the thread count.
    pub fn rng(&self) -> rand::rngs::Xoshiro256PlusPlus {
        chunk_rng(self.seed, self.index)
    }

    /// The shard's rows of a batch stored as [`Data`] (axis 0 = rows), as an untracked tensor.
    ///
    /// # Panics
    /// If the data's first axis is not the batch's row count.
    pub fn take(&self, batch: &Data) -> Tensor {
        let t = Tensor::from_data(batch.clone());
        assert_eq!(
            t.shape().first().copied(),
            Some(self.total),
            "Shard::take: batch of shape {:?}, expected {} rows",
            t.shape(),
            self.total
        );
        t.narrow(0, self.rows.start, self.rows.len())
    }
}

/// The summed result of one sharded call: the full loss, its weighted terms and gradients
/// (in the order of the parameters given).
#[derive(Debug)]
pub struct ShardedGrad {
    /// `Σ_k (n_k/N) L_k`.
    pub loss: f64,
    /// Each term of [`StepLoss::terms`] weighted the same way (names from shard 0).
    pub terms: Vec<(String, f64)>,
    /// `Σ_k (n_k/N) ∇L_k`, one per parameter.
    pub grads: Vec<Tensor>,
}

type Factory<M> = dyn Fn() -> (M, Vec<Param>) + Send + Sync;

/// Runs a loss over a batch as shards on the compute team's cores (module docs).
///
/// ```
/// use flow_core::{DType, Tensor, grad};
/// use flow_core::nn::{MlpConfig, Mlp, Module, values};
/// use flow_core::train::DataParallel;
/// use rand::SeedableRng;
/// let build = || {
///     let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
///     let net = MlpConfig::new(2, &[16], 2).build("net", DType::F64, &mut rng);
///     let params = net.parameters();
///     (net, params)
/// };
/// let (net, params) = build();
/// let x = Tensor::randn(&[64, 2], DType::F64, &mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1));
/// let data = x.data().clone();
/// let dp = DataParallel::new(2, build);
/// let out = dp.grad(&net, &params, 64, 7, |net: &Mlp, shard| {
///     net.forward(&shard.take(&data)).square().mean_all().into()
/// });
/// // The same as the full batch's gradient, up to round-off.
/// let full = net.forward(&x).square().mean_all();
/// let g = grad(&full, &values(&params).iter().collect::<Vec<_>>());
/// let err = out.grads[0].sub(&g[0]).abs().sum_all().item();
/// assert!(err < 1e-12);
/// assert!((out.loss - full.item()).abs() < 1e-12);
/// ```
pub struct DataParallel<M> {
    shards: usize,
    factory: Arc<Factory<M>>,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Ids of dropped [`DataParallel`]s: a helper frees its replicas of them when it next runs one.
static DEAD: Mutex<Vec<u64>> = Mutex::new(Vec::new());

thread_local! {
    /// This helper thread's replicas, by [`DataParallel`] id.
    static REPLICAS: RefCell<Vec<(u64, Box<dyn Any>)>> = const { RefCell::new(Vec::new()) };
}

/// A `!Sync` reference that only the thread that made it may read (the caller's model, which
/// `team::fork` lends to worker 0 = the calling thread).
struct CallerOnly<'a, T: ?Sized>(&'a T, ThreadId);

// SAFETY: `get` checks that the reading thread is the one that created the wrapper, so the
// reference is never used from another thread.
unsafe impl<T: ?Sized> Sync for CallerOnly<'_, T> {}

impl<T: ?Sized> CallerOnly<'_, T> {
    fn get(&self) -> &T {
        assert_eq!(
            std::thread::current().id(),
            self.1,
            "DataParallel: the caller's model read from another thread"
        );
        self.0
    }
}

impl<M: 'static> DataParallel<M> {
    /// Cuts every batch into `shards` (≥ 1) and builds replicas with `factory` (the model and
    /// its parameters in the order [`DataParallel::grad`] is given them; values are replaced).
    ///
    /// # Panics
    /// If `shards == 0`.
    pub fn new(
        shards: usize,
        factory: impl Fn() -> (M, Vec<Param>) + Send + Sync + 'static,
    ) -> DataParallel<M> {
        assert!(shards > 0, "DataParallel::new: need at least one shard");
        DataParallel {
            shards,
            factory: Arc::new(factory),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The shard count.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The shards of a batch of `rows` rows (empty shards dropped): consecutive runs of
    /// `ceil(rows / shards)` rows.
    pub fn cut(&self, rows: usize, seed: u64) -> Vec<Shard> {
        let chunk = rows.div_ceil(self.shards).max(1);
        (0..self.shards)
            .map(|k| k * chunk..((k + 1) * chunk).min(rows))
            .filter(|r| r.start < r.end)
            .enumerate()
            .map(|(index, rows_k)| Shard {
                index,
                rows: rows_k,
                total: rows,
                seed,
            })
            .collect()
    }

    /// The weighted loss and gradients of `loss` over a batch of `rows` rows (module docs).
    /// `model`/`params` are the caller's; `loss(model, shard)` returns the shard's mean loss.
    ///
    /// # Panics
    /// If `rows == 0`, if a replica's parameters do not match `params` in count and shapes,
    /// or if `loss` panics on any shard.
    pub fn grad(
        &self,
        model: &M,
        params: &[Param],
        rows: usize,
        seed: u64,
        loss: impl Fn(&M, &Shard) -> StepLoss + Sync,
    ) -> ShardedGrad {
        assert!(rows > 0, "DataParallel: an empty batch");
        let shards = self.cut(rows, seed);
        let outs = self.run(model, params, &shards, |m, p, shard| {
            run_shard(m, p, shard, &loss)
        });
        combine(&shards, outs)
    }

    /// Runs `f(model, params, shard)` for every shard of a batch of `rows` rows, each on one
    /// core against the caller's model or a replica holding the caller's values, and returns
    /// the results in shard order: any per-sample computation (log-densities of a test set,
    /// a Hessian-vector product in the inputs) cut by rows. `f` must return plain data
    /// (`Send`): [`Data`], numbers, vectors.
    ///
    /// # Panics
    /// If `rows == 0`, if a replica's parameters do not match `params`, or if `f` panics.
    pub fn map<T: Send>(
        &self,
        model: &M,
        params: &[Param],
        rows: usize,
        seed: u64,
        f: impl Fn(&M, &[Param], &Shard) -> T + Sync,
    ) -> Vec<T> {
        assert!(rows > 0, "DataParallel: an empty batch");
        self.run(model, params, &self.cut(rows, seed), f)
    }

    /// [`DataParallel::map`] over shards already cut.
    fn run<T: Send>(
        &self,
        model: &M,
        params: &[Param],
        shards: &[Shard],
        f: impl Fn(&M, &[Param], &Shard) -> T + Sync,
    ) -> Vec<T> {
        let workers = threads().min(shards.len());
        let outs: Vec<Mutex<Option<T>>> = shards.iter().map(|_| Mutex::new(None)).collect();
        let run_on = |m: &M, p: &[Param], k: usize| {
            let out = f(m, p, &shards[k]);
            *outs[k].lock().expect("DataParallel: result slot poisoned") = Some(out);
        };
        let ran = workers > 1 && !in_parallel_region() && {
            let me = std::thread::current().id();
            let (mine, my_params) = (CallerOnly(model, me), CallerOnly(params, me));
            let master: Vec<Data> = values(params).iter().map(|t| t.data().clone()).collect();
            let task = |w: usize| {
                with_thread_budget(1, || {
                    let ks = w * shards.len() / workers..(w + 1) * shards.len() / workers;
                    if w == 0 {
                        ks.for_each(|k| run_on(mine.get(), my_params.get(), k));
                    } else {
                        self.with_replica(&master, |m, p| ks.for_each(|k| run_on(m, p, k)));
                    }
                })
            };
            team::fork(workers, &task)
        };
        if !ran {
            (0..shards.len()).for_each(|k| run_on(model, params, k));
        }
        outs.into_iter()
            .map(|o| {
                o.into_inner()
                    .ok()
                    .flatten()
                    .expect("DataParallel: a shard did not run")
            })
            .collect()
    }

    /// Runs `f` on this thread's replica (built on first use), its values set to `master`.
    fn with_replica(&self, master: &[Data], f: impl FnOnce(&M, &[Param])) {
        REPLICAS.with(|cell| {
            let mut replicas = cell.borrow_mut();
            // Every helper frees its own replicas of dropped instances, so the list is read,
            // not emptied (one id per dropped instance).
            let dead = DEAD.lock().expect("DataParallel: registry poisoned");
            replicas.retain(|(id, _)| !dead.contains(id));
            drop(dead);
            if !replicas.iter().any(|(id, _)| *id == self.id) {
                replicas.push((self.id, Box::new((self.factory)())));
            }
            let (_, any) = replicas
                .iter()
                .find(|(id, _)| *id == self.id)
                .expect("DataParallel: replica just inserted");
            let (model, params) = any
                .downcast_ref::<(M, Vec<Param>)>()
                .expect("DataParallel: replica of another type");
            assert_eq!(
                params.len(),
                master.len(),
                "DataParallel: the factory built {} parameters, the caller passed {}",
                params.len(),
                master.len()
            );
            for (p, v) in params.iter().zip(master) {
                p.set(Tensor::from_data(v.clone()));
            }
            f(model, params);
        });
    }
}

impl<M> Drop for DataParallel<M> {
    fn drop(&mut self) {
        if let Ok(mut dead) = DEAD.lock() {
            dead.push(self.id);
        }
    }
}

impl crate::train::Trainer {
    /// As [`Trainer::fit_until`](crate::train::Trainer::fit_until) (and
    /// [`fit_validated`](crate::train::Trainer::fit_validated) when `validate` is given), with
    /// each step's loss run as shards by `dp` (module docs). `batch(step, rng)` runs on the
    /// caller with the step's own stream (the same one [`fit`](crate::train::Trainer::fit)
    /// gives its loss, so a minibatch drawn here is the unsharded run's) and returns the
    /// step's batch as plain data with its row count; `loss(model, shard, batch)` returns the
    /// shard's mean loss over its rows. The trainer's parameters must be `model`'s, in the
    /// order `dp`'s factory lists them. The shards' seed is drawn from the step's stream after
    /// `batch`, so a run is bit-identical for any thread count and resumes like any other.
    ///
    /// # Errors
    /// As [`Trainer::fit`](crate::train::Trainer::fit).
    pub fn fit_sharded<M: 'static, B: Sync>(
        &mut self,
        until: u64,
        dp: &DataParallel<M>,
        model: &M,
        mut batch: impl FnMut(u64, &mut crate::train::StepRng) -> (B, usize),
        loss: impl Fn(&M, &Shard, &B) -> StepLoss + Sync,
        validate: Option<&mut dyn FnMut(u64) -> f64>,
    ) -> Result<crate::train::TrainReport, crate::train::TrainError> {
        let params = self.params.clone();
        let mut step = |s: u64, rng: &mut crate::train::StepRng| {
            let (b, rows) = batch(s, rng);
            let seed = rand::RngExt::random::<u64>(rng);
            let out = dp.grad(model, &params, rows, seed, |m, shard| loss(m, shard, &b));
            super::trainer::Computed::Grads(out)
        };
        self.run_to(until, &mut step, validate)
    }
}
