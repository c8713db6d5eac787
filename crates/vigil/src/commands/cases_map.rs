//! `vigil cases map` (and the demo's map files): a GeoJSON FeatureCollection for the hotspot
//! map. Each area of the boundaries file becomes a feature with its incident and victim counts,
//! population (person-years), detected victims per 100,000 per year and its Getis-Ord Gi* z,
//! p and hot/cold class; with `--displace-key-file`, incident points follow, each displaced
//! (DHS-style, keyed, kept inside its district). Without a key no point is written at all:
//! exact locations never leave the registry.
//!
//! `vigil cases areas import` loads a boundaries file and/or population figures into the store
//! (`--db`), all or nothing. All the work is in `vigil_cases::{geo, population, hotspot,
//! displace}` and `vigil-store`; this module reads and writes files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::{Map, Value, json};
use vigil_cases::Error;
use vigil_cases::dataset::Dataset;
use vigil_cases::demo::{self, Demo};
use vigil_cases::displace::{self, DisplaceKey};
use vigil_cases::geo::{Boundaries, GeoOptions, parse_boundaries};
use vigil_cases::hotspot::{self, Weights};
use vigil_cases::population::{PopulationTable, area_rates, parse_population_csv};

use crate::exit::ExitStatus;

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesMapArgs {
    /// The dataset (JSON; default: the store's registry, read with points only when a
    /// displacement key is given; audited).
    #[arg(long)]
    pub(crate) dataset: Option<PathBuf>,
    /// District boundaries: a GeoJSON FeatureCollection of Polygon/MultiPolygon features
    /// (default: the store's district boundaries, `vigil cases areas import --boundaries`).
    #[arg(long)]
    pub(crate) boundaries: Option<PathBuf>,
    /// The feature property holding the district code (OCHA: ADM2_PCODE).
    #[arg(long, default_value = "code")]
    pub(crate) code_property: String,
    /// The feature property holding the district's name (OCHA: ADM2_EN).
    #[arg(long, default_value = "name")]
    pub(crate) name_property: String,
    /// Population figures (CSV: area_code,year,population[,age_group]); default: the dataset's,
    /// or the store's without a dataset.
    #[arg(long)]
    pub(crate) population: Option<PathBuf>,
    /// The age group of the population file to use (needed when it has several).
    #[arg(long)]
    pub(crate) age_group: Option<String>,
    /// One year (default: every year of the incidents).
    #[arg(long)]
    pub(crate) year: Option<i32>,
    /// Gi* neighbours: queen (shared vertex), band:KM (centroids within KM) or queen+band:KM.
    #[arg(long, default_value = "queen")]
    pub(crate) weights: String,
    /// Also compute a permutation pseudo-p-value with this many permutations (0: none).
    #[arg(long, default_value_t = 0)]
    pub(crate) permutations: usize,
    /// A file holding the secret displacement key (16 bytes or more); points are written,
    /// displaced, only with a key.
    #[arg(long)]
    pub(crate) displace_key_file: Option<PathBuf>,
    /// Where to write the map (GeoJSON).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CasesAreasCommand {
    /// Import the area hierarchy (a dataset file's), boundaries (GeoJSON) and/or population
    /// figures (CSV) into the store (--db), each all or nothing; every bad feature or row is
    /// printed (exit 1).
    Import(CasesAreasImportArgs),
}

#[derive(Debug, ClapArgs)]
pub(crate) struct CasesAreasImportArgs {
    /// Replace the store's province → district → tehsil hierarchy with this dataset's (JSON);
    /// imports and manual entries are checked against it.
    #[arg(long)]
    pub(crate) hierarchy: Option<PathBuf>,
    /// Boundaries (GeoJSON FeatureCollection).
    #[arg(long)]
    pub(crate) boundaries: Option<PathBuf>,
    /// Level of the boundaries: 1 province, 2 district, 3 tehsil.
    #[arg(long, default_value_t = 2)]
    pub(crate) level: i64,
    /// The feature property holding the area code (OCHA: ADM2_PCODE).
    #[arg(long, default_value = "code")]
    pub(crate) code_property: String,
    /// The feature property holding the area's name (OCHA: ADM2_EN).
    #[arg(long, default_value = "name")]
    pub(crate) name_property: String,
    /// Population figures (CSV: area_code,year,population[,age_group]).
    #[arg(long)]
    pub(crate) population: Option<PathBuf>,
    /// SDG 16.2 indicator figures as published (CSV:
    /// indicator,area_code,year,value,unit,sex,age_group,source).
    #[arg(long)]
    pub(crate) indicators: Option<PathBuf>,
    /// A dataset whose area codes the files must use (default: --hierarchy's, else the store's
    /// hierarchy, else any code).
    #[arg(long)]
    pub(crate) areas: Option<PathBuf>,
}

/// Writes the demo's boundaries (GeoJSON) and population (CSV) where asked.
pub(crate) fn write_demo_map(
    d: &Demo,
    boundaries: Option<&Path>,
    population: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(p) = boundaries {
        let text = serde_json::to_string(&d.boundaries.to_geojson()).context("serialising")?;
        std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = population {
        let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        demo::population_table(d)
            .write_csv(f)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn read_text(path: &Path, what: &str, limit: u64) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > limit {
        bail!(
            "{what} {}: {} bytes, more than the limit of {limit}",
            path.display(),
            meta.len()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads and validates a boundaries file; every bad feature goes to stderr. `None`: invalid.
fn read_boundaries(
    path: &Path,
    opts: &GeoOptions,
    known: Option<&BTreeSet<String>>,
) -> anyhow::Result<Option<Boundaries>> {
    let text = read_text(path, "boundaries", opts.max_bytes as u64)?;
    let what = path.display().to_string();
    match parse_boundaries(&text, &what, opts, known) {
        Ok(b) => Ok(Some(b)),
        Err(Error::Features { errors, .. }) => {
            for e in &errors {
                eprintln!("vigil: {what}: {e}");
            }
            eprintln!(
                "cases: {what}: {} bad feature(s), nothing imported",
                errors.len()
            );
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads a population CSV; every bad row goes to stderr. `None`: invalid.
fn read_population(
    path: &Path,
    known: Option<&BTreeSet<String>>,
) -> anyhow::Result<Option<PopulationTable>> {
    let what = path.display().to_string();
    let f = std::fs::File::open(path).with_context(|| format!("opening {what}"))?;
    match parse_population_csv(f, &what, known) {
        Ok(t) => Ok(Some(t)),
        Err(Error::Rows(errs)) => {
            for e in &errs {
                eprintln!("vigil: {what}: {e}");
            }
            eprintln!("cases: {what}: {} error(s), nothing imported", errs.len());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads an SDG indicators CSV; every bad row goes to stderr. `None`: invalid.
pub(crate) fn read_indicators(
    path: &Path,
    known: Option<&BTreeSet<String>>,
) -> anyhow::Result<Option<Vec<vigil_cases::indicators::Figure>>> {
    let what = path.display().to_string();
    let text = read_text(path, "indicators", 16 << 20)?;
    match vigil_cases::indicators::parse_indicators_csv(text.as_bytes(), &what, known) {
        Ok(f) => Ok(Some(f)),
        Err(Error::Rows(errs)) => {
            for e in &errs {
                eprintln!("vigil: {what}: {e}");
            }
            eprintln!("cases: {what}: {} error(s), nothing imported", errs.len());
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn geo_options(code: &str, name: &str) -> GeoOptions {
    GeoOptions {
        code_property: code.into(),
        name_property: Some(name.into()),
        ..Default::default()
    }
}

/// Runs `vigil cases map`.
pub(crate) fn map(db: Option<&str>, a: CasesMapArgs) -> anyhow::Result<ExitStatus> {
    let weights = Weights::parse(&a.weights).with_context(|| {
        format!(
            "--weights {:?}: expected queen, band:KM or queen+band:KM",
            a.weights
        )
    })?;
    let key = match &a.displace_key_file {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let secret = bytes.trim_ascii();
            Some(DisplaceKey::new(secret).with_context(|| {
                format!("displacement key {}: fewer than 16 bytes", p.display())
            })?)
        }
        None => None,
    };
    // The registry, its districts and population: the dataset file's, else the store's.
    let (incidents, districts, population, what) = match &a.dataset {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading dataset {}", p.display()))?;
            let ds: Dataset = serde_json::from_str(&text)
                .with_context(|| format!("parsing dataset {}", p.display()))?;
            let districts: BTreeSet<String> = ds.areas.districts.keys().cloned().collect();
            let population = ds.population();
            (
                ds.incidents,
                Some(districts),
                Some(population),
                format!("dataset {}", p.display()),
            )
        }
        None => {
            let db = db.context("no store")?;
            let (incidents, areas, table) = crate::commands::store::block_on(async {
                let store = crate::commands::store::open(db).await?;
                let incidents = store
                    .incidents(&crate::commands::store::actor(), key.is_some())
                    .await
                    .context("reading the case registry")?;
                let areas = store.case_areas().await.context("reading the areas")?;
                let table = store.population().await.context("reading the population")?;
                store.close().await;
                anyhow::Ok((incidents, areas, table))
            })??;
            let districts = (!areas.districts.is_empty()).then(|| {
                areas
                    .districts
                    .keys()
                    .cloned()
                    .collect::<BTreeSet<String>>()
            });
            let population = if table.rows.is_empty() || a.population.is_some() {
                None
            } else {
                Some(table.population(a.age_group.as_deref())?)
            };
            (
                incidents,
                districts,
                population,
                "the store's registry".to_string(),
            )
        }
    };
    let opts = geo_options(&a.code_property, &a.name_property);
    let b = match &a.boundaries {
        Some(p) => match read_boundaries(p, &opts, districts.as_ref())? {
            Some(b) => b,
            None => return Ok(ExitStatus::Failure),
        },
        None => {
            let db = db.context(
                "--boundaries FILE is needed with --dataset (or import boundaries into the \
                 store and leave out --dataset)",
            )?;
            let b = crate::commands::store::block_on(async {
                let store = crate::commands::store::open(db).await?;
                let b = store
                    .boundaries(Some(2))
                    .await
                    .context("reading the boundaries")?;
                store.close().await;
                anyhow::Ok(b)
            })??;
            if b.areas.is_empty() {
                bail!(
                    "the store holds no district boundaries: import them with `vigil cases areas \
                     import --boundaries FILE`, or give --boundaries"
                );
            }
            b
        }
    };
    let population = match (&a.population, population) {
        (Some(p), _) => {
            let Some(t) = read_population(p, districts.as_ref())? else {
                return Ok(ExitStatus::Failure);
            };
            t.population(a.age_group.as_deref())?
        }
        (None, Some(p)) => p,
        (None, None) => Default::default(),
    };
    let (from, to) = match a.year {
        Some(y) => (y, y),
        None => {
            let years = incidents.iter().map(|i| i.date.year);
            match (years.clone().min(), years.max()) {
                (Some(f), Some(t)) => (f, t),
                _ => bail!("{what} has no incidents"),
            }
        }
    };
    let codes = b.codes();
    let rates = area_rates(&incidents, &population, &codes, from, to);
    // Gi* over the areas with a rate; neighbours re-indexed among them.
    let with: Vec<usize> = (0..codes.len())
        .filter(|&i| rates[i].per_100k.is_some())
        .collect();
    let mut pos = vec![usize::MAX; codes.len()];
    for (k, &i) in with.iter().enumerate() {
        pos[i] = k;
    }
    let all_nb = hotspot::neighbours(&b, weights);
    let nb: Vec<Vec<usize>> = with
        .iter()
        .map(|&i| {
            all_nb[i]
                .iter()
                .filter(|&&j| pos[j] != usize::MAX)
                .map(|&j| pos[j])
                .collect()
        })
        .collect();
    let x: Vec<f64> = with
        .iter()
        .map(|&i| rates[i].per_100k.unwrap_or_default())
        .collect();
    let gi = if with.len() >= 3 {
        Some(hotspot::gi_star(&x, &nb)?)
    } else {
        eprintln!(
            "cases map: {} area(s) with a population figure, Gi* needs 3: no hotspots",
            with.len()
        );
        None
    };
    let pseudo = (a.permutations > 0 && gi.is_some())
        .then(|| hotspot::permutation_p(&x, &nb, a.permutations, 0x76_6967_696c));
    let mut features = Vec::new();
    let mut hot = 0;
    for (i, area) in b.areas.iter().enumerate() {
        let r = &rates[i];
        let mut p = Map::new();
        p.insert("kind".into(), "area".into());
        p.insert("incidents".into(), r.incidents.into());
        p.insert("victims".into(), r.victims.into());
        p.insert("person_years".into(), r.person_years.into());
        p.insert("rate_per_100k".into(), json!(r.per_100k));
        let k = pos[i];
        if let Some(g) = gi.as_ref().filter(|_| k != usize::MAX).map(|g| g[k]) {
            p.insert("gi_z".into(), json!(g.z));
            p.insert("gi_p".into(), json!(g.p));
            p.insert("gi_class".into(), g.class.name().into());
            p.insert("gi_neighbours".into(), g.neighbours.into());
            if let Some(ps) = &pseudo {
                p.insert("gi_pseudo_p".into(), json!(ps[k]));
            }
            hot += usize::from(g.class > hotspot::HotClass::None);
        } else {
            p.insert("gi_class".into(), Value::Null);
        }
        features.push(area.to_feature(p));
    }
    let unmapped = incidents
        .iter()
        .filter(|i| b.get(&i.area.district).is_none())
        .count();
    if unmapped > 0 {
        eprintln!("cases map: {unmapped} incident(s) in districts without a boundary");
    }
    let (mut points, mut withheld) = (0usize, 0usize);
    if let Some(key) = &key {
        for i in &incidents {
            let (Some(pt), true) = (i.area.point, (from..=to).contains(&i.date.year)) else {
                continue;
            };
            let Some(district) = b.get(&i.area.district) else {
                withheld += 1;
                continue;
            };
            match displace::displace(key, &i.id, [pt.lon, pt.lat], i.area.locality, district) {
                Some(q) => {
                    // Millionths of a degree: the displacement is kilometres, more digits
                    // would only look precise.
                    let r6 = |x: f64| (x * 1e6).round() / 1e6;
                    features.push(json!({"type": "Feature",
                        "properties": {"kind": "incident", "district": i.area.district,
                            "year": i.date.year, "month": i.date.month, "category": i.category},
                        "geometry": {"type": "Point", "coordinates": [r6(q[0]), r6(q[1])]}}));
                    points += 1;
                }
                None => withheld += 1,
            }
        }
    }
    let doc = json!({"type": "FeatureCollection",
        "vigil": {"years": [from, to], "weights": weights, "rate": "detected victims per 100,000 per year",
            "gi": "Getis-Ord Gi* (binary weights, self included), two-sided normal p",
            "displacement": key.is_some()},
        "features": features});
    let text = serde_json::to_string(&doc).context("serialising the map")?;
    std::fs::write(&a.out, text).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!(
        "cases map: {} areas ({} with a rate, {hot} hot or cold), {points} displaced points, \
         {withheld} withheld, years {from}-{to}",
        b.areas.len(),
        with.len()
    );
    Ok(ExitStatus::Success)
}

/// Runs `vigil cases areas …`.
pub(crate) fn areas(db: &str, cmd: CasesAreasCommand) -> anyhow::Result<ExitStatus> {
    let CasesAreasCommand::Import(a) = cmd;
    if a.boundaries.is_none()
        && a.population.is_none()
        && a.hierarchy.is_none()
        && a.indicators.is_none()
    {
        bail!(
            "nothing to import: give --hierarchy, --boundaries, --population and/or --indicators"
        );
    }
    let hierarchy = match &a.hierarchy {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading dataset {}", p.display()))?;
            let ds: Dataset = serde_json::from_str(&text)
                .with_context(|| format!("parsing dataset {}", p.display()))?;
            if ds.areas.districts.is_empty() {
                bail!("dataset {}: no districts in its areas", p.display());
            }
            Some(ds.areas)
        }
        None => None,
    };
    // With a dataset (--areas, else --hierarchy): boundaries must name areas of their level,
    // population figures a province or a district.
    let dataset_areas = match &a.areas {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading dataset {}", p.display()))?;
            let ds: Dataset = serde_json::from_str(&text)
                .with_context(|| format!("parsing dataset {}", p.display()))?;
            Some(ds.areas)
        }
        None => match &hierarchy {
            Some(h) => Some(h.clone()),
            // Else the store's hierarchy, when it has one.
            None => {
                let areas = crate::commands::store::block_on(async {
                    let store = crate::commands::store::open(db).await?;
                    let areas = store.case_areas().await.context("reading the areas")?;
                    store.close().await;
                    anyhow::Ok(areas)
                })??;
                (!areas.districts.is_empty()).then_some(areas)
            }
        },
    };
    let (known_b, known_p): (Option<BTreeSet<String>>, Option<BTreeSet<String>>) =
        match &dataset_areas {
            Some(areas) => {
                let level = match a.level {
                    1 => &areas.provinces,
                    3 => &areas.tehsils,
                    _ => &areas.districts,
                };
                let mut pop: BTreeSet<String> = areas.provinces.keys().cloned().collect();
                pop.extend(areas.districts.keys().cloned());
                (Some(level.keys().cloned().collect()), Some(pop))
            }
            None => (None, None),
        };
    // Validate both files before touching the store.
    let b = match &a.boundaries {
        Some(p) => {
            let opts = geo_options(&a.code_property, &a.name_property);
            match read_boundaries(p, &opts, known_b.as_ref())? {
                Some(b) => Some((b, p.display().to_string())),
                None => return Ok(ExitStatus::Failure),
            }
        }
        None => None,
    };
    let t = match &a.population {
        Some(p) => match read_population(p, known_p.as_ref())? {
            Some(t) => Some((t, p.display().to_string())),
            None => return Ok(ExitStatus::Failure),
        },
        None => None,
    };
    let ind = match &a.indicators {
        Some(p) => match read_indicators(p, known_p.as_ref())? {
            Some(f) => Some((f, p.display().to_string())),
            None => return Ok(ExitStatus::Failure),
        },
        None => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let store = crate::commands::store::open(db).await?;
        let actor = crate::commands::store::actor();
        if let Some((f, file)) = &ind {
            let s = store
                .save_indicators(f, file, &actor)
                .await
                .with_context(|| format!("importing {file}"))?;
            eprintln!(
                "cases areas: {} indicator figures imported ({} replaced)",
                s.written, s.replaced
            );
        }
        if let Some(h) = &hierarchy {
            store
                .save_case_areas(&actor, h)
                .await
                .context("saving the area hierarchy")?;
            eprintln!(
                "cases areas: hierarchy of {} provinces, {} districts, {} tehsils saved",
                h.provinces.len(),
                h.districts.len(),
                h.tehsils.len()
            );
        }
        if let Some((b, source)) = &b {
            let s = store
                .save_boundaries(b, a.level, source, &actor)
                .await
                .with_context(|| format!("importing {source}"))?;
            eprintln!(
                "cases areas: {} boundaries of level {} imported ({} replaced)",
                s.written, a.level, s.replaced
            );
        }
        if let Some((t, source)) = &t {
            let s = store
                .save_population(t, source, &actor)
                .await
                .with_context(|| format!("importing {source}"))?;
            eprintln!(
                "cases areas: {} population figures imported ({} replaced)",
                s.written, s.replaced
            );
        }
        Ok(ExitStatus::Success)
    })
}
