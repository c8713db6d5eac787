//! Expands the `PATH...` arguments into the ordered list of inputs to hash.
//!
//! Arguments keep the order they were given in; a directory becomes its files, recursively, sorted
//! by path bytes so that output is deterministic. Symbolic links are followed; walkdir detects
//! loops. Anything that cannot be listed (a missing path, an unreadable directory, a symlink loop,
//! a dangling link, a FIFO or device) becomes an [`Input`] carrying its error, sorted in among the
//! files, so it is reported in order and the run goes on.

use std::fs;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// One input, in output order.
#[derive(Debug)]
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    /// `Some(message)` when the input is already known to fail (it cannot be listed or is not a
    /// regular file).
    pub(crate) error: Option<String>,
}

impl Input {
    fn file(path: PathBuf) -> Input {
        Input { path, error: None }
    }

    fn failed(path: PathBuf, error: String) -> Input {
        Input {
            path,
            error: Some(error),
        }
    }
}

/// Expands the arguments. Never fails: problems become failed inputs.
pub(crate) fn expand(args: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    for arg in args {
        match fs::metadata(arg) {
            Err(e) => out.push(Input::failed(
                arg.clone(),
                format!("reading {}: {e}", show(arg)),
            )),
            Ok(m) if m.is_dir() => out.extend(walk(arg)),
            Ok(m) if m.is_file() => out.push(Input::file(arg.clone())),
            Ok(_) => out.push(not_regular(arg.clone())),
        }
    }
    out
}

fn walk(root: &Path) -> Vec<Input> {
    let mut items = Vec::new();
    for entry in WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) if e.file_type().is_file() => items.push(Input::file(e.into_path())),
            Ok(e) => items.push(not_regular(e.into_path())),
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let msg = if let Some(ancestor) = e.loop_ancestor() {
                    format!(
                        "reading {}: symbolic link loop (points to its ancestor {})",
                        show(&path),
                        show(ancestor)
                    )
                } else if let Some(io) = e.io_error() {
                    format!("reading {}: {io}", show(&path))
                } else {
                    format!("reading {}: {e}", show(&path))
                };
                items.push(Input::failed(path, msg));
            }
        }
    }
    // Sort by the raw path bytes (not by walk order, which sorts per directory level), so that the
    // order is the one `LC_ALL=C sort` gives. The sort is stable: an unreadable directory keeps
    // its place before nothing else of the same path.
    items.sort_by(|a, b| {
        a.path
            .as_os_str()
            .as_encoded_bytes()
            .cmp(b.path.as_os_str().as_encoded_bytes())
    });
    items
}

fn not_regular(path: PathBuf) -> Input {
    let msg = format!("reading {}: not a regular file", show(&path));
    Input::failed(path, msg)
}

/// A path for messages: lossy UTF-8, quoted and escaped.
pub(crate) fn show(p: &Path) -> String {
    format!("{:?}", p.to_string_lossy())
}
