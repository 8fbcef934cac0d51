//! The workspace's `flow_core::distributions::Density` for the M-FFF model and the base
//! distributions, so they plug into code written for any density.

use flow_core::distributions::Density;
use flow_core::nn::Module;
use flow_core::{DType, Tensor};
use rand::{Rng, SeedableRng};

use crate::base::{ManifoldDensity, Uniform, VmfMixture};
use crate::exact::{Side, exact_log_prob};
use crate::model::ManifoldFlow;
use crate::wrapped::WrappedNormal;

fn no_condition(what: &str, condition: Option<&Tensor>) {
    assert!(
        condition.is_none(),
        "{what}: unconditional density called with a condition"
    );
}

/// `log_prob` is the exact decoder density w.r.t. the Riemannian volume (no tape; the tangent
/// bases come from a fixed seed, and any orthonormal basis gives the same value);
/// `rsample` is `π(g̃(z))` with `z` from the base, the graph to the decoder's parameters kept
/// (base draws are not reparameterised).
///
/// ```
/// use flow_core::DType;
/// use flow_core::distributions::Density;
/// use flow_freeform::ResNetConfig;
/// use flow_manifold::{Manifold, ManifoldFlow, Sphere, Uniform};
/// use rand::SeedableRng;
/// use std::rc::Rc;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let s2: Rc<dyn Manifold> = Rc::new(Sphere::new(2));
/// let net = ResNetConfig::new(3, 3, &[8], 1);
/// let flow = ManifoldFlow::new(s2.clone(),
///     Box::new(net.build_encoder("enc", DType::F64, &mut rng)),
///     Box::new(net.build_decoder("dec", DType::F64, &mut rng)),
///     Box::new(Uniform::new(s2.clone())));
/// let (x, lp) = flow.sample_and_log_prob(5, None, &mut rng);
/// assert_eq!((x.shape(), lp.shape()), (&[5, 3][..], &[5][..]));
/// ```
impl Density for ManifoldFlow {
    fn event_dim(&self) -> usize {
        self.manifold().ambient_dim()
    }
    fn log_prob(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        no_condition("ManifoldFlow::log_prob", condition);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
        exact_log_prob(self, x, Side::Decoder, 1024, &mut rng).log_prob
    }
    fn rsample(&self, n: usize, condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        no_condition("ManifoldFlow::rsample", condition);
        let dtype = self
            .parameters()
            .first()
            .map_or(DType::F64, |p| p.get().dtype());
        self.decode(&self.base().sample(n, dtype, rng))
    }
}

macro_rules! base_density {
    ($t:ty) => {
        impl Density for $t {
            fn event_dim(&self) -> usize {
                ManifoldDensity::event_dim(self)
            }
            fn log_prob(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
                no_condition(stringify!($t), condition);
                ManifoldDensity::log_prob(self, x)
            }
            /// Draws without a graph (manifold samplers are not reparameterised).
            fn rsample(&self, n: usize, condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
                no_condition(stringify!($t), condition);
                ManifoldDensity::sample(self, n, DType::F64, rng)
            }
        }
    };
}

base_density!(Uniform);
base_density!(VmfMixture);
base_density!(WrappedNormal);
