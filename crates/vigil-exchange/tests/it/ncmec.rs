//! NCMEC hash sharing v2 pages: a page shaped like the API's documentation read as expected
//! (entries, deletions, kept feedback and links, paging), bad entries skipped with their number
//! and offset, malformed pages refused with theirs, the writer's output, and round trips.
//!
//! Fingerprints are placeholders (repeated digits, digests of empty input), never real hashes.

use proptest::prelude::*;
use vigil_exchange::ncmec::{
    NAMESPACE, NcmecItem, NcmecPage, NcmecSection, parse_ncmec_page, write_ncmec_page,
};
use vigil_exchange::record::{PHOTODNA, Record};
use vigil_exchange::{
    Category, CategoryScheme, ContentType, Deletion, Error, Location, Signal, SignalKind,
    Timestamp, WriteError,
};

use crate::strategies as st;

const MD5: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const SHA1: &str = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

const FEEDBACK: &str = "<feedback lastUpdateTimestamp=\"2023-06-01T12:48:14Z\">\
<affirmativeFeedback type=\"Md5\"><members><member id=\"42\">Example &amp; Co</member></members>\
</affirmativeFeedback><negativeFeedback type=\"Sha1\"><reasons><reason guid=\"0000\" \
name=\"Example Reason\" type=\"Sha1\"/><members><member id=\"42\">Example &amp; Co</member>\
</members></reasons></negativeFeedback></feedback>";

fn page_text() -> String {
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<queryResult xmlns=\"{NAMESPACE}\">\n\
    <images count=\"5\" maxTimestamp=\"2017-10-24T15:10:00Z\">\n\
        <image>\n\
            <member id=\"42\">Example &amp; Co</member>\n\
            <timestamp>2017-10-24T15:00:00Z</timestamp>\n\
            <id>image1</id>\n\
            <classification>A1</classification>\n\
            <fingerprints>\n\
                <md5>{}</md5>\n\
                <sha1>{SHA1}</sha1>\n\
                <pdna>1,2,3,<![CDATA[4]]>...</pdna>\n\
                <pdq>{PDQ}</pdq>\n\
            </fingerprints>\n\
            <!-- feedback as the documentation shows it -->\n\
            <feedback lastUpdateTimestamp=\"2023-06-01T12:48:14Z\">\n\
                <affirmativeFeedback type=\"Md5\">\n\
                    <members><member id=\"42\">Example &amp; Co</member></members>\n\
                </affirmativeFeedback>\n\
                <negativeFeedback type=\"Sha1\">\n\
                    <reasons>\n\
                        <reason guid=\"0000\" name=\"Example Reason\" type=\"Sha1\"/>\n\
                        <members><member id=\"42\">Example &#x26; Co</member></members>\n\
                    </reasons>\n\
                </negativeFeedback>\n\
            </feedback>\n\
        </image>\n\
        <image><member id=\"42\">M</member><classification>A2</classification></image>\n\
        <image><id>image3</id><fingerprints><md5>nothex</md5></fingerprints></image>\n\
        <video><id>v0</id></video>\n\
        <deletedImage>\n\
            <member id=\"43\">Example Member2</member>\n\
            <id>image4</id>\n\
            <timestamp>2017-10-24T15:10:00Z</timestamp>\n\
        </deletedImage>\n\
    </images>\n\
    <videos count=\"2\" maxTimestamp=\"bogus\">\n\
        <video>\n\
            <member id=\"42\">Example &amp; Co</member>\n\
            <timestamp>2017-10-24T15:00:00Z</timestamp>\n\
            <id>video1</id>\n\
            <fingerprints>\n\
                <md5>{MD5}</md5>\n\
                <tmk-pdqf rel=\"self\" href=\"/v2/entries/1/fingerprints/TMK_PDQF\"/>\n\
                <videntifier rel=\"self\" href=\"/v2/entries/1/fingerprints/VIDENTIFIER\"/>\n\
                <netclean>0011</netclean>\n\
            </fingerprints>\n\
        </video>\n\
        <deletedVideo><member id=\"42\">Example &amp; Co</member><id>video4</id></deletedVideo>\n\
    </videos>\n\
    <paging>\n\
        <next>/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&amp;to=2017-10-30T00%3A00%3A00.000Z&amp;start=2001&amp;size=1000&amp;max=3000</next>\n\
    </paging>\n\
</queryResult>\n",
        MD5.to_uppercase()
    )
}

fn sig(kind: SignalKind, v: &str) -> Signal {
    Signal::new(kind, v).unwrap()
}

fn ts(s: &str) -> Option<Timestamp> {
    Some(Timestamp::parse(s).unwrap())
}

fn member(id: &str) -> std::collections::BTreeMap<String, String> {
    [("ncmec.member_id".to_string(), id.to_string())].into()
}

fn first_entry() -> Record {
    let mut extra = member("42");
    extra.insert("ncmec.xml.feedback".into(), FEEDBACK.into());
    Record {
        signals: vec![
            sig(SignalKind::Md5, MD5),
            sig(SignalKind::Sha1, SHA1),
            sig(SignalKind::Other(PHOTODNA.into()), "1,2,3,4..."),
            sig(SignalKind::Pdq, PDQ),
        ],
        ids: vec!["image1".into()],
        content: Some(ContentType::Photo),
        category: Some(Category {
            scheme: CategoryScheme::Ncmec,
            value: "A1".into(),
        }),
        source: Some("Example & Co".into()),
        updated: ts("2017-10-24T15:00:00Z"),
        extra,
        ..Record::default()
    }
}

fn video_entry() -> Record {
    let mut extra = member("42");
    extra.insert(
        "ncmec.fingerprint_xml".into(),
        "<tmk-pdqf rel=\"self\" href=\"/v2/entries/1/fingerprints/TMK_PDQF\"/>\
         <videntifier rel=\"self\" href=\"/v2/entries/1/fingerprints/VIDENTIFIER\"/>"
            .into(),
    );
    Record {
        signals: vec![
            sig(SignalKind::Md5, MD5),
            sig(SignalKind::Other("netclean".into()), "0011"),
        ],
        ids: vec!["video1".into()],
        content: Some(ContentType::Video),
        source: Some("Example & Co".into()),
        updated: ts("2017-10-24T15:00:00Z"),
        extra,
        ..Record::default()
    }
}

#[test]
fn a_page_as_documented() {
    let text = page_text();
    let page = parse_ncmec_page(text.as_bytes(), "page1").unwrap();
    let images = page.images.as_ref().unwrap();
    assert_eq!(images.count, Some(5));
    assert_eq!(images.max_timestamp, ts("2017-10-24T15:10:00Z"));
    assert_eq!(
        images.items,
        [
            NcmecItem::Entry(first_entry()),
            NcmecItem::Deleted(Deletion {
                id: Some("image4".into()),
                content: Some(ContentType::Photo),
                source: Some("Example Member2".into()),
                at: ts("2017-10-24T15:10:00Z"),
                extra: member("43"),
                ..Deletion::default()
            }),
        ]
    );
    let videos = page.videos.as_ref().unwrap();
    assert_eq!((videos.count, &videos.max_timestamp), (Some(2), &None));
    assert_eq!(
        videos.items,
        [
            NcmecItem::Entry(video_entry()),
            NcmecItem::Deleted(Deletion {
                id: Some("video4".into()),
                content: Some(ContentType::Video),
                source: Some("Example & Co".into()),
                extra: member("42"),
                ..Deletion::default()
            }),
        ]
    );
    assert_eq!(
        page.next.as_deref(),
        Some(
            "/v2/entries?from=2017-10-20T00%3A00%3A00.000Z&to=2017-10-30T00%3A00%3A00.000Z\
             &start=2001&size=1000&max=3000"
        )
    );
    // Entries are numbered across sections, offsets count the BOM.
    let offset = |needle: &str| text.find(needle).unwrap() as u64;
    let want = [
        (
            Location::Xml {
                entry: Some(2),
                offset: offset("<image><member id=\"42\">M</member>"),
            },
            "no <id>",
        ),
        (
            Location::Xml {
                entry: Some(3),
                offset: offset("<image><id>image3"),
            },
            "fingerprint <md5>: md5 \"nothex\": 'n' is not a hex digit",
        ),
        (
            Location::Xml {
                entry: Some(4),
                offset: offset("<video><id>v0"),
            },
            "<video> inside <images>",
        ),
        (
            Location::Xml {
                entry: None,
                offset: offset("<videos"),
            },
            "<videos> maxTimestamp: timestamp \"bogus\" is not RFC 3339 \
             (YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm])",
        ),
    ];
    let got: Vec<(Location, &str)> = page
        .errors
        .iter()
        .map(|e| (e.location, e.message.as_str()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        page.errors[0].to_string(),
        format!(
            "page1:entry 2 (byte {}): no <id>",
            offset("<image><member id=\"42\">M")
        )
    );
}

#[test]
fn empty_and_minimal_pages() {
    let text = format!(
        "<?xml version=\"1.0\"?><queryResult xmlns=\"{NAMESPACE}\"><images count=\"0\"/>\
         <videos count=\"0\"/></queryResult>"
    );
    let page = parse_ncmec_page(text.as_bytes(), "p").unwrap();
    let empty = NcmecSection {
        count: Some(0),
        ..NcmecSection::default()
    };
    assert_eq!(page.images, Some(empty.clone()));
    assert_eq!(page.videos, Some(empty));
    assert_eq!(page.next, None);
    // No namespace at all is accepted, as is a prefixed root.
    let page = parse_ncmec_page(b"<queryResult/>", "p").unwrap();
    assert_eq!(page, NcmecPage::default());
    let text = format!("<h:queryResult xmlns:h=\"{NAMESPACE}\"></h:queryResult>");
    assert!(parse_ncmec_page(text.as_bytes(), "p").is_ok());
}

#[test]
fn malformed_pages_name_the_page_and_offset() {
    let ok_start = format!("<queryResult xmlns=\"{NAMESPACE}\"><images>");
    let cases: Vec<(String, u64, &str)> = vec![
        (
            format!("{ok_start}<image><id>x</id></images></queryResult>"),
            ok_start.len() as u64 + 17,
            "ill-formed document: expected `</image>`, but `</images>` was found",
        ),
        ("".into(), 0, "no root element"),
        (
            "<queryResult xmlns=\"urn:other\"/>".into(),
            0,
            "the root element is <queryResult>, not <queryResult> in \
             https://hashsharing.ncmec.org/hashsharing/v2",
        ),
        (
            "<status/>".into(),
            0,
            "the root element is <status>, not <queryResult> in \
             https://hashsharing.ncmec.org/hashsharing/v2",
        ),
        (
            format!("{ok_start}<image><id>&bogus;</id></image></images></queryResult>"),
            ok_start.len() as u64 + 11,
            "unknown entity &bogus;",
        ),
        (
            format!("{ok_start}<image><id>a\u{1}b</id></image></images></queryResult>"),
            ok_start.len() as u64 + 11,
            "the character '\\u{1}' is not allowed in XML",
        ),
        (
            format!("{ok_start}</images></queryResult><queryResult/>"),
            ok_start.len() as u64 + 23,
            "content after the root element",
        ),
        (
            format!("{ok_start}<image>"),
            ok_start.len() as u64 + 7,
            "the input ends inside <image>",
        ),
    ];
    for (text, offset, message) in cases {
        let err = parse_ncmec_page(text.as_bytes(), "p.xml").unwrap_err();
        let Error::Xml {
            name,
            offset: got_offset,
            message: got,
        } = &err
        else {
            panic!("{text}: {err:?}")
        };
        assert_eq!((name.as_str(), got.as_str()), ("p.xml", message), "{text}");
        assert_eq!(*got_offset, offset, "{text}: {err}");
    }
}

#[test]
fn hostile_nesting_is_refused_not_overflowed() {
    let text = format!(
        "<queryResult><images><image>{}{}</image></images></queryResult>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let err = parse_ncmec_page(text.as_bytes(), "deep").unwrap_err();
    assert!(err.to_string().contains("nest deeper than 64"), "{err}");
}

#[test]
fn the_writer_spells_a_page_as_ncmec() {
    let mut r = video_entry();
    r.tags = vec!["left out".into()];
    let page = NcmecPage {
        images: Some(NcmecSection::default()),
        videos: Some(NcmecSection::new(vec![
            NcmecItem::Entry(r),
            NcmecItem::Deleted(Deletion {
                id: Some("video4".into()),
                at: ts("2017-10-25T00:00:00Z"),
                ..Deletion::default()
            }),
        ])),
        next: Some("/v2/entries?a=1&b=<2>".into()),
        errors: Vec::new(),
    };
    let mut out = Vec::new();
    write_ncmec_page(&mut out, &page).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <queryResult xmlns=\"{NAMESPACE}\">\n\
             \x20 <images/>\n\
             \x20 <videos count=\"2\" maxTimestamp=\"2017-10-25T00:00:00Z\">\n\
             \x20   <video><member id=\"42\">Example &amp; Co</member>\
             <timestamp>2017-10-24T15:00:00Z</timestamp><id>video1</id><fingerprints>\
             <md5>{MD5}</md5><netclean>0011</netclean>\
             <tmk-pdqf rel=\"self\" href=\"/v2/entries/1/fingerprints/TMK_PDQF\"/>\
             <videntifier rel=\"self\" href=\"/v2/entries/1/fingerprints/VIDENTIFIER\"/>\
             </fingerprints></video>\n\
             \x20   <deletedVideo><id>video4</id><timestamp>2017-10-25T00:00:00Z</timestamp>\
             </deletedVideo>\n\
             \x20 </videos>\n\
             \x20 <paging><next>/v2/entries?a=1&amp;b=&lt;2&gt;</next></paging>\n\
             </queryResult>\n"
        )
    );
}

#[test]
fn the_writer_refuses_what_would_not_read_back() {
    let section = |item| NcmecPage {
        images: Some(NcmecSection::new(vec![item])),
        ..NcmecPage::default()
    };
    let mut video = first_entry();
    video.content = Some(ContentType::Video);
    let mut two_ids = first_entry();
    two_ids.ids.push("image2".into());
    let mut bad_xml = first_entry();
    bad_xml
        .extra
        .insert("ncmec.xml.feedback".into(), "<feedback>".into());
    let mut control = first_entry();
    control.source = Some("a\u{7}b".into());
    for (item, want) in [
        (
            NcmecItem::Entry(video),
            "Some(Video) content in the Photo section",
        ),
        (
            NcmecItem::Entry(two_ids),
            "an entry has one id, this record 2",
        ),
        (
            NcmecItem::Entry(bad_xml),
            "extra \"ncmec.xml.feedback\" is not well-formed XML",
        ),
        (
            NcmecItem::Entry(control),
            "the character '\\u{7}' cannot be written in XML",
        ),
        (
            NcmecItem::Deleted(Deletion::default()),
            "a deletion without an id",
        ),
    ] {
        let err = write_ncmec_page(Vec::new(), &section(item)).unwrap_err();
        let WriteError::Unwritable { record: 0, message } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(message, want);
    }
}

#[test]
fn a_parsed_page_writes_back_identically() {
    let page = parse_ncmec_page(page_text().as_bytes(), "page1").unwrap();
    let mut out = Vec::new();
    write_ncmec_page(&mut out, &page).unwrap();
    let again = parse_ncmec_page(&out, "again").unwrap();
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.images, page.images);
    // The bogus maxTimestamp was dropped when read.
    assert_eq!(again.videos, page.videos);
    assert_eq!(again.next, page.next);
}

fn entry(content: ContentType) -> impl Strategy<Value = NcmecItem> {
    let signals = prop::collection::vec(
        prop_oneof![
            st::signal(false),
            st::hex(32).prop_map(|h| Signal::new(SignalKind::Pdq, &h).unwrap()),
            "[0-9a-f]{4,12}"
                .prop_map(|v| Signal::new(SignalKind::Other("netclean".into()), &v).unwrap()),
        ],
        0..4,
    );
    let kept = prop::option::of(prop::sample::select(vec![
        ("ncmec.xml.feedback", FEEDBACK),
        (
            "ncmec.fingerprint_xml",
            "<tmk-pdqf rel=\"self\" href=\"/v2/entries/1/fingerprints/TMK_PDQF\"/>",
        ),
        ("ncmec.attr.lang", "en & fr"),
    ]));
    (
        st::text(),
        prop::option::of(st::text()),
        prop::option::of("[0-9]{1,5}"),
        prop::option::of(st::timestamp()),
        prop::option::of(st::text()),
        signals,
        kept,
        any::<bool>(),
    )
        .prop_map(
            move |(id, source, member_id, updated, class, signals, kept, deleted)| {
                let mut extra = std::collections::BTreeMap::new();
                if let Some(m) = member_id {
                    extra.insert("ncmec.member_id".to_string(), m);
                }
                if let Some((k, v)) = kept {
                    extra.insert(k.to_string(), v.to_string());
                }
                if deleted {
                    extra.remove("ncmec.fingerprint_xml");
                    return NcmecItem::Deleted(Deletion {
                        id: Some(id),
                        content: Some(content.clone()),
                        source,
                        at: updated,
                        extra,
                        ..Deletion::default()
                    });
                }
                NcmecItem::Entry(Record {
                    signals,
                    ids: vec![id],
                    content: Some(content.clone()),
                    source,
                    updated,
                    category: class.map(|value| Category {
                        scheme: CategoryScheme::Ncmec,
                        value,
                    }),
                    extra,
                    ..Record::default()
                })
            },
        )
}

fn section(content: ContentType) -> impl Strategy<Value = Option<NcmecSection>> {
    prop::option::of((
        prop::collection::vec(entry(content), 0..5),
        any::<bool>(),
        prop::option::of(st::timestamp()),
    ))
    .prop_map(|s| {
        s.map(|(items, computed, max)| {
            if computed {
                NcmecSection::new(items)
            } else {
                NcmecSection {
                    count: None,
                    max_timestamp: max,
                    items,
                }
            }
        })
    })
}

proptest! {
    #[test]
    fn random_pages_round_trip(
        images in section(ContentType::Photo),
        videos in section(ContentType::Video),
        next in prop::option::of(st::text()),
    ) {
        let page = NcmecPage { images, videos, next, errors: Vec::new() };
        let mut out = Vec::new();
        write_ncmec_page(&mut out, &page).unwrap();
        let again = parse_ncmec_page(&out, "rt").unwrap();
        prop_assert_eq!(again, page);
    }

    #[test]
    fn junk_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_rewrite(&bytes)?;
    }

    #[test]
    fn xmlish_junk_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "<images>", "</images>", "<videos count=\"1\">", "</videos>", "<image>", "</image>",
            "<deletedImage>", "</deletedImage>", "<video>", "</video>", "<id>", "</id>", "x1",
            "<member id=\"4\">", "</member>", "<fingerprints>", "</fingerprints>", "<md5>",
            "</md5>", "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "<pdna>", "</pdna>", "<f/>", "&amp;",
            "<timestamp>", "</timestamp>", "2017-10-24T15:00:00Z", "<paging><next>", "</next>",
            "</paging>", "<feedback>", "</feedback>", " ", "<!-- c -->", "<![CDATA[<]]>",
        ]), 0..50),
    ) {
        let text = format!("<queryResult xmlns=\"{NAMESPACE}\">{}</queryResult>", parts.concat());
        check_rewrite(text.as_bytes())?;
    }
}

/// Whatever parses writes back to the same page.
fn check_rewrite(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(page) = parse_ncmec_page(bytes, "junk") else {
        return Ok(());
    };
    for e in &page.errors {
        prop_assert!(e.to_string().starts_with("junk:"), "{e}");
    }
    let mut out = Vec::new();
    write_ncmec_page(&mut out, &page).unwrap();
    let again = parse_ncmec_page(&out, "again").unwrap();
    prop_assert!(again.errors.is_empty(), "{:?}", again.errors);
    prop_assert_eq!(again.images, page.images);
    prop_assert_eq!(again.videos, page.videos);
    prop_assert_eq!(again.next, page.next);
    Ok(())
}

/// Found by the `ncmec_xml` fuzz target: a link-only fingerprint whose attribute name
/// (`href:`) is not a well-formed XML name was kept, and the page could then not be written.
/// Such an entry is an entry error now; the rest of the page is read.
#[test]
fn an_unwritable_kept_element_is_an_entry_error() {
    let xml = format!(
        "<queryResult xmlns=\"{}\"><videos count=\"2\">\
         <video><member id=\"42\">A</member><id>v1</id><fingerprints>\
         <md5>d41d8cd98f00b204e9800998ecf8427e</md5>\
         <tmk-pdqf rel=\"self\" href:=\"/x\"/></fingerprints></video>\
         <video><member id=\"42\">A</member><id>v2</id><fingerprints>\
         <md5>00112233445566778899aabbccddeeff</md5></fingerprints></video>\
         </videos></queryResult>",
        vigil_exchange::ncmec::NAMESPACE
    );
    let page = vigil_exchange::ncmec::parse_ncmec_page(xml.as_bytes(), "p.xml").unwrap();
    assert_eq!(page.errors.len(), 1, "{:?}", page.errors);
    let e = page.errors[0].to_string();
    assert!(
        e.starts_with("p.xml:entry 1") && e.contains("not well-formed"),
        "{e}"
    );
    let items = &page.videos.as_ref().unwrap().items;
    assert_eq!(items.len(), 1);
    let mut out = Vec::new();
    vigil_exchange::ncmec::write_ncmec_page(&mut out, &page).unwrap();
}
