//! What goes to stderr besides logs: per-input error messages, the summary, and the progress bar
//! (uv's `Printer`).
//!
//! The progress bar is drawn only when stderr is a terminal, neither `-q` nor `-v` was given
//! (verbose logs would tear through it), and the run is long: more than [`PROGRESS_MIN_ITEMS`]
//! inputs, or still running after [`PROGRESS_DELAY`]. Results never go through here: they go to
//! stdout ([`crate::output`]).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs with more inputs than this show the bar at once.
pub(crate) const PROGRESS_MIN_ITEMS: usize = 50;
/// Shorter runs show it once they have taken this long.
pub(crate) const PROGRESS_DELAY: Duration = Duration::from_secs(1);

/// How chatty stderr is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Printer {
    /// `-q`: per-input errors and fatal errors only.
    Quiet,
    /// Errors, summary, and a progress bar on a terminal.
    Default,
    /// `-v`: like Default, but no progress bar (logs go to stderr instead).
    Verbose,
}

impl Printer {
    /// From the `-q` and `-v` flags.
    pub(crate) fn new(quiet: bool, verbose: u8) -> Printer {
        if quiet {
            Printer::Quiet
        } else if verbose > 0 {
            Printer::Verbose
        } else {
            Printer::Default
        }
    }

    /// A progress reporter for a run over `total` inputs.
    pub(crate) fn progress(self, total: usize) -> Progress {
        let bar = (self == Printer::Default && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files ({per_sec}, eta {eta})",
                )
                .expect("the template is valid"),
            );
            bar
        });
        Progress {
            bar,
            shown: false,
            start: Instant::now(),
            total,
            stdout_is_terminal: std::io::stdout().is_terminal(),
        }
    }

    /// Whether the end-of-run summary is printed.
    pub(crate) fn summary(self) -> bool {
        self != Printer::Quiet
    }
}

/// The progress bar of one run (possibly never shown), and stderr writes that do not tear it.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    shown: bool,
    start: Instant,
    total: usize,
    stdout_is_terminal: bool,
}

impl Progress {
    /// Counts one finished input, showing the bar once the run is long enough.
    pub(crate) fn inc(&mut self) {
        let Some(bar) = &self.bar else { return };
        if !self.shown
            && (self.total > PROGRESS_MIN_ITEMS || self.start.elapsed() >= PROGRESS_DELAY)
        {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(200));
            self.shown = true;
        }
        bar.inc(1);
    }

    /// Prints one line to stderr above the bar. Write errors on stderr are ignored: there is
    /// nowhere left to report them.
    pub(crate) fn eprintln(&self, line: &str) {
        let print = || {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "{line}");
        };
        match &self.bar {
            Some(bar) if self.shown => bar.suspend(print),
            _ => print(),
        }
    }

    /// Runs `f` (which writes to stdout) so that it does not tear the bar when stdout and stderr
    /// share a terminal.
    pub(crate) fn stdout<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) if self.shown && self.stdout_is_terminal => bar.suspend(f),
            _ => f(),
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
