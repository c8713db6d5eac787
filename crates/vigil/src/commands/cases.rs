//! `vigil cases`: the case registry, in the store (`--db`) or in dataset files (JSON: areas,
//! population, incidents).
//!
//! `demo` writes the fictitious demo dataset and its ground truth; `import` reads a CSV or XLSX
//! file through a mapping (all or nothing unless `--skip-bad`; each error with its row and field
//! on stderr, exit 1) into a dataset file or the store; `stats` prints one table with
//! small-number suppression (CSV or SDMX-style CSV; with `--rows year` the year-on-year change
//! and cases per day go to stderr); `network` prints the candidate networks ranked by evidence
//! with every link explained; `export` writes the registry as a dataset encrypted with a
//! passphrase (age's scrypt mode), audited; `decrypt` reads one back. Reads of the store are
//! audited by the store (`cases.read`); points are read only for an export that asks for them.
//! All the analysis is in `vigil-cases`; this module reads and writes files.

use std::io::{Read, Write};
use std::path::Path;

use age::secrecy::{ExposeSecret, SecretString};
use anyhow::{Context, bail};
use vigil_cases::dataset::Dataset;
use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::intake::{self, Mapping, Mode};
use vigil_cases::model::Date;
use vigil_cases::network::{self, NetworkOptions};
use vigil_cases::stats::{self, Dim, SdmxMeta};
use vigil_cases::{Error, Incident, Taxonomies, dedup, xlsx};
use vigil_store::NewAudit;

use crate::cli::{
    CasesCommand, CasesDim, CasesFormat, CasesScopesCommand, CasesSdgArgs, PassphraseArgs,
};
use crate::commands::store::{actor, block_on, open};
use crate::exit::ExitStatus;

/// The shortest passphrase an export accepts.
const MIN_PASSPHRASE: usize = 12;

fn dim(d: CasesDim) -> Dim {
    match d {
        CasesDim::Year => Dim::Year,
        CasesDim::HalfYear => Dim::HalfYear,
        CasesDim::Category => Dim::Category,
        CasesDim::Subtype => Dim::Subtype,
        CasesDim::Sex => Dim::Sex,
        CasesDim::AgeBand => Dim::AgeBand,
        CasesDim::AbuserCategory => Dim::AbuserCategory,
        CasesDim::Place => Dim::Place,
        CasesDim::Province => Dim::Province,
        CasesDim::District => Dim::District,
        CasesDim::Locality => Dim::Locality,
        CasesDim::Registered => Dim::Registered,
        CasesDim::Reported => Dim::Reported,
    }
}

fn read_dataset(path: &Path) -> anyhow::Result<Dataset> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading dataset {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing dataset {}", path.display()))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string(value).context("serialising")?;
    write_private(path, text.as_bytes())
}

/// Writes a file readable by its owner only (case data is sensitive), via a temporary file in
/// the same directory renamed into place: a failed write never leaves half a file.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut t = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    t.write_all(bytes)
        .and_then(|()| t.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    t.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The registry's incidents: a dataset file's, or the store's (a read the store audits; points
/// only when asked).
fn incidents(
    db: Option<&str>,
    dataset: Option<&Path>,
    with_points: bool,
) -> anyhow::Result<Vec<Incident>> {
    match dataset {
        Some(p) => Ok(read_dataset(p)?.incidents),
        None => {
            let db = db.context("no store")?;
            block_on(async {
                let store = open(db).await?;
                let v = store
                    .incidents(&actor(), with_points)
                    .await
                    .context("reading the case registry")?;
                store.close().await;
                anyhow::Ok(v)
            })?
        }
    }
}

/// The passphrase: the first line of --passphrase-file, else VIGIL_EXPORT_PASSPHRASE.
fn passphrase(a: &PassphraseArgs) -> anyhow::Result<SecretString> {
    let text = match &a.passphrase_file {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("reading the passphrase file {}", p.display()))?;
            t.lines().next().unwrap_or_default().to_string()
        }
        None => std::env::var("VIGIL_EXPORT_PASSPHRASE").map_err(|_| {
            anyhow::anyhow!(
                "no passphrase: give --passphrase-file FILE or set VIGIL_EXPORT_PASSPHRASE \
                 (never on the command line, where other users can read it)"
            )
        })?,
    };
    if text.is_empty() {
        bail!("the passphrase is empty");
    }
    Ok(SecretString::from(text))
}

/// Encrypts with age's passphrase (scrypt) recipient.
fn encrypt(plain: &[u8], pass: SecretString) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plain.len() + 1024);
    let mut w = age::Encryptor::with_user_passphrase(pass)
        .wrap_output(&mut out)
        .context("encrypting")?;
    w.write_all(plain).context("encrypting")?;
    w.finish().context("encrypting")?;
    Ok(out)
}

/// Decrypts an age file made with a passphrase; `what` names it in errors.
fn decrypt(cipher: &[u8], pass: SecretString, what: &str) -> anyhow::Result<Vec<u8>> {
    let d = age::Decryptor::new_buffered(cipher)
        .with_context(|| format!("{what} is not an encrypted export (age format)"))?;
    if !d.is_scrypt() {
        bail!("{what} is encrypted to a key, not with a passphrase");
    }
    let identity = age::scrypt::Identity::new(pass);
    let mut r = d
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
                anyhow::anyhow!("{what}: wrong passphrase")
            }
            e => anyhow::anyhow!("{what}: {e}"),
        })?;
    let mut plain = Vec::new();
    r.read_to_end(&mut plain)
        .with_context(|| format!("{what}: damaged or truncated"))?;
    Ok(plain)
}

/// Today (UTC), for "not in the future" checks.
fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days((secs / 86_400) as i64)
}

/// Runs `vigil cases …`.
pub(crate) fn run(db: Option<&str>, cmd: CasesCommand) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match cmd {
        CasesCommand::Demo(a) => {
            let d = demo::generate(&DemoOptions {
                seed: a.seed,
                per_year: a.per_year,
                ..Default::default()
            });
            write_json(&a.out, &Dataset::from_demo(&d))?;
            if let Some(t) = &a.truth {
                write_json(t, &d.truth)?;
            }
            super::cases_map::write_demo_map(&d, a.boundaries.as_deref(), a.population.as_deref())?;
            if let (Some(reg), Some(map)) = (&a.register, &a.register_mapping) {
                let incidents = d
                    .taxonomies
                    .harmonise(&d.incidents, "sahil-2022")
                    .map_err(|e| anyhow::anyhow!("{} demo incidents unmappable", e.len()))?;
                let f = std::fs::File::create(reg)
                    .with_context(|| format!("creating {}", reg.display()))?;
                intake::write_register_csv(std::io::BufWriter::new(f), &incidents)
                    .with_context(|| format!("writing {}", reg.display()))?;
                write_json(map, &Mapping::canonical("sahil-2022"))?;
            }
            eprintln!(
                "cases demo: {} incidents, {} districts, {} planted networks, {} duplicate groups",
                d.incidents.len(),
                d.areas.districts.len(),
                d.truth.networks.len(),
                d.truth.duplicates.len()
            );
            Ok(ExitStatus::Success)
        }
        CasesCommand::Import(a) => {
            // The areas to check against: the dataset's, else (into the store) the store's.
            let mut ds = match (&a.areas, a.store) {
                (Some(p), _) => read_dataset(p)?,
                (None, true) => {
                    let areas = block_on(async {
                        let store = open(db.context("no store")?).await?;
                        let areas = store.case_areas().await.context("reading the areas")?;
                        store.close().await;
                        anyhow::Ok(areas)
                    })??;
                    if areas.districts.is_empty() {
                        bail!(
                            "the store has no area hierarchy to check the import against: \
                             give --areas DATASET, or load one with `vigil cases areas import \
                             --hierarchy DATASET`"
                        );
                    }
                    Dataset {
                        areas,
                        ..Default::default()
                    }
                }
                (None, false) => bail!("--areas DATASET is needed with --out"),
            };
            let text = std::fs::read_to_string(&a.mapping)
                .with_context(|| format!("reading mapping {}", a.mapping.display()))?;
            let mapping = Mapping::from_json(&text)
                .with_context(|| format!("mapping {}", a.mapping.display()))?;
            let mode = if a.skip_bad {
                Mode::SkipBadRows
            } else {
                Mode::AllOrNothing
            };
            let what = a.file.display().to_string();
            let mut file =
                std::fs::File::open(&a.file).with_context(|| format!("opening {what}"))?;
            let mut magic = [0u8; 4];
            let n = file
                .read(&mut magic)
                .with_context(|| format!("reading {what}"))?;
            let is_xlsx = magic[..n] == *b"PK\x03\x04";
            if a.sheet.is_some() && !is_xlsx {
                bail!("--sheet is for XLSX files; {what} is not one");
            }
            let (taxonomies, areas) = (Taxonomies::builtin(), ds.areas.clone());
            let result = if is_xlsx {
                let limits = xlsx::Limits::default();
                let len = file.metadata().map(|m| m.len()).unwrap_or(0);
                if len > limits.max_file_bytes {
                    bail!(
                        "{what}: {len} bytes is over the limit of {} bytes for a spreadsheet",
                        limits.max_file_bytes
                    );
                }
                let bytes = std::fs::read(&a.file).with_context(|| format!("reading {what}"))?;
                intake::import_xlsx(
                    &bytes,
                    a.sheet.as_deref(),
                    &limits,
                    &what,
                    &mapping,
                    &taxonomies,
                    &areas,
                    today(),
                    mode,
                )
            } else {
                let file = std::io::Cursor::new(magic[..n].to_vec()).chain(file);
                intake::import(file, &what, &mapping, &taxonomies, &areas, today(), mode)
            };
            match result {
                Err(Error::Rows(errs)) => {
                    for e in &errs {
                        eprintln!("vigil: {what}: {e}");
                    }
                    eprintln!("cases import: {} error(s), nothing imported", errs.len());
                    Ok(ExitStatus::Failure)
                }
                Err(e) => Err(e).context(format!("importing {what}")),
                Ok(report) => {
                    for e in &report.errors {
                        eprintln!("vigil: {what}: {e}");
                    }
                    let n = report.incidents.len();
                    if a.store {
                        let db = db.context("no store")?;
                        let saved = block_on(async {
                            let store = open(db).await?;
                            let saved = store
                                .save_incidents(&report.incidents, &actor())
                                .await
                                .context("saving the incidents in the store")?;
                            store.close().await;
                            anyhow::Ok(saved)
                        })??;
                        eprintln!(
                            "cases import: {} rows, {n} imported into the store ({} new, {} \
                             replaced), {} error(s)",
                            report.rows,
                            saved.inserted,
                            saved.replaced,
                            report.errors.len()
                        );
                    } else if let Some(out) = &a.out {
                        ds.incidents.extend(report.incidents);
                        write_json(out, &ds)?;
                        eprintln!(
                            "cases import: {} rows, {n} imported, {} error(s)",
                            report.rows,
                            report.errors.len()
                        );
                    }
                    Ok(if report.errors.is_empty() {
                        ExitStatus::Success
                    } else {
                        ExitStatus::Failure
                    })
                }
            }
        }
        CasesCommand::Stats(a) => {
            let mut incidents = incidents(db, a.dataset.as_deref(), false)?;
            if let Some(t) = &a.taxonomy {
                incidents = Taxonomies::builtin()
                    .harmonise(&incidents, t)
                    .map_err(|errs| {
                        anyhow::anyhow!(
                            "{} incident(s) cannot be mapped to {t}; first: {}",
                            errs.len(),
                            errs[0]
                        )
                    })?;
            }
            if a.dedup {
                let groups = dedup::find_duplicates(&incidents, &dedup::DedupOptions::default());
                incidents = dedup::merge(&incidents, &groups);
            }
            let rows = dim(a.rows);
            if a.cols.is_none() && rows == Dim::Year {
                for y in stats::yearly(&incidents) {
                    let change = y.yoy_percent.map_or("-".to_string(), |p| format!("{p:+}%"));
                    eprintln!(
                        "cases stats: {}: {} incidents, {change} on the year before, {:.1} a day",
                        y.year, y.count, y.per_day
                    );
                }
            }
            let table = stats::crosstab(&incidents, rows, a.cols.map(dim))?;
            let s = stats::suppress(&table, a.k);
            match a.format {
                CasesFormat::Csv => stats::write_csv(&mut out, &s)?,
                CasesFormat::Sdmx => {
                    let meta = SdmxMeta {
                        freq: "A".into(),
                        time_period: None,
                        ref_area: None,
                        unit: "NUMBER".into(),
                    };
                    stats::write_sdmx(&mut out, &s, &meta)?
                }
            }
            Ok(ExitStatus::Success)
        }
        CasesCommand::Sdg(a) => sdg(db, a, &mut out),
        CasesCommand::Map(a) => super::cases_map::map(db, a),
        CasesCommand::Scopes(c) => scopes(db.context("no store")?, c, &mut out),
        CasesCommand::Areas(c) => super::cases_map::areas(db.context("no store")?, c),
        CasesCommand::Network(a) => {
            if a.min_score.is_nan() || a.min_score < 0.0 {
                bail!("--min-score must be 0 or more");
            }
            let incidents = incidents(db, a.dataset.as_deref(), false)?;
            let analysis = network::analyse(
                &incidents,
                &NetworkOptions {
                    hub_cap: a.hub_cap,
                    min_score: a.min_score,
                    ..Default::default()
                },
            );
            out.write_all(network::report(&analysis, &incidents, a.top).as_bytes())?;
            eprintln!(
                "cases network: {} incidents, {} links, {} candidate networks, {} hubs set aside",
                incidents.len(),
                analysis.links.len(),
                analysis.candidates.len(),
                analysis.hubs.len()
            );
            Ok(ExitStatus::Success)
        }
        CasesCommand::Export(a) => {
            let pass = passphrase(&a.passphrase)?;
            if pass.expose_secret().chars().count() < MIN_PASSPHRASE {
                bail!("the passphrase is shorter than {MIN_PASSPHRASE} characters");
            }
            let out_name = a.out.display().to_string();
            let ds = match &a.dataset {
                Some(p) => {
                    let mut ds = read_dataset(p)?;
                    if !a.with_points {
                        for i in &mut ds.incidents {
                            i.area.point = None;
                        }
                    }
                    ds
                }
                None => {
                    let db = db.context("no store")?;
                    block_on(async {
                        let store = open(db).await?;
                        let incidents = store
                            .incidents(&actor(), a.with_points)
                            .await
                            .context("reading the case registry")?;
                        // Audited before the file exists: no export goes unrecorded.
                        store
                            .record_audit(&[NewAudit {
                                at: now_ms(),
                                actor: actor(),
                                action: "cases.export".into(),
                                bank: None,
                                content_id: None,
                                detail: serde_json::json!({
                                    "incidents": incidents.len(),
                                    "points": a.with_points,
                                    "file": out_name,
                                    "encrypted": true,
                                }),
                            }])
                            .await
                            .context("recording the export in the audit log")?;
                        store.close().await;
                        anyhow::Ok(Dataset {
                            incidents,
                            ..Dataset::default()
                        })
                    })??
                }
            };
            let plain = serde_json::to_vec(&ds).context("serialising")?;
            let cipher = encrypt(&plain, pass)?;
            write_private(&a.out, &cipher)?;
            eprintln!(
                "cases export: {} incidents{} to {out_name}, encrypted with the passphrase",
                ds.incidents.len(),
                if a.with_points { " with points" } else { "" }
            );
            Ok(ExitStatus::Success)
        }
        CasesCommand::Decrypt(a) => {
            let pass = passphrase(&a.passphrase)?;
            let what = a.file.display().to_string();
            let cipher = std::fs::read(&a.file).with_context(|| format!("reading {what}"))?;
            let plain = decrypt(&cipher, pass, &what)?;
            let ds: Dataset = serde_json::from_slice(&plain)
                .with_context(|| format!("{what}: not a dataset once decrypted"))?;
            write_private(&a.out, &plain)?;
            eprintln!(
                "cases decrypt: {} incidents to {}",
                ds.incidents.len(),
                a.out.display()
            );
            Ok(ExitStatus::Success)
        }
    }
}

/// Runs `vigil cases sdg`: the computed 16.2.2-style rows, then the imported figures.
fn sdg(db: Option<&str>, a: CasesSdgArgs, out: &mut impl Write) -> anyhow::Result<ExitStatus> {
    let (mut incidents, population, figures) = match &a.dataset {
        Some(p) => {
            let ds = read_dataset(p)?;
            let figures = match &a.indicators {
                Some(f) => match super::cases_map::read_indicators(f, None)? {
                    Some(f) => f,
                    None => return Ok(ExitStatus::Failure),
                },
                None => Vec::new(),
            };
            let population = (!ds.population.is_empty()).then(|| ds.population());
            (ds.incidents, population, figures)
        }
        None => {
            if a.indicators.is_some() {
                bail!(
                    "--indicators is for a dataset file; import them into the store with \
                     `vigil cases areas import --indicators`"
                );
            }
            block_on(async {
                let store = open(db.context("no store")?).await?;
                let incidents = store
                    .incidents(&actor(), false)
                    .await
                    .context("reading the case registry")?;
                let table = store.population().await.context("reading the population")?;
                let figures = store.indicators().await.context("reading the indicators")?;
                store.close().await;
                let population = if table.rows.is_empty() {
                    None
                } else {
                    Some(table.population(a.age_group.as_deref())?)
                };
                anyhow::Ok((incidents, population, figures))
            })??
        }
    };
    if a.dedup {
        let groups = dedup::find_duplicates(&incidents, &dedup::DedupOptions::default());
        incidents = dedup::merge(&incidents, &groups);
    }
    if population.is_none() {
        eprintln!("cases sdg: no population figures: no computed rate");
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "indicator",
        "area_code",
        "year",
        "value",
        "unit",
        "sex",
        "age_group",
        "method",
        "victims",
        "population",
        "source",
    ])?;
    let group = a.age_group.clone().unwrap_or_default();
    let mut computed = 0;
    if let Some(p) = &population {
        for r in stats::rates_per_100k(&incidents, p, a.by_province) {
            w.write_record([
                "16.2.2-style",
                &r.area,
                &r.year.to_string(),
                &format!("{:.2}", r.per_100k),
                "per_100k",
                "",
                &group,
                "computed: detected (media-reported) victims per 100,000; not prevalence",
                &r.victims.to_string(),
                &r.population.to_string(),
                "registry",
            ])?;
            computed += 1;
        }
    }
    for f in &figures {
        w.write_record([
            f.indicator.as_str(),
            &f.area,
            &f.year.to_string(),
            &f.value,
            &f.unit,
            &f.sex,
            &f.age_group,
            "imported as published",
            "",
            "",
            &f.source,
        ])?;
    }
    w.flush()?;
    eprintln!(
        "cases sdg: {computed} computed rate(s), {} imported figure(s)",
        figures.len()
    );
    Ok(ExitStatus::Success)
}

/// Runs `vigil cases scopes …`.
fn scopes(db: &str, cmd: CasesScopesCommand, out: &mut impl Write) -> anyhow::Result<ExitStatus> {
    block_on(async {
        let store = open(db).await?;
        match cmd {
            CasesScopesCommand::List => {
                let all = store.case_scopes().await.context("reading the scopes")?;
                if all.is_empty() {
                    eprintln!("cases scopes: no subject is limited");
                }
                for s in all {
                    writeln!(out, "{}\t{}", s.subject, s.areas.join(","))?;
                }
            }
            CasesScopesCommand::Set { subject, areas } => {
                let known = store.case_areas().await.context("reading the areas")?;
                if known.districts.is_empty() {
                    bail!(
                        "the store has no area hierarchy to check the scope against: load one \
                         with `vigil cases areas import --hierarchy DATASET`"
                    );
                }
                let unknown: Vec<&String> = areas
                    .iter()
                    .filter(|a| {
                        let a = a.trim();
                        !known.provinces.contains_key(a) && !known.districts.contains_key(a)
                    })
                    .collect();
                if !unknown.is_empty() {
                    bail!(
                        "scope of {subject}: not a province or district of the store's \
                         hierarchy: {}",
                        unknown
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                store
                    .set_case_scope(&actor(), &subject, &areas)
                    .await
                    .with_context(|| format!("setting the scope of {subject}"))?;
                eprintln!("cases scopes: {subject} limited to {}", areas.join(", "));
            }
            CasesScopesCommand::Clear { subject } => {
                store
                    .set_case_scope(&actor(), &subject, &[])
                    .await
                    .with_context(|| format!("clearing the scope of {subject}"))?;
                eprintln!("cases scopes: {subject} is not limited");
            }
        }
        store.close().await;
        anyhow::Ok(ExitStatus::Success)
    })?
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
