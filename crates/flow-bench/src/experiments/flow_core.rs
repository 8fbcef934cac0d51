//! flow-core sanity page: reverse-mode VJPs, forward-mode JVPs and their second-order
//! derivatives of a table of ops against f64 central finite differences, measured with
//! flow-core's own checker (`flow_core::testing::GradCheck`, after JAX's `check_grads`):
//! - order 1: the JVP `J t` against `(f(x + εt) − f(x − εt)) / 2ε`, and the VJP by the identity
//!   `⟨J t, c⟩ = ⟨t, Jᵀ c⟩` with random tangent `t` and cotangent `c`;
//! - order 2: the same checks on the VJP map `x ↦ ⟨Jᵀ(x) c, w⟩` (reverse over reverse, the
//!   Hessian-vector product) and on the JVP map `x ↦ ⟨J(x) t, c⟩` (reverse over forward).
//!
//! The central difference has error `O(ε²)` plus rounding `O(u/ε)`; with `ε = 1e-5` in f64
//! both are far below the 1e-6 pass threshold.

use flow_core::testing::GradCheck as Checker;
use flow_core::{DType, Tensor};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::paper::PaperId;
use crate::plot::Histogram;

/// Preset of [`GradCheck`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradCheckPreset {
    /// Random (point, direction, cotangent) triples per op.
    pub directions: usize,
    /// Finite-difference step ε.
    pub step: f64,
    /// Pass threshold on the relative error.
    pub tolerance: f64,
}

impl GradCheckPreset {
    /// The preset for `mode`.
    pub fn for_mode(mode: Mode) -> GradCheckPreset {
        let directions = match mode {
            Mode::Test => 1,
            Mode::Quick => 10,
            Mode::Full => 100,
        };
        GradCheckPreset {
            directions,
            step: 1e-5,
            tolerance: 1e-6,
        }
    }
}

/// Where an op's input is drawn from.
#[derive(Clone, Copy, Debug)]
enum Domain {
    /// Standard normal `[3, 4]`.
    Real,
    /// `|N(0, 1)| + 0.5`, `[3, 4]`.
    Positive,
    /// `3 I + 0.5 N(0, 1)`, `[3, 3]` (well conditioned).
    Square,
}

type Op = (&'static str, Domain, fn(&Tensor) -> Tensor);

/// The ops under test.
const OPS: [Op; 16] = [
    ("exp", Domain::Real, |x| x.exp()),
    ("log", Domain::Positive, |x| x.log()),
    ("sqrt", Domain::Positive, |x| x.sqrt()),
    ("powf(2.5)", Domain::Positive, |x| x.powf(2.5)),
    ("sin · cos", Domain::Real, |x| x.sin().mul(&x.cos())),
    ("tanh", Domain::Real, |x| x.tanh()),
    ("sigmoid", Domain::Real, |x| x.sigmoid()),
    ("silu", Domain::Real, |x| x.silu()),
    ("softplus", Domain::Real, |x| x.softplus()),
    ("x / (x² + 1)", Domain::Real, |x| {
        x.div(&x.square().add_scalar(1.0))
    }),
    ("x · xᵀ (matmul)", Domain::Real, |x| x.matmul(&x.t())),
    ("x ⊙ Σ₀x (broadcast)", Domain::Real, |x| {
        x.mul(&x.sum_axis(0, true))
    }),
    ("logsumexp", Domain::Real, |x| x.logsumexp(1, false)),
    ("softmax", Domain::Real, |x| x.softmax(1)),
    ("inverse", Domain::Square, |x| x.inverse()),
    ("slogdet", Domain::Square, |x| x.slogdet().1.reshape(&[1])),
];

fn draw_input<R: Rng + ?Sized>(domain: Domain, rng: &mut R) -> Tensor {
    match domain {
        Domain::Real => Tensor::randn(&[3, 4], DType::F64, rng),
        Domain::Positive => Tensor::randn(&[3, 4], DType::F64, rng)
            .abs()
            .add_scalar(0.5),
        Domain::Square => Tensor::eye(3, DType::F64)
            .mul_scalar(3.0)
            .add(&Tensor::randn(&[3, 3], DType::F64, rng).mul_scalar(0.5)),
    }
}

/// Worst relative errors `[VJP order 1, JVP order 1, worst of order 2]` of `f` at one random
/// point, from flow-core's checker (its tolerance set to ∞ so that the report always comes
/// back; the page judges it against the preset's tolerance). A NaN anywhere reports NaN.
fn check_op<R: Rng + ?Sized>(
    f: fn(&Tensor) -> Tensor,
    domain: Domain,
    eps: f64,
    rng: &mut R,
) -> [f64; 3] {
    let x = draw_input(domain, rng);
    let seed = rng.random::<u64>();
    let func = |v: &[Tensor]| f(&v[0]);
    let run = |order: usize| {
        Checker {
            eps,
            tol: f64::INFINITY,
            order,
            seed,
        }
        .run(&func, std::slice::from_ref(&x))
        .map_or([f64::NAN; 2], |r| [r.vjp_error, r.jvp_error])
    };
    let first = run(1);
    let second = run(2);
    [first[0], first[1], second[0].max(second[1])]
}

/// `autodiff-gradcheck`: gradients, JVPs and HVPs of flow-core ops against finite differences.
pub struct GradCheck;

impl Experiment for GradCheck {
    fn id(&self) -> &'static str {
        "autodiff-gradcheck"
    }

    fn paper(&self) -> PaperId {
        PaperId::FlowCore
    }

    fn version(&self) -> u32 {
        2 // 2: flow_core::testing's checker instead of a local one
    }

    fn title(&self) -> &'static str {
        "Autodiff against f64 finite differences"
    }

    fn claim(&self) -> &'static str {
        "Reverse-mode VJPs, forward-mode JVPs and their second-order derivatives (Hessian-vector products) of every op agree with central finite differences to 1e-6 relative error in f64."
    }

    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&GradCheckPreset::for_mode(mode))
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: GradCheckPreset = ctx.preset()?;
        ctx.set_work((OPS.len() * p.directions) as u64);
        let mut rng = ctx.rng(0);
        let names = [
            "VJP (reverse mode, ⟨Jt, c⟩ = ⟨t, Jᵀc⟩)",
            "JVP (forward mode, vs central differences)",
            "Second order (reverse over reverse and over forward)",
        ];
        let mut tables: Vec<Table> = names
            .iter()
            .map(|n| {
                Table::new(
                    &format!(
                        "{n}: max relative error over {} random directions",
                        p.directions
                    ),
                    "op",
                    "max rel. error",
                )
            })
            .collect();
        let mut all = Vec::new();
        for (name, domain, f) in OPS {
            ctx.set_message(name);
            let mut worst = [0.0f64; 3];
            for _ in 0..p.directions {
                let errs = check_op(f, domain, p.step, &mut rng);
                for (w, e) in worst.iter_mut().zip(errs) {
                    *w = if e.is_nan() { f64::NAN } else { w.max(e) };
                    all.push(e.max(1e-17).log10());
                }
                ctx.step()?;
            }
            for (table, w) in tables.iter_mut().zip(worst) {
                table.push(
                    name,
                    w,
                    format!("≤ {:.0e}", p.tolerance),
                    Verdict::check(w <= p.tolerance),
                );
            }
        }
        let hist = Histogram {
            title: "Autodiff vs central differences (all ops and checks)".into(),
            x_label: "log10 relative error".into(),
            values: all,
            bins: 30,
            reference: Some((
                p.tolerance.log10(),
                format!("pass threshold {:.0e}", p.tolerance),
            )),
        };
        ctx.save_figure(
            "error-histogram.svg",
            "Distribution of log10 relative errors of all first-order VJP and JVP and second-order checks; dashed: the pass threshold.",
            |path| hist.save_svg(path),
        )?;
        let note = format!(
            "Inputs: [3, 4] standard normal (positive ops: |N| + 0.5; inverse and slogdet: 3I + 0.5 N on [3, 3]); ε = {:.0e}. Checker: flow_core::testing::GradCheck (the one the unit tests use), one seeded tangent and cotangent per direction; relative error = |a − b| / max(1, |a|, |b|) per component, worst over the components and, for the second-order table, over both second-order maps.",
            p.step
        );
        Ok(Outcome {
            tables,
            figures: Vec::new(),
            notes: vec![note],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The page's check can fail: a function whose recorded derivative is wrong (the
    /// derivative of `x²` computed as `x` through a detached product) shows a large error.
    #[test]
    fn checker_flags_a_wrong_derivative() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
        let good = check_op(|x| x.tanh(), Domain::Real, 1e-5, &mut rng);
        assert!(good.iter().all(|e| *e <= 1e-6), "{good:?}");
        let bad = check_op(|x| x.mul(&x.detach()), Domain::Real, 1e-5, &mut rng);
        assert!(bad[0] > 1e-3 || bad[1] > 1e-3, "{bad:?}");
    }
}
