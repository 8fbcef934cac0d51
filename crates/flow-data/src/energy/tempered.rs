//! Temperature scaling of a parameter-free potential: `E(x, T) = u(x)/T` or `E(x, β) = β u(x)`.

use flow_core::Tensor;

use super::{Energy, Parameter};

/// A reduced potential `u(x)` (in kT at the reference temperature), `[batch, dim] → [batch]`.
pub trait Potential {
    /// Dimension of `x`.
    fn dim(&self) -> usize;
    /// `u(x)`, differentiable in `x`.
    fn potential(&self, x: &Tensor) -> Tensor;
}

impl<P: Potential + ?Sized> Potential for Box<P> {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn potential(&self, x: &Tensor) -> Tensor {
        (**self).potential(x)
    }
}

/// A potential with a temperature (`E = u/T`, `∂E/∂T = −u/T²`) or inverse temperature
/// (`E = βu`, `∂E/∂β = u`) as its external parameter.
#[derive(Clone, Debug)]
pub struct Tempered<P> {
    /// The potential.
    pub potential: P,
    /// [`Parameter::Temperature`] or [`Parameter::InverseTemperature`].
    pub kind: Parameter,
}

impl<P: Potential> Tempered<P> {
    /// `E(x, T) = u(x) / T`.
    pub fn temperature(potential: P) -> Self {
        Self {
            potential,
            kind: Parameter::Temperature,
        }
    }

    /// `E(x, β) = β u(x)`.
    pub fn inverse_temperature(potential: P) -> Self {
        Self {
            potential,
            kind: Parameter::InverseTemperature,
        }
    }
}

impl<P: Potential> Energy for Tempered<P> {
    fn dim(&self) -> usize {
        self.potential.dim()
    }

    fn parameter(&self) -> Parameter {
        self.kind
    }

    fn reference_parameter(&self) -> f64 {
        1.0
    }

    fn energy(&self, x: &Tensor, c: &Tensor) -> Tensor {
        let u = self.potential.potential(x);
        match self.kind {
            Parameter::InverseTemperature => u.mul(c),
            _ => u.div(c),
        }
    }

    fn energy_dc(&self, x: &Tensor, c: &Tensor) -> Tensor {
        let u = self.potential.potential(x);
        match self.kind {
            Parameter::InverseTemperature => u,
            _ => u.div(&c.square()).neg(),
        }
    }
}
