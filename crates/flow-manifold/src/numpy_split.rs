//! The official code's data split, bit for bit: `np.random.default_rng(seed).permutation(data)`
//! (numpy's `SeedSequence` → `PCG64` → `Generator.shuffle`), then the first `int(0.8 n)` rows
//! for training, the next up to `int(0.9 n)` for validation, the rest for testing.
//!
//! The official `fff/data/earth.py` and `fff/data/utils.py::split_dataset` use the seed
//! 1241735 for the Earth sets (the torus loaders default to `np.random.seed()`, i.e. `None`,
//! an unseeded split, unless a config passes a seed). This module re-implements the three
//! numpy algorithms from their published definitions (NEP 19, the PCG64 XSL-RR 128/64
//! generator of O'Neill, and Fisher–Yates with numpy's masked rejection sampling for the
//! bounded integer); the tests compare with numbers produced by numpy 2.4.

use flow_core::{DType, Tensor};

/// The seed of the official Earth split.
pub const OFFICIAL_SPLIT_SEED: u64 = 1_241_735;

/// numpy's `SeedSequence(entropy)` for a non-negative integer entropy, without spawn keys:
/// the 4-word pool after `mix_entropy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSequence {
    pool: [u32; 4],
}

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut v = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    v = v.wrapping_mul(*hash_const);
    v ^ (v >> XSHIFT)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

impl SeedSequence {
    /// The pool of `SeedSequence(entropy)`: the integer is split into little-endian 32-bit
    /// words (at least one), hashed into the pool and mixed.
    pub fn new(entropy: u64) -> SeedSequence {
        let mut words = vec![entropy as u32];
        if entropy >> 32 != 0 {
            words.push((entropy >> 32) as u32);
        }
        let mut hash_const = INIT_A;
        let mut pool = [0u32; 4];
        for (i, p) in pool.iter_mut().enumerate() {
            *p = hashmix(words.get(i).copied().unwrap_or(0), &mut hash_const);
        }
        for src in 0..4 {
            for dst in 0..4 {
                if src != dst {
                    let h = hashmix(pool[src], &mut hash_const);
                    pool[dst] = mix(pool[dst], h);
                }
            }
        }
        SeedSequence { pool }
    }

    /// `generate_state(n, np.uint64)`: `2n` 32-bit words from the cycled pool, paired
    /// little-endian into 64-bit words.
    pub fn generate_state_u64(&self, n: usize) -> Vec<u64> {
        let mut hash_const = INIT_B;
        let words: Vec<u32> = (0..2 * n)
            .map(|i| {
                let mut v = self.pool[i % 4] ^ hash_const;
                hash_const = hash_const.wrapping_mul(MULT_B);
                v = v.wrapping_mul(hash_const);
                v ^ (v >> XSHIFT)
            })
            .collect();
        words
            .chunks(2)
            .map(|w| u64::from(w[0]) | (u64::from(w[1]) << 32))
            .collect()
    }
}

/// numpy's `PCG64` bit generator (XSL-RR 128/64) with the 32-bit draw buffer of its
/// `Generator`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    buffered: Option<u32>,
}

const PCG_MULT: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

impl Pcg64 {
    /// `PCG64(SeedSequence(seed))`, as `np.random.default_rng(seed)` builds it.
    pub fn from_seed(seed: u64) -> Pcg64 {
        let v = SeedSequence::new(seed).generate_state_u64(4);
        let init_state = (u128::from(v[0]) << 64) | u128::from(v[1]);
        let init_seq = (u128::from(v[2]) << 64) | u128::from(v[3]);
        let mut g = Pcg64 {
            state: 0,
            inc: (init_seq << 1) | 1,
            buffered: None,
        };
        g.step();
        g.state = g.state.wrapping_add(init_state);
        g.step();
        g
    }
    /// The 128-bit state and increment (numpy's `bit_generator.state`).
    pub fn state(&self) -> (u128, u128) {
        (self.state, self.inc)
    }
    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }
    /// The next 64-bit output (`random_raw`).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let x = ((s >> 64) as u64) ^ (s as u64);
        x.rotate_right((s >> 122) as u32)
    }
    /// The next 32-bit output: the low half of a fresh 64-bit draw, whose high half is
    /// kept for the following call.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.buffered.take() {
            return v;
        }
        let v = self.next_u64();
        self.buffered = Some((v >> 32) as u32);
        v as u32
    }
    /// A uniform integer in `0..=max` by masked rejection (numpy's `random_interval`).
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let v = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                self.next_u64() & mask
            };
            if v <= max {
                return v;
            }
        }
    }
    /// `Generator.permutation(n)`: Fisher–Yates from the last position down.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            idx.swap(i, j);
        }
        idx
    }
}

/// The official split of `x`'s rows: `default_rng(seed).permutation(rows)`, then
/// `[:int(0.8n)]`, `[int(0.8n):int(0.9n)]`, `[int(0.9n):]` (Python's float truncation).
pub fn split_official(x: &Tensor, seed: u64) -> (Tensor, Tensor, Tensor) {
    let n = x.dim(0);
    let idx = Pcg64::from_seed(seed).permutation(n);
    let (a, b) = ((0.8 * n as f64) as usize, (0.9 * n as f64) as usize);
    let pick = |s: &[usize]| x.index_select(0, s).to_dtype(DType::F64);
    (pick(&idx[..a]), pick(&idx[a..b]), pick(&idx[b..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from numpy 2.4.6:
    // python3 -c "import numpy as np; ss=np.random.SeedSequence(1241735);
    //   print([hex(v) for v in ss.generate_state(4, np.uint64)]);
    //   g=np.random.default_rng(1241735); print(g.bit_generator.state);
    //   print([int(g.bit_generator.random_raw()) for _ in range(3)])"
    #[test]
    fn seed_sequence_and_pcg64_state_match_numpy() {
        assert_eq!(
            SeedSequence::new(OFFICIAL_SPLIT_SEED).generate_state_u64(4),
            vec![
                0x739d_bbaf_bfa2_bc89,
                0xdd4a_6d73_9e4e_6e2f,
                0x76e2_2d20_eb33_a238,
                0xd146_e0bf_f71e_fcdf
            ]
        );
        let mut g = Pcg64::from_seed(OFFICIAL_SPLIT_SEED);
        assert_eq!(
            g.state(),
            (
                35_921_775_112_383_701_870_709_488_202_169_495_781,
                316_046_555_818_347_414_849_218_647_338_155_637_183
            )
        );
        let raw: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(
            raw,
            vec![
                16_282_401_097_602_588_994,
                10_886_083_910_296_988_834,
                17_367_096_608_177_178_885
            ]
        );
    }

    // python3 -c "import numpy as np
    // for n in [10, 827, 6120]:
    //     p = np.random.default_rng(1241735).permutation(n)
    //     print(n, p[:12].tolist(), p[-4:].tolist(), int((np.arange(n) * p).sum()))"
    #[test]
    fn permutations_match_numpy() {
        let cases: [(usize, &[usize], [usize; 4], u64); 3] = [
            (10, &[6, 4, 8, 0, 1, 5, 3, 9, 7, 2], [3, 9, 7, 2], 204),
            (
                827,
                &[434, 678, 1, 730, 772, 667, 773, 488, 278, 617, 51, 62],
                [261, 162, 391, 322],
                139_548_367,
            ),
            (
                6120,
                &[
                    4368, 2816, 1298, 5827, 704, 3710, 3757, 4411, 4839, 2448, 5228, 5609,
                ],
                [931, 3234, 5511, 322],
                57_642_180_883,
            ),
        ];
        for (n, head, tail, weighted) in cases {
            let p = Pcg64::from_seed(OFFICIAL_SPLIT_SEED).permutation(n);
            assert_eq!(&p[..head.len()], head, "n = {n}");
            assert_eq!(&p[n - 4..], tail, "n = {n}");
            let w: u64 = p.iter().enumerate().map(|(i, v)| (i * v) as u64).sum();
            assert_eq!(w, weighted, "n = {n}");
        }
    }

    #[test]
    fn split_sizes_follow_python_truncation() {
        let x = Tensor::from_vec((0..827).map(f64::from).collect(), &[827, 1]);
        let (a, b, c) = split_official(&x, OFFICIAL_SPLIT_SEED);
        assert_eq!((a.dim(0), b.dim(0), c.dim(0)), (661, 83, 83));
        assert_eq!(a.to_vec_f64()[..3], [434.0, 678.0, 1.0]);
    }
}
