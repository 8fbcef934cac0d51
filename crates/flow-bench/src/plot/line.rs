//! Line plots with several series on linear or logarithmic axes.

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{FIGURE_SIZE, PlotError, Series, color, ensure_font, finite_range, format_tick};

/// Axis scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear axis.
    Linear,
    /// Base-10 logarithmic axis (non-positive values are dropped).
    Log,
}

/// A line plot: several solid or dashed series with a legend.
#[derive(Clone, Debug)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// x-axis scale.
    pub x_scale: Scale,
    /// y-axis scale.
    pub y_scale: Scale,
    /// The series.
    pub series: Vec<Series>,
}

impl LinePlot {
    /// Writes the plot as SVG to `path`.
    ///
    /// # Errors
    /// [`PlotError`] if drawing or writing fails.
    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        ensure_font();
        let keep = |v: f64, s: Scale| v.is_finite() && (s == Scale::Linear || v > 0.0);
        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|(x, y)| keep(*x, self.x_scale) && keep(*y, self.y_scale))
        };
        let xr = padded(finite_range(pts().map(|p| p.0)), self.x_scale);
        let yr = padded(finite_range(pts().map(|p| p.1)), self.y_scale);
        let root = SVGBackend::new(path, FIGURE_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::from_display)?;
        let (x0, x1, y0, y1) = (xr.0, xr.1, yr.0, yr.1);
        let log = |a: f64, b: f64| (a..b).log_scale().with_key_points(log_ticks(a, b));
        match (self.x_scale, self.y_scale) {
            (Scale::Linear, Scale::Linear) => self.draw(&root, x0..x1, y0..y1),
            (Scale::Log, Scale::Linear) => self.draw(&root, log(x0, x1), y0..y1),
            (Scale::Linear, Scale::Log) => self.draw(&root, x0..x1, log(y0, y1)),
            (Scale::Log, Scale::Log) => self.draw(&root, log(x0, x1), log(y0, y1)),
        }?;
        root.present().map_err(PlotError::from_display)
    }

    fn draw<X, Y>(
        &self,
        root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
        x: X,
        y: Y,
    ) -> Result<(), PlotError>
    where
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(x, y)
            .map_err(PlotError::from_display)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| format_tick(*v))
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(PlotError::from_display)?;
        let ok = |v: f64, s: Scale| v.is_finite() && (s == Scale::Linear || v > 0.0);
        for s in &self.series {
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|&(a, b)| ok(a, self.x_scale) && ok(b, self.y_scale))
                .collect();
            let c = color(s.color);
            let style = c.stroke_width(2);
            let anno = if s.dashed {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), style))
            }
            .map_err(PlotError::from_display)?;
            let dashed = s.dashed;
            anno.label(s.label.clone()).legend(move |(x, y)| {
                let (gap, stroke) = if dashed {
                    (4, c.stroke_width(2))
                } else {
                    (0, c.stroke_width(2))
                };
                plotters::element::DashedPathElement::new(vec![(x, y), (x + 20, y)], 6, gap, stroke)
            });
            if !s.dashed {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(PlotError::from_display)?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(PlotError::from_display)
    }
}

/// Pads a data range by 5% (linear) or a factor 1.3 (log).
fn padded((lo, hi): (f64, f64), scale: Scale) -> (f64, f64) {
    match scale {
        Scale::Linear => {
            let pad = 0.05 * (hi - lo);
            (lo - pad, hi + pad)
        }
        Scale::Log => {
            let hi = if hi > 0.0 { hi } else { 1.0 };
            let lo = if lo > 0.0 { lo } else { hi / 10.0 };
            (lo / 1.3, hi * 1.3)
        }
    }
}

/// Tick values `{1, 2, 5} × 10^k` inside `[lo, hi]` (only powers of ten when that gives more
/// than a dozen ticks).
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let with = |mantissas: &[f64]| -> Vec<f64> {
        (k0..=k1)
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| (lo..=hi).contains(v))
            .collect()
    };
    let dense = with(&[1.0, 2.0, 5.0]);
    if dense.len() > 12 {
        with(&[1.0])
    } else {
        dense
    }
}

#[cfg(test)]
mod tests {
    use super::log_ticks;

    #[test]
    fn log_ticks_cover_sub_unit_ranges() {
        assert_eq!(log_ticks(0.08, 3.9), vec![0.1, 0.2, 0.5, 1.0, 2.0]);
        assert_eq!(log_ticks(1e-9, 1.0).len(), 10);
    }
}
