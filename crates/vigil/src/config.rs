//! The second stage of argument handling: [`crate::cli::Args`] resolved into the typed options the
//! commands run with, validated (usage errors surface here, before any work), with defaults filled
//! in. There is no config file or `VIGIL_*` variable for `hash` yet; when there is, it is layered
//! here (defaults < file < environment < flags) and libraries still only see typed options.

use std::path::PathBuf;

use anyhow::bail;
use vigil_media::{DecodeOptions, Limits};

use crate::cli::{self, Args, Command, Format, HashOpts, ImageOpts, IndexCommand, MatchFormat};
use crate::printer::Printer;

/// Everything a run needs, resolved.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) printer: Printer,
    pub(crate) verbose: u8,
    pub(crate) command: CommandConfig,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one value per process
pub(crate) enum CommandConfig {
    Hash {
        paths: Vec<PathBuf>,
        hash: HashConfig,
    },
    Demo {
        hash: HashConfig,
    },
    Match(MatchConfig),
    /// `vigil cases …` (its arguments need no resolving beyond clap's).
    Cases {
        /// The store, for the subcommands that use it.
        db: Option<String>,
        command: cli::CasesCommand,
    },
    IndexBuild {
        lists: Vec<PathBuf>,
        out: PathBuf,
    },
    /// `vigil bank`, `quarantine`, `verdict`, `audit`, `exchange`: store commands, with the
    /// store's URL.
    Store {
        db: String,
        command: StoreCommand,
    },
    /// `vigil serve`.
    Serve {
        db: String,
        args: cli::ServeArgs,
    },
    /// `vigil crawl …`.
    Crawl {
        db: String,
        command: cli::CrawlCommand,
    },
}

/// The store commands, as parsed (they need no further resolution).
#[derive(Debug)]
pub(crate) enum StoreCommand {
    Bank(cli::BankCommand),
    Quarantine(cli::QuarantineArgs),
    Verdict(cli::VerdictArgs),
    Audit(cli::AuditArgs),
    Exchange(cli::ExchangeCommand),
    Key(cli::KeyCommand),
    User(cli::UserCommand),
}

/// `vigil match`, resolved.
#[derive(Debug)]
pub(crate) struct MatchConfig {
    /// Plain hash lists, in the order given.
    pub(crate) lists: Vec<PathBuf>,
    /// Saved indexes, in the order given.
    pub(crate) indexes: Vec<PathBuf>,
    /// Largest matching distance, inclusive (0..=256); `None`: 31, or each bank's own.
    pub(crate) threshold: Option<u32>,
    /// Banks to match against (by name), and whether all enabled banks are.
    pub(crate) banks: Vec<String>,
    pub(crate) all_banks: bool,
    /// The store, when banks are used.
    pub(crate) db: Option<String>,
    pub(crate) format: MatchFormat,
    pub(crate) queries: Queries,
    /// Match the 8 dihedral variants of image queries.
    pub(crate) dihedral: bool,
    /// How image queries are hashed (the `vigil hash` pipeline).
    pub(crate) hash: HashConfig,
    /// Known videos (`--videos`): video files, vPDQ frame files, directories of them.
    pub(crate) videos: Vec<PathBuf>,
    /// How video queries match them.
    pub(crate) video_params: vigil_video::matching::MatchParams,
}

/// Where `vigil match` gets its queries.
#[derive(Debug)]
pub(crate) enum Queries {
    /// Image files and directories.
    Paths(Vec<PathBuf>),
    /// A file of hashes in the list format (`-`: stdin).
    Hashes(PathBuf),
}

/// Options of the hashing pipeline (shared by `hash` and `demo`).
#[derive(Debug, Clone)]
pub(crate) struct HashConfig {
    pub(crate) format: Format,
    pub(crate) mode: vigil_pdq::Mode,
    pub(crate) dihedral: bool,
    /// Compute MD5, SHA-1 and SHA-256 of each file (`vigil hash --format jsonl`).
    pub(crate) digests: bool,
    pub(crate) decode: DecodeOptions,
    /// Worker threads, and so also the most files read and decoded at once.
    pub(crate) jobs: usize,
    /// Paths are printed relative to this directory when under it (the demo's temporary
    /// directory); `None` prints them as found.
    pub(crate) display_root: Option<PathBuf>,
    /// How videos are hashed (sampling, limits, threads).
    pub(crate) video: vigil_video::Options,
    /// Print every hashed frame of a video (`--frames`, jsonl).
    pub(crate) frames: bool,
    /// Only videos are wanted (`--format vpdq`): an image input is an error.
    pub(crate) videos_only: bool,
    /// Where `--format vpdq` writes one file per video (`--output-dir`); `None`: stdout.
    pub(crate) output_dir: Option<PathBuf>,
}

/// Resolves and validates the arguments. An error here is a usage error (exit 2).
pub(crate) fn resolve(args: Args) -> anyhow::Result<Config> {
    let command = match args.command {
        Command::Hash(h) => CommandConfig::Hash {
            paths: h.paths,
            hash: hash_config(h.opts)?,
        },
        Command::Demo(d) => CommandConfig::Demo {
            hash: hash_config(d.opts)?,
        },
        Command::Cases(c) => CommandConfig::Cases {
            db: if c.uses_store() {
                Some(db_url(args.db.as_deref())?)
            } else {
                None
            },
            command: c,
        },
        Command::Match(m) => {
            let mut hash = image_config(m.image, Format::Csv);
            hash.dihedral = m.dihedral;
            hash.digests = false;
            let use_store = !m.banks.is_empty() || m.all_banks;
            CommandConfig::Match(MatchConfig {
                lists: m.lists,
                indexes: m.indexes,
                threshold: m.threshold,
                banks: m.banks,
                all_banks: m.all_banks,
                db: if use_store {
                    Some(db_url(args.db.as_deref())?)
                } else {
                    None
                },
                format: m.format,
                queries: match m.hashes {
                    Some(file) => Queries::Hashes(file),
                    None => Queries::Paths(m.paths),
                },
                dihedral: m.dihedral,
                hash,
                videos: m.videos,
                video_params: video_params(
                    m.vpdq_semantics,
                    m.threshold,
                    m.vpdq_query_percent,
                    m.vpdq_compared_percent,
                )?,
            })
        }
        Command::Index(IndexCommand::Build(b)) => CommandConfig::IndexBuild {
            lists: b.lists,
            out: b.out,
        },
        Command::Bank(b) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::Bank(b),
        },
        Command::Quarantine(q) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::Quarantine(q),
        },
        Command::Verdict(v) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::Verdict(v),
        },
        Command::Audit(a) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::Audit(a),
        },
        Command::Serve(a) => CommandConfig::Serve {
            db: db_url(args.db.as_deref())?,
            args: a,
        },
        Command::Key(k) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::Key(k),
        },
        Command::User(u) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::User(u),
        },
        Command::Exchange(e) => CommandConfig::Store {
            db: db_url(args.db.as_deref())?,
            command: StoreCommand::Exchange(e),
        },
        Command::Crawl(c) => CommandConfig::Crawl {
            db: db_url(args.db.as_deref())?,
            command: c,
        },
    };
    Ok(Config {
        printer: Printer::new(args.quiet, args.verbose),
        verbose: args.verbose,
        command,
    })
}

/// The store's URL: `--db`/`VIGIL_DB`, else `vigil.db` in the user's data directory
/// (`$XDG_DATA_HOME/vigil`, else `$HOME/.local/share/vigil`).
fn db_url(given: Option<&str>) -> anyhow::Result<String> {
    if let Some(url) = given.filter(|u| !u.is_empty()) {
        return Ok(url.to_string());
    }
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(h) => PathBuf::from(h).join(".local/share"),
            None => bail!(
                "no store given and no home directory to put one in: use --db or set VIGIL_DB"
            ),
        },
    };
    let path = data.join("vigil").join("vigil.db");
    path.to_str().map(str::to_string).ok_or_else(|| {
        anyhow::anyhow!(
            "the default store path {} is not UTF-8: use --db",
            path.display()
        )
    })
}

fn hash_config(o: HashOpts) -> anyhow::Result<HashConfig> {
    if o.dihedral && o.format != Format::Jsonl {
        bail!("--dihedral needs --format jsonl (the csv format has no column for it)");
    }
    if o.frames && o.format != Format::Jsonl {
        bail!("--frames needs --format jsonl (csv prints one line per frame already)");
    }
    if o.output_dir.is_some() && o.format != Format::Vpdq {
        bail!("--output-dir goes with --format vpdq");
    }
    let mut cfg = image_config(o.image, o.format);
    cfg.dihedral = o.dihedral;
    cfg.frames = o.frames;
    cfg.videos_only = o.format == Format::Vpdq;
    cfg.output_dir = o.output_dir;
    Ok(cfg)
}

/// The hashing pipeline's options from the image flags; no dihedrals; digests with jsonl.
fn image_config(o: ImageOpts, format: Format) -> HashConfig {
    let defaults = Limits::default();
    let limits = Limits {
        max_file_bytes: o.max_file_size.unwrap_or(defaults.max_file_bytes),
        max_pixels: o.max_pixels.unwrap_or(defaults.max_pixels),
        max_alloc_bytes: o.max_alloc_size.unwrap_or(defaults.max_alloc_bytes),
    };
    let jobs = match o.jobs {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    HashConfig {
        format,
        mode: match o.mode {
            cli::Mode::Full => vigil_pdq::Mode::Full,
            cli::Mode::ReferenceTool => vigil_pdq::Mode::ReferenceTool,
        },
        dihedral: false,
        digests: format == Format::Jsonl,
        decode: DecodeOptions {
            limits,
            apply_exif_orientation: o.exif_orient,
        },
        jobs,
        display_root: None,
        video: video_options(&o.video),
        frames: false,
        videos_only: false,
        output_dir: None,
    }
}

/// The video matching rules from the flags.
fn video_params(
    semantics: cli::VpdqSemantics,
    threshold: Option<u32>,
    query_pct: f64,
    compared_pct: f64,
) -> anyhow::Result<vigil_video::matching::MatchParams> {
    use vigil_video::matching::{MatchParams, Semantics};
    for (flag, v) in [
        ("--vpdq-query-percent", query_pct),
        ("--vpdq-compared-percent", compared_pct),
    ] {
        if !(0.0..=100.0).contains(&v) {
            bail!("{flag} {v}: expected a percentage from 0 to 100");
        }
    }
    Ok(MatchParams {
        semantics: match semantics {
            cli::VpdqSemantics::Threatexchange => Semantics::ThreatExchange,
            cli::VpdqSemantics::Reference => Semantics::Reference,
        },
        distance: threshold.unwrap_or(31),
        query_pct,
        compared_pct,
        ..MatchParams::default()
    })
}

/// The video hashing options from the video flags.
fn video_options(o: &cli::VideoOpts) -> vigil_video::Options {
    let mut limits = vigil_video::Limits::default();
    if let Some(n) = o.max_video_size {
        limits.max_file_bytes = n;
    }
    if let Some(s) = o.max_video_seconds {
        limits.max_duration = std::time::Duration::from_secs(s);
    }
    if let Some(s) = o.video_time_budget {
        limits.time_budget = std::time::Duration::from_secs(s);
    }
    vigil_video::Options {
        sampling: if o.seconds_per_hash == 0.0 {
            vigil_video::Sampling::EveryFrame
        } else {
            vigil_video::Sampling::SecondsPerHash(o.seconds_per_hash)
        },
        limits,
        skip_unneeded: !o.decode_every_frame,
        ..vigil_video::Options::default()
    }
}
