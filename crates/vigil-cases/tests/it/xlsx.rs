//! XLSX intake: a workbook written by an independent library (`rust_xlsxwriter`) with real
//! Excel dates and numbers imports exactly as the same register as CSV does; hostile workbooks
//! are refused by their actual cost, naming the file.

use crate::fixture;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use vigil_cases::intake::{Mapping, Mode, import, import_xlsx};
use vigil_cases::model::Date;
use vigil_cases::xlsx::{self, Limits};
use vigil_cases::{Error, Taxonomies};

use crate::intake::MAPPING;

/// The same register as CSV text, the reference.
const CSV: &str = "Case,Date,Crime,Type,Province,District,Newspaper,Gender,Age,Abuser,FIR,Leads
K-1,2023-03-04,Sexual abuse,Rape,A,A1,Daily Lantern,Girl,12,acquaintance,Y,phone:+99 300 1112223
K-2,2023-05,Kidnapping,,B,B1,River Post,Boy;Girl,9;11-15,stranger;stranger,N,
K-3,2022-12-31,Sexual abuse,Sodomy,A,A1,Daily Lantern,Boy,7,relative,yes,
";

fn today() -> Date {
    Date {
        year: 2026,
        month: 1,
        day: 1,
    }
}

/// The register as a workbook: a cover sheet first, then "Register" with a title-less header
/// in row 2 (row 1 empty), dates as Excel dates (one with a time of day), ages as numbers,
/// FIR of K-3 as a boolean, and an empty row between K-2 and K-3.
fn workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let cover = wb.add_worksheet();
    cover.set_name("Cover").unwrap();
    cover
        .write_string(0, 0, "Fictitious register for tests")
        .unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Register").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let header = [
        "Case",
        "Date",
        "Crime",
        "Type",
        "Province",
        "District",
        "Newspaper",
        "Gender",
        "Age",
        "Abuser",
        "FIR",
        "Leads",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let text = |ws: &mut rust_xlsxwriter::Worksheet, r: u32, cells: &[(u16, &str)]| {
        for (c, v) in cells {
            ws.write_string(r, *c, *v).unwrap();
        }
    };
    text(
        ws,
        2,
        &[
            (0, "K-1"),
            (2, "Sexual abuse"),
            (3, "Rape"),
            (4, "A"),
            (5, "A1"),
            (6, "Daily Lantern"),
            (7, "Girl"),
            (9, "acquaintance"),
            (10, "Y"),
            (11, "phone:+99 300 1112223"),
        ],
    );
    ws.write_datetime_with_format(2, 1, ExcelDateTime::from_ymd(2023, 3, 4).unwrap(), &date)
        .unwrap();
    ws.write_number(2, 8, 12.0).unwrap();
    text(
        ws,
        3,
        &[
            (0, "K-2"),
            (1, "2023-05"),
            (2, "Kidnapping"),
            (4, "B"),
            (5, "B1"),
            (6, "River Post"),
            (7, "Boy;Girl"),
            (8, "9;11-15"),
            (9, "stranger;stranger"),
            (10, "N"),
        ],
    );
    text(
        ws,
        5,
        &[
            (0, "K-3"),
            (2, "Sexual abuse"),
            (3, "Sodomy"),
            (4, "A"),
            (5, "A1"),
            (6, "Daily Lantern"),
            (7, "Boy"),
            (9, "relative"),
        ],
    );
    let evening = ExcelDateTime::from_ymd(2022, 12, 31)
        .unwrap()
        .and_hms(21, 30, 0)
        .unwrap();
    ws.write_datetime_with_format(5, 1, evening, &date).unwrap();
    ws.write_number(5, 8, 7.0).unwrap();
    ws.write_boolean(5, 10, true).unwrap();
    wb.save_to_buffer().unwrap()
}

fn mapping() -> Mapping {
    Mapping::from_json(MAPPING).unwrap()
}

fn from_xlsx(
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &Limits,
) -> vigil_cases::Result<Vec<vigil_cases::Incident>> {
    import_xlsx(
        bytes,
        sheet,
        limits,
        "register.xlsx",
        &mapping(),
        &Taxonomies::builtin(),
        &fixture::areas(),
        today(),
        Mode::AllOrNothing,
    )
    .map(|r| r.incidents)
}

#[test]
fn a_workbook_imports_as_the_same_register_as_csv() {
    let want = import(
        CSV.as_bytes(),
        "register.csv",
        &mapping(),
        &Taxonomies::builtin(),
        &fixture::areas(),
        today(),
        Mode::AllOrNothing,
    )
    .unwrap()
    .incidents;
    assert_eq!(want.len(), 3);
    let got = from_xlsx(&workbook(), Some("Register"), &Limits::default()).unwrap();
    assert_eq!(got, want);
    // Hand-checked cells: an Excel date, a date with a time of day, a number, a boolean.
    assert_eq!(got[0].date.to_string(), "2023-03-04");
    assert_eq!(got[2].date.to_string(), "2022-12-31");
    assert_eq!(got[2].victims[0].age, vigil_cases::model::Age::Years(7));
    assert_eq!(got[2].case_registered, vigil_cases::model::Tri::Yes);
}

#[test]
fn the_sheet_is_named_or_the_first() {
    let bytes = workbook();
    let s = xlsx::read(&bytes, None, "register.xlsx", &Limits::default()).unwrap();
    assert_eq!(s.name, "Cover");
    assert_eq!(s.headers, vec!["Fictitious register for tests"]);
    let s = xlsx::read(
        &bytes,
        Some("Register"),
        "register.xlsx",
        &Limits::default(),
    )
    .unwrap();
    // Data rows count from 1 after the header, empty rows skipped.
    assert_eq!(
        s.rows
            .iter()
            .map(|(n, r)| (*n, r[0].as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "K-1"), (2, "K-2"), (3, "K-3")]
    );
    let err = from_xlsx(&bytes, Some("Cases"), &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "reading spreadsheet register.xlsx: no sheet named \"Cases\"; the sheets are [\"Cover\", \"Register\"]"
    );
    // The first sheet has none of the mapped columns: a mapping error, naming the file.
    let err = from_xlsx(&bytes, None, &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not in the header of register.xlsx"),
        "{err}"
    );
}

/// A minimal workbook written by hand (Python's zipfile, inline strings, no shared strings or
/// styles: the fuzz target's seed) reads too.
#[test]
fn a_hand_written_minimal_workbook_reads() {
    let bytes = include_bytes!("../../../../fuzz/seeds/cases_xlsx/register.xlsx");
    let s = xlsx::read(bytes, None, "register.xlsx", &Limits::default()).unwrap();
    assert_eq!(s.name, "Register");
    assert_eq!(s.headers[..3], ["Case", "Date", "Crime"]);
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.rows[0].1[0], "K-1");
    assert_eq!(s.rows[0].1[8], "12");
    assert_eq!(s.rows[0].1[11], "phone:+99 300 1112223");
}

#[test]
fn row_errors_name_the_data_row() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let header = CSV.lines().next().unwrap().split(',');
    for (c, h) in header.enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (c, v) in ["K-9", "2023-02-30", "Theft", "", "A", "A1", "Daily Lantern"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let Err(Error::Rows(errs)) = from_xlsx(&bytes, None, &Limits::default()) else {
        panic!("expected row errors")
    };
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        text.contains(&"row 1 (incident K-9), field date: impossible or malformed date \"2023-02-30\" (want YYYY, YYYY-MM or YYYY-MM-DD)".to_string()),
        "{text:#?}"
    );
}

/// The error of a refused sheet (without printing a whole accepted sheet when it is not).
fn refused(r: vigil_cases::Result<xlsx::Sheet>) -> String {
    match r {
        Ok(s) => panic!("accepted, {} rows", s.rows.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn hostile_workbooks_are_refused_naming_the_file() {
    // Not a ZIP archive at all, and a truncated workbook.
    let e = refused(xlsx::read(
        b"Case,Date\n",
        None,
        "notes.xlsx",
        &Limits::default(),
    ));
    assert!(
        e.starts_with("reading spreadsheet notes.xlsx: not an XLSX file"),
        "{e}"
    );
    let bytes = workbook();
    let e = refused(xlsx::read(
        &bytes[..bytes.len() / 2],
        None,
        "cut.xlsx",
        &Limits::default(),
    ));
    assert!(e.starts_with("reading spreadsheet cut.xlsx: "), "{e}");

    // Over the file size limit.
    let small = Limits {
        max_file_bytes: 100,
        ..Limits::default()
    };
    let e = refused(xlsx::read(&bytes, None, "big.xlsx", &small));
    assert!(e.contains("is over the limit of 100 bytes"), "{e}");

    // A sheet that inflates to several times its file (100,000 cells, about 2 MB of XML):
    // refused by ratio, and by inflated size.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..10_000u32 {
        for c in 0..10u16 {
            ws.write_number(r, c, 0.0).unwrap();
        }
    }
    let bomb = wb.save_to_buffer().unwrap();
    for tight in [
        Limits {
            max_ratio: 2,
            ..Limits::default()
        },
        Limits {
            max_inflated_bytes: 1 << 20,
            ..Limits::default()
        },
    ] {
        let e = refused(xlsx::read(&bomb, None, "bomb.xlsx", &tight));
        assert!(e.contains("possible decompression bomb"), "{e}");
    }
    // The same file is fine under the default limits.
    xlsx::read(&bomb, None, "bomb.xlsx", &Limits::default()).unwrap();

    // One cell in A1 and one in XFD1048576: refused by the column cap without allocating the
    // 17 billion cells a dense range would take.
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "Case").unwrap();
    ws.write_string(1_048_575, 16_383, "far").unwrap();
    let sparse = wb.save_to_buffer().unwrap();
    let e = refused(xlsx::read(&sparse, None, "sparse.xlsx", &Limits::default()));
    assert_eq!(
        e,
        "reading spreadsheet sparse.xlsx: sheet \"Sheet1\": a cell in column 16384 is past the limit of 1024 columns"
    );
}
