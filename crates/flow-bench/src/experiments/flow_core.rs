//! flow-core sanity page: reverse-mode gradients, forward-mode JVPs and Hessian-vector
//! products of a table of ops against f64 central finite differences.
//!
//! Checks, for an op `f` at a random point `x` along a random direction `t` with a random
//! cotangent `c` (`L(x) = ⟨c, f(x)⟩`):
//! - VJP: `⟨∇L(x), t⟩` against `(L(x + εt) − L(x − εt)) / 2ε`;
//! - JVP: `J_f(x) t` from forward mode against `(f(x + εt) − f(x − εt)) / 2ε`;
//! - HVP: `∇²L(x) t` (reverse over reverse) against `(∇L(x + εt) − ∇L(x − εt)) / 2ε`.
//!
//! The central difference has error `O(ε²)` plus rounding `O(u/ε)`; with `ε = 1e-5` in f64
//! both are far below the 1e-6 pass threshold.

use flow_core::{DType, Tensor, grad, hvp, jvp};
use rand::Rng;
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

/// `‖a − b‖∞ / max(‖b‖∞, floor)`.
fn rel_err(a: &[f64], b: &[f64], floor: f64) -> f64 {
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    let scale = b.iter().fold(floor, |m, y| m.max(y.abs()));
    diff / scale
}

/// Relative errors `[vjp, jvp, hvp]` of `f` at one random point.
fn check_op<R: Rng + ?Sized>(
    f: fn(&Tensor) -> Tensor,
    domain: Domain,
    eps: f64,
    rng: &mut R,
) -> [f64; 3] {
    let x = draw_input(domain, rng);
    let t = Tensor::randn(x.shape(), DType::F64, rng);
    let c = Tensor::randn(f(&x).shape(), DType::F64, rng);
    let (xp, xm) = (x.add(&t.mul_scalar(eps)), x.sub(&t.mul_scalar(eps)));
    let loss = |x: &Tensor| f(x).mul(&c).sum_all();
    let gradient = |x: &Tensor| {
        let x = x.detach().requires_grad();
        grad(&loss(&x), &[&x]).remove(0)
    };
    let fd = |a: Tensor, b: Tensor| a.sub(&b).mul_scalar(0.5 / eps).to_vec_f64();
    let vjp_dir = gradient(&x).mul(&t).sum_all().item();
    let vjp_fd = (loss(&xp).item() - loss(&xm).item()) * 0.5 / eps;
    let (_, jv) = jvp(f, &x, &t);
    let hv = hvp(loss, &x, &t);
    [
        rel_err(&[vjp_dir], &[vjp_fd], 1e-3),
        rel_err(&jv.to_vec_f64(), &fd(f(&xp), f(&xm)), 1e-3),
        rel_err(&hv.to_vec_f64(), &fd(gradient(&xp), gradient(&xm)), 1e-3),
    ]
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

    fn title(&self) -> &'static str {
        "Autodiff against f64 finite differences"
    }

    fn claim(&self) -> &'static str {
        "Reverse-mode VJPs, forward-mode JVPs and Hessian-vector products of every op agree with central finite differences to 1e-6 relative error in f64."
    }

    fn preset(&self, mode: Mode) -> serde_json::Value {
        preset_value(&GradCheckPreset::for_mode(mode))
    }

    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: GradCheckPreset = ctx.preset()?;
        ctx.set_work((OPS.len() * p.directions) as u64);
        let mut rng = ctx.rng(0);
        let names = [
            "VJP (reverse mode)",
            "JVP (forward mode)",
            "HVP (reverse over reverse)",
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
            "Distribution of log10 relative errors of all VJP, JVP and HVP checks; dashed: the 1e-6 pass threshold.",
            |path| hist.save_svg(path),
        )?;
        let note = format!(
            "Inputs: [3, 4] standard normal (positive ops: |N| + 0.5; inverse and slogdet: 3I + 0.5 N on [3, 3]); ε = {:.0e}; relative error = ‖autodiff − FD‖∞ / max(‖FD‖∞, 1e-3). flow-core's `testing` gradient checker will replace this local one once it lands.",
            p.step
        );
        Ok(Outcome {
            tables,
            figures: Vec::new(),
            notes: vec![note],
        })
    }
}
