//! Administrative boundaries: a GeoJSON `FeatureCollection` of `Polygon`/`MultiPolygon`
//! features (OCHA's common operational datasets, a national statistics office, the demo), one
//! feature per area, and the little planar geometry the map needs: point in polygon (holes
//! included), centroids, areas, shared vertices.
//!
//! The file comes from outside, so it is validated feature by feature and **every** bad feature
//! is reported with its index (0-based, as in the file's `features` array) and reason: not a
//! polygon, a ring too short or not closed, coordinates out of range or not finite, a hole
//! outside its polygon's box, the area code missing, duplicated or unknown to the dataset's
//! area registry. A file with any error yields no boundaries at all (nothing half-imported).
//! Limits on the file size, the feature count and the total number of vertices keep a hostile
//! file from exhausting memory.
//!
//! Coordinates are GeoJSON's `[longitude, latitude]` (WGS 84); a third value (height) is
//! accepted and dropped. The geometry is planar in degrees, which is what district-sized areas
//! need for "which district holds this point" and "which districts touch"; areas in km² use a
//! local equirectangular scale, good to a few percent for areas the size of a district.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A position `[lon, lat]` in degrees.
pub type Pos = [f64; 2];

/// One polygon: an outer ring and holes, each ring closed (first position = last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    /// The outer ring.
    pub exterior: Vec<Pos>,
    /// Holes.
    #[serde(default)]
    pub holes: Vec<Vec<Pos>>,
}

/// The boundary of one area: one or more polygons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boundary {
    /// Area code (P-code).
    pub code: String,
    /// Display name, when the file has one.
    pub name: Option<String>,
    /// The polygons (a `Polygon` feature has one).
    pub polygons: Vec<Polygon>,
}

/// Validated boundaries, in file order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Boundaries {
    /// One boundary per area.
    pub areas: Vec<Boundary>,
}

/// One bad feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureError {
    /// 0-based index in the `features` array.
    pub feature: usize,
    /// The area code, when the feature has one.
    pub code: Option<String>,
    /// What is wrong, lower case, no final period.
    pub problem: String,
}

impl std::fmt::Display for FeatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "feature {}", self.feature)?;
        if let Some(c) = &self.code {
            write!(f, " ({c})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Options of [`parse_boundaries`].
#[derive(Debug, Clone)]
pub struct GeoOptions {
    /// The feature property that holds the area code (OCHA: `ADM2_PCODE` for districts).
    pub code_property: String,
    /// The property that holds the display name (OCHA: `ADM2_EN`), if any.
    pub name_property: Option<String>,
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Most features accepted.
    pub max_features: usize,
    /// Most vertices accepted over all features.
    pub max_vertices: usize,
}

impl Default for GeoOptions {
    fn default() -> Self {
        GeoOptions {
            code_property: "code".into(),
            name_property: Some("name".into()),
            max_bytes: 64 << 20,
            max_features: 10_000,
            max_vertices: 4_000_000,
        }
    }
}

/// Parses and validates a boundaries file. `known`: the dataset's area codes (a code not in it
/// is an error); `None` accepts any code. `what` names the input in errors.
pub fn parse_boundaries(
    text: &str,
    what: &str,
    opts: &GeoOptions,
    known: Option<&BTreeSet<String>>,
) -> Result<Boundaries> {
    let file = |problem: String| Error::Geo {
        what: what.into(),
        problem,
    };
    if text.len() > opts.max_bytes {
        return Err(file(format!(
            "{} bytes, more than the limit of {}",
            text.len(),
            opts.max_bytes
        )));
    }
    let root: Value =
        serde_json::from_str(text).map_err(|e| file(format!("not valid JSON: {e}")))?;
    let Some(obj) = root.as_object() else {
        return Err(file("not a JSON object".into()));
    };
    if obj.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(file("not a GeoJSON FeatureCollection".into()));
    }
    let Some(features) = obj.get("features").and_then(Value::as_array) else {
        return Err(file("no \"features\" array".into()));
    };
    if features.len() > opts.max_features {
        return Err(file(format!(
            "{} features, more than the limit of {}",
            features.len(),
            opts.max_features
        )));
    }
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(features.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut vertices = 0usize;
    for (i, f) in features.iter().enumerate() {
        let mut err = |code: Option<&str>, problem: String| {
            errors.push(FeatureError {
                feature: i,
                code: code.map(str::to_string),
                problem,
            })
        };
        if f.get("type").and_then(Value::as_str) != Some("Feature") {
            err(None, "not a Feature".into());
            continue;
        }
        let props = f.get("properties").and_then(Value::as_object);
        let code = match props.and_then(|p| p.get(&opts.code_property)) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let name = opts
            .name_property
            .as_ref()
            .and_then(|n| props?.get(n)?.as_str())
            .map(str::to_string);
        let c = code.as_deref();
        match c {
            None => err(
                None,
                format!("no area code in property {:?}", opts.code_property),
            ),
            Some(code) => {
                if let Some(first) = seen.get(code) {
                    err(c, format!("duplicate area code (first in feature {first})"));
                } else {
                    seen.insert(code.to_string(), i);
                }
                if let Some(k) = known
                    && !k.contains(code)
                {
                    err(c, "area code unknown to the dataset's areas".into());
                }
            }
        }
        let polygons = match geometry(f.get("geometry")) {
            Ok(p) => p,
            Err(problem) => {
                err(c, problem);
                continue;
            }
        };
        vertices += polygons
            .iter()
            .map(|p| p.exterior.len() + p.holes.iter().map(Vec::len).sum::<usize>())
            .sum::<usize>();
        if vertices > opts.max_vertices {
            err(
                c,
                format!(
                    "the file has more than the limit of {} vertices",
                    opts.max_vertices
                ),
            );
            break;
        }
        if let Some(code) = code {
            out.push(Boundary {
                code,
                name,
                polygons,
            });
        }
    }
    if !errors.is_empty() {
        return Err(Error::Features {
            what: what.into(),
            errors,
        });
    }
    Ok(Boundaries { areas: out })
}

/// Parses and validates one GeoJSON `Polygon` or `MultiPolygon` geometry object (as stored by
/// `vigil-store`); the error says what is wrong.
pub fn parse_geometry(g: &Value) -> std::result::Result<Vec<Polygon>, String> {
    geometry(Some(g))
}

fn geometry(g: Option<&Value>) -> std::result::Result<Vec<Polygon>, String> {
    let Some(g) = g.and_then(Value::as_object) else {
        return Err("no geometry".into());
    };
    let coords = g.get("coordinates");
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(vec![polygon(coords, None)?]),
        Some("MultiPolygon") => {
            let Some(ps) = coords.and_then(Value::as_array) else {
                return Err("MultiPolygon coordinates are not an array".into());
            };
            if ps.is_empty() {
                return Err("MultiPolygon has no polygons".into());
            }
            ps.iter()
                .enumerate()
                .map(|(k, p)| polygon(Some(p), Some(k)))
                .collect()
        }
        Some(other) => Err(format!(
            "geometry is a {other}, not a Polygon or MultiPolygon"
        )),
        None => Err("geometry has no type".into()),
    }
}

fn polygon(v: Option<&Value>, part: Option<usize>) -> std::result::Result<Polygon, String> {
    let at = |ring: usize| match part {
        Some(k) => format!("polygon {k}, ring {ring}"),
        None => format!("ring {ring}"),
    };
    let Some(rings) = v.and_then(Value::as_array) else {
        return Err(match part {
            Some(k) => format!("polygon {k}: coordinates are not an array of rings"),
            None => "coordinates are not an array of rings".into(),
        });
    };
    if rings.is_empty() {
        return Err(match part {
            Some(k) => format!("polygon {k} has no rings"),
            None => "polygon has no rings".into(),
        });
    }
    let mut out = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        out.push(parse_ring(ring).map_err(|e| format!("{}: {e}", at(r)))?);
    }
    let exterior = out.remove(0);
    let (lo, hi) = bbox(&exterior);
    for (h, hole) in out.iter().enumerate() {
        let (a, b) = bbox(hole);
        if a[0] < lo[0] || a[1] < lo[1] || b[0] > hi[0] || b[1] > hi[1] {
            return Err(format!("{}: hole lies outside its outer ring", at(h + 1)));
        }
    }
    Ok(Polygon {
        exterior,
        holes: out,
    })
}

fn parse_ring(v: &Value) -> std::result::Result<Vec<Pos>, String> {
    let Some(ps) = v.as_array() else {
        return Err("not an array of positions".into());
    };
    let mut ring = Vec::with_capacity(ps.len());
    for (k, p) in ps.iter().enumerate() {
        let nums: Option<Vec<f64>> = p
            .as_array()
            .map(|a| a.iter().map(Value::as_f64).collect())
            .unwrap_or(None);
        let Some(nums) = nums.filter(|n| n.len() == 2 || n.len() == 3) else {
            return Err(format!("position {k} is not [longitude, latitude]"));
        };
        let (lon, lat) = (nums[0], nums[1]);
        if !lon.is_finite() || !lat.is_finite() {
            return Err(format!("position {k} is not finite"));
        }
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(format!(
                "position {k} [{lon}, {lat}] is out of range (longitude -180..180, latitude -90..90)"
            ));
        }
        ring.push([lon, lat]);
    }
    if ring.len() < 4 {
        return Err(format!(
            "{} positions, a ring needs at least 4 (closed)",
            ring.len()
        ));
    }
    if ring[0] != ring[ring.len() - 1] {
        return Err("not closed (the last position differs from the first)".into());
    }
    if signed_area(&ring) == 0.0 {
        return Err("encloses no area".into());
    }
    Ok(ring)
}

fn bbox(ring: &[Pos]) -> (Pos, Pos) {
    let mut lo = [f64::INFINITY; 2];
    let mut hi = [f64::NEG_INFINITY; 2];
    for p in ring {
        for d in 0..2 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }
    (lo, hi)
}

/// Shoelace area of a closed ring in square degrees, positive when counter-clockwise.
pub fn signed_area(ring: &[Pos]) -> f64 {
    ring.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

/// Whether a point lies inside a closed ring (even-odd rule; points on an edge may go either
/// way).
pub fn in_ring(ring: &[Pos], p: Pos) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

impl Polygon {
    /// Inside the outer ring and in no hole.
    pub fn contains(&self, p: Pos) -> bool {
        in_ring(&self.exterior, p) && !self.holes.iter().any(|h| in_ring(h, p))
    }

    /// Area in square degrees (holes subtracted).
    pub fn area_deg2(&self) -> f64 {
        signed_area(&self.exterior).abs()
            - self.holes.iter().map(|h| signed_area(h).abs()).sum::<f64>()
    }

    /// Area-weighted centroid and area (square degrees), holes subtracted.
    fn moments(&self) -> (f64, Pos) {
        let mut a = 0.0;
        let mut c = [0.0, 0.0];
        let mut add = |ring: &[Pos], sign: f64| {
            let sa = signed_area(ring);
            let s = sign * sa.signum();
            let (mut cx, mut cy) = (0.0, 0.0);
            for w in ring.windows(2) {
                let cross = w[0][0] * w[1][1] - w[1][0] * w[0][1];
                cx += (w[0][0] + w[1][0]) * cross;
                cy += (w[0][1] + w[1][1]) * cross;
            }
            // Σ(x_i + x_{i+1})·cross / 6 = centroid_x × signed area.
            a += s * sa;
            c[0] += s * cx / 6.0;
            c[1] += s * cy / 6.0;
        };
        add(&self.exterior, 1.0);
        for h in &self.holes {
            add(h, -1.0);
        }
        (a, c)
    }
}

impl Boundary {
    /// Whether any of the polygons holds the point.
    pub fn contains(&self, p: Pos) -> bool {
        self.polygons.iter().any(|q| q.contains(p))
    }

    /// Area in square degrees.
    pub fn area_deg2(&self) -> f64 {
        self.polygons.iter().map(Polygon::area_deg2).sum()
    }

    /// Area in km², on a local equirectangular scale at the centroid's latitude.
    pub fn area_km2(&self) -> f64 {
        let lat = self.centroid()[1].to_radians();
        self.area_deg2() * KM_PER_DEG_LAT * KM_PER_DEG_LAT * lat.cos()
    }

    /// The area-weighted centroid of all polygons, holes subtracted (it may lie outside a
    /// crescent-shaped area).
    pub fn centroid(&self) -> Pos {
        let (mut a, mut c) = (0.0, [0.0, 0.0]);
        for p in &self.polygons {
            let (pa, pc) = p.moments();
            a += pa;
            c[0] += pc[0];
            c[1] += pc[1];
        }
        [c[0] / a, c[1] / a]
    }

    /// The bounding box `(min, max)`.
    pub fn bbox(&self) -> (Pos, Pos) {
        let mut lo = [f64::INFINITY; 2];
        let mut hi = [f64::NEG_INFINITY; 2];
        for p in &self.polygons {
            let (a, b) = bbox(&p.exterior);
            for d in 0..2 {
                lo[d] = lo[d].min(a[d]);
                hi[d] = hi[d].max(b[d]);
            }
        }
        (lo, hi)
    }

    /// Every vertex, for contiguity.
    fn vertices(&self) -> impl Iterator<Item = Pos> + '_ {
        self.polygons
            .iter()
            .flat_map(|p| std::iter::once(&p.exterior).chain(&p.holes))
            .flatten()
            .copied()
    }
}

/// Kilometres per degree of latitude (mean).
pub const KM_PER_DEG_LAT: f64 = 111.195;

/// Great-circle distance in km (haversine, mean Earth radius 6371.0088 km).
pub fn distance_km(a: Pos, b: Pos) -> f64 {
    let (la1, la2) = (a[1].to_radians(), b[1].to_radians());
    let dlat = la2 - la1;
    let dlon = (b[0] - a[0]).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().min(1.0).asin()
}

impl Boundaries {
    /// The boundary of an area code.
    pub fn get(&self, code: &str) -> Option<&Boundary> {
        self.areas.iter().find(|b| b.code == code)
    }

    /// The codes, in file order.
    pub fn codes(&self) -> Vec<String> {
        self.areas.iter().map(|b| b.code.clone()).collect()
    }

    /// The first area holding a point.
    pub fn locate(&self, p: Pos) -> Option<&Boundary> {
        self.areas.iter().find(|b| {
            let (lo, hi) = b.bbox();
            p[0] >= lo[0] && p[0] <= hi[0] && p[1] >= lo[1] && p[1] <= hi[1] && b.contains(p)
        })
    }

    /// Queen contiguity: for each area (file order), the indices of the areas sharing at least
    /// one vertex with it (exactly equal coordinates, as boundaries cut from one map have).
    pub fn queen_neighbours(&self) -> Vec<Vec<usize>> {
        let mut by_vertex: BTreeMap<(u64, u64), BTreeSet<usize>> = BTreeMap::new();
        for (i, b) in self.areas.iter().enumerate() {
            for v in b.vertices() {
                // +0.0 turns -0.0 into 0.0 so that both spell one vertex.
                let key = ((v[0] + 0.0).to_bits(), (v[1] + 0.0).to_bits());
                by_vertex.entry(key).or_default().insert(i);
            }
        }
        let mut out = vec![BTreeSet::new(); self.areas.len()];
        for set in by_vertex.values() {
            for &i in set {
                for &j in set {
                    if i != j {
                        out[i].insert(j);
                    }
                }
            }
        }
        out.into_iter().map(|s| s.into_iter().collect()).collect()
    }

    /// Writes the boundaries as a GeoJSON FeatureCollection (`code`, `name` properties).
    pub fn to_geojson(&self) -> Value {
        let features: Vec<Value> = self
            .areas
            .iter()
            .map(|b| b.to_feature(serde_json::Map::new()))
            .collect();
        serde_json::json!({"type": "FeatureCollection", "features": features})
    }
}

impl Boundary {
    /// A GeoJSON Feature of this boundary with `code`, `name` and the extra properties.
    pub fn to_feature(&self, mut props: serde_json::Map<String, Value>) -> Value {
        props.insert("code".into(), Value::from(self.code.clone()));
        if let Some(n) = &self.name {
            props.insert("name".into(), Value::from(n.clone()));
        }
        serde_json::json!({"type": "Feature", "properties": props, "geometry": self.geometry()})
    }

    /// The GeoJSON geometry object (`Polygon` for one polygon, else `MultiPolygon`).
    pub fn geometry(&self) -> Value {
        let rings = |p: &Polygon| -> Value {
            std::iter::once(&p.exterior)
                .chain(&p.holes)
                .map(|r| {
                    r.iter()
                        .map(|q| serde_json::json!([q[0], q[1]]))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
                .into()
        };
        if self.polygons.len() == 1 {
            serde_json::json!({"type": "Polygon", "coordinates": rings(&self.polygons[0])})
        } else {
            serde_json::json!({"type": "MultiPolygon",
                "coordinates": self.polygons.iter().map(rings).collect::<Vec<_>>()})
        }
    }
}
