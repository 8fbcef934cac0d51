//! One pair of digits minima: the straight path and the AutoNEB path, each evaluated densely
//! in train and test loss and error.

use flow_core::nn::Mlp;
use flow_landscape::classifier::{DigitsTask, evaluate, minibatch_loss, split_landscape};
use flow_landscape::{
    AutoNebConfig, DenseProfile, FlatLayout, LandscapeError, MinibatchLandscape, Path, autoneb,
};
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Train/test loss and error sampled along one path.
#[derive(Serialize, Deserialize)]
pub(super) struct PathCurves {
    pub train_loss: DenseProfile,
    pub train_err: Vec<f64>,
    pub test_loss: DenseProfile,
    pub test_err: Vec<f64>,
}

impl PathCurves {
    pub fn evaluate(mlp: &Mlp, path: &Path, sub: usize, task: &DigitsTask) -> PathCurves {
        let mut train_err = Vec::new();
        let train_loss = DenseProfile::evaluate(path, sub, |t| {
            let (l, e) = evaluate(mlp, t, &task.train);
            train_err.push(e);
            l
        });
        let mut test_err = Vec::new();
        let test_loss = DenseProfile::evaluate(path, sub, |t| {
            let (l, e) = evaluate(mlp, t, &task.test);
            test_err.push(e);
            l
        });
        PathCurves {
            train_loss,
            train_err,
            test_loss,
            test_err,
        }
    }

    /// Maximum test error along the path.
    pub fn max_test_err(&self) -> f64 {
        self.test_err.iter().copied().fold(0.0, f64::max)
    }
}

/// A connected pair.
#[derive(Serialize, Deserialize)]
pub(super) struct PairResult {
    pub a: usize,
    pub b: usize,
    pub linear: PathCurves,
    pub neb: PathCurves,
    /// AutoNEB's saddle (minimum over cycles of the dense train-loss maximum).
    pub saddle: f64,
    /// Pivots of the final path.
    pub path: Path,
}

impl PairResult {
    /// Smallest interior pivot norm over the mean norm of the two ends: below 1 the path
    /// passes through smaller weights than the minima (NEB weight decay pulls pivots there;
    /// for a ReLU network smaller weights mean smaller logits and a higher loss).
    pub fn norm_dip(&self) -> f64 {
        let norm = |v: &Vec<f64>| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let piv = &self.path.pivots;
        let ends = 0.5 * (norm(&piv[0]) + norm(&piv[piv.len() - 1]));
        let inner = piv[1..piv.len() - 1].iter().map(norm).fold(ends, f64::min);
        inner / ends
    }
}

/// Runs AutoNEB between minima `a` and `b` (flat vectors `ends`) on the training loss
/// (full-batch pivot gradients, or minibatches of `batch` as in the official code) and
/// evaluates both paths.
pub(super) fn connect(
    mlp: &Mlp,
    task: &DigitsTask,
    ends: (&[f64], &[f64]),
    (a, b): (usize, usize),
    (cfg, batch): (&AutoNebConfig, Option<usize>),
    rng: &mut Xoshiro256PlusPlus,
) -> Result<PairResult, LandscapeError> {
    let linear_path = Path::linear(ends.0.to_vec(), ends.1.to_vec());
    let landscape = split_landscape(mlp, &task.train);
    let out = match batch {
        None => autoneb(&landscape, linear_path.clone(), cfg, rng)?,
        Some(size) => {
            let (net, train) = (mlp.clone(), task.train.clone());
            let sampled = MinibatchLandscape::new(landscape, FlatLayout::of(mlp), move |r| {
                minibatch_loss(&net, &train, size, r)
            });
            autoneb(&sampled, linear_path.clone(), cfg, rng)?
        }
    };
    Ok(PairResult {
        a,
        b,
        linear: PathCurves::evaluate(mlp, &linear_path, cfg.subpoints, task),
        neb: PathCurves::evaluate(mlp, &out.path, cfg.subpoints, task),
        saddle: out.saddle(),
        path: out.path,
    })
}

/// Reads a JSON value saved by [`save_json`], if the file exists and parses.
pub(super) fn load_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `value` as JSON atomically (temporary file, then rename), so an interrupted run
/// never leaves a half-written result for [`load_json`].
pub(super) fn save_json<T: Serialize>(path: &std::path::Path, value: &T) -> Result<(), String> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string(value).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
