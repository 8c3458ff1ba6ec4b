//! The batch oracle: what the pipeline must produce, recomputed from the raw
//! events with plain loops, independently of the dataflow's code.
//!
//! Rule, per partition in offset order: an event is late when its time is
//! before (greatest earlier event time in that partition - lateness).

use std::collections::BTreeMap;

use pmoc_schemas::water::WaterLevelReading;

/// One expected window of one province.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedWindow {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub last_event_time_ms: i64,
}

#[derive(Debug, Default)]
pub struct Expected {
    /// `(metric, area level, area code, window start ms)` -> window, for
    /// provinces, both region schemes and the nation.
    pub windows: BTreeMap<(String, String, String, i64), ExpectedWindow>,
    /// Ids of the events that must be recorded as late, sorted.
    pub late_ids: Vec<String>,
}

/// `delivered`: every event with the partition and offset the broker gave it.
pub fn water_windows(
    delivered: &[(i32, i64, WaterLevelReading)],
    lateness_ms: i64,
    window_ms: i64,
) -> Expected {
    let mut by_partition: BTreeMap<i32, Vec<(i64, &WaterLevelReading)>> = BTreeMap::new();
    for (p, o, e) in delivered {
        by_partition.entry(*p).or_default().push((*o, e));
    }
    let mut expected = Expected::default();
    let mut provinces: BTreeMap<(String, String, i64), ExpectedWindow> = BTreeMap::new();
    // (event time, offset) of the current "last" per window, to break ties.
    let mut last_key: BTreeMap<(String, String, i64), (i64, i64)> = BTreeMap::new();
    for events in by_partition.values_mut() {
        events.sort_by_key(|(o, _)| *o);
        let mut max_seen: Option<i64> = None;
        for &(offset, e) in events.iter() {
            let t = e.event_time_ms();
            if max_seen.is_some_and(|m| t < m - lateness_ms) {
                expected.late_ids.push(e.event_id.to_string());
            } else {
                let start = t - t.rem_euclid(window_ms);
                let metrics = [
                    ("water_level_m_msl", e.level_m_msl),
                    ("water_freeboard_m", e.bank_level_m_msl - e.level_m_msl),
                ];
                for (metric, v) in metrics {
                    let key = (metric.to_owned(), e.province_code.to_string(), start);
                    let w = provinces.entry(key.clone()).or_insert(ExpectedWindow {
                        count: 0,
                        sum: 0.0,
                        min: f64::INFINITY,
                        max: f64::NEG_INFINITY,
                        last: v,
                        last_event_time_ms: t,
                    });
                    w.count += 1;
                    w.sum += v;
                    w.min = w.min.min(v);
                    w.max = w.max.max(v);
                    let lk = last_key.entry(key).or_insert((t, offset));
                    if (t, offset) >= *lk {
                        *lk = (t, offset);
                        w.last = v;
                        w.last_event_time_ms = t;
                    }
                }
            }
            max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
        }
    }
    expected.late_ids.sort();
    // Rollups: each province window into its regions and the nation; "last"
    // across provinces is the greatest (event time, province code).
    let mut last_code: BTreeMap<(String, String, String, i64), String> = BTreeMap::new();
    for ((metric, code, start), w) in &provinces {
        let p = pmoc_schemas::area::province(code).expect("reference province");
        let parents = [
            ("region4", p.region4.clone()),
            ("region6", p.region6.clone()),
            ("nation", "TH".to_owned()),
        ];
        for (level, parent) in parents {
            let key = (metric.clone(), level.to_owned(), parent, *start);
            match expected.windows.get_mut(&key) {
                None => {
                    expected.windows.insert(key.clone(), w.clone());
                    last_code.insert(key, code.clone());
                }
                Some(r) => {
                    r.count += w.count;
                    r.sum += w.sum;
                    r.min = r.min.min(w.min);
                    r.max = r.max.max(w.max);
                    let lc = last_code.entry(key).or_default();
                    if (w.last_event_time_ms, code.as_str()) > (r.last_event_time_ms, lc.as_str()) {
                        r.last = w.last;
                        r.last_event_time_ms = w.last_event_time_ms;
                        *lc = code.clone();
                    }
                }
            }
        }
    }
    for ((metric, code, start), w) in provinces {
        let key = (metric, "province".to_owned(), code, start);
        expected.windows.insert(key, w);
    }
    expected
}

/// Sums merged in another order differ in the last bits.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}
