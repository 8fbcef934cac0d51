//! Row-major iteration over a broadcast: the loop nest that numpy-style element-wise kernels
//! run when operand shapes differ.
//!
//! The output shape and each operand's strides (0 along broadcast axes) are simplified first:
//! axes of length 1 are dropped and adjacent axes are merged wherever every operand steps
//! through them contiguously. What remains is usually one or two axes, e.g. for the
//! all-pairs sum `[B, N, 1, F] + [B, 1, N, F]` an outer loop over `(b, i, j)` and an inner
//! loop over `F` contiguous values, or for `[B, N, N, F] · [B, N, N, 1]` an inner loop that
//! multiplies a contiguous row by one value. The inner loop is a slice loop that the compiler
//! vectorises; ndarray's general `Zip` over `IxDyn` broadcast views steps one element at a
//! time through dynamic indices instead.

/// Row-major strides of `src` (a numpy-broadcastable shape) aligned to `shape`, 0 along the
/// axes where `src` is broadcast.
fn aligned_strides(src: &[usize], shape: &[usize]) -> Vec<usize> {
    let lead = shape.len() - src.len();
    let mut strides = vec![0; shape.len()];
    let mut step = 1;
    for i in (0..src.len()).rev() {
        if src[i] != 1 {
            strides[lead + i] = step;
        }
        step *= src[i];
    }
    strides
}

/// The simplified loop nest of a broadcast to `shape`: `dims[k]` iterations with stride
/// `strides[o][k]` in operand `o`, outermost first.
struct LoopNest<const K: usize> {
    dims: Vec<usize>,
    strides: [Vec<usize>; K],
}

impl<const K: usize> LoopNest<K> {
    fn new(operands: [&[usize]; K], shape: &[usize]) -> Self {
        let full: [Vec<usize>; K] = operands.map(|s| aligned_strides(s, shape));
        let mut dims: Vec<usize> = Vec::new();
        let mut strides: [Vec<usize>; K] = std::array::from_fn(|_| Vec::new());
        // Walk from the innermost axis out, merging into the current outermost kept axis.
        for axis in (0..shape.len()).rev() {
            let len = shape[axis];
            if len == 1 {
                continue;
            }
            let mergeable = dims.last().is_some_and(|&inner| {
                (0..K).all(|o| full[o][axis] == strides[o].last().copied().unwrap_or(0) * inner)
            });
            if mergeable {
                *dims.last_mut().expect("kept axis") *= len;
            } else {
                dims.push(len);
                for o in 0..K {
                    strides[o].push(full[o][axis]);
                }
            }
        }
        dims.reverse();
        strides.iter_mut().for_each(|s| s.reverse());
        LoopNest { dims, strides }
    }

    /// Calls `body(offsets, inner_len, inner_strides)` for every run of the innermost axis, in
    /// row-major order of the output.
    fn for_each_run(&self, mut body: impl FnMut([usize; K], usize, [usize; K])) {
        let Some((&inner, outer)) = self.dims.split_last() else {
            body([0; K], 1, [0; K]);
            return;
        };
        let inner_strides: [usize; K] =
            std::array::from_fn(|o| *self.strides[o].last().expect("inner"));
        let mut index = vec![0usize; outer.len()];
        let mut offsets = [0usize; K];
        loop {
            body(offsets, inner, inner_strides);
            // Odometer over the outer axes.
            let mut axis = outer.len();
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                index[axis] += 1;
                for o in 0..K {
                    offsets[o] += self.strides[o][axis];
                }
                if index[axis] < outer[axis] {
                    break;
                }
                for o in 0..K {
                    offsets[o] -= self.strides[o][axis] * outer[axis];
                }
                index[axis] = 0;
            }
        }
    }
}

/// `f(a, b)` for contiguous row-major `a` (shape `a_shape`) and `b` broadcast to `shape`,
/// in row-major order of `shape`.
pub(crate) fn binary<T: Copy>(
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    shape: &[usize],
    f: impl Fn(T, T) -> T,
) -> Vec<T> {
    let total: usize = shape.iter().product();
    if total == 0 {
        return Vec::new();
    }
    let nest = LoopNest::new([a_shape, b_shape], shape);
    if let Some(out) = binary_rows(&nest, a, b, &f) {
        return out;
    }
    let mut out = Vec::with_capacity(total);
    nest.for_each_run(|[oa, ob], len, [sa, sb]| match (sa, sb) {
        (1, 1) => out.extend(
            a[oa..oa + len]
                .iter()
                .zip(&b[ob..ob + len])
                .map(|(&x, &y)| f(x, y)),
        ),
        (1, 0) => {
            let y = b[ob];
            out.extend(a[oa..oa + len].iter().map(|&x| f(x, y)));
        }
        (0, 1) => {
            let x = a[oa];
            out.extend(b[ob..ob + len].iter().map(|&y| f(x, y)));
        }
        _ => out.extend((0..len).map(|k| f(a[oa + k * sa], b[ob + k * sb]))),
    });
    out
}

/// The broadcasts of one row or one column against a matrix (`[R, K]` with `[R, 1]`, `[1, K]`
/// or `[K]`, on either side: a log-sum-exp's `x − max`, a per-row scale, a bias), as a copy
/// of the full operand updated in place row by row. The general loop nest pays its odometer
/// and a growing `Vec` per run, which on the short rows of spline parameters (`K` = 8) made
/// `[2048, 8] − [2048, 1]` 5× slower than the equal-shape case. Each element is still
/// `f(a, b)` of the same pair, so the bits are the loop nest's. `None` for other nests.
fn binary_rows<T: Copy>(
    nest: &LoopNest<2>,
    a: &[T],
    b: &[T],
    f: &impl Fn(T, T) -> T,
) -> Option<Vec<T>> {
    let &[rows, k] = nest.dims.as_slice() else {
        return None;
    };
    let (sa, sb) = (&nest.strides[0], &nest.strides[1]);
    let full = |s: &Vec<usize>| s[0] == k && s[1] == 1;
    let mut out;
    if full(sa) {
        out = a[..rows * k].to_vec();
        let rows_of = out.chunks_exact_mut(k);
        match (sb[0], sb[1]) {
            (1, 0) => rows_of
                .zip(b)
                .for_each(|(r, &y)| r.iter_mut().for_each(|x| *x = f(*x, y))),
            (0, 1) => rows_of.for_each(|r| r.iter_mut().zip(b).for_each(|(x, &y)| *x = f(*x, y))),
            _ => return None,
        }
    } else if full(sb) {
        out = b[..rows * k].to_vec();
        let rows_of = out.chunks_exact_mut(k);
        match (sa[0], sa[1]) {
            (1, 0) => rows_of
                .zip(a)
                .for_each(|(r, &x)| r.iter_mut().for_each(|y| *y = f(x, *y))),
            (0, 1) => rows_of.for_each(|r| r.iter_mut().zip(a).for_each(|(y, &x)| *y = f(x, *y))),
            _ => return None,
        }
    } else {
        return None;
    }
    Some(out)
}

/// Contiguous row-major `a` (shape `a_shape`) repeated up to `shape`.
pub(crate) fn broadcast<T: Copy>(a: &[T], a_shape: &[usize], shape: &[usize]) -> Vec<T> {
    let total: usize = shape.iter().product();
    if total == 0 {
        return Vec::new();
    }
    let nest = LoopNest::new([a_shape], shape);
    if let (&[_, k], [s]) = (nest.dims.as_slice(), &nest.strides)
        && matches!((s[0], s[1]), (1, 0) | (0, 1))
    {
        // One column or one row repeated (the cotangent of a row or column sum): whole rows
        // filled or copied instead of one growing run at a time.
        let mut out = vec![a[0]; total];
        if s[0] == 1 {
            out.chunks_exact_mut(k).zip(a).for_each(|(r, &v)| r.fill(v));
        } else {
            out.chunks_exact_mut(k)
                .for_each(|r| r.copy_from_slice(&a[..k]));
        }
        return out;
    }
    let mut out = Vec::with_capacity(total);
    nest.for_each_run(|[oa], len, [sa]| match sa {
        1 => out.extend_from_slice(&a[oa..oa + len]),
        0 => out.extend(std::iter::repeat_n(a[oa], len)),
        _ => out.extend((0..len).map(|k| a[oa + k * sa])),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn, Zip};

    fn array(shape: &[usize], offset: f64) -> ArrayD<f64> {
        let n = shape.iter().product();
        ArrayD::from_shape_vec(
            IxDyn(shape),
            (0..n).map(|v| v as f64 * 0.5 + offset).collect(),
        )
        .expect("shape")
    }

    /// Every pairing of shapes agrees with ndarray's general broadcasting, element by element
    /// and in order, including scalars, leading axes and broadcasts on both sides.
    #[test]
    fn loop_nest_matches_ndarray_broadcasting() {
        let cases: [(&[usize], &[usize]); 14] = [
            // One column or one row against a matrix, on either side (`binary_rows` and
            // the row fill and copy of `broadcast`).
            (&[6, 8], &[6, 1]),
            (&[6, 1], &[6, 8]),
            (&[6, 8], &[1, 8]),
            (&[1, 8], &[6, 8]),
            (&[2, 0, 3], &[3]),
            (&[2, 3, 1, 4], &[2, 1, 3, 4]),
            (&[2, 3, 3, 4], &[2, 3, 3, 1]),
            (&[3, 3, 1], &[2, 3, 3, 1]),
            (&[5], &[4, 5]),
            (&[4, 1], &[1, 5]),
            (&[], &[2, 3]),
            (&[2, 3], &[]),
            (&[1, 1], &[1]),
            (&[2, 1, 4, 1], &[3, 1, 2]),
        ];
        for (sa, sb) in cases {
            let (a, b) = (array(sa, 1.0), array(sb, -3.0));
            let full = co_broadcast(sa, sb);
            let av = a.broadcast(IxDyn(&full)).expect("a");
            let bv = b.broadcast(IxDyn(&full)).expect("b");
            let want: Vec<f64> = Zip::from(&av)
                .and(&bv)
                .map_collect(|&x, &y| x * 10.0 - y)
                .iter()
                .copied()
                .collect();
            let got = binary(
                a.as_slice().expect("a"),
                sa,
                b.as_slice().expect("b"),
                sb,
                &full,
                |x, y| x * 10.0 - y,
            );
            assert_eq!(got, want, "{sa:?} with {sb:?}");
            let repeated = broadcast(a.as_slice().expect("a"), sa, &full);
            assert_eq!(
                repeated,
                av.iter().copied().collect::<Vec<_>>(),
                "{sa:?} to {full:?}"
            );
        }
    }

    fn co_broadcast(a: &[usize], b: &[usize]) -> Vec<usize> {
        let n = a.len().max(b.len());
        let pad = |s: &[usize]| {
            let mut v = vec![1; n - s.len()];
            v.extend_from_slice(s);
            v
        };
        let (a, b) = (pad(a), pad(b));
        a.iter()
            .zip(&b)
            .map(|(&x, &y)| if x == 1 { y } else { x })
            .collect()
    }
}
