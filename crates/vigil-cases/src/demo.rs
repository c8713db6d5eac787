//! A deterministic, entirely fictitious demo dataset.
//!
//! The README demo and the tests need data that looks like an NGO's registry without containing
//! anyone's case: fictitious provinces and districts, fictitious newspapers, pseudonyms such as
//! "V-000123", random phone numbers in a reserved-looking range, random hashes. The category mix
//! follows the proportions Sahil publishes (field notes §1.3–1.6). Into this background the
//! generator plants what the analyses must find, and returns it as [`GroundTruth`]:
//!
//! * **networks**: groups of incidents, often in different districts and years, tied together by
//!   rare identifiers (a phone, a handle, a crypto address, a PDQ media hash whose copies differ
//!   by a few bits), each member sharing at least one with an earlier member;
//! * **duplicates**: the same incident reported again by other newspapers, a day or two apart,
//!   with fresh pseudonyms and no identifiers;
//! * **hubs**: hospitals and police stations named by dozens of unrelated incidents, which must
//!   not tie them together.
//!
//! The same seed always gives the same dataset (ChaCha8).

use crate::areas::{Areas, Population};
use crate::geo::{Boundaries, Boundary, Polygon, Pos};
use crate::model::*;
use crate::population::{PopulationRow, PopulationTable};
use crate::taxonomy::Taxonomies;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use vigil_core::Hash256;

/// Options of the generator.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// RNG seed.
    pub seed: u64,
    /// First year.
    pub first_year: i32,
    /// Last year (inclusive).
    pub last_year: i32,
    /// Original incidents per year (duplicates come on top).
    pub per_year: usize,
    /// Sizes of the planted networks.
    pub network_sizes: Vec<usize>,
    /// Share of background incidents reported again by other outlets.
    pub duplicate_share: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 8,
            first_year: 2019,
            last_year: 2023,
            per_year: 800,
            network_sizes: vec![12, 8, 6, 5, 4],
            duplicate_share: 0.08,
        }
    }
}

/// A planted network.
#[derive(Debug, Clone, Serialize)]
pub struct PlantedNetwork {
    /// Name, e.g. "network-1".
    pub name: String,
    /// Member incident ids.
    pub incidents: Vec<String>,
    /// The rare identifiers the members share, `kind:value`.
    pub identifiers: Vec<String>,
}

/// What the generator planted.
#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    /// The networks.
    pub networks: Vec<PlantedNetwork>,
    /// Groups of incident ids that are one incident reported by several outlets (original
    /// first).
    pub duplicates: Vec<Vec<String>>,
    /// Values of the hub identifiers (places named by many unrelated incidents).
    pub hubs: Vec<String>,
    /// The districts of the planted spatial hotspot: the six districts with the highest expected
    /// rate per 100,000, laid out as the 3 × 2 block in the north-east corner of the map.
    pub hotspot: Vec<String>,
}

/// The generated dataset.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Areas (3 provinces, 30 districts, 2 tehsils each).
    pub areas: Areas,
    /// Child population per district and year.
    pub population: Population,
    /// Taxonomies (the built-in ones).
    pub taxonomies: Taxonomies,
    /// Incidents sorted by date.
    pub incidents: Vec<Incident>,
    /// Ground truth.
    pub truth: GroundTruth,
    /// Fictitious district boundaries: a jittered 6 × 5 grid in the South Atlantic, where
    /// there is no land (see [`demo_boundaries`]); every demo point lies in its district.
    pub boundaries: Boundaries,
}

/// Fictitious outlets.
pub const OUTLETS: &[&str] = &[
    "Daily Lantern",
    "Evening Courier",
    "Morning Ledger",
    "Valley Herald",
    "Frontier Gazette",
    "Citizen Times",
    "River Post",
    "Northern Mirror",
];

const PROVINCES: &[(&str, &str, usize)] = &[
    ("NM", "Northmarch", 12),
    ("RL", "Riverland", 10),
    ("EV", "Eastvale", 8),
];
const SYLL_A: &[&str] = &[
    "Am", "Bel", "Cor", "Dun", "Eld", "Fen", "Gal", "Hol", "Ist", "Jor", "Kel", "Lor",
];
const SYLL_B: &[&str] = &[
    "abad", "ford", "pur", "wick", "garh", "mere", "kot", "dale", "ton", "nagar",
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total);
    for &(t, w) in items {
        if x < w {
            return t;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

fn random_date(rng: &mut ChaCha8Rng, year: i32) -> Date {
    let start = Date {
        year,
        month: 1,
        day: 1,
    }
    .days();
    let len = if is_leap(year) { 366 } else { 365 };
    Date::from_days(start + rng.gen_range(0..len))
}

fn random_pdq(rng: &mut ChaCha8Rng) -> Hash256 {
    let mut b = [0u8; 32];
    rng.fill(&mut b);
    Hash256::from_bytes(b)
}

struct Gen {
    rng: ChaCha8Rng,
    victims: usize,
    abusers: usize,
    persons: usize,
    districts: Vec<(String, String, u32)>,
    /// Each district's cell (SW, SE, NE, NW corners), by district index.
    cells: Vec<[Pos; 4]>,
}

impl Gen {
    fn victim(&mut self, category: &str) -> Victim {
        self.victims += 1;
        let rng = &mut self.rng;
        let sex = match category {
            "child_marriage" => Sex::Female,
            "abduction" => pick(
                rng,
                &[(Sex::Female, 60), (Sex::Male, 38), (Sex::Unknown, 2)],
            ),
            _ => pick(
                rng,
                &[(Sex::Female, 51), (Sex::Male, 47), (Sex::Unknown, 2)],
            ),
        };
        let age = match rng.gen_range(0..10) {
            0..=6 => {
                let band = pick(rng, &[(0u8, 10), (1, 30), (2, 40), (3, 20)]);
                let (lo, hi) = [(1, 5), (6, 10), (11, 15), (16, 18)][band as usize];
                Age::Years(rng.gen_range(lo..=hi))
            }
            7 => Age::Band(pick(rng, &[(AgeBand::A6to10, 1), (AgeBand::A11to15, 1)])),
            _ => Age::Unknown,
        };
        Victim {
            pid: format!("V-{:06}", self.victims),
            sex,
            age,
            relationships: Vec::new(),
        }
    }

    fn abuser(&mut self) -> Abuser {
        self.abusers += 1;
        let rng = &mut self.rng;
        let category = pick(
            rng,
            &[
                (AbuserCategory::Acquaintance, 60),
                (AbuserCategory::Stranger, 16),
                (AbuserCategory::Relative, 4),
                (AbuserCategory::Neighbour, 4),
                (AbuserCategory::ServiceProvider, 5),
                (AbuserCategory::OnlineContact, 2),
                (AbuserCategory::Unknown, 9),
            ],
        );
        let juvenile = rng.gen_bool(0.08);
        let sex = pick(rng, &[(Sex::Male, 94), (Sex::Female, 5), (Sex::Unknown, 1)]);
        let age_band = if juvenile {
            Some("13-17".to_string())
        } else {
            [None, Some("19-30".into()), Some("31-50".into())][rng.gen_range(0..3)].clone()
        };
        Abuser {
            pid: format!("A-{:06}", self.abusers),
            sex,
            age_band,
            juvenile,
            category,
        }
    }

    fn incident(&mut self, year: i32, district: Option<usize>) -> Incident {
        let taxonomy = if year <= 2021 {
            Taxonomies::SAHIL_2019
        } else {
            Taxonomies::SAHIL_2022
        };
        let rng = &mut self.rng;
        let category = pick(
            rng,
            &[
                ("csa", 480),
                ("abduction", 435),
                ("missing", 78),
                ("child_marriage", 7),
            ],
        );
        let subtype = (category == "csa").then(|| {
            if year <= 2021 {
                pick(
                    rng,
                    &[
                        ("sodomy", 30),
                        ("rape", 28),
                        ("attempted_rape", 8),
                        ("attempted_sodomy", 12),
                        ("gang_rape", 7),
                        ("gang_sodomy", 6),
                        ("murder_after_csa", 4),
                        ("incest", 2),
                        ("pornography", 3),
                    ],
                )
            } else {
                pick(
                    rng,
                    &[
                        ("sodomy", 712),
                        ("rape", 612),
                        ("attempted_csa", 576),
                        ("pornography_csa", 109),
                        ("murder_after_csa", 81),
                        ("incest", 33),
                    ],
                )
            }
            .to_string()
        });
        let d = random_date(rng, year);
        let date = match rng.gen_range(0..20) {
            0..=16 => PartialDate::day(d),
            17 | 18 => PartialDate {
                year,
                month: Some(d.month),
                day: None,
            },
            _ => PartialDate {
                year,
                month: None,
                day: None,
            },
        };
        let sub = subtype.as_deref().unwrap_or("");
        let flags = Flags {
            abducted_then_abused: category == "csa" && rng.gen_bool(0.1),
            murdered: sub == "murder_after_csa" || rng.gen_bool(0.01),
            recorded_online: sub.starts_with("pornography") || rng.gen_bool(0.02),
            extortion: rng.gen_bool(0.02),
        };
        let place = pick(
            rng,
            &[
                (PlaceType::Street, 31),
                (PlaceType::AbuserPlace, 16),
                (PlaceType::VictimPlace, 11),
                (PlaceType::Field, 4),
                (PlaceType::PlaceOfWorship, 2),
                (PlaceType::EducationalInstitute, 2),
                (PlaceType::Workplace, 3),
                (PlaceType::Shop, 2),
                (PlaceType::Vehicle, 2),
                (PlaceType::Hotel, 1),
                (PlaceType::Online, 1),
                (PlaceType::Other, 5),
                (PlaceType::Unknown, 20),
            ],
        );
        let di = district.unwrap_or_else(|| {
            let w: Vec<(usize, u32)> = self
                .districts
                .iter()
                .enumerate()
                .map(|(i, d)| (i, d.2))
                .collect();
            pick(rng, &w)
        });
        let (dcode, pcode, _) = self.districts[di].clone();
        let tehsil = rng
            .gen_bool(0.7)
            .then(|| format!("{dcode}T{}", rng.gen_range(1..=2)));
        let locality = pick(
            rng,
            &[
                (Locality::Rural, 55),
                (Locality::Urban, 43),
                (Locality::Unknown, 2),
            ],
        );
        let point = (rng.gen_bool(0.3)).then(|| {
            // Two uniform draws place the point inside the district's (convex) cell.
            let v: f64 = rng.gen_range(0.0..5.0) / 5.0;
            let u: f64 = rng.gen_range(0.0..5.0) / 5.0;
            let q = bilinear(&self.cells[di], 0.05 + 0.9 * u, 0.05 + 0.9 * v);
            Point {
                lat: q[1],
                lon: q[0],
            }
        });
        let reported = pick(rng, &[(Tri::Yes, 90), (Tri::No, 6), (Tri::Unknown, 4)]);
        let registered = if reported == Tri::Yes {
            pick(rng, &[(Tri::Yes, 92), (Tri::No, 5), (Tri::Unknown, 3)])
        } else {
            Tri::No
        };
        let stage = (registered == Tri::Yes).then(|| {
            pick(
                rng,
                &[
                    (CaseStage::Investigation, 50),
                    (CaseStage::Challan, 20),
                    (CaseStage::Trial, 15),
                    (CaseStage::Convicted, 5),
                    (CaseStage::Acquitted, 4),
                    (CaseStage::Compromise, 5),
                    (CaseStage::Withdrawn, 1),
                ],
            )
        });
        let report = match date.date() {
            Some(d) => Date::from_days(d.days() + rng.gen_range(0..3)),
            None => {
                Date::new(year, date.month.unwrap_or(12), 28).expect("28 exists in every month")
            }
        };
        let outlet = OUTLETS[rng.gen_range(0..OUTLETS.len())];
        let n_victims = if rng.gen_bool(0.9) { 1 } else { 2 };
        let n_abusers = match category {
            "missing" => 0,
            _ => pick(rng, &[(1usize, 75), (2, 15), (3, 10)]),
        };
        let abusers: Vec<Abuser> = (0..n_abusers).map(|_| self.abuser()).collect();
        let victims = (0..n_victims)
            .map(|_| {
                let mut v = self.victim(category);
                v.relationships = abusers
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (i, a.category))
                    .collect();
                v
            })
            .collect();
        Incident {
            id: String::new(),
            taxonomy: taxonomy.into(),
            sources: vec![Source {
                outlet: outlet.into(),
                date: report,
                link: None,
            }],
            date,
            category: category.into(),
            subtype,
            flags,
            place,
            area: Area {
                province: pcode,
                district: dcode,
                tehsil,
                locality,
                point,
            },
            reported_to_police: reported,
            case_registered: registered,
            stage,
            victims,
            abusers,
            identifiers: Vec::new(),
        }
    }

    fn unique_ids(&mut self, inc: &mut Incident, outlet: &str) {
        let rng = &mut self.rng;
        if rng.gen_bool(0.3) {
            self.persons += 1;
            inc.identifiers.push(Identifier::new(
                IdentifierKind::Person,
                &format!("P-{:06}", self.persons),
                outlet,
            ));
        }
        if rng.gen_bool(0.2) {
            let n: u64 = rng.gen_range(0..10_000_000);
            inc.identifiers.push(Identifier::new(
                IdentifierKind::Phone,
                &format!("+99 300 {n:07}"),
                outlet,
            ));
        }
        if rng.gen_bool(0.05) {
            let h = random_pdq(rng);
            inc.identifiers.push(Identifier::new(
                IdentifierKind::MediaHash,
                &format!("pdq:{}", h.to_hex()),
                outlet,
            ));
        }
    }
}

/// Generates the demo dataset.
pub fn generate(opts: &DemoOptions) -> Demo {
    let _span = tracing::info_span!("demo", seed = opts.seed).entered();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut areas = Areas::default();
    let mut population = Population::default();
    let mut districts = Vec::new();
    let mut n = 0;
    for (pcode, pname, nd) in PROVINCES {
        areas.add_province(pcode, pname);
        for k in 1..=*nd {
            let dcode = format!("{pcode}{k:02}");
            let name = format!(
                "{}{}",
                SYLL_A[n % SYLL_A.len()],
                SYLL_B[(n * 7 + 3) % SYLL_B.len()]
            );
            n += 1;
            areas.add_district(&dcode, &name, pcode);
            for t in 1..=2 {
                areas.add_tehsil(&format!("{dcode}T{t}"), &format!("{name} {t}"), &dcode);
            }
            let base: u64 = rng.gen_range(150_000..1_500_000);
            for y in opts.first_year..=opts.last_year {
                population.figures.insert(
                    (dcode.clone(), y),
                    base + base * (y - opts.first_year) as u64 / 50,
                );
            }
            districts.push((dcode, pcode.to_string(), 1 + (k as u32 % 5) * 2));
        }
    }
    let (cells, hotspot) = layout(opts.seed, &districts, &population, opts.first_year);
    let mut g = Gen {
        rng,
        victims: 0,
        abusers: 0,
        persons: 0,
        districts,
        cells,
    };
    // Hubs: one hospital and two police stations per district, one national hospital.
    let mut hubs = vec!["national children's hospital".to_string()];
    for (dcode, _, _) in &g.districts {
        let name = &areas.districts[dcode].name;
        hubs.push(format!("district hospital {}", name.to_lowercase()));
        hubs.push(format!("police station {} city", name.to_lowercase()));
        hubs.push(format!("police station {} saddar", name.to_lowercase()));
    }
    // (incident, duplicate-of index into `records`, network index)
    let mut records: Vec<(Incident, Option<usize>, Option<usize>)> = Vec::new();
    for year in opts.first_year..=opts.last_year {
        for _ in 0..opts.per_year {
            let mut inc = g.incident(year, None);
            let outlet = inc.sources[0].outlet.clone();
            g.unique_ids(&mut inc, &outlet);
            let di = g
                .districts
                .iter()
                .position(|d| d.0 == inc.area.district)
                .expect("district exists");
            if g.rng.gen_bool(0.4) {
                let hub = if g.rng.gen_bool(0.08) {
                    0
                } else {
                    1 + 3 * di + g.rng.gen_range(0..3)
                };
                inc.identifiers
                    .push(Identifier::new(IdentifierKind::Place, &hubs[hub], &outlet));
            }
            records.push((inc, None, None));
        }
    }
    // Duplicates: other outlets report the same background incident.
    let originals = records.len();
    for i in 0..originals {
        if !g.rng.gen_bool(opts.duplicate_share) {
            continue;
        }
        let copies = if g.rng.gen_bool(0.8) { 1 } else { 2 };
        let mut used = vec![records[i].0.sources[0].outlet.clone()];
        for _ in 0..copies {
            let mut d = records[i].0.clone();
            let outlet = loop {
                let o = OUTLETS[g.rng.gen_range(0..OUTLETS.len())].to_string();
                if !used.contains(&o) {
                    break o;
                }
            };
            used.push(outlet.clone());
            if let Some(x) = d.date.date() {
                let shifted = Date::from_days(x.days() + g.rng.gen_range(-1..=1));
                if shifted.year == x.year {
                    d.date = PartialDate::day(shifted);
                }
            }
            let floor = d.date.date().map_or(i64::MIN, |x| x.days());
            let rep = Date::from_days(d.sources[0].date.days().max(floor) + g.rng.gen_range(0..3));
            d.sources = vec![Source {
                outlet,
                date: rep,
                link: None,
            }];
            for v in &mut d.victims {
                g.victims += 1;
                v.pid = format!("V-{:06}", g.victims);
            }
            for a in &mut d.abusers {
                g.abusers += 1;
                a.pid = format!("A-{:06}", g.abusers);
            }
            d.identifiers.clear();
            d.area.tehsil = None;
            d.area.point = None;
            records.push((d, Some(i), None));
        }
    }
    // Planted networks.
    let years = opts.last_year - opts.first_year + 1;
    let mut net_ids: Vec<Vec<Identifier>> = Vec::new();
    for (k, &size) in opts.network_sizes.iter().enumerate() {
        let rng = &mut g.rng;
        let base_pdq = random_pdq(rng);
        let ids = vec![
            Identifier::new(
                IdentifierKind::Phone,
                &format!("+99 345 {:07}", rng.gen_range(0..10_000_000u64)),
                "analyst",
            ),
            Identifier::new(
                IdentifierKind::Handle,
                &format!("chat:@shadow_{k}_{}", rng.gen_range(100..999)),
                "analyst",
            ),
            Identifier::new(
                IdentifierKind::CryptoAddress,
                &format!("btc:bc1qdemo{k}{:020x}", rng.gen_range(0..u64::MAX)),
                "analyst",
            ),
            Identifier::new(
                IdentifierKind::MediaHash,
                &format!("pdq:{}", base_pdq.to_hex()),
                "analyst",
            ),
        ];
        let pcode = PROVINCES[k % PROVINCES.len()].0;
        let local: Vec<usize> = g
            .districts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.1 == pcode)
            .map(|(i, _)| i)
            .collect();
        let start = opts.first_year + (k as i32 % years.max(1));
        let mut member_ids: Vec<Vec<usize>> = Vec::new();
        for m in 0..size {
            let year = (start + g.rng.gen_range(0..2)).min(opts.last_year);
            let di = local[g.rng.gen_range(0..local.len().min(3))];
            let mut inc = g.incident(year, Some(di));
            let outlet = inc.sources[0].outlet.clone();
            g.unique_ids(&mut inc, &outlet);
            inc.flags.recorded_online |= g.rng.gen_bool(0.5);
            inc.flags.extortion |= g.rng.gen_bool(0.3);
            let mut mine = Vec::new();
            if m == 0 {
                mine.push(0);
                mine.push(3);
            } else {
                let earlier = &member_ids[g.rng.gen_range(0..m)];
                mine.push(earlier[g.rng.gen_range(0..earlier.len())]);
                if g.rng.gen_bool(0.4) {
                    let extra = g.rng.gen_range(0..ids.len());
                    if !mine.contains(&extra) {
                        mine.push(extra);
                    }
                }
            }
            for &x in &mine {
                let mut id = ids[x].clone();
                id.source = outlet.clone();
                if id.kind == IdentifierKind::MediaHash {
                    // A re-encoded copy: a few bits differ.
                    let mut h = base_pdq;
                    for _ in 0..g.rng.gen_range(0..10) {
                        let bit = g.rng.gen_range(0..256);
                        let mut w = h.words();
                        w[3 - bit / 64] ^= 1u64 << (bit % 64);
                        h = Hash256::from_words(w);
                    }
                    id.value = format!("pdq:{}", h.to_hex());
                }
                inc.identifiers.push(id);
            }
            if g.rng.gen_bool(0.3) {
                let hub = 1 + 3 * di + g.rng.gen_range(0..3);
                inc.identifiers
                    .push(Identifier::new(IdentifierKind::Place, &hubs[hub], &outlet));
            }
            member_ids.push(mine);
            records.push((inc, None, Some(k)));
        }
        net_ids.push(ids);
    }
    // Sort by date (then by generation order) and number the incidents.
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| (records[i].0.date, records[i].0.sources[0].date, i));
    let mut id_of = vec![String::new(); records.len()];
    for (pos, &i) in order.iter().enumerate() {
        id_of[i] = format!("I-{:06}", pos + 1);
    }
    let mut networks: Vec<PlantedNetwork> = net_ids
        .iter()
        .enumerate()
        .map(|(k, ids)| PlantedNetwork {
            name: format!("network-{}", k + 1),
            incidents: Vec::new(),
            identifiers: ids
                .iter()
                .map(|i| format!("{}:{}", i.kind.name(), i.value))
                .collect(),
        })
        .collect();
    let mut dup_groups: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
    for (i, (_, dup_of, net)) in records.iter().enumerate() {
        if let Some(k) = net {
            networks[*k].incidents.push(id_of[i].clone());
        }
        if let Some(o) = dup_of {
            dup_groups
                .entry(*o)
                .or_insert_with(|| vec![id_of[*o].clone()])
                .push(id_of[i].clone());
        }
    }
    for n in &mut networks {
        n.incidents.sort();
    }
    let incidents: Vec<Incident> = order
        .iter()
        .map(|&i| {
            let mut inc = records[i].0.clone();
            inc.id = id_of[i].clone();
            inc
        })
        .collect();
    tracing::info!(
        incidents = incidents.len(),
        networks = networks.len(),
        "demo data generated"
    );
    let boundaries = demo_boundaries(&g.districts, &g.cells, &areas);
    Demo {
        areas,
        population,
        taxonomies: Taxonomies::builtin(),
        incidents,
        truth: GroundTruth {
            networks,
            duplicates: dup_groups.into_values().collect(),
            hubs,
            hotspot,
        },
        boundaries,
    }
}

/// The demo map's box: west, south corner and cell size in degrees (South Atlantic, no land).
const MAP_WEST: f64 = -30.0;
const MAP_SOUTH: f64 = -40.0;
const CELL_DEG: f64 = 0.5;
const MAP_COLS: usize = 6;
const MAP_ROWS: usize = 5;

/// The point at (s, t) ∈ [0, 1]² of a quadrilateral (SW, SE, NE, NW), bilinearly.
fn bilinear(c: &[Pos; 4], s: f64, t: f64) -> Pos {
    let mut p = [0.0; 2];
    for (d, x) in p.iter_mut().enumerate() {
        *x = (1.0 - s) * (1.0 - t) * c[0][d]
            + s * (1.0 - t) * c[1][d]
            + s * t * c[2][d]
            + (1.0 - s) * t * c[3][d];
    }
    p
}

/// Lays the districts out on a jittered grid. The six with the highest expected rate (district
/// weight ÷ population) fill the 3 × 2 block in the north-east corner: the planted hotspot; the
/// others take the remaining cells in a shuffled order. Uses its own RNG stream, so the
/// incidents are the same as without the map. Returns the cells by district index and the
/// hotspot's codes.
fn layout(
    seed: u64,
    districts: &[(String, String, u32)],
    population: &Population,
    year: i32,
) -> (Vec<[Pos; 4]>, Vec<String>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6765_6f5f_6d61_7073);
    // Lattice vertices, interior ones jittered by up to 0.15 cell (the cells stay convex).
    let mut lattice = vec![[0.0; 2]; (MAP_COLS + 1) * (MAP_ROWS + 1)];
    for r in 0..=MAP_ROWS {
        for c in 0..=MAP_COLS {
            let inner = r > 0 && r < MAP_ROWS && c > 0 && c < MAP_COLS;
            let (dx, dy) = if inner {
                (rng.gen_range(-0.15..0.15), rng.gen_range(-0.15..0.15))
            } else {
                (0.0, 0.0)
            };
            // Millionths of a degree (11 cm), as the store keeps points: short in GeoJSON and
            // read back from text to the same bits.
            let e6 = |x: f64| (x * 1e6).round() / 1e6;
            lattice[r * (MAP_COLS + 1) + c] = [
                e6(MAP_WEST + (c as f64 + dx) * CELL_DEG),
                e6(MAP_SOUTH + (r as f64 + dy) * CELL_DEG),
            ];
        }
    }
    let cell = |k: usize| -> [Pos; 4] {
        let (r, c) = (k / MAP_COLS, k % MAP_COLS);
        let v = |r: usize, c: usize| lattice[r * (MAP_COLS + 1) + c];
        [v(r, c), v(r, c + 1), v(r + 1, c + 1), v(r + 1, c)]
    };
    // Districts by expected rate, highest first.
    let mut by_rate: Vec<usize> = (0..districts.len()).collect();
    let rate = |i: usize| {
        let pop = population.get(&districts[i].0, year).unwrap_or(1).max(1);
        f64::from(districts[i].2) / pop as f64
    };
    by_rate.sort_by(|&a, &b| rate(b).total_cmp(&rate(a)).then(a.cmp(&b)));
    // The north-east 3 × 2 block (top two rows, last three columns).
    let corner: Vec<usize> = (MAP_ROWS - 2..MAP_ROWS)
        .flat_map(|r| (MAP_COLS - 3..MAP_COLS).map(move |c| r * MAP_COLS + c))
        .collect();
    let mut rest: Vec<usize> = (0..MAP_COLS * MAP_ROWS)
        .filter(|k| !corner.contains(k))
        .collect();
    for i in (1..rest.len()).rev() {
        rest.swap(i, rng.gen_range(0..=i));
    }
    let mut cells = vec![[[0.0; 2]; 4]; districts.len()];
    let mut hotspot = Vec::new();
    for (rank, &d) in by_rate.iter().enumerate() {
        let k = if rank < corner.len() {
            hotspot.push(districts[d].0.clone());
            corner[rank]
        } else {
            rest[rank - corner.len()]
        };
        cells[d] = cell(k);
    }
    hotspot.sort();
    (cells, hotspot)
}

fn demo_boundaries(
    districts: &[(String, String, u32)],
    cells: &[[Pos; 4]],
    areas: &Areas,
) -> Boundaries {
    Boundaries {
        areas: districts
            .iter()
            .zip(cells)
            .map(|((code, _, _), c)| Boundary {
                code: code.clone(),
                name: areas.districts.get(code).map(|a| a.name.clone()),
                polygons: vec![Polygon {
                    exterior: vec![c[0], c[1], c[2], c[3], c[0]],
                    holes: Vec::new(),
                }],
            })
            .collect(),
    }
}

/// The demo's population figures as an imported table (age group `0-17`: children).
pub fn population_table(d: &Demo) -> PopulationTable {
    PopulationTable {
        rows: d
            .population
            .figures
            .iter()
            .map(|((area, year), &population)| PopulationRow {
                area: area.clone(),
                year: *year,
                population,
                group: "0-17".into(),
            })
            .collect(),
    }
}
