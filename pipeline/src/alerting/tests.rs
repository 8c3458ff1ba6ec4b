//! The rules' state machine, judged window by window.

use pmoc_schemas::alert::AlertState;
use pmoc_store::rows::AlertRow;

use super::*;
use crate::window::{Accumulator, Observation};

/// A week's correction horizon, as by default.
const WEEK_MS: i64 = 7 * 24 * 3_600_000;

fn fresh_state() -> State {
    State {
        horizon_ms: WEEK_MS,
        ..State::default()
    }
}

impl State {
    /// One window judged by rule `index` alone; at most one transition.
    fn evaluate(&mut self, index: usize, rule: &Rule, w: &WindowValue) -> Option<AlertEvent> {
        let mut out = self.judge_by(std::iter::once((index, rule)), std::slice::from_ref(w));
        assert!(out.len() <= 1, "{out:?}");
        out.pop()
    }
}

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
    let mut state = fresh_state();
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
fn a_revised_window_rewrites_its_alert() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = fresh_state();
    let m = MetricId::WaterFreeboard;
    let opened = state
        .evaluate(i, &rules[i], &window(m, 0, 60_000, &[-0.3]))
        .expect("opens");
    assert_eq!((opened.state, opened.revision), (AlertState::Open, 0));
    // A late report of another station above its bank: the window's
    // lowest freeboard is now -0.6; the alert as judged with every value
    // opened at -0.6, a new revision of the same record.
    let mut revised = window(m, 0, 60_000, &[-0.3, -0.6]);
    // As `crate::revision` emits it: a final row with its late values.
    revised.acc.late_ids = Some(Box::new(["HII/late-1".to_owned()].into()));
    let corrected = state
        .evaluate(i, &rules[i], &revised)
        .expect("judged again");
    assert_eq!(
        (corrected.state, corrected.value, corrected.revision),
        (AlertState::Open, -0.6, 1)
    );
    assert_eq!(corrected.alert_id, opened.alert_id);
    // The same revision again changes nothing.
    assert!(state.evaluate(i, &rules[i], &revised).is_none());
    // Later windows carry the revision, so their rows stay the newest.
    let resolved = state
        .evaluate(i, &rules[i], &window(m, 60_000, 60_000, &[0.5]))
        .expect("resolves");
    assert_eq!(
        (resolved.state, resolved.revision),
        (AlertState::Resolved, 1)
    );
}

/// The alerts table after `events`: the highest version of each id.
fn stored(events: &[AlertEvent]) -> HashMap<String, AlertEvent> {
    let mut table: HashMap<String, (u64, AlertEvent)> = HashMap::new();
    for e in events {
        let version = AlertRow::from(e).version;
        if table.get(&e.alert_id).is_none_or(|(v, _)| version >= *v) {
            table.insert(e.alert_id.clone(), (version, e.clone()));
        }
    }
    table.into_iter().map(|(k, (_, e))| (k, e)).collect()
}

/// Ubon's freeboard window of minute `k`, one station at `v`.
fn minute(k: i64, v: f64) -> WindowValue {
    window(MetricId::WaterFreeboard, k * 60_000, 60_000, &[v])
}

/// Freeboard windows, a minute each from 0.
fn minutes(values: &[f64]) -> Vec<WindowValue> {
    (0..).zip(values).map(|(k, v)| minute(k, *v)).collect()
}

#[test]
fn an_older_revised_window_opens_the_alert_it_missed() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = fresh_state();
    for w in minutes(&[0.5; 6]) {
        assert!(state.evaluate(i, &rules[i], &w).is_none());
    }
    // Minute 2 was over the bank, a station's report shows three hours
    // later: the alert it missed, opened and resolved as it happened.
    let late = window(MetricId::WaterFreeboard, 120_000, 60_000, &[0.5, -0.3]);
    let e = state.evaluate(i, &rules[i], &late).expect("judged again");
    assert_eq!(
        (
            e.alert_id.as_str(),
            e.state,
            e.opened_at_ms,
            e.resolved_at_ms
        ),
        (
            "water_over_bank:province:34:120000",
            AlertState::Resolved,
            120_000,
            240_000
        )
    );
    assert_eq!(e.revision, 0, "first published: nothing to correct");
}

#[test]
fn an_alert_whose_breach_is_corrected_away_is_withdrawn() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = fresh_state();
    let m = MetricId::WaterFreeboard;
    let judged: Vec<AlertEvent> = minutes(&[-0.3, -0.3, 0.5, 0.5])
        .iter()
        .filter_map(|w| state.evaluate(i, &rules[i], w))
        .collect();
    assert_eq!(judged.len(), 2, "opened at 0, resolved at 2: {judged:?}");
    // The station's corrected reading for minute 0 is inside the bank: the
    // breach began at minute 1. The alert dated 0 never was.
    let rows = state.judge_by(
        std::iter::once((i, &rules[i])),
        &[window(m, 0, 60_000, &[0.5])],
    );
    let by_id = |id: &str| rows.iter().find(|e| e.alert_id == id).cloned();
    let gone = by_id("water_over_bank:province:34:0").expect("withdrawn");
    assert_eq!((gone.state, gone.revision), (AlertState::Withdrawn, 1));
    assert!(gone.evidence.contains("withdrawn"), "{}", gone.evidence);
    assert!(!gone.state.is_open());
    let real = by_id("water_over_bank:province:34:60000").expect("the real one");
    assert_eq!(
        (real.state, real.opened_at_ms, real.resolved_at_ms),
        (AlertState::Resolved, 60_000, 180_000)
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
}

#[test]
fn a_window_older_than_the_horizon_is_not_judged_again() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = State {
        horizon_ms: 3_600_000,
        ..State::default()
    };
    let m = MetricId::WaterFreeboard;
    assert!(
        state
            .evaluate(i, &rules[i], &window(m, 0, 60_000, &[0.5]))
            .is_none()
    );
    let two_hours = 2 * 3_600_000;
    assert!(
        state
            .evaluate(i, &rules[i], &window(m, two_hours, 60_000, &[0.5]))
            .is_none()
    );
    assert!(
        state
            .evaluate(i, &rules[i], &window(m, 0, 60_000, &[-0.9]))
            .is_none(),
        "beyond the horizon: the late value stays a correction of the figure only"
    );
}

#[test]
fn a_rate_spike_is_measured_against_the_trailing_baseline() {
    let rules = compile(&AlertRules::default());
    let (i, rule) = rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.name() == "incident_spike")
        .expect("default rule");
    let mut state = fresh_state();
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
    let mut state = fresh_state();
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
    let mut state = fresh_state();
    // Two breaching minutes, then a recovery: nothing opens.
    assert!(state.evaluate(i, &rules[i], &minute(0, -0.2)).is_none());
    assert!(state.evaluate(i, &rules[i], &minute(1, -0.2)).is_none());
    assert!(state.evaluate(i, &rules[i], &minute(2, 0.3)).is_none());
    // Three in a row: opens, dated from the first of them.
    assert!(state.evaluate(i, &rules[i], &minute(3, -0.2)).is_none());
    assert!(state.evaluate(i, &rules[i], &minute(4, -0.3)).is_none());
    let e = state
        .evaluate(i, &rules[i], &minute(5, -0.3))
        .expect("opens");
    assert_eq!((e.state, e.opened_at_ms), (AlertState::Open, 3 * 60_000));
}

#[test]
fn pm25_is_judged_on_each_stations_24_hour_mean() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "pm25_over_standard");
    let mut state = fresh_state();
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
    let mut state = fresh_state();
    for k in 0..24 {
        let w = window(m, k * hour, hour, &[20.0, 45.0]);
        transitions.extend(state.evaluate(i, &rules[i], &w));
    }
    assert_eq!(transitions.len(), 1, "{transitions:?}");
    assert_eq!(transitions[0].state, AlertState::Open);
    assert_eq!(transitions[0].opened_at_ms, 17 * hour, "the 18th hour");
    assert!(transitions[0].evidence.contains("mean over 24 h"));
}

#[test]
fn a_window_before_the_first_judged_is_not_judged_again() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = fresh_state();
    // After a restart, this run's first window of Ubon is minute 10; a
    // revision of minute 3 (judged by the last run, if at all) is not
    // judged again from a blank state.
    assert!(state.evaluate(i, &rules[i], &minute(10, 0.5)).is_none());
    assert!(state.evaluate(i, &rules[i], &minute(3, -0.9)).is_none());
}

#[test]
fn a_restored_alert_is_not_judged_on_windows_the_last_run_judged() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = fresh_state();
    let open = state
        .evaluate(i, &rules[i], &minute(5, -0.3))
        .expect("opens");
    // The pipeline restarts with that alert open (updated at 6 min).
    let mut state = fresh_state();
    state
        .keys
        .insert((i, minute(5, 0.0).area), Key::with_open(open));
    assert!(
        state.evaluate(i, &rules[i], &minute(3, 0.5)).is_none(),
        "minute 3 was judged by the last run"
    );
    let e = state
        .evaluate(i, &rules[i], &minute(7, 0.5))
        .expect("resolves");
    assert_eq!(e.state, AlertState::Resolved);
}

#[test]
fn a_pruned_streak_reopening_a_withdrawn_alert_outranks_the_withdrawal() {
    let mut settings = AlertRules::default();
    settings.thresholds[0].min_windows = 2;
    let rules = compile(&settings);
    let i = rule_named(&rules, "water_over_bank");
    let mut state = State {
        horizon_ms: 100_000,
        ..State::default()
    };
    let only = || std::iter::once((i, &rules[i]));
    let mut rows = Vec::new();
    // Minutes 0 and 1 breach: opened at 1, dated 0.
    rows.extend(state.judge_by(only(), &[minute(0, -0.3)]));
    rows.extend(state.judge_by(only(), &[minute(1, -0.3)]));
    // Minute 1 corrected inside the bank: withdrawn (revision 1).
    rows.extend(state.judge_by(only(), &[minute(1, 0.5)]));
    // Minute 2 prunes minute 0; its streak stays in the base state.
    rows.extend(state.judge_by(only(), &[minute(2, 0.5)]));
    // Minute 1 breaching after all: the same alert again, then resolved.
    rows.extend(state.judge_by(only(), &[minute(1, -0.3)]));
    let table = stored(&rows);
    let newest = &table["water_over_bank:province:34:0"];
    assert_eq!(newest.state, AlertState::Resolved, "{rows:#?}");
}

#[test]
fn a_new_window_after_a_revision_in_its_batch_is_no_correction() {
    let rules = compile(&AlertRules::default());
    let i = rule_named(&rules, "water_over_bank");
    let mut state = fresh_state();
    let only = || std::iter::once((i, &rules[i]));
    assert!(state.judge_by(only(), &[minute(0, 0.5)]).is_empty());
    assert_eq!(state.judge_by(only(), &[minute(1, -0.3)]).len(), 1);
    // A revision that changes no alert, with the minute that resolves it.
    let rows = state.judge_by(only(), &[minute(0, 0.4), minute(2, 0.5)]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].state, rows[0].revision), (AlertState::Resolved, 0));
}

mod replay {
    //! Judged in arrival order, revisions included, the stored alerts are
    //! those of judging the final figures in time order.

    use proptest::prelude::*;

    use super::*;

    /// Runs `rule` over a series first seen as `first` (`None`: no window
    /// yet) and finally `last`, window `k` revised to its final value in
    /// the batch of window `at[k]`; compares with the final series judged
    /// in order.
    fn check(
        rule: &str,
        min_windows: u32,
        first: &[Option<f64>],
        last: &[f64],
        at: &[usize],
        make: impl Fn(usize, f64) -> WindowValue,
    ) -> Result<(), TestCaseError> {
        let mut settings = AlertRules::default();
        for t in &mut settings.thresholds {
            t.min_windows = min_windows;
        }
        let rules = compile(&settings);
        let i = rule_named(&rules, rule);
        let only = || std::iter::once((i, &rules[i]));
        let n = last.len();
        let mut state = fresh_state();
        let mut events = Vec::new();
        for t in 0..n {
            let mut batch: Vec<WindowValue> = first[t].map(|v| make(t, v)).into_iter().collect();
            for k in 0..=t {
                let revised = first[k] != Some(last[k]);
                if revised && at[k].clamp(k, n - 1) == t {
                    batch.push(make(k, last[k]));
                }
            }
            batch.sort_by_key(|w| w.start_ms);
            events.extend(state.judge_by(only(), &batch));
        }
        let mut fresh = fresh_state();
        let expected: Vec<AlertEvent> = (0..n)
            .flat_map(|k| fresh.judge_by(only(), &[make(k, last[k])]))
            .collect();
        let (got, want) = (stored(&events), stored(&expected));
        for (id, e) in &got {
            match want.get(id) {
                Some(w) => prop_assert_eq!(
                    &AlertEvent {
                        revision: 0,
                        ..e.clone()
                    },
                    w
                ),
                None => prop_assert_eq!(e.state, AlertState::Withdrawn, "{}", id),
            }
        }
        for id in want.keys() {
            prop_assert!(got.contains_key(id), "{} missing", id);
        }
        Ok(())
    }

    fn series() -> impl Strategy<Value = (Vec<Option<f64>>, Vec<f64>, Vec<usize>)> {
        let value = prop::sample::select(vec![-0.3, -0.02, 0.02, 0.5]);
        prop::collection::vec(
            (
                prop::option::weighted(0.8, value.clone()),
                value,
                0..40usize,
            ),
            1..40,
        )
        .prop_map(|rows| {
            let mut first: Vec<Option<f64>> = rows.iter().map(|r| r.0).collect();
            // The first window is judged first: windows before the first
            // one a run judged are not judged again (their state before
            // is not known), which `Key::judge` tests apart.
            first[0] = first[0].or(Some(rows[0].1));
            let last = rows.iter().map(|r| r.1).collect();
            let at = rows.iter().map(|r| r.2).collect();
            (first, last, at)
        })
    }

    proptest! {
        #[test]
        fn threshold_alerts_match_the_final_figures(
            (first, last, at) in series(),
            min_windows in 1u32..3,
        ) {
            let m = MetricId::WaterFreeboard;
            check("water_over_bank", min_windows, &first, &last, &at, |k, v| {
                window(m, k as i64 * 60_000, 60_000, &[v])
            })?;
        }

        #[test]
        fn averaged_alerts_match_the_final_figures((first, last, at) in series()) {
            // Hourly PM2.5 of two stations, 20 to 100 µg/m³.
            let pm = |v: f64| 20.0 + (v + 0.3) * 100.0;
            let m = MetricId::Pm25;
            check("pm25_over_standard", 1, &first, &last, &at, |k, v| {
                window(m, k as i64 * 3_600_000, 3_600_000, &[pm(v), pm(-v)])
            })?;
        }

        #[test]
        fn rate_alerts_match_the_final_figures((first, last, at) in series()) {
            // Counts of incidents an hour, from the same values.
            let count = |v: f64| ((v + 0.3) * 30.0) as usize + 1;
            let m = MetricId::IncidentSeverity;
            check("incident_spike", 1, &first, &last, &at, |k, v| {
                window(m, k as i64 * 3_600_000, 3_600_000, &vec![2.0; count(v)])
            })?;
        }
    }
}
