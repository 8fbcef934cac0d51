//! The layers of the E(n)-equivariant graph network: invariant message passing (GCL) and the
//! equivariant coordinate update, on a fully connected graph without self-edges.
//!
//! References: Satorras et al. 2021 (arXiv:2102.09844), Eqs. (3)–(6); the EDM variant
//! (Hoogeboom et al. 2022, arXiv:2203.17003) used by E(3)-FFF (arXiv:2310.16624, §5.2).

use flow_core::nn::{Activation, Init, Linear, LinearConfig, Mlp, MlpConfig, Module, Param};
use flow_core::{DType, Tensor};
use rand::Rng;

/// The edges `(row, col)` of the complete graph on `n` nodes without self-loops.
pub(crate) fn complete_graph(n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut row = Vec::with_capacity(n * n.saturating_sub(1));
    let mut col = Vec::with_capacity(row.capacity());
    for i in 0..n {
        for j in 0..n {
            if i != j {
                row.push(i);
                col.push(j);
            }
        }
    }
    (row, col)
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

    /// `h`: `[B, N, H]`; `edge_attr`: `[B, E, F]`.
    pub fn forward(&self, h: &Tensor, edge_attr: &Tensor, graph: &Graph) -> Tensor {
        let input = Tensor::concat(
            &[
                &h.index_select(1, &graph.row),
                &h.index_select(1, &graph.col),
                edge_attr,
            ],
            2,
        );
        let mut m = self.edge_mlp.forward(&input).silu();
        if let Some(att) = &self.attention {
            m = m.mul(&att.forward(&m).sigmoid());
        }
        let agg = m
            .index_add(1, &graph.row, graph.nodes)
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

    /// `x`: `[B, N, D]`; `coord_diff`: normalised `[B, E, D]`.
    pub fn forward(
        &self,
        h: &Tensor,
        x: &Tensor,
        coord_diff: &Tensor,
        edge_attr: &Tensor,
        graph: &Graph,
    ) -> Tensor {
        let input = Tensor::concat(
            &[
                &h.index_select(1, &graph.row),
                &h.index_select(1, &graph.col),
                edge_attr,
            ],
            2,
        );
        let phi = self.head.forward(&self.mlp.forward(&input).silu());
        let trans = coord_diff.mul(&phi);
        let agg = trans
            .index_add(1, &graph.row, graph.nodes)
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

/// The fully connected graph and the aggregation constants.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub nodes: usize,
    pub row: Vec<usize>,
    pub col: Vec<usize>,
    /// Sums over neighbours are divided by this (EDM: 100).
    pub normalization: f64,
    /// `c` in `(x_i − x_j)/(‖x_i − x_j‖ + c)` (EDM: 1).
    pub norm_constant: f64,
}

impl Graph {
    /// Squared distances `[B, E, 1]` and normalised differences `[B, E, D]` of `x` `[B, N, D]`.
    pub fn geometry(&self, x: &Tensor) -> (Tensor, Tensor) {
        let diff = x
            .index_select(1, &self.row)
            .sub(&x.index_select(1, &self.col));
        let radial = diff.square().sum_axis(2, true);
        let norm = radial.add_scalar(1e-8).sqrt();
        let unit = diff.div(&norm.add_scalar(self.norm_constant));
        (radial, unit)
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
        let edge_attr = Tensor::concat(&[&radial, radial0], 2);
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
