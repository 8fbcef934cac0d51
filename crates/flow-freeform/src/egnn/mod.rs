//! The E(n)-equivariant graph network of E(3)-FFF: EDM's `EGNN_dynamics` with a global skip,
//! `out = x + mean_free(x_L − x)`, mapping flat particle coordinates `[batch, N·D]` to the same
//! shape. Encoder and decoder are two separate copies.
//!
//! Properties (tested): equivariance to rotations, reflections, translations and particle
//! permutations; the update is mean-free, so the Jacobian is the identity along the
//! centre-of-mass directions and the full `slogdet` equals the log-det on the mean-free
//! subspace.
//!
//! Message passing runs on dense `[B, N, N−1, ·]` neighbour tensors by default
//! ([`MessagePassing::Dense`]: split edge-input layer, sums over the neighbour axis), or per
//! edge by gather and scatter ([`MessagePassing::Sparse`]); both compute the same function
//! (tested) and share the parameter layout, so checkpoints load into either.
//!
//! References: FFF arXiv:2310.16624, §5.2 (E(3)-FFF on DW4/LJ13/LJ55); EGNN arXiv:2102.09844;
//! EDM arXiv:2203.17003 (`EGNN_dynamics_QM9`, sum aggregation divided by 100, attention,
//! edge features `[‖x_i − x_j‖², ‖x_i⁰ − x_j⁰‖²]`).

mod graph;
mod layers;

use std::cell::Cell;

use flow_core::nn::{Linear, LinearConfig, Module, Param};
use flow_core::{DType, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::latent::remove_mean;
use crate::model::Network;
use graph::Graph;
pub use graph::MessagePassing;
use layers::{CoordUpdate, EquivariantBlock, Gcl};

/// Configuration of an [`Egnn`] (defaults: the FFF Boltzmann-generator settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EgnnConfig {
    /// Number of particles N.
    pub particles: usize,
    /// Spatial dimension D of each particle.
    pub spatial: usize,
    /// Hidden node features (64).
    pub hidden: usize,
    /// Equivariant blocks (DW4: 20; LJ13/LJ55: 8).
    pub layers: usize,
    /// Invariant GCL sub-layers per block (2).
    pub inv_sublayers: usize,
    /// Attention gate on messages (true).
    pub attention: bool,
    /// Sum aggregation is divided by this (100).
    pub normalization_factor: f64,
    /// `c` in the normalised coordinate difference `(x_i − x_j)/(‖x_i − x_j‖ + c)` (1).
    pub norm_constant: f64,
    /// Gain of the xavier-uniform init of each coordinate head (0.001: starts near identity).
    pub coord_head_gain: f64,
    /// Memory layout of message passing (dense neighbour tensors by default; same function).
    #[serde(default)]
    pub message_passing: MessagePassing,
}

impl EgnnConfig {
    /// The FFF settings for `particles` particles in `spatial` dimensions with `layers` blocks.
    pub fn new(particles: usize, spatial: usize, layers: usize) -> Self {
        EgnnConfig {
            particles,
            spatial,
            hidden: 64,
            layers,
            inv_sublayers: 2,
            attention: true,
            normalization_factor: 100.0,
            norm_constant: 1.0,
            coord_head_gain: 1e-3,
            message_passing: MessagePassing::Dense,
        }
    }
    /// Sets the hidden width.
    pub fn with_hidden(mut self, hidden: usize) -> Self {
        self.hidden = hidden;
        self
    }

    /// Sets the message-passing layout.
    pub fn with_message_passing(mut self, passing: MessagePassing) -> Self {
        self.message_passing = passing;
        self
    }

    /// Sets the gain of the coordinate heads' initialisation.
    pub fn with_coord_head_gain(mut self, gain: f64) -> Self {
        self.coord_head_gain = gain;
        self
    }

    /// Builds the network; parameters are named `{prefix}.embedding`, `{prefix}.blocks.{i}...`.
    pub fn build<R: Rng + ?Sized>(&self, prefix: &str, dtype: DType, rng: &mut R) -> Egnn {
        assert!(
            self.particles >= 2 && self.spatial >= 1 && self.layers >= 1,
            "EgnnConfig: need ≥ 2 particles, ≥ 1 dimension and ≥ 1 layer, got {self:?}"
        );
        let graph = Graph::new(
            self.particles,
            self.message_passing,
            self.normalization_factor,
            self.norm_constant,
        );
        let embedding =
            LinearConfig::new(1, self.hidden).build(&format!("{prefix}.embedding"), dtype, rng);
        let edge_features = 2;
        let blocks = (0..self.layers)
            .map(|i| {
                let p = format!("{prefix}.blocks.{i}");
                EquivariantBlock {
                    gcls: (0..self.inv_sublayers)
                        .map(|s| {
                            let name = format!("{p}.gcl.{s}");
                            Gcl::new(
                                &name,
                                self.hidden,
                                edge_features,
                                self.attention,
                                dtype,
                                rng,
                            )
                        })
                        .collect(),
                    update: CoordUpdate::new(
                        &p,
                        self.hidden,
                        edge_features,
                        self.coord_head_gain,
                        dtype,
                        rng,
                    ),
                }
            })
            .collect();
        Egnn {
            config: self.clone(),
            graph,
            embedding,
            blocks,
            nan_events: Cell::new(0),
        }
    }
}

/// The E(n)-GNN free-form network (see [`EgnnConfig`]).
#[derive(Debug)]
pub struct Egnn {
    config: EgnnConfig,
    graph: Graph,
    embedding: Linear,
    blocks: Vec<EquivariantBlock>,
    nan_events: Cell<usize>,
}

impl Egnn {
    /// The configuration.
    pub fn config(&self) -> &EgnnConfig {
        &self.config
    }

    /// How many forward passes produced a non-finite velocity that was replaced by zero (the
    /// official code does this silently; we count it).
    pub fn nan_events(&self) -> usize {
        self.nan_events.get()
    }

    /// The mean-free update `x_L − x` (before the global skip), flat `[batch, N·D]`.
    pub fn velocity(&self, x: &Tensor) -> Tensor {
        let (n, d) = (self.config.particles, self.config.spatial);
        assert!(
            x.ndim() == 2 && x.dim(1) == n * d,
            "Egnn: input {:?} is not [batch, {n}·{d}]",
            x.shape()
        );
        let b = x.dim(0);
        let x0 = x.reshape(&[b, n, d]);
        let ones = Tensor::ones(&[b, n, 1], x.dtype());
        let mut h = self.embedding.forward(&ones);
        let (radial0, _) = self.graph.geometry(&x0);
        let mut xl = x0.clone();
        for block in &self.blocks {
            (h, xl) = block.forward(h, xl, &radial0, &self.graph);
        }
        let mut vel = xl.sub(&x0).reshape(&[b, n * d]);
        if !vel.all_finite() {
            self.nan_events.set(self.nan_events.get() + 1);
            let ok = vel.map_values(|v| if v.is_finite() { 1.0 } else { 0.0 });
            vel = Tensor::where_cond(&ok, &vel, &vel.zeros_like());
        }
        remove_mean(&vel, n, d)
    }
}

impl Network for Egnn {
    /// `x + mean_free(vel(x))`.
    fn forward(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        assert!(condition.is_none(), "Egnn: conditioning is not supported");
        x.add(&self.velocity(x))
    }
    fn input_dim(&self) -> usize {
        self.config.particles * self.config.spatial
    }
    fn output_dim(&self) -> usize {
        self.input_dim()
    }
}

impl Module for Egnn {
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.embedding.parameters();
        p.extend(self.blocks.iter().flat_map(Module::parameters));
        p
    }
}
