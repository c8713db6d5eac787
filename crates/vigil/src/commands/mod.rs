//! One module per subcommand. Each calls into the library crates; logic a server handler would
//! also need belongs in a library, not here.

pub(crate) mod cases;
pub(crate) mod cases_map;
pub(crate) mod crawl;
pub(crate) mod demo;
pub(crate) mod hash;
pub(crate) mod index;
pub(crate) mod match_;
pub(crate) mod serve;
pub(crate) mod store;

use crate::config::{CommandConfig, Config};
use crate::exit::ExitStatus;

/// Runs the resolved command.
pub(crate) fn run(cfg: Config) -> anyhow::Result<ExitStatus> {
    match cfg.command {
        CommandConfig::Hash { paths, hash } => hash::run(&paths, &hash, cfg.printer),
        CommandConfig::Demo { hash } => demo::run(&hash, cfg.printer),
        CommandConfig::Cases { db, command } => cases::run(db.as_deref(), command),
        CommandConfig::Match(m) => match_::run(&m, cfg.printer),
        CommandConfig::IndexBuild { lists, out } => index::build(&lists, &out, cfg.printer),
        CommandConfig::Store { db, command } => store::run(&db, command, cfg.printer),
        CommandConfig::Serve { db, args } => serve::run(&db, args),
        CommandConfig::Crawl { db, command } => crawl::run(&db, command),
    }
}
