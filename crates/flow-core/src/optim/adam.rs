//! Adam and AdamW (Kingma & Ba 2015, arXiv:1412.6980; Loshchilov & Hutter 2019,
//! arXiv:1711.05101).

use std::collections::HashMap;
use std::mem::MaybeUninit;

use ndarray::Zip;
use serde::{Deserialize, Serialize};

use super::{Optimizer, check_step_inputs};
use crate::data::{Data, Storage};
use crate::dtype::Element;
use crate::io::{Checkpoint, CheckpointError};
use crate::nn::Param;
use crate::tensor::Tensor;

/// Hyper-parameters of [`Adam`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// Denominator constant ε.
    pub eps: f64,
    /// Decoupled weight decay (AdamW): `θ ← θ − lr·λ·θ` before the Adam update. 0 = plain Adam.
    pub weight_decay: f64,
}

impl AdamConfig {
    /// Adam with PyTorch's defaults (β = (0.9, 0.999), ε = 1e-8, no weight decay).
    pub fn new(lr: f64) -> AdamConfig {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
    /// AdamW with decoupled weight decay `λ`.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> AdamConfig {
        self.weight_decay = weight_decay;
        self
    }
    /// Sets β₁ and β₂.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> AdamConfig {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
}

/// Adam / AdamW with bias-corrected moments.
pub struct Adam {
    config: AdamConfig,
    step: u64,
    moments: HashMap<String, (Data, Data)>,
}

impl Adam {
    /// A fresh optimiser.
    pub fn new(config: AdamConfig) -> Adam {
        Adam {
            config,
            step: 0,
            moments: HashMap::new(),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }
}

/// `rule` over five equal-length slices (the new values written to `out` from the old ones in
/// `xs`), compiled for the widest vectors the CPU has
/// (AVX-512F, else AVX2+FMA; the crate's baseline target is SSE2). The `sqrt` and division
/// chains of the rule are latency-bound, so 512-bit vectors pay even where the CPU splits
/// them (as in [`fastmath::simd`](crate::fastmath)); every path runs the same per-lane
/// operations, so the bits do not depend on the path (tested).
fn update_slices<T: Element>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    gs: &[T],
    ms: &mut [T],
    vs: &mut [T],
    rule: impl Fn(&mut T, T, &mut T, &mut T),
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F (checked just above), the only requirement of
        // the `target_feature` function.
        #[allow(unsafe_code)]
        return unsafe { update_avx512(out, xs, gs, ms, vs, rule) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above), the only requirement
        // of the `target_feature` function.
        #[allow(unsafe_code)]
        return unsafe { update_avx2(out, xs, gs, ms, vs, rule) };
    }
    update_plain(out, xs, gs, ms, vs, rule)
}

#[inline(always)]
fn update_plain<T: Element>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    gs: &[T],
    ms: &mut [T],
    vs: &mut [T],
    rule: impl Fn(&mut T, T, &mut T, &mut T),
) {
    for ((((o, &x), &gi), mi), vi) in out.iter_mut().zip(xs).zip(gs).zip(ms).zip(vs) {
        let mut x = x;
        rule(&mut x, gi, mi, vi);
        o.write(x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update_avx2<T: Element>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    gs: &[T],
    ms: &mut [T],
    vs: &mut [T],
    rule: impl Fn(&mut T, T, &mut T, &mut T),
) {
    update_plain(out, xs, gs, ms, vs, rule)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512<T: Element>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    gs: &[T],
    ms: &mut [T],
    vs: &mut [T],
    rule: impl Fn(&mut T, T, &mut T, &mut T),
) {
    update_plain(out, xs, gs, ms, vs, rule)
}

/// One Adam update of `p`: returns the new parameter values in a fresh buffer (the graph may
/// still hold the old ones), written from the old values in the same pass that updates the
/// moments, rather than after a serial copy of the parameter (a copy of every weight on one
/// core, ~10 µs of the reference MLP step's Adam; session 22).
fn update<T: Element>(
    p: &Storage<T>,
    g: &Storage<T>,
    m: &mut Storage<T>,
    v: &mut Storage<T>,
    c: &AdamConfig,
    t: u64,
) -> Storage<T> {
    let f = T::from_f64_lossy;
    let (b1, b2) = (f(c.beta1), f(c.beta2));
    let step_size = f(c.lr / (1.0 - c.beta1.powi(t as i32)));
    let bias2 = f((1.0 - c.beta2.powi(t as i32)).sqrt());
    let (eps, decay) = (f(c.eps), f(1.0 - c.lr * c.weight_decay));
    let rule = move |x: &mut T, gi: T, mi: &mut T, vi: &mut T| {
        *mi = b1 * *mi + (T::one() - b1) * gi;
        *vi = b2 * *vi + (T::one() - b2) * gi * gi;
        *x = *x * decay - step_size * *mi / (vi.sqrt() / bias2 + eps);
    };
    // Contiguous storage (always, for parameters and their state): flat loops the compiler
    // vectorises (the n-dimensional Zip cost ~8 % of an MLP step), in parts on the compute
    // team for large parameters (each element's update is independent of the cut).
    if let (Some(xs), Some(gs), Some(ms), Some(vs)) = (
        p.as_slice(),
        g.as_slice(),
        m.as_slice_mut(),
        v.as_slice_mut(),
    ) {
        let n = xs.len();
        let parts = crate::parallel::team::elementwise_parts(n);
        let chunk = n.div_ceil(parts).max(1);
        let mut out: Vec<T> = Vec::with_capacity(n);
        let items: Vec<_> = out.spare_capacity_mut()[..n]
            .chunks_mut(chunk)
            .zip(xs.chunks(chunk))
            .zip(gs.chunks(chunk))
            .zip(ms.chunks_mut(chunk))
            .zip(vs.chunks_mut(chunk))
            .collect();
        crate::parallel::team::run_parts(items, parts, |((((o, x), g), m), v)| {
            update_slices(o, x, g, m, v, rule)
        });
        // SAFETY: the chunks cover `0..n` and `update_slices` writes every element of its
        // chunk; a panic unwinds before this line and leaves `out` empty.
        #[allow(unsafe_code)]
        unsafe {
            out.set_len(n)
        };
        return ndarray::ArrayD::from_shape_vec(p.raw_dim(), out)
            .expect("Adam: parameter shape")
            .into_shared();
    }
    let mut out = p.to_owned();
    Zip::from(&mut out)
        .and(g)
        .and(m)
        .and(v)
        .for_each(|x, &gi, mi, vi| rule(x, gi, mi, vi));
    out.into_shared()
}

impl Optimizer for Adam {
    fn step(&mut self, params: &[Param], grads: &[Tensor]) {
        check_step_inputs("Adam::step", params, grads);
        self.step += 1;
        for (p, g) in params.iter().zip(grads) {
            let value = p.get();
            let entry = self.moments.entry(p.name().to_string()).or_insert_with(|| {
                let z = Data::full(value.shape(), 0.0, value.dtype());
                (z.clone(), z)
            });
            let new = match (value.data(), g.data(), &mut entry.0, &mut entry.1) {
                (Data::F32(x), Data::F32(gr), Data::F32(m), Data::F32(v)) => {
                    Data::F32(update(x, gr, m, v, &self.config, self.step))
                }
                (Data::F64(x), Data::F64(gr), Data::F64(m), Data::F64(v)) => {
                    Data::F64(update(x, gr, m, v, &self.config, self.step))
                }
                _ => panic!("Adam::step: dtype of state for {} does not match", p.name()),
            };
            p.set(Tensor::from_data(new));
        }
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// Sets β₁; the bias correction of the next step uses it (`1 − β₁ᵗ`), as PyTorch's Adam
    /// under a momentum-cycling scheduler.
    fn set_momentum(&mut self, momentum: f64) {
        self.config.beta1 = momentum;
    }

    fn save_state(&self, ck: &mut Checkpoint) {
        ck.set_metadata("optim.adam.step", self.step.to_string());
        for (name, (m, v)) in &self.moments {
            ck.insert(format!("optim.adam.m.{name}"), Tensor::from_data(m.clone()));
            ck.insert(format!("optim.adam.v.{name}"), Tensor::from_data(v.clone()));
        }
    }

    fn load_state(&mut self, ck: &Checkpoint, params: &[Param]) -> Result<(), CheckpointError> {
        let step: u64 = ck.metadata_parsed("optim.adam.step")?;
        let mut moments = HashMap::new();
        for p in params {
            let value = p.get();
            let m = ck.check_compatible(&format!("optim.adam.m.{}", p.name()), &value)?;
            let v = ck.check_compatible(&format!("optim.adam.v.{}", p.name()), &value)?;
            moments.insert(p.name().to_string(), (m.data().clone(), v.data().clone()));
        }
        self.step = step;
        self.moments = moments;
        Ok(())
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    /// The dispatched copies of the update loop (AVX2, AVX-512, whichever this CPU has)
    /// write the bits of the plain loop, tails included (odd length).
    #[test]
    fn every_instruction_set_path_gives_the_plain_loops_bits() {
        let n = 1037;
        let wave = |k: f32| {
            (0..n)
                .map(move |i| ((i as f32) * k).sin())
                .collect::<Vec<f32>>()
        };
        let (x0, g, m0) = (wave(0.37), wave(1.3), wave(0.11));
        let v0: Vec<f32> = wave(0.7).iter().map(|v| v * v).collect();
        let rule = |x: &mut f32, gi: f32, mi: &mut f32, vi: &mut f32| {
            *mi = 0.9 * *mi + 0.1 * gi;
            *vi = 0.999 * *vi + 0.001 * gi * gi;
            *x = *x * 0.9999 - 0.0123 * *mi / (vi.sqrt() / 0.031 + 1e-8);
        };
        let run = |path: &str| {
            let (mut m, mut v) = (m0.clone(), v0.clone());
            let mut out = vec![MaybeUninit::new(f32::NAN); n];
            let o = &mut out;
            match path {
                // SAFETY: each path runs only where the CPU has its features (checked below).
                #[cfg(target_arch = "x86_64")]
                "avx2" => unsafe { update_avx2(o, &x0, &g, &mut m, &mut v, rule) },
                #[cfg(target_arch = "x86_64")]
                "avx512f" => unsafe { update_avx512(o, &x0, &g, &mut m, &mut v, rule) },
                _ => update_plain(o, &x0, &g, &mut m, &mut v, rule),
            }
            // SAFETY: every path writes every element (NaN-initialised, so a skip shows).
            let x: Vec<f32> = out.iter().map(|e| unsafe { e.assume_init() }).collect();
            [x, m, v].map(|s| s.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
        };
        let want = run("plain");
        #[cfg(target_arch = "x86_64")]
        for (path, has) in [
            (
                "avx2",
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            ),
            ("avx512f", is_x86_feature_detected!("avx512f")),
        ] {
            if has {
                assert_eq!(run(path), want, "{path}");
            }
        }
    }
}
