//! The registry's data model: incidents with their sources, victims, abusers and the identifiers
//! that link incidents into networks.
//!
//! Three counting units are kept apart (incident, victim, abuser) because the NGOs that publish
//! these tables (Sahil's "Cruel Numbers") report all three. Victims and abusers are pseudonymised:
//! the model has no field for a name. Categories are plain codes checked against a versioned
//! [`crate::taxonomy::Taxonomy`], so that a 2019 dataset and a 2022 dataset can both be read and
//! one crosswalked into the other.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Year, e.g. 2022.
    pub year: i32,
    /// Month 1..=12.
    pub month: u8,
    /// Day 1..=31.
    pub day: u8,
}

/// Whether `year` is a leap year.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in a month (0 for a month outside 1..=12).
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A checked date: `None` for 2023-02-29 and the like.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        (day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before), by Howard Hinnant's `days_from_civil`.
    pub fn days(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::days`].
    pub fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let y = it.next()?.parse().ok()?;
        let m = it.next()?.parse().ok()?;
        let d = it.next()?.parse().ok()?;
        Date::new(y, m, d)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A date known to the day, the month or only the year (newspapers often say "last month").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PartialDate {
    /// Year.
    pub year: i32,
    /// Month, when known.
    pub month: Option<u8>,
    /// Day, when known (only with a month).
    pub day: Option<u8>,
}

/// How precisely a [`PartialDate`] is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Known to the day.
    Day,
    /// Known to the month.
    Month,
    /// Known to the year.
    Year,
}

impl PartialDate {
    /// A date known to the day.
    pub fn day(d: Date) -> PartialDate {
        PartialDate {
            year: d.year,
            month: Some(d.month),
            day: Some(d.day),
        }
    }

    /// The precision.
    pub fn precision(&self) -> Precision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => Precision::Day,
            (Some(_), None) => Precision::Month,
            _ => Precision::Year,
        }
    }

    /// The exact date, when known to the day and valid.
    pub fn date(&self) -> Option<Date> {
        Date::new(self.year, self.month?, self.day?)
    }

    /// The half-year (1 or 2), when the month is known.
    pub fn half(&self) -> Option<u8> {
        self.month.map(|m| if m <= 6 { 1 } else { 2 })
    }

    /// Whether the parts form a real date (month 1..=12, day within the month, no day without
    /// a month).
    pub fn is_valid(&self) -> bool {
        match (self.month, self.day) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some(m), None) => (1..=12).contains(&m),
            (Some(m), Some(d)) => Date::new(self.year, m, d).is_some(),
        }
    }

    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<PartialDate> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let year = parts.first()?.parse().ok()?;
        let month: Option<u8> = match parts.get(1) {
            Some(m) => Some(m.parse().ok()?),
            None => None,
        };
        let day: Option<u8> = match parts.get(2) {
            Some(d) => Some(d.parse().ok()?),
            None => None,
        };
        if parts.len() > 3 {
            return None;
        }
        let p = PartialDate { year, month, day };
        p.is_valid().then_some(p)
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// Where a report of an incident came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The outlet (newspaper, hotline, police, partner NGO).
    pub outlet: String,
    /// Date of the report.
    pub date: Date,
    /// A link or clipping reference, when there is one.
    pub link: Option<String>,
}

/// Yes, no or not reported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Not reported.
    #[default]
    Unknown,
}

impl Tri {
    /// Every variant, in declaration order (`ALL[v as usize] == v`).
    pub const ALL: [Tri; 3] = [Tri::Yes, Tri::No, Tri::Unknown];
}

/// Sex of a victim or abuser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Not reported.
    Unknown,
}

impl Sex {
    /// Every variant, in declaration order (`ALL[v as usize] == v`).
    pub const ALL: [Sex; 3] = [Sex::Female, Sex::Male, Sex::Unknown];
}

/// The age bands Sahil publishes (0–5, 6–10, 11–15, 16–18) plus "not reported".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// 0 to 5 years.
    #[serde(rename = "0-5")]
    A0to5,
    /// 6 to 10 years.
    #[serde(rename = "6-10")]
    A6to10,
    /// 11 to 15 years.
    #[serde(rename = "11-15")]
    A11to15,
    /// 16 to 18 years.
    #[serde(rename = "16-18")]
    A16to18,
    /// Not reported.
    #[serde(rename = "unknown")]
    Unknown,
}

impl AgeBand {
    /// Every variant, in declaration order (`ALL[v as usize] == v`).
    pub const ALL: [AgeBand; 5] = [
        AgeBand::A0to5,
        AgeBand::A6to10,
        AgeBand::A11to15,
        AgeBand::A16to18,
        AgeBand::Unknown,
    ];
}

impl AgeBand {
    /// The band of an age in years, `None` above 18 (not a child).
    pub fn of_years(age: u8) -> Option<AgeBand> {
        Some(match age {
            0..=5 => AgeBand::A0to5,
            6..=10 => AgeBand::A6to10,
            11..=15 => AgeBand::A11to15,
            16..=18 => AgeBand::A16to18,
            _ => return None,
        })
    }
}

/// A victim's age: exact years, a band, or not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Age {
    /// Age in years.
    Years(u8),
    /// Only the band is known.
    Band(AgeBand),
    /// Not reported.
    Unknown,
}

impl Age {
    /// The band (`Unknown` also for an out-of-range age, which validation reports).
    pub fn band(&self) -> AgeBand {
        match *self {
            Age::Years(y) => AgeBand::of_years(y).unwrap_or(AgeBand::Unknown),
            Age::Band(b) => b,
            Age::Unknown => AgeBand::Unknown,
        }
    }
}

/// Abuser categories ("relationship to abuser" as Sahil tabulates it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbuserCategory {
    /// Known to the victim.
    Acquaintance,
    /// A stranger.
    Stranger,
    /// Family member or relative (incest).
    Relative,
    /// Neighbour.
    Neighbour,
    /// Service provider: cleric, teacher, shopkeeper, driver, doctor, police.
    ServiceProvider,
    /// Someone first met online.
    OnlineContact,
    /// Not reported.
    Unknown,
}

impl AbuserCategory {
    /// Every variant, in declaration order (`ALL[v as usize] == v`).
    pub const ALL: [AbuserCategory; 7] = [
        AbuserCategory::Acquaintance,
        AbuserCategory::Stranger,
        AbuserCategory::Relative,
        AbuserCategory::Neighbour,
        AbuserCategory::ServiceProvider,
        AbuserCategory::OnlineContact,
        AbuserCategory::Unknown,
    ];
}

/// Where the abuse happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceType {
    /// The abuser's place.
    AbuserPlace,
    /// The victim's place.
    VictimPlace,
    /// Street.
    Street,
    /// Field.
    Field,
    /// Place of worship.
    PlaceOfWorship,
    /// School or madrassa.
    EducationalInstitute,
    /// Workplace.
    Workplace,
    /// Shop.
    Shop,
    /// Vehicle.
    Vehicle,
    /// Hotel.
    Hotel,
    /// Online.
    Online,
    /// Other.
    Other,
    /// Not reported.
    Unknown,
}

impl PlaceType {
    /// Every variant, in declaration order (`ALL[v as usize] == v`).
    pub const ALL: [PlaceType; 13] = [
        PlaceType::AbuserPlace,
        PlaceType::VictimPlace,
        PlaceType::Street,
        PlaceType::Field,
        PlaceType::PlaceOfWorship,
        PlaceType::EducationalInstitute,
        PlaceType::Workplace,
        PlaceType::Shop,
        PlaceType::Vehicle,
        PlaceType::Hotel,
        PlaceType::Online,
        PlaceType::Other,
        PlaceType::Unknown,
    ];
}

/// Urban or rural.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locality {
    /// Urban.
    Urban,
    /// Rural.
    Rural,
    /// Not reported.
    Unknown,
}

impl Locality {
    /// Every variant, in declaration order (`ALL[v as usize] == v`).
    pub const ALL: [Locality; 3] = [Locality::Urban, Locality::Rural, Locality::Unknown];
}

/// Stage of the justice process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStage {
    /// Under investigation.
    Investigation,
    /// Charge sheet (challan) filed.
    Challan,
    /// On trial.
    Trial,
    /// Convicted.
    Convicted,
    /// Acquitted.
    Acquitted,
    /// Settled out of court ("compromise").
    Compromise,
    /// Withdrawn.
    Withdrawn,
}

/// A point (WGS 84). Stored apart from the area codes and shown only to roles allowed to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
}

/// The administrative area of an incident (P-code style: province → district → tehsil).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    /// Province code.
    pub province: String,
    /// District code (under the province).
    pub district: String,
    /// Tehsil code (under the district), when known.
    pub tehsil: Option<String>,
    /// Urban or rural.
    pub locality: Locality,
    /// An optional point.
    pub point: Option<Point>,
}

/// Cross-cutting flags reported alongside the category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Flags {
    /// Abducted and then sexually abused.
    pub abducted_then_abused: bool,
    /// Murdered.
    pub murdered: bool,
    /// Abuse recorded or shared online.
    pub recorded_online: bool,
    /// Extortion.
    pub extortion: bool,
}

/// A victim, pseudonymised ("V-000123"); the model has no name field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Victim {
    /// Pseudonym.
    pub pid: String,
    /// Sex.
    pub sex: Sex,
    /// Age.
    pub age: Age,
    /// Relationship to each abuser of the incident: (index into `Incident::abusers`, category).
    pub relationships: Vec<(usize, AbuserCategory)>,
}

/// An abuser, pseudonymised ("A-000045").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Abuser {
    /// Pseudonym.
    pub pid: String,
    /// Sex.
    pub sex: Sex,
    /// Age band as reported (adult bands are free text such as "19-30"), when known.
    pub age_band: Option<String>,
    /// Juvenile abuser (under 18).
    pub juvenile: bool,
    /// Category.
    pub category: AbuserCategory,
}

/// Kinds of identifiers that can tie incidents together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// A person (pseudonym or resolved entity id).
    Person,
    /// A phone number (E.164).
    Phone,
    /// A social-media handle (`platform:handle`).
    Handle,
    /// A URL.
    Url,
    /// A cryptocurrency address (`chain:address`).
    CryptoAddress,
    /// A media hash (`pdq:<hex>`, `sha256:<hex>`, `md5:<hex>`).
    MediaHash,
    /// A named place or venue (hospital, police station, hotel).
    Place,
    /// A vehicle plate.
    Vehicle,
}

impl IdentifierKind {
    /// Lower-case name used in explanations and files.
    pub fn name(&self) -> &'static str {
        match self {
            IdentifierKind::Person => "person",
            IdentifierKind::Phone => "phone",
            IdentifierKind::Handle => "handle",
            IdentifierKind::Url => "url",
            IdentifierKind::CryptoAddress => "crypto address",
            IdentifierKind::MediaHash => "media hash",
            IdentifierKind::Place => "place",
            IdentifierKind::Vehicle => "vehicle",
        }
    }

    /// Parses the names of [`IdentifierKind::name`] (also with `_` for spaces).
    pub fn parse(s: &str) -> Option<IdentifierKind> {
        Some(
            match s.trim().to_ascii_lowercase().replace('_', " ").as_str() {
                "person" => IdentifierKind::Person,
                "phone" => IdentifierKind::Phone,
                "handle" => IdentifierKind::Handle,
                "url" => IdentifierKind::Url,
                "crypto address" | "crypto" => IdentifierKind::CryptoAddress,
                "media hash" | "media" => IdentifierKind::MediaHash,
                "place" | "venue" => IdentifierKind::Place,
                "vehicle" => IdentifierKind::Vehicle,
                _ => return None,
            },
        )
    }

    /// Normalises a raw value so that the same identifier written two ways compares equal:
    /// phones keep `+` and digits (a leading `00` becomes `+`), handles, URLs, hashes and
    /// places are lower-cased (URLs lose the scheme, `www.` and a trailing `/`), plates lose
    /// spaces and dashes and are upper-cased, crypto addresses are kept as written (base58 is
    /// case-sensitive) but trimmed.
    pub fn normalise(&self, raw: &str) -> String {
        let t = raw.trim();
        match self {
            IdentifierKind::Phone => {
                let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
                if let Some(rest) = digits.strip_prefix("00") {
                    format!("+{rest}")
                } else if t.starts_with('+') {
                    format!("+{digits}")
                } else {
                    digits
                }
            }
            IdentifierKind::Handle => t.trim_start_matches('@').to_lowercase().replace(":@", ":"),
            IdentifierKind::Url => {
                let l = t.to_lowercase();
                let l = l
                    .strip_prefix("https://")
                    .or_else(|| l.strip_prefix("http://"))
                    .unwrap_or(&l);
                let l = l.strip_prefix("www.").unwrap_or(l);
                l.trim_end_matches('/').to_string()
            }
            IdentifierKind::CryptoAddress => t.to_string(),
            IdentifierKind::MediaHash | IdentifierKind::Person => t.to_lowercase(),
            IdentifierKind::Place => t
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            IdentifierKind::Vehicle => t
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_uppercase(),
        }
    }
}

/// An identifier named in an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identifier {
    /// Kind.
    pub kind: IdentifierKind,
    /// Normalised value (see [`IdentifierKind::normalise`]).
    pub value: String,
    /// Where it was seen (outlet, police file, analyst).
    pub source: String,
    /// Confidence 0..=1 that the identifier really belongs to this incident.
    pub confidence: f32,
    /// First seen.
    pub first_seen: Option<Date>,
    /// Last seen.
    pub last_seen: Option<Date>,
}

impl Identifier {
    /// An identifier with a normalised value, full confidence and no dates.
    pub fn new(kind: IdentifierKind, raw: &str, source: &str) -> Identifier {
        Identifier {
            kind,
            value: kind.normalise(raw),
            source: source.to_string(),
            confidence: 1.0,
            first_seen: None,
            last_seen: None,
        }
    }
}

/// One incident (a "case" in Sahil's tables): one event, possibly reported by several sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Id, e.g. "I-000123".
    pub id: String,
    /// Taxonomy version the category codes belong to (e.g. "sahil-2022").
    pub taxonomy: String,
    /// Reports of this incident.
    pub sources: Vec<Source>,
    /// When it happened.
    pub date: PartialDate,
    /// Primary category code (mutually exclusive): csa, abduction, missing, child_marriage.
    pub category: String,
    /// Sexual-abuse subtype code (mutually exclusive), for CSA incidents.
    pub subtype: Option<String>,
    /// Cross-cutting flags.
    pub flags: Flags,
    /// Place type.
    pub place: PlaceType,
    /// Area.
    pub area: Area,
    /// Reported to police.
    pub reported_to_police: Tri,
    /// Case registered with police (FIR).
    pub case_registered: Tri,
    /// Stage of the case.
    pub stage: Option<CaseStage>,
    /// Victims.
    pub victims: Vec<Victim>,
    /// Abusers.
    pub abusers: Vec<Abuser>,
    /// Identifiers named in the reports.
    pub identifiers: Vec<Identifier>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_follow_declaration_order() {
        assert!(Tri::ALL.iter().enumerate().all(|(i, v)| *v as usize == i));
        assert!(Sex::ALL.iter().enumerate().all(|(i, v)| *v as usize == i));
        assert!(
            AgeBand::ALL
                .iter()
                .enumerate()
                .all(|(i, v)| *v as usize == i)
        );
        assert!(
            AbuserCategory::ALL
                .iter()
                .enumerate()
                .all(|(i, v)| *v as usize == i)
        );
        assert!(
            PlaceType::ALL
                .iter()
                .enumerate()
                .all(|(i, v)| *v as usize == i)
        );
        assert!(
            Locality::ALL
                .iter()
                .enumerate()
                .all(|(i, v)| *v as usize == i)
        );
    }

    #[test]
    fn dates_round_trip_and_reject_impossible_days() {
        for z in (-800_000..800_000i64).step_by(997) {
            assert_eq!(Date::from_days(z).days(), z);
        }
        assert_eq!(
            Date {
                year: 1970,
                month: 1,
                day: 1
            }
            .days(),
            0
        );
        // 30 years of 365 days plus 7 leap days (72..96) plus Jan and Feb 2000 (31 + 29).
        assert_eq!(
            Date {
                year: 2000,
                month: 3,
                day: 1
            }
            .days(),
            30 * 365 + 7 + 60
        );
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(PartialDate::parse("2023-13").is_none());
        assert_eq!(
            PartialDate::parse("2023-05").map(|d| d.precision()),
            Some(Precision::Month)
        );
    }

    #[test]
    fn identifiers_normalise() {
        assert_eq!(
            IdentifierKind::Phone.normalise("0092 300-123 4567"),
            "+923001234567"
        );
        assert_eq!(IdentifierKind::Handle.normalise("@Shadow_1"), "shadow_1");
        assert_eq!(
            IdentifierKind::Url.normalise("HTTPS://www.Example.org/a/"),
            "example.org/a"
        );
        assert_eq!(IdentifierKind::Vehicle.normalise("lea-1234 "), "LEA1234");
        assert_eq!(
            IdentifierKind::Place.normalise(" District  Hospital "),
            "district hospital"
        );
    }
}
