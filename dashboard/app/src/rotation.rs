//! The wall's focus rotation, and the critical alert that interrupts it.
//!
//! Pure state and a `tick` per second, so the rules are unit-tested
//! without a browser.

use std::collections::HashSet;

use pmoc_schemas::{
    alert::Severity,
    api::{Alert, WallSettings},
};

/// What the wall's large pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Focus {
    Committee(String),
    Alerts,
    /// A region of the NSO scheme (`area::REGIONS4`).
    Region(String),
}

impl Focus {
    /// `water`, `alerts`, `region:NE`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "alerts" => Some(Self::Alerts),
            "population" | "security" | "water" | "resources" => {
                Some(Self::Committee(s.to_owned()))
            }
            _ => s
                .strip_prefix("region:")
                .filter(|r| pmoc_schemas::area::REGIONS4.contains(r))
                .map(|r| Self::Region(r.to_owned())),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rotation {
    index: usize,
    switched_at_ms: i64,
    /// The critical alert holding the wall, since when.
    pub held: Option<(String, i64)>,
    /// Critical alerts whose hold timed out: they do not interrupt again.
    dismissed: HashSet<String>,
}

impl Rotation {
    /// Advances the rotation; a new unacknowledged critical alert takes
    /// the wall until acknowledged, resolved, or `alert_hold_seconds` pass.
    pub fn tick(&mut self, now_ms: i64, alerts: &[Alert], settings: &WallSettings) {
        if self.switched_at_ms == 0 {
            self.switched_at_ms = now_ms;
        }
        if let Some((id, since)) = self.held.clone() {
            let still = alerts
                .iter()
                .any(|a| a.event.alert_id == id && a.is_open() && !a.acknowledged());
            let timed_out = now_ms - since >= i64::from(settings.alert_hold_seconds) * 1000;
            if still && !timed_out {
                return;
            }
            self.dismissed.insert(id);
            self.held = None;
            self.switched_at_ms = now_ms;
        }
        if let Some(a) = alerts.iter().find(|a| {
            a.event.severity == Severity::Critical
                && a.is_open()
                && !a.acknowledged()
                && !self.dismissed.contains(&a.event.alert_id)
        }) {
            self.held = Some((a.event.alert_id.clone(), now_ms));
            return;
        }
        let every = i64::from(settings.rotation_seconds.max(1)) * 1000;
        if now_ms - self.switched_at_ms >= every && !settings.rotation.is_empty() {
            self.index = (self.index + 1) % settings.rotation.len();
            self.switched_at_ms = now_ms;
        }
    }

    pub fn focus(&self, settings: &WallSettings) -> Focus {
        if self.held.is_some() {
            return Focus::Alerts;
        }
        settings
            .rotation
            .get(self.index % settings.rotation.len().max(1))
            .and_then(|s| Focus::parse(s))
            .unwrap_or(Focus::Alerts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmoc_schemas::alert::{AlertEvent, AlertState};

    fn alert(id: &str, severity: Severity, acknowledged: bool) -> Alert {
        let event = AlertEvent {
            alert_id: id.to_owned(),
            rule: "r".to_owned(),
            severity,
            committee: pmoc_schemas::committee::Committee::Water,
            metric: "m".to_owned(),
            area_level: "province".to_owned(),
            area_code: "34".to_owned(),
            state: AlertState::Open,
            opened_at_ms: 0,
            updated_at_ms: 0,
            resolved_at_ms: 0,
            value: 0.0,
            threshold: 0.0,
            evidence: String::new(),
            revision: 0,
        };
        Alert {
            event,
            area_th: String::new(),
            area_en: String::new(),
            actions: if acknowledged {
                vec![pmoc_schemas::api::AlertAction {
                    alert_id: id.to_owned(),
                    action: "acknowledge".to_owned(),
                    comment: "ok".to_owned(),
                    actor: "a".to_owned(),
                    at_ms: 1,
                }]
            } else {
                Vec::new()
            },
            suppressed_below: None,
        }
    }

    #[test]
    fn rotates_and_a_critical_alert_holds_until_acknowledged_or_timeout() {
        let settings = WallSettings {
            rotation: vec!["water".into(), "alerts".into(), "region:NE".into()],
            rotation_seconds: 10,
            alert_hold_seconds: 60,
        };
        let mut r = Rotation::default();
        r.tick(1_000, &[], &settings);
        assert_eq!(r.focus(&settings), Focus::Committee("water".into()));
        r.tick(11_000, &[], &settings);
        assert_eq!(r.focus(&settings), Focus::Alerts);
        r.tick(21_000, &[alert("w", Severity::Warning, false)], &settings);
        assert_eq!(r.focus(&settings), Focus::Region("NE".into()));

        let critical = [alert("c", Severity::Critical, false)];
        r.tick(22_000, &critical, &settings);
        assert_eq!(r.focus(&settings), Focus::Alerts);
        r.tick(50_000, &critical, &settings);
        assert!(r.held.is_some(), "held before the timeout");
        r.tick(60_000, &[alert("c", Severity::Critical, true)], &settings);
        assert!(r.held.is_none(), "released by the acknowledgement");

        let other = [alert("d", Severity::Critical, false)];
        r.tick(61_000, &other, &settings);
        r.tick(121_000, &other, &settings);
        assert!(r.held.is_none(), "released by the timeout");
        r.tick(122_000, &other, &settings);
        assert!(r.held.is_none(), "a timed-out alert does not hold again");
    }
}
