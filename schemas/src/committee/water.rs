//! Water & climate committee: HII telemetry, RID reservoirs, TMD weather.
//!
//! Ranges are physical plausibility bounds for Thailand, wide enough for
//! record floods and droughts; they exist to catch unit mistakes (mm sent as
//! m, cm as m) before they reach a national average.

use std::ops::RangeInclusive;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MAX_ID_LEN, check_id, check_opt_range, check_range};
use crate::RejectReason;

/// Levels from below sea level (tidal stations) to the highest stations.
pub const LEVEL_RANGE_M: RangeInclusive<f64> = -20.0..=2600.0;
/// Percent of bank-full: negative when the water is below the ground
/// reference, above 100 in a flood.
pub const PCT_BANK_FULL_RANGE: RangeInclusive<f64> = -100.0..=1000.0;
/// Largest discharge accepted, m³/s; the Chao Phraya peaked near 5,000 in 2011.
pub const MAX_DISCHARGE_M3S: f64 = 100_000.0;
/// Rainfall bound, mm, for both the 1 h and the 24 h totals.
pub const MAX_RAIN_MM: f64 = 1000.0;
/// Reservoirs may be filled above nominal capacity during floods.
pub const PCT_CAPACITY_RANGE: RangeInclusive<f64> = 0.0..=150.0;
/// Largest reservoir quantity accepted, million m³ (Bhumibol holds 13,462).
pub const MAX_RESERVOIR_MCM: f64 = 100_000.0;

/// One reading of a water-level station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WaterLevel {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub station_id: String,
    /// Water level, metres above mean sea level.
    #[schemars(range(min = -20.0, max = 2600.0))]
    pub level_m_msl: f64,
    /// Bank (overflow) level at the station, metres above mean sea level.
    #[schemars(range(min = -20.0, max = 2600.0))]
    pub bank_level_m_msl: f64,
    /// River-bed or gauge-zero level, metres above mean sea level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -20.0, max = 2600.0))]
    pub ground_level_m_msl: Option<f64>,
    /// Discharge, m³/s, where the station is rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = MAX_DISCHARGE_M3S))]
    pub discharge_m3s: Option<f64>,
    /// Water level as a percentage of bank-full, as HII computes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -100.0, max = 1000.0))]
    pub pct_bank_full: Option<f64>,
}

impl WaterLevel {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("station_id", &self.station_id)?;
        check_range("level_m_msl", self.level_m_msl, LEVEL_RANGE_M, "m")?;
        check_range(
            "bank_level_m_msl",
            self.bank_level_m_msl,
            LEVEL_RANGE_M,
            "m",
        )?;
        check_opt_range(
            "ground_level_m_msl",
            self.ground_level_m_msl,
            LEVEL_RANGE_M,
            "m",
        )?;
        check_opt_range(
            "discharge_m3s",
            self.discharge_m3s,
            0.0..=MAX_DISCHARGE_M3S,
            "m³/s",
        )?;
        check_opt_range(
            "pct_bank_full",
            self.pct_bank_full,
            PCT_BANK_FULL_RANGE,
            "%",
        )
    }
}

/// Rain totals of one rain gauge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rainfall {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub station_id: String,
    /// Rain in the hour ending at the event time, mm.
    #[schemars(range(min = 0.0, max = MAX_RAIN_MM))]
    pub rain_1h_mm: f64,
    /// Rain in the 24 hours ending at the event time, mm.
    #[schemars(range(min = 0.0, max = MAX_RAIN_MM))]
    pub rain_24h_mm: f64,
}

impl Rainfall {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("station_id", &self.station_id)?;
        check_range("rain_1h_mm", self.rain_1h_mm, 0.0..=MAX_RAIN_MM, "mm")?;
        check_range("rain_24h_mm", self.rain_24h_mm, 0.0..=MAX_RAIN_MM, "mm")
    }
}

/// Daily storage report of one large reservoir (RID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DamStorage {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub dam_id: String,
    /// Water held, million m³.
    #[schemars(range(min = 0.0, max = MAX_RESERVOIR_MCM))]
    pub storage_mcm: f64,
    /// Storage as a percentage of nominal capacity.
    #[schemars(range(min = 0.0, max = 150.0))]
    pub pct_capacity: f64,
    /// Inflow during the day, million m³.
    #[schemars(range(min = 0.0, max = MAX_RESERVOIR_MCM))]
    pub inflow_mcm: f64,
    /// Release during the day, million m³.
    #[schemars(range(min = 0.0, max = MAX_RESERVOIR_MCM))]
    pub release_mcm: f64,
}

impl DamStorage {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("dam_id", &self.dam_id)?;
        let quantity = 0.0..=MAX_RESERVOIR_MCM;
        check_range("storage_mcm", self.storage_mcm, quantity.clone(), "Mm³")?;
        check_range("pct_capacity", self.pct_capacity, PCT_CAPACITY_RANGE, "%")?;
        check_range("inflow_mcm", self.inflow_mcm, quantity.clone(), "Mm³")?;
        check_range("release_mcm", self.release_mcm, quantity, "Mm³")
    }
}

/// Surface observation of one TMD weather station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Weather {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub station_id: String,
    /// Air temperature, °C (Doi Inthanon frost to record heat).
    #[schemars(range(min = -10.0, max = 50.0))]
    pub temperature_c: f64,
    /// Relative humidity, %.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub humidity_pct: f64,
    /// Mean wind speed, m/s.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub wind_ms: f64,
    /// Station pressure, hPa.
    #[schemars(range(min = 850.0, max = 1100.0))]
    pub pressure_hpa: f64,
}

impl Weather {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("station_id", &self.station_id)?;
        check_range("temperature_c", self.temperature_c, -10.0..=50.0, "°C")?;
        check_range("humidity_pct", self.humidity_pct, 0.0..=100.0, "%")?;
        check_range("wind_ms", self.wind_ms, 0.0..=100.0, "m/s")?;
        check_range("pressure_hpa", self.pressure_hpa, 850.0..=1100.0, "hPa")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_mistakes_are_caught() {
        let mut r = Rainfall {
            station_id: "CPY011".to_owned(),
            rain_1h_mm: 12.0,
            rain_24h_mm: 80.0,
        };
        assert_eq!(r.validate(), Ok(()));
        r.rain_24h_mm = 80_000.0; // sent in micrometres
        assert_eq!(r.validate().unwrap_err().kind, "out_of_range");

        let mut w = Weather {
            station_id: "48327".to_owned(),
            temperature_c: 31.2,
            humidity_pct: 70.0,
            wind_ms: 3.0,
            pressure_hpa: 1008.0,
        };
        assert_eq!(w.validate(), Ok(()));
        w.pressure_hpa = 100.8; // kPa
        assert_eq!(w.validate().unwrap_err().kind, "out_of_range");

        let mut l = WaterLevel {
            station_id: "C.2".to_owned(),
            level_m_msl: 23.1,
            bank_level_m_msl: 26.2,
            ground_level_m_msl: None,
            discharge_m3s: Some(-1.0),
            pct_bank_full: None,
        };
        assert_eq!(l.validate().unwrap_err().kind, "negative_value");
        l.discharge_m3s = None;
        l.pct_bank_full = Some(f64::NAN);
        assert_eq!(l.validate().unwrap_err().kind, "non_finite_value");
    }
}
