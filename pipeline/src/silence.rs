//! Silence alerts: a source that has sent nothing for longer than
//! `silence_factor` times its expected cadence is itself news; the figures it
//! feeds are going stale.
//!
//! Unlike the window rules this is about the wall clock (when did we last
//! hear from HII?), so it is evaluated by each process's writer from the
//! workers' last-seen times, not in the dataflow. With several processes,
//! each judges the partitions its workers read.

use std::collections::HashMap;

use pmoc_schemas::{
    aggregate::AreaLevel,
    alert::{AlertEvent, AlertState, Severity},
    area::NATION_CODE,
    committee::Committee,
};

use pmoc_store::WatermarkRow;

/// The rule name of silence alerts, part of their ids.
pub const RULE: &str = "source_silent";

/// (committee, agency, system, schema).
type SourceKey = (Committee, String, String, String);

/// What the writer knows about every source's freshness.
#[derive(Debug)]
pub struct Silence {
    factor: f64,
    /// Newest last-seen time over the workers, and the expected cadence.
    seen: HashMap<SourceKey, (i64, u32)>,
    open: HashMap<SourceKey, AlertEvent>,
    /// Silence alerts open when the pipeline stopped, claimed by their
    /// source (matched by id) when it is next observed.
    restored: Vec<AlertEvent>,
}

/// The start of a silence alert's id: rule and source.
fn id_prefix((_, agency, system, schema): &SourceKey) -> String {
    format!("{RULE}:{agency}:{system}:{schema}:")
}

impl Silence {
    /// `open`: alerts still open when the pipeline stopped (any rule; only
    /// silence alerts are kept).
    pub fn new(factor: f64, open: &[AlertEvent]) -> Self {
        Self {
            factor,
            seen: HashMap::new(),
            open: HashMap::new(),
            restored: open.iter().filter(|a| a.rule == RULE).cloned().collect(),
        }
    }

    /// Takes in the workers' freshness rows; a row of no known committee
    /// (none is written) is skipped.
    pub fn observe(&mut self, rows: &[WatermarkRow]) {
        for r in rows {
            let Some(committee) = Committee::from_name(&r.committee) else {
                continue;
            };
            let key = (
                committee,
                r.source_agency.clone(),
                r.source_system.clone(),
                r.schema.clone(),
            );
            if !self.open.contains_key(&key) {
                let prefix = id_prefix(&key);
                if let Some(i) = self
                    .restored
                    .iter()
                    .position(|a| a.committee == key.0 && a.alert_id.starts_with(&prefix))
                {
                    self.open.insert(key.clone(), self.restored.swap_remove(i));
                }
            }
            let entry = self
                .seen
                .entry(key)
                .or_insert((r.last_seen_ms, r.expected_cadence_s));
            entry.0 = entry.0.max(r.last_seen_ms);
            entry.1 = r.expected_cadence_s;
        }
    }

    /// Transitions at wall-clock time `now_ms`: sources that went quiet open
    /// an alert, sources heard from again resolve theirs.
    pub fn check(&mut self, now_ms: i64) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for (key, &(last_seen, cadence_s)) in &self.seen {
            let allowed_ms = (f64::from(cadence_s) * 1000.0 * self.factor) as i64;
            let quiet_ms = now_ms - last_seen;
            let silent = quiet_ms > allowed_ms;
            match (silent, self.open.contains_key(key)) {
                (true, false) => {
                    let (committee, agency, system, schema) = key;
                    let event = AlertEvent {
                        alert_id: format!("{}{last_seen}", id_prefix(key)),
                        rule: RULE.to_owned(),
                        severity: Severity::Warning,
                        committee: *committee,
                        metric: String::new(),
                        area_level: AreaLevel::Nation.as_str().to_owned(),
                        area_code: NATION_CODE.to_owned(),
                        state: AlertState::Open,
                        opened_at_ms: now_ms,
                        updated_at_ms: now_ms,
                        resolved_at_ms: 0,
                        value: (quiet_ms / 1000) as f64,
                        threshold: (allowed_ms / 1000) as f64,
                        evidence: format!(
                            "{committee} {agency} {system} {schema} quiet for {} s, expected every {cadence_s} s",
                            quiet_ms / 1000
                        ),
                        revision: 0,
                    };
                    self.open.insert(key.clone(), event.clone());
                    events.push(event);
                }
                (false, true) => {
                    if let Some(mut event) = self.open.remove(key) {
                        event.state = AlertState::Resolved;
                        event.updated_at_ms = now_ms;
                        event.resolved_at_ms = now_ms;
                        event.value = (quiet_ms.max(0) / 1000) as f64;
                        events.push(event);
                    }
                }
                _ => {}
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_seen_ms: i64, worker: u32) -> WatermarkRow {
        WatermarkRow {
            committee: "water".to_owned(),
            source_agency: "HII".to_owned(),
            source_system: "telemetry".to_owned(),
            schema: "hii.water_level".to_owned(),
            worker,
            final_up_to_ms: 0,
            last_event_ms: last_seen_ms,
            last_seen_ms,
            expected_cadence_s: 600,
            events_total: 1,
            written_at_ms: last_seen_ms,
        }
    }

    #[test]
    fn a_quiet_source_opens_one_alert_and_resolves_when_heard_again() {
        let mut s = Silence::new(3.0, &[]);
        s.observe(&[row(0, 0), row(1_000, 1)]);
        assert!(s.check(1_800_000).is_empty(), "within 3 x 10 min");
        let opened = s.check(1_802_000);
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].state, AlertState::Open);
        assert!(s.check(1_900_000).is_empty(), "no duplicate while silent");

        // After a restart the open alert is remembered, not reopened.
        let mut restarted = Silence::new(3.0, &opened);
        restarted.observe(&[row(1_000, 0)]);
        assert!(restarted.check(1_950_000).is_empty());
        restarted.observe(&[row(1_960_000, 1)]);
        let resolved = restarted.check(1_960_500);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].state, AlertState::Resolved);
        assert_eq!(resolved[0].alert_id, opened[0].alert_id);
    }
}
