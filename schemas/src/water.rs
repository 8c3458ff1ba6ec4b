//! Water & climate committee (HII) events.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    RejectReason,
    area::ProvinceCode,
    event::{EventId, unix_ms, validate_event_time},
};

/// Versioned schema name carried in every water-level message.
pub const WATER_LEVEL_SCHEMA: &str = "hii.water_level.v1";

/// One telemetry reading from a water-level station.
///
/// Unknown fields are ignored on purpose: agencies add fields without notice
/// and that must not stop the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaterLevelReading {
    pub event_id: EventId,
    /// Measurement time as stamped by the station, with its UTC offset.
    #[serde(with = "time::serde::rfc3339")]
    pub event_time: OffsetDateTime,
    pub station_id: String,
    pub province_code: ProvinceCode,
    /// Water level, metres above mean sea level.
    pub level_m_msl: f64,
    /// Bank (overflow) level at the station, metres above mean sea level.
    pub bank_level_m_msl: f64,
}

/// Plausible range of levels in Thailand (sea level to the highest stations).
const LEVEL_RANGE_M: std::ops::RangeInclusive<f64> = -20.0..=2600.0;

impl WaterLevelReading {
    /// Decodes and validates one message; the error says why for the integrator.
    pub fn decode(bytes: &[u8], now_ms: i64) -> Result<Self, RejectReason> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| RejectReason::new("invalid_utf8", e.to_string()))?;
        let reading: Self = serde_json::from_str(text).map_err(|e| {
            // serde_json's message already names the field and position.
            let kind = if e.is_syntax() || e.is_eof() {
                "malformed_json"
            } else {
                "invalid_field"
            };
            RejectReason::new(kind, e.to_string())
        })?;
        reading.validate(now_ms)?;
        Ok(reading)
    }

    /// Checks the semantic rules serde cannot express.
    pub fn validate(&self, now_ms: i64) -> Result<(), RejectReason> {
        validate_event_time(self.event_time, now_ms)?;
        if self.station_id.trim().is_empty() {
            return Err(RejectReason::new("missing_station", "station_id is empty"));
        }
        for (name, v) in [
            ("level_m_msl", self.level_m_msl),
            ("bank_level_m_msl", self.bank_level_m_msl),
        ] {
            if !v.is_finite() || !LEVEL_RANGE_M.contains(&v) {
                return Err(RejectReason::new(
                    "out_of_range",
                    format!("{name} = {v} is outside -20..2600 m MSL"),
                ));
            }
        }
        Ok(())
    }

    pub fn event_time_ms(&self) -> i64 {
        unix_ms(self.event_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_100_000_000;

    fn sample() -> String {
        r#"{"event_id":"e1","event_time":"2026-09-22T10:00:05+07:00","station_id":"TC01",
            "province_code":"34","level_m_msl":112.4,"bank_level_m_msl":115.0,"extra":1}"#
            .to_owned()
    }

    #[test]
    fn round_trips_and_ignores_unknown_fields() {
        let r = WaterLevelReading::decode(sample().as_bytes(), NOW).expect("valid");
        assert_eq!(r.event_time_ms(), 1_790_046_005_000);
        let back = serde_json::to_string(&r).expect("serialize");
        assert_eq!(WaterLevelReading::decode(back.as_bytes(), NOW), Ok(r));
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            (sample().replace("\"34\"", "\"99\""), "invalid_field"),
            (sample().replace("112.4", "\"high\""), "invalid_field"),
            (sample().replace("112.4", "9999"), "out_of_range"),
            (
                sample().replace("2026-09-22", "1999-09-22"),
                "event_time_too_old",
            ),
            (
                sample().replace("2026-09-22", "2027-09-22"),
                "event_time_in_future",
            ),
            (sample()[..40].to_owned(), "malformed_json"),
        ];
        for (input, kind) in cases {
            let err = WaterLevelReading::decode(input.as_bytes(), NOW).unwrap_err();
            assert_eq!(err.kind, kind, "{input}: {err}");
        }
        let err = WaterLevelReading::decode(&[0xff, 0xfe], NOW).unwrap_err();
        assert_eq!(err.kind, "invalid_utf8");
    }
}
