//! The one GEMM of the workspace: `C = op_a(A) op_b(B)` on row-major slices, f32 and f64.
//!
//! Backed by faer's matrix product (pure Rust, run-time CPU dispatch with AVX2/AVX-512
//! kernels and small-matrix kernels). It replaced ndarray's matrixmultiply backend after a
//! side-by-side measurement on the workspace's shapes (BENCHMARKS.md, "GEMM backend"): faer
//! was faster on every shape of the MLP, coupling and free-form steps, most on the skinny
//! products of coupling subnets (`[512,256]·[256,8]` about 2.5×) where matrixmultiply has no
//! specialised kernel.
//!
//! Transposes are views (swapped strides), never copies. A product of at least
//! [`PARALLEL_FLOPS`] floating-point operations with enough rows is cut into row blocks of the
//! output ("parts"), one per worker and at most a number set by the shape ([`plan`]); the
//! parts run on [`parallel::gemm_threads`](crate::parallel::gemm_threads) threads of the
//! fork–join team (`parallel/team.rs`, which keeps the second core hot between the products
//! of a step) when the product has enough row data or FLOPs to pay for moving its rows
//! between cores ([`worth_a_fork`]), or whole on the calling thread. The cut never changes
//! an element's arithmetic (each is one dot product over the whole inner dimension, summed
//! in the kernel's order whatever rows its block holds), so results are bit-identical for
//! any thread count (tested against the uncut product, every transpose, both types, inner
//! dimensions past faer's blocking).
//! Inside a chunk of a parallel helper `gemm_threads` is 1, so nested parallelism never
//! oversubscribes the machine.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use faer::traits::ComplexField;
use faer::{Accum, MatMut, MatRef, Par};

/// Products below this many FLOPs (`2·m·k·n`) are never cut into parts: about 10 µs of
/// work on one core, ten times the team's hand-off. Lowered from 2²² so that the skinny
/// products of a step (`[512,8]·[8,256]`, 2 MFLOP) also use the second core: the MLP step at
/// two threads took 0.969× the time (median of 12 alternated rounds, BENCHMARKS.md).
pub const PARALLEL_FLOPS: usize = 1 << 20;

/// Products of at least this many FLOPs (about 70 µs on one core) go to the team whatever
/// their row data; smaller ones only when [`worth_a_fork`] finds enough row data.
const FORK_FLOPS: usize = 1 << 23;

/// Whether a product already cut into parts should run them on the team rather than one after
/// another on the caller: its row-partitioned data (`m` rows of the left operand or of the
/// output, whichever is wider) reaches the element-wise threshold
/// [`MIN_PARALLEL_ELEMENTS`](crate::parallel::team::MIN_PARALLEL_ELEMENTS), or it is long
/// enough that moving that data between cores is small beside it ([`FORK_FLOPS`]). One
/// threshold for both keeps a product and the element-wise passes around it on the same side
/// of the line, so each worker keeps working on its own rows: a product split beside passes
/// that were not (or the reverse) made the helper read the caller's freshly written rows from
/// the other chiplet, which cost more than it saved (BENCHMARKS.md, session 19). Only the
/// cut and its placement depend on this, never the bits (module docs).
fn worth_a_fork(m: usize, k: usize, n: usize) -> bool {
    2 * m * k * n >= FORK_FLOPS || m * k.max(n) >= crate::parallel::team::MIN_PARALLEL_ELEMENTS
}

/// The fewest output rows in one part. Cutting a 512×256·256×256 product into row blocks and
/// running them one after another costs 0.3 % at 256 rows, 1 % at 128 and 2–10 % at 64 or
/// fewer (faer 0.23, f32, one core; `examples/gemm_split.rs`).
const MIN_PART_ROWS: usize = 128;

/// The most parts of one product.
const MAX_PARTS: usize = 16;

/// The most row blocks a `m`-row product of `flops` operations is cut into (a function of the
/// shape; [`plan`] cuts no more blocks than there are workers).
fn parts_for(m: usize, flops: usize) -> usize {
    if flops < PARALLEL_FLOPS {
        return 1;
    }
    (flops / (PARALLEL_FLOPS / 2))
        .min(m / MIN_PART_ROWS)
        .clamp(1, MAX_PARTS)
}

/// `(parts, threads)` for an `m × k × n` product: the workers that run it (the team's
/// [`gemm_threads`](crate::parallel::gemm_threads) when it is [`worth_a_fork`], else the
/// caller alone) and one row block per worker, at most [`parts_for`]'s count. Blocks beyond
/// the workers would run one after another on a worker, each repacking the other operand:
/// one block per worker made the reference MLP step 2–3 % faster, sharded (one worker, so one
/// uncut product per shard) and one graph (two blocks of 256 rows instead of four of 128;
/// BENCHMARKS.md, session 23). The bits do not depend on the cut (module docs).
fn plan(m: usize, k: usize, n: usize) -> (usize, usize) {
    let parts = parts_for(m, 2 * m * k * n);
    if parts == 1 || !worth_a_fork(m, k, n) {
        return (1, 1);
    }
    let threads = crate::parallel::gemm_threads();
    (parts.min(threads), threads)
}

/// Element types the GEMM supports (f32 and f64).
pub(crate) trait Gemm: ComplexField + Copy + Send + Sync {
    /// Rows `rows` of the product through [`gemm_outer`](super::gemm_outer),
    /// [`gemm_skinny`](super::gemm_skinny) or [`gemm_shallow`](super::gemm_shallow) where one
    /// applies (f32; a narrow side of two to eight, or two to sixteen terms per output);
    /// `false` (nothing written) where faer runs instead.
    fn skinny(
        _dst: &mut Dst<'_, Self>,
        _a: &[Self],
        _b: &[Self],
        _shape: (usize, usize, usize),
        _transposes: (bool, bool),
        _rows: std::ops::Range<usize>,
    ) -> bool {
        false
    }
    /// Rows `rows` of `1 rowᵀ + op_a(A) op_b(B)` into fresh memory through
    /// [`gemm_shallow`](super::gemm_shallow) where it applies (f32, two to sixteen terms),
    /// the bias added in registers; `false` (nothing written) otherwise.
    fn shallow_from_row(
        _block: &mut [MaybeUninit<Self>],
        _row: &[Self],
        _a: &[Self],
        _b: &[Self],
        _shape: (usize, usize, usize),
        _transposes: (bool, bool),
        _rows: std::ops::Range<usize>,
    ) -> bool {
        false
    }
}
impl Gemm for f32 {
    fn skinny(
        dst: &mut Dst<'_, f32>,
        a: &[f32],
        b: &[f32],
        shape: (usize, usize, usize),
        transposes: (bool, bool),
        rows: std::ops::Range<usize>,
    ) -> bool {
        super::gemm_outer::product(dst, a, b, shape, transposes, rows.clone())
            || super::gemm_skinny::product(dst, a, b, shape, transposes, rows.clone())
            || super::gemm_shallow::product(dst, a, b, shape, transposes, rows)
    }
    fn shallow_from_row(
        block: &mut [MaybeUninit<f32>],
        row: &[f32],
        a: &[f32],
        b: &[f32],
        shape: (usize, usize, usize),
        transposes: (bool, bool),
        rows: std::ops::Range<usize>,
    ) -> bool {
        super::gemm_shallow::product_from_row(block, row, a, b, shape, transposes, rows)
    }
}
impl Gemm for f64 {}

/// Where a block of the product goes (`rows.len() × n`, row-major).
pub(crate) enum Dst<'a, T> {
    /// Fresh memory, written without being read (faer's `Accum::Replace`).
    Uninit(&'a mut [MaybeUninit<T>]),
    /// `C = product`.
    Overwrite(&'a mut [T]),
    /// `C += product`.
    Add(&'a mut [T]),
}

impl<T> Dst<'_, T> {
    /// The block's start, length and whether it is accumulated into (the raw view the
    /// hand-written kernels write through; only an `Add` block may be read).
    pub(crate) fn raw_parts(&mut self) -> (*mut T, usize, bool) {
        match self {
            Dst::Uninit(d) => (d.as_mut_ptr().cast::<T>(), d.len(), false),
            Dst::Overwrite(d) => (d.as_mut_ptr(), d.len(), false),
            Dst::Add(d) => (d.as_mut_ptr(), d.len(), true),
        }
    }
}

fn view<T: Gemm>(s: &[T], rows: usize, cols: usize, transpose: bool) -> MatRef<'_, T> {
    let m = MatRef::from_row_major_slice(s, rows, cols);
    if transpose { m.transpose() } else { m }
}

/// `c` (`rows × n`, row-major, `n > 0`) as faer's destination view.
fn row_major<T: Gemm>(c: &mut [T], n: usize) -> MatMut<'_, T> {
    MatMut::from_row_major_slice_mut(c, c.len() / n, n)
}

/// `dst (=|+=) op_a(A)[rows] op_b(B)` on one thread: the skinny kernel where it applies,
/// faer otherwise.
fn gemm_with<T: Gemm>(
    mut dst: Dst<'_, T>,
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    rows: std::ops::Range<usize>,
) {
    if T::skinny(&mut dst, a, b, (m, k, n), (ta, tb), rows.clone()) {
        return;
    }
    let (dst, accum) = match dst {
        // An uninitialised block is written without being zeroed first: faer's
        // `Accum::Replace` documents that the destination's previous values are not read, so
        // it is handed over as a raw-pointer view (no reference to uninitialised `T` is made
        // here). Saves a memset of every fresh product (2–3 % of the free-form step on one
        // core).
        Dst::Uninit(block) => {
            assert!(
                k > 0 && block.len() == rows.len() * n,
                "gemm: uninitialised block shape"
            );
            // SAFETY: `block` is valid for reads and writes of `rows.len() · n` elements for
            // the view's lifetime (borrowed mutably here), the strides describe a row-major
            // matrix inside it with no two elements aliased, and with `Accum::Replace` and
            // `k > 0` faer writes every element of the destination without reading it (its
            // documented contract for `Replace`).
            let view = unsafe {
                MatMut::from_raw_parts_mut(
                    block.as_mut_ptr().cast::<T>(),
                    rows.len(),
                    n,
                    n as isize,
                    1,
                )
            };
            (view, Accum::Replace)
        }
        Dst::Overwrite(c) => (row_major(c, n), Accum::Replace),
        Dst::Add(c) => (row_major(c, n), Accum::Add),
    };
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    let lhs = view(a, ar, ac, ta).subrows(rows.start, rows.len());
    let rhs = view(b, br, bc, tb);
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::one_impl(), Par::Seq);
}

/// `c` as the destination of an overwriting or accumulating product.
fn dst<T>(c: &mut [T], accumulate: bool) -> Dst<'_, T> {
    if accumulate {
        Dst::Add(c)
    } else {
        Dst::Overwrite(c)
    }
}

/// The product cut into `parts` row blocks, run on up to `threads` workers of the team
/// (worker `w` takes a contiguous run of parts).
#[allow(clippy::too_many_arguments)]
fn gemm_parts<T: Gemm>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    accumulate: bool,
    parts: usize,
    threads: usize,
) {
    let rows_per_part = m.div_ceil(parts);
    let blocks: Vec<(usize, &mut [T])> = c
        .chunks_mut(rows_per_part * n)
        .enumerate()
        .map(|(p, block)| (p * rows_per_part, block))
        .collect();
    crate::parallel::team::run_parts(blocks, threads, |(start, block)| {
        let rows = start..start + block.len() / n;
        gemm_with(dst(block, accumulate), a, b, (m, k, n), (ta, tb), rows);
    });
}

/// Writes `op_a(A) op_b(B)` into `c` (`[m, n]`, row-major), where `a` is stored as `[m, k]`
/// (or `[k, m]` when `ta`) and `b` as `[k, n]` (or `[n, k]` when `tb`). With `accumulate` the
/// product is added to `c` (`C += op_a(A) op_b(B)`, how a bias is fused); otherwise `c` is
/// overwritten.
///
/// # Panics
/// If a slice length does not match its stated shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<T: Gemm>(
    c: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    assert_eq!(
        a.len(),
        m * k,
        "gemm: A holds {} values, not {m}×{k}",
        a.len()
    );
    assert_eq!(
        b.len(),
        k * n,
        "gemm: B holds {} values, not {k}×{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "gemm: C holds {} values, not {m}×{n}",
        c.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::zero_impl());
        }
        return;
    }
    match plan(m, k, n) {
        (1, _) => gemm_with(dst(c, accumulate), a, b, (m, k, n), (ta, tb), 0..m),
        (parts, threads) => gemm_parts(c, a, b, (m, k, n), ta, tb, accumulate, parts, threads),
    }
}

/// How the output of [`gemm_new`] starts before the product is added to it.
pub(crate) enum Init<'a, T> {
    /// `C = op_a(A) op_b(B)`.
    Zero,
    /// `C = 1 rowᵀ + op_a(A) op_b(B)`: every output row starts as `row` (a fused bias).
    Rows(&'a [T]),
}

/// A new `[m, n]` row-major product `op_a(A) op_b(B)` started from `init`, with the same
/// shape rules, parts and bit-exact results as [`gemm`]. Each part initialises its own rows
/// right before multiplying into them, so the bias copy of the output runs in parallel and
/// leaves the block in cache, instead of being a serial row copy of the whole output before
/// the product (2–3 % of an MLP step on one thread, all of it on the critical path at two);
/// a product from [`Init::Zero`] is written straight into the uninitialised block
/// ([`Dst::Uninit`]), with no zeroing at all.
///
/// # Panics
/// If a slice length does not match its stated shape, or a bias row is not `n` long.
pub(crate) fn gemm_new<T: Gemm>(
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    ta: bool,
    tb: bool,
    init: Init<'_, T>,
) -> Vec<T> {
    assert!(
        a.len() == m * k && b.len() == k * n,
        "gemm: A holds {} and B {} values, not {m}×{k} and {k}×{n}",
        a.len(),
        b.len()
    );
    if let Init::Rows(row) = &init {
        assert_eq!(
            row.len(),
            n,
            "gemm: bias row of {} values, not {n}",
            row.len()
        );
    }
    let mut out: Vec<T> = Vec::with_capacity(m * n);
    if m == 0 || n == 0 {
        return out;
    }
    let (parts, threads) = plan(m, k, n);
    let rows_per_part = m.div_ceil(parts);
    let blocks: Vec<(usize, &mut [MaybeUninit<T>])> = out.spare_capacity_mut()[..m * n]
        .chunks_mut(rows_per_part * n)
        .enumerate()
        .map(|(p, block)| (p * rows_per_part, block))
        .collect();
    crate::parallel::team::run_parts(blocks, threads, |(start, block)| {
        let rows = start..start + block.len() / n;
        match &init {
            Init::Zero if k > 0 => {
                gemm_with(Dst::Uninit(block), a, b, (m, k, n), (ta, tb), rows);
                return;
            }
            Init::Zero => block.iter_mut().for_each(|x| {
                x.write(T::zero_impl());
            }),
            Init::Rows(row)
                if k > 0
                    && T::shallow_from_row(block, row, a, b, (m, k, n), (ta, tb), rows.clone()) =>
            {
                return;
            }
            Init::Rows(row) => {
                for dst in block.chunks_mut(n) {
                    dst.write_copy_of_slice(row);
                }
            }
        }
        // SAFETY: every element of `block` was written just above, and `MaybeUninit<T>` has
        // the layout of `T`.
        let block = unsafe { &mut *(block as *mut [MaybeUninit<T>] as *mut [T]) };
        if k > 0 {
            gemm_with(Dst::Add(block), a, b, (m, k, n), (ta, tb), rows);
        }
    });
    // SAFETY: the blocks cover `0..m·n` and each was fully written; a panic unwinds before
    // this line and leaves `out` empty.
    unsafe { out.set_len(m * n) };
    out
}

#[cfg(test)]
#[path = "gemm_tests.rs"]
mod tests;
