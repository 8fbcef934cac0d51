//! One-cycle momentum cycling (PyTorch's `OneCycleLR(cycle_momentum=True)`): the schedule of
//! β₁ against an independent closed form, its inverse relation to the rate, and a training
//! run against a hand-written Adam loop that sets β₁ per step as PyTorch does.

use flow_core::nn::Param;
use flow_core::optim::{MomentumCycle, Schedule};
use flow_core::train::{StepLoss, TrainConfig, Trainer};
use flow_core::{DType, Tensor};
use std::f64::consts::PI;

const TOTAL: u64 = 1000;

fn one_cycle() -> Schedule {
    Schedule::OneCycle {
        total_steps: TOTAL,
        pct_start: 0.3,
        div_factor: 25.0,
        final_div_factor: 100.0,
    }
}

/// The oracle, written from the definition (cosine annealing `end + (start − end)(1 + cos πf)/2`
/// over each phase; the warm-up ends at step `pct_start · total`).
fn oracle_momentum(step: u64, base: f64, max: f64) -> f64 {
    let warm = 0.3 * TOTAL as f64;
    let s = step as f64;
    let anneal = |start: f64, end: f64, f: f64| end + (start - end) * (1.0 + (PI * f).cos()) / 2.0;
    if s <= warm {
        anneal(max, base, s / warm)
    } else {
        anneal(base, max, (s - warm) / (TOTAL as f64 - warm))
    }
}

#[test]
fn the_cycled_momentum_matches_the_closed_form_and_its_landmarks() {
    let c = MomentumCycle::TORCH;
    let s = one_cycle();
    for step in (0..=TOTAL).step_by(7).chain([299, 300, 301, 999, 1000]) {
        let m = s.cycled_momentum(c, step).unwrap();
        assert!(
            (m - oracle_momentum(step, 0.85, 0.95)).abs() < 1e-14,
            "step {step}: {m}"
        );
        assert!((0.85 - 1e-15..=0.95 + 1e-15).contains(&m));
    }
    let at = |step| s.cycled_momentum(c, step).unwrap();
    assert!((at(0) - 0.95).abs() < 1e-15, "starts at max_momentum");
    assert!(
        (at(300) - 0.85).abs() < 1e-15,
        "base_momentum at the peak rate"
    );
    assert!(
        (at(150) - 0.90).abs() < 1e-12,
        "half-way through the warm-up"
    );
    assert!(
        (at(650) - 0.90).abs() < 1e-12,
        "half-way through the annealing"
    );
    assert!((at(TOTAL) - 0.95).abs() < 1e-15, "back to max_momentum");
    // Other schedules have no cycle.
    assert_eq!(Schedule::Constant.cycled_momentum(c, 3), None);
    assert_eq!(
        Schedule::Exponential { gamma: 0.99 }.cycled_momentum(c, 3),
        None
    );
}

#[test]
fn the_momentum_moves_inversely_to_the_rate() {
    // Within each phase both follow the same cosine fraction, so the momentum is an affine,
    // decreasing function of the rate: (max − m)/(max − base) = (lr − lr_start)/(peak − lr_start)
    // in the warm-up and (max − m)/(max − base) = (lr − lr_end)/(peak − lr_end) after it.
    let (s, c, peak) = (one_cycle(), MomentumCycle::TORCH, 2e-4);
    let (start, end) = (peak / 25.0, peak / 25.0 / 100.0);
    for step in 0..=TOTAL {
        let lr = s.learning_rate(peak, step);
        let m = s.cycled_momentum(c, step).unwrap();
        let low = if step <= 300 { start } else { end };
        let predicted = c.max - (c.max - c.base) * (lr - low) / (peak - low);
        assert!(
            (m - predicted).abs() < 1e-12,
            "step {step}: {m} vs {predicted}"
        );
    }
}

/// Minimises `(θ − 3)²` from θ = 0 with the engine and returns θ after `steps` steps.
fn engine_run(config: TrainConfig) -> f64 {
    let theta = Param::new("theta", Tensor::from_vec(vec![0.0], &[1]));
    let mut trainer = Trainer::new(vec![theta.clone()], config);
    trainer
        .fit(|_, _| {
            let d = theta.get().add_scalar(-3.0);
            StepLoss::new(d.square().sum_all())
        })
        .unwrap();
    theta.get().to_vec_f64()[0]
}

/// PyTorch's Adam (bias-corrected, β₁ read anew every step) on `(θ − 3)²`, written out.
fn oracle_adam(steps: u64, lr: impl Fn(u64) -> f64, beta1: impl Fn(u64) -> f64) -> f64 {
    let (b2, eps) = (0.999f64, 1e-8);
    let (mut theta, mut m, mut v) = (0.0f64, 0.0f64, 0.0f64);
    for s in 0..steps {
        let (b1, t) = (beta1(s), (s + 1) as i32);
        let g = 2.0 * (theta - 3.0);
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let m_hat = m / (1.0 - b1.powi(t));
        let v_hat = v / (1.0 - b2.powi(t));
        theta -= lr(s) * m_hat / (v_hat.sqrt() + eps);
    }
    theta
}

#[test]
fn adam_under_momentum_cycling_matches_a_hand_written_loop() {
    let steps = 40;
    let schedule = Schedule::OneCycle {
        total_steps: steps,
        pct_start: 0.3,
        div_factor: 25.0,
        final_div_factor: 100.0,
    };
    let config = TrainConfig::new(steps, 0.5).with_schedule(schedule.clone());
    let cycled = engine_run(config.clone().with_momentum_cycle(MomentumCycle::TORCH));
    let lr = |s| schedule.learning_rate(0.5, s);
    let expected = oracle_adam(steps, lr, |s| {
        let (warm, x) = (0.3 * steps as f64, s as f64);
        let f =
            |start: f64, end: f64, frac: f64| end + (start - end) * (1.0 + (PI * frac).cos()) / 2.0;
        if x <= warm {
            f(0.95, 0.85, x / warm)
        } else {
            f(0.85, 0.95, (x - warm) / (steps as f64 - warm))
        }
    });
    // Adam's update rearranges `m̂/(√v̂ + ε)` (step size folded into the rate), so agreement
    // is to rounding, not bit for bit.
    assert!((cycled - expected).abs() < 1e-9, "{cycled} vs {expected}");
    // The cycle matters: the plain run (β₁ = 0.9 throughout) lands elsewhere, and matches
    // the same loop with a constant β₁.
    let plain = engine_run(config);
    assert!((plain - oracle_adam(steps, lr, |_| 0.9)).abs() < 1e-9);
    assert!((plain - cycled).abs() > 1e-6, "{plain} vs {cycled}");
}

#[test]
fn an_old_config_without_the_field_still_reads() {
    let mut json = serde_json::to_value(TrainConfig::new(10, 1e-3)).unwrap();
    json.as_object_mut().unwrap().remove("momentum_cycle");
    let back: TrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back.momentum_cycle, None);
}

#[test]
#[should_panic(expected = "needs a one-cycle schedule")]
fn cycling_without_a_one_cycle_schedule_is_refused() {
    let theta = Param::new("theta", Tensor::zeros(&[1], DType::F64));
    let config = TrainConfig::new(5, 1e-3).with_momentum_cycle(MomentumCycle::TORCH);
    let _ = Trainer::new(vec![theta], config);
}
