//! Scatter plots of 2-D samples (one colour per group).

use std::path::Path;

use plotters::prelude::*;

use super::{PlotError, Series, color, ensure_font, format_tick};

/// A scatter plot with a fixed window (so that samples and density grids line up).
#[derive(Clone, Debug)]
pub struct ScatterPlot {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Visible x range.
    pub x_range: (f64, f64),
    /// Visible y range.
    pub y_range: (f64, f64),
    /// Point groups (the `dashed` flag is ignored); points outside the window are dropped.
    pub groups: Vec<Series>,
    /// Marker radius in pixels.
    pub radius: u32,
}

impl ScatterPlot {
    /// Writes the plot as SVG to `path`, square-ish with equal scales on both axes.
    ///
    /// # Errors
    /// [`PlotError`] if drawing or writing fails.
    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        ensure_font();
        let size = equal_aspect_size(self.x_range, self.y_range);
        let root = SVGBackend::new(path, size).into_drawing_area();
        root.fill(&WHITE).map_err(PlotError::from_display)?;
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(PlotError::from_display)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&|v| format_tick(*v))
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(("sans-serif", 12))
            .light_line_style(RGBColor(240, 240, 240))
            .draw()
            .map_err(PlotError::from_display)?;
        let inside = |&(x, y): &(f64, f64)| (x0..=x1).contains(&x) && (y0..=y1).contains(&y);
        for g in &self.groups {
            let c = color(g.color);
            let r = self.radius;
            chart
                .draw_series(
                    g.points
                        .iter()
                        .filter(|p| inside(p))
                        .map(|&p| Circle::new(p, r, c.mix(0.55).filled())),
                )
                .map_err(PlotError::from_display)?
                .label(g.label.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
        }
        if self.groups.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(PlotError::from_display)?;
        }
        root.present().map_err(PlotError::from_display)
    }
}

/// A figure size whose plotting area has (roughly) equal units on both axes.
pub(super) fn equal_aspect_size(x: (f64, f64), y: (f64, f64)) -> (u32, u32) {
    let ratio = ((y.1 - y.0) / (x.1 - x.0)).clamp(0.3, 1.5);
    let width = 480u32;
    let height = (f64::from(width - 60) * ratio) as u32 + 80;
    (width, height)
}
