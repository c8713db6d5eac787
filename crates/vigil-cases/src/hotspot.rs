//! Getis-Ord Gi* hot and cold spots over areas.
//!
//! For area *i* with value x_i (a rate per 100,000), binary weights w_ij (1 for *i* itself and
//! for each neighbour, 0 otherwise), n areas, mean X̄ and standard deviation
//! S = sqrt(Σx²/n − X̄²), the statistic (Getis & Ord 1992; Ord & Getis 1995) is already a
//! z-score:
//!
//! ```text
//!          Σ_j w_ij x_j − X̄ Σ_j w_ij
//! G*_i = ─────────────────────────────────────────────
//!        S · sqrt( (n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1) )
//! ```
//!
//! with a two-sided p-value from the normal distribution. Areas are classed hot or cold at
//! 90/95/99% confidence (p < 0.10, 0.05, 0.01), as ArcGIS's Hot Spot Analysis does. No
//! correction for multiple testing is applied (it is not usual for this map and would hide
//! most of what a programme manager looks for); the method section of docs/cases.md says so,
//! and the permutation pseudo-p-value ([`permutation_p`]) is there for a second opinion.
//!
//! **Weights.** The default is **queen contiguity** (areas sharing at least one boundary
//! vertex are neighbours), because administrative districts differ in size by orders of
//! magnitude: a fixed distance band gives large rural districts no neighbours at all and small
//! urban ones dozens, while contiguity gives every district its ring of adjacent districts
//! whatever their size. A distance band on centroids ([`Weights::DistanceBand`]) suits areas of
//! similar size or islands (an area without contiguous neighbours); [`Weights::QueenOrBand`]
//! takes the union of both. Areas without a value (no population figure) are left out of the
//! analysis altogether: they are neither counted in n nor anyone's neighbour.

use crate::error::{Error, Result};
use crate::geo::{Boundaries, distance_km};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// How neighbours are found.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Weights {
    /// Areas sharing a boundary vertex (the default).
    #[default]
    Queen,
    /// Areas whose centroids lie within `km` of each other.
    DistanceBand {
        /// The band, in km.
        km: f64,
    },
    /// Either.
    QueenOrBand {
        /// The band, in km.
        km: f64,
    },
}

impl Weights {
    /// Parses `queen`, `band:KM` or `queen+band:KM`.
    pub fn parse(s: &str) -> Option<Weights> {
        let km = |t: &str| t.parse::<f64>().ok().filter(|k| k.is_finite() && *k > 0.0);
        match s.trim() {
            "queen" => Some(Weights::Queen),
            t => {
                if let Some(k) = t.strip_prefix("queen+band:") {
                    Some(Weights::QueenOrBand { km: km(k)? })
                } else {
                    Some(Weights::DistanceBand {
                        km: km(t.strip_prefix("band:")?)?,
                    })
                }
            }
        }
    }
}

/// The neighbours of each area (file order, self not included).
pub fn neighbours(b: &Boundaries, w: Weights) -> Vec<Vec<usize>> {
    let band = |km: f64| -> Vec<Vec<usize>> {
        let c: Vec<_> = b.areas.iter().map(|a| a.centroid()).collect();
        (0..c.len())
            .map(|i| {
                (0..c.len())
                    .filter(|&j| j != i && distance_km(c[i], c[j]) <= km)
                    .collect()
            })
            .collect()
    };
    match w {
        Weights::Queen => b.queen_neighbours(),
        Weights::DistanceBand { km } => band(km),
        Weights::QueenOrBand { km } => {
            let mut q = b.queen_neighbours();
            for (i, more) in band(km).into_iter().enumerate() {
                q[i].extend(more);
                q[i].sort_unstable();
                q[i].dedup();
            }
            q
        }
    }
}

/// Hot or cold at a confidence level, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HotClass {
    /// Cold spot, 99% confidence.
    Cold99,
    /// Cold spot, 95%.
    Cold95,
    /// Cold spot, 90%.
    Cold90,
    /// Not significant.
    None,
    /// Hot spot, 90%.
    Hot90,
    /// Hot spot, 95%.
    Hot95,
    /// Hot spot, 99%.
    Hot99,
}

impl HotClass {
    /// The class of a z-score and its two-sided p-value.
    pub fn of(z: f64, p: f64) -> HotClass {
        let level = if p < 0.01 {
            3
        } else if p < 0.05 {
            2
        } else if p < 0.10 {
            1
        } else {
            0
        };
        match (level, z > 0.0) {
            (0, _) => HotClass::None,
            (1, true) => HotClass::Hot90,
            (2, true) => HotClass::Hot95,
            (_, true) => HotClass::Hot99,
            (1, false) => HotClass::Cold90,
            (2, false) => HotClass::Cold95,
            (_, false) => HotClass::Cold99,
        }
    }

    /// A short name (`hot_95`, `none`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            HotClass::Cold99 => "cold_99",
            HotClass::Cold95 => "cold_95",
            HotClass::Cold90 => "cold_90",
            HotClass::None => "none",
            HotClass::Hot90 => "hot_90",
            HotClass::Hot95 => "hot_95",
            HotClass::Hot99 => "hot_99",
        }
    }
}

/// Gi* of one area.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GiStar {
    /// The z-score.
    pub z: f64,
    /// Two-sided p-value (normal).
    pub p: f64,
    /// Hot/cold class.
    pub class: HotClass,
    /// Number of neighbours (self not counted).
    pub neighbours: usize,
}

/// Gi* for every area, with binary weights: `neighbours[i]` lists the neighbours of area i
/// (self excluded; it is added). All values take part; at least 3 are needed. When every
/// value is the same, every z is 0 (nothing stands out).
pub fn gi_star(values: &[f64], neighbours: &[Vec<usize>]) -> Result<Vec<GiStar>> {
    let n = values.len();
    if neighbours.len() != n {
        return Err(table(format!(
            "{n} values but {} neighbour lists",
            neighbours.len()
        )));
    }
    if n < 3 {
        return Err(table(format!(
            "{n} areas with a value; Gi* needs at least 3"
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(table(format!("value {i} is not finite")));
    }
    if let Some(j) = neighbours.iter().flatten().find(|&&j| j >= n) {
        return Err(table(format!("neighbour {j} is not an area")));
    }
    let nf = n as f64;
    let mean = values.iter().sum::<f64>() / nf;
    let var = (values.iter().map(|x| x * x).sum::<f64>() / nf - mean * mean).max(0.0);
    let s = var.sqrt();
    Ok((0..n)
        .map(|i| {
            let k = neighbours[i].iter().filter(|&&j| j != i).count();
            let w = (k + 1) as f64;
            let local = values[i]
                + neighbours[i]
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| values[j])
                    .sum::<f64>();
            let denom = s * ((nf * w - w * w) / (nf - 1.0)).sqrt();
            // A constant map, or an area neighbour to all (its sum is the total): nothing to
            // compare with.
            let z = if denom > 1e-12 * (1.0 + mean.abs()) {
                (local - mean * w) / denom
            } else {
                0.0
            };
            let p = two_sided_p(z);
            GiStar {
                z,
                p,
                class: HotClass::of(z, p),
                neighbours: k,
            }
        })
        .collect())
}

fn table(problem: String) -> Error {
    Error::Table {
        table: "hotspots".into(),
        problem,
    }
}

/// Permutation pseudo-p-values (conditional randomisation, as PySAL's `G_Local`): for each
/// area its own value is held fixed and its neighbours' values are drawn at random, without
/// replacement, from the other areas `permutations` times; the pseudo-p is
/// (1 + #{draws at least as extreme as observed, in the observed direction}) / (1 + permutations),
/// a one-sided figure in the direction of the observed deviation. Deterministic for a seed.
pub fn permutation_p(
    values: &[f64],
    neighbours: &[Vec<usize>],
    permutations: usize,
    seed: u64,
) -> Vec<f64> {
    let n = values.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total: f64 = values.iter().sum();
    (0..n)
        .map(|i| {
            let nb: Vec<usize> = neighbours[i].iter().copied().filter(|&j| j != i).collect();
            let k = nb.len();
            let observed: f64 = nb.iter().map(|&j| values[j]).sum();
            if k == 0 || k >= n {
                return 1.0;
            }
            // Expected neighbour sum under randomisation: k × mean of the others.
            let expected = k as f64 * (total - values[i]) / (n - 1) as f64;
            let up = observed >= expected;
            let others: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            let mut extreme = 0usize;
            for _ in 0..permutations {
                let s: f64 = sample(&mut rng, n - 1, k)
                    .into_iter()
                    .map(|t| values[others[t]])
                    .sum();
                if (up && s >= observed) || (!up && s <= observed) {
                    extreme += 1;
                }
            }
            (1 + extreme) as f64 / (1 + permutations) as f64
        })
        .collect()
}

/// Two-sided p-value of a standard normal z: 2·(1 − Φ(|z|)) = erfc(|z|/√2).
pub fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// The complementary error function, by the Chebyshev fit of Numerical Recipes (`erfcc`),
/// fractional error below 1.2e-7 everywhere: plenty for p-values read at 0.10/0.05/0.01.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}
