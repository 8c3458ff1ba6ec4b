//! Properties of the whole feed: reproducible, valid on the wire, complete,
//! and changed where a scenario says.

use std::{collections::BTreeSet, time::Duration};

use pmoc_schemas::{
    committee::{Committee, SCHEMAS},
    envelope::{DEFAULT_MAX_MESSAGE_BYTES, Envelope, Payload, decode},
    metric::{MetricId, values},
};
use time::{OffsetDateTime, macros::datetime};

use super::{
    Scenario, Scenarios, SimOptions, Simulator,
    hydro::DAMS,
    key,
    scenario::{STALLED_MINISTRY, STALLED_PCT, UBON_UPSTREAM_DAMS},
};

/// A Tuesday morning in the northern haze season.
const MARCH_MORNING: OffsetDateTime = datetime!(2026-03-10 10:00 +07:00);

fn options(committees: &[Committee], scenarios: &[Scenario]) -> SimOptions {
    SimOptions {
        seed: 42,
        committees: committees.to_vec(),
        scenarios: scenarios.iter().copied().collect(),
        interval: Duration::from_secs(2),
        speedup: 60.0,
    }
}

/// `rounds` rounds, two seconds apart, each round's events in a vector.
fn run(options: SimOptions, start: OffsetDateTime, rounds: u32) -> Vec<Vec<Envelope>> {
    let mut sim = Simulator::new(options).expect("simulator");
    (0..rounds)
        .map(|r| {
            sim.round(start + time::Duration::seconds(2 * i64::from(r)))
                .expect("valid round")
        })
        .collect()
}

fn all(scenarios: &[Scenario], rounds: u32) -> Vec<Envelope> {
    run(options(&Committee::ALL, scenarios), MARCH_MORNING, rounds)
        .into_iter()
        .flatten()
        .collect()
}

/// The values of `metric` in messages of the given provinces.
fn figures(events: &[Envelope], provinces: &[&str], metric: MetricId) -> Vec<f64> {
    events
        .iter()
        .filter(|e| provinces.contains(&e.area.province.as_str()))
        .flat_map(values)
        .filter(|v| v.metric == metric)
        .map(|v| v.value)
        .collect()
}

#[test]
fn same_seed_same_events_and_committees_are_independent() {
    let a = all(&[], 10);
    assert_eq!(a, all(&[], 10));
    let other = run(
        SimOptions {
            seed: 43,
            ..options(&Committee::ALL, &[])
        },
        MARCH_MORNING,
        10,
    );
    assert_ne!(a, other.into_iter().flatten().collect::<Vec<_>>());
    let water: Vec<Envelope> = run(options(&[Committee::Water], &[]), MARCH_MORNING, 10)
        .into_iter()
        .flatten()
        .collect();
    let water_in_all: Vec<Envelope> = a
        .into_iter()
        .filter(|e| e.committee == Committee::Water)
        .collect();
    assert_eq!(water, water_in_all);
}

#[test]
fn every_message_validates_and_round_trips_at_any_time_of_year() {
    let times = [
        MARCH_MORNING,
        datetime!(2026-09-27 03:00 +07:00), // a Sunday night in the rainy season
        datetime!(2025-12-31 23:59:59.5 +07:00),
    ];
    let every = Scenario::ALL;
    // The default registry knows every simulated source: a simulator
    // publishing as an unknown system would be dead-lettered whole.
    let sources = pmoc_schemas::source::Sources::default();
    for start in times {
        let rounds = run(options(&Committee::ALL, &every), start, 40);
        let mut ids = BTreeSet::new();
        for (r, round) in rounds.iter().enumerate() {
            for e in round {
                let bytes = e.encode().expect("encodes");
                let back = decode(
                    &bytes,
                    e.event_time_ms(),
                    DEFAULT_MAX_MESSAGE_BYTES,
                    &sources,
                )
                .unwrap_or_else(|err| panic!("{err} in {}", String::from_utf8_lossy(&bytes)));
                assert_eq!(&back, e);
                assert_eq!(key(e), e.area.province.as_str());
                assert!(
                    ids.insert(e.event_id.to_string()),
                    "duplicate id {}",
                    e.event_id
                );
                if let Some(d) = &e.area.district {
                    d.check_in(&e.area.province).expect("district in province");
                }
                assert_eq!(e.event_time.offset().whole_hours(), 7);
            }
            // Every schema at least every five rounds (ten seconds).
            if r >= 4 {
                let recent: BTreeSet<&str> = rounds[r - 4..=r]
                    .iter()
                    .flatten()
                    .map(|e| e.schema.as_str())
                    .collect();
                for id in SCHEMAS {
                    assert!(
                        recent.contains(id.name),
                        "{} missing near round {r} from {start}",
                        id.name
                    );
                }
            }
        }
    }
}

#[test]
fn all_committees_and_schemas_appear_within_a_few_rounds() {
    let events = all(&[], 5);
    let committees: BTreeSet<Committee> = events.iter().map(|e| e.committee).collect();
    assert_eq!(committees.len(), 4);
    let schemas: BTreeSet<&str> = events.iter().map(|e| e.schema.as_str()).collect();
    assert_eq!(schemas.len(), SCHEMAS.len(), "{schemas:?}");
}

#[test]
fn flood_ubon_overtops_the_banks_with_heavy_rain_and_full_dams() {
    let rounds = DAMS.len() as u32 + 5;
    let (with, without) = (all(&[Scenario::FloodUbon], rounds), all(&[], rounds));
    let ubon = ["34"];
    let freeboard = figures(&with, &ubon, MetricId::WaterFreeboard);
    assert!(
        !freeboard.is_empty() && freeboard.iter().all(|&f| f < 0.0),
        "{freeboard:?}"
    );
    assert!(
        figures(&without, &ubon, MetricId::WaterFreeboard)
            .iter()
            .all(|&f| f > 0.0)
    );
    let rain = figures(&with, &ubon, MetricId::Rain24h);
    assert!(rain.iter().all(|&r| r >= 90.0), "{rain:?}");
    assert!(
        figures(&without, &ubon, MetricId::Rain24h)
            .iter()
            .all(|&r| r < 90.0)
    );
    let dams: Vec<f64> = with
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::DamStorage(d) if UBON_UPSTREAM_DAMS.contains(&d.dam_id.as_str()) => {
                Some(d.pct_capacity)
            }
            _ => None,
        })
        .collect();
    assert_eq!(dams.len(), UBON_UPSTREAM_DAMS.len());
    assert!(dams.iter().all(|&p| p > 80.0), "{dams:?}");
}

#[test]
fn haze_chiangmai_raises_pm25_and_hotspots() {
    let (with, without) = (all(&[Scenario::HazeChiangmai], 40), all(&[], 40));
    let cm = ["50"];
    let pm = figures(&with, &cm, MetricId::Pm25);
    assert!(!pm.is_empty() && pm.iter().all(|&v| v > 75.0), "{pm:?}");
    assert!(
        figures(&with, &cm, MetricId::Aqi)
            .iter()
            .all(|&v| v > 200.0)
    );
    let hotspots = |events: &[Envelope]| figures(events, &cm, MetricId::Hotspots).len();
    assert!(
        hotspots(&with) >= hotspots(&without) + 40,
        "{} vs {}",
        hotspots(&with),
        hotspots(&without)
    );
}

#[test]
fn deep_south_raises_incidents_and_their_severity() {
    let (with, without) = (all(&[Scenario::DeepSouth], 40), all(&[], 40));
    let south = ["94", "95", "96"];
    let (a, b) = (
        figures(&with, &south, MetricId::IncidentSeverity),
        figures(&without, &south, MetricId::IncidentSeverity),
    );
    assert!(a.len() >= b.len() + 15, "{} vs {}", a.len(), b.len());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    assert!(mean(&a) > mean(&b) + 0.5, "{} vs {}", mean(&a), mean(&b));
}

#[test]
fn stalled_budget_keeps_one_ministry_flat_far_below_plan() {
    let (with, without) = (all(&[Scenario::StalledBudget], 40), all(&[], 40));
    let pct_of = |events: &[Envelope], ministry: &str| -> Vec<f64> {
        events
            .iter()
            .filter(
                |e| matches!(&e.payload, Payload::BudgetDisbursement(b) if b.ministry == ministry),
            )
            .flat_map(values)
            .map(|v| v.value)
            .collect()
    };
    let stalled = pct_of(&with, STALLED_MINISTRY);
    assert!(stalled.len() >= 5);
    assert!(
        stalled.iter().all(|&p| (p - STALLED_PCT).abs() < 0.01),
        "{stalled:?}"
    );
    let normal = pct_of(&without, STALLED_MINISTRY);
    assert!(normal.iter().all(|&p| p > 35.0), "{normal:?}");
    // Other ministries still follow the plan.
    assert_eq!(
        pct_of(&with, "Ministry of Interior"),
        pct_of(&without, "Ministry of Interior")
    );
}

#[test]
fn unknown_scenarios_and_bad_speedups_are_clear_errors() {
    let err = Scenarios::parse(["flood-ubon", "tsunami"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tsunami") && err.contains("flood-ubon"),
        "{err}"
    );
    let err = Simulator::new(SimOptions {
        speedup: 0.0,
        ..options(&Committee::ALL, &[])
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("speedup"), "{err}");
}

#[test]
fn the_default_load_is_modest_and_steady() {
    // Ten minutes of wall-clock time at the defaults (2 s rounds, speedup 60).
    for (start, label) in [
        (MARCH_MORNING, "weekday 10:00"),
        (datetime!(2026-09-27 03:00 +07:00), "sunday 03:00"),
    ] {
        let rounds = run(options(&Committee::ALL, &[]), start, 300);
        let seconds = 2.0 * rounds.len() as f64;
        let mut per_committee = std::collections::BTreeMap::new();
        for e in rounds.iter().flatten() {
            *per_committee.entry(e.committee).or_insert(0.0) += 1.0 / seconds;
        }
        println!("{label}: {per_committee:?} events/s");
        let total: f64 = per_committee.values().sum();
        assert!((20.0..300.0).contains(&total), "{label}: {total} events/s");
        assert_eq!(per_committee.len(), 4);
    }
}
