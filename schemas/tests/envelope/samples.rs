//! One valid message per schema, built from the Rust types so the tests
//! follow the types when they change.

use std::sync::LazyLock;

use pmoc_schemas::{
    RejectReason,
    area::ProvinceCode,
    committee::{population::*, resources::*, security::*, water::*},
    district::DistrictCode,
    envelope::{Area, Envelope, GeoPoint, Payload},
    event::EventId,
    source::Sources,
};
use serde_json::Value;
use time::macros::{date, datetime};

/// The receiver's clock in every test: 2026-09-22T03:10:00Z.
pub const NOW: i64 = 1_790_046_600_000;
/// Bound passed to `decode` unless a test is about size.
pub const MAX: usize = 64 * 1024;

/// Every payload type once, with values a real feed would send.
pub fn payloads() -> Vec<Payload> {
    vec![
        Payload::CivilRegistration(CivilRegistrationCounts {
            office_id: "5001".to_owned(),
            hour_start: datetime!(2026-09-22 09:00 +07:00),
            births: 4,
            deaths: 3,
            move_in: 17,
            move_out: 12,
            id_cards_issued: 58,
        }),
        Payload::PublicService(PublicServiceTransaction {
            office_id: "5001".to_owned(),
            service: "id_card_renewal".to_owned(),
            channel: ServiceChannel::Counter,
            wait_minutes: 18.5,
            outcome: ServiceOutcome::Completed,
        }),
        Payload::Incident(Incident {
            incident_id: "NSC-2569-000123".to_owned(),
            category: IncidentCategory::Drugs,
            severity: 2,
            status: IncidentStatus::Responding,
            classification: Classification::Restricted,
        }),
        Payload::WaterLevel(WaterLevel {
            station_id: "P.1".to_owned(),
            level_m_msl: 300.25,
            bank_level_m_msl: 303.5,
            ground_level_m_msl: Some(297.0),
            discharge_m3s: Some(412.0),
            pct_bank_full: Some(50.0),
        }),
        Payload::Rainfall(Rainfall {
            station_id: "CPY011".to_owned(),
            rain_1h_mm: 12.5,
            rain_24h_mm: 80.0,
        }),
        Payload::DamStorage(DamStorage {
            dam_id: "bhumibol".to_owned(),
            storage_mcm: 9_500.0,
            pct_capacity: 70.5,
            inflow_mcm: 35.25,
            release_mcm: 20.0,
        }),
        Payload::Weather(Weather {
            station_id: "48327".to_owned(),
            temperature_c: 31.5,
            humidity_pct: 72.0,
            wind_ms: 2.5,
            pressure_hpa: 1007.75,
        }),
        Payload::AirQuality(AirQuality {
            station_id: "35t".to_owned(),
            pm25_ugm3: 41.0,
            aqi: Some(104),
        }),
        Payload::FireHotspot(FireHotspot {
            satellite: Satellite::Viirs,
            confidence: HotspotConfidence::Nominal,
            land_use: LandUse::Forest,
            frp_mw: Some(7.25),
        }),
        Payload::BudgetDisbursement(BudgetDisbursement {
            fiscal_year_be: 2569,
            ministry: "Ministry of Interior".to_owned(),
            budget_thb: 350_000_000_000.0,
            disbursed_thb: 301_250_000_000.5,
        }),
        Payload::ProcurementContract(ProcurementContract {
            contract_id: "690114000123".to_owned(),
            ministry: "Ministry of Transport".to_owned(),
            method: ProcurementMethod::EBidding,
            value_thb: 12_500_000.0,
            signed_date: date!(2026 - 09 - 01),
        }),
    ]
}

/// The source registry every test decodes against: the defaults.
pub static SOURCES: LazyLock<Sources> = LazyLock::new(Sources::default);

/// `decode` as the pipeline runs it, against the default registry.
pub fn decode(bytes: &[u8], now_ms: i64, max_bytes: usize) -> Result<Envelope, RejectReason> {
    pmoc_schemas::envelope::decode(bytes, now_ms, max_bytes, &SOURCES)
}

/// The agency that may send `schema` and its first system.
pub fn source_of(schema: &str) -> (String, String) {
    SOURCES
        .iter()
        .find(|(_, s)| s.schemas.contains_key(schema))
        .map(|(agency, s)| (agency.to_owned(), s.systems[0].clone()))
        .unwrap_or_else(|| panic!("no source sends {schema}"))
}

/// A valid envelope around `payload`, in Mueang Chiang Mai, from the agency
/// that publishes its schema.
pub fn envelope(payload: Payload) -> Envelope {
    let id = payload.schema_id();
    let province = ProvinceCode::parse("50").unwrap();
    let district = DistrictCode::parse("5001").unwrap();
    let (agency, system) = source_of(id.name);
    Envelope::new(
        EventId::parse(&format!("{}-0001", id.name)).unwrap(),
        &agency,
        &system,
        datetime!(2026-09-22 10:00:05 +07:00),
        Area::new(province, Some(district)).unwrap(),
        Some(GeoPoint::new(18.79, 98.98).unwrap()),
        payload,
    )
}

/// Every sample envelope.
pub fn envelopes() -> Vec<Envelope> {
    payloads().into_iter().map(envelope).collect()
}

/// The sample of the schema named `name`, as a JSON value to mutate.
pub fn message(name: &str) -> Value {
    let env = envelopes()
        .into_iter()
        .find(|e| e.schema == name)
        .unwrap_or_else(|| panic!("no sample for {name}"));
    serde_json::to_value(&env).unwrap()
}
