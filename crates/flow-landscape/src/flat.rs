//! Any [`Module`]'s parameters as one flat `f64` vector: the coordinates in which paths,
//! forces and Hessians live. Values go in with [`FlatLayout::load`] and come out with
//! [`FlatLayout::read`]; gradients come out with [`FlatLayout::flatten`].

use flow_core::nn::{Module, Param};
use flow_core::{DType, Tensor};

use crate::error::LandscapeError;

/// Names, shapes and offsets of a parameter list, in the module's fixed order.
///
/// ```
/// use flow_core::nn::{MlpConfig, Module};
/// use flow_landscape::FlatLayout;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
/// let net = MlpConfig::new(3, &[4], 2).build("net", flow_core::DType::F64, &mut rng);
/// let layout = FlatLayout::of(&net);
/// let theta = layout.read();
/// assert_eq!(theta.len(), net.num_parameters());
/// layout.load(&vec![0.5; theta.len()]).unwrap();
/// assert_eq!(net.parameters()[0].get().to_vec_f64()[0], 0.5);
/// ```
#[derive(Clone, Debug)]
pub struct FlatLayout {
    params: Vec<Param>,
    offsets: Vec<usize>,
    len: usize,
}

impl FlatLayout {
    /// The layout of a module's parameters.
    pub fn of(module: &dyn Module) -> FlatLayout {
        FlatLayout::from_params(module.parameters())
    }

    /// The layout of an explicit parameter list.
    pub fn from_params(params: Vec<Param>) -> FlatLayout {
        let mut offsets = Vec::with_capacity(params.len());
        let mut len = 0;
        for p in &params {
            offsets.push(len);
            len += p.numel();
        }
        FlatLayout {
            params,
            offsets,
            len,
        }
    }

    /// Total number of scalars.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout holds no scalar.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Offset of parameter `name` in the flat vector and its shape, if present.
    pub fn locate(&self, name: &str) -> Option<(usize, Vec<usize>)> {
        self.params
            .iter()
            .zip(&self.offsets)
            .find(|(p, _)| p.name() == name)
            .map(|(p, &o)| (o, p.shape()))
    }

    /// Checks that `other` has the same names and shapes in the same order.
    ///
    /// # Errors
    /// [`LandscapeError::LayoutMismatch`] naming the first parameter that differs (or the
    /// first one only one side has).
    pub fn check_same(&self, other: &FlatLayout) -> Result<(), LandscapeError> {
        let describe = |p: Option<&Param>| match p {
            Some(p) => format!("{} {:?}", p.name(), p.shape()),
            None => "nothing".to_string(),
        };
        let n = self.params.len().max(other.params.len());
        for i in 0..n {
            let (a, b) = (self.params.get(i), other.params.get(i));
            let same = match (a, b) {
                (Some(a), Some(b)) => a.name() == b.name() && a.shape() == b.shape(),
                _ => false,
            };
            if !same {
                let name = a.or(b).map(|p| p.name().to_string()).unwrap_or_default();
                return Err(LandscapeError::LayoutMismatch {
                    name,
                    left: describe(a),
                    right: describe(b),
                });
            }
        }
        Ok(())
    }

    /// The current parameter values, concatenated.
    pub fn read(&self) -> Vec<f64> {
        self.flatten(&flow_core::nn::values(&self.params))
    }

    /// Concatenates tensors shaped like the parameters (e.g. gradients) into one vector.
    ///
    /// # Panics
    /// If the count or a size differs from the layout's.
    pub fn flatten(&self, tensors: &[Tensor]) -> Vec<f64> {
        assert_eq!(
            tensors.len(),
            self.params.len(),
            "FlatLayout::flatten: {} tensors for {} parameters",
            tensors.len(),
            self.params.len()
        );
        let mut out = Vec::with_capacity(self.len);
        for (t, p) in tensors.iter().zip(&self.params) {
            assert_eq!(t.len(), p.numel(), "FlatLayout::flatten: {}", p.name());
            out.extend(t.to_vec_f64());
        }
        out
    }

    /// Splits a flat vector into tensors shaped (and typed) like the parameters.
    ///
    /// # Errors
    /// [`LandscapeError::LengthMismatch`] if `theta` has the wrong length.
    pub fn unflatten(&self, theta: &[f64]) -> Result<Vec<Tensor>, LandscapeError> {
        if theta.len() != self.len {
            return Err(LandscapeError::LengthMismatch {
                expected: self.len,
                got: theta.len(),
            });
        }
        Ok(self
            .params
            .iter()
            .zip(&self.offsets)
            .map(|(p, &o)| {
                let dtype: DType = p.get().dtype();
                Tensor::from_vec(theta[o..o + p.numel()].to_vec(), &p.shape()).to_dtype(dtype)
            })
            .collect())
    }

    /// Installs a flat vector as the parameters' values.
    ///
    /// # Errors
    /// [`LandscapeError::LengthMismatch`] if `theta` has the wrong length.
    pub fn load(&self, theta: &[f64]) -> Result<(), LandscapeError> {
        for (p, t) in self.params.iter().zip(self.unflatten(theta)?) {
            p.set(t);
        }
        Ok(())
    }
}

/// The flat parameter vectors of two trained models (the ends of a path), after checking
/// that their layouts agree.
///
/// # Errors
/// [`LandscapeError::LayoutMismatch`] naming the first differing parameter.
pub fn endpoints(a: &dyn Module, b: &dyn Module) -> Result<(Vec<f64>, Vec<f64>), LandscapeError> {
    let (la, lb) = (FlatLayout::of(a), FlatLayout::of(b));
    la.check_same(&lb)?;
    Ok((la.read(), lb.read()))
}
