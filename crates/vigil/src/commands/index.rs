//! `vigil index build`: hash lists in, a saved index and its list map out
//! ([`crate::sources::save`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::ExitStatus;
use crate::inputs::show;
use crate::printer::Printer;
use crate::sources;

/// `vigil index build --list FILE... --out INDEX`.
pub(crate) fn build(lists: &[PathBuf], out: &Path, printer: Printer) -> anyhow::Result<ExitStatus> {
    let loaded = sources::read_lists(lists)?;
    sources::save(&loaded.source, out)?;
    if printer.summary() {
        let stats = loaded.source.index.stats();
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "vigil: wrote index {} ({} entries, {} distinct hashes, from {} lists)",
            show(out),
            loaded.source.entries.len(),
            stats.base_hashes + stats.delta_hashes,
            lists.len()
        );
        if loaded.skipped > 0 {
            let _ = write!(e, "; {} malformed lines skipped", loaded.skipped);
        }
        let _ = writeln!(e);
    }
    Ok(if loaded.skipped > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
