//! The ∫ p dA rows of `mfff-earth` beyond the reported (decoder-side) one: the equal-area
//! midpoint rule applied to the model's encoder-side density and to its own vMF-mixture base,
//! and the page's reading of the numbers.
//!
//! Why the encoder side: with `z = f(x)` the decoder-side density is
//! `p_dec(x) = p_Z(f(x)) / |det_M g'(f(x))| = p_enc(x) / |det_M (g∘f)'(x)|` (chain rule), so
//! `∫ p_dec dA = ∫ p_enc(x) / |det_M (g∘f)'(x)| dA`. The encoder side integrates to exactly 1
//! whenever f is a diffeomorphism of S², whatever g does; the decoder side also needs g∘f to
//! preserve volume on the whole sphere, not only at the data (where the paired encoder −
//! decoder row checks it). The two masses therefore separate an encoder that folds or misses
//! part of the sphere (encoder mass ≠ 1) from a decoder that does not invert the encoder away
//! from the data (encoder mass ≈ 1, decoder mass ≠ 1). The base's mass on the same grid checks
//! the rule itself at the base's concentration.

use flow_core::no_grad;
use rand::Rng;

use super::common::{Model, equal_area_grid};
use flow_manifold::Side;

/// Band of every ∫ p dA row of the Earth page (a normalised density integrates to 1).
pub(super) const MASS_BAND: f64 = 0.05;

/// Accepted error of the rule on the model's base: a fifth of [`MASS_BAND`], so that the rule's
/// own error cannot decide a model row.
pub(super) const RULE_BAND: f64 = 0.01;

/// ∫ p dA on the equal-area grid of the densities besides the reported one.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct SphereMass {
    /// Of the encoder-side density `p_Z(f(x)) |det_M f'(x)|`.
    pub encoder: f64,
    /// Of the model's base density `p_Z` (exactly normalised): the rule's own error.
    pub base: f64,
}

/// The midpoint rule on the `nx × ny` equal-area grid applied to the encoder-side density of
/// `flow` and to its base.
pub(super) fn sphere_mass(flow: &Model, nx: usize, ny: usize, rng: &mut dyn Rng) -> SphereMass {
    let (grid, cell) = equal_area_grid(nx, ny);
    let sum = |log_p: Vec<f64>| log_p.iter().map(|l| l.exp()).sum::<f64>() * cell;
    let encoder = sum(flow.exact(&grid, Side::Encoder, rng).log_prob.to_vec_f64());
    let base = no_grad(|| flow.base().log_prob(&grid.to_dtype(flow.dtype())));
    SphereMass {
        encoder,
        base: sum(base.to_vec_f64()),
    }
}

/// The page's reading of the three ∫ p dA rows of one set when one of the model rows misses
/// its band (generated from the outcome); `None` when both pass.
pub(super) fn mass_reading(label: &str, decoder: f64, m: &SphereMass) -> Option<String> {
    let ok = |v: f64| (v - 1.0).abs() < MASS_BAND;
    if ok(decoder) && ok(m.encoder) {
        return None;
    }
    let rule = format!(
        "{label}: the grid rule integrates the model's own (normalised) vMF-mixture base to {:.4}",
        m.base
    );
    let reading = if (m.base - 1.0).abs() >= RULE_BAND {
        "so the rule is not accurate at this grid and the two model rows are not conclusive (refine `grid`)".to_string()
    } else if ok(m.encoder) {
        format!(
            "and the encoder-side density (normalised whenever f is a diffeomorphism of S²) to {:.3}, so the reported decoder-side {decoder:.3} is the decoder not inverting the encoder in its volume change on part of the sphere: ∫ p_dec dA = ∫ p_enc / |det_M (g∘f)'| dA, and {:.1} % of mass {} there. At the test points the paired encoder − decoder row checks the same Jacobian; βR penalises g(f(x)) − x at the data only. A model error, not a quadrature error",
            m.encoder,
            100.0 * (decoder - m.encoder).abs() / m.encoder,
            if decoder > m.encoder {
                "is added (g∘f contracts volume)"
            } else {
                "is lost (g∘f expands volume)"
            }
        )
    } else if m.encoder > 1.0 {
        format!(
            "but the encoder-side density integrates to {:.3} > 1 (decoder {decoder:.3}): f is not injective on S² (it folds, so base mass is counted from two regions); the model honestly misses this check",
            m.encoder
        )
    } else {
        format!(
            "but the encoder-side density, exactly 1 whenever f is a diffeomorphism of S², integrates to {:.3} (decoder {decoder:.3}): base mass {:.3} has no preimage, f is not surjective (the projection x/‖x‖ lets f miss part of the sphere); the model honestly misses this check",
            m.encoder,
            1.0 - m.encoder
        )
    };
    Some(format!("{rule}, {reading}."))
}

#[cfg(test)]
mod tests {
    use super::super::MfffEarth;
    use super::super::common::{build_flow, density_map};
    use super::super::earth::EarthPreset;
    use super::*;
    use crate::experiment::{Experiment, Mode};
    use flow_core::nn::Module;
    use flow_manifold::{BaseSpec, ManifoldSpec};
    use rand::SeedableRng;

    /// With the encoder's residual branches zeroed, f(x) = x/‖x‖ is the identity on S², so the
    /// encoder-side density is the base density point by point and its mass is the base's on
    /// the grid to round-off, whatever the (random) decoder does; the decoder side differs.
    #[test]
    fn with_an_identity_encoder_the_encoder_mass_is_the_base_mass_whatever_the_decoder() {
        let p: EarthPreset = serde_json::from_value(MfffEarth.preset(Mode::Test)).unwrap();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        let flow = build_flow(
            ManifoldSpec::Sphere { n: 2 },
            &p.net,
            BaseSpec::VmfMixture { modes: p.modes },
            &mut rng,
        );
        let mut zeroed = 0;
        for q in flow.parameters() {
            // The last layer of each residual block maps back to R³ (out dimension 3).
            if q.name().starts_with("enc.") && q.shape()[0] == 3 {
                q.set(q.get().zeros_like());
                zeroed += 1;
            }
        }
        assert_eq!(zeroed, 2 * p.net.blocks, "a weight and a bias per block");
        let m = sphere_mass(&flow, 80, 40, &mut rng);
        assert!((m.encoder - m.base).abs() < 1e-10, "{m:?}");
        assert!((m.base - 1.0).abs() < RULE_BAND, "{m:?}");
        let decoder = density_map(&flow, 80, 40, &mut rng).1;
        assert!((decoder - m.base).abs() > 1e-4, "{decoder} vs {m:?}");
    }

    fn m(encoder: f64, base: f64) -> SphereMass {
        SphereMass { encoder, base }
    }

    #[test]
    fn the_reading_names_the_side_that_misses() {
        assert_eq!(mass_reading("V", 1.01, &m(0.99, 1.0)), None);
        let dec = mass_reading("V", 1.135, &m(1.002, 0.9999)).unwrap();
        assert!(
            dec.contains("not inverting") && dec.contains("13.3 %"),
            "{dec}"
        );
        assert!(dec.contains("contracts"), "{dec}");
        let fold = mass_reading("V", 1.2, &m(1.2, 1.0)).unwrap();
        assert!(fold.contains("not injective"), "{fold}");
        let miss = mass_reading("V", 0.9, &m(0.9, 1.0)).unwrap();
        assert!(
            miss.contains("not surjective") && miss.contains("0.100"),
            "{miss}"
        );
        let rule = mass_reading("V", 0.9, &m(1.0, 0.95)).unwrap();
        assert!(rule.contains("not conclusive"), "{rule}");
    }
}
