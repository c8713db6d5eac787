//! `vigil bank …`, `vigil quarantine`, `vigil verdict`, `vigil audit`: thin wrappers over
//! `vigil-store`. The store is async; each command runs on a single-threaded Tokio runtime.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::json;
use vigil_exchange::pytx::{PytxCsvReader, PytxTextReader, write_pytx_csv, write_pytx_text};
use vigil_exchange::record::{Item, Record, Signal, SignalKind, VicsScheme};
use vigil_exchange::vics::{VicsEvent, VicsForm, VicsOptions, VicsWriter, read_vics};
use vigil_exchange::{PlainListReader, Record as PlainRecord};
use vigil_store::{BankKind, BankUpdate, ImportOptions, NewBank, RecordIssue, Store, VerdictKind};

use crate::cli::{self, BankCommand, ListFormat, TableFormat};
use crate::config::StoreCommand;
use crate::exit::ExitStatus;
use crate::inputs::show;

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
pub(crate) fn run(db: &str, command: StoreCommand) -> anyhow::Result<ExitStatus> {
    block_on(async move {
        let store = open(db).await?;
        let status = match command {
            StoreCommand::Bank(b) => bank(&store, b).await,
            StoreCommand::Quarantine(q) => quarantine(&store, q).await,
            StoreCommand::Verdict(v) => verdict(&store, v).await,
            StoreCommand::Audit(a) => audit(&store, a).await,
        };
        store.close().await;
        status
    })?
}

async fn bank(store: &Store, cmd: BankCommand) -> anyhow::Result<ExitStatus> {
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
        BankCommand::Import(a) => return import(store, &actor, a).await,
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

async fn import(store: &Store, actor: &str, a: cli::BankImportArgs) -> anyhow::Result<ExitStatus> {
    // Fail before reading anything if the bank is missing.
    store.bank(&a.name).await?;
    let mut status = ExitStatus::Success;
    for path in &a.files {
        let name = path.to_string_lossy().into_owned();
        let file = File::open(path).with_context(|| format!("opening {}", show(path)))?;
        let reader = BufReader::with_capacity(1 << 16, file);
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
        };
        let records = records(reader, &name, a.format, a.vics_scheme)?;
        let report = store
            .import(actor, &a.name, records, &options)
            .await
            .with_context(|| format!("importing {}", show(path)))?;
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

/// The records of one input file, in a format. An I/O error or a malformed file structure is
/// fatal to the import of the file, even with --skip-bad (a half-read file is not a file with
/// bad records); a bad record is not.
fn records(
    reader: BufReader<File>,
    name: &str,
    format: ListFormat,
    vics_scheme: Option<cli::VicsSchemeArg>,
) -> anyhow::Result<Box<dyn Iterator<Item = Result<Record, RecordIssue>> + Send>> {
    fn fatal(name: &str, e: impl std::fmt::Display) -> RecordIssue {
        RecordIssue {
            message: format!("{name}: {e}"),
            fatal: true,
        }
    }
    fn item(name: &str, r: Result<Item, vigil_exchange::Error>) -> Result<Record, RecordIssue> {
        match r {
            Ok(Item::Record(l)) => Ok(l.value),
            Ok(Item::Malformed(e)) => Err(RecordIssue::from(e.to_string())),
            Err(e) => Err(fatal(name, e)),
        }
    }
    let name = name.to_string();
    Ok(match format {
        ListFormat::Plain => Box::new(PlainListReader::new(reader, &name).map(move |r| match r {
            Ok(PlainRecord::Entry(e)) => Ok(Record::with_signals([Signal::from_pdq(e.hash)])),
            Ok(PlainRecord::Malformed(e)) => Err(RecordIssue::from(e.to_string())),
            Err(e) => Err(fatal(&name, e)),
        })),
        ListFormat::Pytx => {
            Box::new(PytxTextReader::new(reader, &name).map(move |r| item(&name, r)))
        }
        ListFormat::PytxCsv => {
            let rd = PytxCsvReader::new(reader, &name)?;
            Box::new(rd.map(move |r| item(&name, r)))
        }
        ListFormat::Vics => {
            // The VICS reader calls back; a thread turns that into an iterator, with a bounded
            // queue so that memory stays flat whatever the file's size.
            let options = VicsOptions {
                scheme: vics_scheme.map(vics_scheme_of),
            };
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Record, RecordIssue>>(1024);
            std::thread::spawn(move || {
                let res = read_vics(reader, &name, &options, |ev| {
                    let _ = match ev {
                        VicsEvent::Media(m) => tx.send(Ok(m.value)),
                        VicsEvent::Case(_) => Ok(()),
                        VicsEvent::Malformed(e) => tx.send(Err(RecordIssue::from(e.to_string()))),
                    };
                });
                if let Err(e) = res {
                    let _ = tx.send(Err(fatal(&name, e)));
                }
            });
            Box::new(rx.into_iter())
        }
    })
}

fn vics_scheme_of(s: cli::VicsSchemeArg) -> VicsScheme {
    match s {
        cli::VicsSchemeArg::Us => VicsScheme::UsV2,
        cli::VicsSchemeArg::Legacy => VicsScheme::Legacy,
    }
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
        ListFormat::Pytx | ListFormat::PytxCsv | ListFormat::Vics => {
            let mut recs = Vec::new();
            store
                .export(&a.name, |r| {
                    recs.push(r);
                    Ok(())
                })
                .await?;
            match a.format {
                ListFormat::Pytx => write_pytx_text(&mut w, &recs)?,
                ListFormat::PytxCsv => write_pytx_csv(&mut w, &recs)?,
                _ => {
                    let scheme = vics_scheme_of(a.vics_scheme);
                    let mut vw = VicsWriter::new(
                        &mut w,
                        VicsForm::Media,
                        Some(scheme),
                        &std::collections::BTreeMap::new(),
                    )?;
                    let mut dropped = 0u64;
                    let mut unwritable = 0u64;
                    for r in recs.iter_mut() {
                        // VICS identifies media by MD5, SHA-1 or PhotoDNA.
                        if !r.signals.iter().any(|s| {
                            matches!(s.kind(), SignalKind::Md5 | SignalKind::Sha1)
                                || s.kind().name() == vigil_exchange::record::PHOTODNA
                        }) {
                            unwritable += 1;
                            continue;
                        }
                        if let Some(c) = &r.category {
                            let converted = c.to_vics(scheme);
                            dropped += u64::from(converted.is_none());
                            r.category = converted;
                        }
                        vw.write_media(r)?;
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
            }
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
