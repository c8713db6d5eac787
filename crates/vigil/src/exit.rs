//! The exit statuses of `vigil`, converted to a process exit code in one place (fd's `exit_codes.rs`,
//! uv's `ExitStatus`). `vigil match` follows grep instead, with the same three values read as
//! 0 a match, 1 no match, 2 an error (see `commands::match_::MatchSummary::status`).
//!
//! Ctrl-C keeps SIGINT's default action (the process ends at once; shells report status 130).
//! Output is line-buffered, so the reader never sees a partial line; nothing else needs cleaning
//! up, because `vigil hash` writes no files.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// 0: every input was processed.
    Success,
    /// 1: some inputs failed; each was reported and all others were processed.
    Failure,
    /// 2: usage error or fatal error.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}
