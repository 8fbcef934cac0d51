//! Wall-clock timing helpers shared by the experiments' timing rows and the bench examples.

use std::time::Instant;

/// Median seconds per call of `f` over `n` timed calls (`n ≥ 1`), after three untimed calls
/// that warm caches and allocator free lists. The median, not the mean: on a shared machine a
/// few calls are slowed by other tenants, never sped up.
///
/// ```
/// let t = flow_bench::timing::median_secs(5, || {
///     std::hint::black_box((0..1000).sum::<u64>());
/// });
/// assert!(t >= 0.0);
/// ```
///
/// # Panics
/// If `n` is 0.
pub fn median_secs(n: usize, mut f: impl FnMut()) -> f64 {
    assert!(n > 0, "median_secs: no calls to time");
    for _ in 0..3 {
        f();
    }
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[n / 2]
}
