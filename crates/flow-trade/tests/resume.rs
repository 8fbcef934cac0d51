//! Checkpointed TRADE training: a run stopped and resumed from its checkpoint (grid table,
//! loss EMA and adaptive weights included) ends bit for bit where an uninterrupted run ends.

use flow_core::DType;
use flow_core::nn::Module;
use flow_data::energy::{DoubleWell2d, Tempered};
use flow_trade::adaptive::AdaptiveConfig;
use flow_trade::exact::double_well_samples;
use flow_trade::resume::{ResumeSpec, fit_trade_resumable};
use flow_trade::train::{Boundary, LoopConfig, Sampler, TradeConfig, fit_trade};
use flow_trade::{Family, ParamFlow, ParamFlowConfig};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn setup() -> (Family, flow_core::Tensor, TradeConfig, LoopConfig) {
    let fam = Family::new(
        Box::new(Tempered::temperature(DoubleWell2d::bgflow())),
        1.0,
        0.5,
        1.5,
    )
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let data = double_well_samples(&DoubleWell2d::bgflow(), 256, 1.0, &mut rng);
    let cfg = TradeConfig {
        boundary: Boundary::Nll,
        batch: 32,
        residual_batch: 32,
        pde_weight: 1.0,
        pde_start: 0.1,
        pde_full: 0.5,
        grid_points: 4,
        snis_samples: 64,
        refresh_every: 3,
        alpha_ex: 0.5,
        alpha_loss: 0.9,
        epsilon: 1.0,
        huber_delta: 1.0,
        sampler: Sampler::Grid,
        adaptive: Some(AdaptiveConfig {
            every: 2,
            alpha: 0.5,
            rule: flow_trade::adaptive::AdaptiveRule::Pinn,
        }),
        // Half the 64 samples: some refreshes fall below it, so the trusted flags must
        // survive the checkpoint for the resumed run to match.
        min_effective_samples: 32.0,
    };
    let lc = LoopConfig {
        steps: 14,
        learning_rate: 3e-3,
        clip: 3.0,
        seed: 9,
    };
    (fam, data, cfg, lc)
}

fn model() -> ParamFlow {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    ParamFlowConfig::affine(2, 2, &[8]).build(DType::F64, &mut rng)
}

fn values(m: &ParamFlow) -> Vec<Vec<f64>> {
    m.parameters()
        .iter()
        .map(|p| p.get().to_vec_f64())
        .collect()
}

#[test]
fn stopped_and_resumed_trade_equals_an_uninterrupted_run_bit_for_bit() {
    let (fam, data, cfg, lc) = setup();
    let straight = model();
    let (_, s_state) = fit_trade(&straight, &fam, Some(&data), &lc, &cfg).unwrap();

    let path = std::env::temp_dir().join(format!("trade-resume-{}.st", std::process::id()));
    std::fs::remove_file(&path).ok();
    let first = model();
    let spec = ResumeSpec {
        path: path.clone(),
        every: 4,
        stop_at: Some(7),
    };
    let (_, mid) = fit_trade_resumable(&first, &fam, Some(&data), &lc, &cfg, &spec).unwrap();
    assert!(mid.grid.table().is_some(), "the table exists by step 7");
    assert_ne!(values(&first), values(&straight), "stopped early");

    // A fresh process: the same model built again, resumed from the file.
    let second = model();
    let spec = ResumeSpec {
        stop_at: None,
        ..spec
    };
    let (curves, r_state) =
        fit_trade_resumable(&second, &fam, Some(&data), &lc, &cfg, &spec).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(curves.len(), 14);
    assert_eq!(values(&second), values(&straight));
    assert_eq!(r_state.grid.table(), s_state.grid.table());
    assert_eq!(
        r_state.grid.causality_exponents(),
        s_state.grid.causality_exponents()
    );
    assert_eq!(r_state.weights, s_state.weights);
}

#[test]
fn a_checkpoint_of_another_grid_is_refused() {
    let (fam, data, cfg, lc) = setup();
    let path = std::env::temp_dir().join(format!("trade-resume-grid-{}.st", std::process::id()));
    std::fs::remove_file(&path).ok();
    let spec = ResumeSpec {
        path: path.clone(),
        every: 4,
        stop_at: Some(4),
    };
    fit_trade_resumable(&model(), &fam, Some(&data), &lc, &cfg, &spec).unwrap();
    let other = TradeConfig {
        grid_points: 5,
        ..cfg
    };
    let err = fit_trade_resumable(&model(), &fam, Some(&data), &lc, &other, &spec);
    std::fs::remove_file(&path).ok();
    assert!(matches!(err, Err(flow_trade::TradeError::Config(_))));
}
