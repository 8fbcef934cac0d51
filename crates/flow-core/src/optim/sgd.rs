//! Stochastic gradient descent with (optionally Nesterov) momentum.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Optimizer, check_step_inputs};
use crate::autodiff::no_grad;
use crate::io::{Checkpoint, CheckpointError};
use crate::nn::Param;
use crate::tensor::Tensor;

/// Hyper-parameters of [`Sgd`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum μ (0 = plain SGD): `b ← μ b + g`, `θ ← θ − lr b`.
    pub momentum: f64,
    /// Nesterov momentum: step along `g + μ b`.
    pub nesterov: bool,
    /// L2 weight decay added to the gradient: `g ← g + λ θ`.
    pub weight_decay: f64,
}

impl SgdConfig {
    /// Plain SGD.
    pub fn new(lr: f64) -> SgdConfig {
        SgdConfig {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
    /// Sets heavy-ball momentum.
    pub fn with_momentum(mut self, momentum: f64) -> SgdConfig {
        self.momentum = momentum;
        self
    }
    /// Uses Nesterov momentum.
    pub fn with_nesterov(mut self) -> SgdConfig {
        self.nesterov = true;
        self
    }
    /// Sets L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> SgdConfig {
        self.weight_decay = weight_decay;
        self
    }
}

/// SGD with momentum (PyTorch's formulation).
pub struct Sgd {
    config: SgdConfig,
    velocity: HashMap<String, Tensor>,
}

impl Sgd {
    /// A fresh optimiser.
    pub fn new(config: SgdConfig) -> Sgd {
        Sgd {
            config,
            velocity: HashMap::new(),
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &[Param], grads: &[Tensor]) {
        check_step_inputs("Sgd::step", params, grads);
        let c = self.config.clone();
        no_grad(|| {
            for (p, g) in params.iter().zip(grads) {
                let x = p.get();
                let mut d = g.detach();
                if c.weight_decay != 0.0 {
                    d = d.add(&x.mul_scalar(c.weight_decay));
                }
                if c.momentum != 0.0 {
                    let b = match self.velocity.get(p.name()) {
                        Some(b) => b.mul_scalar(c.momentum).add(&d),
                        None => d.clone(),
                    };
                    d = if c.nesterov {
                        d.add(&b.mul_scalar(c.momentum))
                    } else {
                        b.clone()
                    };
                    self.velocity.insert(p.name().to_string(), b);
                }
                p.set(x.sub(&d.mul_scalar(c.lr)));
            }
        });
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn set_momentum(&mut self, momentum: f64) {
        self.config.momentum = momentum;
    }

    fn save_state(&self, ck: &mut Checkpoint) {
        for (name, b) in &self.velocity {
            ck.insert(format!("optim.sgd.velocity.{name}"), b.clone());
        }
    }

    fn load_state(&mut self, ck: &Checkpoint, params: &[Param]) -> Result<(), CheckpointError> {
        let mut velocity = HashMap::new();
        if self.config.momentum != 0.0 {
            for p in params {
                let name = format!("optim.sgd.velocity.{}", p.name());
                if ck.dtype_of(&name).is_some() {
                    velocity.insert(
                        p.name().to_string(),
                        ck.check_compatible(&name, &p.get())?.clone(),
                    );
                }
            }
        }
        self.velocity = velocity;
        Ok(())
    }
}
