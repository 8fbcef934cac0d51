//! The range rules by field name (see the module above): what each preset field may hold
//! wherever it appears, and the per-item memory estimate of sample-like sizes.

/// One check a field's value must pass.
#[derive(Clone, Copy, Debug)]
pub(super) enum Allowed {
    /// An integer (or each integer of an array) in `min..=max`.
    Count { min: u64, max: u64 },
    /// A count whose memory is about `bytes` per unit raised to `power` (a grid side holds
    /// `grid²` cells); bounded by the available memory.
    Size { bytes: f64, power: i32 },
    /// A real number in the interval; `open` makes the bound strict.
    Real {
        lo: f64,
        lo_open: bool,
        hi: f64,
        hi_open: bool,
    },
    /// A non-empty array.
    NonEmpty,
}

/// Largest count accepted anywhere (10¹²): beyond it `usize` arithmetic in sizes overflows and
/// no run finishes anyway.
pub const MAX_COUNT: u64 = 1_000_000_000_000;

/// Bytes per item of a sample-like count: a sample in a few f64 activation tensors of width
/// 64 (8 bytes × 64 × 2). An estimate, deliberately low so every stored preset passes on a
/// few GiB; it only has to catch sizes that cannot fit (10⁹ samples, a 200000² grid).
pub(super) const SAMPLE_BYTES: f64 = 1024.0;

const fn real(lo: f64, lo_open: bool, hi: f64, hi_open: bool) -> Allowed {
    Allowed::Real {
        lo,
        lo_open,
        hi,
        hi_open,
    }
}
const POSITIVE: Allowed = real(0.0, true, f64::MAX, false);
const NON_NEGATIVE: Allowed = real(0.0, false, f64::MAX, false);
const FRACTION: Allowed = real(0.0, true, 1.0, true);
const LEARNING_RATE: Allowed = real(0.0, true, 10.0, false);
const HALF_OPEN_UNIT: Allowed = real(0.0, false, 1.0, true);
const UNIT: Allowed = real(0.0, false, 1.0, false);
const COUNT: Allowed = Allowed::Count {
    min: 1,
    max: MAX_COUNT,
};
const SAMPLES: Allowed = Allowed::Size {
    bytes: SAMPLE_BYTES,
    power: 1,
};

/// The rules by field name. Counts of samples also carry a memory [`Allowed::Size`].
pub(super) fn rules(field: &str) -> &'static [Allowed] {
    match field {
        "samples"
        | "test"
        | "train"
        | "val"
        | "eval"
        | "ess"
        | "test_samples"
        | "train_samples"
        | "construction_samples"
        | "simulations"
        | "posterior_samples"
        | "ess_samples"
        | "sample_batch"
        | "timing_batch"
        | "batch"
        | "batch_size"
        | "batch_per_domain"
        | "sine_train" => &[COUNT, SAMPLES],
        "grid" => &[
            Allowed::Count {
                min: 2,
                max: MAX_COUNT,
            },
            Allowed::Size {
                bytes: SAMPLE_BYTES,
                power: 2,
            },
        ],
        "steps"
        | "blocks"
        | "repeats"
        | "runs"
        | "seeds"
        | "directions"
        | "layers"
        | "iterations"
        | "evals"
        | "observations"
        | "construction_blocks"
        | "timing_reps"
        | "family_runs"
        | "train_steps"
        | "depth"
        | "width"
        | "hidden"
        | "robust_width"
        | "robust_iterations"
        | "manifold_iterations"
        | "robust_freq_step"
        | "bins"
        | "nsf_blocks"
        | "realnvp_blocks"
        | "digits_latent"
        | "vim_dim"
        | "eval_every"
        | "trained_dim"
        | "total_steps"
        | "known_classes"
        | "front" => &[COUNT],
        "dims" | "ks" | "trained_depths" => &[Allowed::NonEmpty, COUNT],
        "toys" | "kinds" | "fits" | "targets" | "scores" | "sources" | "methods" | "petals" => {
            &[Allowed::NonEmpty]
        }
        "lr" | "learning_rate" => &[LEARNING_RATE],
        "sigma" | "tolerance" | "step" | "radius" | "beta" | "clip" | "max_grad_norm"
        | "div_factor" | "final_div_factor" | "perturbation" | "bound" | "clamp" | "inner"
        | "outer" | "alpha" => &[POSITIVE],
        "noise" | "margin" | "penalty" | "weight" | "mild_degrees" | "strong_degrees" => {
            &[NON_NEGATIVE]
        }
        "level" | "pct_start" => &[FRACTION],
        "final_factor" => &[UNIT],
        "open_fraction" => &[HALF_OPEN_UNIT],
        _ => &[],
    }
}
