//! `vigil match`: queries (images hashed by the `vigil hash` pipeline, or hashes from a file) in,
//! every list entry within the threshold out, one record per query, in query order.
//!
//! The lists given with `--list` are read into one index ([`crate::sources::read_lists`]); each
//! `--index` is loaded with its list map. Every query is run against each of these sources and
//! the hits are mapped back to `(list, line)` and sorted by distance, then source order, list
//! order and line. Exit status follows grep ([`MatchSummary::status`]).

use std::fs::File;
use std::io::{self, BufRead, BufReader, LineWriter, Write};

use anyhow::Context;
use vigil_core::Hash256;
use vigil_exchange::{PlainListReader, Record};

use super::hash::{Hashed, for_each_hashed};
use crate::config::{MatchConfig, Queries};
use crate::exit::ExitStatus;
use crate::inputs::{self, show};
use crate::output::{Hit, MatchOutput};
use crate::printer::Printer;
use crate::sources::{self, Source, SourceKind};

/// What a run did.
#[derive(Debug, Default)]
pub(crate) struct MatchSummary {
    pub(crate) queries: u64,
    pub(crate) matched: u64,
    pub(crate) failed: u64,
    /// Malformed list lines skipped.
    pub(crate) skipped: u64,
    pub(crate) broken_pipe: bool,
}

impl MatchSummary {
    /// grep's rule: an error gives 2 even when something matched; else 0 on a match, 1 on none.
    /// A closed stdout ends the run with 0.
    pub(crate) fn status(&self) -> ExitStatus {
        if self.broken_pipe {
            ExitStatus::Success
        } else if self.failed > 0 {
            ExitStatus::Error
        } else if self.matched > 0 {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

/// `vigil match`.
pub(crate) fn run(cfg: &MatchConfig, printer: Printer) -> anyhow::Result<ExitStatus> {
    let mut summary = MatchSummary::default();
    let mut srcs: Vec<Source> = Vec::new();
    if !cfg.lists.is_empty() {
        let loaded = sources::read_lists(&cfg.lists)?;
        summary.skipped = loaded.skipped;
        srcs.push(loaded.source);
    }
    for path in &cfg.indexes {
        srcs.push(sources::load(path)?);
    }
    if let Some(db) = &cfg.db {
        srcs.extend(sources::read_banks(db, &cfg.banks, cfg.all_banks)?);
    }
    let matcher = Matcher {
        sources: &srcs,
        threshold: cfg.threshold,
    };
    let mut out = MatchOutput::new(
        LineWriter::new(io::stdout().lock()),
        cfg.format,
        cfg.dihedral,
    );
    let result = out
        .header()
        .map_err(anyhow::Error::from)
        .and_then(|()| match &cfg.queries {
            Queries::Hashes(file) => match_hashes(file, &matcher, &mut out, &mut summary),
            Queries::Paths(paths) => {
                match_images(paths, cfg, printer, &matcher, &mut out, &mut summary)
            }
        });
    let result = result.and_then(|()| out.flush().map_err(anyhow::Error::from));
    if let Err(e) = result {
        let broken = e.chain().any(|c| {
            c.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        });
        if !broken {
            return Err(e);
        }
        summary.broken_pipe = true;
    }
    if printer.summary() && (summary.failed > 0 || summary.skipped > 0) && !summary.broken_pipe {
        let _ = writeln!(
            io::stderr().lock(),
            "vigil: {} queries, {} matched, {} failed; {} malformed list lines skipped",
            summary.queries,
            summary.matched,
            summary.failed,
            summary.skipped
        );
    }
    Ok(summary.status())
}

/// The default PDQ threshold (inclusive), as python-threatexchange.
const DEFAULT_THRESHOLD: u32 = 31;

/// The sources and the threshold.
struct Matcher<'a> {
    sources: &'a [Source],
    /// `--threshold`, overriding every source's own.
    threshold: Option<u32>,
}

/// A query's hits: block hits, and the allow-list hits that suppress them.
struct Found<'a> {
    hits: Vec<Hit<'a>>,
    allowed: Vec<Hit<'a>>,
}

impl Found<'_> {
    /// Whether the query counts as matched (block hits, not suppressed).
    fn matched(&self) -> bool {
        !self.hits.is_empty() && self.allowed.is_empty()
    }
}

impl Matcher<'_> {
    /// Every entry within the threshold of `queries[0]` (or, with several queries, the dihedral
    /// variants, of any of them, with the variant that reached it), sorted; allow-list bank hits
    /// apart.
    fn find(&self, queries: &[Hash256]) -> Result<Found<'_>, String> {
        let mut hits = Vec::new();
        let mut allowed = Vec::new();
        for (s, src) in self.sources.iter().enumerate() {
            let threshold = self
                .threshold
                .or(src.threshold)
                .unwrap_or(DEFAULT_THRESHOLD);
            let found: Vec<(Option<usize>, vigil_index::Match)> = if queries.len() == 1 {
                src.index
                    .query(&queries[0], threshold)
                    .into_iter()
                    .map(|m| (None, m))
                    .collect()
            } else {
                src.index
                    .query_any(queries, threshold)
                    .into_iter()
                    .map(|(v, m)| (Some(v), m))
                    .collect()
            };
            for (variant, m) in found {
                let &(list, line) = usize::try_from(m.id)
                    .ok()
                    .and_then(|id| src.entries.get(id))
                    .ok_or_else(|| format!("index id {} has no entry in its list map", m.id))?;
                let hit = Hit {
                    hash: m.hash,
                    distance: m.distance,
                    source: s,
                    list_no: list,
                    list: &src.lists[list as usize],
                    line,
                    variant,
                    bank: src.kind != SourceKind::Lists,
                };
                if src.kind == SourceKind::AllowBank {
                    allowed.push(hit);
                } else {
                    hits.push(hit);
                }
            }
        }
        hits.sort_by_key(|h| (h.distance, h.source, h.list_no, h.line));
        allowed.sort_by_key(|h| (h.distance, h.source, h.list_no, h.line));
        Ok(Found { hits, allowed })
    }
}

/// Queries from a hash file: each hash in turn; malformed lines are failed queries.
fn match_hashes(
    file: &std::path::Path,
    matcher: &Matcher<'_>,
    out: &mut MatchOutput<impl Write>,
    summary: &mut MatchSummary,
) -> anyhow::Result<()> {
    let name = file.to_string_lossy().into_owned();
    let reader: Box<dyn BufRead> = if name == "-" {
        Box::new(BufReader::new(io::stdin().lock()))
    } else {
        let f = File::open(file).with_context(|| format!("opening hash file {}", show(file)))?;
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    for rec in PlainListReader::new(reader, &name) {
        summary.queries += 1;
        match rec? {
            Record::Entry(e) => {
                let query = e.hash.to_hex();
                match matcher.find(&[e.hash]) {
                    Ok(found) => {
                        summary.matched += u64::from(found.matched());
                        out.matched(&query, None, &found.hits, &found.allowed)?;
                    }
                    Err(msg) => {
                        summary.failed += 1;
                        eprintln_err(&format!("{query}: {msg}"));
                        out.failed(&query, &msg)?;
                    }
                }
            }
            Record::Malformed(e) => {
                summary.failed += 1;
                eprintln_err(&e.to_string());
                out.failed(&format!("{}:{}", e.name, e.line), &e.message)?;
            }
        }
    }
    Ok(())
}

fn eprintln_err(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "vigil: error: {msg}");
}

/// Queries from images, hashed by the `vigil hash` pipeline, in input order.
fn match_images(
    paths: &[std::path::PathBuf],
    cfg: &MatchConfig,
    printer: Printer,
    matcher: &Matcher<'_>,
    out: &mut MatchOutput<impl Write>,
    summary: &mut MatchSummary,
) -> anyhow::Result<()> {
    let inputs = inputs::expand(paths);
    for_each_hashed(&inputs, &cfg.hash, printer, |_, path, outcome, progress| {
        summary.queries += 1;
        let found = outcome.and_then(|h: Hashed| {
            let qs = match &h.dihedral {
                Some(d) if cfg.dihedral => d.to_vec(),
                _ => vec![h.pdq.hash],
            };
            matcher.find(&qs).map(|hits| (h, hits))
        });
        match found {
            Ok((h, found)) => {
                summary.matched += u64::from(found.matched());
                progress.stdout(|| out.matched(path, Some(&h.pdq), &found.hits, &found.allowed))
            }
            Err(msg) => {
                summary.failed += 1;
                progress.eprintln(&format!("vigil: error: {msg}"));
                progress.stdout(|| out.failed(path, &msg))
            }
        }
    })?;
    Ok(())
}
