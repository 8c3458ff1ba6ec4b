//! HII's ThaiWater public API: water levels (`waterlevel_load`, the
//! `/public/waterlevel` endpoints) and rain (`rain_24h`), alone or together
//! in the `thailand_main` snapshot, mapped to `hii.water_level` and
//! `hii.rainfall` envelopes.
//!
//! The shapes the API really answers: `{"data": [...]}`;
//! `{"waterlevel_data": {"data": [...]}}` (`waterlevel_load`); and
//! `thailand_main`'s `{"waterlevel": {"data": {"data": [...]}}, "rain":
//! {"data": {"data": [...]}}, ...}`, where `data` is an object wrapping the
//! list (and, in some answers, an object of elements keyed by id). Every
//! other part of `thailand_main` (dams, radar, forecasts) is ignored.
//!
//! A water-level element carries the reading (`waterlevel_datetime` in Thai
//! local time, `waterlevel_msl`, `discharge`, `storage_percent`), a rain
//! element `rainfall_datetime`, `rain_1h` and `rain_24h`; both carry the
//! `station` (code, position, bank levels) and its `geocode` (DOPA province
//! and amphoe codes). Numbers arrive as numbers or as strings, and absent
//! readings as `null`, `""` or `"-"`.

use std::collections::BTreeMap;

use pmoc_schemas::{
    RejectKind, RejectReason,
    area::ProvinceCode,
    committee::water::{Rainfall, WaterLevel},
    district::DistrictCode,
    envelope::{Area, Envelope, GeoPoint, Payload},
    error::quote,
};
use serde_json::{Value, value::RawValue};

use super::fields::{
    THAI_OFFSET, event_id, id_stamp, json_number, json_text, local_time, required,
};

pub const SOURCE_AGENCY: &str = "HII";
pub const SOURCE_SYSTEM: &str = "thaiwater";

/// What an element of a ThaiWater document reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WaterLevel,
    Rain,
}

/// Keys under which `thailand_main` and the single-subject endpoints put
/// each kind's elements.
const WATER_LEVEL_KEYS: &[&str] = &["waterlevel_data", "waterlevel"];
const RAIN_KEYS: &[&str] = &["rain_data", "rain", "rain_24h", "rain24h"];

/// The water-level and rain elements of a document, as raw JSON text, in
/// document order within each kind (water levels first).
pub fn records(doc: &[u8]) -> Result<Vec<(Kind, &RawValue)>, serde_json::Error> {
    let top: BTreeMap<String, &RawValue> = serde_json::from_slice(doc)?;
    let mut out = Vec::new();
    for (keys, kind) in [
        (WATER_LEVEL_KEYS, Kind::WaterLevel),
        (RAIN_KEYS, Kind::Rain),
    ] {
        for key in keys {
            if let Some(part) = top.get(*key) {
                out.extend(elements(part)?.into_iter().map(|e| (kind, e)));
            }
        }
    }
    if let Some(data) = top.get("data") {
        // A single-subject answer: each element says what it is.
        for e in elements(data)? {
            out.push((kind_of(e), e));
        }
    }
    if out.is_empty() && !top.keys().any(|k| k == "data" || is_part(k)) {
        return Err(serde::de::Error::custom(
            "no data, waterlevel_data, waterlevel or rain part",
        ));
    }
    Ok(out)
}

fn is_part(key: &str) -> bool {
    WATER_LEVEL_KEYS.contains(&key) || RAIN_KEYS.contains(&key)
}

/// The elements of a part: a list; an object wrapping one under `data`
/// (recursively); or an object of elements keyed by id.
fn elements(part: &RawValue) -> Result<Vec<&RawValue>, serde_json::Error> {
    let text = part.get().trim_start();
    if text.starts_with('[') {
        return serde_json::from_str(text);
    }
    if !text.starts_with('{') {
        // `null` or a status string where the list would be: no elements.
        return Ok(Vec::new());
    }
    let object: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
    match object.get("data") {
        Some(inner) => elements(inner),
        None => Ok(object
            .into_values()
            .filter(|v| v.get().trim_start().starts_with('{'))
            .collect()),
    }
}

/// A rain element has `rainfall_datetime` or a `rain_24h` reading; anything
/// else is read as a water level (and rejected as one if it is not).
fn kind_of(element: &RawValue) -> Kind {
    let text = element.get();
    if text.contains("\"rainfall_datetime\"") || text.contains("\"rain_24h\"") {
        Kind::Rain
    } else {
        Kind::WaterLevel
    }
}

/// Maps one element of `kind`.
pub fn map(kind: Kind, raw: &str, now_ms: i64) -> Result<Envelope, RejectReason> {
    match kind {
        Kind::WaterLevel => map_record(raw, now_ms),
        Kind::Rain => map_rain(raw, now_ms),
    }
}

/// The element as a JSON object, and its station's code: the HII station
/// code (`tele_station_oldcode`, e.g. `CPY013`), else the numeric id.
fn element(raw: &str, what: &str) -> Result<(Value, String), RejectReason> {
    let record: Value = serde_json::from_str(raw)
        .map_err(|e| RejectReason::new(RejectKind::InvalidJson, e.to_string()))?;
    if !record.is_object() {
        return Err(RejectReason::new(
            RejectKind::InvalidRecord,
            format!("a {what} record must be a JSON object"),
        ));
    }
    let station = &record["station"];
    let station_id = json_text(station.get("tele_station_oldcode"))
        .or_else(|| json_text(station.get("id")))
        .ok_or_else(|| {
            RejectReason::new(RejectKind::MissingStation, "station has no code and no id")
        })?;
    Ok((record, station_id))
}

/// Maps one rain element to a validated `hii.rainfall` envelope: the rain
/// of the hour and of the 24 hours ending at `rainfall_datetime`.
pub fn map_rain(raw: &str, now_ms: i64) -> Result<Envelope, RejectReason> {
    let (record, station_id) = element(raw, "rain")?;
    let when = json_text(record.get("rainfall_datetime")).ok_or_else(|| {
        RejectReason::new(RejectKind::MissingTime, "rainfall_datetime is missing")
    })?;
    let event_time = thaiwater_time("rainfall_datetime", &when)?;
    let reading = |names: &[&str]| -> Result<Option<f64>, RejectReason> {
        for name in names {
            if let Some(v) = json_number(name, record.get(*name))? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let payload = Rainfall {
        station_id: station_id.clone(),
        rain_1h_mm: required("rain_1h", reading(&["rain_1h", "rainfall1h"])?)?,
        rain_24h_mm: required("rain_24h", reading(&["rain_24h", "rainfall24h"])?)?,
    };
    station_envelope(
        &record,
        "rf",
        &station_id,
        event_time,
        Payload::Rainfall(payload),
        now_ms,
    )
}

/// Maps one station element to a validated `hii.water_level` envelope.
///
/// The bank level is `min_bank`, or the lower of the two banks, where water
/// overflows first.
pub fn map_record(raw: &str, now_ms: i64) -> Result<Envelope, RejectReason> {
    let (record, station_id) = element(raw, "water-level")?;
    let station = &record["station"];
    let when = json_text(record.get("waterlevel_datetime")).ok_or_else(|| {
        RejectReason::new(RejectKind::MissingTime, "waterlevel_datetime is missing")
    })?;
    let event_time = thaiwater_time("waterlevel_datetime", &when)?;

    let level = required(
        "waterlevel_msl",
        json_number("waterlevel_msl", record.get("waterlevel_msl"))?,
    )?;
    let bank = match json_number("station.min_bank", station.get("min_bank"))? {
        Some(b) => Some(b),
        None => {
            let left = json_number("station.left_bank", station.get("left_bank"))?;
            let right = json_number("station.right_bank", station.get("right_bank"))?;
            match (left, right) {
                (Some(l), Some(r)) => Some(l.min(r)),
                (one, other) => one.or(other),
            }
        }
    };
    let bank = bank.ok_or_else(|| {
        RejectReason::new(
            RejectKind::MissingBankLevel,
            "station has no min_bank, left_bank or right_bank",
        )
    })?;
    let pct = match record.get("storage_percent") {
        Some(v) if !v.is_null() => json_number("storage_percent", Some(v))?,
        _ => json_number("pct", record.get("pct"))?,
    };
    let payload = WaterLevel {
        station_id: station_id.clone(),
        level_m_msl: level,
        bank_level_m_msl: bank,
        ground_level_m_msl: json_number("station.ground_level", station.get("ground_level"))?,
        discharge_m3s: json_number("discharge", record.get("discharge"))?,
        pct_bank_full: pct,
    };
    station_envelope(
        &record,
        "wl",
        &station_id,
        event_time,
        Payload::WaterLevel(payload),
        now_ms,
    )
}

/// The validated envelope of one station element's reading: its id from
/// the station, the feed (`kind`) and the time; its place from the
/// element's geocode and station coordinates.
fn station_envelope(
    record: &Value,
    kind: &str,
    station_id: &str,
    event_time: time::OffsetDateTime,
    payload: Payload,
    now_ms: i64,
) -> Result<Envelope, RejectReason> {
    let envelope = Envelope::new(
        event_id(&["hii", kind, station_id, &id_stamp(event_time)])?,
        SOURCE_AGENCY,
        SOURCE_SYSTEM,
        event_time,
        area(&record["geocode"])?,
        point(&record["station"])?,
        payload,
    );
    envelope.validate(now_ms)?;
    Ok(envelope)
}

/// `YYYY-MM-DD HH:MM[:SS]` in Thai local time, or RFC 3339 with an offset.
fn thaiwater_time(field: &str, text: &str) -> Result<time::OffsetDateTime, RejectReason> {
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(t.to_offset(THAI_OFFSET));
    }
    let (date, time) = text.split_once([' ', 'T']).ok_or_else(|| {
        RejectReason::new(
            RejectKind::InvalidTime,
            format!("{field} {} has no time of day", quote(text)),
        )
    })?;
    local_time(date, time)
}

/// Province and district from the DOPA codes of `geocode`. HII writes the
/// amphoe code either as its two digits inside the province or as all four.
fn area(geocode: &Value) -> Result<Area, RejectReason> {
    let code = json_text(geocode.get("province_code")).ok_or_else(|| {
        RejectReason::new(
            RejectKind::UnknownProvince,
            "geocode.province_code is missing",
        )
    })?;
    let province = ProvinceCode::parse(&code)?;
    let district = match json_text(geocode.get("amphoe_code")) {
        None => None,
        Some(a) if a.len() == 4 => Some(DistrictCode::parse_in(&a, &province)?),
        Some(a) => Some(DistrictCode::parse_in(
            &format!("{}{a:0>2}", province.as_str()),
            &province,
        )?),
    };
    Area::new(province, district)
}

fn point(station: &Value) -> Result<Option<GeoPoint>, RejectReason> {
    let lat = json_number("station.tele_station_lat", station.get("tele_station_lat"))?;
    let lon = json_number(
        "station.tele_station_long",
        station.get("tele_station_long"),
    )?;
    match (lat, lon) {
        (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).map(Some),
        _ => Ok(None),
    }
}
