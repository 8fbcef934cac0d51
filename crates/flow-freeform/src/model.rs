//! The encoder/decoder pair of a free-form flow and one-pass sampling.
//!
//! References: FFF arXiv:2310.16624, §3 (encoder `f_θ`, decoder `g_φ ≈ f_θ⁻¹`, sampling
//! `x = g(z)`, `z ~ p_Z`); FIF arXiv:2306.01843, §3 (latent dimension `d < D`).

use std::path::Path;

use flow_core::io::{Checkpoint, CheckpointError};
use flow_core::nn::{Module, Param};
use flow_core::{Tensor, no_grad};
use rand::Rng;

use crate::latent::Latent;

/// A free-form network: any differentiable map `[batch, input] → [batch, output]` that treats
/// samples independently, optionally conditioned on `[batch, condition_dim]`.
pub trait Network: Module {
    /// Applies the network.
    ///
    /// # Panics
    /// On shape mismatches (naming the network and both shapes).
    fn forward(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor;
    /// Input features.
    fn input_dim(&self) -> usize;
    /// Output features.
    fn output_dim(&self) -> usize;
    /// Condition features (0 for an unconditional network).
    fn condition_dim(&self) -> usize {
        0
    }
}

/// An encoder `f: R^D → R^d` and decoder `g: R^d → R^D` with a latent `p_Z`. Dimension
/// preserving (`d = D`, FFF) or injective (`d < D`, FIF/MLAE).
///
/// Direction: `encode` is the density direction, `log p(x) = log p_Z(f(x)) + log|det J_f(x)|`
/// (for `d = D`); `decode` samples. Exact likelihoods live in [`crate::exact`].
pub struct FreeFormFlow {
    /// The encoder `f_θ`.
    pub encoder: Box<dyn Network>,
    /// The decoder `g_φ`.
    pub decoder: Box<dyn Network>,
    /// The latent distribution.
    pub latent: Latent,
}

impl FreeFormFlow {
    /// Pairs an encoder and a decoder.
    ///
    /// # Panics
    /// If `encoder.output_dim() ≠ latent.dim()`, `decoder.input_dim() ≠ latent.dim()`,
    /// `decoder.output_dim() ≠ encoder.input_dim()`, the latent is larger than the data, or the
    /// condition sizes differ.
    pub fn new(encoder: Box<dyn Network>, decoder: Box<dyn Network>, latent: Latent) -> Self {
        let (d_data, d_lat) = (encoder.input_dim(), latent.dim());
        assert!(
            encoder.output_dim() == d_lat
                && decoder.input_dim() == d_lat
                && decoder.output_dim() == d_data
                && d_lat <= d_data
                && encoder.condition_dim() == decoder.condition_dim(),
            "FreeFormFlow::new: encoder {}→{} (cond {}), decoder {}→{} (cond {}), latent {d_lat}",
            encoder.input_dim(),
            encoder.output_dim(),
            encoder.condition_dim(),
            decoder.input_dim(),
            decoder.output_dim(),
            decoder.condition_dim()
        );
        FreeFormFlow {
            encoder,
            decoder,
            latent,
        }
    }

    /// Data dimension D.
    pub fn data_dim(&self) -> usize {
        self.encoder.input_dim()
    }

    /// Latent dimension d.
    pub fn latent_dim(&self) -> usize {
        self.latent.dim()
    }

    /// Condition dimension (0 when unconditional).
    pub fn condition_dim(&self) -> usize {
        self.encoder.condition_dim()
    }

    /// Whether the latent is smaller than the data (FIF/MLAE).
    pub fn is_injective(&self) -> bool {
        self.latent_dim() < self.data_dim()
    }

    /// `z = f(x)`.
    pub fn encode(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        self.encoder.forward(x, condition)
    }

    /// `x = g(z)`.
    pub fn decode(&self, z: &Tensor, condition: Option<&Tensor>) -> Tensor {
        self.decoder.forward(z, condition)
    }

    /// `g(f(x))` without recording a tape.
    pub fn reconstruct(&self, x: &Tensor, condition: Option<&Tensor>) -> Tensor {
        no_grad(|| self.decode(&self.encode(x, condition), condition))
    }

    /// `n` samples `x = g(z)`, `z ~ p_Z`: one decoder evaluation, no tape recorded.
    ///
    /// References: FFF arXiv:2310.16624, §3 ("sampling requires one network evaluation").
    ///
    /// # Panics
    /// If a condition is given whose batch is not `n` (or missing for a conditional model).
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        condition: Option<&Tensor>,
        rng: &mut R,
    ) -> Tensor {
        let dtype = self.dtype();
        let z = self.latent.sample(n, dtype, rng);
        no_grad(|| self.decode(&z, condition))
    }

    /// The dtype of the parameters.
    pub fn dtype(&self) -> flow_core::DType {
        self.encoder
            .parameters()
            .first()
            .or(self.decoder.parameters().first())
            .map_or(flow_core::DType::F32, |p| p.get().dtype())
    }

    /// Encoder parameters θ.
    pub fn encoder_parameters(&self) -> Vec<Param> {
        self.encoder.parameters()
    }

    /// Decoder parameters φ.
    pub fn decoder_parameters(&self) -> Vec<Param> {
        self.decoder.parameters()
    }

    /// Saves all parameters atomically (safetensors) with the architecture summary as metadata.
    ///
    /// # Errors
    /// [`CheckpointError::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let mut ck = Checkpoint::from_params(&self.parameters());
        ck.set_metadata("latent", format!("{:?}", self.latent));
        ck.set_metadata("data_dim", self.data_dim().to_string());
        ck.save(path)
    }

    /// Restores parameters saved by [`FreeFormFlow::save`]; all are validated first, so on
    /// error the model is untouched.
    ///
    /// # Errors
    /// Unreadable or corrupt files, missing or mismatched tensors, non-finite values.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        Checkpoint::load(path)?.restore_params(&self.parameters())
    }
}

impl Module for FreeFormFlow {
    /// Encoder parameters, then decoder parameters.
    fn parameters(&self) -> Vec<Param> {
        let mut p = self.encoder.parameters();
        p.extend(self.decoder.parameters());
        p
    }
}
