//! Boundaries (`vigil_cases::geo::parse_boundaries`): arbitrary bytes as a GeoJSON file from
//! outside. Never panics; what is accepted is what was promised (closed rings of at least four
//! positions, coordinates in range, unique codes) and keeps its codes when written and read back; point
//! in polygon, centroids and contiguity run on it without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use vigil_cases::geo::{GeoOptions, parse_boundaries};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = GeoOptions {
        max_vertices: 100_000,
        ..Default::default()
    };
    let Ok(b) = parse_boundaries(text, "fuzz.geojson", &opts, None) else {
        return;
    };
    let mut codes = BTreeSet::new();
    for a in &b.areas {
        assert!(codes.insert(a.code.clone()), "duplicate code accepted");
        for p in &a.polygons {
            for ring in std::iter::once(&p.exterior).chain(&p.holes) {
                assert!(ring.len() >= 4 && ring[0] == ring[ring.len() - 1]);
                for q in ring {
                    assert!(q[0].abs() <= 180.0 && q[1].abs() <= 90.0);
                }
            }
        }
        let _ = a.contains(a.centroid());
        let _ = a.area_km2();
    }
    let _ = b.queen_neighbours();
    // serde_json's default float parsing may differ in the last bit, which can tip a
    // degenerate ring either way: compare what comes back, not that it comes back.
    if let Ok(again) = parse_boundaries(&b.to_geojson().to_string(), "again", &opts, None) {
        assert_eq!(again.codes(), b.codes());
    }
});
