//! The format-neutral record model every exchange format reads into and writes from.
//!
//! A [`Record`] is one content item (an image, a video, …) with its [`Signal`]s (hashes) and what
//! lists say about it: external ids, a [`Category`] *together with the scheme it belongs to*,
//! tags, the collaboration or member it came from, timestamps, the VICS [`Flags`], and an
//! `extra` map for the fields a format carries that the model does not, so that a record read
//! from a format and written back to the same format is unchanged. A [`Deletion`] is a
//! format's notice that an entry was withdrawn.
//!
//! Values are validated and normalised when a [`Signal`] is made ([`Signal::new`]): hex hashes
//! are lower-cased and must have their exact length (a PDQ hash is checked as a
//! [`vigil_core::Hash256`]), so two lists spelling one hash differently give equal records.
//! Empty strings mean "absent": parsers never produce `Some("")`.
//!
//! **Invariant:** this module knows no format. Formats keep their own field names in `extra`
//! under a prefix (`vics.`, `ncmec.`, `pytx.`) and document what they put there.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};
use vigil_core::Hash256;

use crate::error::{Location, RecordError};

/// The longest signal value accepted, in bytes (a vPDQ signal lists every frame, so it can be
/// long; hashes are far shorter).
pub const MAX_SIGNAL_LEN: usize = 4 * 1024 * 1024;

/// The kind of a signal (hash). Names follow python-threatexchange where it has one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    /// PDQ: 256 bits as 64 hex digits (`pdq`).
    Pdq,
    /// MD5 of the file's bytes: 32 hex digits (`md5`; python-threatexchange's `video_md5` is
    /// this kind on a video).
    Md5,
    /// SHA-1 of the file's bytes: 40 hex digits (`sha1`).
    Sha1,
    /// SHA-256 of the file's bytes: 64 hex digits (`sha256`; python-threatexchange's
    /// `video_sha256` is this kind on a video).
    Sha256,
    /// vPDQ (`vpdq`): python-threatexchange's serialisation, a JSON array of
    /// `"<pdq hex>,<quality 0-100>,<timestamp seconds>"` strings, one per frame.
    Vpdq,
    /// Any other kind, kept under its name (for example `photodna`, `tmk_pdqf`, `raw_text`):
    /// ASCII letters, digits, `_`, `.` and `-`, starting with a letter. Never one of the names
    /// above: [`SignalKind::from_name`] and [`Signal::new`] turn those into their variant.
    Other(String),
}

/// The name under which PhotoDNA signals are kept ([`SignalKind::Other`]), as in
/// python-threatexchange. Values are kept as the format spells them (VICS: base64).
pub const PHOTODNA: &str = "photodna";

impl SignalKind {
    /// The kind for a name: `pdq`, `md5`, `sha1`, `sha256`, `vpdq`, else [`SignalKind::Other`]
    /// (case-sensitive, as python-threatexchange's names are).
    pub fn from_name(name: &str) -> SignalKind {
        match name {
            "pdq" => SignalKind::Pdq,
            "md5" => SignalKind::Md5,
            "sha1" => SignalKind::Sha1,
            "sha256" => SignalKind::Sha256,
            "vpdq" => SignalKind::Vpdq,
            _ => SignalKind::Other(name.to_string()),
        }
    }

    /// The kind's name (the inverse of [`SignalKind::from_name`]).
    pub fn name(&self) -> &str {
        match self {
            SignalKind::Pdq => "pdq",
            SignalKind::Md5 => "md5",
            SignalKind::Sha1 => "sha1",
            SignalKind::Sha256 => "sha256",
            SignalKind::Vpdq => "vpdq",
            SignalKind::Other(name) => name,
        }
    }

    /// The number of hex digits of a fixed-length hex kind.
    fn hex_len(&self) -> Option<usize> {
        match self {
            SignalKind::Pdq | SignalKind::Sha256 => Some(64),
            SignalKind::Md5 => Some(32),
            SignalKind::Sha1 => Some(40),
            _ => None,
        }
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether `name` is acceptable as a [`SignalKind::Other`] name.
pub(crate) fn valid_kind_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

/// A signal value that was rejected by [`Signal::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSignal(pub String);

/// One signal (hash) of a record: its kind and its value, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal {
    kind: SignalKind,
    value: String,
}

impl Signal {
    /// Validates and normalises a value of the given kind.
    ///
    /// Surrounding whitespace is removed. Hex kinds must have exactly their number of hex digits
    /// (either case; stored lower-case). A vPDQ value must be python-threatexchange's JSON list
    /// of frames (it is stored re-serialised the way Python's `json.dumps` writes it, with hex
    /// lower-cased). Other kinds need a valid name and a non-empty value without control
    /// characters other than tab. [`SignalKind::Other`] with a known name becomes that kind.
    pub fn new(kind: SignalKind, value: &str) -> Result<Signal, InvalidSignal> {
        let kind = match kind {
            SignalKind::Other(name) => {
                let known = SignalKind::from_name(&name);
                if let SignalKind::Other(name) = &known
                    && !valid_kind_name(name)
                {
                    return Err(InvalidSignal(format!(
                        "signal type {:?} is not a valid name (letters, digits, '_', '.', '-')",
                        clip(name)
                    )));
                }
                known
            }
            k => k,
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(InvalidSignal(format!("{kind}: empty value")));
        }
        if v.len() > MAX_SIGNAL_LEN {
            return Err(InvalidSignal(format!(
                "{kind}: value is longer than {MAX_SIGNAL_LEN} bytes"
            )));
        }
        let value = match &kind {
            SignalKind::Pdq => match Hash256::from_hex(v) {
                Ok(h) => h.to_hex(),
                Err(_) => return Err(InvalidSignal(hex_message(&kind, v, 64))),
            },
            k if k.hex_len().is_some() => {
                let n = k.hex_len().unwrap_or(0);
                if v.len() != n || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(InvalidSignal(hex_message(k, v, n)));
                }
                v.to_ascii_lowercase()
            }
            SignalKind::Vpdq => normalise_vpdq(v)?,
            _ => {
                if let Some(c) = v.chars().find(|&c| c.is_control() && c != '\t') {
                    return Err(InvalidSignal(format!(
                        "{kind}: value contains the control character {c:?}"
                    )));
                }
                v.to_string()
            }
        };
        Ok(Signal { kind, value })
    }

    /// A PDQ signal from a hash (never fails).
    pub fn from_pdq(hash: Hash256) -> Signal {
        Signal {
            kind: SignalKind::Pdq,
            value: hash.to_hex(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> &SignalKind {
        &self.kind
    }

    /// The normalised value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The hash of a PDQ signal.
    pub fn pdq(&self) -> Option<Hash256> {
        match self.kind {
            SignalKind::Pdq => Hash256::from_hex(&self.value).ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.value)
    }
}

/// At most 80 characters of `s`, for error messages.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(77).collect();
        t.push_str("...");
        t
    }
}

fn hex_message(kind: &SignalKind, v: &str, n: usize) -> String {
    match v.chars().find(|c| !c.is_ascii_hexdigit()) {
        Some(c) => format!("{kind} {:?}: {c:?} is not a hex digit", clip(v)),
        None => format!(
            "{kind} {:?}: expected {n} hex digits, found {}",
            clip(v),
            v.len()
        ),
    }
}

/// Checks python-threatexchange's vPDQ serialisation (`vpdq_util.py`: `json.dumps` of
/// `"{pdq_hex},{quality},{timestamp:.3}"` strings) and writes it back in that canonical form.
fn normalise_vpdq(v: &str) -> Result<String, InvalidSignal> {
    let frames: Vec<String> = serde_json::from_str(v).map_err(|e| {
        InvalidSignal(format!(
            "vpdq {:?}: not a JSON list of frame strings: {e}",
            clip(v)
        ))
    })?;
    if frames.is_empty() {
        return Err(InvalidSignal("vpdq: no frames".to_string()));
    }
    let mut out = Vec::with_capacity(frames.len());
    for (i, f) in frames.iter().enumerate() {
        let bad = |why: &str| InvalidSignal(format!("vpdq frame {i} {:?}: {why}", clip(f)));
        let parts: Vec<&str> = f.split(',').map(str::trim).collect();
        let [hex, quality, ts] = parts[..] else {
            return Err(bad("expected \"<pdq hex>,<quality>,<timestamp>\""));
        };
        let hash = Hash256::from_hex(hex).map_err(|_| bad("not a 64-hex-digit PDQ hash"))?;
        let q: u8 = quality
            .parse()
            .ok()
            .filter(|q| *q <= 100)
            .ok_or_else(|| bad("quality is not an integer in 0..=100"))?;
        let t: Option<f64> = ts.parse().ok();
        if !t.is_some_and(|t| t.is_finite() && t >= 0.0) || ts.starts_with('+') {
            return Err(bad("timestamp is not a non-negative number"));
        }
        out.push(format!("{hash},{q},{ts}"));
    }
    // `json.dumps` separates items with ", "; each item is plain ASCII, so quoting is trivial.
    let items: Vec<String> = out.iter().map(|s| format!("\"{s}\"")).collect();
    Ok(format!("[{}]", items.join(", ")))
}

/// What kind of content a record is about, where the format says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentType {
    /// A still image (python-threatexchange's `photo`; NCMEC `image`).
    Photo,
    /// A video.
    Video,
    /// Anything else, by name.
    Other(String),
}

/// Which VICS category scheme a file uses. The two give the same numbers different meanings
/// (US 0 is non-pertinent, legacy 0 is uncategorised), so it is never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VicsScheme {
    /// Project VIC US (VICS 2.0 `US` data model), 0–4: 0 non-pertinent, 1 child abuse material
    /// (CAM), 2 child exploitive (non-CAM) / age difficult, 3 CGI/animation, 4 comparison images.
    UsV2,
    /// The legacy (DHS) scheme, 0–5: 0 uncategorised, 1 illegal, 2 age difficult, 3 CGI,
    /// 4 exemplar/comparison, 5 non-pertinent.
    Legacy,
}

impl VicsScheme {
    /// The largest category number of the scheme.
    pub fn max(self) -> u8 {
        match self {
            VicsScheme::UsV2 => 4,
            VicsScheme::Legacy => 5,
        }
    }

    /// The [`CategoryScheme`] of this VICS scheme.
    pub fn category_scheme(self) -> CategoryScheme {
        match self {
            VicsScheme::UsV2 => CategoryScheme::VicsUs,
            VicsScheme::Legacy => CategoryScheme::VicsLegacy,
        }
    }
}

/// The scheme a category value belongs to: the same value means different things in different
/// schemes, so a [`Category`] always carries both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CategoryScheme {
    /// Project VIC US, values `"0"`..=`"4"` (see [`VicsScheme::UsV2`]).
    VicsUs,
    /// Legacy DHS/VICS, values `"0"`..=`"5"` (see [`VicsScheme::Legacy`]).
    VicsLegacy,
    /// python-threatexchange's opinion category: `NEGATIVE_CLASS`, `INVESTIGATION_SEED` or
    /// `POSITIVE_CLASS`.
    Pytx,
    /// NCMEC's classification string (for example `A1`), kept as sent.
    Ncmec,
    /// Any other scheme, by name.
    Other(String),
}

/// python-threatexchange's opinion categories, in their numeric order.
pub const PYTX_CATEGORIES: [&str; 3] = ["NEGATIVE_CLASS", "INVESTIGATION_SEED", "POSITIVE_CLASS"];

const VICS_US_LABELS: [&str; 5] = [
    "non-pertinent",
    "child abuse material (CAM)",
    "child exploitive (non-CAM) / age difficult",
    "CGI/animation: child exploitive",
    "comparison images",
];
const VICS_LEGACY_LABELS: [&str; 6] = [
    "uncategorized",
    "illegal",
    "age difficult",
    "CGI",
    "exemplar/comparison",
    "non-pertinent",
];

/// A category: the original value and the scheme it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category {
    /// The scheme.
    pub scheme: CategoryScheme,
    /// The value as the scheme writes it (VICS: the decimal number).
    pub value: String,
}

impl Category {
    /// A VICS category, or `None` when `n` is out of the scheme's range.
    pub fn vics(scheme: VicsScheme, n: u8) -> Option<Category> {
        (n <= scheme.max()).then(|| Category {
            scheme: scheme.category_scheme(),
            value: n.to_string(),
        })
    }

    /// The scheme and number of a valid VICS category.
    pub fn vics_number(&self) -> Option<(VicsScheme, u8)> {
        let scheme = match self.scheme {
            CategoryScheme::VicsUs => VicsScheme::UsV2,
            CategoryScheme::VicsLegacy => VicsScheme::Legacy,
            _ => return None,
        };
        let n: u8 = self.value.parse().ok()?;
        (n <= scheme.max() && n.to_string() == self.value).then_some((scheme, n))
    }

    /// This VICS category in the scheme `to`: itself when already there, else the category of
    /// the same meaning (US 0 ⇔ legacy 5, US 1–4 ⇔ legacy 1–4). `None` for a category that is
    /// not VICS, and for legacy 0 ("uncategorized"), which has no US value (US leaves it null).
    pub fn to_vics(&self, to: VicsScheme) -> Option<Category> {
        let (from, n) = self.vics_number()?;
        let m = match (from, to) {
            (a, b) if a == b => n,
            (VicsScheme::UsV2, VicsScheme::Legacy) => {
                if n == 0 {
                    5
                } else {
                    n
                }
            }
            (VicsScheme::Legacy, VicsScheme::UsV2) => match n {
                0 => return None,
                5 => 0,
                n => n,
            },
            _ => return None,
        };
        Category::vics(to, m)
    }

    /// A python-threatexchange category, or `None` for a name that is not one.
    pub fn pytx(name: &str) -> Option<Category> {
        PYTX_CATEGORIES.contains(&name).then(|| Category {
            scheme: CategoryScheme::Pytx,
            value: name.to_string(),
        })
    }

    /// Whether the value is one its scheme has (any non-empty value for NCMEC and other
    /// schemes).
    pub fn is_valid(&self) -> bool {
        match self.scheme {
            CategoryScheme::VicsUs | CategoryScheme::VicsLegacy => self.vics_number().is_some(),
            CategoryScheme::Pytx => PYTX_CATEGORIES.contains(&self.value.as_str()),
            CategoryScheme::Ncmec | CategoryScheme::Other(_) => !self.value.is_empty(),
        }
    }

    /// A short English meaning of a VICS category.
    pub fn label(&self) -> Option<&'static str> {
        let (scheme, n) = self.vics_number()?;
        Some(match scheme {
            VicsScheme::UsV2 => VICS_US_LABELS[n as usize],
            VicsScheme::Legacy => VICS_LEGACY_LABELS[n as usize],
        })
    }
}

/// A timestamp as a list wrote it: the text is kept (so writing gives it back unchanged) beside
/// the instant it means, which orders timestamps.
///
/// Accepted: RFC 3339 (`2017-10-24T15:00:00Z`, `…T15:00:00.123+02:00`), and the same without an
/// offset (`2017-10-24T15:00:00`, as older OData writes `Edm.DateTime`), which is taken as UTC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    nanos: i128,
}

/// A timestamp that [`Timestamp::parse`] rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {0:?} is not RFC 3339 (YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm])")]
pub struct InvalidTimestamp(pub String);

impl Timestamp {
    /// Parses a timestamp (surrounding whitespace removed).
    pub fn parse(s: &str) -> Result<Timestamp, InvalidTimestamp> {
        let t = s.trim();
        let nanos = if let Ok(dt) = OffsetDateTime::parse(t, &Rfc3339) {
            dt.unix_timestamp_nanos()
        } else {
            let fmt = format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
            );
            match PrimitiveDateTime::parse(t, &fmt) {
                Ok(dt) => dt.assume_utc().unix_timestamp_nanos(),
                Err(_) => return Err(InvalidTimestamp(clip(t))),
            }
        };
        Ok(Timestamp {
            text: t.to_string(),
            nanos,
        })
    }

    /// The UTC timestamp of `unix_seconds`, written as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn from_unix_seconds(unix_seconds: i64) -> Option<Timestamp> {
        let dt = OffsetDateTime::from_unix_timestamp(unix_seconds).ok()?;
        let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        let text = dt.format(&fmt).ok()?;
        Some(Timestamp {
            text,
            nanos: dt.unix_timestamp_nanos(),
        })
    }

    /// The text, as read.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.nanos
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Timestamp {
    /// By instant, then by text (so that `Ord` agrees with `Eq`).
    fn cmp(&self, other: &Self) -> Ordering {
        (self.nanos, &self.text).cmp(&(other.nanos, &other.text))
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// VICS's yes/no facts about a media item (`None`: not said).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// `VictimIdentified`.
    pub victim_identified: Option<bool>,
    /// `OffenderIdentified`.
    pub offender_identified: Option<bool>,
    /// `IsDistributed`.
    pub distributed: Option<bool>,
    /// `IsPrecategorized` (exporters set it inconsistently: read `category`, not this).
    pub precategorized: Option<bool>,
    /// `IsSuspected`.
    pub suspected: Option<bool>,
    /// `SelfGenerated`.
    pub self_generated: Option<bool>,
}

impl Flags {
    /// The flags with their VICS names, in a fixed order.
    pub fn named(&self) -> [(&'static str, Option<bool>); 6] {
        [
            ("VictimIdentified", self.victim_identified),
            ("OffenderIdentified", self.offender_identified),
            ("IsDistributed", self.distributed),
            ("IsPrecategorized", self.precategorized),
            ("IsSuspected", self.suspected),
            ("SelfGenerated", self.self_generated),
        ]
    }

    /// The flag with this VICS name (ASCII case-insensitive), for setting.
    pub fn by_name_mut(&mut self, name: &str) -> Option<&mut Option<bool>> {
        let all = [
            ("VictimIdentified", &mut self.victim_identified),
            ("OffenderIdentified", &mut self.offender_identified),
            ("IsDistributed", &mut self.distributed),
            ("IsPrecategorized", &mut self.precategorized),
            ("IsSuspected", &mut self.suspected),
            ("SelfGenerated", &mut self.self_generated),
        ];
        all.into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| f)
    }
}

/// One content item and what a list says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The signals (hashes), in the order the list gave them.
    pub signals: Vec<Signal>,
    /// External ids (VICS `MediaID`, NCMEC entry id): one as read, several after
    /// [`Record::merge`] joins the entries of one file.
    pub ids: Vec<String>,
    /// What kind of content, where the format says.
    pub content: Option<ContentType>,
    /// A URI for the content, where a format has one.
    pub uri: Option<String>,
    /// A free-text note (VICS `Comments`).
    pub note: Option<String>,
    /// The category and its scheme.
    pub category: Option<Category>,
    /// Tags, in order, without duplicates being removed.
    pub tags: Vec<String>,
    /// The collaboration, member or list it came from (pytx `collab`, NCMEC member name).
    pub source: Option<String>,
    /// A series name (VICS `Series`).
    pub series: Option<String>,
    /// When the content was first seen.
    pub first_seen: Option<Timestamp>,
    /// When the content was last seen.
    pub last_seen: Option<Timestamp>,
    /// When the entry was last updated (VICS `DateUpdated`, NCMEC `timestamp`).
    pub updated: Option<Timestamp>,
    /// VICS flags.
    pub flags: Flags,
    /// Fields the model does not have, by format-prefixed name (`vics.MimeType`), with the
    /// format's own text for the value (for VICS, the JSON text).
    pub extra: BTreeMap<String, String>,
}

/// Two records that [`Record::merge`] could not join without losing a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} differs: {ours} and {theirs}")]
pub struct MergeConflict {
    /// The field (model name, or the `extra` key).
    pub field: String,
    /// The value in the record merged into, as text for people.
    pub ours: String,
    /// The value in the other record, as text for people.
    pub theirs: String,
}

/// How a field's value appears in a [`MergeConflict`].
trait Shown {
    fn shown(&self) -> String;
}

impl Shown for String {
    fn shown(&self) -> String {
        format!("{self:?}")
    }
}

impl Shown for bool {
    fn shown(&self) -> String {
        self.to_string()
    }
}

impl Shown for ContentType {
    fn shown(&self) -> String {
        format!("{self:?}")
    }
}

impl Shown for Category {
    fn shown(&self) -> String {
        format!("{} ({:?})", self.value, self.scheme)
    }
}

impl Record {
    /// A record with just these signals.
    pub fn with_signals(signals: impl IntoIterator<Item = Signal>) -> Record {
        Record {
            signals: signals.into_iter().collect(),
            ..Record::default()
        }
    }

    /// The first signal of a kind.
    pub fn signal(&self, kind: &SignalKind) -> Option<&Signal> {
        self.signals.iter().find(|s| &s.kind == kind)
    }

    /// Joins `other` (another entry for the same content) into a copy of `self`, losing nothing:
    ///
    /// * signals, ids and tags: the union, in order of first appearance;
    /// * `updated` and `last_seen`: the later; `first_seen`: the earlier;
    /// * every other field, flags included: equal, or set on one side only;
    /// * `extra`: equal or on one side only, or else `merge_extra(key, ours, theirs)` decides
    ///   (`None`: a conflict).
    ///
    /// Any other difference is a [`MergeConflict`] and nothing is merged.
    pub fn merge(
        &self,
        other: &Record,
        merge_extra: &dyn Fn(&str, &str, &str) -> Option<String>,
    ) -> Result<Record, MergeConflict> {
        fn same<T: PartialEq + Clone + Shown>(
            field: &str,
            a: &Option<T>,
            b: &Option<T>,
        ) -> Result<Option<T>, MergeConflict> {
            match (a, b) {
                (Some(x), Some(y)) if x != y => Err(MergeConflict {
                    field: field.to_string(),
                    ours: x.shown(),
                    theirs: y.shown(),
                }),
                (Some(x), _) => Ok(Some(x.clone())),
                (None, y) => Ok(y.clone()),
            }
        }
        fn union<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
            let mut out = a.to_vec();
            for x in b {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            out
        }
        let mut flags = Flags::default();
        let (fa, fb) = (self.flags.named(), other.flags.named());
        for ((name, a), (_, b)) in fa.iter().zip(fb.iter()) {
            let v = same(name, a, b)?;
            if let Some(slot) = flags.by_name_mut(name) {
                *slot = v;
            }
        }
        let mut extra = self.extra.clone();
        for (k, theirs) in &other.extra {
            match extra.get(k) {
                None => {
                    extra.insert(k.clone(), theirs.clone());
                }
                Some(ours) if ours == theirs => {}
                Some(ours) => match merge_extra(k, ours, theirs) {
                    Some(v) => {
                        extra.insert(k.clone(), v);
                    }
                    None => {
                        return Err(MergeConflict {
                            field: k.clone(),
                            ours: ours.shown(),
                            theirs: theirs.shown(),
                        });
                    }
                },
            }
        }
        Ok(Record {
            signals: union(&self.signals, &other.signals),
            ids: union(&self.ids, &other.ids),
            content: same("content", &self.content, &other.content)?,
            uri: same("uri", &self.uri, &other.uri)?,
            note: same("note", &self.note, &other.note)?,
            category: same("category", &self.category, &other.category)?,
            tags: union(&self.tags, &other.tags),
            source: same("source", &self.source, &other.source)?,
            series: same("series", &self.series, &other.series)?,
            first_seen: min_opt(&self.first_seen, &other.first_seen),
            last_seen: max_opt(&self.last_seen, &other.last_seen),
            updated: max_opt(&self.updated, &other.updated),
            flags,
            extra,
        })
    }
}

fn max_opt(a: &Option<Timestamp>, b: &Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y).clone()),
        (x, y) => x.clone().or_else(|| y.clone()),
    }
}

fn min_opt(a: &Option<Timestamp>, b: &Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y).clone()),
        (x, y) => x.clone().or_else(|| y.clone()),
    }
}

/// A list's notice that an entry was withdrawn: by external id, by signal, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deletion {
    /// The external id of the withdrawn entry.
    pub id: Option<String>,
    /// The withdrawn signal.
    pub signal: Option<Signal>,
    /// What kind of content the entry was about.
    pub content: Option<ContentType>,
    /// Who withdrew it (collaboration or member name).
    pub source: Option<String>,
    /// When.
    pub at: Option<Timestamp>,
    /// Fields the model does not have (as in [`Record::extra`]).
    pub extra: BTreeMap<String, String>,
}

/// Something read, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// Where in the input.
    pub location: Location,
    /// What was read.
    pub value: T,
}

/// One step of a streaming reader: a record, or a record that was skipped.
// Records are the common case, so boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A record.
    Record(Located<Record>),
    /// A skipped record.
    Malformed(RecordError),
}

/// Everything read from one input: the records, in input order, and the records skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    /// The records read.
    pub records: Vec<Located<Record>>,
    /// The records skipped, in input order.
    pub errors: Vec<RecordError>,
}

impl Records {
    pub(crate) fn push(&mut self, item: Item) {
        match item {
            Item::Record(r) => self.records.push(r),
            Item::Malformed(e) => self.errors.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_normalise_and_reject() {
        let s = Signal::new(SignalKind::Md5, " D41D8CD98F00B204E9800998ECF8427E ").unwrap();
        assert_eq!(s.value(), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(
            Signal::new(SignalKind::Md5, "d41d8cd98f00b204e9800998ecf8427")
                .unwrap_err()
                .0
                .contains("expected 32 hex digits, found 31")
        );
        assert!(
            Signal::new(SignalKind::Sha1, "zz")
                .unwrap_err()
                .0
                .contains("'z' is not a hex digit")
        );
        let s = Signal::new(SignalKind::Other("pdq".into()), &"AB".repeat(32)).unwrap();
        assert_eq!(s.kind(), &SignalKind::Pdq);
        assert_eq!(s.value(), "ab".repeat(32));
        assert!(s.pdq().is_some());
        assert!(Signal::new(SignalKind::Other("has space".into()), "x").is_err());
        assert!(Signal::new(SignalKind::Other("photodna".into()), "a\nb").is_err());
        assert!(Signal::new(SignalKind::Other("photodna".into()), "   ").is_err());
    }

    #[test]
    fn vpdq_is_checked_and_canonical() {
        let h = "AB".repeat(32);
        let v = format!("[\"{h},100,0.000\",\"{h}, 7 ,1.5\"]");
        let s = Signal::new(SignalKind::Vpdq, &v).unwrap();
        let l = "ab".repeat(32);
        assert_eq!(s.value(), format!("[\"{l},100,0.000\", \"{l},7,1.5\"]"));
        assert_eq!(Signal::new(SignalKind::Vpdq, s.value()).unwrap(), s);
        for bad in ["[]", "x", "[\"a,1,1\"]", &format!("[\"{h},101,0\"]")] {
            assert!(Signal::new(SignalKind::Vpdq, bad).is_err(), "{bad}");
        }
        assert!(Signal::new(SignalKind::Vpdq, &format!("[\"{h},1,-1\"]")).is_err());
    }

    #[test]
    fn vics_categories_convert_by_meaning() {
        let us0 = Category::vics(VicsScheme::UsV2, 0).unwrap();
        assert_eq!(us0.label(), Some("non-pertinent"));
        let l5 = us0.to_vics(VicsScheme::Legacy).unwrap();
        assert_eq!(l5.value, "5");
        assert_eq!(l5.label(), Some("non-pertinent"));
        assert_eq!(l5.to_vics(VicsScheme::UsV2), Some(us0));
        assert_eq!(
            Category::vics(VicsScheme::Legacy, 0)
                .unwrap()
                .to_vics(VicsScheme::UsV2),
            None
        );
        assert_eq!(Category::vics(VicsScheme::UsV2, 5), None);
        assert!(Category::vics(VicsScheme::Legacy, 5).is_some());
        let odd = Category {
            scheme: CategoryScheme::VicsUs,
            value: "01".into(),
        };
        assert!(!odd.is_valid());
    }

    #[test]
    fn timestamps() {
        let a = Timestamp::parse("2017-10-24T15:00:00Z").unwrap();
        let b = Timestamp::parse("2017-10-24T17:00:00+02:00").unwrap();
        assert_eq!(a.unix_nanos(), b.unix_nanos());
        assert_ne!(a, b);
        let c = Timestamp::parse(" 2017-10-24T15:00:01.5 ").unwrap();
        assert_eq!(c.as_str(), "2017-10-24T15:00:01.5");
        assert_eq!(c.unix_nanos(), a.unix_nanos() + 1_500_000_000);
        assert!(a < c);
        assert!(Timestamp::parse("yesterday").is_err());
        assert_eq!(
            Timestamp::from_unix_seconds(1_508_857_200)
                .unwrap()
                .as_str(),
            "2017-10-24T15:00:00Z"
        );
    }
}
