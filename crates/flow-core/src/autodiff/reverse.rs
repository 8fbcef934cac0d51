//! Reverse mode: vector-Jacobian products, optionally recorded so that they can be
//! differentiated again (`create_graph`), and carrying tangents when the output is dual
//! (forward-over-reverse: `jvp(|x| grad(f(x), x), x, v) = ∇²f(x) v`).

use super::graph::{GradModeGuard, IdMap, IdSet};
use crate::tensor::Tensor;

/// Which tape nodes receive cotangents.
enum Targets<'a> {
    /// Only these nodes (and what lies between them and the output).
    Only(&'a IdSet),
    /// Every tracked leaf.
    AllLeaves,
}

/// The tracked nodes reachable from `output`, inputs before the nodes that use them, and,
/// when `dual`, the tangent-carrying handle of every node that has one.
///
/// A node's handles can differ in their tangent only where a caller took `primal()` of a dual
/// tensor; a dual backward pass uses the node's own tangent there (what its op computed).
fn topological_order(output: &Tensor, dual: bool) -> (Vec<Tensor>, IdMap<Tensor>) {
    let mut order = Vec::new();
    let mut visited = IdSet::default();
    let mut duals = IdMap::default();
    let root = if dual {
        output.clone()
    } else {
        output.primal()
    };
    // (node, whether its inputs have been pushed)
    let mut stack = vec![(root, false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if dual && t.tangent.is_some() {
            duals.entry(t.id()).or_insert_with(|| t.clone());
        }
        if !t.is_tracked() || !visited.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(g) = &t.node.grad_fn {
            for input in g.inputs.iter().rev() {
                let fresh = !visited.contains(&input.id());
                if input.is_tracked() && (fresh || (dual && input.tangent.is_some())) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    (order, duals)
}

/// Propagates `seed` (the cotangent of `output`) back through the tape and returns the
/// cotangents of the targets, keyed by node id.
///
/// Forward-over-reverse: when `output` or `seed` carries a tangent, the VJP rules run on the
/// dual inputs the tape kept (see [`GradFn`](super::graph::GradFn)), so every cotangent
/// carries its own tangent, the directional derivative of the backward pass (e.g. `H v` when
/// the backward pass computes `∇f`). Otherwise tangents are stripped and the pass costs what a
/// plain backward pass costs, even through ops that ran on dual tensors (free-form flows).
fn backprop(output: &Tensor, seed: Tensor, targets: Targets, create_graph: bool) -> IdMap<Tensor> {
    assert_eq!(
        seed.shape(),
        output.shape(),
        "vjp: cotangent shape {:?} differs from output shape {:?}",
        seed.shape(),
        output.shape()
    );
    let dual = output.tangent.is_some() || seed.tangent.is_some();
    let _mode = GradModeGuard::new(create_graph);
    let (order, duals) = topological_order(output, dual);
    let is_target = |t: &Tensor| match &targets {
        Targets::Only(ids) => ids.contains(&t.id()),
        Targets::AllLeaves => t.node.grad_fn.is_none(),
    };
    // A node is needed if it is a target or leads to one.
    let mut needed: IdSet = IdSet::default();
    for t in &order {
        let leads = t
            .node
            .grad_fn
            .as_ref()
            .is_some_and(|g| g.inputs.iter().any(|i| needed.contains(&i.id())));
        if is_target(t) || leads {
            needed.insert(t.id());
        }
    }
    let mut cotangents: IdMap<Tensor> = IdMap::default();
    let mut results = IdMap::default();
    if !output.is_tracked() {
        if is_target(output) {
            results.insert(output.id(), seed);
        }
        return results;
    }
    cotangents.insert(output.id(), seed);
    for t in order.iter().rev() {
        let Some(ct) = cotangents.remove(&t.id()) else {
            continue;
        };
        if is_target(t) {
            results.insert(t.id(), ct.clone());
        }
        let Some(g) = &t.node.grad_fn else { continue };
        let needs: Vec<bool> = g.inputs.iter().map(|i| needed.contains(&i.id())).collect();
        if !needs.iter().any(|&n| n) {
            continue;
        }
        let input_cts = if dual {
            let out = duals.get(&t.id()).unwrap_or(t);
            g.op.vjp(&g.inputs, out, &ct, &needs)
        } else if g.dual {
            let primals: Vec<Tensor> = g.inputs.iter().map(Tensor::primal).collect();
            g.op.vjp(&primals, &t.primal(), &ct, &needs)
        } else {
            g.op.vjp(&g.inputs, t, &ct, &needs)
        };
        for ((input, need), ict) in g.inputs.iter().zip(&needs).zip(input_cts) {
            let (true, Some(ict)) = (*need, ict) else {
                continue;
            };
            assert_eq!(
                ict.shape(),
                input.shape(),
                "{}: vjp returned shape {:?} for input of shape {:?}",
                g.op.name(),
                ict.shape(),
                input.shape()
            );
            let entry = cotangents.remove(&input.id());
            let in_place = !create_graph && !dual;
            let sum = match entry {
                // A plain backward pass sums in place where the running sum is its own.
                Some(mut prev) => {
                    if in_place && prev.add_assign_unshared(&ict) {
                        prev
                    } else {
                        prev.add(&ict)
                    }
                }
                None => ict,
            };
            cotangents.insert(input.id(), sum);
        }
    }
    results
}

fn vjp_impl(output: &Tensor, inputs: &[&Tensor], cotangent: &Tensor, create: bool) -> Vec<Tensor> {
    let ids: IdSet = inputs.iter().map(|t| t.id()).collect();
    let mut cts = backprop(output, cotangent.clone(), Targets::Only(&ids), create);
    inputs
        .iter()
        .map(|x| cts.remove(&x.id()).unwrap_or_else(|| x.zeros_like()))
        .collect()
}

/// Vector-Jacobian product `cotangentᵀ ∂output/∂input` for each input. Inputs the output does
/// not depend on get zeros. The result is not differentiable; see [`vjp_with_graph`].
///
/// # Panics
/// If `cotangent`'s shape differs from `output`'s.
pub fn vjp(output: &Tensor, inputs: &[&Tensor], cotangent: &Tensor) -> Vec<Tensor> {
    vjp_impl(output, inputs, cotangent, false)
}

/// Like [`vjp`], but records the backward pass so that the result can be differentiated
/// again (`create_graph=True` of PyTorch).
pub fn vjp_with_graph(output: &Tensor, inputs: &[&Tensor], cotangent: &Tensor) -> Vec<Tensor> {
    vjp_impl(output, inputs, cotangent, true)
}

/// Gradient of a one-element `output` with respect to each input.
///
/// # Panics
/// If `output` holds more than one element.
pub fn grad(output: &Tensor, inputs: &[&Tensor]) -> Vec<Tensor> {
    assert_eq!(
        output.len(),
        1,
        "grad: output of shape {:?} is not a scalar",
        output.shape()
    );
    vjp(output, inputs, &output.ones_like())
}

/// Like [`grad`], with a differentiable result (for Hessian-vector products, gradient
/// penalties, TRADE's `∇θ ∂c log q`).
pub fn grad_with_graph(output: &Tensor, inputs: &[&Tensor]) -> Vec<Tensor> {
    assert_eq!(
        output.len(),
        1,
        "grad: output of shape {:?} is not a scalar",
        output.shape()
    );
    vjp_with_graph(output, inputs, &output.ones_like())
}

/// Gradients of every tracked leaf, as returned by [`Tensor::backward`].
#[derive(Default)]
pub struct Gradients {
    by_id: IdMap<Tensor>,
}

impl Gradients {
    /// The gradient of `leaf`, or `None` if the output does not depend on it.
    pub fn get(&self, leaf: &Tensor) -> Option<&Tensor> {
        self.by_id.get(&leaf.id())
    }

    /// The number of leaves that received a gradient.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no leaf received a gradient.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl Tensor {
    /// Back-propagates from this one-element tensor to every tracked leaf.
    ///
    /// # Panics
    /// If the tensor holds more than one element.
    pub fn backward(&self) -> Gradients {
        assert_eq!(
            self.len(),
            1,
            "backward: output of shape {:?} is not a scalar",
            self.shape()
        );
        Gradients {
            by_id: backprop(self, self.ones_like(), Targets::AllLeaves, false),
        }
    }
}
