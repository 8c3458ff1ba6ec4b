//! Windowed aggregates: what the pipeline writes and the dashboard reads.

use serde::{Deserialize, Serialize};

use crate::metric::MetricId;

/// The level of the administrative hierarchy an aggregate is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    District,
    Province,
    Region4,
    Region6,
    Nation,
}

impl AreaLevel {
    pub const ALL: [Self; 5] = [
        Self::District,
        Self::Province,
        Self::Region4,
        Self::Region6,
        Self::Nation,
    ];

    /// The inverse of [`Self::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Province => "province",
            Self::Region4 => "region4",
            Self::Region6 => "region6",
            Self::Nation => "nation",
        }
    }
}

/// Metric name of water-level aggregates, in metres above mean sea level.
pub const METRIC_WATER_LEVEL: &str = "water_level_m_msl";
/// Metric name of freeboard: bank level minus water level, metres. Unlike
/// levels in m MSL (which mostly measure a station's altitude) it compares
/// across provinces: its minimum in a window is how close the river came to
/// overtopping, and below zero it overflowed.
pub const METRIC_WATER_FREEBOARD: &str = "water_freeboard_m";

/// The aggregate of one metric over one area and one event-time window
/// `[window_start_ms, window_end_ms)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowAggregate {
    pub metric: MetricId,
    pub area_level: AreaLevel,
    pub area_code: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// Reports for flows; entities (stations, dams, incidents) for the
    /// kinds that keep each entity's latest report.
    pub count: u64,
    /// Of the values times their weights (see `weight`).
    pub sum: f64,
    /// Total capacity or allocation for shares (dam storage, budget
    /// disbursed); 1 per report or entity otherwise.
    pub weight: f64,
    pub min: f64,
    pub max: f64,
    /// Value of the event with the greatest event time (ties: greatest event id).
    pub last: f64,
    pub last_event_time_ms: i64,
    /// Median and 95th percentile, for metrics with a distribution.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// False while the window is open: a running value, shown as provisional.
    pub is_final: bool,
}

impl WindowAggregate {
    /// The mean, weighted for shares (total stored over total capacity);
    /// `None` when nothing has weight, never NaN.
    pub fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}
