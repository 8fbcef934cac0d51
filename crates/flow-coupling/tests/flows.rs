//! One smoke table for every flow (after zuko's `test_flows.py`): log-prob shape, every
//! parameter receives a non-zero gradient, sample shapes, `sample_and_log_prob` agrees with
//! `log_prob`, and a checkpoint round trip reproduces `log_prob` bit for bit.

mod common;

use common::{max_abs_diff, perturb};
use flow_core::distributions::BaseConfig;
use flow_core::nn::{Activation, Module, values};
use flow_core::{DType, Tensor, grad};
use flow_coupling::train::checkpointing::{load_flow, save_flow};
use flow_coupling::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

type Build = fn(u64) -> Flow;

fn build_with(seed: u64, f: impl FnOnce(&mut Xoshiro256PlusPlus) -> Flow) -> Flow {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    f(&mut rng)
}

fn volume_preserving(seed: u64) -> Flow {
    build_with(seed, |rng| {
        let sub = SubnetConfig::new(&[16]);
        let mut layers: Vec<Box<dyn Bijection>> = Vec::new();
        for i in 0..3 {
            let name = format!("layers.{}", layers.len());
            layers.push(Box::new(AdditiveCoupling::new(
                &name,
                VolumePreserving::Shift,
                3,
                ActiveHalf::alternating(i),
                &sub,
                None,
                DType::F64,
                rng,
            )));
            let name = format!("layers.{}", layers.len());
            layers.push(Box::new(FixedRotation::random(&name, 3, DType::F64, rng)));
        }
        layers.push(Box::new(HouseholderRotation::new(
            "layers.6",
            3,
            2,
            DType::F64,
            rng,
        )));
        layers.push(Box::new(GlobalScale::new("layers.7", 3, 0.0, DType::F64)));
        Flow::new(3, DType::F64, layers)
    })
}

fn table() -> Vec<(&'static str, Build)> {
    vec![
        ("realnvp_2d", |s| {
            build_with(s, |r| {
                RealNvpConfig::new(2)
                    .with_blocks(4)
                    .with_hidden(&[16])
                    .build(DType::F64, r)
            })
        }),
        ("realnvp_perm_5d", |s| {
            build_with(s, |r| {
                RealNvpConfig::new(5)
                    .with_blocks(3)
                    .with_hidden(&[16])
                    .with_mixing(Mixing::RandomPermutation)
                    .build(DType::F64, r)
            })
        }),
        ("glow_4d", |s| {
            build_with(s, |r| {
                GlowConfig::new(4)
                    .with_blocks(3)
                    .with_hidden(&[16])
                    .build(DType::F64, r)
            })
        }),
        ("nsf_3d", |s| {
            build_with(s, |r| {
                NsfConfig::new(3)
                    .with_blocks(2)
                    .with_hidden(&[16])
                    .build(DType::F64, r)
            })
        }),
        ("realnvp_cond_embedded", |s| {
            build_with(s, |r| {
                RealNvpConfig::new(2)
                    .with_blocks(3)
                    .with_hidden(&[16])
                    .with_condition(ConditionConfig::new(1).with_embedding(
                        &[8],
                        4,
                        Activation::Silu,
                    ))
                    .build(DType::F64, r)
            })
        }),
        ("nsf_cond_4d", |s| {
            build_with(s, |r| {
                NsfConfig::new(4)
                    .with_blocks(2)
                    .with_hidden(&[16])
                    .with_condition(ConditionConfig::new(2))
                    .build(DType::F64, r)
            })
        }),
        ("volume_preserving_3d", volume_preserving),
        ("realnvp_2d_student_t_base", |s| {
            build_with(s, |r| {
                RealNvpConfig::new(2)
                    .with_blocks(2)
                    .with_hidden(&[16])
                    .build(DType::F64, r)
                    .with_base(&BaseConfig::StudentT { df: 5.0 }, r)
            })
        }),
        ("nsf_3d_mixture_base", |s| {
            build_with(s, |r| {
                NsfConfig::new(3)
                    .with_blocks(2)
                    .with_hidden(&[16])
                    .build(DType::F64, r)
                    .with_base(&BaseConfig::GaussianMixture { components: 3 }, r)
            })
        }),
    ]
}

/// A trained-looking flow with a learnable base is still a normalised density: the 2-D
/// trapezoid integral of `exp(log_prob)` over `[-30, 30]²` at h = 0.1 is 1 within 5e-3 (the
/// Student-t base with ν = 5 loses < 1e-3 of its mass outside the box; a smooth density's
/// trapezoid error at this step is far smaller).
#[test]
fn flows_with_learnable_bases_integrate_to_one() {
    for base in [
        BaseConfig::StudentT { df: 5.0 },
        BaseConfig::GaussianMixture { components: 3 },
        BaseConfig::DiagonalNormal,
    ] {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let flow = RealNvpConfig::new(2)
            .with_blocks(2)
            .with_hidden(&[8])
            .build(DType::F64, &mut rng)
            .with_base(&base, &mut rng);
        perturb(&flow, 0.1, &mut rng);
        let (l, m) = (30.0, 601);
        let h = 2.0 * l / (m - 1) as f64;
        let pts: Vec<f64> = (0..m * m)
            .flat_map(|k| [-l + h * (k / m) as f64, -l + h * (k % m) as f64])
            .collect();
        let lp = flow.log_prob(&Tensor::from_vec(pts, &[m * m, 2]), None);
        let total: f64 = lp.to_vec_f64().iter().map(|v| v.exp() * h * h).sum();
        assert!((total - 1.0).abs() < 5e-3, "{base:?}: integral {total}");
    }
}

fn inputs(flow: &Flow, n: usize, seed: u64) -> (Tensor, Option<Tensor>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let x = Tensor::randn(&[n, flow.dim()], DType::F64, &mut rng)
        .mul_scalar(1.3)
        .add_scalar(0.2);
    let c = flow
        .cond_dim()
        .map(|k| Tensor::randn(&[n, k], DType::F64, &mut rng));
    (x, c)
}

#[test]
fn smoke_table() {
    for (name, build) in table() {
        let flow = build(1);
        let (x, c) = inputs(&flow, 16, 2);
        flow.initialize(&x, c.as_ref());
        // Zero-initialised last layers block the gradient to earlier layers at construction
        // (by design: identity start), so move to a generic point first.
        perturb(&flow, 0.1, &mut Xoshiro256PlusPlus::seed_from_u64(3));

        let lp = flow.log_prob(&x, c.as_ref());
        assert_eq!(lp.shape(), &[16], "{name}: log_prob shape");
        assert!(lp.all_finite(), "{name}: log_prob finite");

        let params = flow.parameters();
        assert!(
            !params.is_empty() || name.is_empty(),
            "{name}: has parameters"
        );
        let vals = values(&params);
        let grads = grad(&lp.mean_all(), &vals.iter().collect::<Vec<_>>());
        for (p, g) in params.iter().zip(&grads) {
            let largest = g.abs().to_vec_f64().into_iter().fold(0.0, f64::max);
            assert!(
                largest > 0.0 && largest.is_finite(),
                "{name}: parameter {} gets gradient {largest}",
                p.name()
            );
        }
        let mut names: Vec<&str> = params.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "{name}: parameter names are unique");

        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        let sc = flow
            .cond_dim()
            .map(|k| Tensor::randn(&[10, k], DType::F64, &mut rng));
        let s = flow.sample(10, sc.as_ref(), &mut rng);
        assert_eq!(s.shape(), &[10, flow.dim()], "{name}: sample shape");
        let (xs, lq) = flow.sample_and_log_prob(10, sc.as_ref(), &mut rng);
        assert_eq!(lq.shape(), &[10], "{name}: sample_and_log_prob shape");
        // log q from the sampling pass equals log_prob of the sample (1e-9: two round trips).
        let err = max_abs_diff(&lq, &flow.log_prob(&xs, sc.as_ref()));
        assert!(err < 1e-9, "{name}: sample_and_log_prob vs log_prob: {err}");

        // Checkpoint round trip into a freshly built (identity) flow of the same config.
        let path = std::env::temp_dir().join(format!(
            "flow-coupling-smoke-{name}-{}.safetensors",
            std::process::id()
        ));
        save_flow(&flow, &path).expect("save");
        let fresh = build(1);
        assert!(
            max_abs_diff(&fresh.log_prob(&x, c.as_ref()), &lp) > 1e-6,
            "{name}: fresh flow differs"
        );
        load_flow(&fresh, &path).expect("load");
        assert_eq!(
            fresh.log_prob(&x, c.as_ref()).to_vec_f64(),
            lp.to_vec_f64(),
            "{name}: round trip"
        );
        // A flow built with another seed has other buffers (where it has any) and is rejected.
        let other = build(99);
        if !other.buffers().is_empty() {
            let err = load_flow(&other, &path).expect_err("buffers differ");
            assert!(err.to_string().contains("buffer."), "{name}: {err}");
        }
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn conditional_flows_differentiate_in_the_condition() {
    // TRADE needs ∂_c log p(x | c): the condition must reach log_prob through the graph.
    for (name, build) in table() {
        let flow = build(5);
        let (x, Some(c)) = inputs(&flow, 8, 6) else {
            continue;
        };
        perturb(&flow, 0.1, &mut Xoshiro256PlusPlus::seed_from_u64(7));
        let c = c.requires_grad();
        let g = grad(&flow.log_prob(&x, Some(&c)).sum_all(), &[&c]).remove(0);
        assert!(
            g.abs().sum_all().item() > 0.0,
            "{name}: no gradient in the condition"
        );
    }
}

#[test]
fn volume_preserving_flow_shifts_log_density_by_a_constant() {
    // Theory paper C, PT-C1: log p_Z(f(x)) − log q(x) = −D·λ for every x.
    let flow = volume_preserving(0);
    perturb(&flow, 0.2, &mut Xoshiro256PlusPlus::seed_from_u64(1));
    let (x, _) = inputs(&flow, 32, 3);
    let (_, ladj) = flow.forward_and_ladj(&x, None);
    let v = ladj.to_vec_f64();
    let spread = v.iter().fold(0.0f64, |m, a| m.max((a - v[0]).abs()));
    assert!(spread < 1e-12, "log-det not constant: {spread}");
}
