//! What a new user's wall shows at default settings: the standing
//! threshold rules applied to a 15-minute run of `pmoc-ingest simulate` at
//! different times of year. Each rule is read at its standard's averaging,
//! not reading by reading: a station's mean over the run, the worst station
//! of each province (a province is one alert however many of its stations
//! are over). That is what the wall's alerts stand for once the pipeline's
//! windows and hysteresis have smoothed readings that hover at a limit.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use pmoc_schemas::{
    alert::AlertRules,
    committee::Committee,
    config::SimulatorSettings,
    envelope::{Envelope, Payload},
    metric::{MetricId, values},
};
use time::{OffsetDateTime, macros::datetime};

use super::{SimOptions, Simulator, places::region_of};

/// The station a reading is from, for the rules' metrics.
fn station(e: &Envelope) -> Option<&str> {
    match &e.payload {
        Payload::WaterLevel(w) => Some(&w.station_id),
        Payload::Rainfall(r) => Some(&r.station_id),
        Payload::AirQuality(a) => Some(&a.station_id),
        Payload::DamStorage(d) => Some(&d.dam_id),
        _ => None,
    }
}

/// The (rule, province) pairs in breach after a 15-minute default run from
/// `start`.
fn alerts(start: OffsetDateTime) -> BTreeSet<(String, String)> {
    let defaults = SimulatorSettings::default();
    let interval = Duration::from_millis(defaults.interval_ms);
    let mut sim = Simulator::new(SimOptions {
        seed: defaults.seed,
        committees: Committee::ALL.to_vec(),
        scenarios: Default::default(),
        interval,
        speedup: defaults.speedup,
    })
    .expect("simulator");
    // (metric, province, station) -> (sum, count).
    let mut means: BTreeMap<(MetricId, String, String), (f64, u32)> = BTreeMap::new();
    let rounds = (15 * 60 * 1_000 / defaults.interval_ms) as u32;
    for r in 0..rounds {
        for e in sim.round(start + interval * r).expect("valid round") {
            let Some(station) = station(&e) else { continue };
            for pmoc_schemas::metric::Value {
                metric, value: v, ..
            } in values(&e)
            {
                let key = (
                    metric,
                    e.area.province.as_str().to_owned(),
                    station.to_owned(),
                );
                let m = means.entry(key).or_default();
                *m = (m.0 + v, m.1 + 1);
            }
        }
    }
    let mut breached = BTreeSet::new();
    for rule in AlertRules::default().thresholds {
        let metric = MetricId::from_name(&rule.metric).expect("a catalogued metric");
        for ((m, province, _), (sum, n)) in &means {
            if *m == metric && rule.comparison.breached(sum / f64::from(*n), rule.limit) {
                breached.insert((rule.name.clone(), province.clone()));
            }
        }
    }
    breached
}

fn count(alerts: &BTreeSet<(String, String)>, rule: &str) -> usize {
    alerts.iter().filter(|(r, _)| r == rule).count()
}

#[test]
fn a_default_run_shows_a_few_alerts_not_dozens() {
    // Today's wall outside the burning season: the dry season's first haze,
    // the rains, the reservoirs filling.
    for start in [
        datetime!(2026-12-01 10:00 +07:00),
        datetime!(2026-07-15 15:00 +07:00),
        datetime!(2026-10-05 21:00 +07:00),
    ] {
        let a = alerts(start);
        assert!(a.len() <= 10, "{start}: {} alerts: {a:?}", a.len());
        for rule in ["water_over_bank", "pm25_hazardous"] {
            assert_eq!(count(&a, rule), 0, "{start}: {a:?}");
        }
    }
    // The northern burning season: the north is red, and hazardous only
    // there (the northeast's cane burning raises it too, less).
    let start = datetime!(2026-03-10 08:00 +07:00);
    let a = alerts(start);
    let north = |p: &str| region_of(p) == "N";
    let over = |rule: &str, in_north: bool| {
        a.iter()
            .filter(|(r, p)| r == rule && north(p) == in_north)
            .count()
    };
    assert!(over("pm25_over_standard", true) >= 9, "{a:?}");
    assert!(
        over("pm25_over_standard", true) > over("pm25_over_standard", false),
        "{a:?}"
    );
    assert_eq!(over("pm25_hazardous", false), 0, "{a:?}");
}
