//! One shard's gradient and the sum over shards, for [`DataParallel`](super::DataParallel).

use crate::data::Data;
use crate::nn::{Param, values};
use crate::parallel::team;
use crate::tensor::Tensor;

use super::StepLoss;
use super::data_parallel::{Shard, ShardedGrad};

/// What a shard sends back: plain data, so it can cross threads.
pub(super) struct ShardOut {
    loss: f64,
    terms: Vec<(String, f64)>,
    grads: Vec<Data>,
}

/// One shard's loss and weighted gradients `w_k ∇L_k` on `model`: the backward pass starts
/// from `w_k L_k`, so the weight costs no extra pass over the gradients.
pub(super) fn run_shard<M>(
    model: &M,
    params: &[Param],
    shard: &Shard,
    loss: &impl Fn(&M, &Shard) -> StepLoss,
) -> ShardOut {
    let out = loss(model, shard);
    let leaves = values(params);
    let w = shard.weight();
    let weighted = if w == 1.0 {
        out.loss.clone()
    } else {
        out.loss.mul_scalar(w)
    };
    let grads = crate::grad(&weighted, &leaves.iter().collect::<Vec<_>>());
    ShardOut {
        loss: out.loss.item(),
        terms: out.terms,
        grads: grads.iter().map(|g| g.data().clone()).collect(),
    }
}

/// `Σ_k w_k · out_k` in shard order (the gradients arrive weighted). The sums are taken in
/// place in shard 0's gradient buffers, `((g_0 + g_1) + g_2) + …` element by element (the
/// bits of a chain of `Tensor::add`), all parameters in one pass cut among the compute team,
/// instead of one allocating `add` per parameter, each a fork of its own (BENCHMARKS.md,
/// session 16).
pub(super) fn combine(shards: &[Shard], outs: Vec<ShardOut>) -> ShardedGrad {
    let mut loss = 0.0;
    let mut terms: Vec<(String, f64)> = Vec::new();
    let mut grads: Vec<Data> = Vec::new();
    let mut rest: Vec<Vec<Data>> = Vec::new();
    for (shard, out) in shards.iter().zip(outs) {
        let w = shard.weight();
        loss += w * out.loss;
        for (i, (name, v)) in out.terms.into_iter().enumerate() {
            match terms.get_mut(i) {
                Some(t) => t.1 += w * v,
                None => terms.push((name, w * v)),
            }
        }
        if grads.is_empty() {
            grads = out.grads;
        } else {
            rest.push(out.grads);
        }
    }
    for later in &rest {
        add_in_place(&mut grads, later);
    }
    let grads = grads.into_iter().map(Tensor::from_data).collect();
    ShardedGrad { loss, terms, grads }
}

/// `sum[i] += term[i]` for every parameter `i` (one team pass over all of them).
fn add_in_place(sum: &mut [Data], term: &[Data]) {
    let (mut f32s, mut f64s) = (Vec::new(), Vec::new());
    for (s, t) in sum.iter_mut().zip(term) {
        assert_eq!(
            s.shape(),
            t.shape(),
            "DataParallel: shard gradient shapes differ"
        );
        let contiguous = "DataParallel: gradients are contiguous";
        match (s, t) {
            (Data::F32(s), Data::F32(t)) => f32s.push((
                s.as_slice_mut().expect(contiguous),
                t.as_slice().expect(contiguous),
            )),
            (Data::F64(s), Data::F64(t)) => f64s.push((
                s.as_slice_mut().expect(contiguous),
                t.as_slice().expect(contiguous),
            )),
            _ => panic!("DataParallel: shard gradient dtypes differ"),
        }
    }
    team::add_assign_all(f32s);
    team::add_assign_all(f64s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;
    use rand::SeedableRng;

    fn out(grads: Vec<Data>) -> ShardOut {
        ShardOut {
            loss: 1.0,
            terms: vec![("t".into(), 2.0)],
            grads,
        }
    }

    fn bits(d: &Data) -> Vec<u64> {
        d.to_f64_vec().iter().map(|x| x.to_bits()).collect()
    }

    /// The in-place sum over shards has the bits of a chain of `Tensor::add` in shard order,
    /// for both dtypes, sizes below and above the parallel cut, and shard 0's buffers shared
    /// with another holder (which must keep its values).
    #[test]
    fn combine_equals_a_chain_of_adds_and_leaves_shared_buffers_alone() {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        let shapes: [&[usize]; 3] = [&[5], &[300, 257], &[7, 3]];
        let dtypes = [DType::F32, DType::F64, DType::F32];
        let per_shard: Vec<Vec<Tensor>> = (0..3)
            .map(|_| {
                shapes
                    .iter()
                    .zip(dtypes)
                    .map(|(s, d)| Tensor::randn(s, d, &mut rng))
                    .collect()
            })
            .collect();
        let held = per_shard[0][1].data().clone();
        let before = bits(&held);
        let want: Vec<Tensor> = (0..shapes.len())
            .map(|i| per_shard[0][i].add(&per_shard[1][i]).add(&per_shard[2][i]))
            .collect();
        // Shard 0's buffers 0 and 2 are its own (summed in place); buffer 1 is shared.
        let own = |k: usize, i: usize, t: &Tensor| match (k, i) {
            (0, 0 | 2) => t.mul_scalar(1.0).data().clone(),
            _ => t.data().clone(),
        };
        let outs = per_shard
            .iter()
            .enumerate()
            .map(|(k, g)| out(g.iter().enumerate().map(|(i, t)| own(k, i, t)).collect()))
            .collect();
        let dp = crate::train::DataParallel::new(3, || ((), Vec::new()));
        let got = combine(&dp.cut(30, 0), outs);
        for (g, w) in got.grads.iter().zip(&want) {
            assert_eq!(bits(g.data()), bits(w.data()));
        }
        assert_eq!(bits(&held), before, "a shared buffer was written");
        assert!((got.loss - 1.0).abs() < 1e-15 && (got.terms[0].1 - 2.0).abs() < 1e-15);
    }
}
