//! `vigil hash`: files in, PDQ and cryptographic hashes out, in input order.
//!
//! The pipeline: [`crate::inputs::expand`] lists the inputs in output order; a rayon pool of
//! `--jobs` threads reads, decodes and hashes them (one `vigil_pdq::Hasher` per thread, reused);
//! the calling thread puts the results back in order and streams them to stdout as soon as the
//! next one in line is ready.
//!
//! Memory stays bounded: each worker holds one file and its decoded pixels at a time, so at most
//! `jobs` images are in memory; at most [`WINDOW_PER_JOB`]`× jobs` inputs are dispatched ahead of
//! the oldest unprinted one, which bounds the reorder buffer (of small results) too. A slow file
//! therefore stalls dispatch after the window fills rather than piling up results.
//!
//! **Invariant:** media bytes are only ever read into memory; nothing here writes them anywhere.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, LineWriter, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use anyhow::{Context, bail};
use vigil_core::Hash256;
use vigil_media::{FileDigests, PixelData};
use vigil_pdq::{Hasher, Image, Pdq, Pixels};

use crate::config::HashConfig;
use crate::exit::ExitStatus;
use crate::inputs::{self, Input};
use crate::output::Output;
use crate::printer::{Printer, Progress};

/// How many inputs per worker may be dispatched ahead of the oldest unprinted one.
const WINDOW_PER_JOB: usize = 16;

/// The result of hashing one file (library types; [`crate::output`] turns it into wire types).
#[derive(Debug, Clone)]
pub(crate) struct Hashed {
    pub(crate) media: Media,
    /// The file's MD5, SHA-1 and SHA-256, for `--format jsonl` (for a video, HMA's `video_md5`
    /// is the MD5).
    pub(crate) digests: Option<FileDigests>,
}

/// What a file held. (One value per file in flight, at most `jobs × 16` of them: the size
/// difference between the variants does not matter.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Media {
    Image(ImageHash),
    /// A video (recognised by its first bytes): its vPDQ frames and stream facts.
    Video(Box<vigil_video::VideoHash>),
}

/// A hashed image.
#[derive(Debug, Clone)]
pub(crate) struct ImageHash {
    pub(crate) format: vigil_media::Format,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pdq: Pdq,
    /// The 8 dihedral hashes in the reference's order, with `--dihedral`.
    pub(crate) dihedral: Option<[Hash256; 8]>,
}

impl Hashed {
    /// The image's hash; `None` for a video.
    pub(crate) fn image(&self) -> Option<&ImageHash> {
        match &self.media {
            Media::Image(i) => Some(i),
            Media::Video(_) => None,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub(crate) hashed: usize,
    pub(crate) failed: usize,
    /// The reader of stdout went away (e.g. `| head`); the run stopped early.
    pub(crate) broken_pipe: bool,
}

impl Summary {
    pub(crate) fn status(&self) -> ExitStatus {
        if self.failed == 0 || self.broken_pipe {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        }
    }
}

/// `vigil hash PATH...`.
pub(crate) fn run(
    paths: &[PathBuf],
    cfg: &HashConfig,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    let inputs = inputs::expand(paths);
    let mut cfg = cfg.clone();
    if cfg.format == crate::cli::Format::Vpdq && cfg.output_dir.is_none() && inputs.len() != 1 {
        bail!(
            "--format vpdq writes one video's frames to stdout; for {} inputs give --output-dir DIR",
            inputs.len()
        );
    }
    if inputs.len() == 1 {
        // One file: its frames are hashed on every worker thread, and the decoder may thread.
        cfg.video.hash_threads = cfg.jobs;
        cfg.video.decode_threads = cfg.jobs;
    }
    let summary = hash_inputs(inputs, &cfg, printer, |_, _| {})?;
    if printer.summary() && summary.failed > 0 && !summary.broken_pipe {
        let mut e = io::stderr().lock();
        let _ = writeln!(
            e,
            "vigil: {} of {} inputs failed; {} hashed",
            summary.failed,
            summary.failed + summary.hashed,
            summary.hashed
        );
    }
    Ok(summary.status())
}

/// Hashes `inputs` with `cfg`, printing results in input order to stdout and per-input errors to
/// stderr; `observe` sees each outcome in order (the demo uses it). Errors returned are fatal
/// (stdout failing for a reason other than a closed pipe, the thread pool not starting).
pub(crate) fn hash_inputs(
    inputs: Vec<Input>,
    cfg: &HashConfig,
    printer: Printer,
    mut observe: impl FnMut(&Input, &Result<Hashed, String>),
) -> anyhow::Result<Summary> {
    // Line-buffered: only whole lines ever reach the reader, even when the run is killed by
    // Ctrl-C (SIGINT keeps its default action: the shell reports status 130).
    let mut out =
        Output::new(LineWriter::new(io::stdout().lock()), cfg.format).with_frames(cfg.frames);
    let mut summary = Summary::default();
    let result = for_each_hashed(&inputs, cfg, printer, |input, path, outcome, progress| {
        let outcome = match (outcome, &cfg.output_dir) {
            (Ok(h), Some(dir)) => write_vpdq_file(dir, path, &h).map(|file| (h, Some(file))),
            (o, _) => o.map(|h| (h, None)),
        };
        match &outcome {
            Ok((_, Some(file))) => {
                summary.hashed += 1;
                let line = format!("{}\n", escape_path(file));
                progress.stdout(|| out.raw(line.as_bytes()))?;
            }
            Ok((h, None)) => {
                summary.hashed += 1;
                progress.stdout(|| out.hashed(path, h))?;
            }
            Err(msg) => {
                summary.failed += 1;
                progress.eprintln(&format!("vigil: error: {msg}"));
                progress.stdout(|| out.failed(path, msg))?;
            }
        }
        let outcome = outcome.map(|(h, _)| h);
        observe(input, &outcome);
        Ok(())
    })
    .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(summary),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            tracing::debug!("stdout closed; stopping");
            summary.broken_pipe = true;
            Ok(summary)
        }
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}

/// Writes a video's frames in the reference text format to `dir/<path>.vpdq.txt` (the input's
/// path with its root and `..` parts dropped, so nothing lands outside `dir`); returns the file.
fn write_vpdq_file(dir: &Path, path: &str, h: &Hashed) -> Result<PathBuf, String> {
    let Media::Video(v) = &h.media else {
        return Err(format!("{path}: not a video"));
    };
    let mut rel = PathBuf::new();
    for c in Path::new(path).components() {
        if let std::path::Component::Normal(p) = c {
            rel.push(p);
        }
    }
    let mut name = rel.into_os_string();
    name.push(".vpdq.txt");
    let file = dir.join(name);
    let write = || -> io::Result<()> {
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut w = io::BufWriter::new(File::create(&file)?);
        vigil_video::text::write_frames(&mut w, &v.frames)?;
        w.flush()
    };
    write().map_err(|e| format!("writing {}: {e}", file.display()))?;
    Ok(file)
}

fn escape_path(p: &Path) -> String {
    p.to_string_lossy()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The ordered parallel pipeline behind `vigil hash`, `vigil demo` and `vigil match`: reads,
/// decodes and hashes `inputs` on `cfg.jobs` threads and calls `each` on the calling thread with
/// every outcome **in input order** (the input, its path as printed, the outcome, and the
/// progress bar for writes that must not tear it). The first error `each` returns stops the run
/// and is returned; a worker-pool failure comes back as an error too.
pub(crate) fn for_each_hashed(
    inputs: &[Input],
    cfg: &HashConfig,
    printer: Printer,
    mut each: impl FnMut(&Input, &str, Result<Hashed, String>, &Progress) -> io::Result<()>,
) -> io::Result<()> {
    let total = inputs.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .thread_name(|i| format!("vigil-hash-{i}"))
        .build()
        .map_err(|e| io::Error::other(format!("starting the worker threads: {e}")))?;
    let shared = Arc::new(cfg.clone());
    let (tx, rx) = mpsc::channel::<(usize, Result<Hashed, String>)>();
    let window = cfg.jobs.saturating_mul(WINDOW_PER_JOB).max(1);
    let mut progress = printer.progress(total);

    // `pending[k]` holds the outcome of input `next_out + k` once it has arrived.
    let mut pending: VecDeque<Option<Result<Hashed, String>>> = VecDeque::new();
    let (mut next_spawn, mut next_out) = (0usize, 0usize);
    let result = (|| -> io::Result<()> {
        while next_out < total {
            while next_spawn < total && next_spawn - next_out < window {
                let input = &inputs[next_spawn];
                match &input.error {
                    Some(msg) => pending.push_back(Some(Err(msg.clone()))),
                    None => {
                        pending.push_back(None);
                        let (tx, cfg, path, i) = (
                            tx.clone(),
                            Arc::clone(&shared),
                            input.path.clone(),
                            next_spawn,
                        );
                        pool.spawn(move || {
                            let name = display_path(&path, &cfg);
                            let outcome = hash_one(&path, &name, &cfg);
                            // The receiver is gone only when the run stopped early.
                            let _ = tx.send((i, outcome));
                        });
                    }
                }
                next_spawn += 1;
            }
            while let Some(Some(_)) = pending.front() {
                let outcome = pending.pop_front().flatten().expect("checked to be ready");
                let input = &inputs[next_out];
                let path = display_path(&input.path, cfg);
                each(input, &path, outcome, &progress)?;
                progress.inc();
                next_out += 1;
            }
            if next_out == total {
                break;
            }
            if pending.is_empty() {
                // Everything dispatched has been printed: dispatch more before waiting.
                continue;
            }
            // The next input in line is still being hashed: wait for any result.
            let (i, outcome) = rx
                .recv()
                .expect("a sender is alive while inputs are in flight");
            pending[i - next_out] = Some(outcome);
        }
        Ok(())
    })();
    progress.finish();
    if result.is_err() {
        tracing::debug!(processed = next_out, total, "stopping early");
    }
    result
}

fn display_path(path: &Path, cfg: &HashConfig) -> String {
    let shown = match &cfg.display_root {
        Some(root) => path.strip_prefix(root).unwrap_or(path),
        None => path,
    };
    shown.to_string_lossy().into_owned()
}

thread_local! {
    /// One hasher per worker thread: it keeps its scratch buffers between images.
    static HASHER: RefCell<Hasher> = RefCell::new(Hasher::new());
}

/// Reads, decodes and hashes one file on a worker thread. A panic below is a bug, but it must not
/// take the rest of the run down with it: it becomes this input's error.
fn hash_one(path: &Path, name: &str, cfg: &HashConfig) -> Result<Hashed, String> {
    let span = tracing::debug_span!("hash_file");
    let _guard = span.enter();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        HASHER.with(|h| hash_file(path, name, cfg, &mut h.borrow_mut()))
    }));
    match outcome {
        Ok(Ok(h)) => Ok(h),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!(
            "hashing {name:?}: internal error (a panic; this is a bug in vigil)"
        )),
    }
}

/// `name` is the path as printed; messages use it.
fn hash_file(
    path: &Path,
    name: &str,
    cfg: &HashConfig,
    hasher: &mut Hasher,
) -> anyhow::Result<Hashed> {
    // Check the type before opening: opening a FIFO would block.
    let meta = std::fs::metadata(path).with_context(|| format!("reading {name:?}"))?;
    if !meta.is_file() {
        bail!("reading {name:?}: not a regular file");
    }
    // Videos are recognised by their first bytes (never by name) and read in a stream: they
    // need not fit in memory.
    let mut head = Vec::with_capacity(vigil_video::SNIFF_LEN);
    File::open(path)
        .and_then(|f| f.take(vigil_video::SNIFF_LEN as u64).read_to_end(&mut head))
        .with_context(|| format!("reading {name:?}"))?;
    if vigil_video::sniff(&head).is_some() {
        return hash_video(path, name, cfg);
    }
    if cfg.videos_only {
        bail!("{name}: not a video (--format vpdq hashes videos only)");
    }
    let bytes = read_limited(path, cfg.decode.limits.max_file_bytes)
        .with_context(|| format!("reading {name:?}"))?;
    if bytes.is_empty() {
        bail!("reading {name:?}: the file is empty");
    }
    // vigil-media's errors name the input themselves.
    let decoded = vigil_media::decode(&bytes, name, &cfg.decode)?;
    let pixels = match &decoded.pixels {
        PixelData::Rgb8(p) => Pixels::Rgb8(p),
        PixelData::Grey8(p) => Pixels::Grey8(p),
    };
    let img =
        Image::new(pixels, decoded.width as usize, decoded.height as usize).with_context(|| {
            format!("hashing {name:?}: the decoder returned an inconsistent buffer")
        })?;
    let (pdq, dihedral) = if cfg.dihedral {
        let (pdq, d) = hasher.hash_and_dihedral_mode(&img, cfg.mode);
        (pdq, Some(d.hashes))
    } else {
        (hasher.hash_mode(&img, cfg.mode), None)
    };
    let digests = cfg.digests.then(|| vigil_media::digests(&bytes));
    tracing::debug!(
        bytes = bytes.len(),
        width = decoded.width,
        height = decoded.height,
        quality = pdq.quality,
        "hashed"
    );
    Ok(Hashed {
        media: Media::Image(ImageHash {
            format: decoded.format,
            width: decoded.width,
            height: decoded.height,
            pdq,
            dihedral,
        }),
        digests,
    })
}

/// Hashes a video file: vPDQ through `vigil-video` (FFmpeg reads the file through Vigil's own
/// I/O), and the digests in a second streaming pass.
fn hash_video(path: &Path, name: &str, cfg: &HashConfig) -> anyhow::Result<Hashed> {
    let file = File::open(path).with_context(|| format!("reading {name:?}"))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let limits = &cfg.video.limits;
    if len > limits.max_file_bytes {
        bail!(
            "{name}: {len} bytes is over the limit of {} bytes for a video (--max-video-size)",
            limits.max_file_bytes
        );
    }
    // vigil-video's errors name the input themselves.
    let video = vigil_video::hash_reader(
        std::io::BufReader::with_capacity(1 << 16, file),
        name,
        &cfg.video,
    )?;
    let digests = if cfg.digests {
        let f = File::open(path).with_context(|| format!("reading {name:?}"))?;
        Some(vigil_media::digests_reader(f).with_context(|| format!("reading {name:?}"))?)
    } else {
        None
    };
    tracing::debug!(
        frames = video.frames.len(),
        decoded = video.info.decoded_frames,
        "hashed video"
    );
    Ok(Hashed {
        media: Media::Video(Box::new(video)),
        digests,
    })
}

/// Reads a whole regular file, refusing one over `max` bytes **before** reading it (from its
/// metadata), and again while reading, in case it grows.
fn read_limited(path: &Path, max: u64) -> anyhow::Result<Vec<u8>> {
    // Check the type before opening: opening a FIFO would block.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        bail!("not a regular file");
    }
    if meta.len() > max {
        bail!(
            "the file is {} bytes, over the {max}-byte limit (--max-file-size)",
            meta.len()
        );
    }
    let file = File::open(path)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        bail!("the file grew past the {max}-byte limit (--max-file-size) while being read");
    }
    Ok(bytes)
}
