//! Versioned category lists and crosswalks between them.
//!
//! Sahil's categories change between years: gang rape and gang sodomy were their own subtypes in
//! 2019 and are folded into rape and sodomy in 2022's tables; attempted rape and attempted sodomy
//! became one "attempted CSA". A dataset therefore records which [`Taxonomy`] version its codes
//! belong to, and a [`Crosswalk`] maps codes of one version onto another so that a multi-year
//! series can be tabulated in one scheme. Crosswalks are many-to-one by design (a later scheme
//! may be coarser); a split (one old code to several new ones) cannot be decided from the code
//! alone and is refused rather than guessed.

use crate::error::{Error, Result, RowError};
use crate::model::Incident;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One code of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    /// Machine code, e.g. "gang_rape".
    pub code: String,
    /// Label as published, e.g. "Gang rape".
    pub label: String,
}

/// A version of the category lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxonomy {
    /// Version id, e.g. "sahil-2019".
    pub version: String,
    /// Primary categories (mutually exclusive).
    pub categories: Vec<Code>,
    /// Sexual-abuse subtypes (mutually exclusive; only for the `csa` category).
    pub subtypes: Vec<Code>,
}

impl Taxonomy {
    /// Whether `code` is a primary category.
    pub fn has_category(&self, code: &str) -> bool {
        self.categories.iter().any(|c| c.code == code)
    }

    /// Whether `code` is a subtype.
    pub fn has_subtype(&self, code: &str) -> bool {
        self.subtypes.iter().any(|c| c.code == code)
    }

    /// The label of a category or subtype code (the code itself if unknown).
    pub fn label<'a>(&'a self, code: &'a str) -> &'a str {
        self.categories
            .iter()
            .chain(&self.subtypes)
            .find(|c| c.code == code)
            .map(|c| c.label.as_str())
            .unwrap_or(code)
    }
}

/// Maps the subtype codes of one version onto another's (categories map by identity unless
/// listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crosswalk {
    /// Source version.
    pub from: String,
    /// Target version.
    pub to: String,
    /// Category code → category code (identity when absent).
    pub categories: BTreeMap<String, String>,
    /// Subtype code → subtype code (identity when absent and the code exists in `to`).
    pub subtypes: BTreeMap<String, String>,
}

/// The known versions and crosswalks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Taxonomies {
    /// Versions by id.
    pub versions: BTreeMap<String, Taxonomy>,
    /// Crosswalks (direct only; no chaining).
    pub crosswalks: Vec<Crosswalk>,
}

fn codes(list: &[(&str, &str)]) -> Vec<Code> {
    list.iter()
        .map(|(c, l)| Code {
            code: c.to_string(),
            label: l.to_string(),
        })
        .collect()
}

const CATEGORIES: &[(&str, &str)] = &[
    ("csa", "Child sexual abuse"),
    ("abduction", "Abduction / kidnapping"),
    ("missing", "Missing children"),
    ("child_marriage", "Child marriage"),
];

impl Taxonomies {
    /// Version id of the 2017–2019 scheme.
    pub const SAHIL_2019: &'static str = "sahil-2019";
    /// Version id of the 2022 scheme.
    pub const SAHIL_2022: &'static str = "sahil-2022";

    /// The two built-in schemes modelled on Sahil's published tables (see the field notes,
    /// §1.3) and the 2019 → 2022 crosswalk.
    pub fn builtin() -> Taxonomies {
        let v2019 = Taxonomy {
            version: Self::SAHIL_2019.into(),
            categories: codes(CATEGORIES),
            subtypes: codes(&[
                ("rape", "Rape"),
                ("sodomy", "Sodomy"),
                ("attempted_rape", "Attempted rape"),
                ("attempted_sodomy", "Attempted sodomy"),
                ("gang_rape", "Gang rape"),
                ("gang_sodomy", "Gang sodomy"),
                ("murder_after_csa", "Murder after sexual abuse"),
                ("incest", "Incest"),
                ("pornography", "Pornography"),
            ]),
        };
        let v2022 = Taxonomy {
            version: Self::SAHIL_2022.into(),
            categories: codes(CATEGORIES),
            subtypes: codes(&[
                ("sodomy", "Sodomy"),
                ("rape", "Rape"),
                ("attempted_csa", "Attempted CSA"),
                ("pornography_csa", "Pornography and CSA"),
                ("murder_after_csa", "Murder after CSA"),
                ("incest", "Incest"),
            ]),
        };
        let subtypes = [
            ("gang_rape", "rape"),
            ("gang_sodomy", "sodomy"),
            ("attempted_rape", "attempted_csa"),
            ("attempted_sodomy", "attempted_csa"),
            ("pornography", "pornography_csa"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let mut versions = BTreeMap::new();
        versions.insert(v2019.version.clone(), v2019);
        versions.insert(v2022.version.clone(), v2022);
        Taxonomies {
            versions,
            crosswalks: vec![Crosswalk {
                from: Self::SAHIL_2019.into(),
                to: Self::SAHIL_2022.into(),
                categories: BTreeMap::new(),
                subtypes,
            }],
        }
    }

    /// A version by id.
    pub fn get(&self, version: &str) -> Result<&Taxonomy> {
        self.versions
            .get(version)
            .ok_or_else(|| Error::UnknownTaxonomy(version.to_string()))
    }

    /// Maps a (category, subtype) pair from one version to another. The same version maps to
    /// itself; otherwise a direct crosswalk must exist and every code must land on a code of the
    /// target version.
    pub fn map(
        &self,
        from: &str,
        to: &str,
        category: &str,
        subtype: Option<&str>,
    ) -> Result<(String, Option<String>)> {
        let target = self.get(to)?;
        self.get(from)?;
        if from == to {
            return Ok((category.to_string(), subtype.map(str::to_string)));
        }
        let cw = self
            .crosswalks
            .iter()
            .find(|c| c.from == from && c.to == to)
            .ok_or_else(|| Error::NoCrosswalk {
                from: from.into(),
                to: to.into(),
            })?;
        let unmapped = |code: &str| Error::UnmappedCode {
            from: from.into(),
            to: to.into(),
            code: code.into(),
        };
        let cat = cw
            .categories
            .get(category)
            .map(String::as_str)
            .unwrap_or(category);
        if !target.has_category(cat) {
            return Err(unmapped(category));
        }
        let sub = match subtype {
            None => None,
            Some(s) => {
                let m = cw.subtypes.get(s).map(String::as_str).unwrap_or(s);
                if !target.has_subtype(m) {
                    return Err(unmapped(s));
                }
                Some(m.to_string())
            }
        };
        Ok((cat.to_string(), sub))
    }
}

impl Taxonomies {
    /// Maps every incident's codes into version `to` (for a multi-year series in one scheme).
    /// Fails with one [`RowError`] per incident that cannot be mapped.
    pub fn harmonise(
        &self,
        incidents: &[Incident],
        to: &str,
    ) -> std::result::Result<Vec<Incident>, Vec<RowError>> {
        let mut out = Vec::with_capacity(incidents.len());
        let mut errs = Vec::new();
        for (i, inc) in incidents.iter().enumerate() {
            match self.map(&inc.taxonomy, to, &inc.category, inc.subtype.as_deref()) {
                Ok((category, subtype)) => {
                    let mut m = inc.clone();
                    m.taxonomy = to.to_string();
                    m.category = category;
                    m.subtype = subtype;
                    out.push(m);
                }
                Err(e) => errs.push(RowError {
                    row: i + 1,
                    incident: Some(inc.id.clone()),
                    field: "subtype".into(),
                    problem: e.to_string(),
                }),
            }
        }
        if errs.is_empty() { Ok(out) } else { Err(errs) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosswalk_2019_to_2022_folds_gang_categories() {
        let t = Taxonomies::builtin();
        let m = |s| {
            t.map("sahil-2019", "sahil-2022", "csa", Some(s))
                .unwrap()
                .1
                .unwrap()
        };
        assert_eq!(m("gang_rape"), "rape");
        assert_eq!(m("gang_sodomy"), "sodomy");
        assert_eq!(m("attempted_sodomy"), "attempted_csa");
        assert_eq!(m("incest"), "incest");
        assert_eq!(
            t.map("sahil-2019", "sahil-2022", "abduction", None)
                .unwrap(),
            ("abduction".into(), None)
        );
    }

    #[test]
    fn crosswalk_errors_name_the_code() {
        let t = Taxonomies::builtin();
        let e = t
            .map("sahil-2022", "sahil-2019", "csa", Some("rape"))
            .unwrap_err();
        assert!(matches!(e, Error::NoCrosswalk { .. }), "{e}");
        let mut t2 = t.clone();
        t2.crosswalks[0].subtypes.remove("pornography");
        let e = t2
            .map("sahil-2019", "sahil-2022", "csa", Some("pornography"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "crosswalk \"sahil-2019\" -> \"sahil-2022\" does not map code \"pornography\""
        );
        assert!(matches!(
            t.get("sahil-1999"),
            Err(Error::UnknownTaxonomy(_))
        ));
    }
}
