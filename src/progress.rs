//! What a command says on stderr while it works: status lines, a spinner while it waits (on
//! a terminal), a progress bar over many tenants (on a terminal), nothing at all when the
//! session is quiet. Operations announce what they wait for through [`Progress`]; they never
//! print data. Every write here tolerates a closed stderr: a message that cannot be shown is
//! dropped, never a panic, and the exit code stays the command's own.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints a status line on stderr (suggested commands spelled as the user calls kscope).
pub(crate) fn note(message: &str) {
    // Messages carry names and API answers from the cluster: control characters in them are
    // escaped, line by line (kscope's own multi-line hints keep their line breaks).
    let line: Vec<String> = crate::program::spell(message)
        .split('\n')
        .map(kscope_core::text::printable)
        .collect();
    let line = line.join("\n");
    // A closed or broken stderr must not end the command: the line is simply lost.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Whether stderr is a terminal, where spinners and bars are drawn.
fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether a session shows what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Progress {
    #[default]
    Shown,
    Hidden,
}

impl Progress {
    /// Starts showing that something is waited for; the returned spinner says when it ends.
    pub(crate) fn start(self, message: &str) -> Spinner {
        if self == Progress::Hidden {
            return Spinner {
                bar: None,
                shown: false,
            };
        }
        if !on_terminal() {
            note(message);
            return Spinner {
                bar: None,
                shown: true,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner {
            bar: Some(bar),
            shown: true,
        }
    }
}

/// A wait being shown; dropping it clears the spinner.
pub(crate) struct Spinner {
    bar: Option<ProgressBar>,
    shown: bool,
}

impl Spinner {
    /// Stops the spinner and leaves `message` in its place.
    pub(crate) fn finish(mut self, message: &str) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.shown {
            note(message);
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A bar over a known number of items (tenants of a TenantSet): done / total, failures so
/// far, rate and ETA. Drawn only on a terminal; elsewhere it stays silent, so that piped
/// output is what it always was.
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
    /// What the count of bad items says of them ("failed", "differ").
    noun: &'static str,
}

impl Bar {
    pub(crate) fn new(progress: Progress, prefix: &str, total: u64) -> Bar {
        Bar::counting(progress, prefix, total, "failed")
    }

    /// A bar whose count of bad items is called `noun`.
    pub(crate) fn counting(
        progress: Progress,
        prefix: &str,
        total: u64,
        noun: &'static str,
    ) -> Bar {
        if progress == Progress::Hidden || !on_terminal() {
            return Bar { bar: None, noun };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} tenants, {msg} ({per_sec}, ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(prefix.to_string());
        bar.set_message(format!("0 {noun}"));
        Bar {
            bar: Some(bar),
            noun,
        }
    }

    /// One more item done; `failed` is how many have failed so far.
    pub(crate) fn advance(&self, failed: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{failed} {}", self.noun));
            bar.inc(1);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
