//! The batch oracle: what the pipeline must produce, recomputed from the raw
//! events with plain loops, independently of the dataflow's code.
//!
//! Rules:
//! - per (topic, partition) in offset order, an event is late when its time
//!   is before (greatest earlier event time in that partition - lateness);
//! - an on-time event's metric values (the schemas crate's `metric::values`,
//!   the definition of what a message means) count in the windows of every
//!   width, for its province and, when given, its district; windows are
//!   aligned to Thai local time (UTC+7);
//! - provinces roll up into both region schemes and the nation;
//! - "last" is the value of the greatest (event time, offset, area code);
//! - p50/p95 are nearest-rank over the values floored to whole units.

use std::collections::BTreeMap;

use pmoc_schemas::{envelope::Envelope, metric};

const LOCAL_OFFSET_MS: i64 = 7 * 3_600_000;

/// One expected window.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedWindow {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub last_event_time_ms: i64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    last_key: (i64, i64, u16),
    /// Floored values, for metrics with a distribution.
    floors: Vec<i64>,
}

/// `(metric, area level, area code, window seconds, window start ms)`.
pub type WindowKey = (String, String, String, u32, i64);

#[derive(Debug, Default)]
pub struct Expected {
    pub windows: BTreeMap<WindowKey, ExpectedWindow>,
    /// `(event id, metric)` of every late value, sorted.
    pub late: Vec<(String, String)>,
}

impl Expected {
    /// Ids of the late events, each once, sorted.
    pub fn late_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.late.iter().map(|(id, _)| id.clone()).collect();
        ids.dedup();
        ids
    }
}

/// One delivered message: topic, partition, offset and the envelope.
pub type Delivered = (String, i32, i64, Envelope);

/// The first copy of every event id in each partition, in offset order:
/// what the pipeline counts when a client resent a batch (after a 503) and
/// the broker stored some records twice. Holds for runs shorter than the
/// pipeline's dedup horizon (an hour), which every test is.
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

/// Expected windows of `widths_s` and late values for what was delivered.
pub fn windows(delivered: &[Delivered], lateness_ms: i64, widths_s: &[u32]) -> Expected {
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
            if max_seen.is_some_and(|m| t < m - lateness_ms) {
                for (m, _) in &values {
                    expected
                        .late
                        .push((e.event_id.to_string(), m.name().to_owned()));
                }
            } else {
                let province = e.area.province.to_string();
                let district = e.area.district.as_ref().map(|d| d.to_string());
                let areas = std::iter::once(("province", province))
                    .chain(district.map(|d| ("district", d)));
                for (level, code) in areas {
                    let numeric: u16 = code.parse().expect("numeric code");
                    for &(m, v) in &values {
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
                            add(
                                expected.windows.entry(key).or_insert_with(|| empty(v)),
                                v,
                                (t, offset, numeric),
                                m.def().distribution,
                            );
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
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        last: v,
        last_event_time_ms: i64::MIN,
        p50: None,
        p95: None,
        last_key: (i64::MIN, i64::MIN, 0),
        floors: Vec::new(),
    }
}

fn add(w: &mut ExpectedWindow, v: f64, key: (i64, i64, u16), distribution: bool) {
    w.count += 1;
    w.sum += v;
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
            r.count += w.count;
            r.sum += w.sum;
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
