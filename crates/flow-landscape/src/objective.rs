//! Loss surfaces in flat coordinates: the one interface NEB, AutoNEB and the Hessian tools
//! see, implemented by analytic 2-D energies and by any flow-core [`Module`](flow_core::nn::Module)
//! with a loss closure.

use flow_core::{Tensor, grad, grad_with_graph, no_grad, vjp};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::flat::FlatLayout;

/// A scalar loss `L(θ)` on `ℝⁿ` with its gradient and Hessian-vector products.
pub trait Landscape {
    /// Dimension `n` of `θ`.
    fn dim(&self) -> usize;

    /// `L(θ)`.
    fn loss(&self, theta: &[f64]) -> f64;

    /// `(L(θ), ∇L(θ))`.
    fn loss_and_grad(&self, theta: &[f64]) -> (f64, Vec<f64>);

    /// `(L_B(θ), ∇L_B(θ))` on a random minibatch `B` chosen by `seed`: what each NEB pivot's
    /// gradient uses in the official code (one minibatch per pivot and step). The default is
    /// the full-batch [`Landscape::loss_and_grad`]; see [`MinibatchLandscape`].
    fn sample_loss_and_grad(&self, theta: &[f64], seed: u64) -> (f64, Vec<f64>) {
        let _ = seed;
        self.loss_and_grad(theta)
    }

    /// `∇²L(θ) v`. The default is the central difference of gradients
    /// `(∇L(θ + hv) − ∇L(θ − hv)) / 2h` with `h = 1e-4·max(1, ‖θ‖/√n)/‖v‖` (error `O(h²)`);
    /// implementors with exact second derivatives override it.
    fn hvp(&self, theta: &[f64], v: &[f64]) -> Vec<f64> {
        fd_hvp(self, theta, v)
    }
}

/// The finite-difference Hessian-vector product used as the default of
/// [`Landscape::hvp`] and as the independent oracle for exact HVPs.
pub fn fd_hvp<L: Landscape + ?Sized>(landscape: &L, theta: &[f64], v: &[f64]) -> Vec<f64> {
    let n = theta.len() as f64;
    let vnorm = norm(v);
    if vnorm == 0.0 {
        return vec![0.0; v.len()];
    }
    let h = 1e-4 * (norm(theta) / n.sqrt()).max(1.0) / vnorm;
    let plus: Vec<f64> = theta.iter().zip(v).map(|(t, v)| t + h * v).collect();
    let minus: Vec<f64> = theta.iter().zip(v).map(|(t, v)| t - h * v).collect();
    let (_, gp) = landscape.loss_and_grad(&plus);
    let (_, gm) = landscape.loss_and_grad(&minus);
    gp.iter()
        .zip(&gm)
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect()
}

/// A module's loss as a [`Landscape`]: the closure evaluates the loss of the module whose
/// parameters `layout` holds (it captures the module; parameters are shared handles, so
/// values loaded through the layout are the ones it sees).
///
/// The HVP is exact, by reverse-over-reverse on the parameter leaves
/// (`∇_θ ⟨∇_θ L, v⟩`, the construction of [`flow_core::hvp`] applied to a parameter list).
///
/// ```
/// use flow_core::nn::{MlpConfig, Module};
/// use flow_landscape::{FlatLayout, Landscape, ModuleLandscape};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let net = MlpConfig::new(2, &[3], 1).build("f", flow_core::DType::F64, &mut rng);
/// let x = flow_core::Tensor::from_slice(&[0.5f64, -1.0], &[1, 2]);
/// let f = net.clone();
/// let obj = ModuleLandscape::new(FlatLayout::of(&net), move || f.forward(&x).square().sum_all());
/// let theta = obj.layout().read();
/// let (l, g) = obj.loss_and_grad(&theta);
/// assert!(l >= 0.0 && g.len() == net.num_parameters());
/// ```
pub struct ModuleLandscape<F: Fn() -> Tensor> {
    layout: FlatLayout,
    loss_fn: F,
}

impl<F: Fn() -> Tensor> ModuleLandscape<F> {
    /// Wraps a layout and a closure returning the scalar loss.
    pub fn new(layout: FlatLayout, loss_fn: F) -> Self {
        ModuleLandscape { layout, loss_fn }
    }

    /// The parameter layout.
    pub fn layout(&self) -> &FlatLayout {
        &self.layout
    }

    fn install(&self, theta: &[f64]) {
        self.layout
            .load(theta)
            .unwrap_or_else(|e| panic!("ModuleLandscape: {e}"));
    }
}

impl<F: Fn() -> Tensor> Landscape for ModuleLandscape<F> {
    fn dim(&self) -> usize {
        self.layout.len()
    }

    fn loss(&self, theta: &[f64]) -> f64 {
        self.install(theta);
        no_grad(|| (self.loss_fn)().item())
    }

    fn loss_and_grad(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        self.install(theta);
        let leaves = flow_core::nn::values(self.layout.params());
        let loss = (self.loss_fn)();
        let refs: Vec<&Tensor> = leaves.iter().collect();
        let g = grad(&loss, &refs);
        (loss.item(), self.layout.flatten(&g))
    }

    fn hvp(&self, theta: &[f64], v: &[f64]) -> Vec<f64> {
        self.install(theta);
        let leaves = flow_core::nn::values(self.layout.params());
        let refs: Vec<&Tensor> = leaves.iter().collect();
        let loss = (self.loss_fn)();
        let g = grad_with_graph(&loss, &refs);
        let vs = self
            .layout
            .unflatten(v)
            .unwrap_or_else(|e| panic!("ModuleLandscape::hvp: {e}"));
        let mut gv: Option<Tensor> = None;
        for (gi, vi) in g.iter().zip(&vs) {
            let term = gi.mul(vi).sum_all();
            gv = Some(match gv {
                Some(acc) => acc.add(&term),
                None => term,
            });
        }
        let Some(gv) = gv.filter(Tensor::is_tracked) else {
            return vec![0.0; v.len()];
        };
        let hv = vjp(&gv, &refs, &gv.ones_like());
        self.layout.flatten(&hv)
    }
}

/// A full-batch [`Landscape`] whose [`Landscape::sample_loss_and_grad`] evaluates a minibatch
/// loss instead: `batch_loss(rng)` builds the loss of the module on a minibatch drawn from
/// `rng` (seeded per pivot and step), so NEB follows the official stochastic schedule while
/// the dense evaluation, saddles and Hessians stay full-batch.
pub struct MinibatchLandscape<L, G> {
    full: L,
    layout: FlatLayout,
    batch_loss: G,
}

impl<L: Landscape, G: Fn(&mut Xoshiro256PlusPlus) -> Tensor> MinibatchLandscape<L, G> {
    /// Wraps the full-batch landscape `full` of the module whose parameters `layout` holds.
    pub fn new(full: L, layout: FlatLayout, batch_loss: G) -> Self {
        MinibatchLandscape {
            full,
            layout,
            batch_loss,
        }
    }
}

impl<L: Landscape, G: Fn(&mut Xoshiro256PlusPlus) -> Tensor> Landscape
    for MinibatchLandscape<L, G>
{
    fn dim(&self) -> usize {
        self.full.dim()
    }
    fn loss(&self, theta: &[f64]) -> f64 {
        self.full.loss(theta)
    }
    fn loss_and_grad(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        self.full.loss_and_grad(theta)
    }
    fn sample_loss_and_grad(&self, theta: &[f64], seed: u64) -> (f64, Vec<f64>) {
        self.layout
            .load(theta)
            .unwrap_or_else(|e| panic!("MinibatchLandscape: {e}"));
        let leaves = flow_core::nn::values(self.layout.params());
        let refs: Vec<&Tensor> = leaves.iter().collect();
        let loss = (self.batch_loss)(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        let g = grad(&loss, &refs);
        (loss.item(), self.layout.flatten(&g))
    }
    fn hvp(&self, theta: &[f64], v: &[f64]) -> Vec<f64> {
        self.full.hvp(theta, v)
    }
}

/// Euclidean norm.
pub fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

/// Inner product.
///
/// # Panics
/// If the lengths differ.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot: lengths {} vs {}", a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
