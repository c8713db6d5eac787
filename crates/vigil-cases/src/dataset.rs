//! A dataset file: areas, population figures and incidents in one JSON document, the exchange
//! format of `vigil cases` until the registry lives in the store. Population figures are a list
//! (JSON objects cannot have `(area, year)` keys).

use crate::areas::{Areas, Population};
use crate::model::Incident;
use serde::{Deserialize, Serialize};

/// One population figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationFigure {
    /// Area code.
    pub area: String,
    /// Year.
    pub year: i32,
    /// Population.
    pub value: u64,
}

/// Areas, population and incidents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The area hierarchy.
    pub areas: Areas,
    /// Population figures.
    #[serde(default)]
    pub population: Vec<PopulationFigure>,
    /// Incidents.
    #[serde(default)]
    pub incidents: Vec<Incident>,
}

impl Dataset {
    /// The population figures as a look-up.
    pub fn population(&self) -> Population {
        Population {
            figures: self
                .population
                .iter()
                .map(|p| ((p.area.clone(), p.year), p.value))
                .collect(),
        }
    }

    /// A dataset of the demo's areas, population and incidents.
    pub fn from_demo(d: &crate::demo::Demo) -> Dataset {
        Dataset {
            areas: d.areas.clone(),
            population: d
                .population
                .figures
                .iter()
                .map(|((area, year), value)| PopulationFigure {
                    area: area.clone(),
                    year: *year,
                    value: *value,
                })
                .collect(),
            incidents: d.incidents.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_round_trips_through_json() {
        let d = crate::demo::generate(&crate::demo::DemoOptions {
            per_year: 20,
            ..Default::default()
        });
        let ds = Dataset::from_demo(&d);
        let text = serde_json::to_string(&ds).unwrap();
        let mut back: Dataset = serde_json::from_str(&text).unwrap();
        // serde_json's default float parser may differ in the last bit: points compare closely.
        let mut ds = ds;
        for (a, b) in ds.incidents.iter_mut().zip(back.incidents.iter_mut()) {
            match (a.area.point.take(), b.area.point.take()) {
                (Some(p), Some(q)) => {
                    assert!((p.lat - q.lat).abs() < 1e-12 && (p.lon - q.lon).abs() < 1e-12)
                }
                (p, q) => assert_eq!(p.is_some(), q.is_some()),
            }
        }
        assert_eq!(back, ds);
        assert_eq!(back.population(), d.population);
    }
}
