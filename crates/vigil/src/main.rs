//! `vigil`, the command-line front end of Vigil.
//!
//! This crate only defines the command line and glues the library crates together (ripgrep's
//! `core`): the work is in `vigil-pdq` (hashing) and `vigil-media` (decoding, file digests).
//! Matching uses `vigil-index` and `vigil-exchange` (list formats).
//! `main` parses the arguments ([`cli`]), resolves them ([`config`]), installs logging, runs the
//! command ([`commands`]) and maps the outcome to an exit code ([`exit`]).

mod cli;
mod commands;
mod config;
mod exit;
mod inputs;
mod output;
mod printer;
mod sources;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::exit::ExitStatus;

/// mimalloc rather than the system allocator: a bulk import moves millions of small records
/// between threads (reader, sorter, writer), where glibc's allocator spends a tenth of the
/// time consolidating freed chunks.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // `--help` and `--version` also arrive here, and go to stdout with status 0.
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Error.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    let cfg = match config::resolve(args) {
        Ok(cfg) => cfg,
        Err(err) => return report(&err),
    };
    init_tracing(cfg.verbose);
    match commands::run(cfg) {
        Ok(status) => status.into(),
        Err(err) => report(&err),
    }
}

/// Prints a fatal error with its whole chain and gives status 2 — or 0 when the error is only
/// that stdout was closed (`vigil hash dir | head`).
fn report(err: &anyhow::Error) -> ExitCode {
    let broken_pipe = err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitStatus::Success.into();
    }
    let _ = writeln!(std::io::stderr().lock(), "vigil: error: {err:#}");
    ExitStatus::Error.into()
}

/// Logs go to stderr, filtered by `VIGIL_LOG` (an `EnvFilter`), else by `-v` (info) / `-vv`
/// (debug), else `warn`.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = match std::env::var("VIGIL_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            let _ = writeln!(
                std::io::stderr().lock(),
                "vigil: warning: ignoring VIGIL_LOG={spec:?}: {e}"
            );
            EnvFilter::new(default)
        }),
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
