//! The checks that make settings fail loudly at start: a rule naming a
//! metric that does not exist, more window widths than the pipeline holds,
//! a lateness the idle timeout would cut short. Each failure names the key,
//! so the operator knows which line of which file to fix.
//!
//! Parsing (unknown keys, wrong types) is figment's and serde's; these are
//! the rules between values that a type cannot express.

use crate::{area::REGIONS4, committee::Committee, metric::MetricId};

use super::{MAX_WINDOW_WIDTHS, Settings};

/// A setting that is well-formed but wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid settings: {key} {problem}")]
pub struct InvalidSetting {
    /// The offending key as it is written in the file
    /// (`alerts.thresholds[2].metric`).
    pub key: String,
    /// What is wrong with it, saying what would be right.
    pub problem: String,
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> InvalidSetting {
    InvalidSetting {
        key: key.into(),
        problem: problem.into(),
    }
}

impl Settings {
    /// Checks every rule between values; the first failure names its key.
    /// Every program calls it at start (`Settings::load` does, and the
    /// servers' `build`/`run` do for settings made in code).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        self.validate_pipeline()?;
        self.validate_alerts()?;
        self.validate_dashboard()?;
        if let Some((key, problem)) = self.privacy.problem() {
            return Err(invalid(key, problem));
        }
        self.sources
            .validate()
            .map_err(|(key, problem)| invalid(key, problem))?;
        for agency in self.http_ingest.agencies.keys() {
            if self.sources.get(agency).is_none() {
                return Err(invalid(
                    format!("http_ingest.agencies.{agency}"),
                    "has a token but is not an agency in [sources]",
                ));
            }
        }
        // A partition's checkpoint is the first record of its oldest window
        // not yet stored: it trails what was read by up to the widest window
        // and the lateness. A retention shorter than that loses windows at
        // every restart, whatever the downtime.
        let widest_ms = u64::from(
            self.pipeline
                .windows_seconds
                .iter()
                .copied()
                .max()
                .unwrap_or(0),
        ) * 1000
            + u64::from(self.pipeline.allowed_lateness_seconds) * 1000;
        if self.kafka.retention_ms <= widest_ms.max(60_000) {
            return Err(invalid(
                "kafka.retention_ms",
                format!(
                    "must exceed the widest window plus the allowed lateness ({} ms, at least a \
                     minute): a restart resumes from the oldest window not yet stored, and the \
                     longest the pipeline can be down without loss is the retention less that",
                    widest_ms.max(60_000)
                ),
            ));
        }
        let sim = &self.simulator;
        if !(sim.speedup.is_finite() && sim.speedup > 0.0) {
            return Err(invalid("simulator.speedup", "must be a positive number"));
        }
        if sim.interval_ms == 0 {
            return Err(invalid("simulator.interval_ms", "must be at least 1"));
        }
        Ok(())
    }

    /// `self` when [`Self::validate`] passes.
    pub fn validated(self) -> Result<Self, InvalidSetting> {
        self.validate().map(|()| self)
    }

    fn validate_pipeline(&self) -> Result<(), InvalidSetting> {
        let p = &self.pipeline;
        let widths = &p.windows_seconds;
        if widths.is_empty() || widths.len() > MAX_WINDOW_WIDTHS {
            return Err(invalid(
                "pipeline.windows_seconds",
                format!(
                    "lists {} widths; the pipeline holds 1 to {MAX_WINDOW_WIDTHS}",
                    widths.len()
                ),
            ));
        }
        if widths.contains(&0) {
            return Err(invalid(
                "pipeline.windows_seconds",
                "has a width of 0 seconds",
            ));
        }
        let mut distinct = widths.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != widths.len() {
            return Err(invalid("pipeline.windows_seconds", "lists a width twice"));
        }
        if p.allowed_lateness_seconds > p.idle_partition_seconds {
            return Err(invalid(
                "pipeline.allowed_lateness_seconds",
                format!(
                    "({} s) is longer than pipeline.idle_partition_seconds ({} s): an idle \
                     partition would be let go before its late events are due",
                    p.allowed_lateness_seconds, p.idle_partition_seconds
                ),
            ));
        }
        if p.dedup_horizon_seconds < p.allowed_lateness_seconds {
            return Err(invalid(
                "pipeline.dedup_horizon_seconds",
                format!(
                    "({} s) is shorter than pipeline.allowed_lateness_seconds ({} s): a copy \
                     arriving within the lateness would be counted twice",
                    p.dedup_horizon_seconds, p.allowed_lateness_seconds
                ),
            ));
        }
        if p.correction_horizon_seconds < p.allowed_lateness_seconds {
            return Err(invalid(
                "pipeline.correction_horizon_seconds",
                format!(
                    "({} s) is shorter than pipeline.allowed_lateness_seconds ({} s): values \
                     just past the lateness would never reach their window",
                    p.correction_horizon_seconds, p.allowed_lateness_seconds
                ),
            ));
        }
        if p.flush_interval_ms == 0 {
            return Err(invalid("pipeline.flush_interval_ms", "must be at least 1"));
        }
        if p.max_unstored_rows == 0 {
            return Err(invalid("pipeline.max_unstored_rows", "must be at least 1"));
        }
        Ok(())
    }

    /// A rule's window must be one the pipeline computes, or the rule never
    /// sees a window and silently never fires.
    fn check_window(&self, key: String, seconds: u32) -> Result<(), InvalidSetting> {
        if self.pipeline.windows_seconds.contains(&seconds) {
            Ok(())
        } else {
            Err(invalid(
                key,
                format!(
                    "is {seconds}, not one of pipeline.windows_seconds {:?}",
                    self.pipeline.windows_seconds
                ),
            ))
        }
    }

    fn validate_alerts(&self) -> Result<(), InvalidSetting> {
        let a = &self.alerts;
        let mut names = std::collections::BTreeSet::new();
        for (i, r) in a.thresholds.iter().enumerate() {
            let key = |field: &str| format!("alerts.thresholds[{i}].{field}");
            check_rule_name(&mut names, key("name"), &r.name)?;
            check_metric(key("metric"), &r.metric)?;
            self.check_window(key("window_seconds"), r.window_seconds)?;
            if !r.limit.is_finite() {
                return Err(invalid(key("limit"), "must be a finite number"));
            }
            if !(r.clear_margin.is_finite() && r.clear_margin >= 0.0) {
                return Err(invalid(key("clear_margin"), "must be 0 or more"));
            }
            if r.min_windows == 0 {
                return Err(invalid(key("min_windows"), "must be at least 1"));
            }
            if r.averaging_seconds != 0
                && (r.averaging_seconds % r.window_seconds.max(1) != 0
                    || r.averaging_seconds > 7 * 86_400)
            {
                return Err(invalid(
                    key("averaging_seconds"),
                    "must be a multiple of window_seconds, at most 7 days",
                ));
            }
        }
        for (i, r) in a.rates.iter().enumerate() {
            let key = |field: &str| format!("alerts.rates[{i}].{field}");
            check_rule_name(&mut names, key("name"), &r.name)?;
            check_metric(key("metric"), &r.metric)?;
            self.check_window(key("window_seconds"), r.window_seconds)?;
            if r.baseline_windows == 0 {
                return Err(invalid(key("baseline_windows"), "must be at least 1"));
            }
            if !(r.factor.is_finite() && r.factor > 0.0) {
                return Err(invalid(key("factor"), "must be a positive number"));
            }
        }
        if !(a.silence_factor.is_finite() && a.silence_factor > 0.0) {
            return Err(invalid(
                "alerts.silence_factor",
                "must be a positive number",
            ));
        }
        Ok(())
    }

    fn validate_dashboard(&self) -> Result<(), InvalidSetting> {
        let d = &self.dashboard;
        for (i, name) in d.map_metrics.iter().enumerate() {
            check_metric(format!("dashboard.map_metrics[{i}]"), name)?;
        }
        self.check_window(
            "dashboard.wall_window_seconds".to_owned(),
            d.wall_window_seconds,
        )?;
        for (i, view) in d.rotation.iter().enumerate() {
            let known = view == "alerts"
                || Committee::from_name(view).is_some()
                || view
                    .strip_prefix("region:")
                    .is_some_and(|r| REGIONS4.contains(&r));
            if !known {
                return Err(invalid(
                    format!("dashboard.rotation[{i}]"),
                    format!(
                        "{view:?} is not a committee, \"alerts\" or \"region:<{}>\"",
                        REGIONS4.join("|")
                    ),
                ));
            }
        }
        for (key, value) in [
            ("dashboard.refresh_ms", d.refresh_ms),
            ("dashboard.area_refresh_ms", d.area_refresh_ms),
            ("dashboard.rotation_seconds", u64::from(d.rotation_seconds)),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if d.area_max_age_ms < d.area_refresh_ms {
            return Err(invalid(
                "dashboard.area_max_age_ms",
                format!(
                    "must be at least dashboard.area_refresh_ms ({})",
                    d.area_refresh_ms
                ),
            ));
        }
        Ok(())
    }
}

fn check_metric(key: String, name: &str) -> Result<(), InvalidSetting> {
    if MetricId::from_name(name).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = crate::metric::METRICS.iter().map(|m| m.name).collect();
    Err(invalid(
        key,
        format!("{name:?} is not a metric (known: {})", known.join(", ")),
    ))
}

/// Rule names are part of alert ids: two rules of one name would open and
/// resolve each other's alerts.
fn check_rule_name(
    seen: &mut std::collections::BTreeSet<String>,
    key: String,
    name: &str,
) -> Result<(), InvalidSetting> {
    if name.trim().is_empty() {
        return Err(invalid(key, "is empty"));
    }
    if !seen.insert(name.to_owned()) {
        return Err(invalid(key, format!("{name:?} names two rules")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(edit: impl FnOnce(&mut Settings)) -> String {
        let mut s = Settings::default();
        edit(&mut s);
        s.validate().expect_err("invalid").key
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(Settings::default().validate(), Ok(()));
    }

    #[test]
    fn an_alert_rule_naming_an_unknown_metric_names_its_key() {
        let err = {
            let mut s = Settings::default();
            s.alerts.thresholds[2].metric = "pm25_ug".to_owned();
            s.validate().expect_err("invalid")
        };
        assert_eq!(err.key, "alerts.thresholds[2].metric");
        assert!(err.problem.contains("pm25_ugm3"), "lists the known: {err}");
        assert_eq!(
            key_of(|s| s.alerts.rates[1].metric = "fires".to_owned()),
            "alerts.rates[1].metric"
        );
        assert_eq!(
            key_of(|s| s.alerts.thresholds[0].window_seconds = 300),
            "alerts.thresholds[0].window_seconds"
        );
        assert_eq!(
            key_of(|s| s.alerts.rates[0].name = s.alerts.thresholds[0].name.clone()),
            "alerts.rates[0].name"
        );
        assert_eq!(
            key_of(|s| s.alerts.silence_factor = 0.0),
            "alerts.silence_factor"
        );
    }

    #[test]
    fn an_area_max_age_shorter_than_its_refresh_is_an_error() {
        let err = {
            let mut s = Settings::default();
            s.dashboard.area_max_age_ms = s.dashboard.area_refresh_ms - 1;
            s.validate().expect_err("invalid")
        };
        assert_eq!(err.key, "dashboard.area_max_age_ms");
        assert!(err.problem.contains("area_refresh_ms"), "{err}");
    }

    #[test]
    fn a_retention_shorter_than_the_widest_window_is_an_error() {
        // Seconds written for milliseconds.
        assert_eq!(
            key_of(|s| s.kafka.retention_ms = 604_800),
            "kafka.retention_ms"
        );
        // An hour, with day windows: every restart would lose part of a day.
        assert_eq!(
            key_of(|s| s.kafka.retention_ms = 3_600_000),
            "kafka.retention_ms"
        );
        let mut hourly = Settings::default();
        hourly.pipeline.windows_seconds = vec![60, 3_600];
        hourly.kafka.retention_ms = 2 * 3_600_000;
        assert_eq!(hourly.validate(), Ok(()));
    }

    #[test]
    fn more_window_widths_than_the_pipeline_holds_is_an_error() {
        let err = {
            let mut s = Settings::default();
            s.pipeline.windows_seconds = (1..=9).map(|m| m * 60).collect();
            s.validate().expect_err("invalid")
        };
        assert_eq!(err.key, "pipeline.windows_seconds");
        assert!(err.problem.contains("1 to 8"), "{err}");
        assert_eq!(
            key_of(|s| s.pipeline.windows_seconds = vec![60, 60, 3_600, 86_400]),
            "pipeline.windows_seconds"
        );
        assert_eq!(
            key_of(|s| s.pipeline.windows_seconds.clear()),
            "pipeline.windows_seconds"
        );
    }

    #[test]
    fn a_lateness_longer_than_the_idle_timeout_is_an_error() {
        let err = {
            let mut s = Settings::default();
            s.pipeline.allowed_lateness_seconds = 300;
            s.pipeline.idle_partition_seconds = 120;
            s.validate().expect_err("invalid")
        };
        assert_eq!(err.key, "pipeline.allowed_lateness_seconds");
        assert!(err.to_string().contains("idle_partition_seconds"), "{err}");
        assert_eq!(
            key_of(|s| s.pipeline.dedup_horizon_seconds = 10),
            "pipeline.dedup_horizon_seconds"
        );
    }

    #[test]
    fn the_correction_horizon_is_at_least_the_lateness() {
        assert!(Settings::default().validate().is_ok());
        assert_eq!(
            key_of(|s| s.pipeline.correction_horizon_seconds = 10),
            "pipeline.correction_horizon_seconds"
        );
        // Not tied to the dedup horizon: a week of ids would not fit.
        let mut s = Settings::default();
        s.pipeline.dedup_horizon_seconds = 3_600;
        s.pipeline.correction_horizon_seconds = 604_800;
        assert!(s.validate().is_ok());
    }

    #[test]
    fn dashboard_tokens_and_simulator_keys_are_checked() {
        assert_eq!(
            key_of(|s| s.dashboard.map_metrics[0] = "babies".to_owned()),
            "dashboard.map_metrics[0]"
        );
        assert_eq!(
            key_of(|s| s.dashboard.rotation.push("region:XX".to_owned())),
            "dashboard.rotation[6]"
        );
        assert_eq!(
            key_of(|s| {
                s.http_ingest
                    .agencies
                    .insert("ACME".to_owned(), "sha256:00".to_owned());
            }),
            "http_ingest.agencies.ACME"
        );
        assert_eq!(
            key_of(|s| s.simulator.speedup = f64::NAN),
            "simulator.speedup"
        );
    }
}
