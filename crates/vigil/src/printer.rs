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

impl Printer {
    /// A progress bar over the bytes of one input file of `total` bytes (`bank import`): shown,
    /// on a terminal, once the file has taken [`PROGRESS_DELAY`]; when the file is read through,
    /// it says what the import still does (sorting and writing), until [`FileProgress::finish`].
    pub(crate) fn file_progress(self, name: &str, total: u64) -> FileProgress {
        let bar = (self == Printer::Default && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} \
                     ({bytes_per_sec}, eta {eta})",
                )
                .expect("the template is valid"),
            );
            bar.set_message(format!("reading {name}"));
            bar
        });
        FileProgress {
            bar,
            start: Instant::now(),
        }
    }
}

/// The progress of one file's import; [`FileProgress::reader`] counts what is read.
pub(crate) struct FileProgress {
    bar: Option<ProgressBar>,
    start: Instant,
}

impl FileProgress {
    /// `inner`, counting its bytes on the bar.
    pub(crate) fn reader<R: std::io::Read>(&self, inner: R) -> CountingReader<R> {
        CountingReader {
            inner,
            bar: self.bar.clone(),
            start: self.start,
            shown: false,
            read: 0,
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A reader that moves a [`FileProgress`] bar; bytes pass through unchanged.
pub(crate) struct CountingReader<R> {
    inner: R,
    bar: Option<ProgressBar>,
    start: Instant,
    shown: bool,
    read: u64,
}

impl<R: std::io::Read> std::io::Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if let Some(bar) = &self.bar {
            if !self.shown && self.start.elapsed() >= PROGRESS_DELAY {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(200));
                self.shown = true;
            }
            bar.set_position(self.read);
            if n == 0 && !buf.is_empty() {
                // The end of the file: the import now sorts and writes what it read.
                bar.set_message("read; sorting and writing");
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_counting_reader_passes_every_byte_through_and_counts_them() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let progress = Printer::Quiet.file_progress("x", data.len() as u64);
        let mut r = progress.reader(&data[..]);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, data);
        assert_eq!(r.read, data.len() as u64);
        progress.finish();
    }
}
