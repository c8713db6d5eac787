//! The `file` exchange: a hash-list file, or a directory of them, in a format `vigil bank import`
//! knows.
//!
//! The checkpoint lists every file applied, by path relative to the configured directory (a
//! single file: its name), with its size, modification time (ns) and SHA-256:
//! `{"files": {"a.csv": {"size": 1, "mtime_ns": 2, "sha256": "…"}}}`. A fetch looks at each file
//! in path order:
//!
//! * size and modification time as recorded: unchanged, not read;
//! * otherwise its SHA-256 is computed; the same as recorded: unchanged (its new time is
//!   recorded);
//! * otherwise it is imported (as `vigil bank import --skip-bad` would, provenance source
//!   `exchange:<name>`) in one transaction with the checkpoint naming it. The file is hashed
//!   again while it is read; if it changed in between, nothing of it is applied and the next
//!   fetch tries it again.
//!
//! A file that cannot be applied (unreadable, broken off, not of the format) is reported and the
//! others are still applied. A file exchange only adds and updates: an item that disappears
//! from a file, or a file that disappears, leaves the bank as it is.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigil_exchange::record::Record;
use vigil_store::{Exchange, Page, RecordIssue, Store};

use crate::config::FileConfig;
use crate::records::read_records;
use crate::{Error, FetchOptions, FetchReport};

/// The checkpoint of a file exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    files: BTreeMap<String, FileState>,
}

/// A file as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileState {
    size: u64,
    mtime_ns: i64,
    sha256: String,
}

pub(crate) async fn fetch(
    store: &Store,
    ex: &Exchange,
    cfg: &FileConfig,
    opts: &FetchOptions,
    report: &mut FetchReport,
) -> Result<(), Error> {
    let mut cp_text = ex.checkpoint.clone();
    let mut cp: Checkpoint = match &cp_text {
        Some(t) => serde_json::from_str(t).map_err(|e| Error::Config {
            exchange: ex.name.clone(),
            why: format!("its checkpoint {t} is not a file checkpoint: {e}"),
        })?,
        None => Checkpoint::default(),
    };
    let io = |path: &Path, source: std::io::Error| Error::Io {
        exchange: ex.name.clone(),
        path: path.to_path_buf(),
        source,
    };
    let (files, mut failures) = list(&cfg.path, &io)?;
    let scheme = cfg.vics_scheme.map(|s| s.scheme());
    for (key, path) in files {
        if opts.max_pages.is_some_and(|m| report.pages >= m) {
            return finish(failures);
        }
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                failures.push(io(&path, e));
                continue;
            }
        };
        let size = meta.len();
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let before = cp.files.get(&key);
        if before.is_some_and(|s| s.size == size && s.mtime_ns == mtime_ns) {
            report.unchanged += 1;
            continue;
        }
        let sha256 = {
            let p = path.clone();
            match tokio::task::spawn_blocking(move || sha256_file(&p)).await {
                Ok(Ok(h)) => h,
                Ok(Err(e)) => {
                    failures.push(io(&path, e));
                    continue;
                }
                Err(e) => {
                    failures.push(io(&path, std::io::Error::other(e.to_string())));
                    continue;
                }
            }
        };
        let same_content = before.is_some_and(|s| s.sha256 == sha256);
        let mut next = cp.clone();
        next.files.insert(
            key.clone(),
            FileState {
                size,
                mtime_ns,
                sha256: sha256.clone(),
            },
        );
        let next_text = serde_json::to_string(&next).expect("a checkpoint serialises");
        let no_deletions = [];
        if same_content {
            // Touched, not changed: record its new time, apply nothing.
            store
                .apply_page(
                    &opts.actor,
                    &ex.name,
                    Page {
                        records: std::iter::empty::<Result<Record, RecordIssue>>(),
                        deletions: &no_deletions,
                        ordered: false,
                        expected_checkpoint: cp_text.as_deref(),
                        checkpoint: &next_text,
                        skipped: &[],
                    },
                )
                .await?;
            report.unchanged += 1;
            report.checkpoint = Some(next_text.clone());
        } else {
            let name = path.display().to_string();
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    failures.push(io(&path, e));
                    continue;
                }
            };
            let records = match verified_records(file, &name, cfg, scheme, sha256) {
                Ok(r) => r,
                Err(why) => {
                    failures.push(Error::File {
                        exchange: ex.name.clone(),
                        path: path.clone(),
                        why,
                    });
                    continue;
                }
            };
            let applied = store
                .apply_page(
                    &opts.actor,
                    &ex.name,
                    Page {
                        records,
                        deletions: &no_deletions,
                        ordered: false,
                        expected_checkpoint: cp_text.as_deref(),
                        checkpoint: &next_text,
                        skipped: &[],
                    },
                )
                .await;
            match applied {
                Ok(r) => report.absorb(r, &next_text),
                // The file broke off or is not of its format: nothing of it was applied.
                Err(
                    e @ (vigil_store::Error::Import { .. } | vigil_store::Error::BadRecord { .. }),
                ) => {
                    failures.push(Error::File {
                        exchange: ex.name.clone(),
                        path: path.clone(),
                        why: e.to_string(),
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        cp = next;
        cp_text = Some(next_text);
    }
    report.complete = failures.is_empty();
    finish(failures)
}

fn finish(mut failures: Vec<Error>) -> Result<(), Error> {
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => Err(Error::Partial(failures)),
    }
}

/// Files as `(checkpoint key, path)`, and the entries that could not be listed.
type Listing = (Vec<(String, PathBuf)>, Vec<Error>);

/// The files of the exchange, as `(checkpoint key, path)` in path order, and the entries that
/// could not be listed. A missing path is an error of the whole fetch.
fn list(root: &Path, io: &dyn Fn(&Path, std::io::Error) -> Error) -> Result<Listing, Error> {
    let meta = std::fs::metadata(root).map_err(|e| io(root, e))?;
    if !meta.is_dir() {
        let key = root.file_name().map_or_else(
            || root.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        return Ok((vec![(key, root.to_path_buf())], Vec::new()));
    }
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by(|a, b| a.file_name().cmp(b.file_name()))
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let rel = e.path().strip_prefix(root).unwrap_or(e.path());
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((key, e.path().to_path_buf()));
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                failures.push(io(&path, e.into()));
            }
        }
    }
    Ok((files, failures))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Passes reads through while hashing them.
struct HashingReader {
    inner: File,
    hasher: Arc<Mutex<Sha256>>,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hasher.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The records of a file, followed — once the format's reader is done — by a check that the
/// bytes read have the SHA-256 the checkpoint will record: if the file changed since it was
/// hashed, a fatal issue refuses the whole file.
fn verified_records(
    file: File,
    name: &str,
    cfg: &FileConfig,
    scheme: Option<vigil_exchange::record::VicsScheme>,
    expected: String,
) -> Result<Box<dyn Iterator<Item = Result<Record, RecordIssue>> + Send>, String> {
    // A second handle on the same open file shares its offset: after the reader stops, the rest
    // of the file (if it stopped before the end) is read from here and hashed too.
    let mut rest = file.try_clone().map_err(|e| e.to_string())?;
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let reader = BufReader::with_capacity(
        1 << 16,
        HashingReader {
            inner: file,
            hasher: hasher.clone(),
        },
    );
    let mut records = read_records(reader, name, cfg.format, scheme).map_err(|e| e.to_string())?;
    let name = name.to_string();
    let mut checked = false;
    Ok(Box::new(std::iter::from_fn(move || {
        if let Some(r) = records.next() {
            return Some(r);
        }
        if checked {
            return None;
        }
        checked = true;
        let mut h = hasher.lock().ok()?.clone();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match rest.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => h.update(&buf[..n]),
                Err(e) => {
                    return Some(Err(RecordIssue {
                        message: format!("{name}: {e}"),
                        fatal: true,
                    }));
                }
            }
        }
        if hex::encode(h.finalize()) == expected {
            None
        } else {
            Some(Err(RecordIssue {
                message: format!(
                    "{name}: the file changed while it was read; nothing of it was applied (the \
                     next fetch reads it again)"
                ),
                fatal: true,
            }))
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Format;

    fn cfg(path: &Path, format: Format) -> FileConfig {
        FileConfig {
            path: path.to_path_buf(),
            format,
            vics_scheme: Some(crate::VicsSchemeName::Us),
        }
    }

    fn run(path: &Path, format: Format, expected: String) -> Vec<Result<Record, RecordIssue>> {
        let name = path.display().to_string();
        let file = File::open(path).unwrap();
        let c = cfg(path, format);
        verified_records(file, &name, &c, None, expected)
            .unwrap()
            .collect()
    }

    #[test]
    fn a_file_is_checked_against_the_hash_it_was_applied_under() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.txt");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        let good = sha256_file(&path).unwrap();
        let out = run(&path, Format::Plain, good);
        assert_eq!(out.len(), 1);
        assert!(out[0].is_ok());
        // Hashed before it changed: refused as a whole, at the end.
        let out = run(&path, Format::Plain, "00".repeat(32));
        assert_eq!(out.len(), 2);
        let issue = out[1].as_ref().unwrap_err();
        assert!(
            issue.fatal && issue.message.contains("changed while it was read"),
            "{issue:?}"
        );
        // A reader that stops before the end (JSON followed by blanks): the rest is hashed too.
        let path = dir.path().join("v.json");
        std::fs::write(
            &path,
            format!(
                "{{\"value\": [{{\"MD5\": \"{}\"}}]}}\n\n   \n",
                "cd".repeat(16)
            ),
        )
        .unwrap();
        let good = sha256_file(&path).unwrap();
        let out = run(&path, Format::Vics, good);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].is_ok());
    }
}
