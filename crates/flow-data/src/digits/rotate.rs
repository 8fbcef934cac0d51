//! Rotating 8×8 images by an angle (bilinear interpolation, zero fill) and the rotated-digits
//! domain-shift builder of `competence-regions.md` §4.

use flow_core::Tensor;

use super::{DigitsSplits, PIXELS, SIDE};

/// Rotates each `[n, 64]` image by `degrees` counter-clockwise as displayed (row 0 at the
/// top) about the image centre (3.5, 3.5). Output pixel `(i, j)` reads the input at
/// `(r, c) = (s x + co y, co x − s y) + 3.5` with `x = j − 3.5`, `y = i − 3.5`, `s = sin θ`,
/// `co = cos θ`, by bilinear interpolation with zeros outside the image. Interpolation is a
/// convex combination with zeros, so images in `[0, 1]` stay in `[0, 1]` (no clipping needed).
/// 90° reproduces `numpy.rot90` exactly. Untracked (not differentiable).
///
/// # Panics
/// If `images` is not `[n, 64]`.
///
/// ```
/// use flow_core::Tensor;
/// let img = Tensor::from_vec((0..64).map(|v| v as f64).collect(), &[1, 64]);
/// let same = flow_data::digits::rotate_images(&img, 0.0);
/// assert_eq!(same.to_vec_f64(), img.to_vec_f64());
/// ```
pub fn rotate_images(images: &Tensor, degrees: f64) -> Tensor {
    assert!(
        images.ndim() == 2 && images.dim(1) == PIXELS,
        "rotate_images: expected [n, 64], got {:?}",
        images.shape()
    );
    let (s, co) = degrees.to_radians().sin_cos();
    let centre = (SIDE as f64 - 1.0) / 2.0;
    let v = images.to_vec_f64();
    let mut out = Vec::with_capacity(v.len());
    for img in v.chunks(PIXELS) {
        for i in 0..SIDE {
            for j in 0..SIDE {
                let (x, y) = (j as f64 - centre, i as f64 - centre);
                let r = s * x + co * y + centre;
                let c = co * x - s * y + centre;
                out.push(bilinear(img, snap(r), snap(c)));
            }
        }
    }
    Tensor::from_vec(out, images.shape()).to_dtype(images.dtype())
}

/// Rounds coordinates within 1e-9 of an integer (so 90° rotations are exact).
fn snap(v: f64) -> f64 {
    if (v - v.round()).abs() < 1e-9 {
        v.round()
    } else {
        v
    }
}

/// Bilinear read at real coordinates; pixels outside the image are 0.
fn bilinear(img: &[f64], r: f64, c: f64) -> f64 {
    let (r0, c0) = (r.floor(), c.floor());
    let (fr, fc) = (r - r0, c - c0);
    let at = |ri: f64, ci: f64| -> f64 {
        if ri < 0.0 || ci < 0.0 || ri > (SIDE - 1) as f64 || ci > (SIDE - 1) as f64 {
            0.0
        } else {
            img[ri as usize * SIDE + ci as usize]
        }
    };
    (1.0 - fr) * ((1.0 - fc) * at(r0, c0) + fc * at(r0, c0 + 1.0))
        + fr * ((1.0 - fc) * at(r0 + 1.0, c0) + fc * at(r0 + 1.0, c0 + 1.0))
}

/// Images (in `[0, 1]`) rotated by one angle, with their labels.
#[derive(Clone, Debug)]
pub struct Domain {
    /// Rotation in degrees.
    pub degrees: f64,
    /// `[n, 64]` images.
    pub images: Tensor,
    /// Labels.
    pub labels: Vec<u8>,
}

/// The rotated-digits domain shift: source domains (train/val images under each source angle,
/// concatenated), the in-distribution test set (test images under the source angles) and one
/// target domain per target angle (test images).
#[derive(Clone, Debug)]
pub struct DomainShift {
    /// Training images under every source angle (`degrees` is NaN: mixed).
    pub source_train: Domain,
    /// Validation images under every source angle.
    pub source_val: Domain,
    /// Test images under every source angle.
    pub id_test: Domain,
    /// Test images under each target angle.
    pub targets: Vec<Domain>,
}

impl DomainShift {
    /// Source angles of `competence-regions.md` §4.
    pub const SOURCE_DEGREES: [f64; 3] = [-15.0, 0.0, 15.0];
    /// Target angles of `competence-regions.md` §4.
    pub const TARGET_DEGREES: [f64; 4] = [30.0, 45.0, 60.0, 90.0];

    /// Builds the domains from `splits` (images scaled to `[0, 1]`).
    pub fn build(splits: &DigitsSplits, sources: &[f64], targets: &[f64]) -> DomainShift {
        let mixed = |d: &super::Digits| {
            let imgs = d.images();
            let parts: Vec<Tensor> = sources.iter().map(|&a| rotate_images(&imgs, a)).collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            let labels = sources
                .iter()
                .flat_map(|_| d.labels.iter().copied())
                .collect();
            Domain {
                degrees: f64::NAN,
                images: Tensor::concat(&refs, 0),
                labels,
            }
        };
        let test = splits.test.images();
        DomainShift {
            source_train: mixed(&splits.train),
            source_val: mixed(&splits.val),
            id_test: mixed(&splits.test),
            targets: targets
                .iter()
                .map(|&a| Domain {
                    degrees: a,
                    images: rotate_images(&test, a),
                    labels: splits.test.labels.clone(),
                })
                .collect(),
        }
    }

    /// The standard configuration: sources −15°, 0°, +15°; targets 30°, 45°, 60°, 90°.
    pub fn standard(splits: &DigitsSplits) -> DomainShift {
        Self::build(splits, &Self::SOURCE_DEGREES, &Self::TARGET_DEGREES)
    }
}
