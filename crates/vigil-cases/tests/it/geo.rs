//! The map's pieces: boundaries validated feature by feature, point in polygon, centroids and
//! areas against hand-worked shapes, population CSV and rates against hand-computed figures,
//! Getis-Ord Gi* against a worked 3 × 3 grid and a brute-force formula, displacement bounds,
//! and the demo's planted hotspot.

use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeSet;
use vigil_cases::Error;
use vigil_cases::demo::{self, DemoOptions};
use vigil_cases::displace::{self, DisplaceKey};
use vigil_cases::geo::{GeoOptions, distance_km, parse_boundaries};
use vigil_cases::hotspot::{self, HotClass, Weights, gi_star};
use vigil_cases::model::Locality;
use vigil_cases::population::{area_rates, parse_population_csv};

/// A GeoJSON grid of `rows` × `cols` unit squares from (0, 0), codes `G{r}{c}` (row 0 south).
fn grid(rows: usize, cols: usize) -> String {
    let mut f = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let (x, y) = (c as f64, r as f64);
            f.push(
                json!({"type": "Feature", "properties": {"code": format!("G{r}{c}")},
                "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 1.0, y],
                [x + 1.0, y + 1.0], [x, y + 1.0], [x, y]]]}}),
            );
        }
    }
    json!({"type": "FeatureCollection", "features": f}).to_string()
}

#[test]
fn a_grid_parses_and_queen_neighbours_share_a_vertex() {
    let b = parse_boundaries(&grid(3, 3), "grid", &GeoOptions::default(), None).unwrap();
    assert_eq!(b.areas.len(), 9);
    let nb = b.queen_neighbours();
    // Corner G00 (index 0) touches G01, G10, G11 (indices 1, 3, 4); the centre all 8 others.
    assert_eq!(nb[0], vec![1, 3, 4]);
    assert_eq!(nb[4], vec![0, 1, 2, 3, 5, 6, 7, 8]);
    assert_eq!(nb[1], vec![0, 2, 3, 4, 5]);
    // Rook-only touching is not required: G00 and G11 share only the vertex (1, 1).
    assert!(nb[0].contains(&4));
}

#[test]
fn every_bad_feature_is_reported_and_nothing_imported() {
    let good = |code: &str| {
        json!({"type": "Feature", "properties": {"ADM2_PCODE": code},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}})
    };
    let text = json!({"type": "FeatureCollection", "features": [
        good("A1"),
        {"type": "Feature", "properties": {"ADM2_PCODE": "A2"},
            "geometry": {"type": "Point", "coordinates": [0, 0]}},
        {"type": "Feature", "properties": {"ADM2_PCODE": "A3"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}},
        {"type": "Feature", "properties": {"ADM2_PCODE": "A4"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}},
        {"type": "Feature", "properties": {"ADM2_PCODE": "A5"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}},
        {"type": "Feature", "properties": {"name": "no code"},
            "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
        good("A1"),
        good("ZZ"),
        {"type": "Feature", "properties": {"ADM2_PCODE": "A6"},
            "geometry": {"type": "MultiPolygon", "coordinates": [
                [[[0, 0], [1, 0], [1, 1], [0, 0]]],
                [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]]}},
    ]})
    .to_string();
    let known: BTreeSet<String> = ["A1", "A2", "A3", "A4", "A5", "A6"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let opts = GeoOptions {
        code_property: "ADM2_PCODE".into(),
        ..Default::default()
    };
    let Err(Error::Features { what, errors }) =
        parse_boundaries(&text, "adm2.geojson", &opts, Some(&known))
    else {
        panic!("bad features must fail the whole file");
    };
    assert_eq!(what, "adm2.geojson");
    let got: Vec<(usize, String)> = errors
        .iter()
        .map(|e| (e.feature, e.problem.clone()))
        .collect();
    let has = |i: usize, needle: &str| {
        assert!(
            got.iter().any(|(f, p)| *f == i && p.contains(needle)),
            "feature {i} should be reported with {needle:?}: {got:?}"
        )
    };
    has(1, "not a Polygon");
    has(2, "not closed");
    has(3, "at least 4");
    has(4, "out of range");
    has(5, "no area code");
    has(6, "duplicate area code (first in feature 0)");
    has(7, "unknown to the dataset");
    has(8, "polygon 1, ring 1: hole lies outside");
    assert_eq!(got.len(), 8, "{got:?}");
    // The message names the file and the count.
    let e = parse_boundaries(&text, "adm2.geojson", &opts, Some(&known)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("boundaries adm2.geojson: 8 bad feature(s)")
    );
}

#[test]
fn limits_and_whole_file_errors() {
    let opts = GeoOptions {
        max_features: 3,
        ..Default::default()
    };
    let e = parse_boundaries(&grid(2, 2), "g", &opts, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("4 features, more than the limit of 3"),
        "{e}"
    );
    let opts = GeoOptions {
        max_vertices: 12,
        ..Default::default()
    };
    let e = parse_boundaries(&grid(2, 2), "g", &opts, None).unwrap_err();
    assert!(
        e.to_string().contains("more than the limit of 12 vertices"),
        "{e}"
    );
    let opts = GeoOptions {
        max_bytes: 10,
        ..Default::default()
    };
    assert!(parse_boundaries(&grid(1, 1), "g", &opts, None).is_err());
    for bad in [
        "",
        "[]",
        "{\"type\": \"Feature\"}",
        "{\"type\": \"FeatureCollection\"}",
    ] {
        assert!(matches!(
            parse_boundaries(bad, "g", &GeoOptions::default(), None),
            Err(Error::Geo { .. })
        ));
    }
    // NaN cannot be written in JSON; 1e999 parses as infinity or fails: either way refused.
    let inf = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"X"},
      "geometry":{"type":"Polygon","coordinates":[[[0,0],[1e999,0],[1,1],[0,0]]]}}]}"#;
    assert!(parse_boundaries(inf, "g", &GeoOptions::default(), None).is_err());
}

/// A 4 × 4 square with a 2 × 2 hole at (1..3, 1..3), and a separate unit square at (10, 0).
fn holed() -> vigil_cases::geo::Boundary {
    let text = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "H", "name": "Holed"},
        "geometry": {"type": "MultiPolygon", "coordinates": [
            [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]]],
            [[[10, 0], [11, 0], [11, 1], [10, 1], [10, 0]]]]}}]})
    .to_string();
    let mut b = parse_boundaries(&text, "h", &GeoOptions::default(), None).unwrap();
    b.areas.remove(0)
}

#[test]
fn point_in_polygon_with_holes_area_and_centroid() {
    let b = holed();
    assert_eq!(b.name.as_deref(), Some("Holed"));
    assert!(b.contains([0.5, 0.5]));
    assert!(b.contains([3.5, 2.0]));
    assert!(!b.contains([2.0, 2.0]), "inside the hole");
    assert!(b.contains([10.5, 0.5]), "second polygon");
    assert!(!b.contains([5.0, 0.5]));
    assert!(!b.contains([-0.5, 2.0]));
    // Area: 16 − 4 + 1 = 13 square degrees.
    assert!((b.area_deg2() - 13.0).abs() < 1e-12);
    // Centroid: the holed square's is (2, 2) (symmetric) with weight 12, the unit square's is
    // (10.5, 0.5) with weight 1: x = (12·2 + 10.5)/13 = 34.5/13, y = (12·2 + 0.5)/13 = 24.5/13.
    let c = b.centroid();
    assert!((c[0] - 34.5 / 13.0).abs() < 1e-12, "{c:?}");
    assert!((c[1] - 24.5 / 13.0).abs() < 1e-12, "{c:?}");
    // A clockwise triangle (0,0),(0,3),(3,0): area 4.5, centroid (1, 1).
    let t = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "T"}, "geometry": {"type": "Polygon",
        "coordinates": [[[0, 0], [0, 3], [3, 0], [0, 0]]]}}]})
    .to_string();
    let t = parse_boundaries(&t, "t", &GeoOptions::default(), None).unwrap();
    let t = &t.areas[0];
    assert!((t.area_deg2() - 4.5).abs() < 1e-12);
    let c = t.centroid();
    assert!(
        (c[0] - 1.0).abs() < 1e-12 && (c[1] - 1.0).abs() < 1e-12,
        "{c:?}"
    );
    // km²: 4.5 deg² × 111.195² × cos(1°) ≈ 4.5 × 12364.3 × 0.99985 ≈ 55631.
    assert!((t.area_km2() - 55_631.0).abs() < 10.0, "{}", t.area_km2());
}

#[test]
fn haversine_distance_matches_known_values() {
    // One degree of latitude on the mean sphere: 6371.0088 × π/180 = 111.195 km.
    assert!((distance_km([0.0, 0.0], [0.0, 1.0]) - 111.195).abs() < 0.001);
    // Along the equator likewise; at 60° north a degree of longitude is about half.
    assert!((distance_km([0.0, 0.0], [1.0, 0.0]) - 111.195).abs() < 0.001);
    assert!((distance_km([0.0, 60.0], [1.0, 60.0]) - 55.597).abs() < 0.01);
}

#[test]
fn population_csv_and_rates_per_100k_by_hand() {
    let csv = "area_code,year,population,age_group\nA1,2022,200000,0-17\nA1,2023,250000,0-17\n\
               A2,2022,50000,0-17\nA1,2022,900000,all\n";
    let t = parse_population_csv(csv.as_bytes(), "pop.csv", None).unwrap();
    assert_eq!(t.rows.len(), 4);
    assert!(
        t.population(None).is_err(),
        "two groups: one must be chosen"
    );
    let p = t.population(Some("0-17")).unwrap();
    assert_eq!(p.get("A1", 2023), Some(250_000));
    assert_eq!(p.get("A1", 2022), Some(200_000));

    // Incidents: A1 2022: 3 incidents with 1+1+2 = 4 victims; A1 2023: 1 incident, 1 victim;
    // A2 2022: 1 incident, 1 victim; A2 2023 (no population): 1 incident, not counted.
    let d = demo::generate(&DemoOptions {
        per_year: 10,
        network_sizes: vec![],
        duplicate_share: 0.0,
        ..Default::default()
    });
    let base = d.incidents[0].clone();
    let mk = |area: &str, year: i32, victims: usize| {
        let mut i = base.clone();
        i.area.district = area.into();
        i.date.year = year;
        i.victims = vec![base.victims[0].clone(); victims];
        i
    };
    let inc = vec![
        mk("A1", 2022, 1),
        mk("A1", 2022, 1),
        mk("A1", 2022, 2),
        mk("A1", 2023, 1),
        mk("A2", 2022, 1),
        mk("A2", 2023, 1),
    ];
    let r = area_rates(
        &inc,
        &p,
        &["A1".into(), "A2".into(), "A3".into()],
        2022,
        2023,
    );
    // A1: 5 victims over 200,000 + 250,000 = 450,000 person-years: 5 × 100,000 / 450,000 =
    // 1.1111 per 100,000 per year.
    assert_eq!(
        (r[0].victims, r[0].incidents, r[0].person_years),
        (5, 4, 450_000)
    );
    assert!((r[0].per_100k.unwrap() - 10.0 / 9.0).abs() < 1e-12);
    // A2: 2023 has no figure, so only 2022 counts: 1 × 100,000 / 50,000 = 2.
    assert_eq!((r[1].victims, r[1].person_years), (1, 50_000));
    assert_eq!(r[1].per_100k, Some(2.0));
    // A3: no population at all.
    assert_eq!(r[2].per_100k, None);
    // One year: A1 2023: 1 × 100,000 / 250,000 = 0.4.
    let r = area_rates(&inc, &p, &["A1".into()], 2023, 2023);
    assert_eq!(r[0].per_100k, Some(0.4));
}

#[test]
fn population_csv_reports_every_bad_row() {
    let known: BTreeSet<String> = ["A1".to_string()].into();
    let csv = "area_code,year,population\nA1,2022,100\nB9,2022,100\nA1,20x2,100\nA1,2023,-5\n\
               A1,2023,0\nA1,2022,300\n";
    let Err(Error::Rows(rows)) = parse_population_csv(csv.as_bytes(), "p", Some(&known)) else {
        panic!("bad rows must fail the file");
    };
    let got: Vec<(usize, &str)> = rows.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (2, "area_code"),
            (3, "year"),
            (4, "population"),
            (5, "population"),
            (6, "area_code")
        ]
    );
    assert!(rows[4].problem.contains("already given in row 1"));
    let bad_header = "code,year,pop\nA1,2022,1\n";
    assert!(parse_population_csv(bad_header.as_bytes(), "p", None).is_err());
}

/// Queen neighbours of a 3 × 3 grid, row-major, computed by hand from the grid's geometry.
fn grid_neighbours(rows: usize, cols: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for r in 0..rows as i64 {
        for c in 0..cols as i64 {
            let mut nb = Vec::new();
            for rr in r - 1..=r + 1 {
                for cc in c - 1..=c + 1 {
                    if (rr, cc) != (r, c)
                        && (0..rows as i64).contains(&rr)
                        && (0..cols as i64).contains(&cc)
                    {
                        nb.push((rr * cols as i64 + cc) as usize);
                    }
                }
            }
            out.push(nb);
        }
    }
    out
}

#[test]
fn gi_star_on_a_3x3_grid_by_hand() {
    // Values (row 0 first), a planted hot corner at the top left:
    //   9 9 1
    //   9 1 1
    //   1 1 1
    // n = 9, Σx = 33, X̄ = 11/3, Σx² = 249, S² = 249/9 − 121/9 = 128/9.
    // Corner (0,0): itself and 3 neighbours, w = 4, local sum 9+9+9+1 = 28.
    //   z = (28 − 4·11/3) / (S·sqrt((9·4 − 16)/8)) = (40/3) / sqrt(128/9 · 5/2)
    //     = (40/3) / (sqrt(320)/3) = 40/sqrt(320) = sqrt(5) = 2.2360680;
    //   p = erfc(sqrt(5)/sqrt(2)) = 0.025347 → hot at 95%.
    // Edge (0,1): w = 6, local 9+9+1+9+1+1 = 30: z = (30 − 22) / (S·sqrt((54 − 36)/8))
    //   = 8 / (sqrt(128/9)·1.5) = 8/sqrt(32) = sqrt(2) = 1.4142136, p = 0.157299 → none.
    // Centre: neighbour to all 9, the denominator n·w − w² is 0: z = 0 by convention.
    // Corner (2,2): w = 4, local 4: z = (4 − 44/3)/(sqrt(320)/3) = −32/sqrt(320) = −1.7888544,
    //   p = 0.073638 → cold at 90%.
    // Corner (0,2) and (2,0): w = 4, local 12: z = (12 − 44/3)/(sqrt(320)/3) = −8/sqrt(320)
    //   = −0.4472136.
    let x = [9.0, 9.0, 1.0, 9.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    let g = gi_star(&x, &grid_neighbours(3, 3)).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(g[0].z, 5f64.sqrt()), "{:?}", g[0]);
    assert!((g[0].p - 0.025_347).abs() < 1e-5, "{:?}", g[0]);
    assert_eq!(g[0].class, HotClass::Hot95);
    assert_eq!(g[0].neighbours, 3);
    assert!(close(g[1].z, 2f64.sqrt()));
    assert!((g[1].p - 0.157_299).abs() < 1e-5);
    assert_eq!(g[1].class, HotClass::None);
    assert!(close(g[4].z, 0.0));
    assert!(close(g[8].z, -32.0 / 320f64.sqrt()));
    assert!((g[8].p - 0.073_638).abs() < 1e-5);
    assert_eq!(g[8].class, HotClass::Cold90);
    assert!(close(g[2].z, -8.0 / 320f64.sqrt()));
    assert!(close(g[6].z, -8.0 / 320f64.sqrt()));
    // The same weights come out of the boundaries' shared vertices.
    let b = parse_boundaries(&grid(3, 3), "g", &GeoOptions::default(), None).unwrap();
    assert_eq!(
        hotspot::neighbours(&b, Weights::Queen),
        grid_neighbours(3, 3)
    );
    // A distance band of 1.2° (≈133 km) on the centroids gives rook neighbours only (diagonals
    // are 157 km apart at these latitudes).
    let band = hotspot::neighbours(&b, Weights::DistanceBand { km: 133.0 });
    assert_eq!(band[0], vec![1, 3]);
    assert_eq!(band[4], vec![1, 3, 5, 7]);
}

#[test]
fn p_values_and_classes_at_the_usual_thresholds() {
    // Standard normal two-sided: 1.6449 → 0.10, 1.9600 → 0.05, 2.5758 → 0.01.
    assert!((hotspot::two_sided_p(1.644_854) - 0.10).abs() < 1e-6);
    assert!((hotspot::two_sided_p(1.959_964) - 0.05).abs() < 1e-6);
    assert!((hotspot::two_sided_p(-2.575_829) - 0.01).abs() < 1e-6);
    assert!((hotspot::two_sided_p(0.0) - 1.0).abs() < 1e-6);
    assert_eq!(HotClass::of(3.0, 0.002), HotClass::Hot99);
    assert_eq!(HotClass::of(-2.0, 0.045), HotClass::Cold95);
    assert_eq!(HotClass::of(1.0, 0.3), HotClass::None);
}

#[test]
fn gi_star_refuses_what_it_cannot_compute() {
    assert!(gi_star(&[1.0, 2.0], &[vec![1], vec![0]]).is_err());
    assert!(gi_star(&[1.0, 2.0, 3.0], &[vec![1], vec![0]]).is_err());
    assert!(gi_star(&[1.0, f64::NAN, 3.0], &[vec![], vec![], vec![]]).is_err());
    // A constant map: nothing stands out.
    let g = gi_star(&[2.0; 4], &grid_neighbours(2, 2)).unwrap();
    assert!(g.iter().all(|x| x.z == 0.0 && x.class == HotClass::None));
}

/// Gi* straight from the textbook formula with a dense weight matrix (w_ii = 1).
fn oracle(x: &[f64], w: &[Vec<f64>]) -> Vec<f64> {
    let n = x.len();
    let nf = n as f64;
    let mean: f64 = x.iter().sum::<f64>() / nf;
    let s = (x.iter().map(|v| v * v).sum::<f64>() / nf - mean * mean).sqrt();
    (0..n)
        .map(|i| {
            let mut sw = 0.0;
            let mut sw2 = 0.0;
            let mut swx = 0.0;
            for j in 0..n {
                sw += w[i][j];
                sw2 += w[i][j] * w[i][j];
                swx += w[i][j] * x[j];
            }
            (swx - mean * sw) / (s * ((nf * sw2 - sw * sw) / (nf - 1.0)).sqrt())
        })
        .collect()
}

proptest! {
    #[test]
    fn gi_star_matches_the_dense_formula(
        (x, edges) in (4usize..14).prop_flat_map(|n| (
            prop::collection::vec(0.0f64..100.0, n),
            prop::collection::vec((0..n, 0..n), 0..30),
        ))
    ) {
        let n = x.len();
        let mut w = vec![vec![0.0; n]; n];
        let mut nb = vec![Vec::new(); n];
        for i in 0..n {
            w[i][i] = 1.0;
        }
        for (a, b) in edges {
            if a != b && w[a][b] == 0.0 {
                w[a][b] = 1.0;
                w[b][a] = 1.0;
                nb[a].push(b);
                nb[b].push(a);
            }
        }
        let mean = x.iter().sum::<f64>() / n as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        prop_assume!(var > 1e-6);
        let got = gi_star(&x, &nb).unwrap();
        let want = oracle(&x, &w);
        for i in 0..n {
            if nb[i].len() + 1 == n {
                // Neighbour to all: 0/0 in the formula, 0 by convention.
                prop_assert_eq!(got[i].z, 0.0);
            } else {
                prop_assert!((got[i].z - want[i]).abs() < 1e-6 * (1.0 + want[i].abs()),
                    "area {}: {} vs {}", i, got[i].z, want[i]);
                let p = vigil_cases::hotspot::erfc(want[i].abs() / 2f64.sqrt());
                prop_assert!((got[i].p - p).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn point_in_convex_polygon_agrees_with_half_planes(
        px in -2.0f64..6.0, py in -2.0f64..6.0,
    ) {
        // A convex pentagon, counter-clockwise: inside iff left of every edge.
        let ring = [[0.0, 0.0], [4.0, 0.0], [5.0, 2.5], [2.0, 4.5], [-1.0, 2.0], [0.0, 0.0]];
        let left = ring.windows(2).all(|e| {
            (e[1][0] - e[0][0]) * (py - e[0][1]) - (e[1][1] - e[0][1]) * (px - e[0][0]) > 0.0
        });
        let right_on_edge = ring.windows(2).any(|e| {
            ((e[1][0] - e[0][0]) * (py - e[0][1]) - (e[1][1] - e[0][1]) * (px - e[0][0])).abs() < 1e-9
        });
        prop_assume!(!right_on_edge);
        prop_assert_eq!(vigil_cases::geo::in_ring(&ring, [px, py]), left);
    }
}

#[test]
fn permutation_pseudo_p_agrees_with_the_hot_corner() {
    let x = [9.0, 9.0, 1.0, 9.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    let nb = grid_neighbours(3, 3);
    let p = hotspot::permutation_p(&x, &nb, 999, 7);
    // Corner (0,0)'s three neighbours sum to 19; of the other 8 values (two 9s, six 1s) a
    // random draw of 3 reaches 19 only by taking both 9s and a 1: C(2,2)·C(6,1)/C(8,3) =
    // 6/56 = 0.107. The pseudo-p must be near that.
    assert!((p[0] - 6.0 / 56.0).abs() < 0.04, "{}", p[0]);
    // Same seed, same figures.
    assert_eq!(p, hotspot::permutation_p(&x, &nb, 999, 7));
}

fn key(s: &str) -> DisplaceKey {
    DisplaceKey::new(format!("{s:0>32}").as_bytes()).unwrap()
}

#[test]
fn displacement_bounds_district_stability_and_key() {
    let d = demo::generate(&DemoOptions {
        per_year: 200,
        ..Default::default()
    });
    let k1 = key("one");
    let k2 = key("two");
    let mut n = 0;
    let mut max_rural: f64 = 0.0;
    for i in d.incidents.iter().filter(|i| i.area.point.is_some()) {
        let p = i.area.point.unwrap();
        let p = [p.lon, p.lat];
        let b = d.boundaries.get(&i.area.district).unwrap();
        assert!(b.contains(p), "demo points lie in their district");
        let q = displace::displace(&k1, &i.id, p, i.area.locality, b).expect("room to move");
        let km = distance_km(p, q);
        let max = match i.area.locality {
            Locality::Urban => 2.0,
            _ => 10.0,
        };
        assert!(
            km >= 0.1 - 1e-6 && km <= max + 1e-6,
            "{} moved {km} km",
            i.id
        );
        if i.area.locality != Locality::Urban {
            max_rural = max_rural.max(km);
        }
        assert!(b.contains(q), "{} left its district", i.id);
        assert_ne!(p, q, "never the exact point");
        assert_eq!(
            displace::displace(&k1, &i.id, p, i.area.locality, b),
            Some(q),
            "stable"
        );
        let q2 = displace::displace(&k2, &i.id, p, i.area.locality, b).unwrap();
        assert!(distance_km(q, q2) > 1e-6, "another key, another place");
        n += 1;
    }
    assert!(n > 100, "{n} points");
    assert!(max_rural > 2.0, "rural points move further than urban ones");
    // Rural: ≤ 5 km except about 1 in 100 up to 10 km; count over many ids at one point.
    let b = d.boundaries.get("NM01").unwrap();
    let c = b.centroid();
    let far = (0..4000)
        .filter(|k| {
            let q = displace::displace(&k1, &format!("X-{k}"), c, Locality::Rural, b).unwrap();
            distance_km(c, q) > 5.0 + 1e-9
        })
        .count();
    // Of the 1% far draws, those beyond 5 km are about half: 4000 × 0.01 × 0.5 ≈ 20.
    assert!((5..=50).contains(&far), "{far} far displacements");
    assert!(DisplaceKey::new(b"short").is_none());
}

#[test]
fn a_point_with_no_room_is_withheld() {
    // A district 100 m wide: no 2 km displacement fits.
    let text = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "S"}, "geometry": {"type": "Polygon",
        "coordinates": [[[0, 0], [0.0009, 0], [0.0009, 0.0009], [0, 0.0009], [0, 0]]]}}]})
    .to_string();
    let b = parse_boundaries(&text, "s", &GeoOptions::default(), None).unwrap();
    let q = displace::displace(
        &key("k"),
        "I-1",
        [0.00045, 0.00045],
        Locality::Urban,
        &b.areas[0],
    );
    assert_eq!(q, None);
}

#[test]
fn the_demo_map_is_valid_and_gi_star_finds_the_planted_hotspot() {
    let d = demo::generate(&DemoOptions::default());
    // The boundaries survive their own validator (through GeoJSON text).
    let known: BTreeSet<String> = d.areas.districts.keys().cloned().collect();
    let text = d.boundaries.to_geojson().to_string();
    let b = parse_boundaries(&text, "demo", &GeoOptions::default(), Some(&known)).unwrap();
    assert_eq!(b.areas.len(), 30);
    for a in &b.areas {
        let c = a.centroid();
        assert!((-30.0..=-27.0).contains(&c[0]) && (-40.0..=-37.5).contains(&c[1]));
    }
    let nb = hotspot::neighbours(&b, Weights::Queen);
    // An interior cell of the 6 × 5 grid touches 8 others.
    assert_eq!(nb.iter().map(Vec::len).max(), Some(8));
    let pop = demo::population_table(&d).population(None).unwrap();
    let codes = b.codes();
    let rates = area_rates(&d.incidents, &pop, &codes, 2019, 2023);
    let x: Vec<f64> = rates.iter().map(|r| r.per_100k.unwrap()).collect();
    let g = gi_star(&x, &nb).unwrap();
    let hot: BTreeSet<String> = codes
        .iter()
        .zip(&g)
        .filter(|(_, g)| g.class >= HotClass::Hot95)
        .map(|(c, _)| c.clone())
        .collect();
    let planted: BTreeSet<String> = d.truth.hotspot.iter().cloned().collect();
    assert_eq!(planted.len(), 6);
    let found = hot.intersection(&planted).count();
    assert!(found >= 5, "hot at 95%: {hot:?}, planted: {planted:?}");
    // Nothing far from the corner is hot: every hot area is planted or touches the planted block.
    for h in &hot {
        let i = codes.iter().position(|c| c == h).unwrap();
        assert!(
            planted.contains(h) || nb[i].iter().any(|&j| planted.contains(&codes[j])),
            "{h} is hot away from the hotspot"
        );
    }
}
