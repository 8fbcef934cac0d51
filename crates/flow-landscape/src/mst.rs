//! The minimum spanning tree over many minima with edge weight = path saddle loss, computed
//! lazily (arXiv 1803.00885 §3; `suggest.py` of the official code): the MST gives, for every
//! pair of minima, the minimax path through the tree.
//!
//! Paths are expensive (one AutoNEB run each), so [`lazy_mst`] computes a pair only when the
//! cut property cannot certify the tree without it, using the free lower bound
//! `saddle(i, j) ≥ max(L_i, L_j)` (a path's maximum includes its ends).

/// An edge of the tree: the two minima and the saddle of the path between them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Edge {
    /// First minimum.
    pub a: usize,
    /// Second minimum.
    pub b: usize,
    /// Saddle loss of the path.
    pub weight: f64,
}

/// The tree and every path that was computed to find it.
#[derive(Clone, Debug, PartialEq)]
pub struct Mst {
    /// Number of minima.
    pub nodes: usize,
    /// The `nodes − 1` tree edges, by decreasing weight.
    pub edges: Vec<Edge>,
    /// All evaluated pairs (tree edges included).
    pub evaluated: Vec<Edge>,
    /// Whether the tree is certified exact (false only when the budget ran out).
    pub exact: bool,
}

impl Mst {
    /// The minimax loss between minima `i` and `j`: the largest edge weight on their tree path.
    ///
    /// # Panics
    /// If `i` or `j` is out of range.
    pub fn minimax(&self, i: usize, j: usize) -> f64 {
        assert!(
            i < self.nodes && j < self.nodes,
            "minimax: node out of range"
        );
        // Depth-first search from i carrying the largest weight seen.
        let mut stack = vec![(i, usize::MAX, f64::NEG_INFINITY)];
        while let Some((node, parent, worst)) = stack.pop() {
            if node == j {
                return worst;
            }
            for e in &self.edges {
                let other = if e.a == node {
                    e.b
                } else if e.b == node {
                    e.a
                } else {
                    continue;
                };
                if other != parent {
                    stack.push((other, node, worst.max(e.weight)));
                }
            }
        }
        f64::INFINITY
    }
}

/// Kruskal over the evaluated edges: the tree edges (a forest if the graph is disconnected).
fn kruskal(n: usize, edges: &[Edge]) -> Vec<Edge> {
    let mut sorted = edges.to_vec();
    sorted.sort_by(|x, y| x.weight.total_cmp(&y.weight));
    let mut comp: Vec<usize> = (0..n).collect();
    let mut tree = Vec::new();
    for e in sorted {
        let (ca, cb) = (comp[e.a], comp[e.b]);
        if ca != cb {
            comp.iter_mut().filter(|c| **c == cb).for_each(|c| *c = ca);
            tree.push(e);
        }
    }
    tree
}

/// The nodes on `a`'s side when tree edge `cut` is removed.
fn side(n: usize, tree: &[Edge], cut: &Edge) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut stack = vec![cut.a];
    seen[cut.a] = true;
    while let Some(x) = stack.pop() {
        for e in tree.iter().filter(|e| *e != cut) {
            for (u, v) in [(e.a, e.b), (e.b, e.a)] {
                if u == x && !seen[v] {
                    seen[v] = true;
                    stack.push(v);
                }
            }
        }
    }
    seen
}

/// The exact MST over minima with losses `losses`, calling `saddle(i, j)` only for pairs it
/// needs, at most `budget` times beyond the first `n − 1`.
///
/// 1. Connect every minimum to the global minimum (`suggest.py`'s first rule).
/// 2. Repeat: take the Kruskal tree of the evaluated pairs; scanning tree edges from the
///    highest, find one whose cut (the two sides the edge separates) holds an unevaluated
///    pair whose lower bound `max(L_i, L_j)` is below the edge's weight, and evaluate the
///    lowest-bound such pair (`suggest.py`'s "mst" rule).
/// 3. Stop when no such pair is left: then every tree edge is the lightest edge across its
///    cut (evaluated pairs by construction, unevaluated ones by their bound), so by the cut
///    property the tree is the exact MST (`Mst::exact`). Running out of budget first leaves
///    `exact == false`.
///
/// ```
/// use flow_landscape::lazy_mst;
/// let (losses, w) = ([0.0, 0.0, 0.0], [[0.0, 1.0, 5.0], [1.0, 0.0, 2.0], [5.0, 2.0, 0.0]]);
/// let t = lazy_mst(&losses, usize::MAX, |i, j| Ok::<_, ()>(w[i][j])).unwrap();
/// assert!(t.exact);
/// assert_eq!(t.minimax(0, 2), 2.0);
/// ```
///
/// # Errors
/// The first error `saddle` returns.
pub fn lazy_mst<E>(
    losses: &[f64],
    budget: usize,
    mut saddle: impl FnMut(usize, usize) -> Result<f64, E>,
) -> Result<Mst, E> {
    let n = losses.len();
    let best = (0..n).fold(0, |b, i| if losses[i] < losses[b] { i } else { b });
    let mut evaluated = Vec::new();
    let mut eval = |i: usize, j: usize, evaluated: &mut Vec<Edge>| -> Result<(), E> {
        let (a, b) = (i.min(j), i.max(j));
        evaluated.push(Edge {
            a,
            b,
            weight: saddle(a, b)?,
        });
        Ok(())
    };
    for i in (0..n).filter(|&i| i != best) {
        eval(best, i, &mut evaluated)?;
    }
    let mut extra = 0;
    loop {
        let mut tree = kruskal(n, &evaluated);
        tree.sort_by(|x, y| y.weight.total_cmp(&x.weight));
        let tried = |i: usize, j: usize, ev: &[Edge]| ev.iter().any(|e| e.a == i && e.b == j);
        let mut next = None;
        for e in &tree {
            let left = side(n, &tree, e);
            let candidate = (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .filter(|&(i, j)| left[i] != left[j] && !tried(i, j, &evaluated))
                .map(|(i, j)| (losses[i].max(losses[j]), i, j))
                .filter(|(bound, _, _)| *bound < e.weight)
                .min_by(|x, y| x.0.total_cmp(&y.0));
            if candidate.is_some() {
                next = candidate;
                break;
            }
        }
        match next {
            None => {
                return Ok(Mst {
                    nodes: n,
                    edges: tree,
                    evaluated,
                    exact: true,
                });
            }
            Some(_) if extra >= budget => {
                return Ok(Mst {
                    nodes: n,
                    edges: tree,
                    evaluated,
                    exact: false,
                });
            }
            Some((_, i, j)) => {
                eval(i, j, &mut evaluated)?;
                extra += 1;
            }
        }
    }
}
