//! A small hand-written dataset (22 incidents, 2022–2023) whose tables are computed by hand in
//! `stats.rs`. Each line: id | date | category | subtype | district | locality | place |
//! registered | victims (sex+age, `F12`, `M?` for unknown age) | abusers.

use vigil_cases::areas::Areas;
use vigil_cases::model::*;

pub(crate) const ROWS: &str = "\
1|2022-01-10|csa|rape|A1|rural|street|yes|F12|acquaintance
2|2022-02-03|csa|sodomy|A1|urban|abuser_place|yes|M9|acquaintance
3|2022-03-15|abduction||A2|rural|street|yes|F14|stranger
4|2022-04-20|missing||B1|urban|unknown|no|M13|
5|2022-05-05|csa|rape|A2|rural|victim_place|yes|F15|relative
6|2022-06-30|csa|attempted_csa|B1|urban|street|unknown|F7|neighbour
7|2022-07-01|abduction||A1|rural|field|yes|F16|acquaintance,stranger
8|2022-08-12|csa|sodomy|A1|rural|street|yes|M11|acquaintance
9|2022-11|abduction||B1|urban|street|yes|F?|stranger
10|2022|child_marriage||A2|rural|victim_place|no|F15|relative
11|2023-01-02|csa|rape|A1|urban|street|yes|F13|acquaintance
12|2023-01-20|csa|rape|A1|rural|street|yes|F6|acquaintance
13|2023-02-14|csa|sodomy|A2|rural|abuser_place|yes|M8|acquaintance,acquaintance
14|2023-03-03|abduction||A1|urban|street|yes|F12|stranger
15|2023-04-04|abduction||B1|urban|street|yes|M15|stranger
16|2023-05-05|missing||A2|rural|unknown|unknown|M5|
17|2023-06-06|csa|incest|A2|rural|victim_place|yes|F10|relative
18|2023-07-07|csa|attempted_csa|A1|urban|shop|yes|F14|service_provider
19|2023-08-08|csa|sodomy|B1|urban|street|yes|M12|acquaintance
20|2023-09-09|abduction||A1|rural|field|no|F17|acquaintance
21|2023-10-10|csa|rape|A1|rural|abuser_place|yes|F11,F9|acquaintance
22|2023-12-31|csa|murder_after_csa|A2|rural|field|yes|M7|stranger";

pub(crate) fn areas() -> Areas {
    let mut a = Areas::default();
    a.add_province("A", "Province A");
    a.add_province("B", "Province B");
    a.add_district("A1", "District A1", "A");
    a.add_district("A2", "District A2", "A");
    a.add_district("B1", "District B1", "B");
    a.add_tehsil("A1T1", "Tehsil A1-1", "A1");
    a.add_tehsil("B1T1", "Tehsil B1-1", "B1");
    a
}

fn e<T: for<'de> serde::Deserialize<'de>>(s: &str) -> T {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .unwrap_or_else(|_| panic!("bad fixture value {s}"))
}

pub(crate) fn incidents() -> Vec<Incident> {
    ROWS.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            let date = PartialDate::parse(f[1]).expect("fixture date");
            let abusers: Vec<Abuser> = f[9]
                .split(',')
                .filter(|s| !s.is_empty())
                .enumerate()
                .map(|(k, c)| Abuser {
                    pid: format!("A-{}-{k}", f[0]),
                    sex: Sex::Male,
                    age_band: None,
                    juvenile: false,
                    category: e(c),
                })
                .collect();
            let victims = f[8]
                .split(',')
                .enumerate()
                .map(|(k, v)| Victim {
                    pid: format!("V-{}-{k}", f[0]),
                    sex: if v.starts_with('F') {
                        Sex::Female
                    } else {
                        Sex::Male
                    },
                    age: v[1..].parse().map(Age::Years).unwrap_or(Age::Unknown),
                    relationships: abusers
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (i, a.category))
                        .collect(),
                })
                .collect();
            let report = date.date().unwrap_or(Date {
                year: date.year,
                month: 12,
                day: 31,
            });
            Incident {
                id: format!("I-{:03}", f[0].parse::<u32>().unwrap()),
                taxonomy: "sahil-2022".into(),
                sources: vec![Source {
                    outlet: "Daily Lantern".into(),
                    date: report,
                    link: None,
                }],
                date,
                category: f[2].into(),
                subtype: (!f[3].is_empty()).then(|| f[3].to_string()),
                flags: Flags::default(),
                place: e(f[6]),
                area: Area {
                    province: f[4][..1].into(),
                    district: f[4].into(),
                    tehsil: None,
                    locality: e(f[5]),
                    point: None,
                },
                reported_to_police: Tri::Yes,
                case_registered: e(f[7]),
                stage: None,
                victims,
                abusers,
                identifiers: Vec::new(),
            }
        })
        .collect()
}
