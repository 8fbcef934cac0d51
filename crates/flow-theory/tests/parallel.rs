//! The per-run Monte-Carlo loop of the whitening-depth study (arXiv 2210.14032, Sec. 4) gives
//! the same numbers at 1 and 2 threads, and every run decreases the non-standardness.

use flow_core::parallel::with_threads;
use flow_theory::whitening::whiten_depth_runs;

#[test]
fn whitening_depth_runs_are_bit_identical_at_one_and_two_threads() {
    let run = || {
        whiten_depth_runs(12, 6, 5, 5, 17)
            .into_iter()
            .map(|r| r.s)
            .collect::<Vec<_>>()
    };
    let one = with_threads(1, run);
    let two = with_threads(2, run);
    assert_eq!(one, two);
    assert_eq!(one.len(), 5);
    assert_ne!(one[0], one[1], "runs must use different random streams");
    // An optimal linear block never increases S (arXiv 2210.14032, Sec. 4).
    for s in &one {
        assert_eq!(s.len(), 6);
        assert!(s.windows(2).all(|w| w[1] <= w[0] + 1e-12), "{s:?}");
    }
}
