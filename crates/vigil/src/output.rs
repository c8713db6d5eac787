//! The stdout formats of `vigil hash`: the stable contract other tools parse.
//!
//! **API Boundary:** the JSON shapes are the serde structs here ([`HashRecord`], [`ErrorRecord`]);
//! library types (`vigil_pdq::Pdq`, `vigil_media::Decoded`) are not `Serialize` and are converted by
//! hand, so a change of wire format stays in this file.
//!
//! * csv: `pdq_hex,quality,path` per hashed file, no header (the reference tool's format); failed
//!   inputs do not appear. Control characters in the path are escaped so that a hostile file name
//!   cannot forge a line.
//! * jsonl: one object per input, [`HashRecord`] or [`ErrorRecord`].
//!
//! And of `vigil match` ([`MatchOutput`]):
//!
//! * jsonl: one object per query, [`MatchRecord`] or [`QueryErrorRecord`].
//! * csv: a header `query,hash,distance,list,line` (`,variant` with `--dihedral`), then one row
//!   per match; fields holding a comma or a quote are quoted (RFC 4180), control characters are
//!   escaped.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use crate::cli::{Format, MatchFormat};
use crate::commands::hash::{Hashed, Media};

/// One hashed file, as a jsonl line.
#[derive(Debug, Serialize)]
pub(crate) struct HashRecord<'a> {
    /// The path (lossy UTF-8).
    pub(crate) path: &'a str,
    /// PDQ hash, 64 lowercase hex digits.
    pub(crate) pdq: String,
    /// PDQ quality, 0..=100.
    pub(crate) quality: u8,
    /// The 8 dihedral hashes in the reference's order (orig, rot90, rot180, rot270, flipx, flipy,
    /// flipplus1, flipminus1); only with `--dihedral`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pdq_dihedral: Option<Vec<String>>,
    /// MD5 of the file bytes, 32 lowercase hex digits.
    pub(crate) md5: &'a str,
    /// SHA-1 of the file bytes, 40 lowercase hex digits.
    pub(crate) sha1: &'a str,
    /// SHA-256 of the file bytes, 64 lowercase hex digits.
    pub(crate) sha256: &'a str,
    /// Width in pixels, as hashed.
    pub(crate) width: u32,
    /// Height in pixels, as hashed.
    pub(crate) height: u32,
    /// The container format (`jpeg`, `png`, `gif`, `webp`, `bmp`, `tiff`).
    pub(crate) format: &'static str,
}

/// One hashed video, as a jsonl line.
#[derive(Debug, Serialize)]
pub(crate) struct VideoRecord<'a> {
    /// The path (lossy UTF-8).
    pub(crate) path: &'a str,
    /// Always `video` (image lines have no `kind`).
    pub(crate) kind: &'static str,
    /// How many frames were hashed (the vPDQ signal's length).
    pub(crate) vpdq_frames: usize,
    /// How many frames the video has (every decoded frame).
    pub(crate) decoded_frames: u64,
    /// Frames per second, as sampling and timestamps use it.
    pub(crate) frame_rate: f64,
    /// Seconds: decoded frames over the frame rate.
    pub(crate) duration: f64,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// FFmpeg's container (demuxer) name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub(crate) container: &'a str,
    /// FFmpeg's codec name, e.g. `h264`.
    pub(crate) codec: &'a str,
    /// MD5 of the file bytes (HMA's `video_md5`).
    pub(crate) md5: &'a str,
    pub(crate) sha1: &'a str,
    pub(crate) sha256: &'a str,
    /// With `--frames`: every hashed frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) frames: Option<Vec<FrameRecord>>,
}

/// One hashed frame of a video.
#[derive(Debug, Serialize)]
pub(crate) struct FrameRecord {
    /// 0-based frame number among all decoded frames.
    pub(crate) frame: u64,
    pub(crate) quality: u8,
    pub(crate) pdq: String,
    /// Seconds, 3 decimals as the reference prints them.
    pub(crate) timestamp: f64,
}

/// One input that could not be hashed, as a jsonl line.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorRecord<'a> {
    /// The path (lossy UTF-8).
    pub(crate) path: &'a str,
    /// What failed, naming the input (the whole error chain).
    pub(crate) error: &'a str,
}

/// Writes records in one format.
pub(crate) struct Output<W> {
    w: W,
    format: Format,
    frames: bool,
}

impl<W: Write> Output<W> {
    pub(crate) fn new(w: W, format: Format) -> Self {
        Output {
            w,
            format,
            frames: false,
        }
    }

    /// Videos' jsonl lines list every hashed frame (`--frames`).
    pub(crate) fn with_frames(mut self, frames: bool) -> Self {
        self.frames = frames;
        self
    }

    /// Writes the line(s) of one hashed file.
    pub(crate) fn hashed(&mut self, path: &str, h: &Hashed) -> io::Result<()> {
        match &h.media {
            Media::Image(i) => match self.format {
                Format::Csv => {
                    writeln!(
                        self.w,
                        "{},{},{}",
                        i.pdq.hash,
                        i.pdq.quality,
                        escape_controls(path)
                    )
                }
                // `--format vpdq` refuses images before they are hashed.
                Format::Vpdq => Ok(()),
                Format::Jsonl => {
                    let d = h.digests.as_ref();
                    let rec = HashRecord {
                        path,
                        pdq: i.pdq.hash.to_hex(),
                        quality: i.pdq.quality,
                        pdq_dihedral: i.dihedral.map(|ds| ds.iter().map(|x| x.to_hex()).collect()),
                        md5: d.map_or("", |d| &d.md5),
                        sha1: d.map_or("", |d| &d.sha1),
                        sha256: d.map_or("", |d| &d.sha256),
                        width: i.width,
                        height: i.height,
                        format: i.format.name(),
                    };
                    self.json_line(&rec)
                }
            },
            Media::Video(v) => match self.format {
                Format::Csv => {
                    let path = escape_controls(path);
                    for f in &v.frames {
                        writeln!(
                            self.w,
                            "{},{},{path}#t={:.3}",
                            f.hash, f.quality, f.timestamp
                        )?;
                    }
                    Ok(())
                }
                Format::Vpdq => vigil_video::text::write_frames(&mut self.w, &v.frames),
                Format::Jsonl => {
                    let d = h.digests.as_ref();
                    let rec = VideoRecord {
                        path,
                        kind: "video",
                        vpdq_frames: v.frames.len(),
                        decoded_frames: v.info.decoded_frames,
                        frame_rate: v.info.frame_rate,
                        duration: v.duration(),
                        width: v.info.width,
                        height: v.info.height,
                        container: &v.info.container,
                        codec: &v.info.codec,
                        md5: d.map_or("", |d| &d.md5),
                        sha1: d.map_or("", |d| &d.sha1),
                        sha256: d.map_or("", |d| &d.sha256),
                        frames: self.frames.then(|| {
                            v.frames
                                .iter()
                                .map(|f| FrameRecord {
                                    frame: f.number,
                                    quality: f.quality,
                                    pdq: f.hash.to_hex(),
                                    // Rounded as printed: 3 decimals.
                                    timestamp: (f.timestamp * 1000.0).round() / 1000.0,
                                })
                                .collect()
                        }),
                    };
                    self.json_line(&rec)
                }
            },
        }
    }

    /// Writes the line of one failed input (jsonl only; csv lists only hashed files).
    pub(crate) fn failed(&mut self, path: &str, error: &str) -> io::Result<()> {
        match self.format {
            Format::Csv | Format::Vpdq => Ok(()),
            Format::Jsonl => self.json_line(&ErrorRecord { path, error }),
        }
    }

    /// Writes bytes as they are.
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.w.write_all(bytes)
    }

    fn json_line<T: Serialize>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, v).map_err(io::Error::from)?;
        self.w.write_all(b"\n")
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// One list entry within the threshold of a query (library values; written by [`MatchOutput`]).
#[derive(Debug, Clone)]
pub(crate) struct Hit<'a> {
    pub(crate) hash: vigil_core::Hash256,
    pub(crate) distance: u32,
    /// Which source (the `--list` set, then each `--index`) it came from: a sort key.
    pub(crate) source: usize,
    /// The list's number within its source: a sort key.
    pub(crate) list_no: u32,
    /// The list's name, as given.
    pub(crate) list: &'a str,
    /// 1-based line in the list.
    pub(crate) line: u64,
    /// With `--dihedral`: the variant (index in `vigil_pdq::Variant::ALL`) that matched.
    pub(crate) variant: Option<usize>,
    /// A bank hit: `list` is the bank's name and `line` the content item's id.
    pub(crate) bank: bool,
}

/// One query's result, as a jsonl line.
#[derive(Debug, Serialize)]
pub(crate) struct MatchRecord<'a> {
    /// The image path (lossy UTF-8), or the query hash (64 lowercase hex digits).
    pub(crate) query: &'a str,
    /// The image's PDQ hash; image queries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pdq: Option<String>,
    /// The image's PDQ quality, 0..=100; image queries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) quality: Option<u8>,
    /// Every list entry within the threshold, by distance, then list, then line.
    pub(crate) matches: Vec<MatchEntry<'a>>,
    /// Allow-list bank entries within their threshold: the query is a known false positive and
    /// its block matches are suppressed (`matches` is empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) allowed: Vec<MatchEntry<'a>>,
}

/// One match inside a [`MatchRecord`].
#[derive(Debug, Serialize)]
pub(crate) struct MatchEntry<'a> {
    /// The list's hash, 64 lowercase hex digits.
    pub(crate) hash: String,
    /// Hamming distance to the query.
    pub(crate) distance: u32,
    /// The list file, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) list: Option<&'a str>,
    /// 1-based line in the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u64>,
    /// The bank (bank matches, instead of `list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bank: Option<&'a str>,
    /// The bank's content item id (bank matches, instead of `line`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<u64>,
    /// With `--dihedral`: the query variant that matched (`orig`, `rot90`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) variant: Option<&'static str>,
}

/// A video query's result, as a jsonl line.
#[derive(Debug, Serialize)]
pub(crate) struct VideoMatchRecord<'a> {
    /// The video's path (lossy UTF-8).
    pub(crate) query: &'a str,
    /// Always `video`.
    pub(crate) kind: &'static str,
    /// Frames hashed in the query.
    pub(crate) vpdq_frames: usize,
    /// The known videos that match, best first (query percentage, then compared percentage).
    pub(crate) matches: Vec<VideoMatchEntry<'a>>,
}

/// One matching known video inside a [`VideoMatchRecord`].
#[derive(Debug, Serialize)]
pub(crate) struct VideoMatchEntry<'a> {
    /// The known video, as given to --videos (a file, or a file in a directory).
    pub(crate) video: &'a str,
    /// Share of the query's counted frames that have a partner in the video.
    pub(crate) query_match_percent: f64,
    /// Share of the video's counted frames that have a partner in the query.
    pub(crate) compared_match_percent: f64,
    /// Where they line up: query seconds ↔ video seconds.
    pub(crate) ranges: Vec<RangeRecord>,
}

/// An aligned stretch, in seconds (3 decimals).
#[derive(Debug, Serialize)]
pub(crate) struct RangeRecord {
    pub(crate) query_start: f64,
    pub(crate) query_end: f64,
    pub(crate) video_start: f64,
    pub(crate) video_end: f64,
    /// Matched query frames in the stretch.
    pub(crate) frames: usize,
}

/// A query that failed, as a jsonl line.
#[derive(Debug, Serialize)]
pub(crate) struct QueryErrorRecord<'a> {
    /// The image path, or `FILE:LINE` of a malformed `--hashes` line.
    pub(crate) query: &'a str,
    /// What failed, naming the input.
    pub(crate) error: &'a str,
}

/// Writes `vigil match` records in one format.
pub(crate) struct MatchOutput<W> {
    w: W,
    format: MatchFormat,
    dihedral: bool,
}

fn entry<'a>(h: &Hit<'a>) -> MatchEntry<'a> {
    MatchEntry {
        hash: h.hash.to_hex(),
        distance: h.distance,
        list: (!h.bank).then_some(h.list),
        line: (!h.bank).then_some(h.line),
        bank: h.bank.then_some(h.list),
        content: h.bank.then_some(h.line),
        variant: h.variant.map(variant_name),
    }
}

fn variant_name(v: usize) -> &'static str {
    vigil_pdq::Variant::ALL
        .get(v)
        .map_or("unknown", |v| v.name())
}

impl<W: Write> MatchOutput<W> {
    pub(crate) fn new(w: W, format: MatchFormat, dihedral: bool) -> Self {
        MatchOutput {
            w,
            format,
            dihedral,
        }
    }

    /// The csv header (nothing for jsonl).
    /// Whether rows are csv.
    pub(crate) fn is_csv(&self) -> bool {
        self.format == MatchFormat::Csv
    }

    pub(crate) fn header(&mut self) -> io::Result<()> {
        match self.format {
            MatchFormat::Jsonl => Ok(()),
            MatchFormat::Csv if self.dihedral => {
                writeln!(self.w, "query,hash,distance,list,line,variant")
            }
            MatchFormat::Csv => writeln!(self.w, "query,hash,distance,list,line"),
        }
    }

    /// Writes one query's matches (`pdq`: the image's hash, for image queries), or, when
    /// `allowed` is not empty, the allow-list hits that suppressed them (csv: no rows).
    pub(crate) fn matched(
        &mut self,
        query: &str,
        pdq: Option<&vigil_pdq::Pdq>,
        hits: &[Hit<'_>],
        allowed: &[Hit<'_>],
    ) -> io::Result<()> {
        let hits = if allowed.is_empty() { hits } else { &[] };
        match self.format {
            MatchFormat::Jsonl => {
                let rec = MatchRecord {
                    query,
                    pdq: pdq.map(|p| p.hash.to_hex()),
                    quality: pdq.map(|p| p.quality),
                    matches: hits.iter().map(entry).collect(),
                    allowed: allowed.iter().map(entry).collect(),
                };
                serde_json::to_writer(&mut self.w, &rec).map_err(io::Error::from)?;
                self.w.write_all(b"\n")
            }
            MatchFormat::Csv => {
                let q = csv_field(query);
                for h in hits {
                    let list = if h.bank {
                        Cow::Owned(format!("bank:{}", h.list))
                    } else {
                        Cow::Borrowed(h.list)
                    };
                    write!(
                        self.w,
                        "{q},{},{},{},{}",
                        h.hash,
                        h.distance,
                        csv_field(&list),
                        h.line
                    )?;
                    if self.dihedral {
                        write!(self.w, ",{}", h.variant.map_or("orig", variant_name))?;
                    }
                    self.w.write_all(b"\n")?;
                }
                Ok(())
            }
        }
    }

    /// Writes one failed query (jsonl only; csv has no row for it).
    /// Writes one video query's matches (jsonl; csv has no columns for them: an error line on
    /// stderr is the caller's).
    pub(crate) fn video_matched(&mut self, rec: &VideoMatchRecord<'_>) -> io::Result<()> {
        match self.format {
            MatchFormat::Jsonl => {
                serde_json::to_writer(&mut self.w, rec).map_err(io::Error::from)?;
                self.w.write_all(b"\n")
            }
            MatchFormat::Csv => Ok(()),
        }
    }

    pub(crate) fn failed(&mut self, query: &str, error: &str) -> io::Result<()> {
        match self.format {
            MatchFormat::Csv => Ok(()),
            MatchFormat::Jsonl => {
                serde_json::to_writer(&mut self.w, &QueryErrorRecord { query, error })
                    .map_err(io::Error::from)?;
                self.w.write_all(b"\n")
            }
        }
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// One csv field: control characters escaped, then quoted (quotes doubled) if it holds a comma
/// or a quote.
pub(crate) fn csv_field(s: &str) -> Cow<'_, str> {
    let s = escape_controls(s);
    if s.contains([',', '"']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        s
    }
}

/// Escapes control characters (`\n`, `\r`, `\t`, others as `\xNN` or `\u{NN}`) so that one record
/// stays one line.
pub(crate) fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        assert_eq!(csv_field("a/b.png"), "a/b.png");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\n"), "\"say \"\"hi\"\"\\n\"");
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape_controls("a/b c.png"), "a/b c.png");
        assert_eq!(
            escape_controls("a\nb\tc\x07\u{85}"),
            "a\\nb\\tc\\x07\\u{85}"
        );
    }
}
