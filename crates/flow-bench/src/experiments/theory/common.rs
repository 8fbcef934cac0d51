//! Helpers shared by the theory experiments: per-mode preset values and line plots.

use crate::experiment::Mode;
use crate::plot::{LinePlot, Scale, Series};

pub(crate) fn pick<T>(mode: Mode, test: T, quick: T, full: T) -> T {
    match mode {
        Mode::Test => test,
        Mode::Quick => quick,
        Mode::Full => full,
    }
}

pub(crate) fn line(title: &str, x: &str, y: &str, y_scale: Scale, series: Vec<Series>) -> LinePlot {
    LinePlot {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        x_scale: Scale::Linear,
        y_scale,
        series,
    }
}
