//! The M-FFF model: ambient networks followed by the projection, `f = π ∘ f̃`, `g = π ∘ g̃`.
//!
//! References: arXiv:2312.09852, §3 (networks in the embedding space, projection onto M,
//! sampling `x = π(g̃(z))` with one network evaluation).

use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor, no_grad};
use flow_freeform::Network;
use rand::Rng;
use std::rc::Rc;

use crate::base::ManifoldDensity;
use crate::manifold::Manifold;

/// A manifold free-form flow: encoder `f = π ∘ f̃` (data → latent, the density direction),
/// decoder `g = π ∘ g̃ ≈ f⁻¹` (sampling), base density `p_Z` on the same manifold.
///
/// ```
/// use flow_core::DType;
/// use flow_freeform::ResNetConfig;
/// use flow_manifold::{Manifold, ManifoldFlow, Sphere, Uniform};
/// use rand::SeedableRng;
/// use std::rc::Rc;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
/// let net = ResNetConfig::new(3, 3, &[16], 1);
/// let flow = ManifoldFlow::new(
///     s2.clone(),
///     Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
///     Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
///     Box::new(Uniform::new(s2.clone())),
/// );
/// let x = flow.sample(4, DType::F64, &mut rng); // one network evaluation + π
/// assert!(s2.distance_to_manifold(&x).to_vec_f64().iter().all(|d| *d < 1e-12));
/// ```
pub struct ManifoldFlow {
    manifold: Rc<dyn Manifold>,
    encoder: Box<dyn Network>,
    decoder: Box<dyn Network>,
    base: Box<dyn ManifoldDensity>,
}

impl std::fmt::Debug for ManifoldFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ManifoldFlow({}, {} parameters, base {:?})",
            self.manifold.name(),
            self.num_parameters(),
            self.base
        )
    }
}

impl ManifoldFlow {
    /// Builds the flow.
    ///
    /// # Panics
    /// If a network's input or output width differs from the manifold's ambient dimension.
    pub fn new(
        manifold: Rc<dyn Manifold>,
        encoder: Box<dyn Network>,
        decoder: Box<dyn Network>,
        base: Box<dyn ManifoldDensity>,
    ) -> ManifoldFlow {
        let m = manifold.ambient_dim();
        for (name, net) in [("encoder", &encoder), ("decoder", &decoder)] {
            assert!(
                net.input_dim() == m && net.output_dim() == m,
                "ManifoldFlow::new: {name} {} → {} does not match {} in R^{m}",
                net.input_dim(),
                net.output_dim(),
                manifold.name()
            );
        }
        ManifoldFlow {
            manifold,
            encoder,
            decoder,
            base,
        }
    }
    /// The manifold.
    pub fn manifold(&self) -> &dyn Manifold {
        self.manifold.as_ref()
    }
    /// The base density.
    pub fn base(&self) -> &dyn ManifoldDensity {
        self.base.as_ref()
    }
    /// The raw encoder output `f̃(x)` in `R^m`.
    pub fn encode_raw(&self, x: &Tensor) -> Tensor {
        self.encoder.forward(x, None)
    }
    /// The raw decoder output `g̃(z)` in `R^m`.
    pub fn decode_raw(&self, z: &Tensor) -> Tensor {
        self.decoder.forward(z, None)
    }
    /// `f(x) = π(f̃(x))`.
    pub fn encode(&self, x: &Tensor) -> Tensor {
        self.manifold.project(&self.encode_raw(x))
    }
    /// `g(z) = π(g̃(z))`.
    pub fn decode(&self, z: &Tensor) -> Tensor {
        self.manifold.project(&self.decode_raw(z))
    }
    /// One-step sampling `x = π(g̃(z))`, `z ~ p_Z`, without a tape: one decoder evaluation
    /// and one projection per sample.
    pub fn sample(&self, n: usize, dtype: DType, rng: &mut dyn Rng) -> Tensor {
        let z = self.base.sample(n, dtype, rng);
        no_grad(|| self.decode(&z))
    }
}

impl Module for ManifoldFlow {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.encoder.parameters();
        p.extend(self.decoder.parameters());
        p.extend(self.base.parameters());
        p
    }
}
