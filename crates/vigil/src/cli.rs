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

    /// The bank store: an SQLite file path or `sqlite://PATH`, or `postgres://USER@HOST/DB`
    /// (default: vigil.db in the user's data directory, `$XDG_DATA_HOME/vigil` or
    /// `~/.local/share/vigil`).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "VIGIL_DB",
        hide_env_values = true
    )]
    pub(crate) db: Option<String>,

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
    /// Case registry: a fictitious demo dataset, CSV import through a mapping, published tables
    /// with small-number suppression, and candidate networks of linked incidents.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Match images (hashed as `vigil hash` does) or hashes against hash lists or a saved
    /// index: every list hash within the threshold. Exit status as grep: 0 match, 1 none, 2 error.
    #[command(after_help = MATCH_HELP)]
    Match(MatchArgs),
    /// Build indexes of hash lists for `vigil match --index`.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Banks: named, durable hash lists with provenance (in the store given by --db).
    #[command(subcommand)]
    Bank(BankCommand),
    /// Quarantine one hash (stop matching it, in every bank or one) or release it, effective for
    /// the next match.
    Quarantine(QuarantineArgs),
    /// Record an analyst's verdict on a match (true or false positive), for feedback to the
    /// list's owner (`vigil bank feedback`).
    Verdict(VerdictArgs),
    /// Print the audit log of the store: who changed what, when.
    Audit(AuditArgs),
    /// Exchanges: sources a bank is fetched from (hash-list files, the NCMEC API), fetched
    /// incrementally from a checkpoint.
    #[command(subcommand)]
    Exchange(ExchangeCommand),
    /// Serve the matching service: HMA's HTTP API (existing HMA clients work unchanged) over the
    /// store's banks, with roles (API keys), an audit log, a live index and /metrics.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// API keys of the server: create (the secret is printed once), list, revoke.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Users of the web UI (/ui): create (the password is read from standard input), list,
    /// set a new password, disable.
    #[command(subcommand)]
    User(UserCommand),
    /// Crawl reported sites (clear web and Tor): follow links within a scope, hash media in
    /// memory (never written to disk), match against the store's banks and record findings.
    #[command(subcommand)]
    Crawl(CrawlCommand),
}

const CRAWL_HELP: &str = "\
A crawl is kept in the store under its --name: running it again resumes it (URLs done are not
fetched again; URLs left in flight by a killed run are fetched again). Media is hashed in memory
and never written to disk. robots.txt is honoured unless --ignore-robots. Onion hosts need
--proxy socks5h://127.0.0.1:9050 (Tor's SOCKS port; names are resolved by Tor, never locally).

With --from-queue the seeds are reported URLs taken from the store's queue (reported through
the server: POST /api/v1/crawls/reports or the Crawls page); they are marked done when the crawl
finishes, and stay taken by it while it is unfinished (run the same --name again to resume).
An empty queue is not an error (nothing is crawled).

Exit status: 0 the crawl ran (URL failures are recorded, see `vigil crawl report`), 2 usage or
fatal error (the store failed).";

/// `vigil crawl …`.
#[derive(Debug, Subcommand)]
pub(crate) enum CrawlCommand {
    /// Crawl from seed URLs (or resume the crawl of the same --name).
    #[command(after_help = CRAWL_HELP)]
    Run(CrawlRunArgs),
    /// Findings per host (and the crawl's frontier counts with --format table).
    Report(CrawlReportArgs),
    /// Removal notices: findings grouped per hosting provider (from an IP-range table) and
    /// host, rendered from a template (text) or as JSON; with --send, the notices due are sent
    /// by SMTP (or written as files with --out) and recorded.
    #[command(after_help = NOTICES_HELP)]
    Notices(CrawlNoticesArgs),
    /// Re-check the open findings: still up (same bytes), or taken down (404/410 or other
    /// bytes: the removal time is recorded). Once, or --every DURATION until stopped; with
    /// --smtp or --out, the notices due are sent after each pass.
    #[command(after_help = RECHECK_HELP)]
    Recheck(CrawlRecheckArgs),
}

/// Where the crawler's requests may go (`vigil crawl run` and `recheck`).
#[derive(Debug, ClapArgs)]
pub(crate) struct CrawlNetArgs {
    /// SOCKS5 proxy with remote DNS for onion hosts (Tor: socks5h://127.0.0.1:9050).
    #[arg(long, value_name = "URL", env = "VIGIL_CRAWL_PROXY")]
    pub(crate) proxy: Option<String>,
    /// Send every request through --proxy, not only onion hosts.
    #[arg(long, requires = "proxy")]
    pub(crate) proxy_all: bool,
    /// Non-public networks direct connections may reach (CIDR, e.g. 10.0.0.0/8; repeatable or
    /// comma-separated). None by default: a host at a private, loopback or link-local address
    /// is refused, so a reported page cannot point the crawler at internal services.
    #[arg(long = "allow-private", value_name = "CIDR", value_delimiter = ',')]
    pub(crate) allow_private: Vec<vigil_core::net::IpNet>,
}

/// `vigil crawl recheck`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CrawlRecheckArgs {
    /// Only this crawl's findings (default: every crawl's).
    #[arg(long, value_name = "NAME")]
    pub(crate) crawl: Option<String>,
    #[command(flatten)]
    pub(crate) net: CrawlNetArgs,
    /// Seconds allowed for one fetch.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub(crate) timeout: u64,
    /// Keep re-checking, a pass every DURATION (90s, 30m, 12h, 7d), until SIGINT or SIGTERM
    /// (which stop between two URLs).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub(crate) every: Option<i64>,
    #[command(flatten)]
    pub(crate) notice: NoticeArgs,
}

const NOTICES_HELP: &str = "\
Without --send, the notices for every open finding are printed and nothing is recorded. With
--send, the notices due are sent and each is recorded (sent, or failed with its error: a failed
one does not stop the others and its findings stay due): findings never notified, and with
--resend-after those still up whose last notice is at least that old (a reminder: its subject
and text say which notice it is). Removed findings are never notified again.

SMTP: --smtp smtps://HOST[:465] (TLS) or smtp://HOST[:25] (STARTTLS required; plain SMTP only to
a loopback address, unless --smtp-ca FILE names a CA to trust: then TLS for every host). Credentials come from VIGIL_SMTP_USERNAME and VIGIL_SMTP_PASSWORD, never
from a flag or the URL. Each message is the notice's text with the notice as JSON attached.

A provider with no e-mail contact in the table (none, or a web form) is reported as
uncontactable on every run but recorded once, until its contact or its open findings change;
send with --to-override, or --out for web forms.

Exit status: 0 every notice due was sent (or none was due), 1 some failed or were
uncontactable, 2 usage or fatal error.";

const RECHECK_HELP: &str = "\
Run it from a systemd timer or cron, or let it loop with --every (stop it with SIGINT or SIGTERM:
it stops between two URLs, and a URL is either recorded or left as it was). With --smtp or --out,
after each pass the notices due are sent as `vigil crawl notices --send` would.

Exit status: 0 every URL was re-checked (with --every: stopped cleanly), 1 some could not be (or
a notice failed), 2 usage or fatal error.";

/// Sending notices (`vigil crawl notices --send` and `vigil crawl recheck`).
#[derive(Debug, ClapArgs)]
pub(crate) struct NoticeArgs {
    /// CSV of `cidr,provider,contact` lines: which provider hosts which addresses.
    #[arg(long, value_name = "FILE")]
    pub(crate) providers: Option<PathBuf>,
    /// A text template with {provider}, {contact}, {count} and {items} (default: built in);
    /// a leading `Subject:` line becomes the message's subject.
    #[arg(long, value_name = "FILE")]
    pub(crate) template: Option<PathBuf>,
    /// Send by SMTP through this server: smtp://HOST[:PORT] or smtps://HOST[:PORT].
    #[arg(long, value_name = "URL", requires = "from", conflicts_with = "out")]
    pub(crate) smtp: Option<String>,
    /// The sender address of mailed notices.
    #[arg(long, value_name = "ADDR")]
    pub(crate) from: Option<String>,
    /// Also trust this CA certificate (PEM) for the SMTP server's certificate (a relay with an
    /// in-house CA); TLS is then required for every host, loopback included.
    #[arg(long, value_name = "FILE", requires = "smtp")]
    pub(crate) smtp_ca: Option<PathBuf>,
    /// Mail every notice to this address instead of the provider's contact (to review them, or
    /// for providers with no e-mail contact).
    #[arg(long, value_name = "ADDR", requires = "smtp")]
    pub(crate) to_override: Option<String>,
    /// Write the notices due as files (text and JSON) into this directory instead of mailing
    /// them (for contacts that are web forms).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Send a reminder for findings still up whose last notice is at least this old (7d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub(crate) resend_after: Option<i64>,
    /// Seconds allowed for each SMTP command.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub(crate) smtp_timeout: u64,
}

/// `vigil crawl notices`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CrawlNoticesArgs {
    /// Only this crawl's findings (default: every crawl's).
    #[arg(long, value_name = "NAME")]
    pub(crate) crawl: Option<String>,
    /// `text` (notices separated by a line of `=`) or `json` (one array).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub(crate) format: String,
    /// Send the notices due (needs --smtp and --from, or --out) and record them.
    #[arg(long)]
    pub(crate) send: bool,
    #[command(flatten)]
    pub(crate) notice: NoticeArgs,
}

/// `vigil crawl run`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CrawlRunArgs {
    /// A file of seed URLs, one per line (blank lines and lines starting with # are skipped).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "from_queue",
        conflicts_with = "from_queue"
    )]
    pub(crate) seeds: Option<PathBuf>,
    /// Seeds from the store's queue of reported URLs (`POST /api/v1/crawls/reports`): pending
    /// reports are taken atomically (two crawls never take the same one) and marked done when
    /// the crawl finishes; a resumed crawl keeps the reports it took.
    #[arg(long)]
    pub(crate) from_queue: bool,
    /// Reports taken from the queue in this run at most (default 1000; only with --from-queue).
    #[arg(long, value_name = "N")]
    pub(crate) max: Option<u64>,
    /// The crawl's name in the store (running again with the same name resumes it).
    #[arg(long, default_value = "default")]
    pub(crate) name: String,
    /// Hosts to crawl: `same-host` (the seeds' hosts) or `hosts:a.example,b.example`.
    #[arg(long, default_value = "same-host", value_name = "SCOPE")]
    pub(crate) scope: String,
    /// Links followed from a seed at most.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub(crate) max_depth: u32,
    /// Crawl only URLs matching this regular expression (repeatable: any of them).
    #[arg(long, value_name = "RE")]
    pub(crate) include: Vec<String>,
    /// Leave out URLs matching this regular expression (repeatable).
    #[arg(long, value_name = "RE")]
    pub(crate) exclude: Vec<String>,
    #[command(flatten)]
    pub(crate) net: CrawlNetArgs,
    /// Fetches in flight at most.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) workers: usize,
    /// Fetches in flight to one host at most.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) per_host_concurrency: usize,
    /// Milliseconds between the starts of two requests to one host.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub(crate) delay_ms: u64,
    /// URLs one crawl admits at most (over all its runs).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) max_pages: u64,
    /// Links taken from one page at most.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub(crate) max_links_per_page: usize,
    /// Largest body fetched, in bytes.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub(crate) max_bytes: u64,
    /// Seconds allowed for one fetch (redirects, headers and body).
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub(crate) timeout: u64,
    /// Do not fetch or honour robots.txt.
    #[arg(long)]
    pub(crate) ignore_robots: bool,
    /// Stop after this many fetches in this run (the rest stays queued for the next run).
    #[arg(long, value_name = "N")]
    pub(crate) stop_after: Option<u64>,
}

/// Output formats of `vigil crawl report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// A table per host, for people.
    Table,
    /// One line per finding: crawl,host,url,page_url,ip,found_at,kind,sha256,md5,pdq,bank,content_id,signal_kind,distance.
    Csv,
    /// One JSON object: hosts, each with its findings.
    Json,
}

/// `vigil crawl report`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CrawlReportArgs {
    /// Only this crawl (default: every crawl).
    #[arg(long, value_name = "NAME")]
    pub(crate) crawl: Option<String>,
    /// The takedown report instead: per host and per provider, items open and removed, median
    /// and 90th-percentile time to removal (nearest rank), notices sent, first and last notice.
    #[arg(long)]
    pub(crate) takedown: bool,
    /// CSV of `cidr,provider,contact` lines, for the provider of items no notice went to (an
    /// item's provider is otherwise its last notice's).
    #[arg(long, value_name = "FILE")]
    pub(crate) providers: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub(crate) format: ReportFormat,
}

const SERVE_HELP: &str = "\
Settings come from flags, else VIGIL_* environment variables, else the --config file (TOML,
the same names with '_' for '-', e.g. `listen = \"0.0.0.0:5100\"`, `allowed_hosts = [...]`),
else the defaults. With no API key the server is open (every caller is admin) and refuses any
address but loopback. Stop it with Ctrl-C or SIGTERM: requests in flight finish first.";

#[derive(Debug, ClapArgs)]
pub(crate) struct ServeArgs {
    /// A TOML file of settings (flags and environment variables override it).
    #[arg(long, value_name = "FILE", env = "VIGIL_CONFIG")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Address to listen on [default: 127.0.0.1:5100].
    #[arg(long, value_name = "ADDR", env = "VIGIL_LISTEN")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Largest request body in bytes (uploads included) [default: 33554432].
    #[arg(long, value_name = "BYTES", env = "VIGIL_MAX_BODY")]
    pub(crate) max_body: Option<usize>,
    /// Largest download by URL in bytes [default: 104857600].
    #[arg(long, value_name = "BYTES", env = "VIGIL_MAX_REMOTE")]
    pub(crate) max_remote: Option<u64>,
    /// Hosts media may be fetched from by URL (and their subdomains); none: any public host.
    #[arg(
        long = "allowed-host",
        value_name = "HOST",
        env = "VIGIL_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub(crate) allowed_hosts: Vec<String>,
    /// Non-public address ranges media may be fetched from (CIDR, e.g. 10.0.0.0/8); none by
    /// default: private, loopback and link-local addresses are refused.
    #[arg(
        long = "allow-private",
        value_name = "CIDR",
        env = "VIGIL_ALLOW_PRIVATE",
        value_delimiter = ','
    )]
    pub(crate) allow_private: Vec<String>,
    /// How often the index follows bank changes, in milliseconds [default: 250].
    #[arg(long, value_name = "MS", env = "VIGIL_REFRESH_MS")]
    pub(crate) refresh_ms: Option<u64>,
    /// Requests per second per API key (bursts of twice that); 0: no limit [default: 0].
    #[arg(long, value_name = "N", env = "VIGIL_RATE_LIMIT")]
    pub(crate) rate_limit: Option<f64>,
    /// Fetch every exchange at this interval, in seconds, in the background (as HMA's
    /// fetcher); none: exchanges are fetched by `vigil exchange fetch`.
    #[arg(long, value_name = "SECS", env = "VIGIL_FETCH_EVERY")]
    pub(crate) fetch_every: Option<u64>,
    /// Parts of the API not to mount (hasher, matcher, curator), as HMA's ROLE_* flags off.
    #[arg(
        long = "without",
        value_name = "PART",
        env = "VIGIL_WITHOUT",
        value_delimiter = ','
    )]
    pub(crate) without: Vec<String>,
    /// Mark the web UI's cookies Secure (HTTPS only). Turn it on whenever the UI is reached
    /// through TLS (a reverse proxy), so that a session cookie never travels in clear.
    #[arg(long, env = "VIGIL_SECURE_COOKIES")]
    pub(crate) secure_cookies: bool,
    /// Videos sent to /h/hash or /api/v1: hash one frame every S seconds (frame n when
    /// n % int(S × fps) == 0); 0 hashes every frame [default: 1, as python-threatexchange and
    /// HMA].
    #[arg(long, value_name = "S", env = "VIGIL_SECONDS_PER_HASH", value_parser = parse_seconds)]
    pub(crate) seconds_per_hash: Option<f64>,
    /// Largest video to hash (uploads are also bounded by --max-body, downloads by
    /// --max-remote) [default: 16G].
    #[arg(long, value_name = "SIZE", env = "VIGIL_MAX_VIDEO_SIZE", value_parser = parse_bytes)]
    pub(crate) max_video_size: Option<u64>,
    /// Longest video to decode, in seconds [default: 21600].
    #[arg(long, value_name = "SECONDS", env = "VIGIL_MAX_VIDEO_SECONDS")]
    pub(crate) max_video_seconds: Option<u64>,
    /// Wall-clock time one video may take to decode and hash, in seconds [default: 600].
    #[arg(long, value_name = "SECONDS", env = "VIGIL_VIDEO_TIME_BUDGET")]
    pub(crate) video_time_budget: Option<u64>,
    /// Background tiles of the case map page: a URL template with {z}, {x} and {y} (e.g.
    /// https://tiles.example.org/{z}/{x}/{y}.png); none by default (boundaries on a plain
    /// background, no request leaves the server).
    #[arg(long, value_name = "URL", env = "VIGIL_MAP_TILES")]
    pub(crate) map_tiles: Option<String>,
    /// The attribution the tiles' licence asks for (plain text).
    #[arg(long, value_name = "TEXT", env = "VIGIL_MAP_TILES_ATTRIBUTION")]
    pub(crate) map_tiles_attribution: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a key; its secret is printed once and never stored (only its SHA-256).
    Create(KeyCreateArgs),
    /// List the keys (names, roles, creation and revocation times; never secrets).
    List,
    /// Revoke a key: refused from the server's next refresh (within a second).
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct KeyCreateArgs {
    /// Who or what uses it.
    #[arg(long)]
    pub(crate) name: String,
    /// admin (everything), curator (banks, content, lookups), matcher (hashing and lookups) or
    /// viewer (reading banks and status).
    #[arg(long)]
    pub(crate) role: String,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct KeyRevokeArgs {
    /// The key's name.
    pub(crate) name: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; the password is read from standard input (never from the command line)
    /// and stored as an argon2id hash.
    Create(UserCreateArgs),
    /// List the users (names, roles, creation and disabling times; never password hashes).
    List,
    /// Set a user's password (read from standard input); its sessions end.
    Password(UserPasswordArgs),
    /// Disable a user: it can no longer log in, and its sessions end now.
    Disable(UserDisableArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct UserCreateArgs {
    /// The name the user logs in with.
    #[arg(long)]
    pub(crate) name: String,
    /// admin (everything), curator (banks, content, lookups, verdicts, imports), matcher
    /// (lookups) or viewer (reading banks and exchanges).
    #[arg(long)]
    pub(crate) role: String,
    /// Read the password from standard input (its first line; at least 8 characters).
    /// Required: a password is never taken from the command line.
    #[arg(long, required = true)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct UserPasswordArgs {
    /// The user's name.
    pub(crate) name: String,
    /// Read the new password from standard input (required).
    #[arg(long, required = true)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct UserDisableArgs {
    /// The user's name.
    pub(crate) name: String,
}

const SIGNAL_HELP: &str = "\
A signal is KIND:VALUE or, for PDQ, just the 64 hex digits. KIND is pdq, md5, sha1, sha256, vpdq
or another python-threatexchange signal type; hex values are checked and lower-cased.";

#[derive(Debug, Subcommand)]
pub(crate) enum BankCommand {
    /// Create a bank.
    Create(BankCreateArgs),
    /// List the banks.
    List(BankListArgs),
    /// Show one bank.
    Show(BankNameArg),
    /// Import hash-list files into a bank: all of a file or (at its first bad record) none.
    #[command(after_help = BANK_IMPORT_HELP)]
    Import(BankImportArgs),
    /// Export a bank's content to stdout (or --out FILE).
    Export(BankExportArgs),
    /// Add one content item with its signals.
    #[command(after_help = SIGNAL_HELP)]
    Add(BankAddArgs),
    /// Remove content items (by the ids `vigil bank show --content`, imports and matches give).
    Remove(BankRemoveArgs),
    /// Disable a bank (it is no longer matched), or quarantine content items with --content.
    Disable(BankToggleArgs),
    /// Enable a bank, or release quarantined content items with --content.
    Enable(BankToggleArgs),
    /// Set a bank's PDQ threshold, description or kind.
    Set(BankSetArgs),
    /// Delete a bank and all its content (the audit log keeps the record of it).
    Delete(BankDeleteArgs),
    /// Print the verdicts recorded on a bank's matches, as JSON lines (feedback for the list's
    /// owner).
    Feedback(BankNameArg),
}

const BANK_IMPORT_HELP: &str = "\
Formats (--format):
  plain     one PDQ hash per line, optional fields after a comma or tab (`vigil hash` csv output)
  pytx      python-threatexchange text, `<signal_type> <signal>` per line
  pytx-csv  python-threatexchange CSV (header; signal_type, signal_str, collab, category, tags)
  vics      Project VIC VICS 2.0 JSON, `#Media` or `#Cases` (each media object is one item;
            --vics-scheme us|legacy is required unless the file declares the US model)
An item is identified in its bank by its first external id or, without one, by its first signal:
importing the same file twice adds nothing; an item seen again gains the new signals, and its
provenance for this source (--source, default `file:NAME`) is replaced.
A bad record stops the import of that file with an error naming FILE:LINE and nothing of that file
is imported; with --skip-bad the good records are imported and the bad ones reported.

Exit status:
  0    every file was imported completely
  1    some records were skipped (--skip-bad)
  2    an error: nothing of the failing file was imported (files before it were)";

#[derive(Debug, Subcommand)]
pub(crate) enum ExchangeCommand {
    /// Add an exchange filling a bank: a hash-list file or directory (--kind file), or the NCMEC
    /// hash sharing API (--kind ncmec).
    #[command(after_help = EXCHANGE_ADD_HELP)]
    Add(ExchangeAddArgs),
    /// Fetch an exchange (or --all) from its checkpoint: only what is new since the last fetch.
    #[command(after_help = EXCHANGE_FETCH_HELP)]
    Fetch(ExchangeFetchArgs),
    /// Print the exchanges' status as JSON lines: last fetch, status, error, checkpoint,
    /// counters.
    Status(ExchangeStatusArgs),
    /// Remove an exchange with its checkpoint (its bank keeps the content it brought).
    Remove(ExchangeRemoveArgs),
}

const EXCHANGE_ADD_HELP: &str = "\
Kinds:
  file   --path FILE|DIR [--format plain|pytx|pytx-csv|vics] [--vics-scheme us|legacy]
         A hash-list file, or a directory of them (recursively; names starting with `.` are
         left out). A fetch applies each new or changed file (by size, modification time and
         SHA-256) in one transaction, as `vigil bank import --skip-bad` would; unchanged files are
         not read again. Items removed from a file stay in the bank.
  ncmec  --url BASE_URL [--user-env VAR --password-env VAR] [--start DATE]
         The NCMEC hash sharing API v2, e.g. --url https://report.cybertip.org/hashsharing.
         The user name and password are read at fetch time from the environment variables
         named here; they are never stored or printed. https is required (http only for
         loopback addresses). --start (YYYY-MM-DD, an RFC 3339 time or Unix seconds; default
         1970) is where the first fetch begins.
The configuration is stored in the bank store in clear and shown by `vigil exchange status`.";

const EXCHANGE_FETCH_HELP: &str = "\
A fetch goes on from the exchange's checkpoint. Each page (NCMEC) or file (file) is applied in one
transaction together with the checkpoint after it, so a fetch that is interrupted or fails
resumes where it stopped, without skipping or repeating anything. NCMEC deletions remove the
items; entries come in no time order, and of two changes to one entry the later one wins.
A malformed page stops the fetch, keeps the checkpoint before it and is recorded in the status;
the next fetch asks for that page again. Bad entries are skipped, counted and reported.
Prints one JSON line per exchange on stdout (what was fetched, the status and the checkpoint),
warnings and a summary on stderr.

Exit status:
  0    everything was fetched
  1    some entries were bad and skipped (the rest was applied)
  2    an error stopped a fetch (what was applied before it stays; see `vigil exchange status`)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExchangeKindArg {
    /// A hash-list file or a directory of them.
    File,
    /// The NCMEC hash sharing API v2.
    Ncmec,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ExchangeAddArgs {
    /// Name: letters, digits, `_`, `-`, `.` (at most 100).
    pub(crate) name: String,
    /// The bank it fills (which must exist).
    #[arg(long)]
    pub(crate) bank: String,
    /// The kind of source.
    #[arg(long, value_enum)]
    pub(crate) kind: ExchangeKindArg,
    /// file: the hash-list file or directory.
    #[arg(long, value_name = "PATH")]
    pub(crate) path: Option<PathBuf>,
    /// file: the files' format.
    #[arg(long, value_enum)]
    pub(crate) format: Option<ListFormat>,
    /// file, VICS: the files' category scheme (required unless they declare the US model).
    #[arg(long, value_enum)]
    pub(crate) vics_scheme: Option<VicsSchemeArg>,
    /// ncmec: the environment's base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// ncmec: the environment variable holding the user name.
    #[arg(long, value_name = "VAR")]
    pub(crate) user_env: Option<String>,
    /// ncmec: the environment variable holding the password.
    #[arg(long, value_name = "VAR")]
    pub(crate) password_env: Option<String>,
    /// ncmec: where the first fetch begins (YYYY-MM-DD, RFC 3339 or Unix seconds; UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_start)]
    pub(crate) start: Option<i64>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ExchangeFetchArgs {
    /// The exchange.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) name: Option<String>,
    /// Fetch every exchange, by name (an error on one does not stop the others).
    #[arg(long)]
    pub(crate) all: bool,
    /// Stop after this many pages (NCMEC) or files applied; the next fetch goes on.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_pages: Option<u64>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ExchangeStatusArgs {
    /// Only this exchange (default: all).
    pub(crate) name: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ExchangeRemoveArgs {
    /// The exchange.
    pub(crate) name: String,
    /// Confirm: its checkpoint is lost (a new exchange would fetch everything again).
    #[arg(long, required = true)]
    pub(crate) yes: bool,
}

/// Parses `YYYY-MM-DD`, an RFC 3339 time or Unix seconds into Unix seconds.
fn parse_start(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|e| format!("{s:?}: {e}"));
    }
    let full = if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    let ts = vigil_exchange::record::Timestamp::parse(&full).map_err(|_| {
        format!("{s:?} is not a date (YYYY-MM-DD), an RFC 3339 time or Unix seconds")
    })?;
    let secs = ts.unix_nanos().div_euclid(1_000_000_000);
    i64::try_from(secs)
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(|| format!("{s:?}: before 1970 or too far ahead"))
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankNameArg {
    /// The bank.
    pub(crate) name: String,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankCreateArgs {
    /// Name: letters, digits, `_`, `-`, `.` (at most 100).
    pub(crate) name: String,
    /// Free-text description.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// An allow-list bank: its hashes are known false positives, and a query matching it has its
    /// other matches suppressed.
    #[arg(long)]
    pub(crate) allow: bool,
    /// PDQ match threshold for this bank (inclusive, 0..=256; default: the matcher's, 31).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=256))]
    pub(crate) threshold: Option<u32>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub(crate) format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankImportArgs {
    /// The bank.
    pub(crate) name: String,
    /// Files to import, each in its own transaction.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// The files' format.
    #[arg(long, value_enum, default_value_t = ListFormat::Plain)]
    pub(crate) format: ListFormat,
    /// The provenance source recorded for the items (default: `file:` and the file's name).
    #[arg(long)]
    pub(crate) source: Option<String>,
    /// VICS: the category scheme of the file (required unless the file declares the US data
    /// model; Vigil never guesses, because the two schemes give numbers different meanings).
    #[arg(long, value_enum)]
    pub(crate) vics_scheme: Option<VicsSchemeArg>,
    /// Import the good records and report the bad ones instead of refusing the file.
    #[arg(long)]
    pub(crate) skip_bad: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// One PDQ hash per line.
    Plain,
    /// python-threatexchange text: `<signal_type> <signal>` per line.
    Pytx,
    /// python-threatexchange CSV: `signal_type,signal_str,collab,category,tags` with a header.
    PytxCsv,
    /// Project VIC VICS 2.0 OData JSON (`#Media` or `#Cases`; exported as `#Media`).
    Vics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum VicsSchemeArg {
    /// Project VIC US categories 0-4 (0 non-pertinent, 1 CAM, 2 exploitive/age difficult,
    /// 3 CGI/animation, 4 comparison).
    Us,
    /// Legacy categories 0-5 (0 uncategorized, 1 illegal, 2 age difficult, 3 CGI,
    /// 4 exemplar/comparison, 5 non-pertinent).
    Legacy,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankExportArgs {
    /// The bank.
    pub(crate) name: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Plain)]
    pub(crate) format: ListFormat,
    /// Write to FILE (via a temporary file renamed into place) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// VICS: the category scheme to write (categories are converted by meaning; one with no
    /// equivalent is an error).
    #[arg(long, value_enum, default_value_t = VicsSchemeArg::Us)]
    pub(crate) vics_scheme: VicsSchemeArg,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankAddArgs {
    /// The bank.
    pub(crate) name: String,
    /// The item's signals.
    #[arg(required = true, value_name = "SIGNAL")]
    pub(crate) signals: Vec<String>,
    /// An external id for the item.
    #[arg(long)]
    pub(crate) id: Option<String>,
    /// A note.
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// A URI for the content.
    #[arg(long)]
    pub(crate) uri: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankRemoveArgs {
    /// The bank.
    pub(crate) name: String,
    /// Content item ids.
    #[arg(required = true, value_name = "ID")]
    pub(crate) ids: Vec<i64>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankToggleArgs {
    /// The bank.
    pub(crate) name: String,
    /// Quarantine (disable) or release (enable) these content items instead of the bank.
    #[arg(long = "content", value_name = "ID")]
    pub(crate) content: Vec<i64>,
    /// With --content on disable: only for this long (e.g. 30m, 12h, 7d; default: until enabled).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration_ms)]
    pub(crate) for_: Option<i64>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankSetArgs {
    /// The bank.
    pub(crate) name: String,
    /// New PDQ threshold (0..=256), or `default`.
    #[arg(long, value_name = "N|default")]
    pub(crate) threshold: Option<String>,
    /// New description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Make it an allow-list bank (`allow`) or a block bank (`block`).
    #[arg(long, value_name = "block|allow")]
    pub(crate) kind: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BankDeleteArgs {
    /// The bank.
    pub(crate) name: String,
    /// Confirm: the bank's content is deleted for good.
    #[arg(long, required = true)]
    pub(crate) yes: bool,
}

#[derive(Debug, ClapArgs)]
#[command(after_help = SIGNAL_HELP)]
pub(crate) struct QuarantineArgs {
    /// The hash to quarantine or release.
    #[arg(value_name = "SIGNAL")]
    pub(crate) signal: String,
    /// Only in this bank (default: every bank holding it).
    #[arg(long)]
    pub(crate) bank: Option<String>,
    /// Only for this long (e.g. 30m, 12h, 7d; default: until released).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration_ms,
          conflicts_with = "release")]
    pub(crate) for_: Option<i64>,
    /// Release it instead (match it again).
    #[arg(long)]
    pub(crate) release: bool,
}

#[derive(Debug, ClapArgs)]
#[command(after_help = SIGNAL_HELP)]
pub(crate) struct VerdictArgs {
    /// The bank whose signal matched.
    pub(crate) bank: String,
    /// The matched signal (the list's hash).
    #[arg(value_name = "SIGNAL")]
    pub(crate) signal: String,
    /// What was matched against it (a file name, a query hash, a case reference).
    #[arg(long)]
    pub(crate) query: String,
    /// The match is real.
    #[arg(
        long,
        conflicts_with = "false_positive",
        required_unless_present = "false_positive"
    )]
    pub(crate) true_positive: bool,
    /// The match is wrong.
    #[arg(long)]
    pub(crate) false_positive: bool,
    /// A note.
    #[arg(long)]
    pub(crate) note: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct AuditArgs {
    /// Only entries after this id.
    #[arg(long, default_value_t = 0)]
    pub(crate) after: i64,
    /// At most this many entries.
    #[arg(long, default_value_t = 1000)]
    pub(crate) limit: i64,
}

/// Parses `90s`, `30m`, `12h`, `7d`, `2w` (or plain seconds) into milliseconds.
fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (examples: 90s, 30m, 12h, 7d, 2w)"))?;
    let mult = match unit {
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(format!("{s:?}: unknown unit (use s, m, h, d or w)")),
    };
    match n.checked_mul(mult) {
        Some(v) if v > 0 => Ok(v),
        _ => Err(format!(
            "{s:?}: must be greater than zero and not absurdly large"
        )),
    }
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

Banks (--bank NAME, --all-banks; the store is --db or VIGIL_DB): the bank's PDQ signals that are
not quarantined, of enabled banks, each bank with its own threshold unless --threshold is given.
Every enabled allow-list bank of the store applies too: a query within an allow bank's threshold
of one of its hashes is a known false positive, and its block matches are suppressed (reported
under \"allowed\", not under \"matches\"; the query does not count as a match). A bank match
carries \"bank\" and \"content\" (the content item's id) instead of \"list\" and \"line\"; in csv
the list column holds `bank:NAME` and the line column the content id.

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
        required_unless_present_any = ["indexes", "banks", "all_banks", "videos"]
    )]
    pub(crate) lists: Vec<PathBuf>,

    /// Known videos to match video queries against (repeatable): a video file (hashed as `vigil
    /// hash` does), a vPDQ frame file in the reference's text format
    /// (`frame_number,quality,pdq_hex,timestamp`, e.g. from `vigil hash --format vpdq`), or a
    /// directory of them.
    #[arg(long = "videos", value_name = "PATH")]
    pub(crate) videos: Vec<PathBuf>,

    /// Video matching rules: `threatexchange` (python-threatexchange and HMA: de-duplicated
    /// frames, distance <= threshold) or `reference` (the vPDQ C++ tools: distance < threshold).
    #[arg(long, value_enum, default_value_t = VpdqSemantics::Threatexchange)]
    pub(crate) vpdq_semantics: VpdqSemantics,

    /// A video matches when at least this percentage of the query's frames (quality >= 50)
    /// have a partner in it.
    #[arg(long, value_name = "PCT", default_value_t = 80.0)]
    pub(crate) vpdq_query_percent: f64,

    /// ... and at least this percentage of its frames have a partner in the query.
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    pub(crate) vpdq_compared_percent: f64,

    /// A bank of the store (--db) to match against, with its threshold and quarantines
    /// (repeatable). The store's enabled allow-list banks always apply as well.
    #[arg(long = "bank", value_name = "NAME")]
    pub(crate) banks: Vec<String>,

    /// Match against every enabled bank of the store.
    #[arg(long)]
    pub(crate) all_banks: bool,

    /// A saved index (`vigil index build`) to match against, beside or instead of --list
    /// (repeatable).
    #[arg(long = "index", value_name = "INDEX")]
    pub(crate) indexes: Vec<PathBuf>,

    /// Largest Hamming distance that matches (inclusive), 0..=256 [default: 31, or each bank's
    /// own threshold]. Given, it applies to banks too.
    #[arg(short, long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=256))]
    pub(crate) threshold: Option<u32>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = MatchFormat::Jsonl)]
    pub(crate) format: MatchFormat,

    /// Read query hashes from FILE (list format; `-` for stdin) instead of hashing images.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub(crate) hashes: Option<PathBuf>,

    /// Image and video files and directories to match (directories recursively). Images are
    /// matched against lists, indexes and banks; videos against --videos.
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
pub(crate) enum VpdqSemantics {
    /// python-threatexchange's `match_VPDQ_hash_brute` (HMA's).
    Threatexchange,
    /// The vPDQ C++ reference's `matchTwoHashBrute`.
    Reference,
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

    /// Videos: list every hashed frame (`frames`: number, quality, pdq, timestamp; needs
    /// --format jsonl).
    #[arg(long)]
    pub(crate) frames: bool,

    /// With --format vpdq: write one `<path>.vpdq.txt` per video under DIR (the input's path,
    /// made relative) instead of stdout (which takes one video only).
    #[arg(long, value_name = "DIR")]
    pub(crate) output_dir: Option<PathBuf>,

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

    #[command(flatten)]
    pub(crate) video: VideoOpts,
}

/// How video files are hashed (vPDQ).
#[derive(Debug, ClapArgs)]
pub(crate) struct VideoOpts {
    /// Videos: hash one frame every S seconds, as the vPDQ reference samples (frame n is hashed
    /// when n % int(S × fps) == 0); 0 hashes every frame. Default 1, python-threatexchange's and
    /// HMA's.
    #[arg(long, value_name = "S", default_value_t = 1.0, value_parser = parse_seconds)]
    pub(crate) seconds_per_hash: f64,

    /// Videos: decode every frame even when sampling. By default the frames that are neither
    /// sampled nor referred to by other frames are left undecoded; the hashes are the same
    /// either way, this is only slower (for comparisons).
    #[arg(long)]
    pub(crate) decode_every_frame: bool,

    /// Largest video file to read (default 16G).
    #[arg(long, value_name = "SIZE", value_parser = parse_bytes)]
    pub(crate) max_video_size: Option<u64>,

    /// Longest video to decode, in seconds (default 21600, six hours).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) max_video_seconds: Option<u64>,

    /// Wall-clock time one video may take to decode and hash, in seconds (default 3600).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) video_time_budget: Option<u64>,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    if !(v.is_finite() && (0.0..=3600.0).contains(&v)) {
        return Err(format!("{s:?}: expected seconds from 0 to 3600"));
    }
    Ok(v)
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
    /// `pdq_hex,quality,path`; a video gives one line per hashed frame, its path followed by
    /// `#t=SECONDS` (a media fragment).
    Csv,
    /// One JSON object per input.
    Jsonl,
    /// Videos only: the vPDQ reference's text format, `frame_number,quality,pdq_hex,timestamp`
    /// per hashed frame.
    Vpdq,
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
    fn start_dates() {
        assert_eq!(parse_start("1970-01-02"), Ok(86_400));
        assert_eq!(parse_start("2017-10-24T15:00:00Z"), Ok(1_508_857_200));
        assert_eq!(parse_start("2017-10-24T17:00:00+02:00"), Ok(1_508_857_200));
        assert_eq!(parse_start("12345"), Ok(12_345));
        assert!(parse_start("yesterday").is_err());
        assert!(parse_start("1969-12-31").is_err());
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}

/// `vigil cases …`: the case registry, in the store (--db) or in dataset files (JSON: areas,
/// population, incidents).
#[derive(Debug, Subcommand)]
pub(crate) enum CasesCommand {
    /// Write a deterministic, entirely fictitious demo dataset and the ground truth of what it
    /// plants (networks, duplicates, hubs).
    Demo(CasesDemoArgs),
    /// Import a CSV or XLSX file through a mapping, into a dataset file (--out) or the store
    /// (--store). A file with any error imports nothing (each error is printed with its row and
    /// field, exit 1) unless --skip-bad.
    Import(CasesImportArgs),
    /// Print a table (one-way, or a cross-tab with --cols) with small-number suppression, as CSV
    /// or SDMX-style CSV; with --rows year, also the year-on-year change.
    Stats(CasesStatsArgs),
    /// SDG target 16.2 figures: the registry's detected victims per 100,000 (16.2.2-style,
    /// computed from the incidents and the population figures) beside the survey indicators
    /// 16.2.1 and 16.2.3 as imported (`vigil cases areas import --indicators`), as CSV.
    Sdg(CasesSdgArgs),
    /// Rank candidate networks of incidents linked by shared identifiers, every link explained.
    Network(CasesNetworkArgs),
    /// Export the registry (the store's, or a dataset file's) as a dataset file encrypted with a
    /// passphrase (age format: `age -d` or `vigil cases decrypt` reads it). Audited.
    Export(CasesExportArgs),
    /// Decrypt an export made by `vigil cases export`.
    Decrypt(CasesDecryptArgs),
    /// Write the hotspot map (GeoJSON): rates per district, Getis-Ord Gi* hot and cold spots,
    /// and, with a key, displaced incident points.
    Map(crate::commands::cases_map::CasesMapArgs),
    /// The area hierarchy, boundaries and population figures in the store.
    #[command(subcommand)]
    Areas(crate::commands::cases_map::CasesAreasCommand),
    /// Record scopes: limit an API key or a UI user to some provinces or districts (the server
    /// filters every case route by it). Audited.
    #[command(subcommand)]
    Scopes(CasesScopesCommand),
}

/// `vigil cases scopes …`.
#[derive(Debug, Subcommand)]
pub(crate) enum CasesScopesCommand {
    /// Print every limited subject and its areas.
    List,
    /// Limit SUBJECT (key:NAME or user:NAME) to these province or district codes, replacing
    /// its scope. The codes must be in the store's area hierarchy.
    Set {
        /// key:NAME (an API key) or user:NAME (a UI user).
        subject: String,
        /// Province or district codes.
        #[arg(required = true)]
        areas: Vec<String>,
    },
    /// Remove SUBJECT's limit (it sees every record its role allows).
    Clear {
        /// key:NAME or user:NAME.
        subject: String,
    },
}

impl CasesCommand {
    /// Whether the command reads or writes the store.
    pub(crate) fn uses_store(&self) -> bool {
        match self {
            CasesCommand::Demo(_) | CasesCommand::Decrypt(_) => false,
            CasesCommand::Import(a) => a.store,
            CasesCommand::Stats(a) => a.dataset.is_none(),
            CasesCommand::Network(a) => a.dataset.is_none(),
            CasesCommand::Sdg(a) => a.dataset.is_none(),
            CasesCommand::Export(a) => a.dataset.is_none(),
            CasesCommand::Map(a) => a.dataset.is_none() || a.boundaries.is_none(),
            CasesCommand::Areas(_) | CasesCommand::Scopes(_) => true,
        }
    }
}

/// Where a passphrase comes from: a file (first line) or the environment, never a flag.
#[derive(Debug, Clone, ClapArgs)]
pub(crate) struct PassphraseArgs {
    /// Read the passphrase from the first line of FILE (else VIGIL_EXPORT_PASSPHRASE).
    #[arg(long, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesExportArgs {
    /// A dataset file to export (default: the store's registry).
    pub(crate) dataset: Option<PathBuf>,
    /// Where to write the encrypted export (via a temporary file renamed into place).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Include exact points (from the store; otherwise they are left out).
    #[arg(long)]
    pub(crate) with_points: bool,
    #[command(flatten)]
    pub(crate) passphrase: PassphraseArgs,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesDecryptArgs {
    /// The encrypted export.
    pub(crate) file: PathBuf,
    /// Where to write the dataset (JSON).
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) passphrase: PassphraseArgs,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesDemoArgs {
    /// Seed of the generator (the same seed gives the same data).
    #[arg(long, default_value_t = 8)]
    pub(crate) seed: u64,
    /// Incidents per year (2019-2023), before duplicates.
    #[arg(long, default_value_t = 800)]
    pub(crate) per_year: usize,
    /// Where to write the dataset (JSON).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Where to write the ground truth (JSON).
    #[arg(long)]
    pub(crate) truth: Option<PathBuf>,
    /// Where to write the demo's fictitious district boundaries (GeoJSON).
    #[arg(long)]
    pub(crate) boundaries: Option<PathBuf>,
    /// Where to write the demo's population figures (CSV).
    #[arg(long)]
    pub(crate) population: Option<PathBuf>,
    /// Where to write the demo's incidents as a register to import (CSV, one row an incident,
    /// in the sahil-2022 taxonomy); its mapping goes to --register-mapping.
    #[arg(long, requires = "register_mapping")]
    pub(crate) register: Option<PathBuf>,
    /// Where to write the mapping of --register (JSON, for `vigil cases import --mapping`).
    #[arg(long, requires = "register")]
    pub(crate) register_mapping: Option<PathBuf>,
}

#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["out", "store"])))]
pub(crate) struct CasesImportArgs {
    /// The CSV or XLSX file (an XLSX file is recognised by its content, not its name).
    pub(crate) file: PathBuf,
    /// The mapping (JSON: taxonomy, columns, values).
    #[arg(long)]
    pub(crate) mapping: PathBuf,
    /// A dataset whose areas the import checks against (and, with --out, keeps). Needed with
    /// --out; with --store the default is the store's area hierarchy (`vigil cases areas import
    /// --hierarchy`).
    #[arg(long)]
    pub(crate) areas: Option<PathBuf>,
    /// The sheet of an XLSX file to read (default: the first).
    #[arg(long)]
    pub(crate) sheet: Option<String>,
    /// Write a dataset file with the areas and the imported incidents.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Save the incidents into the store (--db), replacing those with the same ids, in one
    /// transaction.
    #[arg(long)]
    pub(crate) store: bool,
    /// Import the rows without errors and report the others.
    #[arg(long)]
    pub(crate) skip_bad: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CasesDim {
    Year,
    HalfYear,
    Category,
    Subtype,
    Sex,
    AgeBand,
    AbuserCategory,
    Place,
    Province,
    District,
    Locality,
    Registered,
    Reported,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CasesFormat {
    /// A table: row labels, one column per column label, totals.
    Csv,
    /// Tidy SDMX-style CSV: dimension columns, OBS_VALUE, OBS_STATUS, CONF_STATUS.
    Sdmx,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesStatsArgs {
    /// A dataset file (JSON; default: the store's registry).
    pub(crate) dataset: Option<PathBuf>,
    /// Row dimension.
    #[arg(long, value_enum)]
    pub(crate) rows: CasesDim,
    /// Column dimension (a cross-tab).
    #[arg(long, value_enum)]
    pub(crate) cols: Option<CasesDim>,
    /// Cells below k (and above 0) are shown as "<k", with secondary suppression.
    #[arg(long, default_value_t = 5)]
    pub(crate) k: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub(crate) format: CasesFormat,
    /// Merge incidents reported by several outlets before counting.
    #[arg(long)]
    pub(crate) dedup: bool,
    /// Map every incident into this taxonomy version first (e.g. sahil-2022).
    #[arg(long)]
    pub(crate) taxonomy: Option<String>,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesSdgArgs {
    /// A dataset file (JSON; default: the store's registry, population and indicators).
    pub(crate) dataset: Option<PathBuf>,
    /// Imported indicator figures to print with a dataset file (CSV, as `areas import
    /// --indicators` takes).
    #[arg(long)]
    pub(crate) indicators: Option<PathBuf>,
    /// The age group of the population figures (needed when there are several; children: e.g.
    /// 0-17).
    #[arg(long)]
    pub(crate) age_group: Option<String>,
    /// Rates by province instead of district.
    #[arg(long)]
    pub(crate) by_province: bool,
    /// Merge incidents reported by several outlets before counting victims.
    #[arg(long)]
    pub(crate) dedup: bool,
}

/// `vigil cases network`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CasesNetworkArgs {
    /// A dataset file (JSON; default: the store's registry).
    pub(crate) dataset: Option<PathBuf>,
    /// How many candidate networks to print.
    #[arg(long, default_value_t = 10)]
    pub(crate) top: usize,
    /// Identifiers named by more incidents than this are hubs and ignored.
    #[arg(long, default_value_t = 25)]
    pub(crate) hub_cap: usize,
    /// Links scoring below this are dropped.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) min_score: f64,
}
