//! Project VIC's VICS 2.0 OData JSON: `#Media` hash sets and `#Cases` case files.
//!
//! ```text
//! {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
//!  "value": [{"MediaID": 1, "MD5": "…", "SHA1": "…", "Category": 1, "VictimIdentified": false, …}, …]}
//!
//! {"@odata.context": "…/2.0.xml/US/$metadata#Cases",
//!  "value": [{"CaseID": "…", "CaseNumber": "…", "Media": [{…}, …]}, …]}
//! ```
//!
//! The spec's `$metadata` is not at hand, so the field list follows what exporters and importers
//! write (see the research notes): it is *de facto*. What is read into the [`Record`] model
//! (field names matched ASCII case-insensitively; JSON `null`, and an empty string for a hash or
//! date, mean absent):
//!
//! | VICS | record |
//! |---|---|
//! | `MediaID` (number or string) | `ids[0]` |
//! | `MD5`, `SHA1` | [`SignalKind::Md5`], [`SignalKind::Sha1`] signals |
//! | `PhotoDNA` (base64, kept as written) | a `photodna` [`SignalKind::Other`] signal |
//! | `Category` (integer) | [`Category`] in the file's [`VicsScheme`] |
//! | `Series`, `Comments` | `series`, `note` |
//! | `Tags` (array of strings) | `tags` (any other shape is kept raw as `vics.Tags`) |
//! | `VictimIdentified`, `OffenderIdentified`, `IsDistributed`, `IsPrecategorized`, `IsSuspected`, `SelfGenerated` | [`crate::record::Flags`] |
//! | `DateUpdated` | `updated` |
//! | `MimeType` | kept as `vics.MimeType`; also sets `content` for `image/…` and `video/…` |
//! | anything else (`MediaSize`, `RelativeFilePath`, `MediaFiles`, `AlternativeHashes`, `Exifs`, `odata.*` links…) | `extra["vics.<name>"]`, the member's JSON text |
//!
//! Top-level members other than `value` (the context, `@odata.count`, …) are kept in
//! [`VicsFile::envelope`] and case members other than `Media` in [`VicsCase::fields`], as JSON
//! text, so writing a parsed file back reproduces every record and field.
//!
//! # Category schemes
//!
//! The US scheme (0–4) and the legacy DHS scheme (0–5) give the same numbers different meanings
//! (US 0 is *non-pertinent*, legacy 0 *uncategorized*), so the scheme is never guessed. It is
//! the one the caller passes in [`VicsOptions::scheme`], else the one the file declares: only a
//! context naming the `US` data model (`…/2.0.xml/US/$metadata…`) declares one. A file whose
//! scheme is unknown reads fine until its first non-null `Category`, where parsing stops with
//! [`Error::CategoryScheme`]; a caller's scheme that contradicts the file's declaration stops it
//! at the start. A category out of the scheme's range is a record error. (The UK data model's
//! categories are not interpreted: pass a scheme only if you know what the numbers mean.)
//!
//! # Form
//!
//! The form is the context's (`…#Media` or `…#Cases`, v1 `odata.metadata` too); without one,
//! the first element of `value` decides (a `Media` member makes it a case file).
//!
//! # Streaming and errors
//!
//! [`read_vics`] reads one media object at a time (also inside a case's `Media` array) and hands
//! each to a callback, so memory does not grow with the file. A media object that cannot be read
//! (not an object, a malformed hash, a value of the wrong type, a member named twice, no hash at
//! all) is a [`RecordError`] naming the file and its JSON path (`value[3]`,
//! `value[0].Media[41]`, 0-based); malformed JSON stops the parse with [`Error::Json`], naming
//! line and column.
//!
//! # Duplicates
//!
//! Exporters often list one file under several media objects (same MD5, different `MediaID`s and
//! file paths). [`VicsFile::merge_duplicates`] joins them, per case, with [`Record::merge`]'s
//! rules (ids, signals and tags united; JSON arrays in `extra` such as `MediaFiles`
//! concatenated); objects that disagree on anything else (a different `Category`, SHA-1 or
//! `RelativeFilePath`) are kept apart and reported, never silently resolved. A UTF-8 BOM before
//! the JSON is skipped.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{BufRead, Write};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Location, RecordError, WriteError};
use crate::lines::skip_bom;
use crate::record::{
    Category, CategoryScheme, ContentType, Located, PHOTODNA, Record, Signal, SignalKind,
    Timestamp, VicsScheme,
};

/// The start of the VICS 2.0 contexts: `<this><US|UK|CUSTOM|Default>/$metadata#<Media|Cases>`.
pub const CONTEXT_BASE: &str = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/";

/// The media fields the model reads; the writer writes them from the model.
const KNOWN: [&str; 15] = [
    "MediaID",
    "MD5",
    "SHA1",
    "PhotoDNA",
    "Category",
    "Series",
    "Tags",
    "VictimIdentified",
    "OffenderIdentified",
    "IsDistributed",
    "IsPrecategorized",
    "IsSuspected",
    "SelfGenerated",
    "Comments",
    "DateUpdated",
];

/// The two shapes of a VICS file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VicsForm {
    /// `#Media`: `value` is a flat list of media objects (a hash set).
    Media,
    /// `#Cases`: `value` is a list of cases, each with a `Media` list.
    Cases,
}

impl VicsForm {
    fn suffix(self) -> &'static str {
        match self {
            VicsForm::Media => "#Media",
            VicsForm::Cases => "#Cases",
        }
    }
}

/// How to read a VICS file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VicsOptions {
    /// The category scheme of the file's `Category` values; `None` to rely on the file's
    /// declaration (see the module documentation).
    pub scheme: Option<VicsScheme>,
}

/// The scheme a VICS context declares: `Some(UsV2)` for the `US` data model, else `None`.
pub fn declared_scheme(context: &str) -> Option<VicsScheme> {
    (context_model(context) == Some("US")).then_some(VicsScheme::UsV2)
}

/// The data model segment of a VICS 2.0 context (`US`, `UK`, `CUSTOM`, `Default`, …).
fn context_model(context: &str) -> Option<&str> {
    let i = context.find("/2.0.xml/")?;
    let rest = &context[i + "/2.0.xml/".len()..];
    Some(rest.split(['/', '#']).next().unwrap_or(""))
}

fn context_form(context: &str) -> Option<VicsForm> {
    if context.ends_with("#Cases") {
        Some(VicsForm::Cases)
    } else if context.ends_with("#Media") {
        Some(VicsForm::Media)
    } else {
        None
    }
}

fn is_context_key(key: &str) -> bool {
    key == "@odata.context" || key == "odata.metadata"
}

/// The [`Record::extra`] key under which a store keeps a media's case (for the `#Cases` form):
/// the case's members but `Media`, as one JSON object ([`VicsCase::to_json`]). Not a `vics.`
/// key, so [`VicsWriter::write_media`] leaves it out of the media object; a writer of the
/// `#Cases` form opens the case from it ([`VicsCase::from_json`]).
pub const CASE_EXTRA: &str = "vics:case";

/// A case of a `#Cases` file: its members other than `Media` (JSON text by name), and its
/// 0-based index in `value`. Its media are the [`VicsFile::media`] located in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VicsCase {
    /// The 0-based index in `value`.
    pub index: u64,
    /// The case's members (`CaseID`, `CaseNumber`, …) but `Media`, as JSON text.
    pub fields: BTreeMap<String, String>,
}

impl VicsCase {
    /// The case's members as one JSON object, in name order (two cases with the same members
    /// give the same text).
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::from(k.as_str()).to_string());
            out.push(':');
            out.push_str(v.trim());
        }
        out.push('}');
        out
    }

    /// The members of a case from [`VicsCase::to_json`]'s text (index 0), or why they are not
    /// a JSON object.
    pub fn from_json(json: &str) -> Result<VicsCase, String> {
        let members: BTreeMap<String, Box<RawValue>> = serde_json::from_str(json)
            .map_err(|e| format!("a VICS case is not a JSON object: {e}"))?;
        Ok(VicsCase {
            index: 0,
            fields: members
                .into_iter()
                .map(|(k, v)| (k, v.get().to_string()))
                .collect(),
        })
    }
}

/// What [`read_vics`] hands its callback, in file order.
// Records are the common case, so boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VicsEvent {
    /// A media object, at [`Location::Media`].
    Media(Located<Record>),
    /// A case, after its media.
    Case(VicsCase),
    /// A media object or case that could not be read (for a case: its `Media` member).
    Malformed(RecordError),
}

/// What [`read_vics`] learnt about the file besides its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicsSummary {
    /// The top-level members but `value`, as JSON text (the context among them).
    pub envelope: BTreeMap<String, String>,
    /// The form.
    pub form: VicsForm,
    /// The category scheme used: the caller's, else the declared one.
    pub scheme: Option<VicsScheme>,
    /// The number of media objects read.
    pub media: u64,
    /// The number of cases read.
    pub cases: u64,
    /// The number of [`VicsEvent::Malformed`] events.
    pub errors: u64,
}

/// A whole VICS file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicsFile {
    /// The top-level members but `value`, as JSON text.
    pub envelope: BTreeMap<String, String>,
    /// The form.
    pub form: VicsForm,
    /// The category scheme of the records' categories (`None`: unknown, and no record has one).
    pub scheme: Option<VicsScheme>,
    /// The media, in file order, each with its location (which names its case).
    pub media: Vec<Located<Record>>,
    /// The cases (empty for a `#Media` file).
    pub cases: Vec<VicsCase>,
    /// The media and cases skipped.
    pub errors: Vec<RecordError>,
}

/// Parses a whole VICS file into memory. `name` (usually the path) is used in errors only.
pub fn parse_vics<R: BufRead>(
    reader: R,
    name: &str,
    options: &VicsOptions,
) -> Result<VicsFile, Error> {
    let (mut media, mut cases, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let summary = read_vics(reader, name, options, |ev| match ev {
        VicsEvent::Media(m) => media.push(m),
        VicsEvent::Case(c) => cases.push(c),
        VicsEvent::Malformed(e) => errors.push(e),
    })?;
    Ok(VicsFile {
        envelope: summary.envelope,
        form: summary.form,
        scheme: summary.scheme,
        media,
        cases,
        errors,
    })
}

/// Reads a VICS file, handing each media object, case and skipped record to `on_event` as it
/// is read; memory does not grow with the file. `name` (usually the path) is used in errors.
pub fn read_vics<R: BufRead>(
    reader: R,
    name: &str,
    options: &VicsOptions,
    mut on_event: impl FnMut(VicsEvent),
) -> Result<VicsSummary, Error> {
    let reader = skip_bom(reader).map_err(|source| Error::Io {
        name: name.to_string(),
        line: 1,
        source,
    })?;
    let mut st = State {
        name,
        given: options.scheme,
        declared: None,
        declared_model: None,
        context_form: None,
        form: None,
        envelope: BTreeMap::new(),
        value_seen: false,
        media: 0,
        cases: 0,
        errors: 0,
        fatal: None,
        on_event: &mut on_event,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result =
        de::Deserializer::deserialize_map(&mut de, Envelope(&mut st)).and_then(|()| de.end());
    if let Some(e) = st.fatal.take() {
        return Err(e);
    }
    if let Err(e) = result {
        return Err(json_error(name, e));
    }
    if !st.value_seen {
        return Err(Error::Structure {
            name: name.to_string(),
            message: "no \"value\" array: not a VICS file".to_string(),
        });
    }
    Ok(VicsSummary {
        form: st.form.or(st.context_form).unwrap_or(VicsForm::Media),
        scheme: st.scheme(),
        envelope: st.envelope,
        media: st.media,
        cases: st.cases,
        errors: st.errors,
    })
}

fn json_error(name: &str, e: serde_json::Error) -> Error {
    let (line, column) = (e.line() as u64, e.column() as u64);
    if e.is_io() {
        return Error::Io {
            name: name.to_string(),
            line,
            source: e.into(),
        };
    }
    let mut message = e.to_string();
    // serde_json appends " at line L column C"; the error carries them separately.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    Error::Json {
        name: name.to_string(),
        line,
        column,
        message,
    }
}

struct State<'a> {
    name: &'a str,
    given: Option<VicsScheme>,
    declared: Option<VicsScheme>,
    declared_model: Option<String>,
    context_form: Option<VicsForm>,
    form: Option<VicsForm>,
    envelope: BTreeMap<String, String>,
    value_seen: bool,
    media: u64,
    cases: u64,
    errors: u64,
    fatal: Option<Error>,
    on_event: &'a mut dyn FnMut(VicsEvent),
}

impl State<'_> {
    fn scheme(&self) -> Option<VicsScheme> {
        self.given.or(self.declared)
    }

    fn emit(&mut self, ev: VicsEvent) {
        match &ev {
            VicsEvent::Media(_) => self.media += 1,
            VicsEvent::Case(_) => self.cases += 1,
            VicsEvent::Malformed(_) => self.errors += 1,
        }
        (self.on_event)(ev);
    }

    fn malformed(&mut self, location: Location, message: impl Into<String>) {
        let e = RecordError::new(self.name, location, message);
        self.emit(VicsEvent::Malformed(e));
    }

    /// Records a fatal error and returns the serde error that unwinds the parse.
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        self.fatal = Some(e);
        E::custom("stopped")
    }

    fn structure(&self, message: String) -> Error {
        Error::Structure {
            name: self.name.to_string(),
            message,
        }
    }

    /// Takes note of a context member, checking it against what was already decided.
    fn context(&mut self, raw: &RawValue) -> Result<(), Error> {
        let Ok(ctx) = serde_json::from_str::<String>(raw.get()) else {
            return Ok(());
        };
        if let Some(form) = context_form(&ctx) {
            if self.context_form.is_some_and(|f| f != form) || self.form.is_some_and(|f| f != form)
            {
                return Err(self.structure(format!(
                    "the context {ctx:?} contradicts the form of the file's other context or of \
                     its value"
                )));
            }
            self.context_form = Some(form);
        }
        if let Some(model) = context_model(&ctx) {
            let declared = declared_scheme(&ctx);
            if let (Some(given), Some(d)) = (self.given, declared)
                && given != d
            {
                return Err(Error::CategoryScheme {
                    name: self.name.to_string(),
                    message: format!(
                        "the file declares the {model} data model ({d:?} categories) but \
                         {given:?} was asked for"
                    ),
                });
            }
            if self.declared.is_some() && declared != self.declared {
                return Err(self.structure(format!(
                    "the context {ctx:?} contradicts the file's other context"
                )));
            }
            self.declared = declared;
            self.declared_model = Some(model.to_string());
        }
        Ok(())
    }

    fn finish_media(
        &mut self,
        fields: Vec<(String, Box<RawValue>)>,
        location: Location,
    ) -> Result<(), Error> {
        match media_record(&fields, self.scheme()) {
            Ok(value) => self.emit(VicsEvent::Media(Located { location, value })),
            Err(MediaProblem::Bad(message)) => self.malformed(location, message),
            Err(MediaProblem::NeedScheme(n)) => {
                let declared = match &self.declared_model {
                    Some(m) => format!("declares the {m:?} data model, which has no known scheme"),
                    None => "declares no data model".to_string(),
                };
                return Err(Error::CategoryScheme {
                    name: self.name.to_string(),
                    message: format!(
                        "{location}: Category {n}, but the category scheme is unknown: the file \
                         {declared}; pass VicsScheme::UsV2 (0-4) or VicsScheme::Legacy (0-5)"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Visits the top-level object.
struct Envelope<'s, 'a>(&'s mut State<'a>);

impl<'de> Visitor<'de> for Envelope<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a VICS object with a \"value\" array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        while let Some(key) = map.next_key::<String>()? {
            if key == "value" {
                if st.value_seen {
                    let e = st.structure("\"value\" appears twice".to_string());
                    return Err(st.fail(e));
                }
                st.value_seen = true;
                if st.form.is_none() {
                    st.form = st.context_form;
                }
                map.next_value_seed(ValueSeed(&mut *st))?;
            } else {
                let raw: Box<RawValue> = map.next_value()?;
                if st.envelope.contains_key(&key) {
                    let e = st.structure(format!("top-level member {key:?} appears twice"));
                    return Err(st.fail(e));
                }
                if is_context_key(&key)
                    && let Err(e) = st.context(&raw)
                {
                    return Err(st.fail(e));
                }
                st.envelope.insert(key, raw.get().to_string());
            }
        }
        Ok(())
    }
}

/// The `value` array.
struct ValueSeed<'s, 'a>(&'s mut State<'a>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"value\" to be an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut index = 0;
        loop {
            let more = if st.form == Some(VicsForm::Media) {
                seq.next_element_seed(MediaSeed {
                    st: &mut *st,
                    case: None,
                    index,
                })?
            } else {
                seq.next_element_seed(ElementSeed {
                    st: &mut *st,
                    index,
                })?
            };
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// Implements the visit methods of non-object JSON values by reporting `$msg` at `$loc`.
macro_rules! not_an_object {
    ($msg:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            self.other($msg);
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            self.other($msg);
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            self.other($msg);
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            self.other($msg);
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            self.other($msg);
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.other($msg);
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            self.other($msg);
            Ok(())
        }
    };
}

/// One media object.
struct MediaSeed<'s, 'a> {
    st: &'s mut State<'a>,
    case: Option<u64>,
    index: u64,
}

impl MediaSeed<'_, '_> {
    fn location(&self) -> Location {
        Location::Media {
            case: self.case,
            index: self.index,
        }
    }

    fn other(self, msg: &str) {
        let loc = self.location();
        self.st.malformed(loc, msg);
    }
}

impl<'de> DeserializeSeed<'de> for MediaSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MediaSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a media object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            fields.push((key, map.next_value::<Box<RawValue>>()?));
        }
        let loc = self.location();
        self.st
            .finish_media(fields, loc)
            .map_err(|e| self.st.fail(e))
    }

    not_an_object!("media is not an object");
}

/// One element of `value` in a file whose form is `#Cases` or not yet known.
struct ElementSeed<'s, 'a> {
    st: &'s mut State<'a>,
    index: u64,
}

impl ElementSeed<'_, '_> {
    fn other(self, msg: &str) {
        let loc = if self.st.form == Some(VicsForm::Cases) {
            Location::Case { index: self.index }
        } else {
            Location::Media {
                case: None,
                index: self.index,
            }
        };
        self.st.malformed(loc, msg);
    }
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a case or media object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.st;
        let index = self.index;
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
        let mut media_seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key.eq_ignore_ascii_case("Media") && st.form != Some(VicsForm::Media) {
                st.form = Some(VicsForm::Cases);
                if media_seen {
                    map.next_value::<IgnoredAny>()?;
                    st.malformed(
                        Location::Case { index },
                        "the case's Media member appears twice: the second is skipped",
                    );
                    continue;
                }
                media_seen = true;
                map.next_value_seed(CaseMediaSeed {
                    st: &mut *st,
                    case: index,
                })?;
            } else {
                fields.push((key, map.next_value()?));
            }
        }
        if st.form == Some(VicsForm::Cases) {
            let mut case = VicsCase {
                index,
                fields: BTreeMap::new(),
            };
            for (k, v) in fields {
                if case.fields.contains_key(&k) {
                    st.malformed(
                        Location::Case { index },
                        format!("case member {k:?} appears twice: the second is skipped"),
                    );
                    continue;
                }
                case.fields.insert(k, v.get().to_string());
            }
            st.emit(VicsEvent::Case(case));
            Ok(())
        } else {
            st.form = Some(VicsForm::Media);
            st.finish_media(fields, Location::Media { case: None, index })
                .map_err(|e| st.fail(e))
        }
    }

    not_an_object!("element of value is not an object");
}

/// A case's `Media` array.
struct CaseMediaSeed<'s, 'a> {
    st: &'s mut State<'a>,
    case: u64,
}

impl CaseMediaSeed<'_, '_> {
    fn other(self, msg: &str) {
        self.st.malformed(Location::Case { index: self.case }, msg);
    }
}

impl<'de> DeserializeSeed<'de> for CaseMediaSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CaseMediaSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Media array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(MediaSeed {
                st: &mut *self.st,
                case: Some(self.case),
                index,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.other("the case's Media member is not an array");
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.other("the case's Media member is not an array");
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.other("the case's Media member is not an array");
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.other("the case's Media member is not an array");
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.other("the case's Media member is not an array");
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.other("the case's Media member is not an array");
        Ok(())
    }
}

enum MediaProblem {
    Bad(String),
    NeedScheme(u64),
}

impl From<String> for MediaProblem {
    fn from(s: String) -> Self {
        MediaProblem::Bad(s)
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A media object's members into a record.
fn media_record(
    fields: &[(String, Box<RawValue>)],
    scheme: Option<VicsScheme>,
) -> Result<Record, MediaProblem> {
    let mut r = Record::default();
    let mut seen: Vec<&str> = Vec::new();
    for (key, raw) in fields {
        let known = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(key)).copied();
        let dup = match known {
            Some(k) => seen.contains(&k),
            None => r.extra.contains_key(&format!("vics.{key}")),
        };
        if dup {
            return Err(format!("member {key:?} appears twice").into());
        }
        let Some(k) = known else {
            if key == "MimeType"
                && let Ok(mime) = serde_json::from_str::<String>(raw.get())
            {
                let m = mime.to_ascii_lowercase();
                if m.starts_with("image/") {
                    r.content = Some(ContentType::Photo);
                } else if m.starts_with("video/") {
                    r.content = Some(ContentType::Video);
                }
            }
            r.extra.insert(format!("vics.{key}"), raw.get().to_string());
            continue;
        };
        seen.push(k);
        // A RawValue is valid JSON, so this parse cannot fail.
        let v: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        let wrong = |want: &str| format!("{k}: expected {want}, found {}", type_name(&v));
        let text = |want: &str| -> Result<Option<String>, String> {
            match &v {
                Value::Null => Ok(None),
                Value::String(s) if s.trim().is_empty() => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(wrong(want)),
            }
        };
        match k {
            "MediaID" => match &v {
                Value::Null => {}
                Value::Number(_) => r.ids.push(raw.get().trim().to_string()),
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => r.ids.push(s.clone()),
                _ => return Err(wrong("a number or a string").into()),
            },
            "MD5" | "SHA1" | "PhotoDNA" => {
                if let Some(s) = text("a string")? {
                    let kind = match k {
                        "MD5" => SignalKind::Md5,
                        "SHA1" => SignalKind::Sha1,
                        _ => SignalKind::Other(PHOTODNA.to_string()),
                    };
                    let sig = Signal::new(kind, &s).map_err(|e| format!("{k}: {}", e.0))?;
                    r.signals.push(sig);
                }
            }
            "Category" => match &v {
                Value::Null => {}
                Value::Number(n) => {
                    let n = n
                        .as_u64()
                        .ok_or_else(|| format!("Category {n} is not a whole number"))?;
                    let scheme = scheme.ok_or(MediaProblem::NeedScheme(n))?;
                    let c = u8::try_from(n)
                        .ok()
                        .and_then(|n| Category::vics(scheme, n))
                        .ok_or_else(|| {
                            format!(
                                "Category {n} is out of range for the {scheme:?} scheme (0-{})",
                                scheme.max()
                            )
                        })?;
                    r.category = Some(c);
                }
                _ => return Err(wrong("an integer").into()),
            },
            "Series" => r.series = text("a string")?,
            "Comments" => r.note = text("a string")?,
            "DateUpdated" => {
                if let Some(s) = text("a string")? {
                    r.updated =
                        Some(Timestamp::parse(&s).map_err(|e| format!("DateUpdated: {e}"))?);
                }
            }
            "Tags" => match &v {
                Value::Null => {}
                Value::Array(items) if items.iter().all(Value::is_string) => {
                    r.tags = items
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect();
                }
                // The separator of a tag string is not specified: keep it as written.
                _ => {
                    r.extra
                        .insert("vics.Tags".to_string(), raw.get().to_string());
                }
            },
            flag => match &v {
                Value::Null => {}
                Value::Bool(b) => {
                    if let Some(slot) = r.flags.by_name_mut(flag) {
                        *slot = Some(*b);
                    }
                }
                _ => return Err(wrong("true, false or null").into()),
            },
        }
    }
    if !r.signals.iter().any(|s| {
        matches!(s.kind(), SignalKind::Md5 | SignalKind::Sha1)
            || s.kind() == &SignalKind::Other(PHOTODNA.to_string())
    }) {
        return Err("media has no MD5, SHA1 or PhotoDNA".to_string().into());
    }
    // The members' order in the file means nothing: the signals come in one order (the one the
    // writer uses: MD5, SHA1, PhotoDNA), so a file written back reads back the same, and a media
    // without a MediaID is identified by the same first signal however its members are ordered.
    r.signals.sort_by_key(|s| match s.kind() {
        SignalKind::Md5 => 0,
        SignalKind::Sha1 => 1,
        _ => 2,
    });
    Ok(r)
}

impl VicsFile {
    /// Joins media objects of one case (or of the whole `#Media` file) that have the same MD5,
    /// with [`Record::merge`]'s rules; JSON arrays in `extra` (such as `vics.MediaFiles`) are
    /// concatenated without repeating an element, and the two objects must not hold different
    /// SHA-1 or PhotoDNA values. The joined record keeps the first object's location.
    ///
    /// Objects that disagree otherwise are left apart; each such object gets one
    /// [`RecordError`] (returned, not added to [`VicsFile::errors`]) that names it, the object
    /// it could not join and the first differing field. A merged record has several `ids`, so
    /// it cannot be written back as one media object ([`VicsWriter`] refuses it).
    pub fn merge_duplicates(&mut self, name: &str) -> Vec<RecordError> {
        let mut out: Vec<Located<Record>> = Vec::with_capacity(self.media.len());
        let mut groups: HashMap<(Option<u64>, String), Vec<usize>> = HashMap::new();
        let mut conflicts = Vec::new();
        for m in std::mem::take(&mut self.media) {
            let case = match m.location {
                Location::Media { case, .. } => case,
                _ => None,
            };
            let Some(md5) = m
                .value
                .signal(&SignalKind::Md5)
                .map(|s| s.value().to_string())
            else {
                out.push(m);
                continue;
            };
            let slots = groups.entry((case, md5.clone())).or_default();
            let mut merged = false;
            let mut first_conflict = None;
            for &i in slots.iter() {
                match merge_media(&out[i].value, &m.value) {
                    Ok(r) => {
                        out[i].value = r;
                        merged = true;
                        break;
                    }
                    Err(c) => {
                        first_conflict.get_or_insert((out[i].location, c));
                    }
                }
            }
            if !merged {
                if let Some((there, c)) = first_conflict {
                    conflicts.push(RecordError::new(
                        name,
                        m.location,
                        format!(
                            "MD5 {md5} is also at {there} but was not merged: {} is {} here, {} \
                             there",
                            c.field, c.theirs, c.ours
                        ),
                    ));
                }
                slots.push(out.len());
                out.push(m);
            }
        }
        self.media = out;
        conflicts
    }
}

fn merge_media(a: &Record, b: &Record) -> Result<Record, crate::record::MergeConflict> {
    for kind in [SignalKind::Sha1, SignalKind::Other(PHOTODNA.to_string())] {
        if let (Some(x), Some(y)) = (a.signal(&kind), b.signal(&kind))
            && x != y
        {
            return Err(crate::record::MergeConflict {
                field: kind.name().to_string(),
                ours: format!("{:?}", x.value()),
                theirs: format!("{:?}", y.value()),
            });
        }
    }
    a.merge(b, &|_, ours, theirs| {
        let (Ok(Value::Array(mut x)), Ok(Value::Array(y))) = (
            serde_json::from_str::<Value>(ours),
            serde_json::from_str::<Value>(theirs),
        ) else {
            return None;
        };
        for v in y {
            if !x.contains(&v) {
                x.push(v);
            }
        }
        serde_json::to_string(&Value::Array(x)).ok()
    })
}

/// Writes a VICS file object by object: the envelope first, then media (directly, or inside
/// cases opened with [`VicsWriter::begin_case`]), then [`VicsWriter::finish`].
///
/// Written for each record: `MediaID` (its one id, as a number when it is a plain decimal
/// number), the first `MD5`, `SHA1` and `PhotoDNA` signals, `Category`, `Series`, `Tags`, the
/// flags, `Comments` (the note), `DateUpdated`, and every `vics.*` extra as written. Left out:
/// other signals (PDQ, SHA-256, … have no VICS member), `source`, `uri`, `first_seen`,
/// `last_seen`, other formats' extras, and a category of a non-VICS scheme. A category of the
/// other VICS scheme is converted by meaning ([`Category::to_vics`]; legacy 0, uncategorized,
/// becomes no category). Unwritable: a record with no MD5, SHA-1 or PhotoDNA, with several ids
/// (a merged record), with a VICS category but no scheme to write it in, or with a `vics.*`
/// extra that is not JSON or repeats a member written from the model.
#[derive(Debug)]
pub struct VicsWriter<W: Write> {
    w: W,
    form: VicsForm,
    scheme: Option<VicsScheme>,
    first: bool,
    in_case: bool,
    first_media: bool,
    record: u64,
    /// Whether the written context names the form (else readers decide it from the first
    /// element, and a media object with a `Media` member would read as a case).
    form_declared: bool,
}

impl<W: Write> VicsWriter<W> {
    /// Starts a file of `form` whose categories are in `scheme`. `envelope` holds the top-level
    /// members (JSON text by name; `value` not among them); without a context member, one for
    /// the VICS 2.0 `US` data model (`Default` when `scheme` is not [`VicsScheme::UsV2`]) and
    /// `form` is written first.
    pub fn new(
        mut w: W,
        form: VicsForm,
        scheme: Option<VicsScheme>,
        envelope: &BTreeMap<String, String>,
    ) -> Result<Self, WriteError> {
        for (k, v) in envelope {
            if k == "value" {
                return Err(WriteError::Invalid(
                    "the envelope must not hold \"value\"".to_string(),
                ));
            }
            if serde_json::from_str::<IgnoredAny>(v).is_err() {
                return Err(WriteError::Invalid(format!(
                    "envelope member {k:?} is not JSON"
                )));
            }
            if is_context_key(k)
                && let Ok(ctx) = serde_json::from_str::<String>(v)
            {
                if context_form(&ctx).is_some_and(|f| f != form) {
                    return Err(WriteError::Invalid(format!(
                        "the context {ctx:?} does not declare the {form:?} form"
                    )));
                }
                if let (Some(d), Some(s)) = (declared_scheme(&ctx), scheme)
                    && d != s
                {
                    return Err(WriteError::Invalid(format!(
                        "the context {ctx:?} declares {d:?} categories but {s:?} is written"
                    )));
                }
            }
        }
        let form_declared = envelope.iter().any(|(k, v)| {
            is_context_key(k)
                && serde_json::from_str::<String>(v).is_ok_and(|c| context_form(&c).is_some())
        });
        w.write_all(b"{")?;
        let mut first = true;
        if !envelope.keys().any(|k| is_context_key(k)) {
            let model = if scheme == Some(VicsScheme::UsV2) {
                "US"
            } else {
                "Default"
            };
            let ctx = format!("{CONTEXT_BASE}{model}/$metadata{}", form.suffix());
            w.write_all(b"\"@odata.context\":")?;
            serde_json::to_writer(&mut w, &ctx).map_err(std::io::Error::from)?;
            first = false;
        }
        // The context first, as OData asks, then the rest in name order.
        let mut members: Vec<(&String, &String)> = envelope.iter().collect();
        members.sort_by_key(|(k, _)| !is_context_key(k));
        for (k, v) in members {
            if !first {
                w.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut w, k).map_err(std::io::Error::from)?;
            write!(w, ":{}", v.trim())?;
        }
        if !first {
            w.write_all(b",")?;
        }
        w.write_all(b"\"value\":[")?;
        Ok(VicsWriter {
            w,
            form,
            scheme,
            first: true,
            in_case: false,
            first_media: true,
            record: 0,
            form_declared: form_declared || !envelope.keys().any(|k| is_context_key(k)),
        })
    }

    /// Opens a case (`#Cases` form) with these members (JSON text by name; not `Media`).
    pub fn begin_case(&mut self, fields: &BTreeMap<String, String>) -> Result<(), WriteError> {
        if self.form != VicsForm::Cases || self.in_case {
            return Err(WriteError::Invalid(
                "a case can only be opened in a #Cases file, outside another case".to_string(),
            ));
        }
        for (k, v) in fields {
            if k.eq_ignore_ascii_case("Media") {
                return Err(WriteError::Invalid(
                    "case members must not hold Media".to_string(),
                ));
            }
            if serde_json::from_str::<IgnoredAny>(v).is_err() {
                return Err(WriteError::Invalid(format!(
                    "case member {k:?} is not JSON"
                )));
            }
        }
        if !self.first {
            self.w.write_all(b",")?;
        }
        self.first = false;
        self.w.write_all(b"\n{")?;
        for (k, v) in fields {
            serde_json::to_writer(&mut self.w, k).map_err(std::io::Error::from)?;
            write!(self.w, ":{},", v.trim())?;
        }
        self.w.write_all(b"\"Media\":[")?;
        self.in_case = true;
        self.first_media = true;
        Ok(())
    }

    /// Closes the open case.
    pub fn end_case(&mut self) -> Result<(), WriteError> {
        if !self.in_case {
            return Err(WriteError::Invalid("no case is open".to_string()));
        }
        self.w.write_all(b"]}")?;
        self.in_case = false;
        Ok(())
    }

    /// Writes one media object (in a `#Media` file, or in the open case).
    pub fn write_media(&mut self, record: &Record) -> Result<(), WriteError> {
        if (self.form == VicsForm::Cases) != self.in_case {
            return Err(WriteError::Invalid(
                "media go in the open case of a #Cases file, or directly in a #Media file"
                    .to_string(),
            ));
        }
        let text = media_json(record, self.scheme, self.in_case || self.form_declared).map_err(
            |message| WriteError::Unwritable {
                record: self.record,
                message,
            },
        )?;
        self.record += 1;
        let first = if self.in_case {
            &mut self.first_media
        } else {
            &mut self.first
        };
        if !*first {
            self.w.write_all(b",")?;
        }
        *first = false;
        self.w.write_all(b"\n")?;
        self.w.write_all(text.as_bytes())?;
        Ok(())
    }

    /// Ends the file (closing an open case) and returns the output.
    pub fn finish(mut self) -> Result<W, WriteError> {
        if self.in_case {
            self.end_case()?;
        }
        self.w.write_all(b"\n]}\n")?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// One record as a media object's JSON text.
fn media_json(
    r: &Record,
    scheme: Option<VicsScheme>,
    media_member_ok: bool,
) -> Result<String, String> {
    let mut members: Vec<(&str, String)> = Vec::new();
    match r.ids.as_slice() {
        [] => {}
        [id] => {
            let as_number = id.parse::<u64>().is_ok_and(|n| n.to_string() == *id);
            members.push(("MediaID", if as_number { id.clone() } else { js(id) }));
        }
        ids => {
            return Err(format!(
                "record has {} ids and a media object holds one MediaID",
                ids.len()
            ));
        }
    }
    let photodna = SignalKind::Other(PHOTODNA.to_string());
    for (k, kind) in [
        ("MD5", SignalKind::Md5),
        ("SHA1", SignalKind::Sha1),
        ("PhotoDNA", photodna),
    ] {
        if let Some(s) = r.signal(&kind) {
            members.push((k, js(s.value())));
        }
    }
    if members.iter().all(|(k, _)| *k == "MediaID") {
        return Err("record has no MD5, SHA1 or PhotoDNA signal".to_string());
    }
    if let Some(c) = &r.category
        && matches!(
            c.scheme,
            CategoryScheme::VicsUs | CategoryScheme::VicsLegacy
        )
    {
        if !c.is_valid() {
            return Err(format!(
                "{:?} is not a valid {:?} category",
                c.value, c.scheme
            ));
        }
        let s = scheme.ok_or("record has a VICS category but no scheme is being written")?;
        if let Some(c) = c.to_vics(s) {
            members.push(("Category", c.value));
        }
    }
    if let Some(s) = &r.series {
        members.push(("Series", js(s)));
    }
    if !r.tags.is_empty() {
        members.push(("Tags", js(&r.tags)));
    }
    for (k, v) in r.flags.named() {
        if let Some(b) = v {
            members.push((k, b.to_string()));
        }
    }
    if let Some(n) = &r.note {
        members.push(("Comments", js(n)));
    }
    if let Some(t) = &r.updated {
        members.push(("DateUpdated", js(t.as_str())));
    }
    for (k, v) in &r.extra {
        let Some(name) = k.strip_prefix("vics.") else {
            continue;
        };
        // An empty member name is legal JSON and is written back as `""`.
        if !media_member_ok && name.eq_ignore_ascii_case("Media") {
            return Err(format!(
                "extra {k:?} would make the media read as a case: the file's context does not \
                 declare #Media"
            ));
        }
        if members.iter().any(|(m, _)| m.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "extra {k:?} repeats the member {name:?} written from the record"
            ));
        }
        if serde_json::from_str::<IgnoredAny>(v).is_err() {
            return Err(format!("extra {k:?} is not JSON"));
        }
        members.push((name, v.trim().to_string()));
    }
    let mut out = String::from("{");
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&js(k));
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    Ok(out)
}

/// The JSON text of a string or list of strings.
fn js<T: serde::Serialize + ?Sized>(v: &T) -> String {
    // Serialising strings and lists of strings cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

/// Writes a whole [`VicsFile`] (as [`VicsWriter`] does, in its form and scheme, with its
/// envelope and cases). Reading the output back gives the same media, cases and envelope
/// (plus a context member if the envelope had none).
pub fn write_vics<W: Write>(w: W, file: &VicsFile) -> Result<(), WriteError> {
    let mut out = VicsWriter::new(w, file.form, file.scheme, &file.envelope)?;
    match file.form {
        VicsForm::Media => {
            for m in &file.media {
                out.write_media(&m.value)?;
            }
        }
        VicsForm::Cases => {
            let mut by_case: HashMap<u64, Vec<&Record>> = HashMap::new();
            for m in &file.media {
                match m.location {
                    Location::Media { case: Some(c), .. } => {
                        by_case.entry(c).or_default().push(&m.value)
                    }
                    other => {
                        return Err(WriteError::Invalid(format!(
                            "media at {other} is not in a case of this #Cases file"
                        )));
                    }
                }
            }
            for case in &file.cases {
                out.begin_case(&case.fields)?;
                for r in by_case.remove(&case.index).unwrap_or_default() {
                    out.write_media(r)?;
                }
                out.end_case()?;
            }
            if let Some(c) = by_case.keys().min() {
                return Err(WriteError::Invalid(format!(
                    "media of case value[{c}], which is not among the cases"
                )));
            }
        }
    }
    out.finish()?;
    Ok(())
}
