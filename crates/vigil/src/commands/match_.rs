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

use super::hash::{Hashed, Media, for_each_hashed};
use crate::config::{MatchConfig, Queries};
use crate::exit::ExitStatus;
use crate::inputs::{self, show};
use crate::output::{Hit, MatchOutput, RangeRecord, VideoMatchEntry, VideoMatchRecord};
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
    let videos = if cfg.videos.is_empty() {
        None
    } else {
        let v = load_videos(&cfg.videos, cfg)?;
        summary.skipped += v.skipped;
        Some(v)
    };
    let matcher = Matcher {
        sources: &srcs,
        threshold: cfg.threshold,
        videos: videos.as_ref(),
        video_params: &cfg.video_params,
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
    /// Known videos (`--videos`).
    videos: Option<&'a KnownVideos>,
    video_params: &'a vigil_video::matching::MatchParams,
}

/// The videos given with `--videos`, in one index; id = position in `names`.
struct KnownVideos {
    index: vigil_video::matching::VideoIndex,
    names: Vec<String>,
    /// Inputs that could not be read (reported on stderr).
    skipped: u64,
}

/// Reads `--videos`: video files are hashed as `vigil hash` hashes them; other files are read as
/// vPDQ frame files (the reference's text format). A file that fails is reported and skipped.
fn load_videos(paths: &[std::path::PathBuf], cfg: &MatchConfig) -> anyhow::Result<KnownVideos> {
    let mut index = vigil_video::matching::VideoIndex::new();
    let mut names = Vec::new();
    let mut skipped = 0;
    let mut opts = cfg.hash.video.clone();
    opts.hash_threads = cfg.hash.jobs;
    opts.decode_threads = cfg.hash.jobs;
    for input in inputs::expand(paths) {
        let name = input.path.to_string_lossy().into_owned();
        let frames = match &input.error {
            Some(e) => Err(e.clone()),
            None => read_video_frames(&input.path, &name, &opts),
        };
        let added = frames.and_then(|frames| {
            index
                .insert(names.len() as u64, &frames)
                .map_err(|e| format!("{name}: {e}"))
        });
        match added {
            Ok(_) => names.push(name),
            Err(msg) => {
                skipped += 1;
                eprintln_err(&format!("--videos: {msg}"));
            }
        }
    }
    if names.is_empty() {
        anyhow::bail!("--videos: no known video could be read");
    }
    Ok(KnownVideos {
        index,
        names,
        skipped,
    })
}

/// The largest vPDQ frame file read (a 6-hour video hashed at every frame is ~150 MB).
const MAX_FRAME_FILE: u64 = 512 << 20;

fn read_video_frames(
    path: &std::path::Path,
    name: &str,
    opts: &vigil_video::Options,
) -> Result<Vec<vigil_video::Frame>, String> {
    use std::io::Read as _;
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(vigil_video::SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(|e| format!("{name}: {e}"))?;
    if vigil_video::sniff(&head).is_some() {
        return vigil_video::hash_file(path, opts)
            .map(|v| v.frames)
            .map_err(|e| e.to_string());
    }
    let f = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_FRAME_FILE {
        return Err(format!(
            "{name}: {len} bytes is over the limit of {MAX_FRAME_FILE} bytes for a vPDQ frame file"
        ));
    }
    vigil_video::text::read_frames(BufReader::new(f))
        .map_err(|e| format!("{name}: not a video, nor a vPDQ frame file: {e}"))
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

/// One video query against `--videos`.
fn match_video(
    path: &str,
    v: &vigil_video::VideoHash,
    matcher: &Matcher<'_>,
    out: &mut MatchOutput<impl Write>,
    summary: &mut MatchSummary,
    progress: &crate::printer::Progress,
) -> io::Result<()> {
    let fail = |summary: &mut MatchSummary, out: &mut MatchOutput<_>, msg: String| {
        summary.failed += 1;
        progress.eprintln(&format!("vigil: error: {msg}"));
        progress.stdout(|| out.failed(path, &msg))
    };
    let Some(known) = matcher.videos else {
        return fail(
            summary,
            out,
            format!("{path}: a video; give known videos with --videos to match it"),
        );
    };
    if out.is_csv() {
        return fail(
            summary,
            out,
            format!("{path}: video matches are printed with --format jsonl only"),
        );
    }
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let found = known.index.query(&v.frames, matcher.video_params);
    let matches: Vec<VideoMatchEntry<'_>> = found
        .iter()
        .filter(|m| m.comparison.is_match)
        .filter_map(|m| {
            let name = known.names.get(usize::try_from(m.id).ok()?)?;
            Some(VideoMatchEntry {
                video: name,
                query_match_percent: round(m.comparison.query_pct),
                compared_match_percent: round(m.comparison.compared_pct),
                ranges: m
                    .ranges
                    .iter()
                    .map(|r| RangeRecord {
                        query_start: round(r.query_start),
                        query_end: round(r.query_end),
                        video_start: round(r.compared_start),
                        video_end: round(r.compared_end),
                        frames: r.frames,
                    })
                    .collect(),
            })
        })
        .collect();
    summary.matched += u64::from(!matches.is_empty());
    let rec = VideoMatchRecord {
        query: path,
        kind: "video",
        vpdq_frames: v.frames.len(),
        matches,
    };
    progress.stdout(|| out.video_matched(&rec))
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
        if let Ok(Hashed {
            media: Media::Video(v),
            ..
        }) = &outcome
        {
            return match_video(path, v, matcher, out, summary, progress);
        }
        let found = outcome.and_then(|h: Hashed| {
            let Some(i) = h.image() else {
                return Err(format!("{path}: not an image"));
            };
            let qs = match &i.dihedral {
                Some(d) if cfg.dihedral => d.to_vec(),
                _ => vec![i.pdq.hash],
            };
            let pdq = i.pdq;
            matcher.find(&qs).map(|hits| (pdq, hits))
        });
        match found {
            Ok((pdq, found)) => {
                summary.matched += u64::from(found.matched());
                progress.stdout(|| out.matched(path, Some(&pdq), &found.hits, &found.allowed))
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
