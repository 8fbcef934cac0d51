//! Layers and optimisers: gradients reach every parameter, Adam/SGD match hand-computed
//! updates, schedules hit their end points, and resuming from a checkpoint continues with
//! bit-identical numbers.

use flow_core::io::Checkpoint;
use flow_core::nn::{Activation, MlpConfig, Module, Param, ResidualMlpConfig, values};
use flow_core::optim::{Adam, AdamConfig, Optimizer, Schedule, Sgd, SgdConfig};
use flow_core::{DType, Tensor, grad};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

fn loss_and_grads(
    forward: &dyn Fn(&Tensor) -> Tensor,
    params: &[Param],
    x: &Tensor,
) -> (f64, Vec<Tensor>) {
    let loss = forward(x).sub(&x.sin()).square().mean_all();
    let leaves = values(params);
    (loss.item(), grad(&loss, &leaves.iter().collect::<Vec<_>>()))
}

#[test]
fn every_parameter_receives_a_nonzero_gradient() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mlp = MlpConfig::new(3, &[8, 8], 3)
        .with_activation(Activation::Elu)
        .build("mlp", DType::F32, &mut rng);
    let res = ResidualMlpConfig {
        input: 3,
        output: 3,
        width: 8,
        blocks: 2,
        depth: 1,
        activation: Activation::Silu,
    }
    .build("res", DType::F32, &mut rng);
    let x = Tensor::randn(&[16, 3], DType::F32, &mut rng);
    // Residual branches end in zero-initialised layers; after one step everything moves.
    let mut opt = Adam::new(AdamConfig::new(1e-2));
    let (_, g) = loss_and_grads(&|x| res.forward(x), &res.parameters(), &x);
    opt.step(&res.parameters(), &g);
    for (name, params, f) in [
        (
            "mlp",
            mlp.parameters(),
            &(|x: &Tensor| mlp.forward(x)) as &dyn Fn(&Tensor) -> Tensor,
        ),
        ("res", res.parameters(), &|x: &Tensor| res.forward(x)),
    ] {
        let (_, grads) = loss_and_grads(f, &params, &x);
        for (p, g) in params.iter().zip(&grads) {
            assert!(
                g.to_vec_f64().iter().any(|v| *v != 0.0),
                "{name}: {} got a zero gradient",
                p.name()
            );
        }
    }
    let names: Vec<String> = res
        .parameters()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(names[0], "res.input.weight");
    assert!(names.contains(&"res.blocks.1.layers.1.bias".to_string()));
}

#[test]
fn adam_and_sgd_match_hand_computed_updates() {
    let p = Param::new("p", Tensor::from_slice(&[1.0f64, -2.0], &[2]));
    let g = Tensor::from_slice(&[0.5f64, 0.25], &[2]);
    let mut adam = Adam::new(AdamConfig::new(0.1).with_weight_decay(0.01));
    adam.step(std::slice::from_ref(&p), std::slice::from_ref(&g));
    adam.step(std::slice::from_ref(&p), std::slice::from_ref(&g));
    // Two steps with a constant gradient: m̂ = g, v̂ = g², step = lr·g/(|g| + ε) = lr·sign(g).
    let expect = |x0: f64, gi: f64| {
        let mut x = x0;
        for _ in 0..2 {
            x = x * (1.0 - 0.1 * 0.01) - 0.1 * gi / (gi.abs() + 1e-8);
        }
        x
    };
    let got = p.get().to_vec_f64();
    assert!(
        (got[0] - expect(1.0, 0.5)).abs() < 1e-12 && (got[1] - expect(-2.0, 0.25)).abs() < 1e-12,
        "{got:?}"
    );

    let q = Param::new("q", Tensor::from_slice(&[1.0f64], &[1]));
    let mut sgd = Sgd::new(SgdConfig::new(0.1).with_momentum(0.9));
    let gq = Tensor::from_slice(&[1.0f64], &[1]);
    sgd.step(std::slice::from_ref(&q), std::slice::from_ref(&gq));
    sgd.step(std::slice::from_ref(&q), std::slice::from_ref(&gq));
    // b₁ = 1, b₂ = 1.9: x = 1 − 0.1·(1 + 1.9)
    assert!((q.get().item() - (1.0 - 0.29)).abs() < 1e-12);
}

#[test]
fn schedules_hit_their_end_points() {
    let base = 1e-3;
    let one_cycle = Schedule::one_cycle(1000);
    assert!((one_cycle.learning_rate(base, 0) - base / 25.0).abs() < 1e-15);
    assert!((one_cycle.learning_rate(base, 300) - base).abs() < 1e-15);
    assert!((one_cycle.learning_rate(base, 1000) - base / 25.0 / 1e4).abs() < 1e-15);
    let exp = Schedule::Exponential { gamma: 0.5 };
    assert_eq!(exp.learning_rate(base, 3), base / 8.0);
    let cos = Schedule::Cosine {
        total_steps: 10,
        final_factor: 0.1,
    };
    assert!((cos.learning_rate(base, 5) - base * 0.55).abs() < 1e-15);
}

fn train(
    params: &[Param],
    forward: &dyn Fn(&Tensor) -> Tensor,
    opt: &mut Adam,
    steps: u64,
    start: u64,
) -> f64 {
    let schedule = Schedule::Cosine {
        total_steps: 20,
        final_factor: 0.0,
    };
    let mut last = f64::NAN;
    for step in start..start + steps {
        // Batches are a pure function of the step, so a resumed run sees the same data.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1000 + step);
        let x = Tensor::randn(&[32, 2], DType::F32, &mut rng);
        opt.set_learning_rate(schedule.learning_rate(3e-2, step));
        let (loss, grads) = loss_and_grads(forward, params, &x);
        opt.step(params, &grads);
        last = loss;
    }
    last
}

#[test]
fn resuming_from_a_checkpoint_gives_identical_numbers() {
    let build = || {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        MlpConfig::new(2, &[16, 16], 2).build("net", DType::F32, &mut rng)
    };
    let straight = build();
    let mut opt = Adam::new(AdamConfig::new(3e-2));
    let straight_loss = train(
        &straight.parameters(),
        &|x| straight.forward(x),
        &mut opt,
        20,
        0,
    );

    let first = build();
    let mut opt1 = Adam::new(AdamConfig::new(3e-2));
    train(&first.parameters(), &|x| first.forward(x), &mut opt1, 10, 0);
    let mut ck = Checkpoint::from_params(&first.parameters());
    opt1.save_state(&mut ck);
    let dir = std::env::temp_dir().join(format!("flow-core-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ck.safetensors");
    ck.save(&path).unwrap();

    let resumed = build();
    let mut opt2 = Adam::new(AdamConfig::new(3e-2));
    let loaded = Checkpoint::load(&path).unwrap();
    loaded.restore_params(&resumed.parameters()).unwrap();
    opt2.load_state(&loaded, &resumed.parameters()).unwrap();
    let resumed_loss = train(
        &resumed.parameters(),
        &|x| resumed.forward(x),
        &mut opt2,
        10,
        10,
    );
    std::fs::remove_dir_all(&dir).unwrap();

    assert_eq!(resumed_loss.to_bits(), straight_loss.to_bits());
    for (a, b) in straight.parameters().iter().zip(resumed.parameters()) {
        assert_eq!(a.get().to_vec_f32(), b.get().to_vec_f32(), "{}", a.name());
    }
}
