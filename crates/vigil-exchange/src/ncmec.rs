//! NCMEC's hash sharing API v2: one XML response page of `GET entries`, read and written.
//!
//! ```text
//! <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
//!   <images count="2" maxTimestamp="2017-10-24T15:10:00Z">
//!     <image><member id="42">Example Member</member><timestamp>2017-10-24T15:00:00Z</timestamp>
//!       <id>image1</id><classification>A1</classification>
//!       <fingerprints><md5>…</md5><sha1>…</sha1><pdna>…</pdna><pdq>…</pdq></fingerprints>
//!       <feedback>…</feedback></image>
//!     <deletedImage><member id="43">…</member><id>image4</id><timestamp>…</timestamp></deletedImage>
//!   </images>
//!   <videos count="…" maxTimestamp="…"><video>…</video><deletedVideo>…</deletedVideo></videos>
//!   <paging><next>/v2/entries?from=…&amp;to=…&amp;start=2001&amp;size=1000&amp;max=3000</next></paging>
//! </queryResult>
//! ```
//!
//! Only the page: no HTTP, no paging loop. The writer exists so that tests and a future local
//! fake server can serve pages.
//!
//! # What is read
//!
//! An `<image>`/`<video>` becomes a [`Record`]: `<id>` → `ids` (required), the member's text →
//! `source` and its `id` attribute → `extra["ncmec.member_id"]`, `<timestamp>` → `updated`,
//! `<classification>` → a [`Category`] of scheme [`CategoryScheme::Ncmec`], content
//! [`ContentType::Photo`] or [`ContentType::Video`] by section. Each fingerprint element with
//! text becomes a signal: `md5`, `sha1`, `pdq` (and `sha256`, `vpdq`, should NCMEC send them)
//! as those kinds, `pdna` as PhotoDNA (`photodna`, as python-threatexchange names it), any
//! other name (`netclean`, `videntifier`, `tmk-pdqf`, …) as [`SignalKind::Other`] of that name.
//! A fingerprint element without text (large fingerprints come as
//! `<tmk-pdqf rel="self" href="…"/>` links) is kept as XML in
//! `extra["ncmec.fingerprint_xml"]`; `<feedback>` and any other child element is kept as XML
//! in `extra["ncmec.xml.<name>"]`, and attributes of the entry element in
//! `extra["ncmec.attr.<name>"]`, so a page written back holds them again.
//! `<deletedImage>`/`<deletedVideo>` become [`Deletion`]s by id (`at` = their timestamp).
//! Section `count`/`maxTimestamp` and the `<paging><next>` link (entity-decoded) are kept.
//!
//! # Assumptions (where the research notes and python-threatexchange's test pages are silent)
//!
//! * Element names are matched by local name; the root must be `queryResult` in the v2
//!   namespace or in none. Namespace prefixes inside entries are not kept: kept XML is
//!   re-serialised in the default namespace (names, attributes, text and child elements;
//!   comments and whitespace-only text dropped), which is how NCMEC's pages are written.
//! * Attributes on fingerprint elements that have text are not kept.
//! * `<video>` inside `<images>` (and the like) is an entry error, as is an entry without
//!   `<id>`, with two `<member>`s, an unparseable timestamp or a malformed fingerprint; the
//!   rest of the page is read on. A second `<images>` (or `<videos>`) section is reported and
//!   its entries added to the first.
//! * Well-formedness is the XML 1.0 one: a character XML forbids (raw or as a character
//!   reference), an unknown entity, or broken markup make the whole page an [`Error::Xml`],
//!   naming the byte offset.

use std::io::Write;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::error::{Error, Location, RecordError, WriteError};
use crate::lines::BOM;
use crate::record::{
    Category, CategoryScheme, ContentType, Deletion, PHOTODNA, Record, Signal, SignalKind,
    Timestamp, valid_kind_name,
};

/// The XML namespace of the v2 API.
pub const NAMESPACE: &str = "https://hashsharing.ncmec.org/hashsharing/v2";

/// How deeply elements may nest (hostile pages must not exhaust the stack).
const MAX_DEPTH: usize = 64;

/// One page of `GET entries`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NcmecPage {
    /// The `<images>` section, if the page has one.
    pub images: Option<NcmecSection>,
    /// The `<videos>` section, if the page has one.
    pub videos: Option<NcmecSection>,
    /// The `<paging><next>` link (entity-decoded), if any: the next page of the same query.
    pub next: Option<String>,
    /// The entries skipped and other problems that did not stop the page.
    pub errors: Vec<RecordError>,
}

/// One `<images>` or `<videos>` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NcmecSection {
    /// The `count` attribute.
    pub count: Option<u64>,
    /// The `maxTimestamp` attribute.
    pub max_timestamp: Option<Timestamp>,
    /// The entries and deletions, in page order.
    pub items: Vec<NcmecItem>,
}

impl NcmecSection {
    /// A section of these items with `count` and `maxTimestamp` set from them (the latest
    /// entry `updated` or deletion `at`).
    pub fn new(items: Vec<NcmecItem>) -> NcmecSection {
        let max_timestamp = items
            .iter()
            .filter_map(|i| match i {
                NcmecItem::Entry(r) => r.updated.as_ref(),
                NcmecItem::Deleted(d) => d.at.as_ref(),
            })
            .max()
            .cloned();
        NcmecSection {
            count: Some(items.len() as u64),
            max_timestamp,
            items,
        }
    }
}

/// An entry of a section.
// Records are the common case, so boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NcmecItem {
    /// An `<image>` or `<video>` (new or updated).
    Entry(Record),
    /// A `<deletedImage>` or `<deletedVideo>`.
    Deleted(Deletion),
}

/// The signal kind of a fingerprint element name.
fn kind_of_tag(tag: &str) -> SignalKind {
    match tag {
        "pdna" => SignalKind::Other(PHOTODNA.to_string()),
        t => SignalKind::from_name(t),
    }
}

/// The fingerprint element name of a signal kind.
fn tag_of_kind(kind: &SignalKind) -> &str {
    match kind {
        SignalKind::Other(n) if n == PHOTODNA => "pdna",
        k => k.name(),
    }
}

/// An element read into memory: entries are small, and a tree makes them easy to check.
#[derive(Debug, Clone, Default)]
struct Node {
    local: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
    offset: u64,
}

impl Node {
    fn child(&self, local: &str) -> impl Iterator<Item = &Node> {
        self.children.iter().filter(move |c| c.local == local)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The canonical XML of the element (see the module documentation).
    fn to_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.local);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            escape_into(v, true, out);
            out.push('"');
        }
        let text = if self.children.is_empty() || !self.text.trim().is_empty() {
            self.text.as_str()
        } else {
            ""
        };
        if text.is_empty() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        escape_into(text, false, out);
        for c in &self.children {
            c.to_xml(out);
        }
        out.push_str("</");
        out.push_str(&self.local);
        out.push('>');
    }
}

/// Whether XML 1.0 allows the character.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn escape_into(s: &str, attr: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// Reads events from the page, turning quick-xml's errors into [`Error::Xml`].
struct Reader<'i> {
    xml: NsReader<&'i [u8]>,
    name: String,
    /// Bytes removed before the reader's input (a BOM), added back to offsets.
    base: u64,
}

impl<'i> Reader<'i> {
    fn new(input: &'i [u8], name: &str) -> Reader<'i> {
        let (input, base) = match input.strip_prefix(BOM) {
            Some(rest) => (rest, BOM.len() as u64),
            None => (input, 0),
        };
        let mut xml = NsReader::from_reader(input);
        xml.config_mut().check_end_names = true;
        Reader {
            xml,
            name: name.to_string(),
            base,
        }
    }

    fn error(&self, offset: u64, message: impl Into<String>) -> Error {
        Error::Xml {
            name: self.name.clone(),
            offset: self.base + offset,
            message: message.into(),
        }
    }

    /// The next event and the offset where it starts.
    fn next(&mut self) -> Result<(u64, Event<'i>), Error> {
        let at = self.xml.buffer_position();
        match self.xml.read_event() {
            Ok(ev) => Ok((self.base + at, ev)),
            Err(e) => Err(self.error(self.xml.error_position(), e.to_string())),
        }
    }

    fn text(&self, offset: u64, s: &str, out: &mut String) -> Result<(), Error> {
        if let Some(c) = s.chars().find(|&c| !xml_char(c)) {
            return Err(self.error(
                offset - self.base,
                format!("the character {c:?} is not allowed in XML"),
            ));
        }
        out.push_str(s);
        Ok(())
    }

    /// The attributes of an element (namespace declarations left out), unescaped.
    fn attrs(&self, offset: u64, e: &BytesStart<'_>) -> Result<Vec<(String, String)>, Error> {
        let mut out = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| self.error(offset - self.base, err.to_string()))?;
            let key = std::str::from_utf8(a.key.as_ref())
                .map_err(|_| self.error(offset - self.base, "attribute name is not UTF-8"))?;
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let v = a
                .unescape_value()
                .map_err(|err| self.error(offset - self.base, err.to_string()))?;
            let mut value = String::new();
            self.text(offset, &v, &mut value)?;
            out.push((local(key).to_string(), value));
        }
        Ok(out)
    }

    fn local_name(&self, offset: u64, e: &BytesStart<'_>) -> Result<String, Error> {
        let name = e.local_name();
        std::str::from_utf8(name.as_ref())
            .map(str::to_string)
            .map_err(|_| self.error(offset - self.base, "element name is not UTF-8"))
    }

    /// Reads the element that `start` opened (`empty` for `<x/>`) into a [`Node`].
    fn node(
        &mut self,
        offset: u64,
        start: &BytesStart<'_>,
        empty: bool,
        depth: usize,
    ) -> Result<Node, Error> {
        let mut node = Node {
            local: self.local_name(offset, start)?,
            attrs: self.attrs(offset, start)?,
            offset,
            ..Node::default()
        };
        if empty {
            return Ok(node);
        }
        if depth >= MAX_DEPTH {
            return Err(self.error(
                offset - self.base,
                format!("elements nest deeper than {MAX_DEPTH}"),
            ));
        }
        loop {
            let (at, ev) = self.next()?;
            match ev {
                Event::Start(e) => node.children.push(self.node(at, &e, false, depth + 1)?),
                Event::Empty(e) => node.children.push(self.node(at, &e, true, depth + 1)?),
                Event::End(_) => return Ok(node),
                Event::Text(t) => {
                    let s = t
                        .decode()
                        .map_err(|e| self.error(at - self.base, e.to_string()))?;
                    self.text(at, &s, &mut node.text)?;
                }
                Event::CData(t) => {
                    let s = t
                        .decode()
                        .map_err(|e| self.error(at - self.base, e.to_string()))?;
                    self.text(at, &s, &mut node.text)?;
                }
                Event::GeneralRef(r) => {
                    let c = self.reference(at, &r)?;
                    self.text(at, c.encode_utf8(&mut [0; 4]), &mut node.text)?;
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(self.error(at - self.base, "declaration inside an element"));
                }
                Event::Eof => {
                    return Err(self.error(
                        at - self.base,
                        format!("the input ends inside <{}>", node.local),
                    ));
                }
            }
        }
    }

    fn reference(&self, at: u64, r: &quick_xml::events::BytesRef<'_>) -> Result<char, Error> {
        let bad = |m: String| self.error(at - self.base, m);
        if let Some(c) = r.resolve_char_ref().map_err(|e| bad(e.to_string()))? {
            return Ok(c);
        }
        let name = r.decode().map_err(|e| bad(e.to_string()))?;
        match &*name {
            "amp" => Ok('&'),
            "lt" => Ok('<'),
            "gt" => Ok('>'),
            "quot" => Ok('"'),
            "apos" => Ok('\''),
            other => Err(bad(format!("unknown entity &{other};"))),
        }
    }

    /// Skips to the end of the element `start` opened, checking it is well-formed.
    fn skip(&mut self, offset: u64, start: &BytesStart<'_>, empty: bool) -> Result<Node, Error> {
        self.node(offset, start, empty, 1)
    }
}

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// Parses one page. `name` (the page's URL or file) is used in errors only.
///
/// Malformed XML, or a root that is not `queryResult`, is an [`Error::Xml`]; a malformed entry
/// is a [`RecordError`] in [`NcmecPage::errors`] and the rest of the page is read.
pub fn parse_ncmec_page(xml: &[u8], name: &str) -> Result<NcmecPage, Error> {
    let mut r = Reader::new(xml, name);
    let mut page = NcmecPage::default();
    // Up to the root element.
    let (root_at, root, empty) = loop {
        let (at, ev) = r.next()?;
        match ev {
            Event::Start(e) => break (at, e, false),
            Event::Empty(e) => break (at, e, true),
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => return Err(r.error(at - r.base, "no root element")),
            _ => return Err(r.error(at - r.base, "text before the root element")),
        }
    };
    let root_local = r.local_name(root_at, &root)?;
    let in_ns = match r.xml.resolve_element(root.name()).0 {
        ResolveResult::Unbound => true,
        ResolveResult::Bound(ns) => ns.as_ref() == NAMESPACE.as_bytes(),
        ResolveResult::Unknown(_) => false,
    };
    if root_local != "queryResult" || !in_ns {
        return Err(r.error(
            root_at - r.base,
            format!("the root element is <{root_local}>, not <queryResult> in {NAMESPACE}"),
        ));
    }
    let mut entry = 0u64;
    if !empty {
        loop {
            let (at, ev) = r.next()?;
            let (e, is_empty) = match ev {
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => break,
                Event::Eof => {
                    return Err(r.error(at - r.base, "the input ends inside <queryResult>"));
                }
                Event::GeneralRef(g) => {
                    r.reference(at, &g)?;
                    continue;
                }
                Event::Text(t) => {
                    let s = t
                        .decode()
                        .map_err(|e| r.error(at - r.base, e.to_string()))?;
                    r.text(at, &s, &mut String::new())?;
                    continue;
                }
                _ => continue,
            };
            let local = r.local_name(at, &e)?;
            match local.as_str() {
                "images" | "videos" => {
                    let section = read_section(&mut r, at, &e, is_empty, &mut entry, &mut page)?;
                    let slot = if local == "images" {
                        &mut page.images
                    } else {
                        &mut page.videos
                    };
                    match slot {
                        None => *slot = Some(section),
                        Some(first) => {
                            page.errors.push(RecordError::new(
                                name,
                                Location::Xml {
                                    entry: None,
                                    offset: at,
                                },
                                format!("a second <{local}>: its entries are added to the first"),
                            ));
                            first.items.extend(section.items);
                        }
                    }
                }
                "paging" => {
                    let node = r.node(at, &e, is_empty, 1)?;
                    for c in &node.children {
                        let loc = Location::Xml {
                            entry: None,
                            offset: c.offset,
                        };
                        if c.local != "next" {
                            page.errors.push(RecordError::new(
                                name,
                                loc,
                                format!("unknown element <{}> in <paging> skipped", c.local),
                            ));
                        } else if page.next.is_some() {
                            page.errors.push(RecordError::new(
                                name,
                                loc,
                                "a second <next> skipped",
                            ));
                        } else {
                            let t = c.text.trim();
                            page.next = (!t.is_empty()).then(|| t.to_string());
                        }
                    }
                }
                other => {
                    r.skip(at, &e, is_empty)?;
                    page.errors.push(RecordError::new(
                        name,
                        Location::Xml {
                            entry: None,
                            offset: at,
                        },
                        format!("unknown element <{other}> in <queryResult> skipped"),
                    ));
                }
            }
        }
    }
    // Nothing but comments, processing instructions and whitespace may follow the root.
    loop {
        let (at, ev) = r.next()?;
        match ev {
            Event::Eof => break,
            Event::Comment(_) | Event::PI(_) => {}
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            _ => return Err(r.error(at - r.base, "content after the root element")),
        }
    }
    Ok(page)
}

fn read_section(
    r: &mut Reader<'_>,
    at: u64,
    start: &BytesStart<'_>,
    empty: bool,
    entry: &mut u64,
    page: &mut NcmecPage,
) -> Result<NcmecSection, Error> {
    let name = r.name.clone();
    let section_local = r.local_name(at, start)?;
    let mut section = NcmecSection::default();
    let loc = Location::Xml {
        entry: None,
        offset: at,
    };
    for (k, v) in r.attrs(at, start)? {
        match k.as_str() {
            "count" => match v.trim().parse() {
                Ok(n) => section.count = Some(n),
                Err(_) => page.errors.push(RecordError::new(
                    &name,
                    loc,
                    format!("<{section_local}> count {v:?} is not a number"),
                )),
            },
            "maxTimestamp" => match Timestamp::parse(&v) {
                Ok(t) => section.max_timestamp = Some(t),
                Err(e) => page.errors.push(RecordError::new(
                    &name,
                    loc,
                    format!("<{section_local}> maxTimestamp: {e}"),
                )),
            },
            _ => {}
        }
    }
    if empty {
        return Ok(section);
    }
    let (entry_tag, deleted_tag, content) = if section_local == "images" {
        ("image", "deletedImage", ContentType::Photo)
    } else {
        ("video", "deletedVideo", ContentType::Video)
    };
    loop {
        let (at, ev) = r.next()?;
        let (e, is_empty) = match ev {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => return Ok(section),
            Event::Eof => {
                return Err(r.error(
                    at - r.base,
                    format!("the input ends inside <{section_local}>"),
                ));
            }
            Event::GeneralRef(g) => {
                r.reference(at, &g)?;
                continue;
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| r.error(at - r.base, e.to_string()))?;
                r.text(at, &s, &mut String::new())?;
                continue;
            }
            _ => continue,
        };
        *entry += 1;
        let node = r.node(at, &e, is_empty, 2)?;
        let loc = Location::Xml {
            entry: Some(*entry),
            offset: at,
        };
        let item = if node.local == entry_tag {
            entry_record(&node, content.clone()).map(NcmecItem::Entry)
        } else if node.local == deleted_tag {
            deletion(&node, content.clone()).map(NcmecItem::Deleted)
        } else {
            Err(format!("<{}> inside <{section_local}>", node.local))
        };
        match item {
            Ok(i) => section.items.push(i),
            Err(message) => page.errors.push(RecordError::new(&name, loc, message)),
        }
    }
}

/// Reads `<member>`, `<id>` and `<timestamp>`, common to entries and deletions.
struct Common {
    member_id: Option<String>,
    member: Option<String>,
    id: String,
    timestamp: Option<Timestamp>,
}

fn common(node: &Node) -> Result<Common, String> {
    let one = |local: &str| -> Result<Option<&Node>, String> {
        let mut it = node.child(local);
        let first = it.next();
        if it.next().is_some() {
            return Err(format!("more than one <{local}>"));
        }
        Ok(first)
    };
    let member = one("member")?;
    let id = one("id")?
        .map(|n| n.text.trim())
        .filter(|t| !t.is_empty())
        .ok_or("no <id>")?;
    let timestamp = match one("timestamp")? {
        Some(t) if !t.text.trim().is_empty() => {
            Some(Timestamp::parse(&t.text).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    Ok(Common {
        member_id: member
            .and_then(|m| m.attr("id"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        member: member
            .map(|m| m.text.trim().to_string())
            .filter(|s| !s.is_empty()),
        id: id.to_string(),
        timestamp,
    })
}

/// Keeps the entry element's attributes and the children the model has no field for.
/// Keeps the attributes and unhandled children of an entry in `extra`. An element that would not
/// read back as itself once written (for example an attribute name that is not a well-formed XML
/// name) makes the entry an entry error instead of a record that cannot be written.
fn keep_rest(
    node: &Node,
    handled: &[&str],
    extra: &mut std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    for (k, v) in &node.attrs {
        extra.insert(format!("ncmec.attr.{k}"), v.clone());
    }
    for c in &node.children {
        if handled.contains(&c.local.as_str()) {
            continue;
        }
        let slot = extra.entry(format!("ncmec.xml.{}", c.local)).or_default();
        c.to_xml(slot);
        if !fragment_ok(slot) {
            return Err(format!(
                "<{}> cannot be kept: it is not well-formed XML",
                c.local
            ));
        }
    }
    Ok(())
}

fn entry_record(node: &Node, content: ContentType) -> Result<Record, String> {
    let c = common(node)?;
    let mut r = Record {
        ids: vec![c.id],
        content: Some(content),
        source: c.member,
        updated: c.timestamp,
        ..Record::default()
    };
    if let Some(m) = c.member_id {
        r.extra.insert("ncmec.member_id".to_string(), m);
    }
    let mut classification = node.child("classification");
    if let Some(cl) = classification.next() {
        if classification.next().is_some() {
            return Err("more than one <classification>".to_string());
        }
        let v = cl.text.trim();
        if !v.is_empty() {
            r.category = Some(Category {
                scheme: CategoryScheme::Ncmec,
                value: v.to_string(),
            });
        }
    }
    let mut links = String::new();
    for f in node.child("fingerprints").flat_map(|f| f.children.iter()) {
        if f.text.trim().is_empty() {
            f.to_xml(&mut links);
            continue;
        }
        if !valid_kind_name(&f.local) {
            return Err(format!("fingerprint <{}> has an unusable name", f.local));
        }
        let s = Signal::new(kind_of_tag(&f.local), &f.text)
            .map_err(|e| format!("fingerprint <{}>: {}", f.local, e.0))?;
        r.signals.push(s);
    }
    if !links.is_empty() {
        if !fragment_ok(&links) {
            return Err("a fingerprint link element is not well-formed XML".to_string());
        }
        r.extra.insert("ncmec.fingerprint_xml".to_string(), links);
    }
    keep_rest(
        node,
        &[
            "member",
            "id",
            "timestamp",
            "classification",
            "fingerprints",
        ],
        &mut r.extra,
    )?;
    Ok(r)
}

fn deletion(node: &Node, content: ContentType) -> Result<Deletion, String> {
    let c = common(node)?;
    let mut d = Deletion {
        id: Some(c.id),
        content: Some(content),
        source: c.member,
        at: c.timestamp,
        ..Deletion::default()
    };
    if let Some(m) = c.member_id {
        d.extra.insert("ncmec.member_id".to_string(), m);
    }
    keep_rest(node, &["member", "id", "timestamp"], &mut d.extra)?;
    Ok(d)
}

/// Checks that kept XML is a sequence of well-formed elements (so that writing it cannot break
/// the page).
fn fragment_ok(s: &str) -> bool {
    let wrapped = format!("<x>{s}</x>");
    let mut r = Reader::new(wrapped.as_bytes(), "");
    let Ok((at, Event::Start(e))) = r.next() else {
        return false;
    };
    let Ok(node) = r.node(at, &e, false, 1) else {
        return false;
    };
    node.text.trim().is_empty() && matches!(r.next(), Ok((_, Event::Eof)))
}

/// Writes a page: the XML declaration, then `queryResult` in [`NAMESPACE`] with the sections
/// (their `count` and `maxTimestamp` as stored: see [`NcmecSection::new`]) and the `next` link.
///
/// Written for an entry: the kept attributes, `<member>` (from `source` and
/// `extra["ncmec.member_id"]`), `<timestamp>` (`updated`), `<id>`, `<classification>` (an
/// NCMEC-scheme category only), `<fingerprints>` (every signal, PhotoDNA as `pdna`, then the
/// kept link elements) and the kept elements. For a deletion: attributes, `<member>`, `<id>`,
/// `<timestamp>` (`at`) and kept elements (a deletion's `signal` has no place in the format).
/// Everything else (tags, notes, other schemes' categories, …) is left out. Unwritable: an
/// entry without exactly one id, a deletion without an id, content that does not match the
/// section (a video in `<images>`), kept XML that is not well-formed, and text holding
/// characters XML forbids.
pub fn write_ncmec_page<W: Write>(mut w: W, page: &NcmecPage) -> Result<(), WriteError> {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n");
    out.push_str(&format!("<queryResult xmlns=\"{NAMESPACE}\">\n"));
    let mut record = 0u64;
    for (tag, section, content) in [
        ("images", &page.images, ContentType::Photo),
        ("videos", &page.videos, ContentType::Video),
    ] {
        let Some(section) = section else { continue };
        out.push_str("  <");
        out.push_str(tag);
        if let Some(n) = section.count {
            out.push_str(&format!(" count=\"{n}\""));
        }
        if let Some(t) = &section.max_timestamp {
            out.push_str(" maxTimestamp=\"");
            checked_text(t.as_str(), true, &mut out).map_err(WriteError::Invalid)?;
            out.push('"');
        }
        if section.items.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        for item in &section.items {
            write_item(item, &content, &mut out)
                .map_err(|message| WriteError::Unwritable { record, message })?;
            record += 1;
        }
        out.push_str(&format!("  </{tag}>\n"));
    }
    if let Some(next) = &page.next {
        out.push_str("  <paging><next>");
        checked_text(next, false, &mut out).map_err(WriteError::Invalid)?;
        out.push_str("</next></paging>\n");
    }
    out.push_str("</queryResult>\n");
    w.write_all(out.as_bytes())?;
    w.flush()?;
    Ok(())
}

fn checked_text(s: &str, attr: bool, out: &mut String) -> Result<(), String> {
    if let Some(c) = s.chars().find(|&c| !xml_char(c)) {
        return Err(format!("the character {c:?} cannot be written in XML"));
    }
    escape_into(s, attr, out);
    Ok(())
}

fn element(tag: &str, text: &str, out: &mut String) -> Result<(), String> {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    checked_text(text, false, out)?;
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
    Ok(())
}

fn write_item(item: &NcmecItem, section: &ContentType, out: &mut String) -> Result<(), String> {
    let (content, extra, tag) = match item {
        NcmecItem::Entry(r) => (&r.content, &r.extra, ""),
        NcmecItem::Deleted(d) => (&d.content, &d.extra, "deleted"),
    };
    if content.as_ref().is_some_and(|c| c != section) {
        return Err(format!("{content:?} content in the {section:?} section"));
    }
    let base = match (section, tag) {
        (ContentType::Photo, "") => "image",
        (ContentType::Photo, _) => "deletedImage",
        (_, "") => "video",
        _ => "deletedVideo",
    };
    out.push_str("    <");
    out.push_str(base);
    for (k, v) in extra {
        if let Some(a) = k.strip_prefix("ncmec.attr.") {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "<>&\"'=/".contains(c)) {
                return Err(format!("attribute name {a:?} is not usable"));
            }
            out.push(' ');
            out.push_str(a);
            out.push_str("=\"");
            checked_text(v, true, out)?;
            out.push('"');
        }
    }
    out.push('>');
    let (source, member_id) = match item {
        NcmecItem::Entry(r) => (&r.source, r.extra.get("ncmec.member_id")),
        NcmecItem::Deleted(d) => (&d.source, d.extra.get("ncmec.member_id")),
    };
    if source.is_some() || member_id.is_some() {
        out.push_str("<member");
        if let Some(m) = member_id {
            out.push_str(" id=\"");
            checked_text(m, true, out)?;
            out.push('"');
        }
        out.push('>');
        checked_text(source.as_deref().unwrap_or(""), false, out)?;
        out.push_str("</member>");
    }
    match item {
        NcmecItem::Entry(r) => {
            if let Some(t) = &r.updated {
                element("timestamp", t.as_str(), out)?;
            }
            let [id] = r.ids.as_slice() else {
                return Err(format!("an entry has one id, this record {}", r.ids.len()));
            };
            element("id", id, out)?;
            if let Some(c) = &r.category
                && c.scheme == CategoryScheme::Ncmec
            {
                element("classification", &c.value, out)?;
            }
            let links = r.extra.get("ncmec.fingerprint_xml");
            if !r.signals.is_empty() || links.is_some() {
                out.push_str("<fingerprints>");
                for s in &r.signals {
                    element(tag_of_kind(s.kind()), s.value(), out)?;
                }
                if let Some(l) = links {
                    if !fragment_ok(l) {
                        return Err("extra \"ncmec.fingerprint_xml\" is not well-formed XML".into());
                    }
                    out.push_str(l);
                }
                out.push_str("</fingerprints>");
            }
        }
        NcmecItem::Deleted(d) => {
            let id = d.id.as_deref().ok_or("a deletion without an id")?;
            element("id", id, out)?;
            if let Some(t) = &d.at {
                element("timestamp", t.as_str(), out)?;
            }
        }
    }
    for (k, v) in extra {
        if k.starts_with("ncmec.xml.") {
            if !fragment_ok(v) {
                return Err(format!("extra {k:?} is not well-formed XML"));
            }
            out.push_str(v);
        }
    }
    out.push_str("</");
    out.push_str(base);
    out.push_str(">\n");
    Ok(())
}
