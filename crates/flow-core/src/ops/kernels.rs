//! Generic array kernels shared by the ops (no autodiff here).

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use crate::dtype::Element;

/// `f(a, b)` element-wise with numpy broadcasting; fast paths for equal shapes and scalars.
pub(crate) fn binary<T: Element>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    shape: &[usize],
    f: impl Fn(T, T) -> T,
) -> ArrayD<T> {
    if a.shape() == shape
        && b.shape() == shape
        && let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice())
    {
        let v: Vec<T> = xs.iter().zip(ys).map(|(&x, &y)| f(x, y)).collect();
        return ArrayD::from_shape_vec(IxDyn(shape), v).expect("binary: shape");
    }
    if a.shape() == shape && b.len() == 1 {
        let y = *b.iter().next().expect("scalar");
        return a.mapv(|x| f(x, y));
    }
    if b.shape() == shape && a.len() == 1 {
        let x = *a.iter().next().expect("scalar");
        return b.mapv(|y| f(x, y));
    }
    // A trailing-shape operand (a bias row): loop over contiguous rows.
    if a.shape() == shape
        && b.ndim() <= a.ndim()
        && shape.ends_with(b.shape())
        && let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice())
    {
        let mut v = Vec::with_capacity(xs.len());
        for row in xs.chunks_exact(ys.len()) {
            v.extend(row.iter().zip(ys).map(|(&x, &y)| f(x, y)));
        }
        return ArrayD::from_shape_vec(IxDyn(shape), v).expect("binary: shape");
    }
    let av = a.broadcast(IxDyn(shape)).expect("binary: broadcast lhs");
    let bv = b.broadcast(IxDyn(shape)).expect("binary: broadcast rhs");
    Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y))
}

/// Sums `a` down to `target` (the reverse of broadcasting `target` up to `a`'s shape).
pub(crate) fn sum_to<T: Element>(a: &ArrayD<T>, target: &[usize]) -> ArrayD<T> {
    let n = a.ndim();
    let lead = n - target.len();
    // Sum kept axes of size 1 first (indices stay valid), then drop leading axes.
    let mut out: Option<ArrayD<T>> = None;
    for i in (lead..n).rev() {
        if target[i - lead] == 1 && a.shape()[i] != 1 {
            let src = out.as_ref().unwrap_or(a);
            out = Some(src.sum_axis(Axis(i)).insert_axis(Axis(i)));
        }
    }
    for _ in 0..lead {
        let src = out.as_ref().unwrap_or(a);
        out = Some(src.sum_axis(Axis(0)));
    }
    out.unwrap_or_else(|| a.clone())
}

/// Checks that `from` broadcasts to `to` and panics naming `op` otherwise.
pub(crate) fn check_broadcastable(op: &str, from: &[usize], to: &[usize]) {
    let ok = from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1);
    assert!(ok, "{op}: shape {from:?} cannot be broadcast to {to:?}");
}
