//! Helpers of the landscape experiments: per-mode presets and a 2-D energy map with paths
//! drawn on it (the shared heat map has no overlay, so this draws with plotters directly).

use std::path::Path;

use plotters::prelude::*;

use crate::experiment::Mode;
use crate::plot::{PlotError, Series, color, ensure_font, format_tick, viridis};

pub(super) fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

/// An energy sampled on a grid with polylines (paths) on top.
pub(super) struct SurfaceWithPaths {
    pub title: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// `n × n` grid, row 0 at the bottom.
    pub n: usize,
    pub values: Vec<f64>,
    pub paths: Vec<Series>,
}

impl SurfaceWithPaths {
    /// Samples `f` on the grid.
    pub fn sample(
        title: String,
        x_range: (f64, f64),
        y_range: (f64, f64),
        n: usize,
        f: impl Fn(f64, f64) -> f64,
        paths: Vec<Series>,
    ) -> SurfaceWithPaths {
        let values = (0..n * n)
            .map(|k| {
                let (ix, iy) = (k % n, k / n);
                let x = x_range.0 + (x_range.1 - x_range.0) * (ix as f64 + 0.5) / n as f64;
                let y = y_range.0 + (y_range.1 - y_range.0) * (iy as f64 + 0.5) / n as f64;
                f(x, y)
            })
            .collect();
        SurfaceWithPaths {
            title,
            x_range,
            y_range,
            n,
            values,
            paths,
        }
    }

    pub fn save_svg(&self, path: &Path) -> Result<(), PlotError> {
        ensure_font();
        let e = PlotError::from_display;
        let ((x0, x1), (y0, y1)) = (self.x_range, self.y_range);
        let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(e)?;
        let (lo, hi) = crate::plot::finite_range(self.values.iter().copied());
        let (dx, dy) = ((x1 - x0) / self.n as f64, (y1 - y0) / self.n as f64);
        // 64 colour levels; equal neighbours in a row merge into one rectangle (smaller SVG).
        let level = |v: f64| (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 63.0).round() as usize;
        let mut cells = Vec::new();
        for iy in 0..self.n {
            let row = &self.values[iy * self.n..(iy + 1) * self.n];
            let mut start = 0;
            for ix in 1..=self.n {
                if ix == self.n || level(row[ix]) != level(row[start]) {
                    let c = viridis(level(row[start]) as f64 / 63.0);
                    let (xa, xb) = (x0 + start as f64 * dx, x0 + ix as f64 * dx);
                    let ya = y0 + iy as f64 * dy;
                    cells.push(Rectangle::new([(xa, ya), (xb, ya + dy)], c.filled()));
                    start = ix;
                }
            }
        }
        chart.draw_series(cells).map_err(e)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|v| format_tick(*v))
            .y_label_formatter(&|v| format_tick(*v))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(e)?;
        for s in &self.paths {
            let c = color(s.color + 1);
            let style = ShapeStyle::from(&c).stroke_width(2);
            chart
                .draw_series(LineSeries::new(s.points.clone(), style))
                .map_err(e)?
                .label(s.label.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(e)?;
        root.present().map_err(e)
    }
}
