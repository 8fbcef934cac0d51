//! Helpers shared by the test tables.
#![allow(dead_code)]

use flow_core::Tensor;
use flow_core::nn::Module;
use rand::Rng;

/// Adds `scale · N(0, 1)` noise to every parameter, so zero-initialised subnet outputs (the
/// identity at construction) become a generic, non-trivial map.
pub fn perturb<R: Rng + ?Sized>(module: &dyn Module, scale: f64, rng: &mut R) {
    for p in module.parameters() {
        let v = p.get();
        p.set(
            v.add(&Tensor::randn(v.shape(), v.dtype(), rng).mul_scalar(scale))
                .detach(),
        );
    }
}

/// The largest absolute entry of `a − b`.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    a.to_vec_f64()
        .iter()
        .zip(b.to_vec_f64())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The panic message of `f`, if it panics.
pub fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::panic::catch_unwind(f);
    std::panic::set_hook(prev);
    out.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}
