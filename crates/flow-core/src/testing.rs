//! Gradient checking in f64 (feature `testing`), after JAX's `check_grads`:
//!
//! - JVP against a central difference `(f(x + εt) − f(x − εt)) / 2ε` along a seeded random
//!   tangent `t`;
//! - VJP by the inner-product identity `⟨J t, c⟩ = ⟨t, Jᵀ c⟩` with a random cotangent `c`;
//! - higher orders by recursion: the VJP map `x ↦ Jᵀ(x) c` (recorded with `create_graph`) is
//!   itself checked, in reverse mode (reverse-over-reverse) and in forward mode (its JVP, a
//!   backward pass that carries tangents: forward-over-reverse) against central differences;
//!   the JVP map `x ↦ J(x) t` is checked in reverse mode (reverse-over-forward).

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::autodiff::{make_dual, vjp_with_graph};
use crate::dtype::DType;
use crate::tensor::Tensor;

/// Settings of a gradient check.
#[derive(Clone, Debug)]
pub struct GradCheck {
    /// Finite-difference step.
    pub eps: f64,
    /// Tolerance on `|a − b| / max(1, |a|, |b|)`.
    pub tol: f64,
    /// Derivative order to check (1 = JVP and VJP; 2 adds the VJP's own derivatives).
    pub order: usize,
    /// Seed of the random tangents and cotangents.
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-6,
            tol: 1e-6,
            order: 2,
            seed: 0,
        }
    }
}

/// The largest relative errors found, per check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GradCheckReport {
    /// JVP vs central difference, worst over orders.
    pub jvp_error: f64,
    /// `⟨J t, c⟩` vs `⟨t, Jᵀ c⟩`, worst over orders.
    pub vjp_error: f64,
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1.0)
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(x, y)| x * y)
        .sum()
}

type Func<'a> = dyn Fn(&[Tensor]) -> Tensor + 'a;

impl GradCheck {
    /// Checks `f` at `inputs` (all f64) and returns the worst errors.
    ///
    /// # Errors
    /// A message naming the order and the failing check when an error exceeds `tol`.
    ///
    /// # Panics
    /// If an input is not f64.
    pub fn run(&self, f: &Func, inputs: &[Tensor]) -> Result<GradCheckReport, String> {
        for x in inputs {
            assert_eq!(
                x.dtype(),
                DType::F64,
                "GradCheck: inputs must be f64, got {}",
                x.dtype()
            );
        }
        let mut report = GradCheckReport::default();
        self.check_order(f, inputs, 1, &mut report)?;
        Ok(report)
    }

    fn check_order(
        &self,
        f: &Func,
        inputs: &[Tensor],
        order: usize,
        report: &mut GradCheckReport,
    ) -> Result<(), String> {
        self.check(f, inputs, order, true, report)
    }

    /// One level: JVP (when `forward_mode`) and VJP of `f`, then recursion on the VJP map
    /// (reverse-over-reverse, and forward-over-reverse by its JVP) and the JVP map
    /// (reverse-over-forward; its own JVP would need nested tangents, which forward mode
    /// does not support, so that map is probed by finite differences).
    fn check(
        &self,
        f: &Func,
        inputs: &[Tensor],
        order: usize,
        forward_mode: bool,
        report: &mut GradCheckReport,
    ) -> Result<(), String> {
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(self.seed.wrapping_add(order as u64 * 7919));
        let inputs: Vec<Tensor> = inputs.iter().map(|x| x.detach().requires_grad()).collect();
        let tangents: Vec<Tensor> = inputs
            .iter()
            .map(|x| Tensor::randn(x.shape(), DType::F64, &mut rng))
            .collect();
        let y = f(&inputs);
        let cot = Tensor::randn(y.shape(), DType::F64, &mut rng);
        let shifted = |s: f64| -> Tensor {
            let xs: Vec<Tensor> = inputs
                .iter()
                .zip(&tangents)
                .map(|(x, t)| x.detach().add(&t.mul_scalar(s)).requires_grad())
                .collect();
            f(&xs)
        };
        let fd = shifted(self.eps)
            .sub(&shifted(-self.eps))
            .mul_scalar(0.5 / self.eps);

        let jt = if forward_mode {
            let duals: Vec<Tensor> = inputs
                .iter()
                .zip(&tangents)
                .map(|(x, t)| make_dual(x, t))
                .collect();
            let yd = f(&duals);
            let jt = yd.tangent().unwrap_or_else(|| yd.zeros_like());
            for (a, b) in jt.to_vec_f64().iter().zip(fd.to_vec_f64()) {
                let e = relative(*a, b);
                report.jvp_error = report.jvp_error.max(e);
                if e.is_nan() || e > self.tol {
                    return Err(format!(
                        "order {order}: JVP {a} vs finite difference {b} (error {e:.2e})"
                    ));
                }
            }
            jt
        } else {
            fd
        };

        // VJP by ⟨J t, c⟩ = ⟨t, Jᵀ c⟩.
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let cts = vjp_with_graph(&y, &refs, &cot);
        let lhs = dot(&jt, &cot);
        let rhs: f64 = tangents.iter().zip(&cts).map(|(t, c)| dot(t, c)).sum();
        let e = relative(lhs, rhs);
        report.vjp_error = report.vjp_error.max(e);
        if e.is_nan() || e > self.tol {
            return Err(format!(
                "order {order}: ⟨Jt, c⟩ = {lhs} vs ⟨t, Jᵀc⟩ = {rhs} (error {e:.2e})"
            ));
        }
        if order >= self.order {
            return Ok(());
        }
        let weights: Vec<Tensor> = inputs
            .iter()
            .map(|x| Tensor::randn(x.shape(), DType::F64, &mut rng))
            .collect();
        // Reverse over reverse: x ↦ Σ_i ⟨(Jᵀ c)_i, w_i⟩.
        let vjp_map = |xs: &[Tensor]| -> Tensor {
            let y = f(xs);
            let refs: Vec<&Tensor> = xs.iter().collect();
            let cts = vjp_with_graph(&y, &refs, &cot);
            cts.iter()
                .zip(&weights)
                .map(|(c, w)| c.mul(w).sum_all())
                .reduce(|a, b| a.add(&b))
                .expect("inputs")
        };
        self.check(&vjp_map, &inputs, order + 1, true, report)?;
        if forward_mode {
            // Reverse over forward: x ↦ ⟨J(x) t, c⟩, with the tangent computed by dual tensors.
            let jvp_map = |xs: &[Tensor]| -> Tensor {
                let duals: Vec<Tensor> = xs
                    .iter()
                    .zip(&tangents)
                    .map(|(x, t)| make_dual(x, t))
                    .collect();
                let yd = f(&duals);
                yd.tangent()
                    .unwrap_or_else(|| yd.zeros_like())
                    .mul(&cot)
                    .sum_all()
            };
            self.check(&jvp_map, &inputs, order + 1, false, report)?;
        }
        Ok(())
    }
}

/// Checks `f` with the default settings (ε = 1e-6, tolerance 1e-6, second order) and panics
/// with the failing check's message. For tests.
///
/// ```
/// use flow_core::{Tensor, testing::check_grads};
/// let x = Tensor::from_slice(&[0.3f64, -0.7, 1.1], &[3]);
/// check_grads(&|v: &[Tensor]| v[0].tanh().mul(&v[0]), &[x]);
/// ```
pub fn check_grads(f: &Func, inputs: &[Tensor]) -> GradCheckReport {
    GradCheck::default()
        .run(f, inputs)
        .unwrap_or_else(|e| panic!("check_grads: {e}"))
}
