//! The batch oracle: what the pipeline must produce, recomputed from the raw
//! events with plain loops, independently of the dataflow's code.
//!
//! Rules:
//! - per (topic, partition) in offset order, an event is late when its time
//!   is before (greatest earlier event time in that partition - lateness);
//! - a late event within the correction horizon (its time at or after the
//!   greatest earlier event time in its partition - horizon) counts like an
//!   on-time one, and each window it counts in is revised by one more late
//!   value (parents: the sum of their provinces'); an older one counts
//!   nowhere and is listed as late;
//! - an on-time event's metric values (the schemas crate's `metric::values`,
//!   the definition of what a message means) count in the windows of every
//!   width, for its province and, when given, its district; windows are
//!   aligned to Thai local time (UTC+7);
//! - provinces roll up into both region schemes and the nation;
//! - "last" is the value of the greatest (event time, offset, area code);
//! - p50/p95 are nearest-rank over the values floored to whole units;
//! - for a metric whose kind (`metric::Kind`, the declaration) is not a
//!   flow, a window keeps the latest report of each entity (the station,
//!   dam, ministry and fiscal year, or incident the payload names, read here
//!   from the payload, not through the pipeline's keys), and count, sum,
//!   weight, min and max are over those entities: the count is of
//!   entities, the sum of value times weight (a dam's share times its
//!   capacity), the weight the total capacity; a parent area holds the
//!   union of its provinces' entities, each with its latest report.

use std::collections::BTreeMap;

use pmoc_schemas::{
    envelope::{Envelope, Payload},
    metric,
};

const LOCAL_OFFSET_MS: i64 = 7 * 3_600_000;

/// One expected window.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedWindow {
    pub count: u64,
    pub sum: f64,
    pub weight: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub last_event_time_ms: i64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// Late values counted in the window (the figure shows "revised").
    pub revised: u32,
    last_key: (i64, i64, u16),
    /// Floored values, for metrics with a distribution.
    floors: Vec<i64>,
    /// Entity id -> its latest report, for entity kinds.
    entities: Option<BTreeMap<String, Report>>,
}

/// A report's (event time, offset, area code), value and weight.
type Report = ((i64, i64, u16), f64, f64);

/// The entity a message is about, by its payload's own id fields.
fn entity(e: &Envelope) -> Option<String> {
    match &e.payload {
        Payload::WaterLevel(w) => Some(w.station_id.clone()),
        Payload::Rainfall(r) => Some(r.station_id.clone()),
        Payload::Weather(w) => Some(w.station_id.clone()),
        Payload::AirQuality(a) => Some(a.station_id.clone()),
        Payload::DamStorage(d) => Some(d.dam_id.clone()),
        Payload::Incident(i) => Some(i.incident_id.clone()),
        Payload::BudgetDisbursement(b) => Some(format!("{}/{}", b.ministry, b.fiscal_year_be)),
        _ => None,
    }
}

/// `(metric, area level, area code, window seconds, window start ms)`.
pub type WindowKey = (String, String, String, u32, i64);

#[derive(Debug, Default)]
pub struct Expected {
    pub windows: BTreeMap<WindowKey, ExpectedWindow>,
    /// `(event id, metric)` of every late value beyond the correction
    /// horizon (counted nowhere), sorted.
    pub late: Vec<(String, String)>,
}

impl Expected {
    /// Ids of the late events, each once, sorted.
    pub fn late_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.late.iter().map(|(id, _)| id.clone()).collect();
        ids.dedup();
        ids
    }

    /// Late values counted, over every window: what the stored rows'
    /// `revised_count` must add up to.
    pub fn revised(&self) -> u64 {
        self.windows.values().map(|w| u64::from(w.revised)).sum()
    }
}

/// One delivered message: topic, partition, offset and the envelope.
pub type Delivered = (String, i32, i64, Envelope);

/// The first copy of every event id in each partition, in offset order:
/// what the pipeline counts when a client resent a batch (after a 503) and
/// the broker stored some records twice. Holds for runs shorter than the
/// pipeline's dedup horizon (a week), which every test is.
pub fn first_copies(delivered: &[Delivered]) -> Vec<Delivered> {
    let mut seen = std::collections::HashSet::new();
    let mut sorted: Vec<&Delivered> = delivered.iter().collect();
    sorted.sort_by(|a, b| (&a.0, a.1, a.2).cmp(&(&b.0, b.1, b.2)));
    sorted
        .into_iter()
        .filter(|(t, p, _, e)| seen.insert((t.clone(), *p, e.event_id.to_string())))
        .cloned()
        .collect()
}

/// Expected windows of `widths_s` and late values for what was delivered,
/// late values within `horizon_ms` counted as revisions.
pub fn windows(
    delivered: &[Delivered],
    lateness_ms: i64,
    horizon_ms: i64,
    widths_s: &[u32],
) -> Expected {
    let mut by_partition: BTreeMap<(&str, i32), Vec<(i64, &Envelope)>> = BTreeMap::new();
    for (t, p, o, e) in delivered {
        by_partition.entry((t, *p)).or_default().push((*o, e));
    }
    let mut expected = Expected::default();
    for events in by_partition.values_mut() {
        events.sort_by_key(|(o, _)| *o);
        let mut max_seen: Option<i64> = None;
        for &(offset, e) in events.iter() {
            let t = e.event_time_ms();
            let values = metric::values(e);
            let id = entity(e);
            let late = max_seen.is_some_and(|m| t < m - lateness_ms);
            if late && max_seen.is_some_and(|m| t < m - horizon_ms) {
                for v in &values {
                    expected
                        .late
                        .push((e.event_id.to_string(), v.metric.name().to_owned()));
                }
            } else {
                let province = e.area.province.to_string();
                let district = e.area.district.as_ref().map(|d| d.to_string());
                let areas = std::iter::once(("province", province))
                    .chain(district.map(|d| ("district", d)));
                for (level, code) in areas {
                    let numeric: u16 = code.parse().expect("numeric code");
                    for value in &values {
                        let (m, v) = (value.metric, value.value);
                        let per_entity = m.def().kind != metric::Kind::Flow;
                        let id = id.clone().filter(|_| per_entity);
                        for &w in widths_s {
                            let width = i64::from(w) * 1000;
                            let start = (t + LOCAL_OFFSET_MS) / width * width - LOCAL_OFFSET_MS;
                            let key = (
                                m.name().to_owned(),
                                level.to_owned(),
                                code.clone(),
                                w,
                                start,
                            );
                            let window = expected.windows.entry(key).or_insert_with(|| empty(v));
                            window.revised += u32::from(late);
                            let key = (t, offset, numeric);
                            match &id {
                                Some(id) => latest(window, id, key, v, value.weight),
                                None => add(window, v, value.weight, key, m.def().distribution),
                            }
                        }
                    }
                }
            }
            max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
        }
    }
    expected.late.sort();
    roll_up(&mut expected);
    for w in expected.windows.values_mut() {
        if let Some(entities) = &w.entities {
            w.count = entities.len() as u64;
            w.sum = entities.values().map(|(_, v, wt)| v * wt).sum();
            w.weight = entities.values().map(|(_, _, wt)| wt).sum();
            w.min = entities
                .values()
                .map(|(_, v, _)| *v)
                .fold(f64::INFINITY, f64::min);
            w.max = entities
                .values()
                .map(|(_, v, _)| *v)
                .fold(f64::NEG_INFINITY, f64::max);
        }
    }
    for w in expected.windows.values_mut() {
        if !w.floors.is_empty() {
            w.floors.sort_unstable();
            let rank = |q: f64| {
                let r = ((q * w.floors.len() as f64).ceil() as usize).max(1);
                w.floors[r - 1] as f64
            };
            w.p50 = Some(rank(0.5));
            w.p95 = Some(rank(0.95));
        }
    }
    expected
}

fn empty(v: f64) -> ExpectedWindow {
    ExpectedWindow {
        count: 0,
        sum: 0.0,
        weight: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        last: v,
        last_event_time_ms: i64::MIN,
        p50: None,
        p95: None,
        revised: 0,
        last_key: (i64::MIN, i64::MIN, 0),
        floors: Vec::new(),
        entities: None,
    }
}

fn add(w: &mut ExpectedWindow, v: f64, weight: f64, key: (i64, i64, u16), distribution: bool) {
    w.count += 1;
    w.sum += v * weight;
    w.weight += weight;
    w.min = w.min.min(v);
    w.max = w.max.max(v);
    if key >= w.last_key {
        w.last_key = key;
        w.last = v;
        w.last_event_time_ms = key.0;
    }
    if distribution {
        w.floors.push(v.floor() as i64);
    }
}

/// An entity's report: it replaces the entity's earlier one in the window.
fn latest(w: &mut ExpectedWindow, id: &str, key: (i64, i64, u16), v: f64, weight: f64) {
    if key >= w.last_key {
        w.last_key = key;
        w.last = v;
        w.last_event_time_ms = key.0;
    }
    let entities = w.entities.get_or_insert_with(BTreeMap::new);
    match entities.get(id) {
        Some((k, _, _)) if *k > key => {}
        _ => {
            entities.insert(id.to_owned(), (key, v, weight));
        }
    }
}

/// Each province window into its regions (both schemes) and the nation.
fn roll_up(expected: &mut Expected) {
    let provinces: Vec<(WindowKey, ExpectedWindow)> = expected
        .windows
        .iter()
        .filter(|(k, _)| k.1 == "province")
        .map(|(k, w)| (k.clone(), w.clone()))
        .collect();
    for ((metric, _, code, width, start), w) in provinces {
        let p = pmoc_schemas::area::province(&code).expect("reference province");
        let parents = [
            ("region4", p.region4.clone()),
            ("region6", p.region6.clone()),
            ("nation", "TH".to_owned()),
        ];
        for (level, parent) in parents {
            let key = (metric.clone(), level.to_owned(), parent, width, start);
            let r = expected.windows.entry(key).or_insert_with(|| empty(w.last));
            r.revised += w.revised;
            if let Some(entities) = &w.entities {
                for (id, &(key, v, weight)) in entities {
                    latest(r, id, key, v, weight);
                }
                continue;
            }
            r.count += w.count;
            r.sum += w.sum;
            r.weight += w.weight;
            r.min = r.min.min(w.min);
            r.max = r.max.max(w.max);
            if w.last_key > r.last_key {
                r.last_key = w.last_key;
                r.last = w.last;
                r.last_event_time_ms = w.last_event_time_ms;
            }
            r.floors.extend_from_slice(&w.floors);
        }
    }
}

/// Sums merged in another order differ in the last bits.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[cfg(test)]
mod tests {
    use pmoc_schemas::{
        area::ProvinceCode,
        committee::{
            security::{Classification, Incident, IncidentCategory, IncidentStatus},
            water::{DamStorage, WaterLevel},
        },
        envelope::Area,
        event::EventId,
    };
    use time::OffsetDateTime;

    use super::*;

    const HOUR: u32 = 3_600;

    /// Delivered in offset order, a second apart, in Chiang Mai (50) or
    /// Lampang (52).
    fn deliver(payloads: Vec<(&str, Payload)>) -> Vec<Delivered> {
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, (province, p))| {
                let e = Envelope::new(
                    EventId::parse(&format!("e{i}")).expect("id"),
                    "TEST",
                    "test",
                    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(i as i64),
                    Area::new(ProvinceCode::parse(province).expect("code"), None).expect("area"),
                    None,
                    p,
                );
                ("t".to_owned(), 0, i as i64, e)
            })
            .collect()
    }

    fn nation(expected: &Expected, metric: &str) -> ExpectedWindow {
        let key = expected
            .windows
            .keys()
            .find(|k| k.0 == metric && k.1 == "nation" && k.3 == HOUR)
            .unwrap_or_else(|| panic!("no {metric}"));
        expected.windows[key].clone()
    }

    fn dam(id: &str, storage_mcm: f64, pct_capacity: f64, inflow_mcm: f64) -> Payload {
        Payload::DamStorage(DamStorage {
            dam_id: id.to_owned(),
            storage_mcm,
            pct_capacity,
            inflow_mcm,
            release_mcm: 0.0,
        })
    }

    #[test]
    fn dams_are_weighted_and_their_days_inflow_counts_once() {
        // 100 and 200 million m³ of capacity at 50 % and 100 %: 83.3 %, not
        // 75 %. Dam a reports its inflow of the day 30 times.
        let mut reports = vec![("50", dam("a", 50.0, 50.0, 10.0))];
        reports.extend((0..29).map(|_| ("50", dam("a", 50.0, 50.0, 10.0))));
        reports.push(("52", dam("b", 200.0, 100.0, 5.0)));
        let expected = windows(&deliver(reports), 30_000, 3_600_000, &[HOUR]);
        let storage = nation(&expected, "dam_storage_pct");
        assert_eq!((storage.count, storage.weight), (2, 300.0));
        assert!(close(storage.sum / storage.weight, 250.0 / 3.0));
        let inflow = nation(&expected, "dam_inflow_mcm");
        assert_eq!((inflow.count, inflow.sum), (2, 15.0));
    }

    #[test]
    fn an_incident_updated_three_times_counts_once() {
        let update = |status, severity| {
            (
                "50",
                Payload::Incident(Incident {
                    incident_id: "NSC-1".to_owned(),
                    category: IncidentCategory::Border,
                    severity,
                    status,
                    classification: Classification::Public,
                }),
            )
        };
        let expected = windows(
            &deliver(vec![
                update(IncidentStatus::Reported, 2),
                update(IncidentStatus::Responding, 4),
                update(IncidentStatus::Responding, 3),
            ]),
            30_000,
            3_600_000,
            &[HOUR],
        );
        let incidents = nation(&expected, "incident_severity");
        assert_eq!((incidents.count, incidents.max), (1, 3.0));
        assert_eq!(nation(&expected, "incidents_new").sum, 1.0);
        assert_eq!(nation(&expected, "incidents_open").sum, 1.0);
        assert_eq!(nation(&expected, "incidents_severe_open").sum, 0.0);
    }

    #[test]
    fn two_of_three_stations_above_warning() {
        let station = |id: &str, level| {
            (
                "50",
                Payload::WaterLevel(WaterLevel {
                    station_id: id.to_owned(),
                    level_m_msl: level,
                    bank_level_m_msl: 310.0,
                    ground_level_m_msl: Some(300.0),
                    discharge_m3s: None,
                    pct_bank_full: None,
                }),
            )
        };
        let expected = windows(
            &deliver(vec![
                station("P.1", 309.0),
                station("P.2", 302.0),
                station("P.3", 304.0),
                station("P.2", 307.5),
                station("P.1", 303.0),
                station("P.1", 309.5),
            ]),
            30_000,
            3_600_000,
            &[HOUR],
        );
        let w = nation(&expected, "water_above_warning");
        assert_eq!((w.sum, w.count), (2.0, 3));
        let levels = nation(&expected, "water_level_m_msl");
        assert_eq!((levels.count, levels.max), (3, 309.5));
    }

    #[test]
    fn a_late_value_within_the_horizon_revises_its_windows() {
        let station = |level: f64| {
            (
                "50",
                Payload::WaterLevel(WaterLevel {
                    station_id: "P.1".to_owned(),
                    level_m_msl: level,
                    bank_level_m_msl: 310.0,
                    ground_level_m_msl: Some(300.0),
                    discharge_m3s: None,
                    pct_bank_full: None,
                }),
            )
        };
        let mut delivered = deliver(vec![station(301.0), station(302.0), station(309.0)]);
        // At 0 s, 200 s, then 30 s: 170 s behind, later than the lateness.
        for (d, at) in delivered.iter_mut().zip([0, 200, 30]) {
            d.3.event_time = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(at);
        }
        let minute = |expected: &Expected, level: &str| {
            let key = expected
                .windows
                .keys()
                .find(|k| k.0 == "water_level_m_msl" && k.1 == level && k.3 == 60 && k.4 == 0)
                .cloned();
            key.map(|k| expected.windows[&k].clone())
        };
        let revised = windows(&delivered, 30_000, 3_600_000, &[60, HOUR]);
        assert!(revised.late.is_empty());
        for level in ["province", "nation"] {
            let w = minute(&revised, level).expect("window");
            // The station's latest report of the minute is the late one.
            assert_eq!((w.count, w.last, w.revised), (1, 309.0, 1), "{level}");
        }
        let hour = nation(&revised, "water_level_m_msl");
        assert_eq!((hour.last, hour.revised), (302.0, 1), "counted, not latest");
        // Beyond a 100 s horizon: counted nowhere, kept as late.
        let kept = windows(&delivered, 30_000, 100_000, &[60, HOUR]);
        assert_eq!(kept.late_ids(), ["e2"]);
        let w = minute(&kept, "province").expect("window");
        assert_eq!((w.last, w.revised), (301.0, 0));
        assert_eq!(kept.revised(), 0);
    }
}
