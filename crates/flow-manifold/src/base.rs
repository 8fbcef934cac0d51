//! Base distributions on a manifold: the uniform distribution and a learnable von
//! Mises–Fisher mixture on `S^n`.
//!
//! References: arXiv:2312.09852, §5 (uniform bases; 5-mode vMF mixture with learnable
//! locations, concentrations and weights for the Earth data); the official
//! `von_mises_fisher.py` (initialisation: uniform locations, κ = √2 · modes, equal logits).

use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor, no_grad};
use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution};
use std::rc::Rc;

use crate::bessel::{dlog_vmf_normaliser, log_vmf_normaliser};
use crate::manifold::{Manifold, Sphere, gaussian_vec};

/// A density on a manifold, with respect to its Riemannian volume.
pub trait ManifoldDensity: std::fmt::Debug {
    /// Width of one point (the ambient dimension m).
    fn event_dim(&self) -> usize;
    /// `log p(z)` per row, `[batch]`, recorded on the tape (in z and the parameters).
    fn log_prob(&self, z: &Tensor) -> Tensor;
    /// `n` independent draws, `[n, m]`, without a tape.
    fn sample(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor;
    /// Learnable parameters (none by default).
    fn parameters(&self) -> Vec<Param> {
        Vec::new()
    }
}

/// The uniform distribution `p = 1/vol(M)` on a manifold.
///
/// ```
/// use flow_manifold::{ManifoldDensity, Sphere, Uniform};
/// use flow_core::{DType, Tensor};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let u = Uniform::new(std::rc::Rc::new(Sphere::new(2)));
/// let z = u.sample(3, DType::F64, &mut rng);
/// let lp = u.log_prob(&z).to_vec_f64();
/// assert!((lp[0] + (4.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Uniform {
    manifold: Rc<dyn Manifold>,
}

impl Uniform {
    /// The uniform distribution on `manifold`.
    pub fn new(manifold: Rc<dyn Manifold>) -> Uniform {
        Uniform { manifold }
    }
}

impl ManifoldDensity for Uniform {
    fn event_dim(&self) -> usize {
        self.manifold.ambient_dim()
    }
    fn log_prob(&self, z: &Tensor) -> Tensor {
        Tensor::full(&[z.dim(0)], -self.manifold.log_volume(), z.dtype())
    }
    fn sample(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        self.manifold.sample_uniform(n, dtype, rng)
    }
}

/// A mixture of K von Mises–Fisher distributions on `S^{d−1} ⊂ R^d` with learnable unit
/// locations `μ_k = loc_k/‖loc_k‖`, concentrations `κ_k = exp(log_kappa_k)` and weights
/// `softmax(logits)`:
/// `log p(z) = logsumexp_k [log w_k + log C_d(κ_k) + κ_k μ_kᵀ z]`.
///
/// The exact normaliser `log C_d(κ)` ([`log_vmf_normaliser`]) is evaluated in f64 and enters
/// the tape as `c(κ₀) + c'(κ₀)(κ − κ₀)` with `κ₀ = sg(κ)`: exact value and first derivative
/// (training needs no second κ-derivative).
#[derive(Clone, Debug)]
pub struct VmfMixture {
    d: usize,
    loc: Param,
    log_kappa: Param,
    logits: Param,
}

impl VmfMixture {
    /// A mixture with given locations (rows, normalised), concentrations and weights.
    ///
    /// # Panics
    /// If the lengths disagree, a concentration is not positive, or a weight not positive.
    pub fn new(
        prefix: &str,
        locations: &[Vec<f64>],
        kappas: &[f64],
        weights: &[f64],
        dtype: DType,
    ) -> VmfMixture {
        let k = locations.len();
        assert!(
            k > 0 && kappas.len() == k && weights.len() == k,
            "VmfMixture::new: {k} locations, {} κ, {} weights",
            kappas.len(),
            weights.len()
        );
        let d = locations[0].len();
        assert!(
            kappas.iter().all(|k| *k > 0.0) && weights.iter().all(|w| *w > 0.0),
            "VmfMixture::new: κ and weights must be positive"
        );
        let flat: Vec<f64> = locations.iter().flatten().copied().collect();
        assert_eq!(flat.len(), k * d, "VmfMixture::new: ragged locations");
        let param = |name: &str, v: Vec<f64>, shape: &[usize]| {
            Param::new(
                flow_core::nn::join_name(prefix, name),
                Tensor::from_vec(v, shape).to_dtype(dtype),
            )
        };
        VmfMixture {
            d,
            loc: param("loc", flat, &[k, d]),
            log_kappa: param("log_kappa", kappas.iter().map(|k| k.ln()).collect(), &[k]),
            logits: param("logits", weights.iter().map(|w| w.ln()).collect(), &[k]),
        }
    }

    /// The official initialisation on `S^n`: `modes` uniform locations, κ = √2 · modes, equal
    /// weights.
    pub fn init_official(
        prefix: &str,
        n: usize,
        modes: usize,
        dtype: DType,
        rng: &mut dyn Rng,
    ) -> VmfMixture {
        let locs = Sphere::new(n)
            .sample_uniform(modes, DType::F64, rng)
            .to_vec_f64();
        let locations: Vec<Vec<f64>> = locs.chunks(n + 1).map(<[f64]>::to_vec).collect();
        let kappa = 2f64.sqrt() * modes as f64;
        VmfMixture::new(
            prefix,
            &locations,
            &vec![kappa; modes],
            &vec![1.0; modes],
            dtype,
        )
    }

    /// Current unit locations `[K, d]`, κ `[K]` and weights `[K]` as f64 vectors.
    pub fn components(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        no_grad(|| {
            let loc = self.loc.get().to_dtype(DType::F64);
            let mu = loc.div(&loc.norm(1, true)).to_vec_f64();
            let kappa = self
                .log_kappa
                .get()
                .to_vec_f64()
                .iter()
                .map(|l| l.exp())
                .collect();
            let w = self
                .logits
                .get()
                .to_dtype(DType::F64)
                .softmax(0)
                .to_vec_f64();
            (mu, kappa, w)
        })
    }

    /// `log C_d(κ_k)` on the tape: exact value, exact first derivative (see the type docs).
    fn log_normaliser(&self, kappa: &Tensor) -> Tensor {
        let k0 = kappa.to_vec_f64();
        let value: Vec<f64> = k0.iter().map(|k| log_vmf_normaliser(self.d, *k)).collect();
        let slope: Vec<f64> = k0.iter().map(|k| dlog_vmf_normaliser(self.d, *k)).collect();
        let (n, dt) = (k0.len(), kappa.dtype());
        let value = Tensor::from_vec(value, &[n]).to_dtype(dt);
        let slope = Tensor::from_vec(slope, &[n]).to_dtype(dt);
        value.add(&kappa.sub(&kappa.detach()).mul(&slope))
    }
}

/// One vMF draw on `S^{d−1}` around unit `mu` (Wood 1994, rejection for `w = μᵀx`).
pub fn sample_vmf(mu: &[f64], kappa: f64, rng: &mut dyn Rng) -> Vec<f64> {
    let d = mu.len();
    let dm1 = (d - 1) as f64;
    let b = dm1 / (2.0 * kappa + (4.0 * kappa * kappa + dm1 * dm1).sqrt());
    let x0 = (1.0 - b) / (1.0 + b);
    let c = kappa * x0 + dm1 * (1.0 - x0 * x0).ln();
    let beta = Beta::new(dm1 / 2.0, dm1 / 2.0).expect("valid Beta parameters");
    let w = loop {
        let z: f64 = beta.sample(rng);
        let w = (1.0 - (1.0 + b) * z) / (1.0 - (1.0 - b) * z);
        let u: f64 = rng.random();
        if kappa * w + dm1 * (1.0 - x0 * w).ln() - c >= u.ln() {
            break w;
        }
    };
    let mut v = gaussian_vec(d, rng);
    let dot: f64 = v.iter().zip(mu).map(|(a, m)| a * m).sum();
    v.iter_mut().zip(mu).for_each(|(a, m)| *a -= dot * m);
    let nv = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    let s = (1.0 - w * w).max(0.0).sqrt();
    mu.iter().zip(&v).map(|(m, a)| w * m + s * a / nv).collect()
}

impl ManifoldDensity for VmfMixture {
    fn event_dim(&self) -> usize {
        self.d
    }
    fn log_prob(&self, z: &Tensor) -> Tensor {
        assert!(
            z.ndim() == 2 && z.dim(1) == self.d,
            "VmfMixture::log_prob: z {:?} is not [batch, {}]",
            z.shape(),
            self.d
        );
        let loc = self.loc.get();
        let mu = loc.div(&loc.norm(1, true));
        let kappa = self.log_kappa.get().exp();
        let log_w = self.logits.get().log_softmax(0);
        let dots = z.matmul_transposed(&mu); // [b, K]
        let per = dots
            .mul(&kappa)
            .add(&self.log_normaliser(&kappa).add(&log_w));
        per.logsumexp(1, false)
    }
    fn sample(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        let (mu, kappa, w) = self.components();
        let mut out = Vec::with_capacity(n * self.d);
        for _ in 0..n {
            let u: f64 = rng.random();
            let (mut k, mut acc) = (w.len() - 1, 0.0);
            for (i, wi) in w.iter().enumerate() {
                acc += wi;
                if u < acc {
                    k = i;
                    break;
                }
            }
            out.extend(sample_vmf(&mu[k * self.d..(k + 1) * self.d], kappa[k], rng));
        }
        Tensor::from_vec(out, &[n, self.d]).to_dtype(dtype)
    }
    fn parameters(&self) -> Vec<Param> {
        vec![
            self.loc.clone(),
            self.log_kappa.clone(),
            self.logits.clone(),
        ]
    }
}

impl Module for VmfMixture {
    fn parameters(&self) -> Vec<Param> {
        ManifoldDensity::parameters(self)
    }
}
