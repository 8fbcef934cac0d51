//! Reference sample sets for DW4 and LJ13 at τ = 1 by mean-free MALA, cached on disk.
//!
//! The FFF data sets (Köhler et al. / Klein et al.) are pre-generated MCMC samples whose
//! sampler settings are unconfirmed (`boltzmann-targets.md` §1.3); these are regenerated
//! locally. Validate them with [`crate::metrics::histogram`] of energies and pair distances.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flow_core::{DType, Tensor, parallel};
use rand::rngs::Xoshiro256PlusPlus;

use super::{McmcConfig, run_chains};
use crate::DataError;
use crate::energy::{LennardJones, MultiDoubleWell, Potential, Tempered};

/// A particle system with a reference set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReferenceTarget {
    /// DW4 (4 particles in 2-D).
    Dw4,
    /// LJ13 (13 particles in 3-D), bgflow's energy (pair sum over i < j).
    Lj13,
    /// LJ13 with the pair sum over ordered pairs: the energy of the equivariant-flow-matching
    /// data set that FFF's LJ13 results rest on ([`LennardJones::lj13_ordered_pairs`]).
    Lj13OrderedPairs,
}

impl ReferenceTarget {
    /// `(n_particles, n_dims)`.
    pub fn shape(self) -> (usize, usize) {
        match self {
            ReferenceTarget::Dw4 => (4, 2),
            ReferenceTarget::Lj13 | ReferenceTarget::Lj13OrderedPairs => (13, 3),
        }
    }

    /// A short file-name-safe name (`dw4`, `lj13`, `lj13-ordered-pairs`), used for cache files.
    pub fn name(self) -> &'static str {
        match self {
            ReferenceTarget::Dw4 => "dw4",
            ReferenceTarget::Lj13 => "lj13",
            ReferenceTarget::Lj13OrderedPairs => "lj13-ordered-pairs",
        }
    }

    /// A display name for tables and figures.
    pub fn label(self) -> &'static str {
        match self {
            ReferenceTarget::Dw4 => "DW4",
            ReferenceTarget::Lj13 => "LJ13 (pairs i<j)",
            ReferenceTarget::Lj13OrderedPairs => "LJ13 (ordered pairs)",
        }
    }

    /// The potential energy (in kT) the reference set samples.
    pub fn potential(self) -> Box<dyn Potential> {
        match self {
            ReferenceTarget::Dw4 => Box::new(MultiDoubleWell::dw4()),
            ReferenceTarget::Lj13 => Box::new(LennardJones::lj13()),
            ReferenceTarget::Lj13OrderedPairs => Box::new(LennardJones::lj13_ordered_pairs()),
        }
    }
}

/// Mean-free samples at τ = 1 with the sampler's diagnostics.
#[derive(Clone, Debug)]
pub struct ReferenceSet {
    /// `[n, n_particles · n_dims]` f64 samples.
    pub samples: Tensor,
    /// Mean acceptance probability of the run (NaN when loaded from cache).
    pub acceptance_rate: f64,
}

/// Chains per independent group: the unit of parallel work in [`generate_reference_with`].
/// Fixed (never derived from the thread count) so a seed gives the same samples on any
/// machine.
pub const CHAIN_GROUP: usize = 32;

/// Runs mean-free MALA (256 chains, burn-in 2000, thinning 20, step adapted to 0.574) for
/// at least `n` samples at τ = 1. DW4 starts from `N(0, 2²)` positions; LJ13 from a jittered
/// cubic grid of spacing 1.1 (no overlaps). Minutes for `n = 1e5` on 2 cores (LJ13 takes
/// about 20 s for the burn-in alone).
///
/// The samples are ordered draw-major: row `t · 256 + c` is draw `t` of chain `c`.
pub fn generate_reference(target: ReferenceTarget, n: usize, seed: u64) -> ReferenceSet {
    generate_reference_with(target, n, seed, 256, 2000)
}

/// [`generate_reference`] with `chains` chains and `burn_in` burn-in iterations (thinning
/// stays 20); rows are ordered `t · chains + c`. For quick checks; the cached reference sets
/// use the defaults.
///
/// The chains run in independent groups of [`CHAIN_GROUP`] (the last may be smaller), each
/// with its own start, random stream `flow_core::parallel::chunk_rng(seed, group)` and
/// step-size adaptation, on `flow_core::parallel::threads()` threads: the samples are
/// bit-identical for any thread count. The reported acceptance rate is the chain-weighted
/// mean over groups.
///
/// # Panics
/// If `chains == 0`.
pub fn generate_reference_with(
    target: ReferenceTarget,
    n: usize,
    seed: u64,
    chains: usize,
    burn_in: usize,
) -> ReferenceSet {
    assert!(
        chains > 0,
        "generate_reference_with: need at least one chain"
    );
    let (np, nd) = target.shape();
    let draws = n.div_ceil(chains);
    let cfg = McmcConfig::mala(1e-3, burn_in, draws, 20).with_mean_free(np, nd);
    let groups = parallel::map_chunks(chains, CHAIN_GROUP, |k, range| {
        let mut rng = parallel::chunk_rng(seed, k);
        let x0 = initial_states(target, range.len(), &mut rng);
        let energy = Tempered::temperature(target.potential());
        run_chains(&energy, 1.0, &x0, &cfg, &mut rng)
    });
    let dim = np * nd;
    let mut rows = Vec::with_capacity(draws * chains * dim);
    for t in 0..draws {
        for g in &groups {
            rows.extend_from_slice(&g.draws[t * g.chains * dim..(t + 1) * g.chains * dim]);
        }
    }
    let acceptance_rate = groups
        .iter()
        .map(|g| g.acceptance_rate * g.chains as f64)
        .sum::<f64>()
        / chains as f64;
    let samples = Tensor::from_vec(rows, &[draws * chains, dim]).narrow(0, 0, n);
    ReferenceSet {
        samples,
        acceptance_rate,
    }
}

/// Starting states of `chains` chains: DW4 from `N(0, 2²)`, LJ13 from a cubic grid of
/// spacing 1.1 jittered by `N(0, 0.05²)`.
fn initial_states(target: ReferenceTarget, chains: usize, rng: &mut Xoshiro256PlusPlus) -> Tensor {
    let (np, nd) = target.shape();
    match target {
        ReferenceTarget::Dw4 => Tensor::randn(&[chains, np * nd], DType::F64, rng).mul_scalar(2.0),
        ReferenceTarget::Lj13 | ReferenceTarget::Lj13OrderedPairs => {
            let grid: Vec<f64> = (0..np)
                .flat_map(|p| [(p % 3) as f64, ((p / 3) % 3) as f64, (p / 9) as f64])
                .map(|v| 1.1 * v)
                .collect();
            let g = Tensor::from_vec(grid, &[1, np * nd]).broadcast_to(&[chains, np * nd]);
            g.add(&Tensor::randn(&[chains, np * nd], DType::F64, rng).mul_scalar(0.05))
        }
    }
}

/// Loads `<dir>/<target>-n<n>-s<seed>.f64` if present, else generates and writes it.
/// The file is a little-endian header `rows, cols` (u64) followed by row-major f64 values.
///
/// # Errors
/// [`DataError`] if the cache exists but is malformed, or cannot be read or written.
pub fn load_or_generate_reference(
    target: ReferenceTarget,
    n: usize,
    seed: u64,
    dir: &Path,
) -> Result<ReferenceSet, DataError> {
    let path = dir.join(format!("{}-n{n}-s{seed}.f64", target.name()));
    if path.exists() {
        let samples = read_matrix(&path)?;
        let (np, nd) = target.shape();
        if samples.shape() != [n, np * nd] {
            let problem = format!("shape {:?}, expected [{n}, {}]", samples.shape(), np * nd);
            return Err(DataError::MalformedCache {
                source_name: path,
                problem,
            });
        }
        return Ok(ReferenceSet {
            samples,
            acceptance_rate: f64::NAN,
        });
    }
    let set = generate_reference(target, n, seed);
    write_matrix(&path, &set.samples)?;
    Ok(set)
}

fn io_err(path: &Path, error: std::io::Error) -> DataError {
    DataError::Read {
        source_name: path.to_path_buf(),
        line: 0,
        error,
    }
}

/// Writes a 2-D f64 tensor in the cache format, atomically (temporary file, then rename).
pub(crate) fn write_matrix(path: &Path, x: &Tensor) -> Result<(), DataError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_err(path, e))?;
    }
    let mut bytes = Vec::with_capacity(16 + 8 * x.len());
    bytes.extend((x.dim(0) as u64).to_le_bytes());
    bytes.extend((x.dim(1) as u64).to_le_bytes());
    x.to_vec_f64()
        .iter()
        .for_each(|v| bytes.extend(v.to_le_bytes()));
    // Temporary sibling + rename: an interrupted write never leaves a truncated cache file.
    let tmp = path.with_extension(format!("f64.tmp{}", std::process::id()));
    std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(path, e)
        })
}

/// Reads a 2-D f64 tensor in the cache format.
pub(crate) fn read_matrix(path: &Path) -> Result<Tensor, DataError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(|error| DataError::Open {
            source_name: PathBuf::from(path),
            error,
        })?
        .read_to_end(&mut bytes)
        .map_err(|e| io_err(path, e))?;
    let bad = |problem: String| DataError::MalformedCache {
        source_name: path.to_path_buf(),
        problem,
    };
    if bytes.len() < 16 {
        return Err(bad(format!(
            "{} bytes, shorter than the 16-byte header",
            bytes.len()
        )));
    }
    let word = |k: usize| {
        u64::from_le_bytes(bytes[8 * k..8 * k + 8].try_into().expect("8 bytes")) as usize
    };
    let (rows, cols) = (word(0), word(1));
    // A corrupted header can hold any u64: compute the expected length without overflow.
    let expected = rows
        .checked_mul(cols)
        .and_then(|v| v.checked_mul(8))
        .and_then(|v| v.checked_add(16));
    if expected != Some(bytes.len()) {
        return Err(bad(format!(
            "header says {rows}×{cols} but the file holds {} bytes",
            bytes.len()
        )));
    }
    let values: Vec<f64> = bytes[16..]
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "non-finite value at row {}, column {}",
            i / cols,
            i % cols
        )));
    }
    Ok(Tensor::from_vec(values, &[rows, cols]))
}
