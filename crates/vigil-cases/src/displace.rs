//! Location displacement for privacy, after the method of the Demographic and Health Surveys
//! (Burgert et al., DHS Spatial Analysis Report 7, 2013): a published point is the true point
//! moved in a random direction by a random distance of up to 2 km (urban), up to 5 km (rural),
//! and for 1 in 100 rural points up to 10 km, redrawn until it lies inside the same district.
//!
//! Two departures from DHS, both for an NGO's registry rather than a one-off survey release:
//!
//! * **Stable, keyed.** The direction and distance come from a ChaCha8 stream seeded with
//!   HMAC-SHA256(secret key, incident id), so the same incident is displaced the same way in
//!   every publication: repeated maps give nothing to average out. Without the key, the offsets
//!   cannot be recomputed; with another key they differ.
//! * **Never the exact point.** The distance is drawn uniformly from [`MIN_KM`] to the maximum,
//!   never zero. Incidents of unknown locality are treated as rural (the larger displacement).
//!
//! A point whose district boundary is too small or thin to hold any of [`MAX_TRIES`] draws is
//! not published at all rather than published undisplaced.

use crate::geo::{Boundary, Pos};
use crate::model::Locality;
use hmac::{Hmac, Mac};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::Sha256;

/// The smallest displacement, km.
pub const MIN_KM: f64 = 0.1;
/// Urban maximum, km.
pub const URBAN_KM: f64 = 2.0;
/// Rural maximum, km.
pub const RURAL_KM: f64 = 5.0;
/// Maximum for the 1% of rural points displaced further, km.
pub const RURAL_FAR_KM: f64 = 10.0;
/// Draws tried before giving up on a point.
pub const MAX_TRIES: usize = 1000;
/// Mean Earth radius, km (the same as [`crate::geo::distance_km`]).
const EARTH_KM: f64 = 6371.0088;

/// A displacement key (at least 16 bytes).
#[derive(Clone)]
pub struct DisplaceKey(Vec<u8>);

impl std::fmt::Debug for DisplaceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DisplaceKey(..)")
    }
}

impl DisplaceKey {
    /// A key from secret bytes; `None` when shorter than 16 bytes.
    pub fn new(secret: &[u8]) -> Option<DisplaceKey> {
        (secret.len() >= 16).then(|| DisplaceKey(secret.to_vec()))
    }
}

/// The largest displacement for a locality, given the draw that picks the far 1%.
fn max_km(locality: Locality, far: bool) -> f64 {
    match locality {
        Locality::Urban => URBAN_KM,
        _ if far => RURAL_FAR_KM,
        _ => RURAL_KM,
    }
}

/// The point `km` from `p` on bearing `bearing` (radians from north), on the sphere.
pub fn destination(p: Pos, km: f64, bearing: f64) -> Pos {
    let (lat1, lon1) = (p[1].to_radians(), p[0].to_radians());
    let d = km / EARTH_KM;
    let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * bearing.cos()).asin();
    let lon2 =
        lon1 + (bearing.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
    let mut lon = lon2.to_degrees();
    if lon > 180.0 {
        lon -= 360.0;
    } else if lon < -180.0 {
        lon += 360.0;
    }
    [lon, lat2.to_degrees()]
}

/// Displaces the point of incident `id` inside `district` (see the module text). `None` when
/// no draw lands inside the district.
pub fn displace(
    key: &DisplaceKey,
    id: &str,
    p: Pos,
    locality: Locality,
    district: &Boundary,
) -> Option<Pos> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes any key");
    mac.update(b"vigil-cases displacement v1\0");
    mac.update(id.as_bytes());
    let seed: [u8; 32] = mac.finalize().into_bytes().into();
    let mut rng = ChaCha8Rng::from_seed(seed);
    let far = rng.gen_bool(0.01);
    let max = max_km(locality, far);
    for _ in 0..MAX_TRIES {
        let km = rng.gen_range(MIN_KM..=max);
        let bearing = rng.gen_range(0.0..std::f64::consts::TAU);
        let q = destination(p, km, bearing);
        if district.contains(q) {
            return Some(q);
        }
    }
    None
}
