//! CSV intake through a mapping: all or nothing by default, every error named.

use crate::fixture;
use vigil_cases::intake::{Mapping, Mode, import};
use vigil_cases::model::{Age, Date, IdentifierKind, Sex};
use vigil_cases::{Error, Taxonomies};

/// The mapping of the test registers (CSV here, XLSX in `xlsx.rs`).
pub(crate) const MAPPING: &str = r#"{
  "taxonomy": "sahil-2022",
  "columns": {
    "id": "Case", "date": "Date", "category": "Crime", "subtype": "Type", "province": "Province",
    "district": "District", "outlet": "Newspaper", "victim_sex": "Gender", "victim_age": "Age",
    "abuser_category": "Abuser", "case_registered": "FIR", "identifiers": "Leads"
  },
  "values": {
    "category": { "Sexual abuse": "csa", "Kidnapping": "abduction" },
    "subtype": { "Rape": "rape", "Sodomy": "sodomy" },
    "victim_sex": { "Girl": "female", "Boy": "male" },
    "case_registered": { "Y": "yes", "N": "no" }
  }
}"#;

const GOOD: &str = "Case,Date,Crime,Type,Province,District,Newspaper,Gender,Age,Abuser,FIR,Leads
K-1,2023-03-04,Sexual abuse,Rape,A,A1,Daily Lantern,Girl,12,acquaintance,Y,phone:+99 300 1112223
K-2,2023-05,Kidnapping,,B,B1,River Post,Boy;Girl,9;11-15,stranger;stranger,N,
";

const BAD: &str = "Case,Date,Crime,Type,Province,District,Newspaper,Gender,Age,Abuser,FIR,Leads
K-1,2023-03-04,Sexual abuse,Rape,A,A1,Daily Lantern,Girl,12,acquaintance,Y,
K-2,2023-02-30,Theft,,A,B1,River Post,Boy,25,uncle,maybe,fax:123
";

fn run(text: &str, mode: Mode) -> vigil_cases::Result<vigil_cases::intake::ImportReport> {
    let m = Mapping::from_json(MAPPING).unwrap();
    import(
        text.as_bytes(),
        "test.csv",
        &m,
        &Taxonomies::builtin(),
        &fixture::areas(),
        Date {
            year: 2026,
            month: 1,
            day: 1,
        },
        mode,
    )
}

#[test]
fn good_file_imports() {
    let r = run(GOOD, Mode::AllOrNothing).unwrap();
    assert_eq!(r.rows, 2);
    assert!(r.errors.is_empty());
    let a = &r.incidents[0];
    assert_eq!(
        (a.id.as_str(), a.category.as_str(), a.subtype.as_deref()),
        ("K-1", "csa", Some("rape"))
    );
    assert_eq!(a.victims[0].sex, Sex::Female);
    assert_eq!(a.victims[0].age, Age::Years(12));
    assert_eq!(a.identifiers[0].kind, IdentifierKind::Phone);
    assert_eq!(a.identifiers[0].value, "+993001112223");
    let b = &r.incidents[1];
    assert_eq!(b.victims.len(), 2);
    assert_eq!(b.abusers.len(), 2);
    assert_eq!(b.date.month, Some(5));
    // No report date: the last day of the incident's month.
    assert_eq!(
        b.sources[0].date,
        Date {
            year: 2023,
            month: 5,
            day: 31
        }
    );
}

#[test]
fn file_with_errors_imports_nothing_unless_asked() {
    let Err(Error::Rows(errs)) = run(BAD, Mode::AllOrNothing) else {
        panic!("expected row errors")
    };
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let want = [
        "row 2 (incident K-2), field date: impossible or malformed date \"2023-02-30\" (want YYYY, YYYY-MM or YYYY-MM-DD)",
        "row 2 (incident K-2), field case_registered: unknown value \"maybe\"",
        "row 2 (incident K-2), field abuser_category: unknown value \"uncle\"",
        "row 2 (incident K-2), field victim_age: age 25 is not a child's (0..=18)",
        "row 2 (incident K-2), field identifiers: not kind:value with a known kind: \"fax:123\"",
    ];
    for w in want {
        assert!(text.contains(&w.to_string()), "missing {w}\ngot {text:#?}");
    }
    assert!(errs.iter().all(|e| e.row == 2));
    let r = run(BAD, Mode::SkipBadRows).unwrap();
    assert_eq!(r.incidents.len(), 1);
    assert_eq!(r.incidents[0].id, "K-1");
}

#[test]
fn unknown_category_and_area_mismatch_are_reported() {
    let text = "Case,Date,Crime,Type,Province,District,Newspaper,Gender,Age,Abuser,FIR,Leads
K-3,2023-03-04,Theft,,A,B1,Daily Lantern,Girl,12,acquaintance,Y,
";
    let Err(Error::Rows(errs)) = run(text, Mode::AllOrNothing) else {
        panic!("expected row errors")
    };
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["category", "area.district"]);
}

#[test]
fn mapping_errors_name_the_field() {
    let e =
        Mapping::from_json(r#"{"taxonomy":"sahil-2022","columns":{"colour":"X"}}"#).unwrap_err();
    assert!(
        e.to_string().contains("field \"colour\": unknown field"),
        "{e}"
    );
    let e = Mapping::from_json(r#"{"taxonomy":"sahil-2022","columns":{"date":"D"}}"#).unwrap_err();
    assert!(
        e.to_string().contains("required field has no column"),
        "{e}"
    );
    let m = Mapping::from_json(MAPPING).unwrap();
    let e = import(
        "A,B\n1,2\n".as_bytes(),
        "x.csv",
        &m,
        &Taxonomies::builtin(),
        &fixture::areas(),
        Date {
            year: 2026,
            month: 1,
            day: 1,
        },
        Mode::AllOrNothing,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("is not in the header of x.csv"),
        "{e}"
    );
}

/// The demo's register written by `write_register_csv` and read back by the intake equals the
/// generator's incidents as a register row can hold them (derived here field by field: one
/// source, no point, abusers by category only, each victim related to every abuser).
#[test]
fn register_csv_round_trip_of_the_demo() {
    use vigil_cases::demo::{DemoOptions, generate};
    use vigil_cases::intake::write_register_csv;
    use vigil_cases::model::{Abuser, Identifier, Sex, Victim};
    let d = generate(&DemoOptions {
        per_year: 150,
        ..Default::default()
    });
    let incidents = d
        .taxonomies
        .harmonise(&d.incidents, "sahil-2022")
        .expect("the demo maps into sahil-2022");
    let mut csv = Vec::new();
    write_register_csv(&mut csv, &incidents).unwrap();
    let today = Date {
        year: 2026,
        month: 1,
        day: 1,
    };
    let got = import(
        &csv[..],
        "register.csv",
        &Mapping::canonical("sahil-2022"),
        &d.taxonomies,
        &d.areas,
        today,
        Mode::AllOrNothing,
    )
    .unwrap();
    assert_eq!(got.rows, incidents.len());
    assert!(got.errors.is_empty());
    let mut checked_ids = 0;
    for (want, got) in incidents.iter().zip(&got.incidents) {
        let mut w = want.clone();
        w.sources.truncate(1);
        w.area.point = None;
        let outlet = w.sources[0].outlet.clone();
        w.abusers = w
            .abusers
            .iter()
            .enumerate()
            .map(|(k, a)| Abuser {
                pid: format!("{}-A{}", w.id, k + 1),
                sex: Sex::Unknown,
                age_band: None,
                juvenile: false,
                category: a.category,
            })
            .collect();
        let rel: Vec<_> = w
            .abusers
            .iter()
            .enumerate()
            .map(|(k, a)| (k, a.category))
            .collect();
        w.victims = w
            .victims
            .iter()
            .enumerate()
            .map(|(k, v)| Victim {
                pid: format!("{}-V{}", w.id, k + 1),
                sex: v.sex,
                age: v.age,
                relationships: rel.clone(),
            })
            .collect();
        w.identifiers = w
            .identifiers
            .iter()
            .map(|i| Identifier::new(i.kind, &i.value, &outlet))
            .collect();
        checked_ids += w.identifiers.len();
        assert_eq!(&w, got, "incident {}", want.id);
    }
    assert!(checked_ids > 100, "{checked_ids} identifiers");
}

#[test]
fn register_csv_refuses_what_it_cannot_write() {
    use vigil_cases::intake::write_register_csv;
    use vigil_cases::model::Identifier;
    let mut incs = fixture::incidents();
    incs[0].identifiers = vec![Identifier::new(
        IdentifierKind::Url,
        "http://example.invalid/a;b",
        "x",
    )];
    let e = write_register_csv(Vec::new(), &incs[..1]).unwrap_err();
    assert!(e.to_string().contains("list separator"), "{e}");
    let mut two = fixture::incidents();
    two[1].taxonomy = "sahil-2019".into();
    two[0].taxonomy = "sahil-2022".into();
    let e = write_register_csv(Vec::new(), &two[..2]).unwrap_err();
    assert!(e.to_string().contains("a register has one"), "{e}");
}
