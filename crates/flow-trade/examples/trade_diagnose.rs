//! Diagnostic of grid TRADE on the tempered GMM-6, where everything is known exactly: exact
//! samples at every T (rejection sampler), `log Z(T)` and `E_T[A]` by quadrature. Along
//! training it prints, at a few temperatures, the forward KL and the **exact residual**
//! `r(x) = ∂_T log q_θ(x|T) − (E_T[A] − A(x;T))` on exact samples `x ~ p_T` (RMS and mean, in
//! T units whatever the model's parametrisation), and the SNIS table's error against
//! quadrature. Switches isolate each piece of the estimator:
//!
//! ```sh
//! cargo run --release -p flow-trade --example trade_diagnose -- \
//!     [param=T|beta] [ex=snis|exact] [points=flow|exact] [delta=0.1] [weight=0.1] \
//!     [lr=3e-3] [eps=5] [steps=250] [seeds=0,1,2] [nll_only=0] [cond=1] [adaptive=0] [min_eff=0]
//! ```
//!
//! Defaults are the quick `trade-gmm6` budget (4 affine blocks of [32, 32], batch 256,
//! residual batch 128, 16-point grid, 256 SNIS samples refreshed every 50 steps). `param`
//! picks what the flow is conditioned on (T: A = −u/T², latent N(0, T·I); beta: A = u,
//! latent N(0, I/β)); `ex=exact` replaces the SNIS table by quadrature and `points=exact`
//! the evaluation points `x ~ q_θ(·|c)` by exact samples; `cond=0` drops the condition (with
//! `nll_only=1`: the NLL + latent-scaling baseline); `adaptive=1` weights the residual with the
//! PINN rule of the GMM-6 page (every 25 steps, α = 0.015, λ_r from 10⁻³), `min_eff=n` gates
//! the table refresh at `n` effective samples (`ExpectationGrid::with_min_effective`). Every 50 steps
//! after the residual starts it also prints the gradient norms of the boundary and residual
//! terms (`g_b`, `g_r`), the residual's effective weight and the table entry at the coldest
//! grid point (estimate, exact value in the model's units, ESS). What it showed is in the `flow_trade`
//! crate docs ("Why TRADE lost").

use flow_core::nn::Module;
use flow_core::train::StepLoss;
use flow_core::{DType, Tensor, no_grad};
use flow_data::energy::{Gmm6, Tempered};
use flow_trade::adaptive::AdaptiveWeights;
use flow_trade::family::c_vec;
use flow_trade::gmm6::{TemperedGmm6Sampler, log_z_and_mean_u};
use flow_trade::grid::ExpectationGrid;
use flow_trade::loss::{nll_boundary, residual_target, residual_terms};
use flow_trade::metrics::forward_kl;
use flow_trade::train::{LoopConfig, TradeConfig, minibatch, optimize};
use flow_trade::{Family, LatentScale, ParamFlow, ParamFlowConfig};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

const T_RANGE: (f64, f64) = (0.16238, 6.15848);
const EVAL_TS: [f64; 5] = [0.20691, 0.33598, 0.54556, 1.0, 1.83298];
const H: f64 = 0.05;

#[derive(Clone, Debug)]
struct Opts {
    beta: bool,
    exact_ex: bool,
    exact_points: bool,
    delta: f64,
    weight: f64,
    lr: f64,
    eps: f64,
    steps: u64,
    seeds: Vec<u64>,
    nll_only: bool,
    conditional: bool,
    adaptive: bool,
    min_eff: f64,
}

fn parse() -> Opts {
    let mut o = Opts {
        beta: false,
        exact_ex: false,
        exact_points: false,
        delta: 0.1,
        weight: 0.1,
        lr: 3e-3,
        eps: 5.0,
        steps: 250,
        seeds: vec![0, 1, 2],
        nll_only: false,
        conditional: true,
        adaptive: false,
        min_eff: 0.0,
    };
    for a in std::env::args().skip(1) {
        let (k, v) = a.split_once('=').expect("arguments are key=value");
        match k {
            "param" => o.beta = v == "beta",
            "ex" => o.exact_ex = v == "exact",
            "points" => o.exact_points = v == "exact",
            "delta" => o.delta = v.parse().unwrap(),
            "weight" => o.weight = v.parse().unwrap(),
            "lr" => o.lr = v.parse().unwrap(),
            "eps" => o.eps = v.parse().unwrap(),
            "steps" => o.steps = v.parse().unwrap(),
            "seeds" => o.seeds = v.split(',').map(|s| s.parse().unwrap()).collect(),
            "nll_only" => o.nll_only = v == "1",
            "cond" => o.conditional = v == "1",
            "adaptive" => o.adaptive = v == "1",
            "min_eff" => o.min_eff = v.parse().unwrap(),
            _ => panic!("unknown option {k}"),
        }
    }
    o
}

/// Temperature of the model's parameter value `c`.
fn temp(o: &Opts, c: f64) -> f64 {
    if o.beta { 1.0 / c } else { c }
}

/// `E_c[A]` in the model's parametrisation, by quadrature.
fn exact_ex(o: &Opts, c: f64) -> f64 {
    let t = temp(o, c);
    let mean_u = log_z_and_mean_u(t, H).1;
    if o.beta { mean_u } else { -mean_u / (t * t) }
}

/// One evaluation row at every EVAL_TS: forward KL and the exact residual (T units).
fn evaluate(o: &Opts, model: &ParamFlow, fam: &Family, refs: &[(Tensor, f64, f64)]) -> String {
    let mut out = String::new();
    for (&t, (x, log_z, mean_u)) in EVAL_TS.iter().zip(refs) {
        let c = if o.beta { 1.0 / t } else { t };
        let kl = forward_kl(model, fam, x, c, *log_z);
        let n = x.dim(0);
        let g = no_grad(|| model.log_prob_and_dc(x, &c_vec(c, n, x)).1.to_vec_f64());
        let u = no_grad(|| fam.energy(x, &c_vec(1.0, n, x)).to_vec_f64());
        // ∂_T log p = (u − E_T[u]) / T²; the model's ∂_T log q from its ∂_c log q.
        let mut s1 = 0.0;
        let mut s2 = 0.0;
        for (gi, ui) in g.iter().zip(&u) {
            let dt = if o.beta { -gi / (t * t) } else { *gi };
            let r = dt - (ui - mean_u) / (t * t);
            s1 += r;
            s2 += r * r;
        }
        let (m, rms) = (s1 / n as f64, (s2 / n as f64).sqrt());
        out += &format!(" T={t:.3}: KL {kl:7.3} r̄ {m:+7.2} rms {rms:7.2} |");
    }
    out
}

fn main() {
    let o = parse();
    println!("{o:?}");
    let energy: Box<dyn flow_data::energy::Energy> = if o.beta {
        Box::new(Tempered::inverse_temperature(Gmm6))
    } else {
        Box::new(Tempered::temperature(Gmm6))
    };
    let (lo, hi) = if o.beta {
        (1.0 / T_RANGE.1, 1.0 / T_RANGE.0)
    } else {
        T_RANGE
    };
    let fam = Family::new(energy, 1.0, lo, hi).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(999);
    let data = Gmm6::sample(20_000, &mut rng);
    let refs: Vec<(Tensor, f64, f64)> = EVAL_TS
        .iter()
        .map(|&t| {
            let (lz, mu) = log_z_and_mean_u(t, H);
            (TemperedGmm6Sampler::new(t).sample(2000, &mut rng), lz, mu)
        })
        .collect();
    let cfg = TradeConfig {
        grid_points: 16,
        ..flow_trade_base()
    };
    let grid0 = ExpectationGrid::new(lo, hi, cfg.grid_points, 1.0).with_min_effective(o.min_eff);
    let samplers: Vec<TemperedGmm6Sampler> = if o.exact_points {
        grid0
            .cs()
            .iter()
            .map(|&c| TemperedGmm6Sampler::new(temp(&o, c)))
            .collect()
    } else {
        vec![]
    };
    let exact_table: Vec<f64> = grid0.cs().iter().map(|&c| exact_ex(&o, c)).collect();
    for &seed in &o.seeds {
        let mut mrng = Xoshiro256PlusPlus::seed_from_u64(100 + seed);
        let latent = if o.beta {
            LatentScale::InverseTemperature
        } else {
            LatentScale::Temperature
        };
        let model = ParamFlowConfig::affine(2, 4, &[32, 32])
            .with_latent(latent)
            .with_conditional(o.conditional)
            .build(DType::F64, &mut mrng);
        let mut grid = grid0.clone();
        let mut weights = AdaptiveWeights::default();
        let params = model.parameters();
        // The coldest grid point (largest β, or smallest T).
        let cold = if o.beta { grid0.cs().len() - 1 } else { 0 };
        let lc = LoopConfig {
            steps: o.steps,
            learning_rate: o.lr,
            clip: 2.0,
            seed,
        };
        let steps = o.steps;
        let t0 = (cfg.pde_start * steps as f64).ceil() as u64;
        let res = optimize(&model.parameters(), &lc, |step, rng| {
            if step % 50 == 0 {
                // The worst table entry: its error in T units of A (A_T = −A_β/T²), T, ESS.
                let (err, at, ess) = grid.table().map_or((f64::NAN, 0.0, 0.0), |t| {
                    let mut worst = (0.0, 0.0, 0.0);
                    for (k, (a, b)) in t.iter().zip(&exact_table).enumerate() {
                        let tk = temp(&o, grid.cs()[k]);
                        let e = if o.beta { (a - b) / (tk * tk) } else { a - b };
                        if e.abs() > worst.0 {
                            worst = (e.abs(), tk, grid.ess()[k]);
                        }
                    }
                    worst
                });
                println!(
                    "seed {seed} step {step:4} max|Ê−E| {err:8.3} at T {at:.3} (ESS {ess:.3}){}",
                    evaluate(&o, &model, &fam, &refs)
                );
            }
            let b = nll_boundary(&model, &minibatch(&data, cfg.batch, rng), 1.0);
            let lambda = o.weight / cfg.pde_weight * cfg.pde_lambda(step, steps);
            if lambda == 0.0 || o.nll_only {
                return Ok(StepLoss::new(b));
            }
            if grid.table().is_none() || (step - t0).is_multiple_of(cfg.refresh_every) {
                grid.refresh(&model, &fam, cfg.snis_samples, cfg.alpha_ex, step, rng)?;
            }
            let idx = grid.sample_indices(cfg.residual_batch, o.eps, rng);
            let cs: Vec<f64> = idx.iter().map(|&i| grid.cs()[i]).collect();
            let ex: Vec<f64> = if o.exact_ex {
                idx.iter().map(|&i| exact_table[i]).collect()
            } else {
                idx.iter().map(|&i| grid.table().unwrap()[i]).collect()
            };
            let n = idx.len();
            let c = Tensor::from_vec(cs, &[n]);
            let ex = Tensor::from_vec(ex, &[n]);
            let x = if o.exact_points {
                let rows: Vec<f64> = idx
                    .iter()
                    .flat_map(|&i| samplers[i].sample(1, rng).to_vec_f64())
                    .collect();
                Tensor::from_vec(rows, &[n, 2])
            } else {
                model.sample_detached(&c, rng).0
            };
            let target = residual_target(&fam, &x, &c, &ex);
            let terms = residual_terms(&model, &x, &c, &target, o.delta);
            grid.update_losses(&idx, &terms.detach().to_vec_f64(), cfg.alpha_loss);
            let r = terms.mean_all();
            let rv = r.item();
            let at_update = o.adaptive && step.is_multiple_of(25);
            if at_update || step.is_multiple_of(50) {
                let vals: Vec<Tensor> = params.iter().map(|p| p.get()).collect();
                let refs: Vec<&Tensor> = vals.iter().collect();
                let norm = |t: &Tensor| flow_trade::adaptive::grad_norm(t, &refs);
                let (gb, gr) = (norm(&b), norm(&r));
                if at_update {
                    weights.update(gb, gr, 0.015);
                }
                let w = lambda * if o.adaptive { weights.ratio() } else { 1.0 };
                if step.is_multiple_of(50) {
                    let table = grid.table().unwrap();
                    println!(
                        "seed {seed} step {step:4} g_b {gb:9.3e} g_r {gr:9.3e} weight {w:9.3e} \
                         residual {rv:9.3e} | cold c {:.3}: Ê {:8.4} exact {:8.4} ESS {:.3}",
                        grid.cs()[cold],
                        table[cold],
                        exact_table[cold],
                        grid.ess()[cold]
                    );
                }
            }
            let lambda = if o.adaptive {
                lambda * weights.ratio()
            } else {
                lambda
            };
            Ok(StepLoss::new(b.add(&r.mul_scalar(lambda))).with_term("residual", rv))
        });
        match res {
            Ok(_) => println!(
                "seed {seed} final          {}",
                evaluate(&o, &model, &fam, &refs)
            ),
            Err(e) => println!("seed {seed} stopped: {e}"),
        }
    }
}

/// The quick `trade-gmm6` grid settings.
fn flow_trade_base() -> TradeConfig {
    TradeConfig {
        boundary: flow_trade::train::Boundary::Nll,
        batch: 256,
        residual_batch: 128,
        pde_weight: 0.1,
        pde_start: 0.2,
        pde_full: 0.5,
        grid_points: 16,
        snis_samples: 256,
        refresh_every: 50,
        alpha_ex: 0.75,
        alpha_loss: 0.9,
        epsilon: 5.0,
        huber_delta: 0.1,
        sampler: flow_trade::train::Sampler::Grid,
        adaptive: None,
        min_effective_samples: 0.0,
    }
}
