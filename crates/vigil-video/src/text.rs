//! Text serialisations of a video's frame hashes, both ways.
//!
//! # The reference text format
//!
//! What Meta's vPDQ C++ tool writes (`outputVPDQFeatureToFile`) and the fixtures hold: one line
//! per hashed frame, `frame_number,quality,pdq_hex,timestamp`, the timestamp in seconds with
//! exactly 3 decimals (`%.3f`):
//!
//! ```text
//! 30,100,df83b48f2ad34d68169c36bc6d2f6b36ce5ed08701a301e9cbb9fc12f80b8154,1.000
//! ```
//!
//! [`write_frames`] writes it byte for byte as the reference does (lowercase hex, `\n` endings).
//! [`parse_frames`] and [`read_frames`] read it leniently in form, strictly in content:
//!
//! * four or more comma-separated fields (the reference loader needs at least four; extra
//!   fields are ignored), each trimmed of surrounding whitespace; a leading UTF-8 BOM, `\r\n`
//!   endings and blank lines are accepted, hex in either case;
//! * refused, with the 1-based line number, what is wrong and the line clipped to 80
//!   characters: a frame number that is not a non-negative integer, a quality outside
//!   0..=100, a hash that is not 64 hex digits, a timestamp that is negative, not finite or
//!   not a number; a line longer than [`MAX_LINE`] bytes; more than [`MAX_FRAMES`] frames.
//!
//! **A bad line fails the whole parse** ([`ParseError`]), unlike the hash-list parsers of
//! `vigil-exchange`, which skip a bad record and go on: a list of PDQ hashes minus one bad
//! line is still a list of good hashes, but a video hash minus a frame is a different video
//! hash (its match percentages change), so a partial result would be silently wrong.
//! Frame numbers are not required to increase (the reference does not check them either).
//! A timestamp of `-0` reads as `0`.
//!
//! # python-threatexchange's `vpdq` signal
//!
//! `vpdq_util.py` serialises a video hash as a JSON list of strings
//! `"<pdq_hex>,<quality>,<timestamp>"`, the timestamp formatted with Python's `f"{ts:.3}"`
//! (three *significant* digits: `1.0`, `30.0`, `12.3`, `0.0333`, `1e+02`; see
//! [`format_py_precision`]), written by `json.dumps` (`", "` between items). [`to_pytx_json`]
//! writes exactly that; [`from_pytx_json`] reads it with the same accept/refuse decisions as
//! `vigil-exchange`'s validation of a stored `vpdq` signal (`record.rs`, `normalise_vpdq`):
//! the whole value trimmed, a JSON list of strings, at least one, each split on `,` into exactly
//! three parts (each trimmed), a 64-hex-digit hash, an integer quality 0..=100, a finite
//! timestamp ≥ 0 without a leading `+`.
//!
//! The format carries no frame numbers: [`from_pytx_json`] numbers the frames 0, 1, 2, … in
//! list order. It also rounds timestamps to three significant digits (a frame at 123.4 s
//! reads back at 123 s), which matters only for reporting time ranges, never for matching.

use std::io::{self, BufRead, Read, Write};

use vigil_core::Hash256;

use crate::Frame;

/// The longest line [`parse_frames`] and [`read_frames`] accept, in bytes (without the line
/// ending). A reference line is about 90 bytes.
pub const MAX_LINE: usize = 4096;

/// The most frames [`parse_frames`], [`read_frames`] and [`from_pytx_json`] accept: 10 million
/// (over 92 hours of video hashed at every frame at 30 fps), so hostile input cannot make the
/// frame list exhaust memory.
pub const MAX_FRAMES: usize = 10_000_000;

/// Why a frame could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// Fewer fields than the format has.
    #[error("expected {expected} comma-separated fields, found {found}")]
    Fields {
        /// Fields the format needs (at least 4 in the text format, exactly 3 in pytx's).
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// The frame number is not a non-negative integer.
    #[error("the frame number is not a non-negative integer")]
    FrameNumber,
    /// The quality is not an integer in 0..=100.
    #[error("the quality is not an integer in 0..=100")]
    Quality,
    /// The hash is not 64 hex digits.
    #[error("the hash is not 64 hex digits")]
    Hash,
    /// The timestamp is not a finite, non-negative number of seconds.
    #[error("the timestamp is not a finite, non-negative number")]
    Timestamp,
}

/// Why a frame list in the reference text format could not be read. The whole list is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line is not a valid frame.
    #[error("line {line}: {problem}: {text:?}")]
    Line {
        /// The 1-based line number.
        line: u64,
        /// What is wrong.
        problem: Problem,
        /// The line, clipped to 80 characters.
        text: String,
    },
    /// A line is longer than [`MAX_LINE`] bytes.
    #[error("line {line}: longer than {MAX_LINE} bytes")]
    LineTooLong {
        /// The 1-based line number.
        line: u64,
    },
    /// A line is not UTF-8 ([`read_frames`] only; a `&str` always is).
    #[error("line {line}: not UTF-8")]
    NotUtf8 {
        /// The 1-based line number.
        line: u64,
    },
    /// The list has more than [`MAX_FRAMES`] frames.
    #[error("line {line}: more than {MAX_FRAMES} frames")]
    TooManyFrames {
        /// The 1-based line number of the first frame over the limit.
        line: u64,
    },
    /// The reader failed ([`read_frames`] only).
    #[error("reading line {line}: {source}")]
    Io {
        /// The 1-based line number being read.
        line: u64,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
}

/// Why a python-threatexchange `vpdq` signal could not be read. The whole signal is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PytxError {
    /// The value is not a JSON list of strings.
    #[error("vpdq {text:?}: not a JSON list of frame strings: {message}")]
    Json {
        /// The value, clipped to 80 characters.
        text: String,
        /// serde_json's description.
        message: String,
    },
    /// The list is empty.
    #[error("vpdq: no frames")]
    Empty,
    /// The list has more than [`MAX_FRAMES`] frames.
    #[error("vpdq: more than {MAX_FRAMES} frames")]
    TooManyFrames,
    /// A frame string is not valid.
    #[error("vpdq frame {index} {text:?}: {problem}")]
    Frame {
        /// The frame's 0-based position in the list.
        index: usize,
        /// What is wrong.
        problem: Problem,
        /// The frame string, clipped to 80 characters.
        text: String,
    },
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Writes frames in the reference text format, one `number,quality,hex,timestamp` line each,
/// the timestamp with 3 decimals rounded as C's `%.3f` does (to nearest, ties to even on the
/// exact binary value; a timestamp of -0 is written as `0.000`).
pub fn write_frames(mut w: impl Write, frames: &[Frame]) -> io::Result<()> {
    for f in frames {
        // `+ 0.0` turns -0 into 0: "-0.000" would not read back as itself.
        writeln!(
            w,
            "{},{},{},{:.3}",
            f.number,
            f.quality,
            f.hash,
            f.timestamp + 0.0
        )?;
    }
    Ok(())
}

/// Parses a whole frame list in the reference text format; see the module docs for what is
/// accepted. All or nothing: the first bad line is the error.
pub fn parse_frames(text: &str) -> Result<Vec<Frame>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut frames = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i as u64 + 1;
        if line.strip_suffix('\r').unwrap_or(line).len() > MAX_LINE {
            return Err(ParseError::LineTooLong { line: n });
        }
        push_line(&mut frames, line, n)?;
    }
    Ok(frames)
}

/// [`parse_frames`] from a reader, one line at a time: memory holds one line (at most
/// [`MAX_LINE`] bytes are buffered before a long line is refused) plus the frames.
pub fn read_frames(mut r: impl BufRead) -> Result<Vec<Frame>, ParseError> {
    let mut frames = Vec::new();
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        n += 1;
        buf.clear();
        // One byte over the limit, plus room for "\r\n", tells a long line from a full one.
        let got = r
            .by_ref()
            .take(MAX_LINE as u64 + 3)
            .read_until(b'\n', &mut buf)
            .map_err(|source| ParseError::Io { line: n, source })?;
        if got == 0 {
            return Ok(frames);
        }
        let ended = buf.last() == Some(&b'\n');
        let mut line = &buf[..];
        if ended {
            line = &line[..line.len() - 1];
        }
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if line.len() > MAX_LINE {
            return Err(ParseError::LineTooLong { line: n });
        }
        if n == 1 {
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8 { line: n })?;
        push_line(&mut frames, line, n)?;
        if !ended {
            return Ok(frames);
        }
    }
}

fn push_line(frames: &mut Vec<Frame>, line: &str, n: u64) -> Result<(), ParseError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(());
    }
    let frame = parse_line(line).map_err(|problem| ParseError::Line {
        line: n,
        problem,
        text: clip(line),
    })?;
    if frames.len() >= MAX_FRAMES {
        return Err(ParseError::TooManyFrames { line: n });
    }
    frames.push(frame);
    Ok(())
}

fn parse_line(line: &str) -> Result<Frame, Problem> {
    let mut fields = line.split(',').map(str::trim);
    let (Some(number), Some(quality), Some(hex), Some(ts)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Problem::Fields {
            expected: 4,
            found: line.split(',').count(),
        });
    };
    let number: u64 = number.parse().map_err(|_| Problem::FrameNumber)?;
    let quality = parse_quality(quality)?;
    let hash = Hash256::from_hex(hex).map_err(|_| Problem::Hash)?;
    let timestamp: f64 = ts.parse().map_err(|_| Problem::Timestamp)?;
    if !(timestamp.is_finite() && timestamp >= 0.0) {
        return Err(Problem::Timestamp);
    }
    Ok(Frame {
        number,
        quality,
        hash,
        // `-0.0 + 0.0` is `+0.0`, so "-0" is not written back as "-0.000".
        timestamp: timestamp + 0.0,
    })
}

fn parse_quality(s: &str) -> Result<u8, Problem> {
    s.parse::<u8>()
        .ok()
        .filter(|q| *q <= 100)
        .ok_or(Problem::Quality)
}

/// Formats `x` as Python's `format(x, f".{precision}")` (`f"{x:.3}"` for precision 3): a
/// float format spec with a precision and no presentation type.
///
/// That is `'g'` with a twist: the value is rounded to `precision` significant digits
/// (correctly, ties to even on the exact binary value; a precision of 0 counts as 1);
/// scientific notation is used when the decimal exponent `e` is below −4 or at least
/// `precision − 1` (not `precision`, as in `'g'`); trailing zeros are removed, but a
/// fixed-point result always keeps one digit after the point; the exponent has a sign and at
/// least two digits. So with precision 3: `0.0` → `0.0`, `30.0` → `30.0`, `12.345` → `12.3`,
/// `0.0333` → `0.0333`, `100.0` → `1e+02`, `123.4` → `1.23e+02`, `1e-05` → `1e-05`.
pub fn format_py_precision(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let p = precision.max(1);
    // Rust's `{:.Ne}` gives the correctly rounded digits and the exponent after rounding.
    let sci = format!("{:.*e}", p - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    let decpt = exp + 1; // digits "d1d2…" mean 0.d1d2… × 10^decpt
    if decpt <= -4 || decpt > p as i64 - 1 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{sign}{:02}", exp.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-decpt) as usize));
        out.push_str(&digits);
    } else {
        let decpt = decpt as usize;
        if decpt >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', decpt - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt]);
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
    }
    out
}

/// python-threatexchange's `vpdq` signal for these frames: `json.dumps` of the strings
/// `"<hex>,<quality>,<timestamp:.3>"` (see the module docs; -0 is written as `0.0`). Frame
/// numbers are not part of it. As in Python, a timestamp within 0.3 % of the largest double
/// rounds up to `1.8e+308`, which does not read back (no video is that long).
/// An empty list gives `[]`, which [`from_pytx_json`] refuses (a stored signal needs a frame).
pub fn to_pytx_json(frames: &[Frame]) -> String {
    let mut out = String::with_capacity(2 + frames.len() * 80);
    out.push('[');
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Plain ASCII without quotes or backslashes: nothing to escape.
        out.push('"');
        out.push_str(&format!(
            "{},{},{}",
            f.hash,
            f.quality,
            format_py_precision(f.timestamp + 0.0, 3)
        ));
        out.push('"');
    }
    out.push(']');
    out
}

/// Reads python-threatexchange's `vpdq` signal (see the module docs for what is accepted).
/// Frames are numbered 0, 1, 2, … in list order, as the format has no frame numbers.
pub fn from_pytx_json(s: &str) -> Result<Vec<Frame>, PytxError> {
    let s = s.trim();
    let strings: Vec<String> = serde_json::from_str(s).map_err(|e| PytxError::Json {
        text: clip(s),
        message: e.to_string(),
    })?;
    if strings.is_empty() {
        return Err(PytxError::Empty);
    }
    if strings.len() > MAX_FRAMES {
        return Err(PytxError::TooManyFrames);
    }
    let mut frames = Vec::with_capacity(strings.len());
    for (index, f) in strings.iter().enumerate() {
        let frame = parse_pytx_frame(f, index as u64).map_err(|problem| PytxError::Frame {
            index,
            problem,
            text: clip(f),
        })?;
        frames.push(frame);
    }
    Ok(frames)
}

fn parse_pytx_frame(f: &str, number: u64) -> Result<Frame, Problem> {
    let parts: Vec<&str> = f.split(',').map(str::trim).collect();
    let [hex, quality, ts] = parts[..] else {
        return Err(Problem::Fields {
            expected: 3,
            found: parts.len(),
        });
    };
    let hash = Hash256::from_hex(hex).map_err(|_| Problem::Hash)?;
    let quality = parse_quality(quality)?;
    let timestamp: f64 = ts.parse().map_err(|_| Problem::Timestamp)?;
    if !(timestamp.is_finite() && timestamp >= 0.0) || ts.starts_with('+') {
        return Err(Problem::Timestamp);
    }
    Ok(Frame {
        number,
        quality,
        hash,
        timestamp: timestamp + 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_precision_examples() {
        for (x, want) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (30.0, "30.0"),
            (12.345, "12.3"),
            (0.0333, "0.0333"),
            (100.0, "1e+02"),
            (123.4, "1.23e+02"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (99.95, "1e+02"),
            (9.995, "9.99"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(format_py_precision(x, 3), want, "{x:?}");
        }
        assert_eq!(format_py_precision(0.0, 1), "0e+00");
        assert_eq!(format_py_precision(30.0, 2), "3e+01");
    }
}
