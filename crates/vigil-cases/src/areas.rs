//! Administrative areas (province → district → tehsil) and population figures.
//!
//! Codes follow the P-code idea of OCHA's common operational datasets: each code has exactly one
//! parent, so "district under its province" is a lookup, and a row whose district is not under
//! its province is an error rather than a silent miscount in the provincial table.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One area with its display name and parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaInfo {
    /// Display name.
    pub name: String,
    /// Parent code (none for provinces).
    pub parent: Option<String>,
}

/// The area hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Areas {
    /// Provinces by code.
    pub provinces: BTreeMap<String, AreaInfo>,
    /// Districts by code (parent: province).
    pub districts: BTreeMap<String, AreaInfo>,
    /// Tehsils by code (parent: district).
    pub tehsils: BTreeMap<String, AreaInfo>,
}

impl Areas {
    /// Adds a province.
    pub fn add_province(&mut self, code: &str, name: &str) {
        self.provinces.insert(
            code.into(),
            AreaInfo {
                name: name.into(),
                parent: None,
            },
        );
    }

    /// Adds a district under a province.
    pub fn add_district(&mut self, code: &str, name: &str, province: &str) {
        self.districts.insert(
            code.into(),
            AreaInfo {
                name: name.into(),
                parent: Some(province.into()),
            },
        );
    }

    /// Adds a tehsil under a district.
    pub fn add_tehsil(&mut self, code: &str, name: &str, district: &str) {
        self.tehsils.insert(
            code.into(),
            AreaInfo {
                name: name.into(),
                parent: Some(district.into()),
            },
        );
    }

    /// The province of a district.
    pub fn province_of(&self, district: &str) -> Option<&str> {
        self.districts.get(district)?.parent.as_deref()
    }

    /// The district of a tehsil.
    pub fn district_of(&self, tehsil: &str) -> Option<&str> {
        self.tehsils.get(tehsil)?.parent.as_deref()
    }
}

/// Population by (area code, year), for rates per 100,000. Area codes may be districts or
/// provinces; the figures are imported (census or projections), never estimated here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Population {
    /// Child population by (area code, year).
    pub figures: BTreeMap<(String, i32), u64>,
}

impl Population {
    /// Population of an area in a year.
    pub fn get(&self, area: &str, year: i32) -> Option<u64> {
        self.figures.get(&(area.to_string(), year)).copied()
    }
}
