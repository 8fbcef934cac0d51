//! Flat parameter vectors (layout errors) and the lazy minimum spanning tree.

use flow_core::DType;
use flow_core::nn::{MlpConfig, Module};
use flow_landscape::{FlatLayout, LandscapeError, endpoints, lazy_mst};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

#[test]
fn flat_roundtrip_and_layout_mismatch_names_the_parameter() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let a = MlpConfig::new(3, &[4], 2).build("net", DType::F64, &mut rng);
    let b = MlpConfig::new(3, &[4], 2).build("net", DType::F64, &mut rng);
    let c = MlpConfig::new(3, &[5], 2).build("net", DType::F64, &mut rng);
    let (ta, tb) = endpoints(&a, &b).unwrap();
    assert_eq!(ta.len(), a.num_parameters());
    assert_ne!(ta, tb);
    let la = FlatLayout::of(&a);
    la.load(&tb).unwrap();
    assert_eq!(la.read(), tb);
    match endpoints(&a, &c) {
        Err(LandscapeError::LayoutMismatch { name, .. }) => assert_eq!(name, "net.layers.0.weight"),
        other => panic!("expected a layout mismatch, got {other:?}"),
    }
    assert!(matches!(
        la.load(&[0.0; 3]),
        Err(LandscapeError::LengthMismatch { .. })
    ));
}

/// Kruskal over all pairs (the oracle).
fn full_mst_weight(w: &[Vec<f64>]) -> f64 {
    let n = w.len();
    let mut edges: Vec<(f64, usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| (w[i][j], i, j))
        .collect();
    edges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut comp: Vec<usize> = (0..n).collect();
    let mut total = 0.0;
    for (x, i, j) in edges {
        let (ci, cj) = (comp[i], comp[j]);
        if ci != cj {
            total += x;
            comp.iter_mut().for_each(|c| {
                if *c == cj {
                    *c = ci
                }
            });
        }
    }
    total
}

proptest! {
    #[test]
    fn lazy_mst_is_exact_and_minimax_is_the_largest_tree_edge(
        losses in prop::collection::vec(0.0f64..1.0, 5),
        extra in prop::collection::vec(0.0f64..2.0, 10),
    ) {
        let n = 5;
        let mut w = vec![vec![0.0; n]; n];
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                // A saddle is at least the larger end loss.
                w[i][j] = losses[i].max(losses[j]) + extra[k];
                w[j][i] = w[i][j];
                k += 1;
            }
        }
        let t = lazy_mst(&losses, usize::MAX, |i, j| Ok::<_, ()>(w[i][j])).unwrap();
        prop_assert!(t.exact);
        prop_assert_eq!(t.edges.len(), n - 1);
        let total: f64 = t.edges.iter().map(|e| e.weight).sum();
        prop_assert!((total - full_mst_weight(&w)).abs() < 1e-12);
        prop_assert!(t.evaluated.len() <= n * (n - 1) / 2);
        // Minimax over the tree never exceeds the direct edge (the MST is a minimax tree).
        for i in 0..n {
            for j in i + 1..n {
                prop_assert!(t.minimax(i, j) <= w[i][j] + 1e-12);
            }
        }
    }
}

#[test]
fn lazy_mst_skips_pairs_the_bound_certifies() {
    // Minimum 3 has loss 0.9 and a barrier-free path to minimum 0 (saddle 0.9): the pairs
    // (1,3) and (2,3) have lower bound 0.9, not below that edge, so they are never computed.
    // The pair (1,2) (bound 0 < 0.05) must be. Hence exactly 3 + 1 of the 6 pairs.
    let losses = [0.0, 0.0, 0.0, 0.9];
    let w = |i: usize, j: usize| {
        if j == 3 {
            if i == 0 { 0.9 } else { 1.5 }
        } else {
            0.05
        }
    };
    let mut calls = Vec::new();
    let t = lazy_mst(&losses, usize::MAX, |i, j| {
        calls.push((i, j));
        Ok::<_, ()>(w(i, j))
    })
    .unwrap();
    assert!(t.exact);
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(t.minimax(1, 3), 0.9);
    // With no budget for the extra pair the tree is still spanning but not certified.
    let t0 = lazy_mst(&losses, 0, |i, j| Ok::<_, ()>(w(i, j))).unwrap();
    assert!(!t0.exact && t0.edges.len() == 3);
}
