//! The fully connected particle graph of the EGNN in two memory layouts, with the three
//! layout-dependent operations of a layer: edge geometry, the first (edge-input) linear layer
//! of an edge MLP, and the sum over neighbours.
//!
//! - **Dense** (default): each node's `N − 1` neighbours as `[B, N, N−1, ·]`, flattened to
//!   `[B·N·(N−1), ·]` for the matrix products. The edge-input layer `W [h_i, h_j, e_ij] + b` is
//!   split by linearity into `(W_i h_i + b) + W_j h_j + W_e e_ij`, so the two `H × H` products
//!   run on the `B·N` node rows; the `i` term is broadcast over neighbours, the `j` term is
//!   gathered, and neighbour sums are reductions over the neighbour axis. For small systems
//!   (DW4: 12 edges) this is several times cheaper than gathering per edge. (An all-pairs
//!   `[B, N, N, ·]` layout with a masked diagonal needs no gather, but spends `N/(N−1)` times
//!   the edge work: a third more for DW4; it measured slower.)
//! - **Sparse**: the `N(N−1)` edges as `[B, E, ·]`, with `index_select` gathers, the literal
//!   concatenation `[h_i, h_j, e_ij]` and `index_add` scatters (EDM's `unsorted_segment_sum`).
//!   The reference implementation; both layouts compute the same function (tested).
//!
//! References: EGNN arXiv:2102.09844, Eqs. (3)–(6); EDM arXiv:2203.17003 (`EGNN`, edge mask).

use flow_core::Tensor;
use flow_core::nn::Linear;
use serde::{Deserialize, Serialize};

/// How messages are passed between particles (same function, different cost).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessagePassing {
    /// Each node's `N − 1` neighbours as dense `[B, N, N−1, ·]` tensors (fast for small N).
    #[default]
    Dense,
    /// Per-edge gather (`index_select`) and scatter (`index_add`) over the `N(N−1)` edges.
    Sparse,
}

/// The edges of the complete graph on `n` nodes without self-loops.
fn complete_graph(n: usize) -> (Vec<usize>, Vec<usize>) {
    (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .unzip()
}

#[derive(Clone, Debug)]
enum Layout {
    /// `neighbours[i·(N−1) + k]` is the `k`-th node other than `i`.
    Dense {
        neighbours: Vec<usize>,
    },
    Sparse {
        row: Vec<usize>,
        col: Vec<usize>,
    },
}

/// The fully connected graph on `nodes` particles and the aggregation constants.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub nodes: usize,
    layout: Layout,
    /// Sums over neighbours are divided by this (EDM: 100).
    pub normalization: f64,
    /// `c` in `(x_i − x_j)/(‖x_i − x_j‖ + c)` (EDM: 1).
    pub norm_constant: f64,
}

impl Graph {
    pub fn new(
        nodes: usize,
        passing: MessagePassing,
        normalization: f64,
        norm_constant: f64,
    ) -> Graph {
        let layout = match passing {
            MessagePassing::Dense => Layout::Dense {
                neighbours: complete_graph(nodes).1,
            },
            MessagePassing::Sparse => {
                let (row, col) = complete_graph(nodes);
                Layout::Sparse { row, col }
            }
        };
        Graph {
            nodes,
            layout,
            normalization,
            norm_constant,
        }
    }

    /// `t` `[B, N, F]` at each node's neighbours: `[B, N, N−1, F]` (dense layout only).
    fn at_neighbours(&self, t: &Tensor, neighbours: &[usize]) -> Tensor {
        let (b, n, f) = (t.dim(0), t.dim(1), t.dim(2));
        t.index_select(1, neighbours).reshape(&[b, n, n - 1, f])
    }

    /// Squared distances `‖x_i − x_j‖²` and normalised differences
    /// `(x_i − x_j)/(√(‖x_i − x_j‖² + 10⁻⁸) + c)` of `x` `[B, N, D]`, per edge:
    /// `[B·N·(N−1), 1]` and `[B·N·(N−1), D]` (dense) or `[B, E, 1]` and `[B, E, D]` (sparse).
    pub fn geometry(&self, x: &Tensor) -> (Tensor, Tensor) {
        let diff = match &self.layout {
            Layout::Dense { neighbours } => {
                let (b, n, d) = (x.dim(0), x.dim(1), x.dim(2));
                x.unsqueeze(2)
                    .sub(&self.at_neighbours(x, neighbours))
                    .reshape(&[b * n * (n - 1), d])
            }
            Layout::Sparse { row, col } => x.index_select(1, row).sub(&x.index_select(1, col)),
        };
        let last = diff.ndim() - 1;
        let radial = diff.square().sum_axis(last, true);
        let norm = radial.add_scalar(1e-8).sqrt();
        let unit = diff.div(&norm.add_scalar(self.norm_constant));
        (radial, unit)
    }

    /// The edge-input layer `W [h_i, h_j, e_ij] + b` of an edge MLP for `h` `[B, N, H]` and edge
    /// features `edge_attr` (as returned by the layout: `[B·N·(N−1), F]` or `[B, E, F]`).
    pub fn edge_linear(&self, layer: &Linear, h: &Tensor, edge_attr: &Tensor) -> Tensor {
        match &self.layout {
            Layout::Dense { neighbours } => {
                let (b, n, hd) = (h.dim(0), h.dim(1), h.dim(2));
                let f = edge_attr.dim(1);
                let w = layer.weight.get();
                let out = w.dim(0);
                assert_eq!(w.dim(1), 2 * hd + f, "Egnn: edge layer width");
                let h2 = h.reshape(&[b * n, hd]);
                let mut own = h2.matmul_transposed(&w.narrow(1, 0, hd));
                if let Some(bias) = &layer.bias {
                    own = own.add(&bias.get());
                }
                let other = h2.matmul_transposed(&w.narrow(1, hd, hd));
                own.reshape(&[b, n, 1, out])
                    .add(&self.at_neighbours(&other.reshape(&[b, n, out]), neighbours))
                    .reshape(&[b * n * (n - 1), out])
                    .add(&edge_attr.matmul_transposed(&w.narrow(1, 2 * hd, f)))
            }
            Layout::Sparse { row, col } => {
                let input = Tensor::concat(
                    &[&h.index_select(1, row), &h.index_select(1, col), edge_attr],
                    2,
                );
                layer.forward(&input)
            }
        }
    }

    /// `Σ_{j ≠ i} gate_ij m_ij` → `[B, N, F]` for per-edge `m` (`[B·N·(N−1), F]` or
    /// `[B, E, F]`) and an optional per-edge scalar gate of the same layout.
    pub fn aggregate(&self, m: &Tensor, gate: Option<&Tensor>) -> Tensor {
        let n = self.nodes;
        match &self.layout {
            Layout::Dense { .. } => {
                let f = m.dim(1);
                let b = m.dim(0) / (n * (n - 1));
                let gated = match gate {
                    Some(g) => m.mul(g),
                    None => m.clone(),
                };
                gated.reshape(&[b, n, n - 1, f]).sum_axis(2, false)
            }
            Layout::Sparse { row, .. } => {
                let gated = match gate {
                    Some(g) => m.mul(g),
                    None => m.clone(),
                };
                gated.index_add(1, row, n)
            }
        }
    }
}
