//! [`fit_to_data`]: the common case in one call, in the spirit of flowjax's `fit_to_data`:
//! split the data into training and validation rows, train on minibatches, validate, keep the
//! best parameters, stop early, return the curves.

use serde::{Deserialize, Serialize};

use crate::nn::Param;
use crate::tensor::Tensor;

use super::{TrainConfig, TrainError, TrainReport, Trainer, step_rng};

/// Settings of [`fit_to_data`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// The training run (its `validation` sets how often and how patiently to validate; when
    /// absent, validation runs every `max(steps / 50, 1)` steps without early stopping).
    pub train: TrainConfig,
    /// Rows per minibatch (drawn with replacement from the training rows).
    pub batch_size: usize,
    /// Fraction of the rows held out for validation, in `(0, 1)`.
    pub validation_fraction: f64,
}

impl FitConfig {
    /// Minibatches of `batch_size`, 10 % of the rows held out.
    pub fn new(train: TrainConfig, batch_size: usize) -> FitConfig {
        FitConfig {
            train,
            batch_size,
            validation_fraction: 0.1,
        }
    }
}

/// What [`fit_to_data`] did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitReport {
    /// The run's report (curves, best validation, early stop).
    pub train: TrainReport,
    /// Rows used for training.
    pub train_rows: Vec<usize>,
    /// Rows held out for validation.
    pub validation_rows: Vec<usize>,
}

/// The first row of `t` (`[n, ...]`) holding NaN or infinity.
fn first_bad_row(t: &Tensor) -> Option<usize> {
    let n = t.dim(0).max(1);
    let per_row = t.len() / n;
    t.to_vec_f64()
        .chunks(per_row.max(1))
        .position(|row| !row.iter().all(|v| v.is_finite()))
}

fn check(data: &Tensor, condition: Option<&Tensor>, config: &FitConfig) -> Result<(), TrainError> {
    let bad = |m: String| Err(TrainError::Data(m));
    if data.ndim() == 0 || data.dim(0) < 2 {
        return bad(format!(
            "need at least 2 rows, got shape {:?}",
            data.shape()
        ));
    }
    if let Some(c) = condition
        && (c.ndim() == 0 || c.dim(0) != data.dim(0))
    {
        return bad(format!(
            "condition {:?} for data {:?}",
            c.shape(),
            data.shape()
        ));
    }
    if config.batch_size == 0 {
        return bad("batch size 0".into());
    }
    if !(config.validation_fraction > 0.0 && config.validation_fraction < 1.0) {
        return bad(format!(
            "validation fraction {} not in (0, 1)",
            config.validation_fraction
        ));
    }
    for (what, t) in [("data", Some(data)), ("condition", condition)] {
        if let Some(row) = t.and_then(first_bad_row) {
            return bad(format!("{what} row {row} holds NaN or infinity"));
        }
    }
    Ok(())
}

/// Trains `params` on `data` (`[n, ...]`, optional per-row `condition`) by minimising
/// `loss(batch, condition_batch)`, the mean loss of a batch. A seeded permutation holds out
/// `validation_fraction` of the rows; the validation metric is `loss` over them in chunks of
/// `batch_size`, weighted by chunk size. The parameters end at the best validated values.
///
/// `loss` is called with recording on (so losses that differentiate inside, such as the
/// free-form surrogate, work); wrap it in [`crate::no_grad`] yourself where that is safe.
///
/// ```
/// use flow_core::{Tensor, DType, nn::Param};
/// use flow_core::train::{FitConfig, TrainConfig, fit_to_data};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
/// let data = Tensor::randn(&[1000, 2], DType::F64, &mut rng).add_scalar(3.0);
/// let mean = Param::new("mean", Tensor::zeros(&[1, 2], DType::F64));
/// let m = mean.clone();
/// let config = FitConfig::new(TrainConfig::new(400, 0.05), 32);
/// let fit = fit_to_data(vec![mean.clone()], &data, None, &config, move |x, _| {
///     x.sub(&m.get()).square().sum_axis(1, false).mean_all()
/// })
/// .unwrap();
/// assert_eq!(fit.validation_rows.len(), 100);
/// // The best validated mean sits near the mean of the 100 held-out rows (SE 0.1).
/// assert!(mean.get().to_vec_f64().iter().all(|v| (v - 3.0).abs() < 0.4));
/// ```
///
/// # Errors
/// [`TrainError::Data`] for fewer than 2 rows, mismatched conditions, NaN/Inf rows (naming
/// the row), batch size 0 or a validation fraction outside `(0, 1)`; otherwise as
/// [`Trainer::fit_validated`].
pub fn fit_to_data(
    params: Vec<Param>,
    data: &Tensor,
    condition: Option<&Tensor>,
    config: &FitConfig,
    loss: impl Fn(&Tensor, Option<&Tensor>) -> Tensor,
) -> Result<FitReport, TrainError> {
    check(data, condition, config)?;
    let n = data.dim(0);
    let n_val = ((n as f64 * config.validation_fraction).round() as usize).clamp(1, n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    let mut split_rng = step_rng(config.train.seed, u64::MAX);
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut split_rng);
    let (validation_rows, train_rows) = (order[..n_val].to_vec(), order[n_val..].to_vec());
    let mut train = config.train.clone();
    if train.validation.is_none() {
        let every = (train.steps / 50).max(1);
        train = train.with_validation(every, None);
    }
    let rows = |idx: &[usize]| {
        (
            data.index_select(0, idx),
            condition.map(|c| c.index_select(0, idx)),
        )
    };
    let mut trainer = Trainer::new(params, train);
    trainer.resume_if_present()?;
    let report = trainer.fit_validated(
        |_, rng| {
            let batch: Vec<usize> = (0..config.batch_size)
                .map(|_| train_rows[rand::RngExt::random_range(rng, 0..train_rows.len())])
                .collect();
            let (x, c) = rows(&batch);
            loss(&x, c.as_ref())
        },
        |_| {
            let mut total = 0.0;
            for chunk in validation_rows.chunks(config.batch_size) {
                let (x, c) = rows(chunk);
                total += loss(&x, c.as_ref()).item() * chunk.len() as f64;
            }
            total / validation_rows.len() as f64
        },
    )?;
    trainer.restore_best();
    Ok(FitReport {
        train: report,
        train_rows,
        validation_rows,
    })
}
