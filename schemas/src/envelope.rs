//! The versioned envelope every committee message travels in.
//!
//! The header (who, when, where, which schema) is the same for every agency,
//! so routing, deduplication, lateness and area roll-ups work without knowing
//! the payload; the payload is decoded only once `schema` and
//! `schema_version` say what it is. On the wire:
//!
//! ```json
//! {"schema":"hii.rainfall","schema_version":1,"event_id":"hii-CPY011-202609221000",
//!  "source_agency":"HII","source_system":"thaiwater","committee":"water",
//!  "event_time":"2026-09-22T10:00:00+07:00","area":{"province":"50","district":"5001"},
//!  "point":{"lat":18.79,"lon":98.98},
//!  "payload":{"station_id":"CPY011","rain_1h_mm":12.5,"rain_24h_mm":80.0}}
//! ```
//!
//! Unknown fields are ignored at every level: agencies add fields without
//! notice and that must not stop the stream.

mod decode;
mod strict;

pub use decode::decode;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    RejectKind, RejectReason,
    area::ProvinceCode,
    committee::{
        self, Committee, SchemaId, check_id,
        population::{CivilRegistrationCounts, PublicServiceTransaction},
        resources::{AirQuality, BudgetDisbursement, FireHotspot, ProcurementContract},
        security::Incident,
        water::{DamStorage, Rainfall, WaterLevel, Weather},
    },
    district::DistrictCode,
    event::{EventId, MAX_EVENT_ID_LEN, unix_ms, validate_event_time},
};

/// Default largest message `decode` callers should accept, bytes. Real
/// messages are under 2 KB; the bound keeps a hostile producer from making
/// the pipeline parse megabytes per record.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// One decoded, validated committee message.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(title = "PMOC envelope")]
pub struct Envelope {
    /// Payload schema name, `agency.subject` (e.g. `hii.rainfall`).
    pub schema: String,
    /// Version of that payload schema; a new version is a new decoder.
    pub schema_version: u16,
    /// Publisher-assigned unique id, the deduplication key on replay.
    #[schemars(with = "String", length(min = 1, max = MAX_EVENT_ID_LEN))]
    pub event_id: EventId,
    /// Agency accountable for the data, e.g. `HII`, `DOPA`.
    #[schemars(length(min = 1, max = committee::MAX_ID_LEN))]
    pub source_agency: String,
    /// The agency system that produced the message, for tracing bad data back.
    #[schemars(length(min = 1, max = committee::MAX_ID_LEN))]
    pub source_system: String,
    /// Committee that owns the schema; must match it.
    pub committee: Committee,
    /// When the event happened, RFC 3339 with the source's UTC offset.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::json_schema::date_time")]
    pub event_time: OffsetDateTime,
    pub area: Area,
    /// Exact location, when the source knows it (required for hotspots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<GeoPoint>,
    /// The committee-specific data, shaped by `schema` and `schema_version`.
    #[schemars(schema_with = "crate::json_schema::any_payload")]
    pub payload: Payload,
}

/// The administrative area an event belongs to: always a province, a
/// district when the source knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
pub struct Area {
    /// Two-digit DOPA province code, e.g. `"50"` (Chiang Mai).
    #[schemars(with = "String", regex(pattern = r"^[0-9]{2}$"))]
    pub province: ProvinceCode,
    /// Four-digit DOPA district code inside `province`, e.g. `"5001"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>", regex(pattern = r"^[0-9]{4}$"))]
    pub district: Option<DistrictCode>,
}

impl Area {
    /// An area whose district, if any, lies in its province.
    pub fn new(
        province: ProvinceCode,
        district: Option<DistrictCode>,
    ) -> Result<Self, RejectReason> {
        if let Some(d) = &district {
            d.check_in(&province)?;
        }
        Ok(Self { province, district })
    }
}

/// Thailand's bounding box, degrees (WGS 84), with a small margin: a point
/// outside it is almost always swapped or truncated coordinates.
pub const LAT_RANGE: std::ops::RangeInclusive<f64> = 5.5..=20.5;
/// See [`LAT_RANGE`].
pub const LON_RANGE: std::ops::RangeInclusive<f64> = 97.3..=105.7;

/// A WGS 84 position inside Thailand's bounding box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct GeoPoint {
    /// Latitude, degrees north.
    #[schemars(range(min = 5.5, max = 20.5))]
    pub lat: f64,
    /// Longitude, degrees east.
    #[schemars(range(min = 97.3, max = 105.7))]
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, RejectReason> {
        let p = Self { lat, lon };
        p.validate()?;
        Ok(p)
    }

    /// The bounding-box check; a box, not the border polygon, because the
    /// point's area is given separately and checked against the reference.
    pub fn validate(&self) -> Result<(), RejectReason> {
        if LAT_RANGE.contains(&self.lat) && LON_RANGE.contains(&self.lon) {
            Ok(())
        } else {
            Err(RejectReason::new(
                RejectKind::PointOutsideThailand,
                format!(
                    "point ({}, {}) is outside lat 5.5..20.5 N, lon 97.3..105.7 E \
                     (swapped lat/lon?)",
                    self.lat, self.lon
                ),
            ))
        }
    }
}

/// Declares the payload types once: the enum, its schema ids, validation,
/// decoding and JSON Schema generation all come from this list, so adding a
/// schema cannot forget one of them.
macro_rules! payloads {
    ($($variant:ident($ty:ty) = $id:path,)*) => {
        /// A committee payload; which variant is decided by the envelope's
        /// `schema` and `schema_version`, so the JSON carries no tag of its own.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Payload {
            $($variant($ty),)*
        }

        impl Payload {
            /// The schema this payload is written in.
            pub fn schema_id(&self) -> SchemaId {
                match self {
                    $(Self::$variant(_) => $id,)*
                }
            }

            /// Checks the payload's own rules.
            pub fn validate(&self) -> Result<(), RejectReason> {
                match self {
                    $(Self::$variant(p) => p.validate(),)*
                }
            }

            /// Decodes `raw` as the payload of schema `id`.
            fn decode_as(id: SchemaId, raw: &str) -> Result<Self, RejectReason> {
                $(
                    if id == $id {
                        return decode::payload_field::<$ty>(raw).map(Self::$variant);
                    }
                )*
                Err(RejectReason::new(
                    RejectKind::UnknownSchema,
                    format!("no decoder for schema {} v{}", id.name, id.version),
                ))
            }
        }

        /// Each schema with the generator of its payload's JSON Schema.
        pub(crate) const PAYLOAD_JSON_SCHEMAS: &[(SchemaId, fn(&mut SchemaGenerator) -> Schema)] = &[
            $(($id, SchemaGenerator::subschema_for::<$ty>),)*
        ];
    };
}

payloads! {
    CivilRegistration(CivilRegistrationCounts) = committee::CIVIL_REGISTRATION,
    PublicService(PublicServiceTransaction) = committee::PUBLIC_SERVICE,
    Incident(Incident) = committee::INCIDENT,
    WaterLevel(WaterLevel) = committee::WATER_LEVEL,
    Rainfall(Rainfall) = committee::RAINFALL,
    DamStorage(DamStorage) = committee::DAM_STORAGE,
    Weather(Weather) = committee::WEATHER,
    AirQuality(AirQuality) = committee::AIR_QUALITY,
    FireHotspot(FireHotspot) = committee::FIRE_HOTSPOT,
    BudgetDisbursement(BudgetDisbursement) = committee::BUDGET_DISBURSEMENT,
    ProcurementContract(ProcurementContract) = committee::PROCUREMENT_CONTRACT,
}

impl Envelope {
    /// Builds an envelope whose `schema`, `schema_version` and `committee`
    /// are taken from the payload, so a producer cannot get them wrong.
    pub fn new(
        event_id: EventId,
        source_agency: &str,
        source_system: &str,
        event_time: OffsetDateTime,
        area: Area,
        point: Option<GeoPoint>,
        payload: Payload,
    ) -> Self {
        let id = payload.schema_id();
        Self {
            schema: id.name.to_owned(),
            schema_version: id.version,
            event_id,
            source_agency: source_agency.to_owned(),
            source_system: source_system.to_owned(),
            committee: id.committee,
            event_time,
            area,
            point,
            payload,
        }
    }

    /// Every rule the decoder applies after parsing, callable by producers
    /// before they publish, with the receiver's clock `now_ms`.
    pub fn validate(&self, now_ms: i64) -> Result<(), RejectReason> {
        let id = self.payload.schema_id();
        if (self.schema.as_str(), self.schema_version) != (id.name, id.version) {
            return Err(RejectReason::new(
                RejectKind::SchemaMismatch,
                format!(
                    "envelope says {} v{} but the payload is {} v{}",
                    self.schema, self.schema_version, id.name, id.version
                ),
            ));
        }
        if self.committee != id.committee {
            return Err(RejectReason::new(
                RejectKind::CommitteeMismatch,
                format!(
                    "schema {} belongs to committee {}, not {}",
                    id.name, id.committee, self.committee
                ),
            ));
        }
        check_id("source_agency", &self.source_agency)?;
        check_id("source_system", &self.source_system)?;
        validate_event_time(self.event_time, now_ms)?;
        if let Some(d) = &self.area.district {
            d.check_in(&self.area.province)?;
        }
        match &self.point {
            Some(p) => p.validate()?,
            None if id.requires_point => {
                return Err(RejectReason::new(
                    RejectKind::MissingPoint,
                    format!("schema {} requires a point", id.name),
                ));
            }
            None => {}
        }
        self.payload.validate()
    }

    /// Fails unless the message belongs to `committee`, the owner of the
    /// topic it was read from: a message on another committee's topic would
    /// be counted on the wrong dashboard and bypass that topic's ACLs.
    pub fn check_topic_committee(&self, committee: Committee) -> Result<(), RejectReason> {
        if self.committee == committee {
            Ok(())
        } else {
            Err(RejectReason::new(
                RejectKind::WrongCommitteeForTopic,
                format!(
                    "a {} message ({}) was published on a {} topic",
                    self.committee, self.schema, committee
                ),
            ))
        }
    }

    /// The schema this envelope's payload is written in.
    pub fn schema_id(&self) -> SchemaId {
        self.payload.schema_id()
    }

    /// Event time in the pipeline's unit, milliseconds since the Unix epoch.
    pub fn event_time_ms(&self) -> i64 {
        unix_ms(self.event_time)
    }

    /// The wire form; `decode` reads it back to an equal envelope.
    pub fn encode(&self) -> Result<Vec<u8>, RejectReason> {
        // Serialization fails only for times `rfc3339` cannot express
        // (years outside 0..=9999, offsets with seconds).
        serde_json::to_vec(self)
            .map_err(|e| RejectReason::new(RejectKind::Unencodable, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_schema_has_a_decoder_and_a_json_schema() {
        assert_eq!(PAYLOAD_JSON_SCHEMAS.len(), committee::SCHEMAS.len());
        for id in committee::SCHEMAS {
            assert!(PAYLOAD_JSON_SCHEMAS.iter().any(|(s, _)| *s == id), "{id:?}");
            let err = Payload::decode_as(id, "{}").unwrap_err();
            assert_ne!(err.kind, "unknown_schema", "{id:?}");
        }
    }

    #[test]
    fn points_outside_the_box_are_refused() {
        assert!(GeoPoint::new(13.75, 100.5).is_ok());
        for (lat, lon) in [(100.5, 13.75), (0.0, 0.0), (f64::NAN, 100.0), (21.0, 100.0)] {
            let err = GeoPoint::new(lat, lon).unwrap_err();
            assert_eq!(err.kind, "point_outside_thailand", "{lat} {lon}");
        }
    }
}
