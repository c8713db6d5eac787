//! `vigil bank …`, `vigil quarantine`, `vigil verdict`, `vigil audit`, `vigil exchange …`: thin
//! wrappers over `vigil-store` and `vigil-fetch`. The store is async; each command runs on a
//! single-threaded Tokio runtime.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::json;
use vigil_exchange::WriteError;
use vigil_exchange::pytx::{PytxCsvWriter, PytxTextWriter, csv_extra_columns};
use vigil_exchange::record::{Record, Signal, SignalKind, VicsScheme};
use vigil_exchange::vics::{CASE_EXTRA, VicsCase, VicsForm, VicsWriter};
use vigil_fetch::{ExchangeConfig, FetchOptions, FileConfig, NcmecConfig, VicsSchemeName};
use vigil_store::{BankKind, BankUpdate, ImportOptions, NewBank, Store, VerdictKind};

use crate::cli::{self, BankCommand, ExchangeCommand, ExchangeKindArg, ListFormat, TableFormat};
use crate::config::StoreCommand;
use crate::exit::ExitStatus;
use crate::inputs::show;
use crate::printer::Printer;

/// Who the audit log names for changes made from the command line: `cli:` and the OS user.
pub(crate) fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Runs a future to completion on a fresh single-threaded runtime.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(rt.block_on(f))
}

/// Opens the store, with a message naming it on failure.
pub(crate) async fn open(db: &str) -> anyhow::Result<Store> {
    Store::open(db)
        .await
        .with_context(|| format!("opening the bank store {}", vigil_store::redact_url(db)))
}

/// Parses `KIND:VALUE`, or a bare PDQ hash.
pub(crate) fn parse_signal(s: &str) -> anyhow::Result<Signal> {
    let (kind, value) = match s.split_once(':') {
        Some((k, v))
            if !k.is_empty() && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') =>
        {
            (SignalKind::from_name(k), v)
        }
        _ => (SignalKind::Pdq, s),
    };
    Signal::new(kind.clone(), value).map_err(|e| anyhow::anyhow!("signal {s:?} ({kind}): {e}"))
}

/// Runs a store command.
pub(crate) fn run(db: &str, command: StoreCommand, printer: Printer) -> anyhow::Result<ExitStatus> {
    block_on(async move {
        let store = open(db).await?;
        let status = match command {
            StoreCommand::Bank(b) => bank(&store, b, printer).await,
            StoreCommand::Quarantine(q) => quarantine(&store, q).await,
            StoreCommand::Verdict(v) => verdict(&store, v).await,
            StoreCommand::Audit(a) => audit(&store, a).await,
            StoreCommand::Exchange(e) => exchange(&store, e).await,
            StoreCommand::Key(k) => crate::commands::serve::key(&store, k).await,
            StoreCommand::User(u) => crate::commands::serve::user(&store, u).await,
        };
        store.close().await;
        status
    })?
}

async fn bank(store: &Store, cmd: BankCommand, printer: Printer) -> anyhow::Result<ExitStatus> {
    let actor = actor();
    let mut out = io::stdout().lock();
    match cmd {
        BankCommand::Create(a) => {
            let b = store
                .create_bank(
                    &actor,
                    &NewBank {
                        name: a.name,
                        description: a.description,
                        kind: if a.allow {
                            BankKind::Allow
                        } else {
                            BankKind::Block
                        },
                        pdq_threshold: a.threshold,
                        match_ratio: 1.0,
                    },
                )
                .await?;
            writeln!(
                out,
                "created {} bank {:?} (id {})",
                b.kind.name(),
                b.name,
                b.id
            )?;
        }
        BankCommand::List(a) => {
            let banks = store.banks().await?;
            match a.format {
                TableFormat::Jsonl => {
                    for b in &banks {
                        writeln!(out, "{}", bank_json(b))?;
                    }
                }
                TableFormat::Table => {
                    writeln!(
                        out,
                        "{:<24} {:<5} {:<8} {:>9} {:>10} {:>10}  DESCRIPTION",
                        "NAME", "KIND", "ENABLED", "THRESHOLD", "CONTENT", "SIGNALS"
                    )?;
                    for b in &banks {
                        writeln!(
                            out,
                            "{:<24} {:<5} {:<8} {:>9} {:>10} {:>10}  {}",
                            b.name,
                            b.kind.name(),
                            if b.enabled { "yes" } else { "no" },
                            b.pdq_threshold.map_or("default".into(), |t| t.to_string()),
                            b.content_count,
                            b.signal_count,
                            b.description.replace(['\n', '\r'], " ")
                        )?;
                    }
                }
            }
        }
        BankCommand::Show(a) => {
            let b = store.bank(&a.name).await?;
            writeln!(out, "{}", bank_json(&b))?;
        }
        BankCommand::Import(a) => return import(store, &actor, a, printer).await,
        BankCommand::Export(a) => export(store, a).await?,
        BankCommand::Add(a) => {
            let signals = a
                .signals
                .iter()
                .map(|s| parse_signal(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut r = Record::with_signals(signals);
            r.ids.extend(a.id);
            r.note = a.note;
            r.uri = a.uri;
            let id = store.add(&actor, &a.name, r, "cli").await?;
            writeln!(out, "added content {id} to bank {:?}", a.name)?;
        }
        BankCommand::Remove(a) => {
            for id in a.ids {
                store.remove(&actor, &a.name, id).await?;
                writeln!(out, "removed content {id} from bank {:?}", a.name)?;
            }
        }
        BankCommand::Disable(a) => toggle(store, &actor, a, false).await?,
        BankCommand::Enable(a) => toggle(store, &actor, a, true).await?,
        BankCommand::Set(a) => {
            let pdq_threshold = match a.threshold.as_deref() {
                None => None,
                Some("default") => Some(None),
                Some(t) => Some(Some(
                    t.parse::<u32>().ok().filter(|t| *t <= 256).ok_or_else(|| {
                        anyhow::anyhow!("--threshold {t:?}: a number 0..=256 or `default`")
                    })?,
                )),
            };
            let kind = match a.kind.as_deref() {
                None => None,
                Some(k) => Some(
                    BankKind::from_name(k)
                        .ok_or_else(|| anyhow::anyhow!("--kind {k:?}: `block` or `allow`"))?,
                ),
            };
            let b = store
                .update_bank(
                    &actor,
                    &a.name,
                    &BankUpdate {
                        description: a.description,
                        enabled: None,
                        pdq_threshold,
                        kind,
                        ..BankUpdate::default()
                    },
                )
                .await?;
            writeln!(out, "{}", bank_json(&b))?;
        }
        BankCommand::Delete(a) => {
            store.delete_bank(&actor, &a.name).await?;
            writeln!(out, "deleted bank {:?}", a.name)?;
        }
        BankCommand::Feedback(a) => {
            store.bank(&a.name).await?;
            for v in store.verdicts(&a.name).await? {
                writeln!(
                    out,
                    "{}",
                    json!({"bank": v.bank, "signal_type": v.signal.kind().name(),
                           "signal": v.signal.value(), "verdict": v.verdict.name(),
                           "query": v.query, "note": v.note, "by": v.actor, "at_ms": v.at,
                           "content": v.content_id})
                )?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn bank_json(b: &vigil_store::Bank) -> serde_json::Value {
    json!({"name": b.name, "id": b.id, "kind": b.kind.name(), "enabled": b.enabled,
           "pdq_threshold": b.pdq_threshold, "description": b.description,
           "content": b.content_count, "signals": b.signal_count,
           "created_ms": b.created_at, "updated_ms": b.updated_at})
}

async fn toggle(
    store: &Store,
    actor: &str,
    a: cli::BankToggleArgs,
    enable: bool,
) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if a.content.is_empty() {
        if a.for_.is_some() {
            bail!(
                "--for applies to content items (--content ID); a bank is disabled until enabled"
            );
        }
        store
            .update_bank(
                actor,
                &a.name,
                &BankUpdate {
                    enabled: Some(enable),
                    ..BankUpdate::default()
                },
            )
            .await?;
        writeln!(
            out,
            "{} bank {:?}",
            if enable { "enabled" } else { "disabled" },
            a.name
        )?;
        return Ok(());
    }
    if enable && a.for_.is_some() {
        bail!("--for applies to disable only");
    }
    let until = if enable {
        None
    } else {
        Some(a.for_.map_or(i64::MAX, |d| now_ms().saturating_add(d)))
    };
    for id in a.content {
        store
            .set_content_disabled(actor, &a.name, id, until)
            .await?;
        writeln!(
            out,
            "{} content {id} of bank {:?}",
            if enable { "released" } else { "quarantined" },
            a.name
        )?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn import(
    store: &Store,
    actor: &str,
    a: cli::BankImportArgs,
    printer: Printer,
) -> anyhow::Result<ExitStatus> {
    // Fail before reading anything if the bank is missing.
    store.bank(&a.name).await?;
    let mut status = ExitStatus::Success;
    for path in &a.files {
        let name = path.to_string_lossy().into_owned();
        let file = File::open(path).with_context(|| format!("opening {}", show(path)))?;
        // A long import shows its progress on a terminal: the bytes read, then that it sorts
        // and writes.
        let size = file.metadata().map_or(0, |m| m.len());
        let progress = printer.file_progress(&name, size);
        let reader = BufReader::with_capacity(1 << 16, progress.reader(file));
        let source = a.source.clone().unwrap_or_else(|| {
            format!(
                "file:{}",
                Path::new(&name)
                    .file_name()
                    .map_or(name.clone(), |f| f.to_string_lossy().into_owned())
            )
        });
        let options = ImportOptions {
            source,
            skip_bad: a.skip_bad,
            sort_memory: None,
        };
        // An I/O error or a malformed file structure is fatal to the import of the file, even
        // with --skip-bad (a half-read file is not a file with bad records); a bad record is not.
        let records = vigil_fetch::read_records(
            reader,
            &name,
            format_of(a.format),
            a.vics_scheme.map(vics_scheme_of),
        )?;
        let report = store
            .import(actor, &a.name, records, &options)
            .await
            .with_context(|| format!("importing {}", show(path)));
        progress.finish();
        let report = report?;
        for s in &report.skipped {
            let _ = writeln!(io::stderr().lock(), "vigil: warning: skipped {s}");
        }
        if !report.skipped.is_empty() {
            status = ExitStatus::Failure;
        }
        let _ = writeln!(
            io::stderr().lock(),
            "vigil: {name}: {} records into bank {:?}: {} new, {} updated, {} new signals, {} \
             skipped",
            report.records,
            a.name,
            report.created,
            report.updated,
            report.signals_added,
            report.skipped.len()
        );
    }
    Ok(status)
}

/// The `vigil-fetch` format of a `--format`.
fn format_of(f: ListFormat) -> vigil_fetch::Format {
    match f {
        ListFormat::Plain => vigil_fetch::Format::Plain,
        ListFormat::Pytx => vigil_fetch::Format::Pytx,
        ListFormat::PytxCsv => vigil_fetch::Format::PytxCsv,
        ListFormat::Vics => vigil_fetch::Format::Vics,
    }
}

fn vics_scheme_of(s: cli::VicsSchemeArg) -> VicsScheme {
    match s {
        cli::VicsSchemeArg::Us => VicsScheme::UsV2,
        cli::VicsSchemeArg::Legacy => VicsScheme::Legacy,
    }
}

/// Calls `write` with every record of a bank as the store reads it (memory does not grow with
/// the bank), until one fails: that error is returned.
async fn write_each(
    store: &Store,
    bank: &str,
    mut write: impl FnMut(Record) -> Result<(), WriteError>,
) -> anyhow::Result<()> {
    let mut failed = None;
    store
        .export(bank, |r| {
            if failed.is_none()
                && let Err(e) = write(r)
            {
                failed = Some(e);
            }
            Ok(())
        })
        .await?;
    failed.map_or(Ok(()), |e| Err(e.into()))
}

async fn export(store: &Store, a: cli::BankExportArgs) -> anyhow::Result<()> {
    let (tmp, mut w): (
        Option<(tempfile::NamedTempFile, std::path::PathBuf)>,
        Box<dyn Write>,
    ) = match &a.out {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let t = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("creating a temporary file in {}", show(dir)))?;
            let f = t.reopen()?;
            (Some((t, path.clone())), Box::new(BufWriter::new(f)))
        }
        None => (None, Box::new(BufWriter::new(io::stdout().lock()))),
    };
    let mut err: Option<io::Error> = None;
    match a.format {
        // Records are written as they are read (a bank can be bigger than memory), except
        // for a VICS #Cases file, whose media are grouped by case.
        ListFormat::Pytx => {
            let mut t = PytxTextWriter::new(&mut w);
            write_each(store, &a.name, |r| t.write(&r)).await?;
            t.finish()?;
        }
        ListFormat::PytxCsv => {
            // The header names every extra column: a first pass reads the names alone.
            let mut columns = std::collections::BTreeSet::new();
            store
                .export(&a.name, |r| {
                    columns.extend(csv_extra_columns(&r).map(str::to_string));
                    Ok(())
                })
                .await?;
            let mut c = PytxCsvWriter::new(&mut w, columns.iter().map(String::as_str))?;
            write_each(store, &a.name, |r| c.write(&r)).await?;
            c.finish()?;
        }
        ListFormat::Vics => {
            let scheme = vics_scheme_of(a.vics_scheme);
            // VICS identifies media by MD5, SHA-1 or PhotoDNA.
            let writable = |r: &Record| {
                r.signals.iter().any(|s| {
                    matches!(s.kind(), SignalKind::Md5 | SignalKind::Sha1)
                        || s.kind().name() == vigil_exchange::record::PHOTODNA
                })
            };
            // Media imported from a `#Cases` file carry their case: if all do, the bank goes
            // out as cases (media grouped by case, cases in the order their first media come),
            // else as a hash set. A first pass counts.
            let (mut total, mut unwritable, mut in_case) = (0u64, 0u64, 0u64);
            store
                .export(&a.name, |r| {
                    if writable(&r) {
                        total += 1;
                        in_case += u64::from(r.extra.contains_key(CASE_EXTRA));
                    } else {
                        unwritable += 1;
                    }
                    Ok(())
                })
                .await?;
            let form = if in_case > 0 && in_case == total {
                VicsForm::Cases
            } else {
                VicsForm::Media
            };
            let mut vw = VicsWriter::new(
                &mut w,
                form,
                Some(scheme),
                &std::collections::BTreeMap::new(),
            )?;
            let mut dropped = 0u64;
            let mut convert = |mut r: Record| {
                if let Some(c) = &r.category {
                    let converted = c.to_vics(scheme);
                    dropped += u64::from(converted.is_none());
                    r.category = converted;
                }
                r
            };
            if form == VicsForm::Cases {
                let mut cases: Vec<(String, Vec<Record>)> = Vec::new();
                let mut at: std::collections::HashMap<String, usize> = Default::default();
                store
                    .export(&a.name, |r| {
                        if writable(&r) {
                            let case = r.extra.get(CASE_EXTRA).cloned().unwrap_or_default();
                            let i = *at.entry(case.clone()).or_insert_with(|| {
                                cases.push((case, Vec::new()));
                                cases.len() - 1
                            });
                            cases[i].1.push(convert(r));
                        }
                        Ok(())
                    })
                    .await?;
                for (case, media) in cases {
                    let case = VicsCase::from_json(&case)
                        .map_err(|e| anyhow::anyhow!("bank {:?}: {e}", a.name))?;
                    vw.begin_case(&case.fields)?;
                    for r in &media {
                        vw.write_media(r)?;
                    }
                    vw.end_case()?;
                }
            } else {
                write_each(store, &a.name, |r| {
                    if writable(&r) {
                        vw.write_media(&convert(r))
                    } else {
                        Ok(())
                    }
                })
                .await?;
                if in_case > 0 {
                    let _ = writeln!(
                        io::stderr().lock(),
                        "vigil: warning: bank {:?} mixes media with and without a VICS case: \
                         written as a #Media hash set, the case members of {in_case} media \
                         were left out",
                        a.name
                    );
                }
            }
            if unwritable > 0 {
                let _ = writeln!(
                    io::stderr().lock(),
                    "vigil: warning: {unwritable} items of bank {:?} have no MD5, SHA-1 \
                     or PhotoDNA signal, which VICS needs, and were left out",
                    a.name
                );
            }
            if dropped > 0 {
                let _ = writeln!(
                    io::stderr().lock(),
                    "vigil: warning: {dropped} categories of bank {:?} have no \
                     equivalent in the VICS {:?} scheme and were left out",
                    a.name,
                    scheme
                );
            }
            vw.finish()?;
        }
        ListFormat::Plain => {
            store
                .export(&a.name, |r| {
                    if err.is_some() {
                        return Ok(());
                    }
                    for s in r.signals.iter().filter(|s| s.kind() == &SignalKind::Pdq) {
                        if let Err(e) = writeln!(w, "{}", s.value()) {
                            err = Some(e);
                            break;
                        }
                    }
                    Ok(())
                })
                .await?;
        }
    }
    if let Some(e) = err {
        return Err(e.into());
    }
    w.flush()?;
    drop(w);
    if let Some((t, path)) = tmp {
        t.as_file().sync_all()?;
        t.persist(&path)
            .with_context(|| format!("writing {}", show(&path)))?;
    }
    Ok(())
}

async fn quarantine(store: &Store, q: cli::QuarantineArgs) -> anyhow::Result<ExitStatus> {
    let signal = parse_signal(&q.signal)?;
    let until = if q.release {
        None
    } else {
        Some(q.for_.map_or(i64::MAX, |d| now_ms().saturating_add(d)))
    };
    let n = store
        .quarantine_signal(&actor(), &signal, q.bank.as_deref(), until)
        .await?;
    if n == 0 {
        bail!(
            "{}:{} is not in {}",
            signal.kind(),
            signal.value(),
            q.bank.map_or("any bank".into(), |b| format!("bank {b:?}"))
        );
    }
    writeln!(
        io::stdout().lock(),
        "{} {}:{} in {n} place(s)",
        if q.release { "released" } else { "quarantined" },
        signal.kind(),
        signal.value()
    )?;
    Ok(ExitStatus::Success)
}

async fn verdict(store: &Store, v: cli::VerdictArgs) -> anyhow::Result<ExitStatus> {
    let signal = parse_signal(&v.signal)?;
    let held = store.find(&signal).await?;
    let content = held.iter().find(|(b, _)| *b == v.bank).map(|&(_, id)| id);
    if content.is_none() {
        bail!(
            "{}:{} is not in bank {:?}",
            signal.kind(),
            signal.value(),
            v.bank
        );
    }
    let kind = if v.true_positive {
        VerdictKind::TruePositive
    } else {
        VerdictKind::FalsePositive
    };
    let id = store
        .record_verdict(
            &actor(),
            &v.bank,
            &signal,
            content,
            &v.query,
            kind,
            v.note.as_deref(),
        )
        .await?;
    writeln!(
        io::stdout().lock(),
        "recorded verdict {id}: {}",
        kind.name()
    )?;
    Ok(ExitStatus::Success)
}

async fn audit(store: &Store, a: cli::AuditArgs) -> anyhow::Result<ExitStatus> {
    let mut out = io::stdout().lock();
    for e in store.audit_log(a.after, a.limit).await? {
        let detail: serde_json::Value =
            serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::String(e.detail.clone()));
        writeln!(
            out,
            "{}",
            json!({"id": e.id, "at_ms": e.at, "actor": e.actor, "action": e.action,
                   "bank": e.bank, "content": e.content_id, "detail": detail})
        )?;
    }
    Ok(ExitStatus::Success)
}

async fn exchange(store: &Store, cmd: ExchangeCommand) -> anyhow::Result<ExitStatus> {
    let actor = actor();
    match cmd {
        ExchangeCommand::Add(a) => {
            let config = exchange_config(a.kind, &a)?;
            let ex = vigil_fetch::add_exchange(store, &actor, &a.name, &a.bank, &config).await?;
            writeln!(
                io::stdout().lock(),
                "added {} exchange {:?} filling bank {:?}",
                ex.kind,
                ex.name,
                ex.bank
            )?;
            Ok(ExitStatus::Success)
        }
        ExchangeCommand::Fetch(a) => {
            let names: Vec<String> = match a.name {
                Some(n) => vec![n],
                None => store
                    .exchanges()
                    .await?
                    .into_iter()
                    .map(|e| e.name)
                    .collect(),
            };
            let options = FetchOptions {
                actor,
                max_pages: a.max_pages,
                ..FetchOptions::default()
            };
            let mut status = ExitStatus::Success;
            for name in names {
                let r = vigil_fetch::fetch(store, &name, &options).await?;
                let mut err = io::stderr().lock();
                for s in &r.skipped_shown {
                    let _ = writeln!(err, "vigil: warning: {name}: skipped {s}");
                }
                if r.skipped > r.skipped_shown.len() as u64 {
                    let _ = writeln!(
                        err,
                        "vigil: warning: {name}: … and {} more skipped",
                        r.skipped - r.skipped_shown.len() as u64
                    );
                }
                let _ = writeln!(
                    err,
                    "vigil: exchange {name:?} into bank {:?}: {} {}, {} records ({} new items), {} \
                     deletions ({} items removed), {} skipped, {} unchanged: {}",
                    r.bank,
                    r.pages,
                    if r.kind == "file" { "files" } else { "pages" },
                    r.records,
                    r.created,
                    r.deletions,
                    r.removed,
                    r.skipped,
                    r.unchanged + r.stale,
                    r.status().name()
                );
                if let Some(e) = &r.error {
                    let _ = writeln!(err, "vigil: error: {e}");
                }
                drop(err);
                writeln!(
                    io::stdout().lock(),
                    "{}",
                    json!({"name": r.exchange, "kind": r.kind, "bank": r.bank,
                           "status": r.status().name(), "error": r.error.as_ref().map(|e| e.to_string()),
                           "pages": r.pages, "records": r.records, "created": r.created,
                           "deletions": r.deletions, "removed": r.removed, "skipped": r.skipped,
                           "unchanged": r.unchanged, "stale": r.stale, "complete": r.complete,
                           "checkpoint": checkpoint_json(r.checkpoint.as_deref())})
                )?;
                let this = match r.status() {
                    vigil_fetch::Status::Error => ExitStatus::Error,
                    vigil_fetch::Status::Skipped => ExitStatus::Failure,
                    _ => ExitStatus::Success,
                };
                status = worse(status, this);
            }
            Ok(status)
        }
        ExchangeCommand::Status(a) => {
            let list = match a.name {
                Some(n) => vec![store.exchange(&n).await?],
                None => store.exchanges().await?,
            };
            let mut out = io::stdout().lock();
            for e in list {
                let config: serde_json::Value =
                    serde_json::from_str(&e.config).unwrap_or(serde_json::Value::Null);
                writeln!(
                    out,
                    "{}",
                    json!({"name": e.name, "kind": e.kind, "bank": e.bank, "config": config,
                           "created_ms": e.created_at, "last_fetch_ms": e.last_fetch_at,
                           "status": e.last_status, "error": e.last_error,
                           "checkpoint": checkpoint_json(e.checkpoint.as_deref()),
                           "records": e.records, "deletions": e.deletions, "errors": e.errors})
                )?;
            }
            Ok(ExitStatus::Success)
        }
        ExchangeCommand::Remove(a) => {
            store.remove_exchange(&actor, &a.name).await?;
            writeln!(
                io::stdout().lock(),
                "removed exchange {:?} (its bank keeps the content it brought)",
                a.name
            )?;
            Ok(ExitStatus::Success)
        }
    }
}

/// The checkpoint as JSON (it is JSON text; kept as a string should it not parse).
fn checkpoint_json(c: Option<&str>) -> serde_json::Value {
    match c {
        None => serde_json::Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.into())),
    }
}

fn worse(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |s: ExitStatus| s.code();
    if rank(b) > rank(a) { b } else { a }
}

/// The configuration `vigil exchange add` describes; flags of the other kind are usage errors.
fn exchange_config(
    kind: ExchangeKindArg,
    a: &cli::ExchangeAddArgs,
) -> anyhow::Result<ExchangeConfig> {
    match kind {
        ExchangeKindArg::File => {
            if a.url.is_some()
                || a.user_env.is_some()
                || a.password_env.is_some()
                || a.start.is_some()
            {
                bail!("--url, --user-env, --password-env and --start are for --kind ncmec");
            }
            let Some(path) = &a.path else {
                bail!("--kind file needs --path FILE|DIR");
            };
            let path =
                std::path::absolute(path).with_context(|| format!("resolving {}", show(path)))?;
            if !path.exists() {
                bail!("{} does not exist", show(&path));
            }
            let format = a.format.unwrap_or(ListFormat::Plain);
            if a.vics_scheme.is_some() && format != ListFormat::Vics {
                bail!("--vics-scheme is for --format vics");
            }
            Ok(ExchangeConfig::File(FileConfig {
                path,
                format: format_of(format),
                vics_scheme: a.vics_scheme.map(|s| match s {
                    cli::VicsSchemeArg::Us => VicsSchemeName::Us,
                    cli::VicsSchemeArg::Legacy => VicsSchemeName::Legacy,
                }),
            }))
        }
        ExchangeKindArg::Ncmec => {
            if a.path.is_some() || a.format.is_some() || a.vics_scheme.is_some() {
                bail!("--path, --format and --vics-scheme are for --kind file");
            }
            let Some(url) = &a.url else {
                bail!("--kind ncmec needs --url BASE_URL");
            };
            Ok(ExchangeConfig::Ncmec(NcmecConfig {
                base_url: url.clone(),
                user_env: a.user_env.clone(),
                password_env: a.password_env.clone(),
                start: a.start.unwrap_or(0),
            }))
        }
    }
}
