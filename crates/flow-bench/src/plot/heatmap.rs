//! Heat maps of values on a regular 2-D grid (density grids), with a colour bar. Cells are
//! quantised to [`LEVELS`] colours and equal neighbours along x are merged into one
//! rectangle, which keeps the SVG small where the map is flat.

use std::path::Path;

use plotters::prelude::*;

use super::scatter::equal_aspect_size;
use super::{PlotError, ensure_font, format_tick};

/// Number of colour levels.
pub const LEVELS: usize = 64;

/// Viridis anchors (matplotlib), low to high.
const VIRIDIS: [(u8, u8, u8); 8] = [
    (68, 1, 84),
    (70, 50, 127),
    (54, 92, 141),
    (39, 127, 143),
    (31, 162, 136),
    (74, 194, 110),
    (160, 219, 57),
    (254, 232, 37),
];

/// The viridis colour at `t ∈ [0, 1]` (clamped), linearly interpolated between anchors.
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let s = t * (VIRIDIS.len() - 1) as f64;
    let i = (s.floor() as usize).min(VIRIDIS.len() - 2);
    let f = s - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Values on an `nx × ny` grid of cells covering `x_range × y_range`.
#[derive(Clone, Debug)]
pub struct Heatmap {
    /// Title above the plot.
    pub title: String,
    /// Label of the colour bar.
    pub value_label: String,
    /// Covered x range.
    pub x_range: (f64, f64),
    /// Covered y range.
    pub y_range: (f64, f64),
    /// Cells along x.
    pub nx: usize,
    /// Cells along y.
    pub ny: usize,
    /// Row-major values, row 0 at the bottom (`values[iy * nx + ix]`); non-finite values
    /// are drawn with the lowest colour.
    pub values: Vec<f64>,
}

impl Heatmap {
    /// Writes the heat map as SVG to `path`.
    ///
    /// # Errors
    /// [`PlotError`] if drawing or writing fails.
    ///
    /// # Panics
    /// If `values.len() != nx * ny`.
    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        assert_eq!(
            self.values.len(),
            self.nx * self.ny,
            "Heatmap: values must be nx * ny"
        );
        ensure_font();
        let (lo, hi) = super::finite_range(self.values.iter().copied());
        let (w, h) = equal_aspect_size(self.x_range, self.y_range);
        let root = SVGBackend::new(path, (w + 90, h)).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::from_display)?;
        let (main, bar) = root.split_horizontally(w);
        self.draw_cells(&main, lo, hi)?;
        draw_colorbar(&bar, lo, hi, &self.value_label)?;
        root.present().map_err(PlotError::from_display)
    }

    fn level(&self, v: f64, lo: f64, hi: f64) -> usize {
        if !v.is_finite() {
            return 0;
        }
        (((v - lo) / (hi - lo)) * (LEVELS - 1) as f64)
            .round()
            .clamp(0.0, (LEVELS - 1) as f64) as usize
    }

    fn draw_cells(
        &self,
        area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
        lo: f64,
        hi: f64,
    ) -> Result<(), PlotError> {
        let ((x0, x1), (y0, y1)) = (self.x_range, self.y_range);
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(PlotError::from_display)?;
        let (dx, dy) = ((x1 - x0) / self.nx as f64, (y1 - y0) / self.ny as f64);
        let mut rects = Vec::new();
        for iy in 0..self.ny {
            let row = &self.values[iy * self.nx..(iy + 1) * self.nx];
            let mut start = 0;
            for ix in 1..=self.nx {
                let run_ends =
                    ix == self.nx || self.level(row[ix], lo, hi) != self.level(row[start], lo, hi);
                if run_ends {
                    let t = self.level(row[start], lo, hi) as f64 / (LEVELS - 1) as f64;
                    let (ya, yb) = (y0 + iy as f64 * dy, y0 + (iy + 1) as f64 * dy);
                    let (xa, xb) = (x0 + start as f64 * dx, x0 + ix as f64 * dx);
                    rects.push(Rectangle::new([(xa, ya), (xb, yb)], viridis(t).filled()));
                    start = ix;
                }
            }
        }
        chart.draw_series(rects).map_err(PlotError::from_display)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|v| format_tick(*v))
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(PlotError::from_display)
    }
}

fn draw_colorbar(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    lo: f64,
    hi: f64,
    label: &str,
) -> Result<(), PlotError> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(40)
        .margin_bottom(50)
        .margin_right(8)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(PlotError::from_display)?;
    let step = (hi - lo) / LEVELS as f64;
    let cells = (0..LEVELS).map(|i| {
        let a = lo + i as f64 * step;
        Rectangle::new(
            [(0.0, a), (1.0, a + step)],
            viridis(i as f64 / (LEVELS - 1) as f64).filled(),
        )
    });
    chart.draw_series(cells).map_err(PlotError::from_display)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(label)
        .y_label_formatter(&|v| format_tick(*v))
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(PlotError::from_display)
}

#[cfg(test)]
mod tests {
    use super::viridis;
    use plotters::style::RGBColor;

    #[test]
    fn viridis_hits_its_end_points() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(254, 232, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
    }
}
