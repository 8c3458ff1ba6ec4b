//! HII's ThaiWater public API, water levels (`waterlevel_load` and the
//! `/public/waterlevel` endpoints): a JSON snapshot with one element per
//! telemetry station, mapped to `hii.water_level` envelopes.
//!
//! The document is `{"data": [...]}` or, from `waterlevel_load`,
//! `{"waterlevel_data": {"data": [...]}}`; each element carries the reading
//! (`waterlevel_datetime` in Thai local time, `waterlevel_msl`, `discharge`,
//! `storage_percent`), the `station` (code, position, bank levels) and its
//! `geocode` (DOPA province and amphoe codes). Numbers arrive as numbers or
//! as strings, and absent readings as `null`, `""` or `"-"`.

use pmoc_schemas::{
    RejectKind, RejectReason,
    area::ProvinceCode,
    committee::water::WaterLevel,
    district::DistrictCode,
    envelope::{Area, Envelope, GeoPoint, Payload},
};
use serde::Deserialize;
use serde_json::{Value, value::RawValue};

use super::fields::{
    THAI_OFFSET, event_id, id_stamp, json_number, json_text, local_time, required,
};

pub const SOURCE_AGENCY: &str = "HII";
pub const SOURCE_SYSTEM: &str = "thaiwater";

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow, default)]
    data: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    waterlevel_data: Option<Inner<'a>>,
}

#[derive(Deserialize)]
struct Inner<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

/// The station elements of a document, as raw JSON text.
pub fn records(doc: &[u8]) -> Result<Vec<&RawValue>, serde_json::Error> {
    let doc: Document<'_> = serde_json::from_slice(doc)?;
    match (doc.data, doc.waterlevel_data) {
        (Some(data), _) | (None, Some(Inner { data })) => Ok(data),
        (None, None) => Err(serde::de::Error::custom(
            "neither data nor waterlevel_data.data is present",
        )),
    }
}

/// Maps one station element to a validated `hii.water_level` envelope.
///
/// The station id is the HII station code (`tele_station_oldcode`, e.g.
/// `CPY013`), falling back to the numeric station id; the bank level is
/// `min_bank`, or the lower of the two banks, where water overflows first.
pub fn map_record(raw: &str, now_ms: i64) -> Result<Envelope, RejectReason> {
    let record: Value = serde_json::from_str(raw)
        .map_err(|e| RejectReason::new(RejectKind::InvalidJson, e.to_string()))?;
    if !record.is_object() {
        return Err(RejectReason::new(
            RejectKind::InvalidRecord,
            "a water-level record must be a JSON object",
        ));
    }
    let station = &record["station"];
    let station_id = json_text(station.get("tele_station_oldcode"))
        .or_else(|| json_text(station.get("id")))
        .ok_or_else(|| {
            RejectReason::new(RejectKind::MissingStation, "station has no code and no id")
        })?;

    let when = json_text(record.get("waterlevel_datetime")).ok_or_else(|| {
        RejectReason::new(RejectKind::MissingTime, "waterlevel_datetime is missing")
    })?;
    let event_time = thaiwater_time(&when)?;

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

    let envelope = Envelope::new(
        event_id(&["hii", "wl", &station_id, &id_stamp(event_time)])?,
        SOURCE_AGENCY,
        SOURCE_SYSTEM,
        event_time,
        area(&record["geocode"])?,
        point(station)?,
        Payload::WaterLevel(payload),
    );
    envelope.validate(now_ms)?;
    Ok(envelope)
}

/// `YYYY-MM-DD HH:MM[:SS]` in Thai local time, or RFC 3339 with an offset.
fn thaiwater_time(text: &str) -> Result<time::OffsetDateTime, RejectReason> {
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(t.to_offset(THAI_OFFSET));
    }
    let (date, time) = text.split_once([' ', 'T']).ok_or_else(|| {
        RejectReason::new(
            RejectKind::InvalidTime,
            format!("waterlevel_datetime {text:?} has no time of day"),
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
