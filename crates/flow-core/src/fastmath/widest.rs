//! Runs a kernel compiled for the widest instruction set the CPU has.

/// Runs `f` compiled with AVX-512F, else AVX2 + FMA, else the baseline x86-64 target,
/// whichever the CPU has (checked at run time; the crate is built for baseline x86-64).
///
/// For kernels outside flow-core that loop over the fast scalar functions of this module
/// ([`exp_f32`](super::exp_f32), [`ln_f32`](super::ln_f32), …) or `Element::*_fast`: their
/// explicit fused multiply-adds compile to one instruction, and the loops vectorise, only
/// where they are inlined into code built with FMA. Mark the closure and everything it calls
/// `#[inline(always)]` so that it is compiled inside the dispatched copy. The results are the
/// same bits on every path (Rust never contracts `a * b + c` into an FMA on its own).
///
/// ```
/// use flow_core::fastmath::{exp_f32, widest};
/// let xs = [0.0f32, 1.0, -2.0];
/// let ys: Vec<f32> = widest(#[inline(always)] || xs.iter().map(|&x| exp_f32(x)).collect());
/// assert!((ys[1] - std::f32::consts::E).abs() < 1e-6);
/// ```
#[inline(always)]
pub fn widest<R, F: FnOnce() -> R>(f: F) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above), the only requirement of
        // the `target_feature` function.
        #[allow(unsafe_code)]
        return unsafe { on_avx512(f) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above), the only requirement
        // of the `target_feature` function.
        #[allow(unsafe_code)]
        return unsafe { on_avx2(f) };
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn on_avx512<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn on_avx2<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}
