//! `vigil crawl run|report|notices|recheck`: the command line over `vigil-crawl`.
//!
//! `run` resolves the flags into `vigil_crawl::CrawlOptions` (usage errors exit 2 before any
//! work), loads the banks into a `vigil_matcher::Matcher` once, opens the crawl's frontier in the
//! store (resuming a crawl of the same name) and crawls on a multi-threaded runtime (fetching
//! is I/O, hashing runs on blocking threads). `report` reads the findings back, per host, or
//! the takedown report per host and provider. `notices --send` and `recheck` (with --smtp or
//! --out) send the notices due; `recheck --every` loops until SIGINT/SIGTERM.
//! Nothing here writes media: the crawler keeps bytes in memory only.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Serialize;
use vigil_crawl::scope::normalize;
use vigil_crawl::{CrawlOptions, FetchOptions, Hosts, Scope, StoreFrontier};

use crate::cli::{
    CrawlCommand, CrawlNoticesArgs, CrawlRecheckArgs, CrawlReportArgs, CrawlRunArgs, NoticeArgs,
    ReportFormat,
};
use crate::commands::store::open;
use crate::exit::ExitStatus;
use vigil_store::Store;

/// Runs `vigil crawl …` against the store at `db`.
pub(crate) fn run(db: &str, command: CrawlCommand) -> anyhow::Result<ExitStatus> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        match command {
            CrawlCommand::Run(a) => crawl_run(db, a).await,
            CrawlCommand::Report(a) => report(db, a).await,
            CrawlCommand::Notices(a) => notices(db, a).await,
            CrawlCommand::Recheck(a) => recheck(db, a).await,
        }
    })
}

/// The settings of a crawl as recorded with it (JSON; for people reading the store).
#[derive(Serialize)]
struct Settings<'a> {
    scope: &'a str,
    max_depth: u32,
    include: &'a [String],
    exclude: &'a [String],
    proxy_all: bool,
    ignore_robots: bool,
    max_pages: u64,
    from_queue: bool,
}

fn options(a: &CrawlRunArgs) -> anyhow::Result<CrawlOptions> {
    let hosts = match a.scope.as_str() {
        "same-host" => Hosts::SameAsSeeds,
        s => match s.strip_prefix("hosts:") {
            Some(list) => {
                let hosts: std::collections::BTreeSet<String> = list
                    .split(',')
                    .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect();
                if hosts.is_empty() {
                    bail!("--scope hosts: needs at least one host");
                }
                Hosts::Listed(hosts)
            }
            None => bail!("--scope {s:?}: expected same-host or hosts:a.example,b.example"),
        },
    };
    let regexes = |flag: &str, res: &[String]| -> anyhow::Result<Vec<regex::Regex>> {
        res.iter()
            .map(|r| regex::Regex::new(r).with_context(|| format!("--{flag} {r:?}")))
            .collect()
    };
    if a.workers == 0 || a.per_host_concurrency == 0 {
        bail!("--workers and --per-host-concurrency must be at least 1");
    }
    if a.timeout == 0 {
        bail!("--timeout must be at least 1 second");
    }
    Ok(CrawlOptions {
        fetch: FetchOptions {
            max_bytes: a.max_bytes,
            max_decompressed_bytes: a.max_bytes,
            timeout: Duration::from_secs(a.timeout),
            proxy: a.net.proxy.clone(),
            proxy_all: a.net.proxy_all,
            allow_private: a.net.allow_private.clone(),
            ..FetchOptions::default()
        },
        scope: Scope {
            hosts,
            max_depth: a.max_depth,
            include: regexes("include", &a.include)?,
            exclude: regexes("exclude", &a.exclude)?,
        },
        workers: a.workers,
        per_host_concurrency: a.per_host_concurrency,
        delay: Duration::from_millis(a.delay_ms),
        max_pages: a.max_pages,
        max_links_per_page: a.max_links_per_page,
        obey_robots: !a.ignore_robots,
        stop_after: a.stop_after,
        ..CrawlOptions::default()
    })
}

/// Seeds from the --seeds file (normalised; a bad line is a usage error naming it).
fn seeds_from_file(path: &std::path::Path) -> anyhow::Result<Vec<url::Url>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading seeds {}", path.display()))?;
    let mut seeds = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        seeds.push(normalize(line).with_context(|| format!("{}:{}", path.display(), i + 1))?);
    }
    if seeds.is_empty() {
        bail!("{}: no seed URL", path.display());
    }
    Ok(seeds)
}

/// Seeds from the queue: the reports this crawl took before and has not finished (a resumed
/// crawl keeps its scope), then up to `max` pending ones taken now. Returns the seeds and how
/// many reports were taken now.
async fn seeds_from_queue(
    store: &Store,
    crawl_id: i64,
    max: u64,
) -> anyhow::Result<(Vec<url::Url>, usize)> {
    let before = store
        .crawl_reports_of(crawl_id)
        .await
        .context("reading the reports this crawl took")?;
    let taken = store
        .crawl_reports_take(crawl_id, i64::try_from(max).unwrap_or(i64::MAX))
        .await
        .context("taking reports from the queue")?;
    let mut seeds = Vec::new();
    for r in before.iter().chain(&taken) {
        // Reports were checked when queued; one that no longer parses is skipped, not fatal.
        match normalize(&r.url) {
            Ok(u) => seeds.push(u),
            Err(e) => eprintln!("vigil: queued report {}: {e}", r.id),
        }
    }
    seeds.sort();
    seeds.dedup();
    Ok((seeds, taken.len()))
}

async fn crawl_run(db: &str, a: CrawlRunArgs) -> anyhow::Result<ExitStatus> {
    let opts = options(&a)?;
    // (clap's `requires` would take the flag's implicit `false` for presence.)
    if a.max.is_some() && !a.from_queue {
        bail!("--max needs --from-queue");
    }
    let file_seeds = match &a.seeds {
        Some(path) => Some(seeds_from_file(path)?),
        None => None,
    };
    // Built once here so a bad proxy URL is a usage error before the store is touched.
    vigil_crawl::Fetcher::new(opts.fetch.clone())?;

    let store = open(db).await?;
    let settings = serde_json::to_string(&Settings {
        scope: &a.scope,
        max_depth: a.max_depth,
        include: &a.include,
        exclude: &a.exclude,
        proxy_all: a.net.proxy_all,
        ignore_robots: a.ignore_robots,
        max_pages: a.max_pages,
        from_queue: a.from_queue,
    })?;
    let matcher = vigil_matcher::Matcher::load(&store)
        .await
        .context("loading the banks")?;
    let (mut frontier, resumed) = StoreFrontier::open(store.clone(), &a.name, &settings)
        .await
        .with_context(|| format!("opening crawl {:?}", a.name))?;
    if resumed {
        tracing::info!(crawl = %a.name, "resuming");
    }
    let seeds = match file_seeds {
        Some(s) => s,
        None => {
            let (seeds, taken) =
                seeds_from_queue(&store, frontier.crawl_id(), a.max.unwrap_or(1000)).await?;
            eprintln!(
                "crawl {:?}: {taken} report(s) taken from the queue, {} seed(s) in all",
                a.name,
                seeds.len()
            );
            if seeds.is_empty() {
                store.close().await;
                eprintln!("the queue has no pending report: nothing to crawl");
                return Ok(ExitStatus::Success);
            }
            seeds
        }
    };
    let report = vigil_crawl::crawl(&mut frontier, &seeds, &matcher, &opts)
        .await
        .with_context(|| format!("crawl {:?}", a.name));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let counts = store.crawl_counts(frontier.crawl_id()).await?;
    // The reports are done only when their crawl is: a crawl stopped early keeps them taken.
    let done = if report.finished {
        store.crawl_reports_done(frontier.crawl_id()).await?
    } else {
        0
    };
    store.close().await;
    eprintln!(
        "crawl {:?}{}: {} fetched, {} pages, {} media hashed ({} seen before), {} findings, {} \
         failed; frontier: {} done, {} failed, {} queued{}",
        a.name,
        if resumed { " (resumed)" } else { "" },
        report.fetched,
        report.pages,
        report.hashed,
        report.deduplicated,
        report.findings,
        report.failed,
        counts.done,
        counts.failed,
        counts.queued,
        if report.finished {
            ""
        } else {
            " (stopped early: run again to resume)"
        },
    );
    if done > 0 {
        eprintln!("{done} queued report(s) marked done");
    }
    Ok(ExitStatus::Success)
}

/// One finding as printed (CSV and JSON): stable, documented columns.
#[derive(Serialize)]
struct FindingRecord {
    crawl: String,
    host: String,
    url: String,
    page_url: Option<String>,
    ip: Option<String>,
    found_at_ms: i64,
    kind: String,
    sha256: String,
    md5: String,
    pdq: Option<String>,
    bank: String,
    content_id: i64,
    signal_kind: String,
    distance: i64,
    checked_at_ms: Option<i64>,
    removed_at_ms: Option<i64>,
}

#[derive(Serialize)]
struct HostRecord {
    host: String,
    open: usize,
    removed: usize,
    median_removal_ms: Option<i64>,
    p90_removal_ms: Option<i64>,
    findings: Vec<FindingRecord>,
}

/// Findings of a host: open, removed, and the median and 90th percentile of the time from
/// finding to removal (nearest rank).
fn host_stats(findings: &[FindingRecord]) -> (usize, usize, Option<i64>, Option<i64>) {
    let mut times: Vec<i64> = findings
        .iter()
        .filter_map(|f| f.removed_at_ms.map(|r| r - f.found_at_ms))
        .collect();
    times.sort_unstable();
    let rank = |p: f64| -> Option<i64> {
        if times.is_empty() {
            return None;
        }
        let i = ((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1;
        Some(times[i])
    };
    (
        findings.len() - times.len(),
        times.len(),
        rank(0.5),
        rank(0.9),
    )
}

/// The store, after checking that the crawl named (if any) exists.
async fn open_with_crawl(db: &str, crawl: Option<&str>) -> anyhow::Result<Store> {
    let store = open(db).await?;
    if let Some(name) = crawl
        && store.crawl(name).await?.is_none()
    {
        store.close().await;
        bail!("no crawl named {name:?}");
    }
    Ok(store)
}

/// A time for people: `YYYY-MM-DD HH:MM UTC`, or `-`.
fn utc(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "-".to_string();
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// A duration for people (`42 s`, `17 min`, `5.5 h`, `3.2 d`), or `-`.
fn hours(ms: Option<i64>) -> String {
    match ms {
        None => "-".to_string(),
        Some(ms) if ms < 60_000 => format!("{} s", ms / 1000),
        Some(ms) if ms < 3_600_000 => format!("{} min", ms / 60_000),
        Some(ms) if ms < 172_800_000 => format!("{:.1} h", ms as f64 / 3.6e6),
        Some(ms) => format!("{:.1} d", ms as f64 / 8.64e7),
    }
}

/// One row of the takedown report as printed in CSV.
#[derive(Serialize)]
struct TakedownCsv<'a> {
    by: &'static str,
    name: &'a str,
    open: u64,
    removed: u64,
    median_removal_ms: Option<i64>,
    p90_removal_ms: Option<i64>,
    notices_sent: u64,
    first_notice_at_ms: Option<i64>,
    last_notice_at_ms: Option<i64>,
    uncontactable: u64,
}

async fn takedown_report(store: &Store, a: &CrawlReportArgs) -> anyhow::Result<()> {
    let providers = read_providers(a.providers.as_deref())?;
    let findings = store.crawl_findings(a.crawl.as_deref()).await?;
    let notices = store.crawl_notices(a.crawl.as_deref()).await?;
    let provider_of = |f: &vigil_store::Finding| {
        f.finding
            .ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .and_then(|ip| providers.lookup(ip))
            .map(|r| r.provider.clone())
    };
    let t = vigil_store::takedown(&findings, &notices, &provider_of);
    let mut out = io::stdout().lock();
    match a.format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &t)?;
            writeln!(out)?;
        }
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for (by, rows) in [("host", &t.hosts), ("provider", &t.providers)] {
                for r in rows {
                    w.serialize(TakedownCsv {
                        by,
                        name: &r.name,
                        open: r.open,
                        removed: r.removed,
                        median_removal_ms: r.median_removal_ms,
                        p90_removal_ms: r.p90_removal_ms,
                        notices_sent: r.notices_sent,
                        first_notice_at_ms: r.first_notice_at,
                        last_notice_at_ms: r.last_notice_at,
                        uncontactable: r.uncontactable,
                    })?;
                }
            }
            w.flush()?;
        }
        ReportFormat::Table => {
            for (by, rows) in [("host", &t.hosts), ("provider", &t.providers)] {
                let width = rows
                    .iter()
                    .map(|r| r.name.chars().count())
                    .chain([by.len()])
                    .max()
                    .unwrap_or(0);
                writeln!(
                    out,
                    "{by:<width$}  {:>5}  {:>7}  {:>9}  {:>9}  {:>7}  {:<20}  {:<20}  uncontactable",
                    "open", "removed", "median", "p90", "notices", "first notice", "last notice"
                )?;
                for r in rows {
                    writeln!(
                        out,
                        "{:<width$}  {:>5}  {:>7}  {:>9}  {:>9}  {:>7}  {:<20}  {:<20}  {}",
                        r.name,
                        r.open,
                        r.removed,
                        hours(r.median_removal_ms),
                        hours(r.p90_removal_ms),
                        r.notices_sent,
                        utc(r.first_notice_at),
                        utc(r.last_notice_at),
                        r.uncontactable,
                    )?;
                }
                if rows.is_empty() {
                    writeln!(out, "(no findings)")?;
                }
                writeln!(out)?;
            }
            writeln!(
                out,
                "Items are distinct URLs; time to removal runs from first found to found gone \
                 (median and 90th percentile by nearest rank); uncontactable: open items whose \
                 provider has no e-mail contact."
            )?;
        }
    }
    Ok(())
}

async fn report(db: &str, a: CrawlReportArgs) -> anyhow::Result<ExitStatus> {
    let store = open_with_crawl(db, a.crawl.as_deref()).await?;
    if a.takedown {
        let r = takedown_report(&store, &a).await;
        store.close().await;
        r?;
        return Ok(ExitStatus::Success);
    }
    let findings = store.crawl_findings(a.crawl.as_deref()).await?;
    let crawls = store.crawls().await?;
    let mut by_host: BTreeMap<String, Vec<FindingRecord>> = BTreeMap::new();
    for f in findings {
        let n = f.finding;
        by_host
            .entry(n.host.clone())
            .or_default()
            .push(FindingRecord {
                crawl: f.crawl,
                host: n.host,
                url: n.url,
                page_url: n.page_url,
                ip: n.ip,
                found_at_ms: f.found_at,
                kind: n.kind,
                sha256: hex_of(&n.sha256),
                md5: n.md5,
                pdq: n.pdq,
                bank: n.bank,
                content_id: n.content_id,
                signal_kind: n.signal_kind,
                distance: n.distance,
                checked_at_ms: f.checked_at,
                removed_at_ms: f.removed_at,
            });
    }
    let mut out = io::stdout().lock();
    match a.format {
        ReportFormat::Json => {
            let hosts: Vec<HostRecord> = by_host
                .into_iter()
                .map(|(host, findings)| {
                    let (open, removed, median_removal_ms, p90_removal_ms) = host_stats(&findings);
                    HostRecord {
                        host,
                        open,
                        removed,
                        median_removal_ms,
                        p90_removal_ms,
                        findings,
                    }
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "hosts": hosts }))?;
            writeln!(out)?;
        }
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for f in by_host.values().flatten() {
                w.serialize(f)?;
            }
            w.flush()?;
        }
        ReportFormat::Table => {
            for c in crawls
                .iter()
                .filter(|c| a.crawl.as_ref().is_none_or(|n| n == &c.name))
            {
                let counts = store.crawl_counts(c.id).await?;
                writeln!(
                    out,
                    "crawl {}: {} URLs done, {} failed, {} queued{}",
                    c.name,
                    counts.done,
                    counts.failed,
                    counts.queued,
                    if c.finished_at.is_some() {
                        ", finished"
                    } else {
                        ""
                    }
                )?;
                for (url, error) in store.crawl_failures(c.id).await? {
                    writeln!(out, "  failed: {url}: {error}")?;
                }
            }
            if by_host.is_empty() {
                writeln!(out, "no findings")?;
            }
            for (host, findings) in &by_host {
                let (open, removed, median, p90) = host_stats(findings);
                writeln!(
                    out,
                    "\n{host}: {} finding(s), {open} open, {removed} removed (time to removal: \
                     median {}, 90th percentile {})",
                    findings.len(),
                    hours(median),
                    hours(p90),
                )?;
                for f in findings {
                    writeln!(
                        out,
                        "  {}  bank {} item {} ({} distance {})  on {}  ip {}",
                        f.url,
                        f.bank,
                        f.content_id,
                        f.signal_kind,
                        f.distance,
                        f.page_url.as_deref().unwrap_or("-"),
                        f.ip.as_deref().unwrap_or("-"),
                    )?;
                }
            }
        }
    }
    store.close().await;
    Ok(ExitStatus::Success)
}

fn read_providers(
    path: Option<&std::path::Path>,
) -> anyhow::Result<vigil_crawl::notice::Providers> {
    use vigil_crawl::notice::Providers;
    Ok(match path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Providers::parse(&text, &p.display().to_string())?
        }
        None => Providers::default(),
    })
}

fn read_template(a: &NoticeArgs) -> anyhow::Result<String> {
    Ok(match &a.template {
        Some(t) => {
            std::fs::read_to_string(t).with_context(|| format!("reading {}", t.display()))?
        }
        None => vigil_crawl::notice::DEFAULT_TEMPLATE.to_string(),
    })
}

/// Where notices go, from the flags: `None` when neither --smtp nor --out is given. SMTP
/// credentials come from the environment only.
fn channel(a: &NoticeArgs) -> anyhow::Result<Option<vigil_crawl::smtp::Channel>> {
    use vigil_crawl::smtp::{Channel, Mailer};
    if let Some(dir) = &a.out {
        if !dir.is_dir() {
            bail!("--out {}: not a directory", dir.display());
        }
        return Ok(Some(Channel::File(dir.clone())));
    }
    let Some(url) = &a.smtp else {
        return Ok(None);
    };
    let from = a.from.as_deref().context("--smtp needs --from")?;
    let user = std::env::var("VIGIL_SMTP_USERNAME").ok();
    let password = std::env::var("VIGIL_SMTP_PASSWORD").ok();
    let credentials = match (user, password) {
        (Some(u), Some(p)) => Some((u, p)),
        (None, None) => None,
        _ => bail!("set both VIGIL_SMTP_USERNAME and VIGIL_SMTP_PASSWORD, or neither"),
    };
    if a.smtp_timeout == 0 {
        bail!("--smtp-timeout must be at least 1 second");
    }
    let ca = match &a.smtp_ca {
        Some(p) => {
            Some(std::fs::read(p).with_context(|| format!("reading --smtp-ca {}", p.display()))?)
        }
        None => None,
    };
    let mailer = Mailer::with_ca(
        url,
        from,
        a.to_override.as_deref(),
        credentials,
        Duration::from_secs(a.smtp_timeout),
        ca.as_deref(),
    );
    let mailer = match (&a.smtp_ca, mailer) {
        (Some(p), Err(e @ vigil_crawl::smtp::SendError::Ca(_))) => {
            return Err(e).with_context(|| format!("--smtp-ca {}", p.display()));
        }
        (_, m) => m?,
    };
    Ok(Some(Channel::Smtp(Box::new(mailer))))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sends the notices due and prints one line per notice; returns whether all went out.
async fn send_notices(
    store: &Store,
    crawl: Option<&str>,
    providers: &vigil_crawl::notice::Providers,
    channel: &vigil_crawl::smtp::Channel,
    template: &str,
    resend_after_ms: Option<i64>,
) -> anyhow::Result<bool> {
    let sent = vigil_crawl::notice::send_due(
        store,
        providers,
        channel,
        &vigil_crawl::notice::SendOptions {
            crawl: crawl.map(str::to_string),
            template: template.to_string(),
            resend_after_ms,
            now: now_ms(),
        },
    )
    .await
    .context("sending notices")?;
    let mut ok = true;
    for s in &sent {
        let what = if s.sequence > 1 {
            format!("reminder (notice {})", s.sequence)
        } else {
            "notice".to_string()
        };
        match &s.error {
            None => eprintln!(
                "{what} to {} ({}): {} URL(s), sent",
                s.recipient, s.provider, s.urls
            ),
            Some(e) if s.uncontactable => {
                ok = false;
                eprintln!(
                    "vigil: {what} for {}: {} URL(s), uncontactable ({e}){}: add an e-mail \
                     contact to the provider table, or use --to-override or --out",
                    s.provider,
                    s.urls,
                    if s.recorded {
                        ", recorded"
                    } else {
                        ", recorded before"
                    }
                );
            }
            Some(e) => {
                ok = false;
                eprintln!(
                    "vigil: {what} to {} ({}): {} URL(s), NOT sent: {e}",
                    if s.recipient.is_empty() {
                        "-"
                    } else {
                        &s.recipient
                    },
                    s.provider,
                    s.urls
                );
            }
        }
    }
    eprintln!(
        "{} notice(s) due: {} sent, {} failed, {} uncontactable",
        sent.len(),
        sent.iter().filter(|s| s.error.is_none()).count(),
        sent.iter()
            .filter(|s| s.error.is_some() && !s.uncontactable)
            .count(),
        sent.iter().filter(|s| s.uncontactable).count()
    );
    Ok(ok)
}

async fn notices(db: &str, a: CrawlNoticesArgs) -> anyhow::Result<ExitStatus> {
    use vigil_crawl::notice;
    let providers = read_providers(a.notice.providers.as_deref())?;
    let template = read_template(&a.notice)?;
    if a.send {
        let Some(channel) = channel(&a.notice)? else {
            bail!("--send needs --smtp URL and --from ADDR, or --out DIR");
        };
        let store = open_with_crawl(db, a.crawl.as_deref()).await?;
        let r = send_notices(
            &store,
            a.crawl.as_deref(),
            &providers,
            &channel,
            &template,
            a.notice.resend_after,
        )
        .await;
        store.close().await;
        return Ok(if r? {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        });
    }
    if a.notice.smtp.is_some() || a.notice.out.is_some() || a.notice.resend_after.is_some() {
        bail!("--smtp, --out and --resend-after need --send");
    }
    let store = open_with_crawl(db, a.crawl.as_deref()).await?;
    let findings = store.crawl_findings(a.crawl.as_deref()).await?;
    store.close().await;
    let grouped = notice::group(&findings, &providers);
    let mut out = io::stdout().lock();
    if a.format == "json" {
        let all: Vec<serde_json::Value> = grouped.iter().map(notice::render_json).collect();
        serde_json::to_writer_pretty(&mut out, &all)?;
        writeln!(out)?;
    } else {
        for (i, n) in grouped.iter().enumerate() {
            if i > 0 {
                writeln!(out, "{}", "=".repeat(72))?;
            }
            write!(out, "{}", notice::render_text(n, &template))?;
        }
    }
    for n in grouped
        .iter()
        .filter(|n| !notice::has_mail_contact(&n.contact))
    {
        eprintln!(
            "note: {} has no e-mail contact (uncontactable): {} URL(s) can be sent only with \
             --to-override or --out",
            n.provider,
            n.count()
        );
    }
    Ok(ExitStatus::Success)
}

/// Set on SIGINT or SIGTERM; `notify` wakes the loop's sleep.
fn stop_on_signals() -> anyhow::Result<(
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::sync::Arc<tokio::sync::Notify>,
)> {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let (s, n) = (stop.clone(), notify.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        s.store(true, std::sync::atomic::Ordering::SeqCst);
        n.notify_one();
    });
    Ok((stop, notify))
}

async fn recheck(db: &str, a: CrawlRecheckArgs) -> anyhow::Result<ExitStatus> {
    use std::sync::atomic::Ordering;
    if a.timeout == 0 {
        bail!("--timeout must be at least 1 second");
    }
    let fetch = FetchOptions {
        timeout: Duration::from_secs(a.timeout),
        proxy: a.net.proxy.clone(),
        proxy_all: a.net.proxy_all,
        allow_private: a.net.allow_private.clone(),
        ..FetchOptions::default()
    };
    vigil_crawl::Fetcher::new(fetch.clone())?;
    let providers = read_providers(a.notice.providers.as_deref())?;
    let template = read_template(&a.notice)?;
    let channel = channel(&a.notice)?;
    if channel.is_none() && a.notice.resend_after.is_some() {
        bail!("--resend-after needs --smtp URL and --from ADDR, or --out DIR");
    }
    let (stop, wake) = stop_on_signals()?;
    let store = open_with_crawl(db, a.crawl.as_deref()).await?;
    let mut status = ExitStatus::Success;
    let mut pass = 0u64;
    loop {
        pass += 1;
        let r = vigil_crawl::recheck_until(&store, a.crawl.as_deref(), &fetch, &stop).await;
        let r = match r.context("re-checking findings") {
            Ok(r) => r,
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
        for (url, error) in &r.errors {
            eprintln!("vigil: re-check of {url}: {error}");
        }
        eprintln!(
            "{}re-checked {} URL(s): {} still up, {} removed, {} could not be checked{}",
            if a.every.is_some() {
                format!("pass {pass}: ")
            } else {
                String::new()
            },
            r.checked,
            r.still_up,
            r.removed,
            r.errors.len(),
            if r.stopped { " (stopped)" } else { "" }
        );
        // With --every a pass's failures are reported and tried again next pass.
        if !r.errors.is_empty() && a.every.is_none() {
            status = ExitStatus::Failure;
        }
        if !r.stopped
            && let Some(ch) = &channel
        {
            let sent = send_notices(
                &store,
                a.crawl.as_deref(),
                &providers,
                ch,
                &template,
                a.notice.resend_after,
            )
            .await;
            match sent {
                Ok(true) => {}
                Ok(false) if a.every.is_none() => status = ExitStatus::Failure,
                Ok(false) => {}
                Err(e) => {
                    store.close().await;
                    return Err(e);
                }
            }
        }
        let Some(every) = a.every else { break };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(every as u64)) => {}
            _ = wake.notified() => {}
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    store.close().await;
    if stop.load(Ordering::SeqCst) {
        eprintln!("stopped by signal after {pass} pass(es)");
    }
    Ok(status)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
