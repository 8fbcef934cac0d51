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
                let warm = (pct_start * total_steps as f64).max(1.0);
                let s = step as f64;
                if s <= warm {
                    cosine_interp(initial, base, s / warm)
                } else {
                    cosine_interp(
                        base,
                        last,
                        (s - warm) / (total_steps as f64 - warm).max(1.0),
                    )
                }
            }
        }
    }
}
