//! Vigil's case registry: the data an NGO such as Sahil keeps about media-reported cases of
//! child sexual abuse, abduction, missing children and child marriage, and the analyses it
//! publishes or investigates.
//!
//! * [`model`]: incidents, sources, victims and abusers (pseudonymised), identifiers;
//! * [`taxonomy`]: versioned category lists with crosswalks; [`areas`]: province → district →
//!   tehsil codes and population; [`validate`]: errors naming the row and the field;
//! * [`demo`]: a deterministic, fictitious dataset with planted networks and duplicates;
//! * [`stats`]: the yearly tables, year-on-year change, rates, suppression, CSV/SDMX export;
//! * [`network`]: incidents linked by shared identifiers, rare ones weighted above common ones,
//!   components, Louvain communities, Brandes betweenness, links explained in words;
//! * [`dedup`]: one incident reported by several outlets becomes one incident with several
//!   sources; [`intake`]: CSV or XLSX ([`xlsx`]) import through a mapping file, all-or-nothing
//!   by default;
//! * the map: [`geo`]: GeoJSON boundaries validated feature by feature, point in polygon,
//!   centroids, contiguity; [`population`]: population CSV and rates per 100,000 per area;
//!   [`hotspot`]: Getis-Ord Gi* hot and cold spots; [`displace`]: keyed, DHS-style location
//!   displacement that keeps a point in its district.
//!
//! What it deliberately does not do: no SQL (storage belongs to `vigil-store`), no HTTP, no
//! media (identifiers carry hashes, never pixels), no names (pseudonyms only), no FFmpeg.
//!
//! ```
//! use vigil_cases::{demo, stats};
//! let d = demo::generate(&demo::DemoOptions { per_year: 50, ..Default::default() });
//! let years = stats::yearly(&d.incidents);
//! assert_eq!(years.len(), 5);
//! ```

pub mod areas;
pub mod dataset;
pub mod dedup;
pub mod demo;
pub mod displace;
pub mod error;
pub mod geo;
pub mod hotspot;
pub mod indicators;
pub mod intake;
pub mod model;
pub mod network;
pub mod population;
pub mod stats;
pub mod taxonomy;
pub mod validate;
pub mod xlsx;

pub use error::{Error, Result, RowError};
pub use model::{Identifier, IdentifierKind, Incident};
pub use taxonomy::Taxonomies;
