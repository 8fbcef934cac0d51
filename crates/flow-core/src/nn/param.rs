//! Named, replaceable parameters.

use std::cell::RefCell;
use std::rc::Rc;

use crate::tensor::Tensor;

/// A named trainable tensor. Cloning shares the parameter (a model and its optimiser see the
/// same value). [`Param::get`] returns the current tracked leaf; optimisers install new values
/// with [`Param::set`], so recorded tapes stay valid while the parameter moves on.
///
/// Names are stable dotted paths (`"encoder.layers.0.weight"`) used by checkpoints; with the
/// PyTorch layout (`Linear` weights are `[out, in]`) a checkpoint loads in PyTorch too.
///
/// ```
/// use flow_core::{Tensor, nn::Param};
/// let p = Param::new("w", Tensor::zeros(&[2], flow_core::DType::F32));
/// assert!(p.get().is_tracked());
/// p.set(Tensor::ones(&[2], flow_core::DType::F32));
/// assert_eq!(p.get().to_vec_f32(), vec![1.0, 1.0]);
/// ```
#[derive(Clone)]
pub struct Param {
    inner: Rc<ParamInner>,
}

struct ParamInner {
    name: String,
    value: RefCell<Tensor>,
}

impl Param {
    /// A parameter with the given name and initial value (stored as a tracked leaf).
    pub fn new(name: impl Into<String>, value: Tensor) -> Param {
        Param {
            inner: Rc::new(ParamInner {
                name: name.into(),
                value: RefCell::new(value.detach().requires_grad()),
            }),
        }
    }

    /// The stable name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The current value, a tracked leaf: gradients with respect to it reach this parameter.
    pub fn get(&self) -> Tensor {
        self.inner.value.borrow().clone()
    }

    /// Replaces the value.
    ///
    /// # Panics
    /// If the shape or dtype differs from the current value's.
    pub fn set(&self, value: Tensor) {
        let current = self.get();
        assert!(
            value.shape() == current.shape() && value.dtype() == current.dtype(),
            "Param::set: {} expects {:?} {}, got {:?} {}",
            self.name(),
            current.shape(),
            current.dtype(),
            value.shape(),
            value.dtype()
        );
        *self.inner.value.borrow_mut() = value.detach().requires_grad();
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.get().shape().to_vec()
    }

    /// The number of scalars.
    pub fn numel(&self) -> usize {
        self.get().len()
    }

    /// Whether two handles share one parameter.
    pub fn same_as(&self, other: &Param) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Param({}, {:?})", self.name(), self.shape())
    }
}

/// Anything that owns parameters.
pub trait Module {
    /// All parameters, in a fixed order, with unique names.
    fn parameters(&self) -> Vec<Param>;

    /// Total number of scalars in the parameters.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(Param::numel).sum()
    }
}

/// Current values of parameters (tracked leaves), in order: the `wrt` list for
/// [`grad`](crate::grad).
pub fn values(params: &[Param]) -> Vec<Tensor> {
    params.iter().map(Param::get).collect()
}

/// Joins a prefix and a name with a dot (`""` prefix gives the bare name).
pub fn join_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
