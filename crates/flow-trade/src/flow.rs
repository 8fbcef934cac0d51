//! The parameter-aware conditional flow `q_θ(x | c)` of TRADE (arXiv 2410.19492, §3 and
//! App. B; `trade.md` §2.1): a coupling flow whose every subnet sees the embedding `log c`
//! (optionally through a small MLP), an optional `c`-dependent final affine layer, and an
//! optional latent scaled with the parameter, `z ~ N(0, v(c)·I)`:
//!
//! `log q_θ(x | c) = log N(g(f(x; log c); c); 0, v(c) I) + log|det ∂f/∂x| + log|det ∂g/∂z|`,
//!
//! with `f` the coupling stack, `g(z; c) = (z − t(log c)) ⊙ exp(−s(log c))` the final affine
//! layer, `v(c) = c` (temperature), `1/c` (inverse temperature) or 1.
//!
//! `∂_c log q_θ(x | c)` per sample ([`ParamFlow::log_prob_and_dc`]) is computed by forward
//! mode in `c`: the tangent `1` rides along every path by which `c` enters (embedding,
//! subnets, final affine, latent scale), and since flow-core records tangent ops, the result
//! stays differentiable in θ (forward-over-reverse, `trade.md` §1.7).

use std::f64::consts::PI;

use flow_core::nn::{Mlp, Module, Param};
use flow_core::{DType, Tensor, make_dual, no_grad};
use flow_coupling::{Bijection, Flow};
use rand::{Rng, RngExt};

pub use crate::flow_config::{Architecture, LatentScale, ParamFlowConfig};

/// A normalizing flow `q_θ(x | c)` over a positive scalar parameter `c` (see module docs).
///
/// ```
/// use flow_core::{DType, Tensor};
/// use flow_trade::ParamFlowConfig;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let q = ParamFlowConfig::affine(2, 2, &[8]).build(DType::F64, &mut rng);
/// let x = Tensor::randn(&[4, 2], DType::F64, &mut rng);
/// let c = Tensor::from_vec(vec![0.5f64, 1.0, 1.5, 2.0], &[4]);
/// // A fresh flow is the identity with latent N(0, cI): ∂_c log q = |x|²/(2c²) − d/(2c).
/// let (_, dc) = q.log_prob_and_dc(&x, &c);
/// let xs = x.to_vec_f64();
/// for (i, (g, c)) in dc.to_vec_f64().iter().zip([0.5, 1.0, 1.5, 2.0]).enumerate() {
///     let r2 = xs[2 * i].powi(2) + xs[2 * i + 1].powi(2);
///     assert!((g - (r2 / (2.0 * c * c) - 1.0 / c)).abs() < 1e-12);
/// }
/// ```
pub struct ParamFlow {
    pub(crate) flow: Flow,
    pub(crate) final_affine: Option<Mlp>,
    pub(crate) conditional: bool,
    pub(crate) latent: LatentScale,
    pub(crate) z2: bool,
    pub(crate) dim: usize,
    pub(crate) dtype: DType,
}

impl ParamFlow {
    /// Event dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Parameter dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The latent scaling.
    pub fn latent(&self) -> LatentScale {
        self.latent
    }

    /// The coupling stack.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    fn check_c(&self, n: usize, c: &Tensor) {
        assert!(
            c.ndim() == 1 && c.dim(0) == n,
            "ParamFlow: expected c of shape [{n}], got {:?}",
            c.shape()
        );
    }

    /// `log c` as the `[n, 1]` condition of the couplings.
    fn condition(&self, c: &Tensor) -> Option<Tensor> {
        self.conditional.then(|| c.log().unsqueeze(1))
    }

    /// `(s, t)` of the final affine layer, each `[n, dim]`.
    fn affine_params(&self, mlp: &Mlp, c: &Tensor) -> (Tensor, Tensor) {
        let out = mlp.forward(&c.log().unsqueeze(1));
        (
            out.narrow(1, 0, self.dim),
            out.narrow(1, self.dim, self.dim),
        )
    }

    /// Latent variance `v(c)`, `[n]`.
    fn variance(&self, c: &Tensor) -> Option<Tensor> {
        match self.latent {
            LatentScale::None => None,
            LatentScale::Temperature => Some(c.clone()),
            LatentScale::InverseTemperature => Some(c.powf(-1.0)),
        }
    }

    /// `log N(z; 0, v(c) I)`, `[n]`.
    fn latent_log_prob(&self, z: &Tensor, c: &Tensor) -> Tensor {
        let d = self.dim as f64;
        let sq = z.square().sum_axis(1, false);
        let norm = -0.5 * d * (2.0 * PI).ln();
        match self.variance(c) {
            None => sq.mul_scalar(-0.5).add_scalar(norm),
            Some(v) => sq
                .div(&v)
                .mul_scalar(-0.5)
                .sub(&v.log().mul_scalar(0.5 * d))
                .add_scalar(norm),
        }
    }

    /// `log q_θ(x | c)` per sample, `[n]`; `x: [n, dim]`, `c: [n]` (positive).
    ///
    /// # Panics
    /// If the shapes do not match.
    pub fn log_prob(&self, x: &Tensor, c: &Tensor) -> Tensor {
        if !self.z2 {
            return self.log_prob_unsymmetrised(x, c);
        }
        // log(½e^a + ½e^b) = max(a, b) + softplus(−|a − b|) − ln 2.
        let a = self.log_prob_unsymmetrised(x, c);
        let b = self.log_prob_unsymmetrised(&x.neg(), c);
        a.maximum(&b)
            .add(&a.sub(&b).abs().neg().softplus())
            .add_scalar(-std::f64::consts::LN_2)
    }

    /// `log q̃_θ(x | c)` of the coupling stack before any symmetrisation.
    fn log_prob_unsymmetrised(&self, x: &Tensor, c: &Tensor) -> Tensor {
        self.check_c(x.dim(0), c);
        let cond = self.condition(c);
        let (mut z, mut ladj) = self.flow.forward_and_ladj(x, cond.as_ref());
        if let Some(mlp) = &self.final_affine {
            let (s, t) = self.affine_params(mlp, c);
            z = z.sub(&t).mul(&s.neg().exp());
            ladj = ladj.sub(&s.sum_axis(1, false));
        }
        self.latent_log_prob(&z, c).add(&ladj)
    }

    /// `(log q_θ(x | c), ∂_c log q_θ(x | c))` per sample, both `[n]`, by forward mode in `c`
    /// (tangent 1 per sample). Both stay differentiable in θ; `x` and `c` should be detached.
    ///
    /// # Panics
    /// As [`ParamFlow::log_prob`].
    pub fn log_prob_and_dc(&self, x: &Tensor, c: &Tensor) -> (Tensor, Tensor) {
        let cd = make_dual(&c.detach(), &c.ones_like());
        let lp = self.log_prob(x, &cd);
        let dc = lp.tangent().unwrap_or_else(|| lp.zeros_like());
        (lp.primal(), dc)
    }

    /// `n` samples at parameters `c: [n]` and their log-density, reparameterised (gradients
    /// reach θ): `z ~ N(0, v(c) I)`, `x = f⁻¹(g⁻¹(z))`.
    ///
    /// # Panics
    /// If `c` is not `[n]`.
    pub fn sample_and_log_prob<R: Rng + ?Sized>(
        &self,
        c: &Tensor,
        rng: &mut R,
    ) -> (Tensor, Tensor) {
        let n = c.dim(0);
        self.check_c(n, c);
        let eps = Tensor::randn(&[n, self.dim], self.dtype, rng);
        let z = match self.variance(c) {
            None => eps,
            Some(v) => eps.mul(&v.sqrt().unsqueeze(1)),
        };
        let base = self.latent_log_prob(&z, c);
        let (mut h, mut ladj_total) = (z, Tensor::zeros(&[n], self.dtype));
        if let Some(mlp) = &self.final_affine {
            let (s, t) = self.affine_params(mlp, c);
            h = h.mul(&s.exp()).add(&t);
            ladj_total = s.sum_axis(1, false);
        }
        let cond = self.condition(c);
        let (x, ladj) = self.flow.inverse_and_ladj(&h, cond.as_ref());
        if self.z2 {
            // x = s·x̃ with a random sign per sample; log q(x) by the symmetrised density.
            let signs: Vec<f64> = (0..n)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                .collect();
            let s = Tensor::from_vec(signs, &[n, 1]).to_dtype(self.dtype);
            let x = x.mul(&s);
            let lq = self.log_prob(&x, c);
            return (x, lq);
        }
        // log q(x) = log p(z) − log|det ∂x/∂z|.
        (x, base.sub(&ladj.add(&ladj_total)))
    }

    /// `n` detached samples at `c: [n]` with their detached log-density (no graph).
    pub fn sample_detached<R: Rng + ?Sized>(&self, c: &Tensor, rng: &mut R) -> (Tensor, Tensor) {
        no_grad(|| {
            let (x, lq) = self.sample_and_log_prob(&c.detach(), rng);
            (x.detach(), lq.detach())
        })
    }
}

impl Module for ParamFlow {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.flow.parameters();
        if let Some(m) = &self.final_affine {
            p.extend(m.parameters());
        }
        p
    }
}
