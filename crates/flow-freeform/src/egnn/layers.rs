//! The layers of the E(n)-equivariant graph network: invariant message passing (GCL) and the
//! equivariant coordinate update, on a fully connected graph without self-edges.
//!
//! References: Satorras et al. 2021 (arXiv:2102.09844), Eqs. (3)–(6); the EDM variant
//! (Hoogeboom et al. 2022, arXiv:2203.17003) used by E(3)-FFF (arXiv:2310.16624, §5.2).

use flow_core::nn::{Activation, Init, Linear, LinearConfig, Mlp, MlpConfig, Module, Param};
use flow_core::{DType, Tensor};
use rand::Rng;

use super::graph::Graph;

/// An MLP applied to the output of its first layer (computed by [`Graph::edge_linear`]):
/// activation, then the remaining layers with activations in between.
fn mlp_after_first(mlp: &Mlp, first: Tensor) -> Tensor {
    mlp.layers[1..]
        .iter()
        .fold(first, |h, layer| layer.forward(&mlp.activation.apply(&h)))
}

/// Invariant graph convolution: `m_ij = φ_e(h_i, h_j, e_ij)` (two SiLU layers), optional
/// attention gate `m_ij σ(Linear(m_ij))`, `h_i ← h_i + φ_h(h_i, Σ_j m_ij / normaliser)`.
///
/// References: EGNN arXiv:2102.09844, Eqs. (3), (5), (6).
#[derive(Clone, Debug)]
pub(crate) struct Gcl {
    edge_mlp: Mlp,
    attention: Option<Linear>,
    node_mlp: Mlp,
}

impl Gcl {
    pub fn new<R: Rng + ?Sized>(
        prefix: &str,
        hidden: usize,
        edge_features: usize,
        attention: bool,
        dtype: DType,
        rng: &mut R,
    ) -> Gcl {
        // Two layers, each followed by SiLU: an MLP with a trailing activation.
        let edge_mlp = MlpConfig::new(2 * hidden + edge_features, &[hidden], hidden).build(
            &format!("{prefix}.edge_mlp"),
            dtype,
            rng,
        );
        let attention = attention
            .then(|| LinearConfig::new(hidden, 1).build(&format!("{prefix}.att_mlp"), dtype, rng));
        let node_mlp = MlpConfig::new(2 * hidden, &[hidden], hidden).build(
            &format!("{prefix}.node_mlp"),
            dtype,
            rng,
        );
        Gcl {
            edge_mlp,
            attention,
            node_mlp,
        }
    }

    /// `h`: `[B, N, H]`; `edge_attr`: per edge, in the graph's layout.
    pub fn forward(&self, h: &Tensor, edge_attr: &Tensor, graph: &Graph) -> Tensor {
        let first = graph.edge_linear(&self.edge_mlp.layers[0], h, edge_attr);
        let m = mlp_after_first(&self.edge_mlp, first).silu();
        let gate = self.attention.as_ref().map(|att| att.forward(&m).sigmoid());
        let agg = graph
            .aggregate(&m, gate.as_ref())
            .mul_scalar(1.0 / graph.normalization);
        h.add(&self.node_mlp.forward(&Tensor::concat(&[h, &agg], 2)))
    }
}

impl Module for Gcl {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.edge_mlp.parameters();
        p.extend(self.attention.iter().flat_map(Module::parameters));
        p.extend(self.node_mlp.parameters());
        p
    }
}

/// Equivariant coordinate update
/// `x_i ← x_i + Σ_j (x_i − x_j)/(‖x_i − x_j‖ + c) · φ_x(h_i, h_j, e_ij) / normaliser`, with
/// `φ_x` = Linear, SiLU, Linear, SiLU, Linear(H → 1, no bias, xavier gain 0.001).
///
/// References: EGNN arXiv:2102.09844, Eq. (4); EDM's `EquivariantUpdate`.
#[derive(Clone, Debug)]
pub(crate) struct CoordUpdate {
    mlp: Mlp,
    head: Linear,
}

impl CoordUpdate {
    pub fn new<R: Rng + ?Sized>(
        prefix: &str,
        hidden: usize,
        edge_features: usize,
        gain: f64,
        dtype: DType,
        rng: &mut R,
    ) -> CoordUpdate {
        let mlp = MlpConfig::new(2 * hidden + edge_features, &[hidden], hidden)
            .with_activation(Activation::Silu)
            .build(&format!("{prefix}.coord_mlp"), dtype, rng);
        let head = LinearConfig::new(hidden, 1)
            .with_bias(false)
            .with_init(Init::XavierUniform)
            .build(&format!("{prefix}.coord_head"), dtype, rng);
        // Xavier uniform with a gain (0.001 in EDM): a tiny initial coordinate update.
        head.weight.set(head.weight.get().mul_scalar(gain));
        CoordUpdate { mlp, head }
    }

    /// `x`: `[B, N, D]`; `coord_diff` (normalised) and `edge_attr`: per edge, in the graph's
    /// layout.
    pub fn forward(
        &self,
        h: &Tensor,
        x: &Tensor,
        coord_diff: &Tensor,
        edge_attr: &Tensor,
        graph: &Graph,
    ) -> Tensor {
        let first = graph.edge_linear(&self.mlp.layers[0], h, edge_attr);
        let phi = self.head.forward(&mlp_after_first(&self.mlp, first).silu());
        let agg = graph
            .aggregate(&coord_diff.mul(&phi), None)
            .mul_scalar(1.0 / graph.normalization);
        x.add(&agg)
    }
}

impl Module for CoordUpdate {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.mlp.parameters();
        p.extend(self.head.parameters());
        p
    }
}

/// One equivariant block: `inv_sublayers` GCLs on `[‖·‖²_current, ‖·‖²_initial]` edge features,
/// then a coordinate update.
#[derive(Clone, Debug)]
pub(crate) struct EquivariantBlock {
    pub gcls: Vec<Gcl>,
    pub update: CoordUpdate,
}

impl EquivariantBlock {
    pub fn forward(
        &self,
        h: Tensor,
        x: Tensor,
        radial0: &Tensor,
        graph: &Graph,
    ) -> (Tensor, Tensor) {
        let (radial, unit) = graph.geometry(&x);
        let edge_attr = Tensor::concat(&[&radial, radial0], radial.ndim() - 1);
        let mut h = h;
        for gcl in &self.gcls {
            h = gcl.forward(&h, &edge_attr, graph);
        }
        let x = self.update.forward(&h, &x, &unit, &edge_attr, graph);
        (h, x)
    }
}

impl Module for EquivariantBlock {
    fn parameters(&self) -> Vec<Param> {
        let mut p: Vec<Param> = self.gcls.iter().flat_map(Module::parameters).collect();
        p.extend(self.update.parameters());
        p
    }
}
