//! Statistics against tables computed by hand from `fixture.rs` (the counts in the comments were
//! tallied from the fixture lines, not from the code).

use crate::fixture;
use vigil_cases::areas::Population;
use vigil_cases::stats::*;

fn one_way(dim: Dim) -> Vec<(String, u64)> {
    let t = table(&fixture::incidents(), dim).unwrap();
    t.rows
        .iter()
        .cloned()
        .zip(t.cells.iter().map(|r| r[0]))
        .collect()
}

fn pairs(xs: &[(&str, u64)]) -> Vec<(String, u64)> {
    xs.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

#[test]
fn sahil_year_on_year_rounding() {
    // The published series (field notes §1.2).
    assert_eq!(yoy_percent(3445, 3832), Some(11));
    assert_eq!(yoy_percent(3832, 2846), Some(-26));
    assert_eq!(yoy_percent(2846, 2960), Some(4));
    assert_eq!(yoy_percent(2960, 3852), Some(30));
    assert_eq!(yoy_percent(0, 5), None);
    // Half away from zero: 1/8 = 12.5% → 13, −12.5% → −13.
    assert_eq!(yoy_percent(8, 9), Some(13));
    assert_eq!(yoy_percent(8, 7), Some(-13));
}

#[test]
fn yearly_and_half_yearly_series() {
    let y = yearly(&fixture::incidents());
    assert_eq!(y.len(), 2);
    assert_eq!((y[0].year, y[0].count, y[0].yoy_percent), (2022, 10, None));
    assert_eq!(
        (y[1].year, y[1].count, y[1].yoy_percent),
        (2023, 12, Some(20))
    );
    assert!((y[1].per_day - 12.0 / 365.0).abs() < 1e-12);
    let h = half_yearly(&fixture::incidents());
    let got: Vec<(i32, u8, u64, Option<i64>)> = h
        .iter()
        .map(|r| (r.year, r.half, r.count, r.yoy_percent))
        .collect();
    // Incident 10 is known only to the year: in no half.
    assert_eq!(
        got,
        vec![
            (2022, 1, 6, None),
            (2022, 2, 3, None),
            (2023, 1, 7, Some(17)),
            (2023, 2, 5, Some(67))
        ]
    );
    assert!((h[2].per_day - 7.0 / 181.0).abs() < 1e-12);
}

#[test]
fn one_way_tables() {
    assert_eq!(
        one_way(Dim::Category),
        pairs(&[
            ("abduction", 6),
            ("child_marriage", 1),
            ("csa", 13),
            ("missing", 2)
        ])
    );
    assert_eq!(
        one_way(Dim::Subtype),
        pairs(&[
            ("attempted_csa", 2),
            ("incest", 1),
            ("murder_after_csa", 1),
            ("rape", 5),
            ("sodomy", 4)
        ])
    );
    assert_eq!(one_way(Dim::Sex), pairs(&[("female", 15), ("male", 8)]));
    assert_eq!(
        one_way(Dim::AgeBand),
        pairs(&[
            ("0-5", 1),
            ("6-10", 7),
            ("11-15", 12),
            ("16-18", 2),
            ("unknown", 1)
        ])
    );
    assert_eq!(
        one_way(Dim::AbuserCategory),
        pairs(&[
            ("acquaintance", 11),
            ("stranger", 6),
            ("relative", 3),
            ("neighbour", 1),
            ("service_provider", 1)
        ])
    );
    assert_eq!(
        one_way(Dim::Place),
        pairs(&[
            ("abuser_place", 3),
            ("victim_place", 3),
            ("street", 10),
            ("field", 3),
            ("shop", 1),
            ("unknown", 2)
        ])
    );
    assert_eq!(one_way(Dim::Province), pairs(&[("A", 17), ("B", 5)]));
    assert_eq!(
        one_way(Dim::District),
        pairs(&[("A1", 10), ("A2", 7), ("B1", 5)])
    );
    assert_eq!(
        one_way(Dim::Locality),
        pairs(&[("urban", 9), ("rural", 13)])
    );
    assert_eq!(
        one_way(Dim::Registered),
        pairs(&[("yes", 17), ("no", 3), ("unknown", 2)])
    );
}

#[test]
fn cross_tabs() {
    let inc = fixture::incidents();
    let t = crosstab(&inc, Dim::Category, Some(Dim::Year)).unwrap();
    assert_eq!(t.unit, Unit::Incident);
    assert_eq!(t.cols, vec!["2022", "2023"]);
    assert_eq!(
        t.rows,
        vec!["abduction", "child_marriage", "csa", "missing"]
    );
    assert_eq!(
        t.cells,
        vec![vec![3, 3], vec![1, 0], vec![5, 8], vec![1, 1]]
    );
    let t = crosstab(&inc, Dim::Sex, Some(Dim::AgeBand)).unwrap();
    assert_eq!(t.unit, Unit::Victim);
    assert_eq!(t.cols, vec!["0-5", "6-10", "11-15", "16-18", "unknown"]);
    assert_eq!(t.cells, vec![vec![0, 4, 8, 2, 1], vec![1, 3, 4, 0, 0]]);
    // Victims by district: a victim dimension crossed with an incident one counts victims.
    let t = crosstab(&inc, Dim::District, Some(Dim::Sex)).unwrap();
    assert_eq!(t.get("A1", "female"), 9);
    assert_eq!(t.get("A1", "male"), 2);
    assert!(crosstab(&inc, Dim::Sex, Some(Dim::AbuserCategory)).is_err());
}

#[test]
fn rates_per_100k_by_district() {
    let mut pop = Population::default();
    pop.figures.insert(("A1".into(), 2023), 50_000);
    pop.figures.insert(("B1".into(), 2022), 200_000);
    let r = rates_per_100k(&fixture::incidents(), &pop, false);
    // A1 2023: incidents 11, 12, 14, 18, 20 and 21 (two victims) = 7 victims.
    assert_eq!(
        (r[0].area.as_str(), r[0].year, r[0].victims),
        ("A1", 2023, 7)
    );
    assert!((r[0].per_100k - 14.0).abs() < 1e-9);
    // B1 2022: incidents 4, 6, 9 = 3 victims → 1.5 per 100,000.
    assert_eq!(r[1].victims, 3);
    assert!((r[1].per_100k - 1.5).abs() < 1e-9);
}

#[test]
fn harmonised_series_counts_gang_rape_as_rape() {
    let mut inc = fixture::incidents();
    inc[0].taxonomy = "sahil-2019".into();
    inc[0].subtype = Some("gang_rape".into());
    inc[1].taxonomy = "sahil-2019".into();
    inc[1].subtype = Some("attempted_sodomy".into());
    let h = vigil_cases::Taxonomies::builtin()
        .harmonise(&inc, "sahil-2022")
        .unwrap();
    let t = table(&h, Dim::Subtype).unwrap();
    assert_eq!(t.count("rape"), 5);
    assert_eq!(t.count("sodomy"), 3);
    assert_eq!(t.count("attempted_csa"), 3);
}

fn statuses(s: &Suppressed) -> Vec<Vec<char>> {
    s.status
        .iter()
        .map(|r| {
            r.iter()
                .map(|x| match x {
                    Status::Shown => '.',
                    Status::Primary => 'P',
                    Status::Secondary => 'S',
                })
                .collect()
        })
        .collect()
}

#[test]
fn suppression_by_hand() {
    let t = crosstab(&fixture::incidents(), Dim::Category, Some(Dim::Year)).unwrap();
    // child_marriage 1|0, missing 1|1 at k = 3: three primaries; the zero cell closes the cycle.
    let s = suppress(&t, 3);
    assert_eq!(
        statuses(&s),
        vec![
            vec!['.', '.'],
            vec!['P', 'S'],
            vec!['.', '.'],
            vec!['P', 'P']
        ]
    );

    // 3×3: the cheapest 4-cycle through (0,0) is (0,0),(0,1),(2,1),(2,0) = 1+5+4+4.
    let t = CrossTab {
        row_dim: Dim::District,
        col_dim: Some(Dim::Year),
        unit: Unit::Incident,
        rows: vec!["a".into(), "b".into(), "c".into()],
        cols: vec!["x".into(), "y".into(), "z".into()],
        cells: vec![vec![1, 5, 6], vec![7, 8, 9], vec![4, 4, 10]],
    };
    let s = suppress(&t, 3);
    assert_eq!(
        statuses(&s),
        vec![
            vec!['P', 'S', '.'],
            vec!['.', '.', '.'],
            vec!['S', 'S', '.']
        ]
    );

    // One-way: a single primary needs a partner (the smallest other non-zero cell).
    let t = table(&fixture::incidents(), Dim::Category).unwrap();
    let s = suppress(&t, 2);
    assert_eq!(
        statuses(&s),
        vec![vec!['.'], vec!['P'], vec!['.'], vec!['S']]
    );
    let s = suppress(&t, 3);
    assert_eq!(
        statuses(&s),
        vec![vec!['.'], vec!['P'], vec!['.'], vec!['P']]
    );
}

#[test]
fn csv_and_sdmx_exports() {
    let t = crosstab(&fixture::incidents(), Dim::Category, Some(Dim::Year)).unwrap();
    let s = suppress(&t, 3);
    let mut out = Vec::new();
    write_csv(&mut out, &s).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "category,2022,2023,total\nabduction,3,3,6\nchild_marriage,<3,x,1\ncsa,5,8,13\nmissing,<3,<3,2\ntotal,10,12,22\n"
    );
    let mut out = Vec::new();
    let meta = SdmxMeta {
        freq: "A".into(),
        time_period: None,
        ref_area: Some("XX".into()),
        unit: "NUMBER".into(),
    };
    write_sdmx(&mut out, &s, &meta).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "FREQ,REF_AREA,CATEGORY,TIME_PERIOD,UNIT_MEASURE,OBS_VALUE,OBS_STATUS,CONF_STATUS"
    );
    assert_eq!(lines[1], "A,XX,abduction,2022,NUMBER,3,A,F");
    assert_eq!(lines[3], "A,XX,abduction,_T,NUMBER,6,A,F");
    assert_eq!(lines[4], "A,XX,child_marriage,2022,NUMBER,,A,C");
    assert_eq!(lines[5], "A,XX,child_marriage,2023,NUMBER,,A,D");
    assert_eq!(*lines.last().unwrap(), "A,XX,_T,_T,NUMBER,22,A,F");
    // 4 rows × (2 cells + total) + 2 column totals + grand total + header.
    assert_eq!(lines.len(), 1 + 4 * 3 + 2 + 1);
}

/// Whether hidden cell `v` is determined by the published totals: `e_v` lies in the row space of
/// the constraint matrix (rank test by Gaussian elimination). Independent of the bridge argument
/// the implementation uses.
fn determined(s: &Suppressed) -> Vec<(usize, usize)> {
    let (nr, nc) = (s.table.rows.len(), s.table.cols.len());
    let vars: Vec<(usize, usize)> = (0..nr)
        .flat_map(|r| (0..nc).map(move |c| (r, c)))
        .filter(|&(r, c)| s.status[r][c] != Status::Shown)
        .collect();
    let mut eqs: Vec<Vec<f64>> = Vec::new();
    if s.one_way() {
        eqs.push(vec![1.0; vars.len()]);
    } else {
        for r in 0..nr {
            eqs.push(
                vars.iter()
                    .map(|&(vr, _)| f64::from(u8::from(vr == r)))
                    .collect(),
            );
        }
        for c in 0..nc {
            eqs.push(
                vars.iter()
                    .map(|&(_, vc)| f64::from(u8::from(vc == c)))
                    .collect(),
            );
        }
    }
    let rank = |m: &[Vec<f64>]| {
        let mut m = m.to_vec();
        let mut rank = 0;
        let cols = m.first().map_or(0, |r| r.len());
        for c in 0..cols {
            let Some(p) = (rank..m.len()).find(|&i| m[i][c].abs() > 1e-9) else {
                continue;
            };
            m.swap(rank, p);
            for i in 0..m.len() {
                if i != rank && m[i][c].abs() > 1e-9 {
                    let f = m[i][c] / m[rank][c];
                    for j in 0..cols {
                        m[i][j] -= f * m[rank][j];
                    }
                }
            }
            rank += 1;
        }
        rank
    };
    let base = rank(&eqs);
    vars.iter()
        .enumerate()
        .filter(|(v, _)| {
            let mut m = eqs.clone();
            let mut e = vec![0.0; vars.len()];
            e[*v] = 1.0;
            m.push(e);
            rank(&m) == base
        })
        .map(|(_, &x)| x)
        .collect()
}

#[test]
fn oracle_flags_an_unprotected_table() {
    // Make sure the oracle can fail: one hidden cell in a 2×2 table is determined.
    let t = CrossTab {
        row_dim: Dim::District,
        col_dim: Some(Dim::Year),
        unit: Unit::Incident,
        rows: vec!["a".into(), "b".into()],
        cols: vec!["x".into(), "y".into()],
        cells: vec![vec![1, 5], vec![7, 8]],
    };
    let mut s = suppress(&t, 3);
    assert!(determined(&s).is_empty());
    s.status = vec![
        vec![Status::Primary, Status::Shown],
        vec![Status::Shown, Status::Shown],
    ];
    assert_eq!(determined(&s), vec![(0, 0)]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn suppression_never_leaves_a_cell_recoverable(
            cells in (1usize..6, 1usize..6).prop_flat_map(|(r, c)| prop::collection::vec(prop::collection::vec(0u64..12, c), r)),
            k in 1u64..6,
        ) {
            let nr = cells.len();
            let nc = cells[0].len();
            let t = CrossTab {
                row_dim: Dim::District,
                col_dim: Some(Dim::Year),
                unit: Unit::Incident,
                rows: (0..nr).map(|i| format!("r{i}")).collect(),
                cols: (0..nc).map(|i| format!("c{i}")).collect(),
                cells: cells.clone(),
            };
            let s = suppress(&t, k);
            for r in 0..nr {
                for c in 0..nc {
                    let n = cells[r][c];
                    if n > 0 && n < k {
                        prop_assert_eq!(s.status[r][c], Status::Primary);
                    }
                }
            }
            let hidden = s.status.iter().flatten().filter(|x| **x != Status::Shown).count();
            let cells_n = nr * nc;
            // A one-way table of a single cell cannot be protected (the total is the cell).
            if hidden > 0 && !(s.one_way() && cells_n == 1) && !(s.one_way() && hidden == 1 && cells_n == 1) {
                prop_assert!(determined(&s).is_empty(), "recoverable: {:?} in {:?} status {:?}", determined(&s), cells, s.status);
            }
        }
    }
}
