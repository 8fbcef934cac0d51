//! Reference sets do not depend on the thread count: the chain groups use fixed random
//! streams and are combined in order.

use flow_core::parallel::with_threads;
use flow_data::mcmc::{CHAIN_GROUP, ReferenceTarget, generate_reference_with};

#[test]
fn reference_set_is_bit_identical_at_one_and_two_threads() {
    // Three groups (the last one short) so both threads get work and the ordering matters.
    let chains = 2 * CHAIN_GROUP + 5;
    for target in [ReferenceTarget::Dw4, ReferenceTarget::Lj13] {
        let run = || {
            let set = generate_reference_with(target, 3 * chains, 9, chains, 40);
            (
                set.samples.shape().to_vec(),
                set.samples.to_vec_f64(),
                set.acceptance_rate,
            )
        };
        let (shape1, x1, a1) = with_threads(1, run);
        let (shape2, x2, a2) = with_threads(2, run);
        assert_eq!(shape1, [3 * chains, target.shape().0 * target.shape().1]);
        assert_eq!(shape1, shape2);
        assert!(x1.iter().all(|v| v.is_finite()));
        assert_eq!(x1, x2, "{target:?}: samples differ between 1 and 2 threads");
        assert_eq!(a1.to_bits(), a2.to_bits());
        // Different groups draw different streams: no two chains start alike.
        let dim = shape1[1];
        assert_ne!(x1[..dim], x1[CHAIN_GROUP * dim..(CHAIN_GROUP + 1) * dim]);
    }
}
