//! The command line as the user typed it (clap derive), checked but without any I/O.
//!
//! This is the first of two stages (ripgrep's `LowArgs`/`HiArgs`, fd's `Opts`/`Config`):
//! [`crate::config`] turns these values into the typed options the commands run with.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0    every input was processed
  1    some inputs failed (each is reported; all others are still processed)
  2    usage error or fatal error
  130  interrupted (Ctrl-C: SIGINT's default action, as shells report it)
`vigil match` follows grep instead: 0 a match, 1 no match, 2 an error (see `vigil match --help`).
A closed output pipe (e.g. `vigil hash dir | head`) ends the run quietly with status 0.

Logging: set VIGIL_LOG (an EnvFilter, e.g. `VIGIL_LOG=debug`); logs go to stderr, default `warn`.";

/// Vigil: hash images with PDQ and cryptographic hashes, to match them against known-material
/// hash lists.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub(crate) struct Args {
    /// Print only results and errors: no progress bar, no summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// More logging on stderr (-v info, -vv debug); hides the progress bar. VIGIL_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Hash image files: PDQ (hash and quality), and with --format jsonl MD5, SHA-1, SHA-256.
    #[command(after_help = HASH_HELP)]
    Hash(HashArgs),
    /// Generate a small set of benign synthetic images in a temporary directory, hash them with
    /// the same code path as `vigil hash`, print the results and a summary, and delete them.
    #[command(after_help = EXIT_CODES)]
    Demo(DemoArgs),
    /// Match images (hashed as `vigil hash` does) or hashes against hash lists or a saved
    /// index: every list hash within the threshold. Exit status as grep: 0 match, 1 none, 2 error.
    #[command(after_help = MATCH_HELP)]
    Match(MatchArgs),
    /// Build indexes of hash lists for `vigil match --index`.
    #[command(subcommand)]
    Index(IndexCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// Read hash lists and save an index of them (INDEX, plus INDEX.lists mapping each entry back
    /// to its list and line), for `vigil match --index INDEX`.
    #[command(after_help = INDEX_BUILD_HELP)]
    Build(IndexBuildArgs),
}

const MATCH_HELP: &str = "\
Lists (--list, and --hashes): one PDQ hash (64 hex digits, either case) per line; more fields may
follow after a comma or a tab (the first field is the hash), so `vigil hash` csv output is a list.
Blank lines and lines starting with `#` are ignored; CRLF line ends and a UTF-8 BOM are accepted.
A malformed list line is reported on stderr as a warning naming FILE:LINE and skipped; it does not
change the exit status (the closing summary counts the skipped lines). A list that cannot be read
at all, or a corrupt or mismatched --index, is a fatal error (status 2, nothing matched).
A hash repeated in a list, or in several lists, is reported once per list line.

Matching: a list hash matches when its Hamming distance to the query is at most --threshold
(inclusive; default 31, as python-threatexchange; 0..=256). With --dihedral, each image is also
matched through its 8 dihedral variants (rotations and flips), and each match says which variant
reached it at the smallest distance.

Output (stdout):
  jsonl (default)  one object per query, in query order:
                   {\"query\": \"<path or hash>\", \"matches\": [{\"hash\", \"distance\", \"list\", \"line\"}]}
                   matches sorted by distance, then list (--list files in the order given, then
                   each --index's lists), then line; an empty array when nothing matched. Image
                   queries also carry \"pdq\" and \"quality\" (the query's hash); with --dihedral
                   each match carries \"variant\" (orig, rot90, rot180, rot270, flipx, flipy,
                   flipplus1, flipminus1). A query that fails gives {\"query\", \"error\"}
                   (a malformed --hashes line gives \"query\": \"FILE:LINE\").
  csv              a header line `query,hash,distance,list,line` (`,variant` added with
                   --dihedral), then one row per match in the same order; queries without matches
                   and failed queries have no rows (failures are reported on stderr). Fields
                   holding a comma or a quote are quoted (RFC 4180); control characters escaped.
Queries: image files and directories (recursively, sorted by path bytes, as `vigil hash`), or
--hashes FILE (`-` for stdin) in the list format above.

Exit status (as grep):
  0    at least one query matched, and no error
  1    no query matched, and no error
  2    an error: a query failed (unreadable or undecodable image, malformed --hashes line), a list
       or index could not be used, or a usage error; 2 even when other queries matched (grep's
       rule; check stdout for the matches)
  130  interrupted (Ctrl-C)
A closed output pipe ends the run quietly with status 0.

Logging: set VIGIL_LOG (an EnvFilter, e.g. `VIGIL_LOG=debug`); logs go to stderr, default `warn`.";

const INDEX_BUILD_HELP: &str = "\
Lists are read as by `vigil match --list` (malformed lines are reported as FILE:LINE and skipped).
Writes INDEX (the vigil-index file format: versioned, CRC-32-checked) and INDEX.lists (which list
and line each entry came from, with the index file's CRC-32, so a mismatched pair is refused);
both are written to temporary files and renamed into place. List names are stored as given, and
`vigil match --index INDEX` reports them as such.

Exit status:
  0    every list line was indexed
  1    some lines were malformed and skipped (the index is still written)
  2    usage error or fatal error (an unreadable list, a failed write: no index is written)";

#[derive(Debug, ClapArgs)]
pub(crate) struct MatchArgs {
    /// A hash list to match against (repeatable).
    #[arg(
        long = "list",
        value_name = "FILE",
        required_unless_present = "indexes"
    )]
    pub(crate) lists: Vec<PathBuf>,

    /// A saved index (`vigil index build`) to match against, beside or instead of --list
    /// (repeatable).
    #[arg(long = "index", value_name = "INDEX")]
    pub(crate) indexes: Vec<PathBuf>,

    /// Largest Hamming distance that matches (inclusive), 0..=256.
    #[arg(short, long, value_name = "N", default_value_t = 31,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    pub(crate) threshold: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = MatchFormat::Jsonl)]
    pub(crate) format: MatchFormat,

    /// Read query hashes from FILE (list format; `-` for stdin) instead of hashing images.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub(crate) hashes: Option<PathBuf>,

    /// Image files and directories to match (directories recursively).
    #[arg(value_name = "PATH", required_unless_present = "hashes")]
    pub(crate) paths: Vec<PathBuf>,

    /// Also match the 8 dihedral variants (rotations, flips) of each image; not with --hashes.
    #[arg(long, conflicts_with = "hashes")]
    pub(crate) dihedral: bool,

    #[command(flatten)]
    pub(crate) image: ImageOpts,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct IndexBuildArgs {
    /// A hash list to index (repeatable; at least one).
    #[arg(long = "list", value_name = "FILE", required = true)]
    pub(crate) lists: Vec<PathBuf>,

    /// Where to write the index (and INDEX.lists beside it).
    #[arg(long, value_name = "INDEX")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MatchFormat {
    /// One JSON object per query.
    Jsonl,
    /// `query,hash,distance,list,line`, a header then one row per match.
    Csv,
}

const HASH_HELP: &str = "\
Output (stdout):
  csv (default)  one line per hashed file: `pdq_hex,quality,path` (the reference tool's format;
                 64 lowercase hex digits). Files that fail are not listed on stdout; each gets a
                 message on stderr. Control characters in paths are escaped (\\n, \\t, \\xNN).
  jsonl          one JSON object per input: {\"path\", \"pdq\", \"quality\", \"md5\", \"sha1\",
                 \"sha256\", \"width\", \"height\", \"format\"}, plus \"pdq_dihedral\" (8 hex strings in
                 the reference's order: orig, rot90, rot180, rot270, flipx, flipy, flipplus1,
                 flipminus1) with --dihedral. An input that fails gives {\"path\", \"error\"}.
Order: inputs in the order given; a directory's files recursively, sorted by path bytes.
Paths that are not UTF-8 are printed lossily (U+FFFD).
Symbolic links are followed; loops are reported as errors.

Exit status:
  0    every input was hashed
  1    some inputs failed (each is reported; all others are still hashed)
  2    usage error or fatal error
  130  interrupted (Ctrl-C: SIGINT's default action, as shells report it)
A closed output pipe (e.g. `vigil hash dir | head`) ends the run quietly with status 0.

Logging: set VIGIL_LOG (an EnvFilter, e.g. `VIGIL_LOG=debug`); logs go to stderr, default `warn`.";

/// Options shared by `hash` and `demo`.
#[derive(Debug, ClapArgs)]
pub(crate) struct HashOpts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub(crate) format: Format,

    /// Also compute the 8 dihedral hashes (`pdq_dihedral`; needs --format jsonl).
    #[arg(long)]
    pub(crate) dihedral: bool,

    #[command(flatten)]
    pub(crate) image: ImageOpts,
}

/// How image files are read, decoded and hashed (shared by `hash`, `demo` and `match`).
#[derive(Debug, ClapArgs)]
pub(crate) struct ImageOpts {
    /// PDQ front end: `full` (full resolution, as python-threatexchange and HMA) or
    /// `reference-tool` (the C++ tool's 512x512 nearest-neighbour pre-resize).
    #[arg(long, value_enum, default_value_t = Mode::Full)]
    pub(crate) mode: Mode,

    /// Apply the EXIF orientation before hashing (default: ignore it, as the PDQ reference does).
    #[arg(long)]
    pub(crate) exif_orient: bool,

    /// Worker threads (default: all cores).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,

    /// Largest file to read, in bytes; K, M, G suffixes are powers of 1024 (e.g. 256M).
    /// Larger files are reported as errors without being read.
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub(crate) max_file_size: Option<u64>,

    /// Largest image to decode, in pixels (width x height); K, M, G suffixes are powers of 1000
    /// (e.g. 100M).
    #[arg(long, value_name = "PIXELS", value_parser = parse_count)]
    pub(crate) max_pixels: Option<u64>,

    /// Largest single allocation a decoder may make, in bytes (e.g. 1G).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub(crate) max_alloc_size: Option<u64>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct HashArgs {
    /// Files and directories to hash (directories recursively).
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) opts: HashOpts,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) opts: HashOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// `pdq_hex,quality,path`
    Csv,
    /// One JSON object per input.
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// Full resolution.
    Full,
    /// 512x512 nearest-neighbour pre-resize when a side exceeds 512.
    ReferenceTool,
}

/// Parses a byte size: `1048576`, `512K`, `256M`, `1G`, `2GiB`, `64MB` (suffixes are powers of 1024).
fn parse_bytes(s: &str) -> Result<u64, String> {
    parse_with_suffix(s, 1024, &["", "B", "IB"])
}

/// Parses a count: `100000000`, `100M`, `50MP`, `2G` (suffixes are powers of 1000).
fn parse_count(s: &str) -> Result<u64, String> {
    parse_with_suffix(s, 1000, &["", "P", "PX"])
}

fn parse_with_suffix(s: &str, base: u64, tails: &[&str]) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "{s:?} is not a number (examples: 1000, 256K, 100M, 2G)"
        ));
    }
    let n: u64 = num.parse().map_err(|e| format!("{s:?}: {e}"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let (mult, tail) = match unit.chars().next() {
        Some('K') => (base, &unit[1..]),
        Some('M') => (base.pow(2), &unit[1..]),
        Some('G') => (base.pow(3), &unit[1..]),
        Some('T') => (base.pow(4), &unit[1..]),
        _ => (1, unit.as_str()),
    };
    if !tails.contains(&tail) {
        return Err(format!(
            "{s:?}: unknown unit (examples: 1000, 256K, 100M, 2G)"
        ));
    }
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if v == 0 {
        return Err(format!("{s:?}: must be greater than zero"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("256M"), Ok(256 << 20));
        assert_eq!(parse_bytes("256m"), Ok(256 << 20));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("64MB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1K"), Ok(1024));
        assert!(parse_bytes("").is_err());
        assert!(parse_bytes("M").is_err());
        assert!(parse_bytes("12Q").is_err());
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("-5").is_err());
        assert!(parse_bytes("99999999999999T").is_err());
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("100M"), Ok(100_000_000));
        assert_eq!(parse_count("50MP"), Ok(50_000_000));
        assert_eq!(parse_count("5k"), Ok(5000));
        assert_eq!(parse_count("123"), Ok(123));
        assert!(parse_count("1MB").is_err());
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
