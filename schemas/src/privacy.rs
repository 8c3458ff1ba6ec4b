//! Privacy by construction: the one rule every figure about people passes
//! before it leaves PMOC, shared by the pipeline (alert values and
//! evidence) and the dashboard server (every window, alert and export).
//!
//! **The rule.** A people count (a metric the catalogue marks with
//! `suppress_below`) is published only rounded to a multiple of
//! `rounding_base` (nearest, ties up), and a count below `min_count` (k) is
//! published as *suppressed*: no number at all, shown as `<k`, never as 0.
//!
//! **Why rounding rather than cell suppression.** The classic statistical
//! office answer to "a district's small count is recovered by subtracting
//! the shown districts from the province" is complementary suppression:
//! hide enough other cells that no subtraction pins the small one. Here
//! every cell sits in several overlapping sums at once (district, province,
//! region, nation; minute, hour and day windows; and a new provisional value
//! every refresh while a window is open), so the set of cells to hide would
//! have to be solved jointly over all of them, again on every refresh, and a
//! cell hidden now but shown a minute ago (or the reverse) gives it away.
//! Rounding is local and stateless: each cell is protected on its own, the
//! same way at every level, width and version, and any difference of
//! published figures (parent minus shown children, a day minus its hours,
//! one provisional value minus the previous) is uncertain by at least the
//! base: no subtraction of two rounded figures narrows a cell to one value
//! (`tests/tests/it/privacy` runs the attack). With k = base / 2 (the
//! defaults, 5 and 10) "suppressed" is exactly "rounds to 0", so what is
//! published is just each count rounded to 10.
//!
//! **How it cannot be forgotten.** [`crate::api::Point`] can only be built
//! here ([`PrivacySettings::point`]), and alerts are protected on the way
//! out of the pipeline and again when read ([`PrivacySettings::alert`]),
//! so rows written before this rule existed are safe too.

use serde::{Deserialize, Serialize};

use crate::{alert::AlertEvent, api::Point, metric::MetricId};

/// `[privacy]`: how people counts are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    /// k: a people count below this is published as suppressed (`<k`).
    pub min_count: u64,
    /// Every people count is published rounded to a multiple of this; at
    /// most `2 * min_count`, so a count of k or more never rounds to 0.
    pub rounding_base: u64,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            min_count: 5,
            rounding_base: 10,
        }
    }
}

/// A people figure as it may be published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Protected {
    /// Below k: no number leaves PMOC.
    Suppressed { below: u64 },
    /// Rounded to the base.
    Rounded(f64),
}

/// One window's figures as stored, before the rule; only
/// [`PrivacySettings::point`] turns them into something publishable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawWindow<'a> {
    pub metric: &'a str,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// The catalogue's headline figure of the window.
    pub value: f64,
    /// Events in the window.
    pub count: u64,
    pub is_final: bool,
    pub computed_at_ms: i64,
    /// Late values of the window, kept as corrections.
    pub late: u64,
    /// Late values folded into the window after it was final.
    pub revised: u64,
    /// NaN when the metric keeps no distribution.
    pub p95: f64,
}

/// Whether `metric`'s figures count people (the rule applies to them).
pub fn is_people(metric: &str) -> bool {
    MetricId::from_name(metric).is_some_and(|m| m.def().suppress_below.is_some())
}

impl PrivacySettings {
    /// The rule on one figure.
    ///
    /// ```
    /// use pmoc_schemas::privacy::{PrivacySettings, Protected};
    /// let p = PrivacySettings::default();
    /// assert_eq!(p.protect(0.0), Protected::Suppressed { below: 5 });
    /// assert_eq!(p.protect(4.0), Protected::Suppressed { below: 5 });
    /// assert_eq!(p.protect(5.0), Protected::Rounded(10.0));
    /// assert_eq!(p.protect(14.0), Protected::Rounded(10.0));
    /// assert_eq!(p.protect(15.0), Protected::Rounded(20.0));
    /// // Protecting a published figure changes nothing (idempotent).
    /// assert_eq!(p.protect(20.0), Protected::Rounded(20.0));
    /// assert_eq!(p.protect(f64::NAN), Protected::Suppressed { below: 5 });
    /// ```
    pub fn protect(&self, raw: f64) -> Protected {
        let below = self.min_count;
        // NaN is how a suppressed figure is stored (alerts): it stays so.
        if !raw.is_finite() || raw < below as f64 {
            return Protected::Suppressed { below };
        }
        let base = self.rounding_base.max(1) as f64;
        let rounded = (raw / base + 0.5).floor() * base;
        if rounded < below as f64 {
            // Only with a base over 2k, which the settings refuse.
            return Protected::Suppressed { below };
        }
        Protected::Rounded(rounded)
    }

    /// The figure as published: rounded, or NaN when suppressed (how a
    /// stored alert keeps "no number"; it serializes as `null`).
    pub fn published(&self, raw: f64) -> f64 {
        match self.protect(raw) {
            Protected::Rounded(v) => v,
            Protected::Suppressed { .. } => f64::NAN,
        }
    }

    /// The figure a rule may compare: the published one, a suppressed
    /// count counting as 0. A rule over people sees only what the
    /// dashboard may publish, so whether an alert exists, and when, says
    /// nothing the published figures do not.
    pub fn comparable(&self, raw: f64) -> f64 {
        match self.protect(raw) {
            Protected::Rounded(v) => v,
            Protected::Suppressed { .. } => 0.0,
        }
    }

    /// The only way to build a [`Point`]: the rule applied to every figure
    /// of a window of a people metric, all of them (value, event count,
    /// late corrections, percentiles); other metrics pass unchanged.
    pub fn point(&self, raw: &RawWindow<'_>) -> Point {
        let p95 = raw.p95.is_finite().then_some(raw.p95);
        let mut point = Point {
            window_start_ms: raw.window_start_ms,
            window_end_ms: raw.window_end_ms,
            value: Some(raw.value),
            count: Some(raw.count),
            final_: raw.is_final,
            suppressed_below: None,
            computed_at_ms: raw.computed_at_ms,
            late: raw.late,
            revised: raw.revised,
            p95,
            sealed: crate::api::Sealed,
        };
        if !is_people(raw.metric) {
            return point;
        }
        // The number of events is the figure itself when each event is one
        // person or incident, and otherwise a second count of the same
        // people: not published.
        point.count = None;
        point.p95 = None;
        // Corrections are a count of the same kind: rounded like it, and
        // left out below k (they are a note beside the figure).
        point.late = match self.protect(raw.late as f64) {
            Protected::Rounded(v) => v as u64,
            Protected::Suppressed { .. } => 0,
        };
        // So are the late values a figure was revised by.
        point.revised = match self.protect(raw.revised as f64) {
            Protected::Rounded(v) => v as u64,
            Protected::Suppressed { .. } => 0,
        };
        match self.protect(raw.value) {
            Protected::Rounded(v) => point.value = Some(v),
            Protected::Suppressed { below } => {
                point.value = None;
                point.suppressed_below = Some(below);
            }
        }
        point
    }

    /// An alert about a people metric with its value, limit and evidence
    /// protected (idempotent: the pipeline applies it before writing, the
    /// server again on every read). The evidence is rebuilt from the
    /// protected figures and the part after them (window and rule), so no
    /// raw number survives in its text.
    pub fn alert(&self, event: &mut AlertEvent) {
        if !is_people(&event.metric) {
            return;
        }
        event.value = self.published(event.value);
        event.threshold = self.published(event.threshold);
        let rest = event
            .evidence
            .find(" in the ")
            .map_or("", |at| &event.evidence[at..]);
        event.evidence = format!(
            "{} {} vs {}{rest}",
            event.metric,
            self.text(event.value),
            self.text(event.threshold)
        );
    }

    /// A published figure as text: the number, or `<k`.
    pub fn text(&self, published: f64) -> String {
        if published.is_finite() {
            format!("{published:.0}")
        } else {
            format!("<{}", self.min_count)
        }
    }

    /// Why the settings cannot be honoured, if they cannot.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.min_count == 0 {
            return Some(("privacy.min_count", "must be at least 1"));
        }
        if self.rounding_base == 0 {
            return Some(("privacy.rounding_base", "must be at least 1"));
        }
        if self.rounding_base > 2 * self.min_count {
            return Some((
                "privacy.rounding_base",
                "must be at most twice privacy.min_count, or a count of k or more would round to 0",
            ));
        }
        None
    }
}

/// Serde for figures that may be withheld: NaN (suppressed) is `null` on
/// the wire, and `null` reads back as NaN.
pub mod withheld {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        alert::{AlertState, Severity},
        committee::Committee,
    };

    fn raw(metric: &str, value: f64) -> RawWindow<'_> {
        RawWindow {
            metric,
            window_start_ms: 0,
            window_end_ms: 3_600_000,
            value,
            count: 3,
            is_final: true,
            computed_at_ms: 1,
            late: 2,
            revised: 13,
            p95: 7.0,
        }
    }

    #[test]
    fn every_people_count_is_rounded_and_small_ones_carry_no_number() {
        let p = PrivacySettings::default();
        for n in 0..200u32 {
            let n = f64::from(n);
            match p.protect(n) {
                Protected::Suppressed { below } => assert!(n < below as f64, "{n}"),
                Protected::Rounded(v) => {
                    assert!(v >= 5.0 && v % 10.0 == 0.0, "{n} -> {v}");
                    // Nearest multiple, ties up: within the half base.
                    assert!(n - v >= -5.0 && n - v < 5.0, "{n} -> {v}");
                }
            }
        }
        let small = p.point(&raw("deaths", 3.0));
        assert_eq!(
            (small.value, small.suppressed_below, small.count, small.p95),
            (None, Some(5), None, None)
        );
        assert_eq!(small.late, 0, "two late corrections are below k");
        assert_eq!(small.revised, 10, "13 late values revised it: rounded");
        let zero = p.point(&raw("deaths", 0.0));
        assert!(zero.is_suppressed(), "zero is below k too: {zero:?}");
        assert_eq!(p.point(&raw("births", 17.0)).value, Some(20.0));
        // Not about people: unchanged.
        let dam = p.point(&raw("dam_inflow_mcm", 3.0));
        assert_eq!(
            (dam.value, dam.count, dam.p95),
            (Some(3.0), Some(3), Some(7.0))
        );
        assert!(!dam.is_suppressed());
    }

    #[test]
    fn a_suppressed_point_has_no_number_on_the_wire() {
        let p = PrivacySettings::default();
        let json = serde_json::to_value(p.point(&raw("incident_severity", 2.0))).expect("json");
        assert_eq!(json["value"], serde_json::Value::Null);
        assert_eq!(json["count"], serde_json::Value::Null);
        assert_eq!(json["suppressed_below"], 5);
        assert!(!json.to_string().contains(":2"), "{json}");
    }

    #[test]
    fn alerts_about_people_carry_no_raw_figure() {
        let p = PrivacySettings::default();
        let mut event = AlertEvent {
            alert_id: "incident_spike:province:95:0".to_owned(),
            rule: "incident_spike".to_owned(),
            severity: Severity::Critical,
            committee: Committee::Security,
            metric: "incident_severity".to_owned(),
            area_level: "province".to_owned(),
            area_code: "95".to_owned(),
            state: AlertState::Resolved,
            opened_at_ms: 0,
            updated_at_ms: 0,
            resolved_at_ms: 0,
            value: 3.0,
            threshold: 13.5,
            evidence: "incident_severity 3.00 vs 13.50 in the 3600 s window from 2026-12-01 10:00 (incident_spike)".to_owned(),
            revision: 0,
        };
        p.alert(&mut event);
        assert!(event.value.is_nan());
        assert_eq!(event.threshold, 10.0);
        assert_eq!(
            event.evidence,
            "incident_severity <5 vs 10 in the 3600 s window from 2026-12-01 10:00 (incident_spike)"
        );
        let again = event.clone();
        p.alert(&mut event);
        assert_eq!(event.evidence, again.evidence, "idempotent");
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["value"], serde_json::Value::Null);
        let back: AlertEvent = serde_json::from_value(json).expect("reads back");
        assert!(back.value.is_nan());
        // Evidence in an unknown format keeps nothing but the figures.
        event.evidence = "incident_severity 3 over 2".to_owned();
        p.alert(&mut event);
        assert_eq!(event.evidence, "incident_severity <5 vs 10");
    }

    #[test]
    fn settings_that_would_publish_a_zero_for_k_are_refused() {
        let bad = PrivacySettings {
            min_count: 3,
            rounding_base: 10,
        };
        assert!(bad.problem().is_some());
        assert!(PrivacySettings::default().problem().is_none());
    }
}
