//! SVG plots on `plotters` (no system fonts needed: an embedded DejaVu Sans is registered for
//! text layout; the SVG itself names the `sans-serif` family, so browsers render the text with
//! their own font). One file per plot kind.

mod heatmap;
mod histogram;
mod line;
mod scatter;

pub use heatmap::{Heatmap, viridis};
pub use histogram::Histogram;
pub use line::{LinePlot, Scale};
pub use scatter::ScatterPlot;

use std::sync::Once;

use plotters::style::{FontStyle, RGBColor};

/// Width and height of every figure in pixels (SVG user units).
pub const FIGURE_SIZE: (u32, u32) = (760, 480);

/// The embedded font (DejaVu Sans, Bitstream Vera license; see `assets/`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// A figure could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(pub String);

impl PlotError {
    /// Wraps any displayable plotters error.
    pub fn from_display(e: impl std::fmt::Display) -> PlotError {
        PlotError(e.to_string())
    }
}

/// Registers the embedded font under the family `sans-serif` (idempotent). Every plot
/// function calls it; call it yourself before using plotters directly.
///
/// # Panics
/// If the embedded font is not a valid TTF (a build defect).
pub fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("embedded DejaVuSans.ttf is not a valid font"));
    });
}

/// One named series of `(x, y)` points.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend entry.
    pub label: String,
    /// Points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Index into [`PALETTE`] (taken modulo its length).
    pub color: usize,
    /// Dashed (for references and predictions) instead of solid.
    pub dashed: bool,
}

impl Series {
    /// A solid series.
    pub fn solid(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Series {
        Series {
            label: label.into(),
            points,
            color,
            dashed: false,
        }
    }

    /// A dashed series (references, predictions).
    pub fn dashed(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Series {
        Series {
            label: label.into(),
            points,
            color,
            dashed: true,
        }
    }
}

/// Colour-blind-friendly palette (Okabe–Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// The palette colour for index `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `(min, max)` of the finite values, widened when degenerate; `(0, 1)` if there are none.
pub fn finite_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = lo.abs().max(1.0) * 0.5;
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// Formats an axis value compactly (`0.001` → `1e-3`, `12` → `12`).
pub fn format_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.1e}").replace(".0e", "e")
    } else if (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        format!("{}", v.round())
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
