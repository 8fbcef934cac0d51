use rand::RngExt;

use super::*;

/// Serialises the tests that change or read the process-wide setting.
static SETTING: Mutex<()> = Mutex::new(());

/// The explicit setting wins over the environment and the cores; 0 clears it.
#[test]
fn explicit_setting_takes_precedence_and_clears() {
    let _lock = SETTING.lock().unwrap_or_else(|p| p.into_inner());
    set_threads(3);
    assert_eq!(thread_setting(), (3, ThreadSource::Explicit));
    assert_eq!(threads(), 3);
    set_threads(0);
    let (n, source) = thread_setting();
    assert!(n >= 1);
    assert_ne!(source, ThreadSource::Explicit);
}

/// Chunks cover `[0, n)` in order, independent of the thread count.
#[test]
fn chunk_ranges_cover_the_range_in_order() {
    let r: Vec<_> = chunk_ranges(10, 4).collect();
    assert_eq!(r, vec![0..4, 4..8, 8..10]);
    assert_eq!(chunk_ranges(0, 3).count(), 0);
    let got = with_threads(2, || map_chunks(1000, 7, |k, r| (k, r.start, r.end)));
    let want: Vec<_> = chunk_ranges(1000, 7)
        .enumerate()
        .map(|(k, r)| (k, r.start, r.end))
        .collect();
    assert_eq!(got, want);
}

/// Per-chunk random streams give the same draws at 1 and 2 threads, and differ between
/// chunks and seeds.
#[test]
fn chunk_streams_are_thread_count_independent() {
    let draw = || {
        map_chunks(64, 4, |k, r| {
            let mut rng = chunk_rng(11, k);
            r.map(|_| rng.random::<u64>()).collect::<Vec<_>>()
        })
    };
    let one = with_threads(1, draw);
    let two = with_threads(2, draw);
    assert_eq!(one, two);
    assert_ne!(one[0], one[1]);
    let mut a = chunk_rng(11, 0);
    let mut b = chunk_rng(12, 0);
    assert_ne!(a.random::<u64>(), b.random::<u64>());
}

/// Chunked sums are bit-identical at 1 and 2 threads and agree with a plain sum to rounding;
/// row sums agree with a naive loop.
#[test]
fn reductions_are_bit_identical_across_thread_counts() {
    let xs: Vec<f64> = (0..100_003)
        .map(|i| ((i as f64) * 0.37).sin() * 1e3)
        .collect();
    let one = with_threads(1, || sum_f64(&xs, 4096));
    let two = with_threads(2, || sum_f64(&xs, 4096));
    assert_eq!(one.to_bits(), two.to_bits());
    let plain: f64 = xs.iter().sum();
    assert!((one - plain).abs() < 1e-9 * xs.iter().map(|x| x.abs()).sum::<f64>());
    let rows = with_threads(2, || sum_rows(&xs[..99_999], 3, 1000));
    for j in 0..3 {
        let naive: f64 = xs[..99_999].iter().skip(j).step_by(3).sum();
        assert!((rows[j] - naive).abs() < 1e-8, "column {j}");
    }
}

/// Element-wise maps keep order; nested helpers run inside a region, serially.
#[test]
fn maps_keep_order_and_nesting_stays_serial() {
    let a: Vec<f64> = (0..5000).map(f64::from).collect();
    let b: Vec<f64> = a.iter().map(|x| 2.0 * x).collect();
    let sum = with_threads(2, || zip_map(&a, &b, 512, |x, y| x + y));
    assert!(sum.iter().enumerate().all(|(i, &v)| v == 3.0 * i as f64));
    let sq = with_threads(2, || map_slice(&a, 100, |x| x * x));
    assert_eq!(sq[70], 4900.0);
    assert!(!in_parallel_region());
    assert_eq!(gemm_threads(), threads());
    let inner = with_threads(2, || {
        map_chunks(4, 1, |_, _| {
            let nested = map_chunks(3, 1, |_, _| in_parallel_region());
            (in_parallel_region(), gemm_threads(), nested)
        })
    });
    assert!(
        inner
            .iter()
            .all(|(r, g, n)| *r && *g == 1 && n.iter().all(|&b| b))
    );
    assert!(!in_parallel_region());
}

/// The tensor kernels above the parallel threshold (element-wise add, `sum_all`, a bias
/// gradient `sum_to`) give bit-identical results at 1 and 2 threads and agree with naive loops.
#[test]
fn tensor_kernels_above_the_threshold_are_thread_count_independent() {
    let n = (crate::ops::kernels::PARALLEL_MIN_LEN / 7 + 600) * 7;
    let xs: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.11).cos()).collect();
    let run = || {
        let a = crate::Tensor::from_vec(xs.clone(), &[n / 7, 7]);
        let b = a.mul_scalar(0.5);
        let sum = a.add(&b);
        let total = sum.sum_all().item();
        let cols = sum.sum_to(&[7]).to_vec_f64();
        (sum.to_vec_f64(), total, cols)
    };
    let (s1, t1, c1) = with_threads(1, run);
    let (s2, t2, c2) = with_threads(2, run);
    assert_eq!(s1, s2);
    assert_eq!(t1.to_bits(), t2.to_bits());
    assert_eq!(c1, c2);
    let rows = n / 7;
    assert!(s1.iter().zip(&xs).all(|(s, x)| *s == x + 0.5 * x));
    let naive: f64 = s1[..rows * 7].iter().sum();
    assert!((t1 - naive).abs() < 1e-8, "{t1} vs {naive}");
    for j in 0..7 {
        let col: f64 = (0..rows).map(|r| s1[r * 7 + j]).sum();
        assert!((c1[j] - col).abs() < 1e-9, "column {j}");
    }
}

/// A thread budget caps `threads` (and so the GEMM's threads) on this thread only, nests, and
/// is restored on exit, also when the body panics.
#[test]
fn a_thread_budget_caps_this_thread_and_is_restored() {
    let _lock = SETTING.lock().unwrap_or_else(|p| p.into_inner());
    set_threads(4);
    assert_eq!(with_thread_budget(1, threads), 1);
    assert_eq!(with_thread_budget(2, gemm_threads), 2);
    assert_eq!(
        with_thread_budget(1, || with_thread_budget(3, threads)),
        1,
        "nested budgets only lower the cap"
    );
    assert_eq!(
        with_thread_budget(9, threads),
        4,
        "a budget above the setting changes nothing"
    );
    assert_eq!(threads(), 4);
    let other = std::thread::spawn(|| with_thread_budget(1, || std::thread::spawn(threads).join()))
        .join()
        .expect("thread")
        .expect("thread");
    assert_eq!(other, 4, "the budget is per thread");
    let _ = std::panic::catch_unwind(|| with_thread_budget(1, || panic!("body fails")));
    assert_eq!(threads(), 4);
    set_threads(0);
}
