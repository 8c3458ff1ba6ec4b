//! Payloads between the dashboard server and the browser.

use serde::{Deserialize, Serialize};

/// The newest closed window of one province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvinceLatest {
    pub province_code: String,
    pub name_th: String,
    pub name_en: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub last: f64,
    /// Least freeboard (bank minus level, m) in the newest closed window;
    /// below zero the river overtopped its bank.
    pub min_freeboard_m: Option<f64>,
    /// When the pipeline computed this row (wall clock), for "how old is it".
    pub computed_at_ms: i64,
}

/// What the water panel shows: one row per province that has data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WaterSnapshot {
    pub metric: String,
    pub source: String,
    pub window_seconds: u32,
    pub provinces: Vec<ProvinceLatest>,
    /// End of the newest window the pipeline has closed, over all provinces.
    pub newest_closed_window_end_ms: Option<i64>,
    /// When the server read this from ClickHouse.
    pub generated_at_ms: i64,
}
