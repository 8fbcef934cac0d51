//! Maximum-likelihood training: minimise `−E_data log p_θ(x | c)`.

use flow_core::{Tensor, no_grad};
use rand::{Rng, RngExt};

use super::{TrainError, Trainer};
use crate::flow::Flow;

/// A data set `x: [N, D]` with an optional per-sample condition `[N, k]`.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Samples.
    pub x: Tensor,
    /// Conditions, one row per sample.
    pub cond: Option<Tensor>,
}

impl Dataset {
    /// A data set.
    ///
    /// # Panics
    /// If `x` is not 2-D or `cond` has a different number of rows.
    pub fn new(x: Tensor, cond: Option<Tensor>) -> Dataset {
        assert_eq!(
            x.ndim(),
            2,
            "Dataset: x must be [N, D], got {:?}",
            x.shape()
        );
        if let Some(c) = &cond {
            assert!(
                c.ndim() == 2 && c.dim(0) == x.dim(0),
                "Dataset: condition must be [{}, k], got {:?}",
                x.dim(0),
                c.shape()
            );
        }
        Dataset { x, cond }
    }

    /// A batch of `n` rows drawn uniformly with replacement.
    pub fn batch<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Tensor, Option<Tensor>) {
        let rows = self.x.dim(0);
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..rows)).collect();
        (
            self.x.index_select(0, &idx),
            self.cond.as_ref().map(|c| c.index_select(0, &idx)),
        )
    }
}

/// `−mean log p(x | c)`, a scalar.
///
/// # Panics
/// If the shapes do not match the flow.
pub fn nll_loss(flow: &Flow, x: &Tensor, cond: Option<&Tensor>) -> Tensor {
    flow.log_prob(x, cond).mean_all().neg()
}

/// Mean NLL over a whole data set, in chunks of `chunk` rows, without recording.
///
/// # Panics
/// If the shapes do not match the flow.
pub fn evaluate_nll(flow: &Flow, data: &Dataset, chunk: usize) -> f64 {
    let n = data.x.dim(0);
    let mut total = 0.0;
    no_grad(|| {
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let x = data.x.narrow(0, start, len);
            let c = data.cond.as_ref().map(|c| c.narrow(0, start, len));
            total += flow.log_prob(&x, c.as_ref()).sum_all().item();
            start += len;
        }
    });
    -total / n as f64
}

/// Trains by maximum likelihood on minibatches of `data` until the trainer's step budget.
///
/// # Errors
/// As [`Trainer::run`].
pub fn train_nll(
    trainer: &mut Trainer<'_>,
    data: &Dataset,
    batch_size: usize,
) -> Result<(), TrainError> {
    trainer.run(|flow, rng| {
        let (x, c) = data.batch(batch_size, rng);
        nll_loss(flow, &x, c.as_ref())
    })
}
