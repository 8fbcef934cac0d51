//! Histograms with an optional vertical reference line (a threshold or a predicted value).

use std::path::Path;

use plotters::prelude::*;

use super::{FIGURE_SIZE, PlotError, color, ensure_font, finite_range, format_tick};

/// A histogram of values.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// The values (non-finite ones are dropped).
    pub values: Vec<f64>,
    /// Number of bins.
    pub bins: usize,
    /// A vertical reference line `(x, legend)`, drawn dashed.
    pub reference: Option<(f64, String)>,
}

impl Histogram {
    /// Bin counts over `range` (values outside are clamped into the edge bins).
    pub fn counts(&self, (lo, hi): (f64, f64)) -> Vec<usize> {
        let bins = self.bins.max(1);
        let mut counts = vec![0; bins];
        for v in self.values.iter().filter(|v| v.is_finite()) {
            let t = ((v - lo) / (hi - lo) * bins as f64).floor();
            counts[(t.max(0.0) as usize).min(bins - 1)] += 1;
        }
        counts
    }

    /// Writes the histogram as SVG to `path`.
    ///
    /// # Errors
    /// [`PlotError`] if drawing or writing fails.
    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        ensure_font();
        let extra = self.reference.iter().map(|r| r.0);
        let (lo, hi) = finite_range(self.values.iter().copied().chain(extra));
        let pad = 0.05 * (hi - lo);
        let (lo, hi) = (lo - pad, hi + pad);
        let counts = self.counts((lo, hi));
        let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
        let root = SVGBackend::new(path, FIGURE_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::from_display)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(PlotError::from_display)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc("count")
            .x_label_formatter(&|v| format_tick(*v))
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(PlotError::from_display)?;
        let width = (hi - lo) / counts.len() as f64;
        let bars = counts.iter().enumerate().map(|(i, &n)| {
            let x = lo + i as f64 * width;
            Rectangle::new(
                [(x, 0.0), (x + width, n as f64)],
                color(0).mix(0.7).filled(),
            )
        });
        chart.draw_series(bars).map_err(PlotError::from_display)?;
        if let Some((x, label)) = &self.reference {
            let style = color(1).stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(*x, 0.0), (*x, top)],
                    6,
                    4,
                    style,
                ))
                .map_err(PlotError::from_display)?
                .label(label.clone())
                .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 18, b)], style));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(PlotError::from_display)?;
        }
        root.present().map_err(PlotError::from_display)
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    #[test]
    fn counts_clamp_to_edge_bins_and_drop_nan() {
        let h = Histogram {
            title: String::new(),
            x_label: String::new(),
            values: vec![-5.0, 0.1, 0.5, 0.9, 1.0, 7.0, f64::NAN],
            bins: 2,
            reference: None,
        };
        assert_eq!(h.counts((0.0, 1.0)), vec![2, 4]);
    }
}
