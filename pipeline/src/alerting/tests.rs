//! The rules' state machine, judged window by window.

use super::*;
use crate::window::Observation;

fn window(metric: MetricId, start_ms: i64, width_ms: i64, values: &[f64]) -> WindowValue {
    let area = Area {
        level: AreaLevel::Province,
        code: 34,
    };
    // Entity kinds: each value is another station (or incident).
    let per_entity = metric.def().kind.per_entity();
    let obs = |i: usize, value: f64| Observation {
        metric,
        area,
        event_ms: start_ms + i as i64,
        value,
        entity: if per_entity { i as u64 + 1 } else { 0 },
        weight: 1.0,
        offset: i as i64,
        widths: 1,
    };
    let mut acc = Accumulator::new(&obs(0, values[0]));
    for (i, &v) in values.iter().enumerate().skip(1) {
        acc.add(&obs(i, v));
    }
    WindowValue {
        metric,
        area,
        start_ms,
        end_ms: start_ms + width_ms,
        acc,
        is_final: true,
    }
}

#[test]
fn a_breach_opens_updates_and_resolves_one_alert() {
    let rules = compile(&AlertRules::default());
    let (i, rule) = rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.name() == "water_over_bank")
        .expect("default rule");
    let mut state = State::default();
    let m = MetricId::WaterFreeboard;
    let states: Vec<Option<(AlertState, String)>> = [
        vec![1.0, 0.5],
        vec![0.2, -0.3],
        vec![-0.3],
        vec![-0.6],
        vec![0.4],
        vec![0.5],
    ]
    .iter()
    .enumerate()
    .map(|(k, v)| {
        state
            .evaluate(i, rule, &window(m, k as i64 * 60_000, 60_000, v))
            .map(|e| (e.state, e.alert_id))
    })
    .collect();
    let id = "water_over_bank:province:34:60000".to_owned();
    assert_eq!(
        states,
        [
            None,
            Some((AlertState::Open, id.clone())),
            None, // same value: no duplicate
            Some((AlertState::Updated, id.clone())),
            Some((AlertState::Resolved, id)),
            None,
        ]
    );
}

#[test]
fn a_revised_window_is_judged_again_only_while_it_is_the_newest() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = State::default();
    let m = MetricId::WaterFreeboard;
    let opened = state
        .evaluate(i, &rules[i], &window(m, 0, 60_000, &[-0.3]))
        .expect("opens");
    assert_eq!(opened.state, AlertState::Open);
    // A late report of another station above its bank: the window's
    // lowest freeboard is now -0.6, the alert is updated.
    let mut revised = window(m, 0, 60_000, &[-0.3, -0.6]);
    // As `crate::revision` emits it: a final row with its late values.
    revised.acc.late_ids = Some(Box::new(["HII/late-1".to_owned()].into()));
    let updated = state
        .evaluate(i, &rules[i], &revised)
        .expect("judged again");
    assert_eq!((updated.state, updated.value), (AlertState::Updated, -0.6));
    // The next minute is judged; a revision of the first is not.
    assert!(
        state
            .evaluate(i, &rules[i], &window(m, 60_000, 60_000, &[-0.6]))
            .is_none()
    );
    let mut older = window(m, 0, 60_000, &[0.9]);
    older.acc.late_ids = revised.acc.late_ids.clone();
    assert!(state.evaluate(i, &rules[i], &older).is_none());
}

#[test]
fn a_rate_spike_is_measured_against_the_trailing_baseline() {
    let rules = compile(&AlertRules::default());
    let (i, rule) = rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.name() == "incident_spike")
        .expect("default rule");
    let mut state = State::default();
    let hour = 3_600_000;
    let m = MetricId::IncidentSeverity;
    // Four quiet hours (one empty), then 12 incidents: 12 >= max(10, 3 x 1.5).
    for (k, n) in [(0, 2), (1, 1), (3, 3)] {
        let w = window(m, k * hour, hour, &vec![2.0; n]);
        assert!(state.evaluate(i, rule, &w).is_none());
    }
    let spike = window(m, 4 * hour, hour, &[3.0; 12]);
    let event = state.evaluate(i, rule, &spike).expect("spike");
    // Incidents are counted like people: the alert carries 12 rounded.
    assert_eq!((event.state, event.value), (AlertState::Open, 10.0));
    assert!(
        event
            .evidence
            .starts_with("incident_severity 10 vs 10 in the 3600 s window"),
        "{}",
        event.evidence
    );
    // Back to normal resolves it.
    let calm = window(m, 5 * hour, hour, &[1.0; 2]);
    let event = state.evaluate(i, rule, &calm).expect("resolved");
    assert_eq!(event.state, AlertState::Resolved);
    // Two incidents: below k, so no number in the value or the text.
    assert!(event.value.is_nan(), "{}", event.value);
    assert!(
        event.evidence.starts_with("incident_severity <5 vs "),
        "{}",
        event.evidence
    );
}

fn rule_named(rules: &[Rule], name: &str) -> usize {
    rules
        .iter()
        .position(|r| r.name() == name)
        .expect("default rule")
}

#[test]
fn a_value_hovering_at_the_limit_opens_once() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = State::default();
    let m = MetricId::WaterFreeboard;
    // Freeboard hovering around 0 (the bank), within the 5 cm margin.
    let hovering = [0.01, -0.01, 0.02, -0.02, 0.03, -0.01, 0.04, 0.0, -0.03];
    let transitions: Vec<AlertState> = hovering
        .iter()
        .enumerate()
        .filter_map(|(k, &v)| {
            state.evaluate(i, &rules[i], &window(m, k as i64 * 60_000, 60_000, &[v]))
        })
        .map(|e| e.state)
        .collect();
    assert_eq!(transitions.first(), Some(&AlertState::Open));
    assert!(
        !transitions.contains(&AlertState::Resolved),
        "{transitions:?}"
    );
    assert_eq!(
        transitions
            .iter()
            .filter(|s| **s == AlertState::Open)
            .count(),
        1
    );
    // Clearly back inside the bank: resolved.
    let e = state
        .evaluate(i, &rules[i], &window(m, 10 * 60_000, 60_000, &[0.2]))
        .expect("resolves");
    assert_eq!(e.state, AlertState::Resolved);
}

#[test]
fn a_breach_opens_only_after_its_minimum_duration() {
    let mut settings = AlertRules::default();
    settings.thresholds[0].min_windows = 3;
    let rules = compile(&settings);
    let i = rule_named(&rules, "water_over_bank");
    let mut state = State::default();
    let m = MetricId::WaterFreeboard;
    let at = |k: i64, v: f64| window(m, k * 60_000, 60_000, &[v]);
    // Two breaching minutes, then a recovery: nothing opens.
    assert!(state.evaluate(i, &rules[i], &at(0, -0.2)).is_none());
    assert!(state.evaluate(i, &rules[i], &at(1, -0.2)).is_none());
    assert!(state.evaluate(i, &rules[i], &at(2, 0.3)).is_none());
    // Three in a row: opens, dated from the first of them.
    assert!(state.evaluate(i, &rules[i], &at(3, -0.2)).is_none());
    assert!(state.evaluate(i, &rules[i], &at(4, -0.3)).is_none());
    let e = state.evaluate(i, &rules[i], &at(5, -0.3)).expect("opens");
    assert_eq!((e.state, e.opened_at_ms), (AlertState::Open, 3 * 60_000));
}

#[test]
fn pm25_is_judged_on_each_stations_24_hour_mean() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "pm25_over_standard");
    let mut state = State::default();
    let hour = 3_600_000;
    let m = MetricId::Pm25;
    // Two stations: one at 20 all day, one at 20 with a 2-hour spike to
    // 150 (a one-hour maximum rule would alert at once).
    let mut transitions = Vec::new();
    for k in 0..24 {
        let spike = if k == 10 || k == 11 { 150.0 } else { 20.0 };
        let w = window(m, k * hour, hour, &[20.0, spike]);
        transitions.extend(state.evaluate(i, &rules[i], &w));
    }
    // 24-hour mean of the spiking station: (22 x 20 + 2 x 150) / 24 =
    // 30.8; before 18 hours there is no 24-hour mean to judge.
    assert!(transitions.is_empty(), "{transitions:?}");
    // A station at 45 all day is over 37.5: one alert.
    let mut state = State::default();
    for k in 0..24 {
        let w = window(m, k * hour, hour, &[20.0, 45.0]);
        transitions.extend(state.evaluate(i, &rules[i], &w));
    }
    assert_eq!(transitions.len(), 1, "{transitions:?}");
    assert_eq!(transitions[0].state, AlertState::Open);
    assert_eq!(transitions[0].opened_at_ms, 17 * hour, "the 18th hour");
    assert!(transitions[0].evidence.contains("mean over 24 h"));
}
