//! The conformance table: one entry per bijection configuration (perturbed away from the
//! identity by the checks in `conformance.rs`).

use flow_core::DType;
use flow_core::nn::Activation;
use flow_coupling::*;
use rand::rngs::Xoshiro256PlusPlus;

pub type Build = fn(DType, &mut Xoshiro256PlusPlus) -> Box<dyn Bijection>;

pub struct Case {
    pub name: &'static str,
    pub build: Build,
}

pub fn subnet() -> SubnetConfig {
    SubnetConfig::new(&[16, 16]).with_activation(Activation::Tanh)
}

fn cond2() -> ConditionConfig {
    ConditionConfig::new(2)
}

fn cond_embedded() -> ConditionConfig {
    ConditionConfig::new(2).with_embedding(&[8], 3, Activation::Silu)
}

/// A spline on [−2, 2] so that a N(0, 1.5²) input exercises both the bins and the tails.
pub fn spline() -> SplineConfig {
    SplineConfig::new(6, 2.0)
}

pub fn table() -> Vec<Case> {
    vec![
        Case {
            name: "additive",
            build: |d, r| {
                Box::new(AdditiveCoupling::new(
                    "c",
                    VolumePreserving::Shift,
                    4,
                    ActiveHalf::Second,
                    &subnet(),
                    None,
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "additive_cond",
            build: |d, r| {
                Box::new(AdditiveCoupling::new(
                    "c",
                    VolumePreserving::Shift,
                    3,
                    ActiveHalf::First,
                    &subnet(),
                    Some(&cond2()),
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "gin",
            build: |d, r| {
                Box::new(AdditiveCoupling::new(
                    "c",
                    VolumePreserving::Gin { clamp: 2.0 },
                    5,
                    ActiveHalf::Second,
                    &subnet(),
                    None,
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "gin_cond",
            build: |d, r| {
                Box::new(AdditiveCoupling::new(
                    "c",
                    VolumePreserving::Gin { clamp: 2.0 },
                    5,
                    ActiveHalf::Second,
                    &subnet(),
                    Some(&cond_embedded()),
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "affine",
            build: |d, r| {
                Box::new(AffineCoupling::new(
                    "c",
                    2.0,
                    4,
                    ActiveHalf::Second,
                    &subnet(),
                    None,
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "affine_atan",
            build: |d, r| {
                let c = AffineCoupling::new("c", 1.5, 5, ActiveHalf::First, &subnet(), None, d, r);
                Box::new(c.with_soft_clamp(SoftClamp::Atan))
            },
        },
        Case {
            name: "affine_cond",
            build: |d, r| {
                Box::new(AffineCoupling::new(
                    "c",
                    2.0,
                    3,
                    ActiveHalf::First,
                    &subnet(),
                    Some(&cond2()),
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "affine_cond_embedded",
            build: |d, r| {
                Box::new(AffineCoupling::new(
                    "c",
                    1.0,
                    4,
                    ActiveHalf::First,
                    &subnet(),
                    Some(&cond_embedded()),
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "spline",
            build: |d, r| {
                Box::new(SplineCoupling::new(
                    "c",
                    spline(),
                    4,
                    ActiveHalf::Second,
                    &subnet(),
                    None,
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "spline_cond",
            build: |d, r| {
                Box::new(SplineCoupling::new(
                    "c",
                    spline(),
                    3,
                    ActiveHalf::First,
                    &subnet(),
                    Some(&cond_embedded()),
                    d,
                    r,
                ))
            },
        },
        Case {
            name: "actnorm",
            build: |d, _| Box::new(ActNorm::new("a", 3, d)),
        },
        Case {
            name: "permutation",
            build: |_, r| Box::new(Permutation::random("p", 5, r)),
        },
        Case {
            name: "lu_linear",
            build: |d, r| Box::new(LuLinear::new("l", 4, d, r)),
        },
        Case {
            name: "fixed_rotation",
            build: |d, r| Box::new(FixedRotation::random("q", 4, d, r)),
        },
        Case {
            name: "householder",
            build: |d, r| Box::new(HouseholderRotation::new("h", 4, 3, d, r)),
        },
        Case {
            name: "global_scale",
            build: |d, _| Box::new(GlobalScale::new("s", 3, 0.3, d)),
        },
        Case {
            name: "nsf_flow_cond",
            build: |d, r| {
                Box::new(
                    NsfConfig::new(3)
                        .with_blocks(2)
                        .with_hidden(&[8])
                        .with_condition(cond2())
                        .build(d, r),
                )
            },
        },
        Case {
            name: "glow_flow",
            build: |d, r| {
                Box::new(
                    GlowConfig::new(4)
                        .with_blocks(2)
                        .with_hidden(&[8])
                        .build(d, r),
                )
            },
        },
    ]
}
