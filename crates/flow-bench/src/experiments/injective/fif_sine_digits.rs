//! `fif-sine-digits`: free-form injective flows (FIF) on the sine manifold and the 8×8 digits.

use flow_core::optim::Schedule;
use flow_core::{DType, Tensor};
use flow_data::digits::Digits;
use flow_data::toy::Toy2d;
use flow_freeform::{FffLossConfig, FreeFormFlow, JacobianSide, Latent, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::experiment::{Experiment, ExperimentError, Mode, Outcome, Table, Verdict, preset_value};
use crate::experiments::free_form::common::{
    NetPreset, Rng, exact_parallel, pick, resnet_config, resnet_model, resnet_spec, scatter, series,
};
use crate::experiments::free_form::training::{train, train_selected};
use crate::paper::PaperId;
use crate::plot::Heatmap;

/// Preset of [`FifManifolds`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FifPreset {
    /// Sine toy: network and training.
    pub sine: NetPreset,
    /// Digits: network and training.
    pub digits: NetPreset,
    /// Latent dimension for the digits.
    pub digits_latent: usize,
    /// Sine training samples.
    pub sine_train: usize,
    /// Clean sine test points for the exact NLL.
    pub sine_test: usize,
    /// Gaussian noise added to the sine training data (the FIF toy config: 0.1).
    pub sine_noise: f64,
    /// Noise added to the digits during training.
    pub digits_noise: f64,
    /// Gradient-norm clipping threshold (both runs).
    pub clip: f64,
    /// Validation measurements of the digits run (plus one before training); the best one's
    /// parameters are kept.
    pub selections: usize,
    /// Band on |NLL − H| of the sine (nats): the budget of this mode (the model density is
    /// that of a learned curve fitted to noisy data, so it approaches H only as training
    /// converges), plus 3 SE of the paired per-point difference.
    pub sine_nll_band: f64,
}

/// The sine NLL verdict: `|NLL − H| ≤ band + 3 SE`, with SE from the paired per-point
/// differences of the model's and the true on-manifold log densities.
pub fn sine_nll_verdict(model_nll: &[f64], true_nll: &[f64], band: f64) -> (f64, f64, bool) {
    let d: Vec<f64> = model_nll.iter().zip(true_nll).map(|(a, b)| a - b).collect();
    let n = d.len() as f64;
    let gap = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|v| (v - gap).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let se = (var / n).sqrt();
    (gap, se, gap.abs() <= band + 3.0 * se)
}

/// `fif-sine-digits`: free-form injective flows on the sine curve (2 → 1) and digits (64 → d).
pub struct FifManifolds;

fn sine_data(n: usize, rng: &mut Rng) -> Tensor {
    Toy2d::Sine.sample(n, DType::F32, rng)
}

fn digits_tile(x: &Tensor, rows: usize, cols: usize) -> Vec<f64> {
    let v = x.to_vec_f64();
    let (w, h) = (cols * 8, rows * 8);
    let mut out = vec![0.0; w * h];
    for img in 0..rows * cols {
        let (r, c) = (img / cols, img % cols);
        for py in 0..8 {
            for px in 0..8 {
                // Heatmap row 0 is at the bottom: flip vertically.
                let y = h - 1 - (r * 8 + py);
                out[y * w + c * 8 + px] = v[img * 64 + py * 8 + px];
            }
        }
    }
    out
}

impl Experiment for FifManifolds {
    fn version(&self) -> u32 {
        5 // 5: the sine NLL judged against the entropy, settings in the preset; 4: the workspace training engine (per-step random streams, selection checkpointed with the run); 2: minibatches from a stream seeded by one draw (resumable training); 3: digits keep the best-validation parameters
    }
    fn id(&self) -> &'static str {
        "fif-sine-digits"
    }
    fn paper(&self) -> PaperId {
        PaperId::InjectiveFlows
    }
    fn title(&self) -> &'static str {
        "FIF on the sine manifold and 8×8 digits"
    }
    fn claim(&self) -> &'static str {
        "An encoder/decoder pair with d < D trains by maximum likelihood on a learned manifold with the encoder Jacobian taken at the data point; samples lie on the data manifold and reconstruction stays small."
    }
    fn preset(&self, mode: Mode) -> serde_json::Value {
        let sine = NetPreset {
            hidden: pick(mode, vec![16], vec![128, 128], vec![256, 256]),
            blocks: pick(mode, 1, 4, 4),
            steps: pick(mode, 20, 1500, 39_000),
            batch: 128,
            lr: 1e-3,
            beta: 10.0,
        };
        let digits = NetPreset {
            hidden: pick(mode, vec![32], vec![256, 256], vec![512, 512]),
            blocks: pick(mode, 1, 2, 4),
            steps: pick(mode, 10, 1500, 20_000),
            batch: 128,
            lr: 1e-3,
            beta: 10.0,
        };
        preset_value(&FifPreset {
            sine,
            digits,
            digits_latent: pick(mode, 4, 12, 16),
            sine_train: pick(mode, 500, 50_000, 100_000),
            sine_test: pick(mode, 200, 2000, 2000),
            sine_noise: 0.1,
            digits_noise: 0.01,
            clip: 1.0,
            selections: 10,
            sine_nll_band: pick(mode, 100.0, 0.1, 0.05),
        })
    }
    fn run(&self, ctx: &mut RunContext) -> Result<Outcome, ExperimentError> {
        let p: FifPreset = ctx.preset()?;
        ctx.set_work(2);
        let mut table = Table::new(
            "FIF: exact on-manifold NLL −log p_Z(z) + ½ log det(J_gᵀJ_g), reconstruction and sample quality",
            "setting",
            "value",
        );
        // Sine: x₁ ~ N(0,1), x₂ = sin(πx₁/2), noise 0.1 during training, β = 10, latent 1.
        let mut rng = ctx.rng(10);
        let latent = Latent::standard_normal(1);
        let model = resnet_model(2, latent, 0, &p.sine, &mut rng);
        let spec = resnet_spec(resnet_config(2, latent, 0, &p.sine), latent);
        let data = sine_data(p.sine_train, &mut rng);
        let test = sine_data(p.sine_test, &mut rng);
        let cfg = TrainConfig::new(p.sine.steps, p.sine.batch, p.sine.lr)
            .with_schedule(Schedule::one_cycle(p.sine.steps))
            .with_clip(p.clip);
        ctx.set_message("FIF on the sine curve");
        let secs = train(
            ctx,
            "sine",
            &model,
            &data,
            None,
            FffLossConfig::new(p.sine.beta).with_noise(p.sine_noise),
            cfg,
            &mut rng,
        )?;
        let eval = exact_parallel(&model, &spec, &test, None, JacobianSide::Decoder, 1000);
        let samples = model.sample(p.sine_test, None, &mut rng);
        let off: f64 = samples
            .to_vec_f64()
            .chunks(2)
            .map(|s| (s[1] - (std::f64::consts::FRAC_PI_2 * s[0]).sin()).abs())
            .sum::<f64>()
            / p.sine_test as f64;
        // The true on-manifold density of x₁ (arc-length measure): log N(x₁) − ½ log(1 + g'(x₁)²).
        let true_nll: Vec<f64> = test
            .to_vec_f64()
            .chunks(2)
            .map(|s| {
                let d = std::f64::consts::FRAC_PI_2 * (std::f64::consts::FRAC_PI_2 * s[0]).cos();
                0.5 * s[0] * s[0]
                    + 0.5 * (2.0 * std::f64::consts::PI).ln()
                    + 0.5 * (1.0 + d * d).ln()
            })
            .collect();
        let truth = true_nll.iter().sum::<f64>() / true_nll.len() as f64;
        let model_nll: Vec<f64> = eval.log_prob.to_vec_f64().iter().map(|l| -l).collect();
        let (gap, se, ok) = sine_nll_verdict(&model_nll, &true_nll, p.sine_nll_band);
        table.push(
            format!("sine: exact test NLL (on-manifold; NLL − H = {gap:.4}, SE {se:.4})"),
            eval.mean_nll(),
            format!(
                "true arc-length entropy {truth:.3}: |NLL − H| ≤ {} + 3 SE",
                p.sine_nll_band
            ),
            Verdict::check(ok),
        );
        table.push(
            "sine: reconstruction ‖x − x̂‖² (clean test data)",
            eval.mean_reconstruction(),
            "< 0.01",
            Verdict::check(eval.mean_reconstruction() < 0.01),
        );
        table.push(
            "sine: mean |x₂ − sin(πx₁/2)| of samples",
            off,
            format!("< 0.05 (noise {} in training)", p.sine_noise),
            Verdict::check(off < 0.05),
        );
        table.push(
            "sine: training time (s)",
            secs,
            "timing, no claim",
            Verdict::Info,
        );
        let plot = scatter(
            "FIF on the sine curve",
            3.0,
            vec![
                series("test data", &test, 0),
                series("FIF samples", &samples, 1),
            ],
        );
        ctx.save_figure(
            "fif-sine-samples.svg",
            "Sine data and FIF samples x = g(z), z ~ N(0, 1).",
            |path| plot.save_svg(path),
        )?;
        ctx.step()?;
        // Digits: dequantised pixel counts scaled to [−0.5, 0.5], noise 0.01.
        let mut rng = ctx.rng(11);
        let digits = Digits::vendored();
        let split = digits.standard_split();
        let prep = |d: &Digits, rng: &mut Rng| {
            d.counts_tensor(DType::F32)
                .add(&Tensor::rand_uniform(
                    &[d.len(), 64],
                    0.0,
                    1.0,
                    DType::F32,
                    rng,
                ))
                .mul_scalar(1.0 / 17.0)
                .add_scalar(-0.5)
        };
        let train_x = prep(&split.train, &mut rng);
        let test_x = prep(&split.test, &mut rng);
        let val_x = prep(&split.val, &mut rng);
        let latent = Latent::standard_normal(p.digits_latent);
        let model = resnet_model(64, latent, 0, &p.digits, &mut rng);
        let spec = resnet_spec(resnet_config(64, latent, 0, &p.digits), latent);
        let cfg = TrainConfig::new(p.digits.steps, p.digits.batch, p.digits.lr)
            .with_schedule(Schedule::one_cycle(p.digits.steps))
            .with_clip(p.clip);
        ctx.set_message("FIF on digits");
        let beta = p.digits.beta;
        let held_out = |m: &FreeFormFlow| {
            let e = exact_parallel(m, &spec, &val_x, None, JacobianSide::Decoder, 100);
            e.mean_nll() + beta * e.mean_reconstruction()
        };
        let (report, kept) = train_selected(
            ctx,
            "digits",
            &model,
            &train_x,
            FffLossConfig::new(beta).with_noise(p.digits_noise),
            cfg,
            p.selections as u64,
            &mut rng,
            &held_out,
        )?;
        let secs = report.total_seconds - report.validation_seconds;
        let eval = exact_parallel(&model, &spec, &test_x, None, JacobianSide::Decoder, 100);
        let pix_var = test_x
            .sub(&test_x.mean_axis(0, true))
            .square()
            .sum_per_sample()
            .mean_all()
            .item();
        table.push(
            format!(
                "digits 64 → {}: exact test NLL (nats/image, on-manifold)",
                p.digits_latent
            ),
            eval.mean_nll(),
            "not reported in the paper (no claim)",
            Verdict::Info,
        );
        table.push(
            "digits: reconstruction ‖x − x̂‖² per image",
            eval.mean_reconstruction(),
            format!("≪ total variance {pix_var:.2} (< 25 %)"),
            Verdict::check(eval.mean_reconstruction() < 0.25 * pix_var),
        );
        table.push(
            "digits: step of the kept parameters (lowest validation NLL + β·reconstruction)",
            kept.step as f64,
            format!("{} steps in all (training diagnostic)", p.digits.steps),
            Verdict::Info,
        );
        table.push(
            "digits: training time (s)",
            secs,
            "timing, no claim",
            Verdict::Info,
        );
        let samples = model.sample(32, None, &mut rng);
        let recon = model.reconstruct(&test_x.narrow(0, 0, 16), None);
        let pair = Tensor::concat(&[&test_x.narrow(0, 0, 16), &recon], 0);
        for (name, imgs, caption) in [
            (
                "fif-digits-samples.svg",
                &samples,
                "32 FIF samples g(z), z ~ N(0, I).",
            ),
            (
                "fif-digits-reconstructions.svg",
                &pair,
                "Top two rows: test digits; bottom two rows: their reconstructions g(f(x)).",
            ),
        ] {
            let heat = Heatmap {
                title: caption.into(),
                value_label: "pixel".into(),
                x_range: (0.0, 64.0),
                y_range: (0.0, 32.0),
                nx: 64,
                ny: 32,
                values: digits_tile(imgs, 4, 8),
            };
            ctx.save_figure(name, caption, |path| heat.save_svg(path))?;
        }
        ctx.step()?;
        let notes = vec![format!(
            "Sine: ResNet {} blocks of {:?} with Linear(2 → 1), mirrored decoder, β = {}, noise {}, Adam {} one-cycle, batch {}, {} steps, clip {} (paper: 50 epochs of 100k). Digits: {} blocks of {:?}, latent {}, β = {}, noise {}, Adam {} one-cycle, batch {}, {} steps on the {} training images, keeping the parameters with the lowest NLL + β·reconstruction on the {} validation images, measured before training and {} times during it (the official runs keep their best-validation checkpoint; without it the full preset overfits, docs/LONG_RUNS.md); the paper's image experiments are MNIST/CelebA; the 8×8 digits are our small stand-in. NLLs are on-manifold densities of the projections x̂ and are only meaningful together with the reconstruction error shown beside them. Band of the sine NLL: |NLL − H| ≤ {} + 3 SE of the paired per-point difference (the budget of this mode; the learned curve is fitted to noisy data, so its density approaches H only as training converges).",
            p.sine.blocks,
            p.sine.hidden,
            p.sine.beta,
            p.sine_noise,
            p.sine.lr,
            p.sine.batch,
            p.sine.steps,
            p.clip,
            p.digits.blocks,
            p.digits.hidden,
            p.digits_latent,
            p.digits.beta,
            p.digits_noise,
            p.digits.lr,
            p.digits.batch,
            p.digits.steps,
            split.train.len(),
            split.val.len(),
            p.selections,
            p.sine_nll_band,
        )];
        Ok(Outcome {
            tables: vec![table],
            figures: Vec::new(),
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sine NLL row can fail: a density off by 0.3 nats is outside a 0.1 band.
    #[test]
    fn sine_nll_band_rejects_a_wrong_density() {
        let truth: Vec<f64> = (0..500).map(|i| 1.5 + 0.001 * (i % 50) as f64).collect();
        let close: Vec<f64> = truth.iter().map(|v| v + 0.02).collect();
        let far: Vec<f64> = truth.iter().map(|v| v - 0.3).collect();
        assert!(sine_nll_verdict(&close, &truth, 0.1).2);
        assert!(!sine_nll_verdict(&far, &truth, 0.1).2);
    }
}
