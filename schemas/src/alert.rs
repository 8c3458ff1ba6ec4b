//! Alert rules (configured in the settings file) and the alerts they raise.
//!
//! Rules are evaluated by the pipeline on final province windows, so an
//! alert is as traceable as the figure behind it: its evidence names the
//! metric, the window and the value.

use serde::{Deserialize, Serialize};

use crate::committee::Committee;

/// How urgent an alert is; critical ones interrupt the wall screen.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    /// The inverse of [`Self::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Info, Self::Warning, Self::Critical]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

/// Which figure of a window a rule compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Last,
}

/// Breach when the statistic is above (`>`) or below (`<`) the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Above,
    Below,
}

impl Comparison {
    pub fn breached(self, value: f64, limit: f64) -> bool {
        match self {
            Self::Above => value > limit,
            Self::Below => value < limit,
        }
    }
}

/// A fixed limit on one metric, per province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRule {
    /// Stable name, part of every alert id: never rename a released rule.
    pub name: String,
    /// Metric name from the catalogue (`pmoc_schemas::metric`).
    pub metric: String,
    pub statistic: Statistic,
    pub comparison: Comparison,
    pub limit: f64,
    pub severity: Severity,
    /// Width of the windows the rule reads.
    pub window_seconds: u32,
    /// A standard's averaging period: each entity's (station's) mean over
    /// the windows of the last this many seconds is what the statistic is
    /// taken of, so PM2.5 is judged as the 24-hour mean Thailand's standard
    /// is, not reading by reading. 0: the window alone.
    #[serde(default)]
    pub averaging_seconds: u32,
    /// Hysteresis: an open alert resolves only once the value is this far
    /// on the safe side of the limit, so a value hovering at the limit
    /// does not open and resolve it again and again.
    #[serde(default)]
    pub clear_margin: f64,
    /// The breach must hold in this many consecutive windows before the
    /// alert opens (a minimum duration); 1 opens on the first.
    #[serde(default = "one")]
    pub min_windows: u32,
}

fn one() -> u32 {
    1
}

impl ThresholdRule {
    /// Whether `value` is far enough on the safe side to resolve an open
    /// alert (see `clear_margin`).
    pub fn cleared(&self, value: f64) -> bool {
        match self.comparison {
            Comparison::Above => value <= self.limit - self.clear_margin,
            Comparison::Below => value >= self.limit + self.clear_margin,
        }
    }
}

/// An event count far above its own recent past, per province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    pub name: String,
    pub metric: String,
    pub window_seconds: u32,
    /// Trailing windows the baseline is the mean of.
    pub baseline_windows: u32,
    /// Breach when the count is at least `factor` times the baseline...
    pub factor: f64,
    /// ...and at least this many events (a quiet province going from 0 to 2
    /// is not an anomaly).
    pub min_count: u64,
    pub severity: Severity,
}

/// Every rule the pipeline evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertRules {
    pub thresholds: Vec<ThresholdRule>,
    pub rates: Vec<RateRule>,
    /// A source quiet for more than this many times its expected cadence
    /// (`cadence_seconds`) raises a `source_silent` alert.
    pub silence_factor: f64,
}

fn threshold(
    name: &str,
    metric: &str,
    (statistic, comparison, limit): (Statistic, Comparison, f64),
    severity: Severity,
) -> ThresholdRule {
    ThresholdRule {
        name: name.to_owned(),
        metric: metric.to_owned(),
        statistic,
        comparison,
        limit,
        severity,
        // Minute windows: an alert follows its event within the lateness.
        window_seconds: 60,
        averaging_seconds: 0,
        clear_margin: 0.0,
        min_windows: 1,
    }
}

/// A rule on hourly windows, resolving only `clear_margin` inside the limit.
fn hourly(rule: ThresholdRule, clear_margin: f64) -> ThresholdRule {
    ThresholdRule {
        window_seconds: 3_600,
        clear_margin,
        ..rule
    }
}

/// A rule on each station's 24-hour mean of its hourly readings.
fn daily_mean(rule: ThresholdRule, clear_margin: f64) -> ThresholdRule {
    ThresholdRule {
        averaging_seconds: 86_400,
        ..hourly(rule, clear_margin)
    }
}

impl Default for AlertRules {
    /// The operations centre's standing rules: water over the bank (at
    /// once, each minute), heavy rain (TMD's 90 mm/24 h "very heavy", as
    /// each gauge accumulates it), PM2.5 over the Thai standard (a station's
    /// 24-hour mean above 37.5 µg/m³) and twice it, dams nearly full or low
    /// (total stored over total capacity of the province's dams). Each
    /// resolves only inside a margin, so a value at the limit does not flap.
    fn default() -> Self {
        use Comparison::{Above, Below};
        use Statistic::{Max, Mean, Min};
        Self {
            thresholds: vec![
                ThresholdRule {
                    clear_margin: 0.05,
                    ..threshold(
                        "water_over_bank",
                        "water_freeboard_m",
                        (Min, Below, 0.0),
                        Severity::Critical,
                    )
                },
                hourly(
                    threshold(
                        "rain_24h_very_heavy",
                        "rain_24h_mm",
                        (Max, Above, 90.0),
                        Severity::Warning,
                    ),
                    5.0,
                ),
                daily_mean(
                    threshold(
                        "pm25_over_standard",
                        "pm25_ugm3",
                        (Max, Above, 37.5),
                        Severity::Warning,
                    ),
                    2.5,
                ),
                daily_mean(
                    threshold(
                        "pm25_hazardous",
                        "pm25_ugm3",
                        (Max, Above, 75.0),
                        Severity::Critical,
                    ),
                    5.0,
                ),
                hourly(
                    threshold(
                        "dam_nearly_full",
                        "dam_storage_pct",
                        (Mean, Above, 80.0),
                        Severity::Warning,
                    ),
                    1.0,
                ),
                hourly(
                    threshold(
                        "dam_low",
                        "dam_storage_pct",
                        (Mean, Below, 30.0),
                        Severity::Warning,
                    ),
                    1.0,
                ),
            ],
            rates: vec![
                RateRule {
                    name: "incident_spike".to_owned(),
                    metric: "incident_severity".to_owned(),
                    window_seconds: 3_600,
                    baseline_windows: 24,
                    factor: 3.0,
                    min_count: 10,
                    severity: Severity::Critical,
                },
                RateRule {
                    name: "hotspot_spike".to_owned(),
                    metric: "hotspots".to_owned(),
                    window_seconds: 3_600,
                    baseline_windows: 24,
                    factor: 3.0,
                    min_count: 10,
                    severity: Severity::Warning,
                },
            ],
            silence_factor: 3.0,
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Updated,
    Resolved,
    /// Judged again with late values, the breach never happened: the alert
    /// was raised on figures since corrected. Kept, not deleted, so the
    /// record says what was shown and why it no longer is.
    Withdrawn,
}

impl AlertState {
    /// The inverse of [`Self::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Open, Self::Updated, Self::Resolved, Self::Withdrawn]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Updated => "updated",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Still breaching, as far as the pipeline knows.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::Updated)
    }

    /// The SQL condition on a `state` column selecting open alerts.
    pub const OPEN_SQL: &'static str = "state IN ('open', 'updated')";
}

/// One transition of one alert, as stored and published on the alerts topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertEvent {
    /// `rule:level:code:opening window start (ms)`, stable across replays.
    pub alert_id: String,
    pub rule: String,
    pub severity: Severity,
    pub committee: Committee,
    /// Empty for alerts about a source rather than a figure.
    pub metric: String,
    pub area_level: String,
    pub area_code: String,
    pub state: AlertState,
    pub opened_at_ms: i64,
    pub updated_at_ms: i64,
    /// 0 while not resolved.
    pub resolved_at_ms: i64,
    /// NaN (`null` on the wire) when withheld: a count of people below k
    /// (see [`crate::privacy`]).
    #[serde(with = "crate::privacy::withheld")]
    pub value: f64,
    #[serde(with = "crate::privacy::withheld")]
    pub threshold: f64,
    /// For operators tracing a figure: which window, which figure, which
    /// rule, in English with schema ids. People read
    /// [`crate::catalogue::evidence`], built from the fields above.
    pub evidence: String,
    /// How many times late values made the pipeline judge this alert again
    /// and rewrite its record (0: as first judged). Orders the stored rows
    /// of one alert: a correction replaces rows of later event time.
    #[serde(default)]
    pub revision: u32,
}

/// Field by field, a withheld figure (NaN) equal to another withheld one:
/// the wall pushes only real changes, and a suppressed value is no change.
impl PartialEq for AlertEvent {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        let Self {
            alert_id,
            rule,
            severity,
            committee,
            metric,
            area_level,
            area_code,
            state,
            opened_at_ms,
            updated_at_ms,
            resolved_at_ms,
            value,
            threshold,
            evidence,
            revision,
        } = self;
        (
            alert_id, rule, severity, committee, metric, area_level, area_code, state,
        ) == (
            &other.alert_id,
            &other.rule,
            &other.severity,
            &other.committee,
            &other.metric,
            &other.area_level,
            &other.area_code,
            &other.state,
        ) && (
            opened_at_ms,
            updated_at_ms,
            resolved_at_ms,
            evidence,
            revision,
        ) == (
            &other.opened_at_ms,
            &other.updated_at_ms,
            &other.resolved_at_ms,
            &other.evidence,
            &other.revision,
        ) && same(*value, other.value)
            && same(*threshold, other.threshold)
    }
}
