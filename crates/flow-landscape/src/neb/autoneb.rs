//! AutoNEB (arXiv 1803.00885 §3, `torch_autoneb/__init__.py`): cycles of NEB optimisation
//! on a path with fixed ends, each preceded by pivot insertion and followed by a dense
//! evaluation whose maximum is the cycle's saddle estimate.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::dense::{DenseProfile, insert_highest};
use super::force::{TangentForm, improved_tangent, neb_gradient};
use super::path::Path;
use crate::error::LandscapeError;
use crate::objective::Landscape;

/// How a cycle adds pivots before it optimises.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Insertion {
    /// `n` equally spaced pivots in every segment.
    Equal(usize),
    /// The `highest` rule on the last dense evaluation (see [`insert_highest`]).
    Highest {
        /// At most this many new pivots.
        count: usize,
        /// Minimum normalised deviation (0.1 in the official code).
        threshold: f64,
    },
    /// No insertion.
    None,
}

/// One AutoNEB cycle.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleConfig {
    /// Pivot insertion before the cycle.
    pub insert: Insertion,
    /// NEB optimiser steps.
    pub steps: usize,
    /// SGD learning rate.
    pub lr: f64,
}

/// AutoNEB settings (defaults follow the official configs: momentum 0.9, infinite spring,
/// 9 sub-points for the dense evaluation, insertion threshold 0.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoNebConfig {
    /// The cycles, in order.
    pub cycles: Vec<CycleConfig>,
    /// SGD momentum (state is fresh in every cycle).
    pub momentum: f64,
    /// NEB weight decay `λ` added to each pivot's gradient (`λθ_i`).
    pub weight_decay: f64,
    /// Spring constant; `None` is the infinite spring (arc-length re-spacing every step).
    pub spring: Option<f64>,
    /// Tangent blend at extrema.
    pub tangent: TangentForm,
    /// Sub-points per segment in the dense evaluation.
    pub subpoints: usize,
    /// Standard deviation of noise added to the interior pivots after the first insertion.
    pub init_noise: f64,
}

impl AutoNebConfig {
    /// The official schedule shape: a first cycle inserting `first` equal pivots, then
    /// `later` cycles inserting at most 2 by `highest` (threshold 0.1), all with `steps`
    /// steps at learning rate `lr`.
    pub fn standard(first: usize, later: usize, steps: usize, lr: f64) -> AutoNebConfig {
        let mut cycles = vec![CycleConfig {
            insert: Insertion::Equal(first),
            steps,
            lr,
        }];
        cycles.extend((0..later).map(|_| CycleConfig {
            insert: Insertion::Highest {
                count: 2,
                threshold: 0.1,
            },
            steps,
            lr,
        }));
        AutoNebConfig {
            cycles,
            momentum: 0.9,
            weight_decay: 0.0,
            spring: None,
            tangent: TangentForm::HenkelmanJonsson,
            subpoints: 9,
            init_noise: 0.0,
        }
    }
}

/// What one cycle ended with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CycleRecord {
    /// Pivots during the cycle.
    pub pivots: usize,
    /// Dense maximum after the cycle.
    pub saddle: f64,
    /// Saddle minus the larger end loss.
    pub barrier: f64,
}

/// The result of [`autoneb`].
#[derive(Clone, Debug, PartialEq)]
pub struct AutoNebResult {
    /// The final path.
    pub path: Path,
    /// The final dense profile of the loss.
    pub profile: DenseProfile,
    /// One record per cycle.
    pub cycles: Vec<CycleRecord>,
}

impl AutoNebResult {
    /// The path's saddle estimate: the minimum over cycles of the dense maximum (the MST edge
    /// weight of the official code).
    pub fn saddle(&self) -> f64 {
        self.cycles
            .iter()
            .map(|c| c.saddle)
            .fold(f64::INFINITY, f64::min)
    }
}

/// Runs AutoNEB from `path` (usually [`Path::linear`] between two minima).
///
/// ```
/// use flow_landscape::{autoneb, AutoNebConfig, CurvyValley, Path};
/// let e = CurvyValley::default();
/// let [a, b] = e.minima();
/// let cfg = AutoNebConfig::standard(3, 3, 100, 1e-2);
/// let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(0);
/// let out = autoneb(&e, Path::linear(a.to_vec(), b.to_vec()), &cfg, &mut rng).unwrap();
/// assert!(out.saddle() < 1.2);
/// ```
///
/// # Errors
/// [`LandscapeError::NonFiniteLoss`] with the pivot index when a pivot's loss or gradient is
/// not finite; [`LandscapeError::Config`] for a negative learning rate or momentum ≥ 1.
pub fn autoneb<L: Landscape + ?Sized, R: Rng + ?Sized>(
    landscape: &L,
    mut path: Path,
    config: &AutoNebConfig,
    rng: &mut R,
) -> Result<AutoNebResult, LandscapeError> {
    if !(0.0..1.0).contains(&config.momentum) {
        return Err(LandscapeError::Config(format!(
            "momentum {} not in [0, 1)",
            config.momentum
        )));
    }
    let mut profile = DenseProfile::evaluate(&path, config.subpoints, |t| landscape.loss(t));
    let mut records = Vec::new();
    for (c, cycle) in config.cycles.iter().enumerate() {
        if cycle.lr.is_nan() || cycle.lr < 0.0 {
            return Err(LandscapeError::Config(format!(
                "cycle {c}: lr {}",
                cycle.lr
            )));
        }
        match cycle.insert {
            Insertion::Equal(n) => path.insert_equal(n),
            Insertion::Highest { count, threshold } => {
                insert_highest(&mut path, &profile, count, threshold);
            }
            Insertion::None => {}
        }
        if c == 0 && config.init_noise > 0.0 {
            path.perturb_interior(config.init_noise, rng);
        }
        optimise_cycle(landscape, &mut path, config, (c, cycle), rng)?;
        profile = DenseProfile::evaluate(&path, config.subpoints, |t| landscape.loss(t));
        records.push(CycleRecord {
            pivots: path.len(),
            saddle: profile.saddle(),
            barrier: profile.barrier(),
        });
    }
    Ok(AutoNebResult {
        path,
        profile,
        cycles: records,
    })
}

/// `steps` SGD-momentum steps on all interior pivots (fresh momentum); `rng` seeds each
/// step's minibatches.
fn optimise_cycle<L: Landscape + ?Sized, R: Rng + ?Sized>(
    landscape: &L,
    path: &mut Path,
    config: &AutoNebConfig,
    (cycle_index, cycle): (usize, &CycleConfig),
    rng: &mut R,
) -> Result<(), LandscapeError> {
    let n = path.len();
    let end_losses = [
        landscape.loss(&path.pivots[0]),
        landscape.loss(&path.pivots[n - 1]),
    ];
    for (pivot, &l) in [0, n - 1].iter().zip(&end_losses) {
        if !l.is_finite() {
            return Err(LandscapeError::NonFiniteLoss {
                pivot: *pivot,
                cycle: cycle_index,
                step: 0,
                loss: l,
            });
        }
    }
    let mut velocity = vec![vec![0.0; landscape.dim()]; n];
    for step in 0..cycle.steps {
        if config.spring.is_none() {
            path.redistribute();
        }
        let grads = neb_gradients(landscape, path, config, end_losses, rng.random::<u64>())
            .map_err(|(pivot, loss)| LandscapeError::NonFiniteLoss {
                pivot,
                cycle: cycle_index,
                step,
                loss,
            })?;
        for i in 1..n - 1 {
            for ((v, g), t) in velocity[i]
                .iter_mut()
                .zip(&grads[i - 1])
                .zip(path.pivots[i].iter_mut())
            {
                *v = config.momentum * *v + g;
                *t -= cycle.lr * *v;
            }
        }
    }
    if config.spring.is_none() {
        path.redistribute();
    }
    Ok(())
}

/// The NEB gradients of all interior pivots, or the first pivot (index, value) whose loss or
/// gradient is not finite. The ends get no update. Pivot `i` uses
/// [`Landscape::sample_loss_and_grad`] with a seed derived from `step_seed` and `i`.
pub fn neb_gradients<L: Landscape + ?Sized>(
    landscape: &L,
    path: &Path,
    config: &AutoNebConfig,
    end_losses: [f64; 2],
    step_seed: u64,
) -> Result<Vec<Vec<f64>>, (usize, f64)> {
    let n = path.len();
    let mut losses = vec![end_losses[0]; n];
    losses[n - 1] = end_losses[1];
    let mut raw = Vec::with_capacity(n.saturating_sub(2));
    for i in 1..n - 1 {
        let seed = step_seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (l, g) = landscape.sample_loss_and_grad(&path.pivots[i], seed);
        if !l.is_finite() || g.iter().any(|x| !x.is_finite()) {
            return Err((i, l));
        }
        losses[i] = l;
        raw.push(g);
    }
    let lengths = path.segment_lengths();
    let total: f64 = lengths.iter().sum();
    let wsum: f64 = path.weights.iter().sum();
    Ok((1..n - 1)
        .map(|i| {
            let p = &path.pivots;
            let tau = improved_tangent(
                &p[i - 1],
                &p[i],
                &p[i + 1],
                [losses[i - 1], losses[i], losses[i + 1]],
                config.tangent,
            );
            let targets = (
                path.weights[i - 1] / wsum * total,
                path.weights[i] / wsum * total,
            );
            neb_gradient(
                &raw[i - 1],
                &p[i],
                &tau,
                config.weight_decay,
                config.spring,
                (lengths[i - 1], lengths[i]),
                targets,
            )
        })
        .collect())
}
