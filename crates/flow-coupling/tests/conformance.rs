//! One table drives the same checks for every bijection (after flowjax's
//! `test_bijections.py` and zuko's `test_flows.py`):
//!
//! 1. round trip `f⁻¹(f(x)) = x` and `f(f⁻¹(z)) = z` to 1e-10 (f64) / 1e-5 (f32), relative
//!    to `max(1, |x|)`: single blocks amplify rounding by at most a few ulps times their
//!    Lipschitz constants (≲ e² with clamp 2);
//! 2. `ladj_forward(x)` against `log |det J|` from `slogdet` of the dense Jacobian that
//!    flow-core's forward-mode autodiff computes (an independent oracle: it never sees our
//!    log-det formulas), to 1e-9 (f64; LU of a ≤ 5×5 matrix) / 2e-4 (f32);
//! 3. `ladj_inverse(f(x)) = −ladj_forward(x)`;
//! 4. the exact panic message for a wrong input shape and a wrong/missing/unexpected condition.
//!
//! Every block is perturbed away from its (identity) initialisation first.

mod common;

use common::{max_abs_diff, panic_message, perturb};
use flow_core::{DType, Tensor, jacobian};
use flow_coupling::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[path = "conformance/table.rs"]
mod table;

use table::{Case, spline, subnet, table};

const BATCH: usize = 7;

struct Setup {
    block: Box<dyn Bijection>,
    x: Tensor,
    cond: Option<Tensor>,
}

fn setup(case: &Case, dtype: DType, seed: u64) -> Setup {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let block = (case.build)(dtype, &mut rng);
    let dim = block.dim();
    let cond = block
        .cond_dim()
        .map(|k| Tensor::randn(&[BATCH, k], dtype, &mut rng));
    // Data-dependent init on shifted, scaled data, then a generic perturbation.
    let init = Tensor::randn(&[64, dim], dtype, &mut rng)
        .mul_scalar(2.0)
        .add_scalar(0.5);
    let init_cond = block
        .cond_dim()
        .map(|k| Tensor::randn(&[64, k], dtype, &mut rng));
    block.initialize(&init, init_cond.as_ref());
    perturb(block.as_ref(), 0.3, &mut rng);
    let x = Tensor::randn(&[BATCH, dim], dtype, &mut rng).mul_scalar(1.5);
    Setup { block, x, cond }
}

fn tolerances(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F64 => (1e-10, 1e-9),
        DType::F32 => (1e-5, 2e-4),
    }
}

fn check_case(case: &Case, dtype: DType) {
    let (tol_rt, tol_ld) = tolerances(dtype);
    for seed in 0..3 {
        let Setup { block, x, cond } = setup(case, dtype, seed);
        let c = cond.as_ref();
        let (z, ladj) = block.forward_and_ladj(&x, c);
        assert_eq!(z.shape(), x.shape(), "{}: forward shape", case.name);
        assert_eq!(ladj.shape(), &[BATCH], "{}: ladj shape", case.name);
        // 1. round trips, relative to max(1, |x|).
        let scale = x
            .abs()
            .max_axis(0, false)
            .max_axis(0, false)
            .item()
            .max(1.0);
        let (back, ladj_inv) = block.inverse_and_ladj(&z, c);
        let err = max_abs_diff(&back, &x);
        assert!(
            err < tol_rt * scale,
            "{} {dtype} seed {seed}: round trip error {err}",
            case.name
        );
        let zz = block.forward(&block.inverse(&x, c), c);
        let err = max_abs_diff(&zz, &x);
        assert!(
            err < tol_rt * scale,
            "{} {dtype} seed {seed}: inverse round trip error {err}",
            case.name
        );
        // 3. inverse log-det is minus the forward one.
        let err = max_abs_diff(&ladj_inv, &ladj.neg());
        assert!(
            err < tol_rt * scale,
            "{} {dtype} seed {seed}: ladj_inverse + ladj_forward = {err}",
            case.name
        );
        // 2. the slogdet oracle.
        let jac = jacobian(|v| block.forward(v, c), &x);
        let (sign, logdet) = jac.slogdet();
        assert!(
            sign.to_vec_f64().iter().all(|s| *s != 0.0),
            "{}: singular Jacobian",
            case.name
        );
        let err = max_abs_diff(&logdet, &ladj);
        assert!(
            err < tol_ld,
            "{} {dtype} seed {seed}: ladj vs slogdet error {err}",
            case.name
        );
        // and for the inverse map at z.
        let jac_inv = jacobian(|v| block.inverse(v, c), &z);
        let err = max_abs_diff(&jac_inv.slogdet().1, &ladj_inv);
        assert!(
            err < tol_ld,
            "{} {dtype} seed {seed}: inverse ladj vs slogdet error {err}",
            case.name
        );
    }
}

#[test]
fn conformance_f64() {
    for case in table() {
        check_case(&case, DType::F64);
    }
}

#[test]
fn conformance_f32() {
    for case in table() {
        check_case(&case, DType::F32);
    }
}

#[test]
fn conditional_blocks_depend_on_the_condition() {
    for case in table() {
        let Setup { block, x, cond } = setup(&case, DType::F64, 11);
        let Some(c) = cond else { continue };
        let z1 = block.forward(&x, Some(&c));
        let z2 = block.forward(&x, Some(&c.add_scalar(1.0)));
        assert!(
            max_abs_diff(&z1, &z2) > 1e-6,
            "{}: output ignores the condition",
            case.name
        );
    }
}

#[test]
fn shape_errors_have_exact_messages() {
    for case in table() {
        let Setup { block, x, cond } = setup(&case, DType::F64, 5);
        let (name, dim) = (block.name().to_string(), block.dim());
        let wide = Tensor::zeros(&[BATCH, dim + 1], DType::F64);
        let msg = panic_message(std::panic::AssertUnwindSafe(|| {
            block.forward(&wide, cond.as_ref());
        }));
        assert_eq!(
            msg.as_deref(),
            Some(
                format!(
                    "{name}: expected input of shape [batch, {dim}], got [{BATCH}, {}]",
                    dim + 1
                )
                .as_str()
            ),
            "{}",
            case.name
        );
        let msg = panic_message(std::panic::AssertUnwindSafe(|| {
            block.inverse(&wide, cond.as_ref());
        }));
        assert!(
            msg.is_some_and(|m| m.contains("expected input of shape")),
            "{}: inverse shape check",
            case.name
        );
        match block.cond_dim() {
            Some(k) => {
                let msg = panic_message(std::panic::AssertUnwindSafe(|| {
                    block.forward(&x, None);
                }));
                assert_eq!(
                    msg.as_deref(),
                    Some(
                        format!("{name}: expected a condition of shape [{BATCH}, {k}], got none")
                            .as_str()
                    )
                );
                let bad = Tensor::zeros(&[BATCH, k + 1], DType::F64);
                let msg = panic_message(std::panic::AssertUnwindSafe(|| {
                    block.inverse(&x, Some(&bad));
                }));
                assert_eq!(
                    msg.as_deref(),
                    Some(format!("{name}: expected a condition of shape [{BATCH}, {k}], got [{BATCH}, {}]", k + 1).as_str())
                );
                let short = Tensor::zeros(&[BATCH - 1, k], DType::F64);
                let msg = panic_message(std::panic::AssertUnwindSafe(|| {
                    block.forward(&x, Some(&short));
                }));
                assert_eq!(
                    msg.as_deref(),
                    Some(
                        format!(
                            "{name}: expected a condition of shape [{BATCH}, {k}], got [{}, {k}]",
                            BATCH - 1
                        )
                        .as_str()
                    )
                );
            }
            None => {
                let c = Tensor::zeros(&[BATCH, 2], DType::F64);
                let msg = panic_message(std::panic::AssertUnwindSafe(|| {
                    block.forward(&x, Some(&c));
                }));
                assert_eq!(
                    msg.as_deref(),
                    Some(
                        format!("{name}: unconditional, but got a condition of shape [{BATCH}, 2]")
                            .as_str()
                    )
                );
            }
        }
    }
}

#[test]
fn volume_preserving_blocks_have_zero_log_det() {
    // NICE and GIN are volume preserving by construction: the oracle log |det J| is 0 too.
    for name in [
        "additive",
        "gin",
        "gin_cond",
        "permutation",
        "fixed_rotation",
        "householder",
    ] {
        let case = table()
            .into_iter()
            .find(|c| c.name == name)
            .expect("in table");
        let Setup { block, x, cond } = setup(&case, DType::F64, 2);
        let (_, ladj) = block.forward_and_ladj(&x, cond.as_ref());
        let logdet = jacobian(|v| block.forward(v, cond.as_ref()), &x)
            .slogdet()
            .1;
        assert!(ladj.abs().max_axis(0, false).item() == 0.0, "{name}");
        assert!(
            logdet.abs().max_axis(0, false).item() < 1e-12,
            "{name}: oracle {logdet:?}"
        );
    }
}

#[test]
fn fresh_couplings_are_the_identity() {
    // Zero-initialised last layers + identity-at-zero parametrisations (spline derivative
    // offset ln(e^{1−min_d} − 1)) make every coupling start as the identity.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let x = Tensor::randn(&[9, 4], DType::F64, &mut rng).mul_scalar(2.0);
    let blocks: Vec<Box<dyn Bijection>> = vec![
        Box::new(AffineCoupling::new(
            "a",
            2.0,
            4,
            ActiveHalf::First,
            &subnet(),
            None,
            DType::F64,
            &mut rng,
        )),
        Box::new(SplineCoupling::new(
            "s",
            spline(),
            4,
            ActiveHalf::First,
            &subnet(),
            None,
            DType::F64,
            &mut rng,
        )),
        Box::new(AdditiveCoupling::new(
            "n",
            VolumePreserving::Gin { clamp: 1.0 },
            4,
            ActiveHalf::First,
            &subnet(),
            None,
            DType::F64,
            &mut rng,
        )),
    ];
    for b in blocks {
        let (z, ladj) = b.forward_and_ladj(&x, None);
        assert!(max_abs_diff(&z, &x) < 1e-12, "{}", b.name());
        assert!(ladj.abs().max_axis(0, false).item() < 1e-12, "{}", b.name());
    }
}
