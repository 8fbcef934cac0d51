//! The grid variant of TRADE (`trade.md` §1.3 and §1.5.1; arXiv 2410.19492 §3.3): `c` lives
//! on a log-spaced grid `{c_k}` (plus `c₀`), `E_{c_k}[A]` is cached in a table filled by SNIS
//! and blended with an EMA on refresh, `EX ← α EX + (1 − α) new`, and grid points are drawn
//! with causality weights `log w_k = −ε s_k`, `s_k = Σ_{j between base and k} L̄_j |Δc_j|`,
//! so the residual spreads outward from `c₀` only once the region nearer the boundary is fitted.
//!
//! **Gated refresh** (optional, [`ExpectationGrid::with_min_effective`]): a fresh SNIS
//! estimate enters the table only when its Kish effective sample count `N · ESS` reaches a
//! minimum. SNIS degenerates where the flow is poor (`trade.md` §5, "SNIS degenerates far from
//! where the proposal is accurate"); with one effective sample the estimate is `A` at one flow
//! sample, and a degraded cold-end flow's outlier then sets the table (GMM-6 v4 full, seed 1:
//! `Ê = 1723` at β = 6.16 with ESS 0.001, exact 1.53), the residual's target follows the flow's
//! own error and the two feed each other. With the gate, a degenerate refresh keeps the last
//! trusted value, whose residual pulls the flow back toward the tempered target; a point with
//! no trusted value yet is left out of the residual (its causality weight is 0) until one
//! arrives.

use flow_core::Tensor;
use flow_core::io::Checkpoint;
use rand::{Rng, RngExt};

use crate::error::TradeError;
use crate::family::Family;
use crate::flow::ParamFlow;
use crate::snis::snis_expectation;

/// The grid, its `E_c[A]` table and the per-point residual-loss averages.
#[derive(Clone, Debug)]
pub struct ExpectationGrid {
    cs: Vec<f64>,
    base: usize,
    ex: Option<Vec<f64>>,
    ess: Vec<f64>,
    loss_ema: Vec<f64>,
    trusted: Vec<bool>,
    min_effective: f64,
}

impl ExpectationGrid {
    /// `points` log-spaced values on `[c_min, c_max]`, plus `c₀`, sorted.
    ///
    /// # Panics
    /// If `points < 2` or the interval is not `0 < c_min ≤ c₀ ≤ c_max`.
    ///
    /// ```
    /// let g = flow_trade::grid::ExpectationGrid::new(0.5, 2.0, 3, 1.2);
    /// assert_eq!(g.cs().len(), 4);
    /// assert_eq!(g.cs()[g.base()], 1.2);
    /// ```
    pub fn new(c_min: f64, c_max: f64, points: usize, c0: f64) -> ExpectationGrid {
        assert!(
            points >= 2,
            "ExpectationGrid: need ≥ 2 points, got {points}"
        );
        assert!(
            0.0 < c_min && c_min <= c0 && c0 <= c_max,
            "ExpectationGrid: need 0 < c_min ≤ c0 ≤ c_max, got {c_min}, {c0}, {c_max}"
        );
        let (l0, l1) = (c_min.ln(), c_max.ln());
        let mut cs: Vec<f64> = (0..points)
            .map(|i| (l0 + (l1 - l0) * i as f64 / (points - 1) as f64).exp())
            .collect();
        cs.push(c0);
        cs.sort_by(f64::total_cmp);
        cs.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * b.abs());
        let base = cs
            .iter()
            .position(|&c| (c - c0).abs() <= 1e-12 * c0.abs())
            .expect("c0 is on the grid");
        let k = cs.len();
        ExpectationGrid {
            cs,
            base,
            ex: None,
            ess: vec![0.0; k],
            loss_ema: vec![0.0; k],
            trusted: vec![false; k],
            min_effective: 0.0,
        }
    }

    /// Gates the refresh: a fresh estimate with fewer than `n` effective samples (`N · ESS`)
    /// leaves its table entry as it was (see the module docs). `n = 0` (the default) takes
    /// every estimate.
    ///
    /// # Panics
    /// If `n` is negative or not finite.
    pub fn with_min_effective(mut self, n: f64) -> ExpectationGrid {
        assert!(
            n.is_finite() && n >= 0.0,
            "ExpectationGrid: min effective samples must be finite and ≥ 0, got {n}"
        );
        self.min_effective = n;
        self
    }

    /// Whether each point's table entry comes from estimates that passed the gate (all points,
    /// once filled, without a gate).
    pub fn trusted(&self) -> &[bool] {
        &self.trusted
    }

    /// The grid values, increasing.
    pub fn cs(&self) -> &[f64] {
        &self.cs
    }

    /// Index of `c₀`.
    pub fn base(&self) -> usize {
        self.base
    }

    /// The `E_c[A]` table, once filled.
    pub fn table(&self) -> Option<&[f64]> {
        self.ex.as_deref()
    }

    /// Relative ESS of the last SNIS refresh per grid point.
    pub fn ess(&self) -> &[f64] {
        &self.ess
    }

    /// Fills the table (first call) or blends a fresh SNIS estimate in with weight `1 − alpha`.
    /// With a gate, an estimate below it is ignored at a trusted point, and stored but not
    /// trusted at a point without a trusted value; the first estimate that passes at an
    /// untrusted point replaces its entry instead of being blended with it.
    ///
    /// # Errors
    /// [`TradeError::NonFinite`] with the offending `c` if an energy or weight is not finite;
    /// the table is then left unchanged.
    pub fn refresh<R: Rng + ?Sized>(
        &mut self,
        model: &ParamFlow,
        family: &Family,
        samples: usize,
        alpha: f64,
        step: u64,
        rng: &mut R,
    ) -> Result<(), TradeError> {
        let mut fresh = Vec::with_capacity(self.cs.len());
        let mut ess = Vec::with_capacity(self.cs.len());
        for &c in &self.cs {
            let e = snis_expectation(model, family, c, samples, step, rng)?;
            fresh.push(e.value);
            ess.push(e.ess);
        }
        self.absorb(&fresh, &ess, samples, alpha);
        Ok(())
    }

    /// The table update of [`ExpectationGrid::refresh`] from given estimates `fresh` with
    /// relative ESS `ess` from `samples` draws each: EMA blend with weight `1 − alpha`, gated
    /// as described there.
    ///
    /// # Panics
    /// If `fresh` or `ess` does not have one entry per grid point.
    pub fn absorb(&mut self, fresh: &[f64], ess: &[f64], samples: usize, alpha: f64) {
        let k = self.cs.len();
        assert!(
            fresh.len() == k && ess.len() == k,
            "ExpectationGrid::absorb: {} estimates and {} ESS values for {k} points",
            fresh.len(),
            ess.len()
        );
        let mut table = self.ex.take().unwrap_or_else(|| fresh.to_vec());
        for k in 0..k {
            let passes = samples as f64 * ess[k] >= self.min_effective;
            table[k] = match (self.trusted[k], passes) {
                (true, true) => alpha * table[k] + (1.0 - alpha) * fresh[k],
                (true, false) => table[k],
                (false, _) => fresh[k],
            };
            self.trusted[k] |= passes;
        }
        self.ex = Some(table);
        self.ess = ess.to_vec();
    }

    /// Blends the mean residual loss of the samples drawn at each index into `L̄`:
    /// `L̄_k ← α L̄_k + (1 − α) mean(loss at k)` for every `k` that was drawn.
    pub fn update_losses(&mut self, idx: &[usize], losses: &[f64], alpha: f64) {
        let k = self.cs.len();
        let (mut sum, mut cnt) = (vec![0.0; k], vec![0usize; k]);
        for (&i, &l) in idx.iter().zip(losses) {
            sum[i] += l;
            cnt[i] += 1;
        }
        for i in 0..k {
            if cnt[i] > 0 {
                self.loss_ema[i] =
                    alpha * self.loss_ema[i] + (1.0 - alpha) * sum[i] / cnt[i] as f64;
            }
        }
    }

    /// The causality exponents `s_k` (with the `|Δc|` factor of the `_V2` code): 0 at the
    /// base, non-decreasing away from it.
    pub fn causality_exponents(&self) -> Vec<f64> {
        let (k, b) = (self.cs.len(), self.base);
        let mut s = vec![0.0; k];
        for i in b + 1..k {
            s[i] = s[i - 1] + self.loss_ema[i - 1] * (self.cs[i] - self.cs[i - 1]).abs();
        }
        for i in (0..b).rev() {
            s[i] = s[i + 1] + self.loss_ema[i + 1] * (self.cs[i + 1] - self.cs[i]).abs();
        }
        s
    }

    /// Stores the grid, its table, the last ESS and the loss averages under `trade.grid.*`
    /// (f64, so a resumed run continues bit for bit).
    pub fn save_to(&self, ck: &mut Checkpoint) {
        let put = |ck: &mut Checkpoint, k: &str, v: &[f64]| {
            ck.insert(
                format!("trade.grid.{k}"),
                Tensor::from_vec(v.to_vec(), &[v.len()]),
            );
        };
        put(ck, "cs", &self.cs);
        put(ck, "ess", &self.ess);
        put(ck, "loss_ema", &self.loss_ema);
        let trusted: Vec<f64> = self
            .trusted
            .iter()
            .map(|&t| f64::from(u8::from(t)))
            .collect();
        put(ck, "trusted", &trusted);
        if let Some(ex) = &self.ex {
            put(ck, "ex", ex);
        }
    }

    /// Restores what [`ExpectationGrid::save_to`] stored.
    ///
    /// # Errors
    /// [`TradeError::Checkpoint`] if a tensor is missing; [`TradeError::Config`] if the stored
    /// grid is not this one (another interval, point count or `c₀`).
    pub fn restore_from(&mut self, ck: &Checkpoint) -> Result<(), TradeError> {
        let get = |k: &str| -> Result<Vec<f64>, TradeError> {
            Ok(ck.tensor(&format!("trade.grid.{k}"))?.to_vec_f64())
        };
        if get("cs")? != self.cs {
            return Err(TradeError::Config(
                "the checkpoint's c grid differs from this run's".into(),
            ));
        }
        let (ess, loss_ema) = (get("ess")?, get("loss_ema")?);
        let ex = if ck.names().contains(&"trade.grid.ex") {
            Some(get("ex")?)
        } else {
            None
        };
        let k = self.cs.len();
        if ess.len() != k || loss_ema.len() != k || ex.as_ref().is_some_and(|e| e.len() != k) {
            return Err(TradeError::Config(
                "the checkpoint's grid state has the wrong length".into(),
            ));
        }
        let trusted = if ck.names().contains(&"trade.grid.trusted") {
            get("trusted")?.iter().map(|&t| t != 0.0).collect()
        } else {
            vec![ex.is_some(); k]
        };
        if trusted.len() != k {
            return Err(TradeError::Config(
                "the checkpoint's grid state has the wrong length".into(),
            ));
        }
        (self.ess, self.loss_ema, self.ex, self.trusted) = (ess, loss_ema, ex, trusted);
        Ok(())
    }

    /// Draws `n` grid indices from `Categorical(logits = −ε s_k)` (uniform when all `L̄ = 0`
    /// or `ε = 0`), leaving out points without a trusted table entry once the table exists
    /// (the base point is always drawn: with no trusted point at all, every draw is `c₀`).
    pub fn sample_indices<R: Rng + ?Sized>(
        &self,
        n: usize,
        epsilon: f64,
        rng: &mut R,
    ) -> Vec<usize> {
        let s = self.causality_exponents();
        let gated = self.ex.is_some();
        let logits: Vec<f64> = s
            .iter()
            .enumerate()
            .map(|(k, v)| {
                if gated && !self.trusted[k] && k != self.base {
                    f64::NEG_INFINITY
                } else {
                    -epsilon * v
                }
            })
            .collect();
        let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let total: f64 = w.iter().sum();
        (0..n)
            .map(|_| {
                let mut u = rng.random::<f64>() * total;
                for (i, wi) in w.iter().enumerate() {
                    if u < *wi {
                        return i;
                    }
                    u -= wi;
                }
                w.len() - 1
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    #[test]
    fn causality_exponents_vanish_at_base_and_grow_away() {
        let mut g = ExpectationGrid::new(0.4, 1.1, 8, 1.0);
        let k = g.cs().len();
        let idx: Vec<usize> = (0..k).collect();
        let losses: Vec<f64> = (0..k).map(|i| 0.1 + i as f64 * 0.05).collect();
        g.update_losses(&idx, &losses, 0.0);
        let s = g.causality_exponents();
        assert_eq!(s[g.base()], 0.0);
        for i in g.base() + 1..k {
            assert!(s[i] > s[i - 1]);
        }
        for i in 0..g.base() {
            assert!(s[i] > s[i + 1]);
        }
    }

    /// Without a gate the update is the plain EMA; with one, an estimate below it leaves a
    /// trusted entry as it was, and a point without a trusted entry is never drawn until an
    /// estimate passes, which then replaces (not blends) its entry.
    #[test]
    fn gated_refresh_keeps_trusted_entries_and_skips_untrusted_points() {
        // Grid 0.5, 1.0, 1.2 (= c₀), 2.0.
        let mut plain = ExpectationGrid::new(0.5, 2.0, 3, 1.2);
        assert_eq!(plain.cs().len(), 4);
        plain.absorb(&[1.0, 2.0, 3.0, 4.0], &[0.001; 4], 1000, 0.75);
        plain.absorb(&[5.0, 6.0, 7.0, 8.0], &[0.001; 4], 1000, 0.75);
        assert_eq!(plain.table().unwrap(), &[2.0, 3.0, 4.0, 5.0]);

        // 1000 samples, gate 10 effective: ESS 0.001 (1 sample) fails, 0.5 passes.
        let mut g = ExpectationGrid::new(0.5, 2.0, 3, 1.2).with_min_effective(10.0);
        let cold = 0;
        g.absorb(&[1.0, 2.0, 3.0, 4.0], &[0.001, 0.5, 0.5, 0.5], 1000, 0.75);
        assert_eq!(g.trusted(), &[false, true, true, true]);
        assert_eq!(
            g.table().unwrap()[cold],
            1.0,
            "an untrusted estimate is still stored"
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        assert!(
            g.sample_indices(5000, 0.0, &mut rng)
                .iter()
                .all(|&i| i != cold)
        );
        // A degenerate estimate (1723 from one sample) at a trusted point changes nothing;
        // the passing ones blend.
        g.absorb(
            &[1.0, 6.0, 7.0, 1723.0],
            &[0.001, 0.5, 0.5, 0.001],
            1000,
            0.75,
        );
        assert_eq!(g.table().unwrap(), &[1.0, 3.0, 4.0, 4.0]);
        // The first passing estimate at the untrusted point replaces its entry.
        g.absorb(&[9.0, 3.0, 4.0, 4.0], &[0.2, 0.5, 0.5, 0.5], 1000, 0.75);
        assert_eq!(g.table().unwrap()[cold], 9.0);
        assert!(g.trusted().iter().all(|&t| t));
        let drawn = g.sample_indices(5000, 0.0, &mut rng);
        assert!(drawn.iter().filter(|&&i| i == cold).count() > 1000);
    }

    /// With all L̄ = 0 the categorical is uniform: 40k draws over 9 points give each a count
    /// within 5 standard deviations (√(n p (1−p)) ≈ 63) of n/9.
    #[test]
    fn zero_losses_give_uniform_sampling() {
        let g = ExpectationGrid::new(0.4, 1.1, 8, 1.0);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let n = 40_000;
        let idx = g.sample_indices(n, 0.9, &mut rng);
        let k = g.cs().len();
        for i in 0..k {
            let cnt = idx.iter().filter(|&&j| j == i).count() as f64;
            assert!(
                (cnt - n as f64 / k as f64).abs() < 320.0,
                "point {i}: {cnt}"
            );
        }
    }
}
