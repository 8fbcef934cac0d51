//! The tape: nodes, the [`Op`] trait every primitive implements, and the recording switch.

use std::cell::Cell;
use std::rc::Rc;

use crate::data::Data;
use crate::tensor::Tensor;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static TANGENTS_RECORDED: Cell<bool> = const { Cell::new(true) };
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

fn next_id() -> u64 {
    NEXT_ID.with(|id| {
        let v = id.get();
        id.set(v + 1);
        v
    })
}

/// A primitive operation: its VJP and JVP rules, written with differentiable tensor ops so
/// that derivatives of any order come for free. The forward computation lives in the op's
/// constructor function, next to this impl.
pub(crate) trait Op: 'static {
    /// The name used in panics and debugging.
    fn name(&self) -> &'static str;

    /// Cotangents of the inputs given the output's cotangent. `needs[i]` says whether input `i`
    /// needs one; the rule may return `None` where it does not.
    fn vjp(
        &self,
        inputs: &[Tensor],
        output: &Tensor,
        cotangent: &Tensor,
        needs: &[bool],
    ) -> Vec<Option<Tensor>>;

    /// The output tangent given input tangents (`None` = zero tangent; at least one is `Some`).
    fn jvp(&self, inputs: &[Tensor], output: &Tensor, tangents: &[Option<Tensor>]) -> Tensor;
}

/// How a node was made: the op and its inputs.
///
/// When the op ran on dual tensors, the inputs keep their tangents (`dual`), so that a backward
/// pass from a dual output can carry tangents through the VJP rules (forward-over-reverse, see
/// [`reverse`](super::reverse)); a plain backward pass strips them. No reference cycle: an
/// input's tangent was computed before the node that stores it.
pub(crate) struct GradFn {
    pub op: Rc<dyn Op>,
    pub inputs: Vec<Tensor>,
    /// Whether some input carries a tangent.
    pub dual: bool,
}

/// A node of the tape.
pub(crate) struct Node {
    pub id: u64,
    pub data: Rc<Data>,
    pub requires_grad: bool,
    pub grad_fn: Option<GradFn>,
}

impl Node {
    pub fn new(data: Rc<Data>, requires_grad: bool, grad_fn: Option<GradFn>) -> Node {
        Node {
            id: next_id(),
            data,
            requires_grad,
            grad_fn,
        }
    }
}

impl Drop for Node {
    /// Drops long chains iteratively so that deep graphs cannot overflow the stack.
    fn drop(&mut self) {
        let mut stack: Vec<Tensor> = match self.grad_fn.take() {
            Some(g) => g.inputs,
            None => return,
        };
        while let Some(t) = stack.pop() {
            if let Ok(mut node) = Rc::try_unwrap(t.node)
                && let Some(g) = node.grad_fn.take()
            {
                stack.extend(g.inputs);
            }
        }
    }
}

/// A hasher for tape node ids: ids are distinct sequential integers, so one multiply by an
/// odd constant (Fibonacci hashing) spreads them well; SipHash's DoS resistance buys nothing
/// for keys that never come from outside and cost ~10 % of a small backward pass.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Hash maps and sets keyed by node id.
pub(crate) type IdMap<V> =
    std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;
pub(crate) type IdSet = std::collections::HashSet<u64, std::hash::BuildHasherDefault<IdHasher>>;

/// Whether operations are currently recorded on the tape (per thread).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous recording mode when dropped (see [`no_grad`]).
pub struct GradModeGuard {
    previous: bool,
}

impl GradModeGuard {
    /// Sets the recording mode until the guard is dropped.
    pub fn new(enabled: bool) -> GradModeGuard {
        let previous = GRAD_ENABLED.with(|g| g.replace(enabled));
        GradModeGuard { previous }
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Runs `f` with tangents propagated but their computation not recorded, while primal ops
/// still record as usual. For a JVP of a gradient whose result is not differentiated again
/// ([`hvp`](crate::hvp)): the backward pass needs the primal tape and the tangents' values,
/// never the tangents' own tape, and unrecorded tangents take the fused first-order kernels.
pub(crate) fn with_unrecorded_tangents<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TANGENTS_RECORDED.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(TANGENTS_RECORDED.with(|t| t.replace(false)));
    f()
}

/// Whether a raw-buffer kernel may stand in for a rule written with tensor ops: nothing
/// would be recorded (recording is off or no argument is tracked) and no argument carries a
/// tangent. Fast paths inside VJP/JVP rules (fused `g ⊙ f′(x)` loops) must ask this, so that
/// recorded backward passes and backward passes that carry tangents (forward-over-reverse)
/// take the differentiable composition.
pub(crate) fn is_constant_kernel_exact(args: &[&Tensor]) -> bool {
    let untracked = !is_grad_enabled() || args.iter().all(|t| !t.is_tracked());
    untracked && args.iter().all(|t| t.tangent.is_none())
}

/// Runs `f` without recording a tape (inference, sampling, optimiser updates). Tangents are
/// still propagated, so forward-mode derivatives work here at no tape cost.
///
/// ```
/// use flow_core::{Tensor, no_grad};
/// let x = Tensor::from_slice(&[1.0f32], &[1]).requires_grad();
/// let y = no_grad(|| x.exp());
/// assert!(!y.is_tracked());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = GradModeGuard::new(false);
    f()
}

impl Tensor {
    /// `self += other` in place, when nothing else can see `self`'s values: an untracked,
    /// tangent-free tensor whose node and buffer only `self` holds, of `other`'s dtype and
    /// shape. Returns whether it did so; `self` is untouched otherwise. The backward pass sums
    /// a node's cotangents with it (the element-wise `a + b` of [`Tensor::add`], bit for bit)
    /// instead of allocating a fresh sum for every extra term.
    pub(crate) fn add_assign_unshared(&mut self, other: &Tensor) -> bool {
        if self.tangent.is_some() || other.tangent.is_some() || self.shape() != other.shape() {
            return false;
        }
        let Some(node) = Rc::get_mut(&mut self.node) else {
            return false;
        };
        if node.requires_grad || node.grad_fn.is_some() {
            return false;
        }
        let Some(data) = Rc::get_mut(&mut node.data) else {
            return false;
        };
        let contiguous = "stored tensors are in standard layout";
        match (data, other.data()) {
            (Data::F32(d), Data::F32(o)) if d.is_unique() => {
                let pair = (
                    d.as_slice_mut().expect(contiguous),
                    o.as_slice().expect(contiguous),
                );
                crate::parallel::team::add_assign_all(vec![pair]);
            }
            (Data::F64(d), Data::F64(o)) if d.is_unique() => {
                let pair = (
                    d.as_slice_mut().expect(contiguous),
                    o.as_slice().expect(contiguous),
                );
                crate::parallel::team::add_assign_all(vec![pair]);
            }
            _ => return false,
        }
        true
    }
}

impl Tensor {
    /// Creates the output of a primitive: records it when any input is tracked and recording
    /// is on, and evaluates the JVP rule when any input carries a tangent. The JVP rule sees
    /// tangent-free inputs (tangents do not nest); the tape keeps the dual inputs.
    pub(crate) fn from_op(data: Data, op: impl Op, inputs: &[&Tensor]) -> Tensor {
        let record = is_grad_enabled() && inputs.iter().any(|t| t.is_tracked());
        let dual = inputs.iter().any(|t| t.tangent.is_some());
        if !record && !dual {
            // Inference and optimiser updates: no op object, no input list, no tape.
            return Tensor::with_grad_fn(data, None);
        }
        let op: Rc<dyn Op> = Rc::new(op);
        let primals: Vec<Tensor> = inputs.iter().map(|t| t.primal()).collect();
        if !dual {
            let grad_fn = GradFn {
                op,
                inputs: primals,
                dual: false,
            };
            return Tensor::with_grad_fn(data, Some(grad_fn));
        }
        let grad_fn = record.then(|| GradFn {
            op: op.clone(),
            inputs: inputs.iter().map(|&t| t.clone()).collect(),
            dual: true,
        });
        let mut out = Tensor::with_grad_fn(data, grad_fn);
        let tangents: Vec<Option<Tensor>> = inputs.iter().map(|t| t.tangent()).collect();
        let tangent = if TANGENTS_RECORDED.with(Cell::get) {
            op.jvp(&primals, &out, &tangents)
        } else {
            let _off = GradModeGuard::new(false);
            op.jvp(&primals, &out, &tangents)
        };
        debug_assert_eq!(tangent.shape(), out.shape(), "{}: jvp shape", op.name());
        out.tangent = Some(Rc::new(tangent));
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{DType, Tensor};
    use rand::SeedableRng;

    fn bits(t: &Tensor) -> Vec<u64> {
        t.data().to_f64_vec().iter().map(|x| x.to_bits()).collect()
    }

    /// In place exactly when nothing else sees the values, with `Tensor::add`'s bits; a
    /// shared, tracked, dual or mismatched tensor is left as it was.
    #[test]
    fn add_assign_unshared_writes_only_what_it_owns() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
        for (shape, dtype) in [(&[300, 257][..], DType::F32), (&[9][..], DType::F64)] {
            let a = Tensor::randn(shape, dtype, &mut rng);
            let b = Tensor::randn(shape, dtype, &mut rng);
            let want = bits(&a.add(&b));
            let mut own = a.mul_scalar(1.0);
            assert!(own.add_assign_unshared(&b));
            assert_eq!(bits(&own), want);

            let (before, mut shared) = (bits(&a), a.clone());
            assert!(!shared.add_assign_unshared(&b), "node shared");
            let mut buffer = Tensor::from_data(a.data().clone());
            assert!(!buffer.add_assign_unshared(&b), "buffer shared");
            assert_eq!(bits(&a), before);
            let mut tracked = a.mul_scalar(1.0).requires_grad();
            assert!(!tracked.add_assign_unshared(&b), "tracked");
            let mut dual = crate::make_dual(&a.mul_scalar(1.0), &b);
            assert!(!dual.add_assign_unshared(&b), "dual");
            let mut other = a.mul_scalar(1.0);
            assert!(!other.add_assign_unshared(&b.sum_all()), "shape");
        }
    }
}
