//! [`Flow`]: a base distribution (standard normal unless set) and a stack of bijections.

use flow_core::distributions::{Base, BaseConfig, Density, StandardNormal};
use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor, no_grad};
use rand::Rng;

use crate::bijection::{Bijection, check_input};

/// A normalizing flow `p(x | c) = p_Z(f(x; c)) · |det ∂f/∂x|`, with
/// `f = f_L ∘ ⋯ ∘ f_1` (layer 0 sees the data first) and a base `p_Z` that is `N(0, I)`
/// unless [`Flow::with_base`] sets another (a learnable one trains with the layers).
///
/// The condition (if the flow declares one) is routed to the conditional layers only; the
/// others never see it. A `Flow` is itself a [`Bijection`], so flows nest.
///
/// ```
/// use flow_coupling::{RealNvpConfig, Flow};
/// use flow_core::{DType, Tensor};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let flow = RealNvpConfig::new(2).build(DType::F64, &mut rng);
/// let x = Tensor::randn(&[5, 2], DType::F64, &mut rng);
/// // A fresh flow is the identity, so log p(x) is the standard normal's.
/// let lp = flow.log_prob(&x, None);
/// let expected = flow_core::distributions::StandardNormal::new(2).log_prob(&x);
/// assert!(lp.sub(&expected).abs().max_axis(0, false).item() < 1e-12);
/// ```
pub struct Flow {
    layers: Vec<Box<dyn Bijection>>,
    base: Box<dyn Base>,
    dim: usize,
    cond_dim: Option<usize>,
    dtype: DType,
}

impl Flow {
    /// A flow on `dim` features from `layers` (applied in order in the forward direction).
    /// The flow's condition width is the one its conditional layers declare.
    ///
    /// # Panics
    /// If a layer's dimension differs from `dim`, or conditional layers declare different
    /// condition widths.
    pub fn new(dim: usize, dtype: DType, layers: Vec<Box<dyn Bijection>>) -> Flow {
        let mut cond_dim = None;
        for (i, layer) in layers.iter().enumerate() {
            assert_eq!(
                layer.dim(),
                dim,
                "Flow: layer {i} ({}) has dim {}, expected {dim}",
                layer.name(),
                layer.dim()
            );
            if let Some(k) = layer.cond_dim() {
                assert!(
                    cond_dim.is_none_or(|c| c == k),
                    "Flow: layer {i} ({}) declares condition width {k}, others {cond_dim:?}",
                    layer.name()
                );
                cond_dim = Some(k);
            }
        }
        Flow {
            layers,
            base: Box::new(StandardNormal::new(dim).with_dtype(dtype)),
            dim,
            cond_dim,
            dtype,
        }
    }

    /// Replaces the base distribution by the one `config` names (learnable parameters are
    /// named `base.*`; `rng` initialises mixture means).
    ///
    /// # Panics
    /// If `config` is invalid ([`BaseConfig::validate`]).
    pub fn with_base<R: Rng + ?Sized>(mut self, config: &BaseConfig, rng: &mut R) -> Flow {
        self.base = config.build(self.dim, self.dtype, rng);
        self
    }

    /// The base distribution.
    pub fn base(&self) -> &dyn Base {
        self.base.as_ref()
    }

    /// The layers, in forward order.
    pub fn layers(&self) -> &[Box<dyn Bijection>] {
        &self.layers
    }

    /// The dtype of parameters and samples.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    fn route<'a>(layer: &dyn Bijection, cond: Option<&'a Tensor>) -> Option<&'a Tensor> {
        if layer.cond_dim().is_some() {
            cond
        } else {
            None
        }
    }

    /// `log p(x | c)` per sample, `[batch]`: `log N(f(x); 0, I) + log |det ∂f/∂x|`.
    ///
    /// # Panics
    /// If `x` is not `[batch, dim]` or the condition does not match (see [`check_input`]).
    pub fn log_prob(&self, x: &Tensor, cond: Option<&Tensor>) -> Tensor {
        let (z, ladj) = self.forward_and_ladj(x, cond);
        self.base.log_prob(&z, None).add(&ladj)
    }

    /// `n` samples `x = f⁻¹(z)`, `z ~ N(0, I)`; `cond` must be `[n, cond_dim]` for a
    /// conditional flow. Gradients flow to the parameters (reparameterised).
    ///
    /// # Panics
    /// If the condition does not match.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, cond: Option<&Tensor>, rng: &mut R) -> Tensor {
        let z = self.base.rsample(n, None, &mut &mut *rng);
        self.inverse(&z, cond)
    }

    /// `n` samples and their log-density under the flow, `log q(x) = log N(z) − log |det ∂x/∂z|`,
    /// in one pass (reparameterised: the reverse-KL objective).
    ///
    /// # Panics
    /// If the condition does not match.
    pub fn sample_and_log_prob<R: Rng + ?Sized>(
        &self,
        n: usize,
        cond: Option<&Tensor>,
        rng: &mut R,
    ) -> (Tensor, Tensor) {
        let z = self.base.rsample(n, None, &mut &mut *rng);
        let (x, ladj) = self.inverse_and_ladj(&z, cond);
        (x, self.base.log_prob(&z, None).sub(&ladj))
    }

    /// Data-dependent initialisation: pushes `x` through the layers without recording,
    /// letting each layer (ActNorm) set itself from the batch it receives.
    ///
    /// # Panics
    /// If `x` or the condition has the wrong shape.
    pub fn initialize(&self, x: &Tensor, cond: Option<&Tensor>) {
        check_input("Flow", self.dim, self.cond_dim, x, cond);
        no_grad(|| {
            let mut h = x.detach();
            for layer in &self.layers {
                let c = Flow::route(layer.as_ref(), cond);
                layer.initialize(&h, c);
                h = layer.forward(&h, c).detach();
            }
        });
    }
}

impl Module for Flow {
    fn parameters(&self) -> Vec<Param> {
        let mut params: Vec<Param> = self.layers.iter().flat_map(|l| l.parameters()).collect();
        params.extend(self.base.parameters());
        params
    }
}

impl Density for Flow {
    fn event_dim(&self) -> usize {
        self.dim
    }
    fn log_prob(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        Flow::log_prob(self, x, condition)
    }
    fn rsample(&self, n: usize, condition: Option<&Tensor>, rng: &mut dyn Rng) -> Tensor {
        Flow::sample(self, n, condition, rng)
    }
    fn sample_and_log_prob(
        &self,
        n: usize,
        condition: Option<&Tensor>,
        rng: &mut dyn Rng,
    ) -> (Tensor, Tensor) {
        Flow::sample_and_log_prob(self, n, condition, rng)
    }
}

impl Bijection for Flow {
    fn name(&self) -> &str {
        "Flow"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn cond_dim(&self) -> Option<usize> {
        self.cond_dim
    }

    fn forward_and_ladj(&self, x: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("Flow", self.dim, self.cond_dim, x, cond);
        let mut h = x.clone();
        let mut total = Tensor::zeros(&[x.dim(0)], x.dtype());
        for layer in &self.layers {
            let (next, ladj) = layer.forward_and_ladj(&h, Flow::route(layer.as_ref(), cond));
            h = next;
            total = total.add(&ladj);
        }
        (h, total)
    }

    fn inverse_and_ladj(&self, z: &Tensor, cond: Option<&Tensor>) -> (Tensor, Tensor) {
        check_input("Flow", self.dim, self.cond_dim, z, cond);
        let mut h = z.clone();
        let mut total = Tensor::zeros(&[z.dim(0)], z.dtype());
        for layer in self.layers.iter().rev() {
            let (next, ladj) = layer.inverse_and_ladj(&h, Flow::route(layer.as_ref(), cond));
            h = next;
            total = total.add(&ladj);
        }
        (h, total)
    }

    fn initialize(&self, x: &Tensor, cond: Option<&Tensor>) {
        Flow::initialize(self, x, cond);
    }

    fn buffers(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().flat_map(|l| l.buffers()).collect()
    }
}
