//! One module per subcommand. Each calls into the library crates; logic a server handler would
//! also need belongs in a library, not here.

pub(crate) mod demo;
pub(crate) mod hash;

use crate::config::{CommandConfig, Config};
use crate::exit::ExitStatus;

/// Runs the resolved command.
pub(crate) fn run(cfg: Config) -> anyhow::Result<ExitStatus> {
    match cfg.command {
        CommandConfig::Hash { paths, hash } => hash::run(&paths, &hash, cfg.printer),
        CommandConfig::Demo { hash } => demo::run(&hash, cfg.printer),
    }
}
