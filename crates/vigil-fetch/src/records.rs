//! Reading a hash-list file into records, in any of the formats `vigil bank import` knows; used
//! by that command and by file exchanges, so both read a file alike.

use std::io::BufRead;

use serde::{Deserialize, Serialize};
use vigil_exchange::Location;
use vigil_exchange::pytx::{PytxCsvReader, PytxTextReader};
use vigil_exchange::record::{Item, Record, Signal, VicsScheme};
use vigil_exchange::vics::{self, VicsEvent, VicsOptions, read_vics};
use vigil_exchange::{PlainListReader, Record as PlainRecord};
use vigil_store::RecordIssue;

/// The most media of one VICS case held while its members are read (see [`read_records`]).
pub(crate) const MAX_CASE_MEDIA: usize = 200_000;

/// The format of a hash-list file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// One PDQ hash per line (`plain`).
    Plain,
    /// python-threatexchange text, `<signal_type> <signal>` per line (`pytx`).
    Pytx,
    /// python-threatexchange CSV (`pytx-csv`).
    PytxCsv,
    /// Project VIC VICS 2.0 JSON (`vics`).
    Vics,
}

impl Format {
    /// `plain`, `pytx`, `pytx-csv` or `vics`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Plain => "plain",
            Format::Pytx => "pytx",
            Format::PytxCsv => "pytx-csv",
            Format::Vics => "vics",
        }
    }
}

/// The records of one file: each record, or the issue of one that could not be read.
pub type Records = Box<dyn Iterator<Item = Result<Record, RecordIssue>> + Send>;

/// The records of one input in a format; `name` (the file) is used in messages. An I/O error or
/// a malformed file structure is a fatal [`RecordIssue`] (a half-read file is not a file with
/// bad records: its import is refused even when bad records are skipped); a bad record is not.
///
/// The error is that of a file whose start is already unusable (a CSV without its header).
/// VICS files are read on a thread that feeds the iterator through a bounded queue, so memory
/// stays flat whatever the file's size; a `#Cases` file's media carry their case's members in
/// `extra` ([`vics::CASE_EXTRA`]), and since those are known only at the case's end, a case's
/// media are held until then (at most 200,000 of them: a bigger case is refused).
pub fn read_records<R: BufRead + Send + 'static>(
    reader: R,
    name: &str,
    format: Format,
    vics_scheme: Option<VicsScheme>,
) -> Result<Records, vigil_exchange::Error> {
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
        Format::Plain => Box::new(PlainListReader::new(reader, &name).map(move |r| match r {
            Ok(PlainRecord::Entry(e)) => Ok(Record::with_signals([Signal::from_pdq(e.hash)])),
            Ok(PlainRecord::Malformed(e)) => Err(RecordIssue::from(e.to_string())),
            Err(e) => Err(fatal(&name, e)),
        })),
        Format::Pytx => Box::new(PytxTextReader::new(reader, &name).map(move |r| item(&name, r))),
        Format::PytxCsv => {
            let rd = PytxCsvReader::new(reader, &name)?;
            Box::new(rd.map(move |r| item(&name, r)))
        }
        Format::Vics => {
            // The VICS reader calls back; a thread turns that into an iterator, with a bounded
            // queue so that memory stays flat whatever the file's size.
            let options = VicsOptions {
                scheme: vics_scheme,
            };
            //
            // A case's members are known only at its end (its `Media` may come first), so the
            // media of a case wait for it, at most MAX_CASE_MEDIA of them, and then go on with
            // the case's members in `extra` ([`vics::CASE_EXTRA`]).
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Record, RecordIssue>>(1024);
            std::thread::spawn(move || {
                let mut case_media: Vec<Record> = Vec::new();
                let mut failed = false;
                let res = read_vics(reader, &name, &options, |ev| {
                    if failed {
                        return;
                    }
                    let _ = match ev {
                        VicsEvent::Media(m) => match m.location {
                            Location::Media { case: Some(c), .. } => {
                                if case_media.len() >= MAX_CASE_MEDIA {
                                    failed = true;
                                    tx.send(Err(fatal(
                                        &name,
                                        format!(
                                            "case value[{c}] has more than {MAX_CASE_MEDIA} \
                                             media: a case's members are read at its end, and \
                                             its media are held until then; split the case"
                                        ),
                                    )))
                                } else {
                                    case_media.push(m.value);
                                    Ok(())
                                }
                            }
                            _ => tx.send(Ok(m.value)),
                        },
                        VicsEvent::Case(c) => {
                            let json = c.to_json();
                            for mut r in case_media.drain(..) {
                                r.extra.insert(vics::CASE_EXTRA.to_string(), json.clone());
                                if tx.send(Ok(r)).is_err() {
                                    break;
                                }
                            }
                            Ok(())
                        }
                        VicsEvent::Malformed(e) => tx.send(Err(RecordIssue::from(e.to_string()))),
                    };
                });
                if let Err(e) = res {
                    let _ = tx.send(Err(fatal(&name, e)));
                } else if !case_media.is_empty() && !failed {
                    // The parser ends every case it starts; should one not end, say so.
                    let _ = tx.send(Err(fatal(&name, "a case's media came without the case")));
                }
            });
            Box::new(rx.into_iter())
        }
    })
}
