//! A terminal progress bar with the recent loss and an ETA. It draws to stderr only when
//! stderr is a terminal (indicatif hides it otherwise), so logs and CI output stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// An optional progress bar over a run's steps.
pub(crate) struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar labelled `label` over `steps` steps, or nothing when `label` is `None`.
    pub(crate) fn new(label: Option<&str>, steps: u64) -> Progress {
        Progress(label.map(|label| {
            let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar.set_prefix(label.to_string());
            bar
        }))
    }

    /// Moves the bar to `step` and shows the recent loss.
    pub(crate) fn update(&self, step: u64, recent_loss: Option<f64>) {
        if let Some(bar) = &self.0 {
            bar.set_position(step);
            if let Some(loss) = recent_loss {
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
