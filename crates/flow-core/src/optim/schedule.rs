//! Learning-rate schedules: `lr(step) = base · factor(step)`.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A learning-rate schedule (steps count from 0).
///
/// ```
/// use flow_core::optim::Schedule;
/// let s = Schedule::Cosine { total_steps: 100, final_factor: 0.0 };
/// assert_eq!(s.learning_rate(1e-3, 0), 1e-3);
/// assert!(s.learning_rate(1e-3, 100).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Cosine annealing from `base` to `final_factor · base` over `total_steps`.
    Cosine {
        /// Steps of the decay (constant afterwards).
        total_steps: u64,
        /// Final rate as a fraction of the base rate.
        final_factor: f64,
    },
    /// `base · γ^step`.
    Exponential {
        /// Decay per step.
        gamma: f64,
    },
    /// One-cycle (Smith & Topin 2017, arXiv:1708.07120; PyTorch's `OneCycleLR` with cosine
    /// annealing): from `base/div_factor` up to `base` over `pct_start · total_steps`, then
    /// down to `base/(div_factor·final_div_factor)`.
    OneCycle {
        /// Total steps.
        total_steps: u64,
        /// Fraction of steps spent warming up.
        pct_start: f64,
        /// Initial rate = base / div_factor.
        div_factor: f64,
        /// Final rate = initial / final_div_factor.
        final_div_factor: f64,
    },
}

fn cosine_interp(from: f64, to: f64, fraction: f64) -> f64 {
    to + (from - to) * 0.5 * (1.0 + (PI * fraction.clamp(0.0, 1.0)).cos())
}

/// Momentum cycled inversely to a one-cycle learning rate (PyTorch's `OneCycleLR` with
/// `cycle_momentum=True`, after Smith 2018, arXiv:1803.09820 §4.3): the optimiser's momentum
/// (Adam's β₁, SGD's μ) goes from `max` down to `base` while the rate warms up and back up to
/// `max` while it anneals, with the same cosine and phase fractions as the rate. PyTorch's
/// defaults, used by configs that do not set them, are `base` 0.85 and `max` 0.95; note that
/// this replaces the optimiser's own β₁ from the first step on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MomentumCycle {
    /// Momentum at the peak rate (the end of the warm-up).
    pub base: f64,
    /// Momentum at the first and the last step.
    pub max: f64,
}

impl MomentumCycle {
    /// PyTorch's `OneCycleLR` defaults: `base_momentum` 0.85, `max_momentum` 0.95.
    pub const TORCH: MomentumCycle = MomentumCycle {
        base: 0.85,
        max: 0.95,
    };
}

impl Schedule {
    /// One-cycle with PyTorch's defaults (30 % warm-up, div 25, final div 1e4).
    pub fn one_cycle(total_steps: u64) -> Schedule {
        Schedule::OneCycle {
            total_steps,
            pct_start: 0.3,
            div_factor: 25.0,
            final_div_factor: 1e4,
        }
    }

    /// The learning rate at `step` for base rate `base`.
    pub fn learning_rate(&self, base: f64, step: u64) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Cosine {
                total_steps,
                final_factor,
            } => cosine_interp(
                base,
                base * final_factor,
                step as f64 / total_steps.max(1) as f64,
            ),
            Schedule::Exponential { gamma } => base * gamma.powf(step as f64),
            Schedule::OneCycle {
                total_steps,
                pct_start,
                div_factor,
                final_div_factor,
            } => {
                let initial = base / div_factor;
                let last = initial / final_div_factor;
                match one_cycle_phase(total_steps, pct_start, step) {
                    (true, f) => cosine_interp(initial, base, f),
                    (false, f) => cosine_interp(base, last, f),
                }
            }
        }
    }

    /// The momentum of `step` under `cycle` ([`MomentumCycle`]): `max → base` over the
    /// one-cycle warm-up, `base → max` over the annealing. `None` for the other schedules,
    /// which have no cycle to follow.
    pub fn cycled_momentum(&self, cycle: MomentumCycle, step: u64) -> Option<f64> {
        match *self {
            Schedule::OneCycle {
                total_steps,
                pct_start,
                ..
            } => Some(match one_cycle_phase(total_steps, pct_start, step) {
                (true, f) => cosine_interp(cycle.max, cycle.base, f),
                (false, f) => cosine_interp(cycle.base, cycle.max, f),
            }),
            _ => None,
        }
    }
}

/// `(warming up, fraction of that phase done)` of one-cycle step `step`.
fn one_cycle_phase(total_steps: u64, pct_start: f64, step: u64) -> (bool, f64) {
    let warm = (pct_start * total_steps as f64).max(1.0);
    let s = step as f64;
    if s <= warm {
        (true, s / warm)
    } else {
        (false, (s - warm) / (total_steps as f64 - warm).max(1.0))
    }
}
