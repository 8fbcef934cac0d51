//! Riemannian flow matching (RFM), the multi-step baseline of the speed claim.
//!
//! References: Chen & Lipman, "Flow Matching on General Geometries", ICLR 2024,
//! arXiv:2302.03660, §3 (geodesic conditional paths `x_t = exp_{x0}(t log_{x0} x1)` with
//! velocity `u_t = log_{x_t}(x1)/(1 − t)`, loss `‖v_θ(x_t, t) − u_t‖²`, vector field projected
//! to the tangent space, likelihood by the continuous change of variables with the Riemannian
//! divergence `div_M v = tr(Qᵀ J_v Q)`, exact or by Hutchinson's estimator).

use flow_core::nn::{Activation, Mlp, MlpConfig, Module, Param};
use flow_core::{DType, Tensor, jvp, no_grad};
use flow_freeform::exact::dense_jacobian;
use rand::{Rng, RngExt};
use std::rc::Rc;

use crate::base::ManifoldDensity;
use crate::manifold::Manifold;
use crate::tangent::{TangentScale, tangent_hutchinson};

/// A time-dependent tangent vector field `v_θ(x, t) = P_{T_x}(MLP([x, t]))` on M.
pub struct VectorField {
    manifold: Rc<dyn Manifold>,
    net: Mlp,
}

impl std::fmt::Debug for VectorField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VectorField({}, {} parameters)",
            self.manifold.name(),
            self.num_parameters()
        )
    }
}

impl VectorField {
    /// An MLP field with the given hidden widths and activation.
    pub fn new(
        manifold: Rc<dyn Manifold>,
        hidden: &[usize],
        activation: Activation,
        rng: &mut dyn Rng,
    ) -> VectorField {
        let m = manifold.ambient_dim();
        let net = MlpConfig::new(m + 1, hidden, m)
            .with_activation(activation)
            .build("field", DType::F64, rng);
        VectorField { manifold, net }
    }
    /// `v_θ(x, t)` for points `[b, m]` at one time t (recorded).
    pub fn velocity(&self, x: &Tensor, t: f64) -> Tensor {
        let tt = Tensor::full(&[x.dim(0), 1], t, x.dtype());
        self.velocity_at(x, &tt)
    }
    /// `v_θ(x, t)` with per-row times `t` (`[b, 1]`).
    pub fn velocity_at(&self, x: &Tensor, t: &Tensor) -> Tensor {
        let out = self.net.forward(&Tensor::concat(&[x, t], 1));
        self.manifold.to_tangent(x, &out)
    }
}

impl Module for VectorField {
    fn parameters(&self) -> Vec<Param> {
        self.net.parameters()
    }
}

/// The RFM loss on data `x1` (`[b, m]`): `x0 ~ base`, `t ~ U(0, 1)`,
/// `mean ‖v_θ(x_t, t) − log_{x_t}(x1)/(1 − t)‖²` (times capped at 1 − 1e-3).
pub fn rfm_loss(
    field: &VectorField,
    base: &dyn ManifoldDensity,
    x1: &Tensor,
    rng: &mut dyn Rng,
) -> Tensor {
    let m = &field.manifold;
    let b = x1.dim(0);
    let x0 = base.sample(b, DType::F64, rng);
    let ts: Vec<f64> = (0..b).map(|_| rng.random::<f64>() * (1.0 - 1e-3)).collect();
    let t = Tensor::from_vec(ts.clone(), &[b, 1]);
    let x1 = x1.detach().to_dtype(DType::F64);
    let (xt, target) = no_grad(|| {
        let xt = m.exp(&x0, &m.log(&x0, &x1).mul(&t));
        let ut = m.log(&xt, &x1).mul(&t.neg().add_scalar(1.0).recip());
        (xt, ut)
    });
    field
        .velocity_at(&xt, &t)
        .sub(&target)
        .square()
        .sum_per_sample()
        .mean_all()
}

/// Integrates `dx/dt = v_θ(x, t)` from t = 0 to 1 on M with `steps` geodesic Euler steps
/// `x ← exp_x(h v)`; returns the end points and the number of network evaluations per sample.
pub fn sample_euler(field: &VectorField, x0: &Tensor, steps: usize) -> (Tensor, usize) {
    let m = &field.manifold;
    let h = 1.0 / steps as f64;
    let x = no_grad(|| {
        (0..steps).fold(x0.clone(), |x, k| {
            let v = field.velocity(&x, k as f64 * h);
            m.exp(&x, &v.mul_scalar(h))
        })
    });
    (x, steps)
}

/// Adaptive Heun–Euler integration (embedded pair, whole batch shares the step size) with
/// absolute tolerance `tol` on the largest per-row error; returns end points and network
/// evaluations per sample.
pub fn sample_adaptive(field: &VectorField, x0: &Tensor, tol: f64) -> (Tensor, usize) {
    let m = &field.manifold;
    let (mut x, mut t, mut h, mut nfe) = (x0.clone(), 0.0f64, 0.05f64, 0usize);
    no_grad(|| {
        let mut v0 = field.velocity(&x, t);
        nfe += 1;
        while t < 1.0 - 1e-12 {
            h = h.min(1.0 - t);
            let euler = m.exp(&x, &v0.mul_scalar(h));
            let v1 = field.velocity(&euler, t + h);
            nfe += 1;
            // Heun: average the velocities (v1 transported back to x by tangent projection).
            let avg = v0.add(&m.to_tangent(&x, &v1)).mul_scalar(0.5);
            let heun = m.exp(&x, &avg.mul_scalar(h));
            let err = heun
                .sub(&euler)
                .square()
                .sum_per_sample()
                .sqrt()
                .to_vec_f64()
                .into_iter()
                .fold(0.0f64, f64::max);
            if err <= tol || h < 1e-6 {
                t += h;
                x = heun;
                v0 = field.velocity(&x, t);
                nfe += 1;
            }
            h *= (0.9 * (tol / err.max(1e-16)).sqrt()).clamp(0.2, 5.0);
        }
    });
    (x, nfe)
}

/// How [`rfm_log_prob_with`] evaluates the Riemannian divergence `div_M v = tr(Qᵀ J_v Q)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Divergence {
    /// Dense ambient Jacobians restricted to an orthonormal tangent basis (exact).
    Exact,
    /// Hutchinson's estimator `mean_k ε_kᵀ J_v ε_k` with `probes` tangent vectors of length
    /// √n (`E[εεᵀ] = P_T`, so `E[εᵀ J ε] = tr(P_T J P_T) = div_M v`), one JVP per probe:
    /// unbiased for the exact value of the same discretised integral.
    Hutchinson {
        /// Probe vectors per step and point.
        probes: usize,
    },
}

/// Exact `log p_1(x1)` of the RFM model: integrate backwards from t = 1 to 0 with `steps`
/// geodesic Euler steps, accumulating `∫ div_M v dt` with `div_M v = tr(Qᵀ J_v Q)` from dense
/// ambient Jacobians; `log p_1(x1) = log p_0(x0) − ∫_0^1 div_M v(x_t, t) dt`, `[b]` f64.
pub fn rfm_log_prob(
    field: &VectorField,
    base: &dyn ManifoldDensity,
    x1: &Tensor,
    steps: usize,
    rng: &mut dyn Rng,
) -> Tensor {
    rfm_log_prob_with(field, base, x1, steps, Divergence::Exact, rng)
}

/// `div_M v` at the rows of `x` (`[b]` f64) by the chosen method.
fn divergence(
    field: &VectorField,
    x: &Tensor,
    t: f64,
    method: Divergence,
    rng: &mut dyn Rng,
) -> Tensor {
    let (m, b) = (&field.manifold, x.dim(0));
    match method {
        Divergence::Exact => no_grad(|| {
            let f = |u: &Tensor| field.velocity(u, t);
            let j = dense_jacobian(&f, x, 4096);
            let q = m.tangent_basis(x, rng);
            let div = q.t().matmul(&j).matmul(&q);
            (0..m.dim())
                .map(|i| div.narrow(1, i, 1).narrow(2, i, 1).reshape(&[b]))
                .fold(Tensor::zeros(&[b], DType::F64), |a, d| a.add(&d))
        }),
        Divergence::Hutchinson { probes } => {
            assert!(probes > 0, "rfm divergence: Hutchinson needs ≥ 1 probe");
            let mut sum = Tensor::zeros(&[b], DType::F64);
            for _ in 0..probes {
                let eps = tangent_hutchinson(m.as_ref(), x, TangentScale::Intrinsic, rng);
                let (_, jv) = jvp(|u: &Tensor| field.velocity(u, t), &x.detach(), &eps);
                sum = sum.add(&eps.mul(&jv.detach()).sum_per_sample());
            }
            sum.mul_scalar(1.0 / probes as f64)
        }
    }
}

/// [`rfm_log_prob`] with the divergence evaluated by `method` (the path is the same
/// backward geodesic Euler integration for both, so the Hutchinson value is an unbiased
/// estimate of the exact one).
pub fn rfm_log_prob_with(
    field: &VectorField,
    base: &dyn ManifoldDensity,
    x1: &Tensor,
    steps: usize,
    method: Divergence,
    rng: &mut dyn Rng,
) -> Tensor {
    let m = &field.manifold;
    let h = 1.0 / steps as f64;
    let b = x1.dim(0);
    let mut x = x1.detach().to_dtype(DType::F64);
    let mut integral = Tensor::zeros(&[b], DType::F64);
    for k in (1..=steps).rev() {
        let t = k as f64 * h;
        let div = divergence(field, &x, t, method, rng);
        integral = integral.add(&div.mul_scalar(h));
        x = no_grad(|| m.exp(&x, &field.velocity(&x, t).mul_scalar(-h)));
    }
    no_grad(|| base.log_prob(&x).to_dtype(DType::F64).sub(&integral))
}

/// Trains the field on the rows of `data` with the workspace engine (minibatches of
/// `batch_size` drawn from each step's stream).
///
/// # Errors
/// As [`flow_core::train::Trainer::fit`].
pub fn train_rfm(
    field: &VectorField,
    base: &dyn ManifoldDensity,
    data: &Tensor,
    batch_size: usize,
    config: flow_core::train::TrainConfig,
) -> Result<flow_core::train::TrainReport, flow_core::train::TrainError> {
    let mut trainer = flow_core::train::Trainer::new(field.parameters(), config);
    trainer.resume_if_present()?;
    let n = data.dim(0);
    trainer.fit(|_, rng| {
        let idx: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..n)).collect();
        rfm_loss(field, base, &data.index_select(0, &idx), rng)
    })
}
