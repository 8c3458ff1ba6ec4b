//! PCD's Air4Thai station feed (`getNewAQI_JSON.php`): a JSON snapshot with
//! one element per station and its latest hourly reading (`AQILast`),
//! mapped to `pcd.air_quality` envelopes.
//!
//! The feed has no province code: the province is read from the station's
//! address, `areaTH` (`"ต.ช้างเผือก อ.เมือง, เชียงใหม่"`) or `areaEN`
//! (`"Chang Phueak, Mueang, Chiang Mai"`), whose last part is the province
//! name. Every value is a string, and `"-1"`, `"-"` and `"N/A"` mean the
//! station had no reading; PM2.5 and AQI are never negative, so any negative
//! value is treated the same way.

use pmoc_schemas::{
    RejectKind, RejectReason,
    area::ProvinceCode,
    committee::resources::AirQuality,
    district::DistrictCode,
    envelope::{Area, Envelope, GeoPoint, Payload},
};
use serde::Deserialize;
use serde_json::{Value, value::RawValue};

use super::fields::{
    district_by_name, event_id, id_stamp, json_number, json_text, local_time, province_by_name,
    required,
};

pub const SOURCE_AGENCY: &str = "PCD";
pub const SOURCE_SYSTEM: &str = "air4thai";

#[derive(Deserialize)]
struct Stations<'a> {
    #[serde(borrow)]
    stations: Option<Vec<&'a RawValue>>,
}

/// The station elements of a document: `{"stations": [...]}`, a bare array,
/// or the single station `getNewAQI_JSON.php?stationID=...` returns.
pub fn records(doc: &[u8]) -> Result<Vec<&RawValue>, serde_json::Error> {
    let first = doc.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return serde_json::from_slice(doc);
    }
    match serde_json::from_slice::<Stations<'_>>(doc)?.stations {
        Some(stations) => Ok(stations),
        None => Ok(vec![serde_json::from_slice(doc)?]),
    }
}

/// Maps one station element to a validated `pcd.air_quality` envelope.
pub fn map_record(raw: &str, now_ms: i64) -> Result<Envelope, RejectReason> {
    let station: Value = serde_json::from_str(raw)
        .map_err(|e| RejectReason::new(RejectKind::InvalidJson, e.to_string()))?;
    if !station.is_object() {
        return Err(RejectReason::new(
            RejectKind::InvalidRecord,
            "a station must be a JSON object",
        ));
    }
    let station_id = json_text(station.get("stationID"))
        .ok_or_else(|| RejectReason::new(RejectKind::MissingStation, "stationID is missing"))?;
    let last = &station["AQILast"];
    let (Some(date), Some(time)) = (json_text(last.get("date")), json_text(last.get("time")))
    else {
        return Err(RejectReason::new(
            RejectKind::MissingTime,
            "AQILast.date or AQILast.time is missing",
        ));
    };
    let event_time = local_time(&date, &time)?;
    let pm25 = reading("AQILast.PM25.value", last["PM25"].get("value"))?;
    let aqi = reading("AQILast.AQI.aqi", last["AQI"].get("aqi"))?
        .map(|a| a.round().min(f64::from(u16::MAX)) as u16);
    let payload = AirQuality {
        station_id: station_id.clone(),
        pm25_ugm3: required("AQILast.PM25.value", pm25)?,
        aqi,
    };
    let envelope = Envelope::new(
        event_id(&["pcd", "aq", &station_id, &id_stamp(event_time)])?,
        SOURCE_AGENCY,
        SOURCE_SYSTEM,
        event_time,
        area(&station)?,
        point(&station)?,
        Payload::AirQuality(payload),
    );
    envelope.validate(now_ms)?;
    Ok(envelope)
}

/// A concentration or index; negative values are Air4Thai's "no reading".
fn reading(field: &str, value: Option<&Value>) -> Result<Option<f64>, RejectReason> {
    Ok(json_number(field, value)?.filter(|v| *v >= 0.0))
}

/// The parts of an address, most specific first: `areaTH` separates them
/// with commas and spaces (`"ต.ช้างเผือก อ.เมือง, เชียงใหม่"`; Thai names
/// have no spaces of their own), `areaEN` with commas only.
fn parts(address: &str, split_spaces: bool) -> Vec<&str> {
    address
        .split(',')
        .flat_map(|p| {
            if split_spaces {
                p.split_whitespace().collect::<Vec<_>>()
            } else {
                vec![p.trim()]
            }
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// The province named last in `areaTH` or `areaEN`, and the district when
/// the address names one the reference knows ("อ.เมือง" and "Mueang" are
/// the province's capital district). An address naming no known province is
/// `unknown_province`.
fn area(station: &Value) -> Result<Area, RejectReason> {
    let thai = json_text(station.get("areaTH")).unwrap_or_default();
    let english = json_text(station.get("areaEN")).unwrap_or_default();
    let thai_parts = parts(&thai, true);
    let english_parts = parts(&english, false);
    let province = thai_parts
        .iter()
        .rev()
        .chain(english_parts.iter().rev())
        .find_map(|p| province_by_name(p))
        .ok_or_else(|| {
            RejectReason::new(
                RejectKind::UnknownProvince,
                format!("no Thai province is named in areaTH \"{thai}\" or areaEN \"{english}\""),
            )
        })?;
    let district = thai_parts
        .iter()
        .chain(english_parts.iter())
        .find_map(|p| district_in(&province, p));
    Area::new(province, district)
}

fn district_in(province: &ProvinceCode, part: &str) -> Option<DistrictCode> {
    let p = province.province();
    let thai = part.strip_prefix("อ.").or_else(|| part.strip_prefix("เขต"));
    match thai {
        Some("เมือง") => district_by_name(province, &format!("เมือง{}", p.name_th)),
        Some(name) => district_by_name(province, name),
        None if matches!(part, "Mueang" | "Muang" | "Meuang" | "Mueang District") => {
            district_by_name(province, &format!("Mueang {}", p.name_en))
        }
        // English parts are tried too, but only where they are not also the
        // province's own name (Bangkok's "Phra Nakhon" is a district; the
        // province Phra Nakhon Si Ayutthaya has a district of the same name).
        None if province_by_name(part).is_none() => district_by_name(province, part),
        None => None,
    }
}

fn point(station: &Value) -> Result<Option<GeoPoint>, RejectReason> {
    let lat = json_number("lat", station.get("lat"))?;
    let lon = json_number("long", station.get("long"))?;
    match (lat, lon) {
        (Some(lat), Some(lon)) => GeoPoint::new(lat, lon).map(Some),
        _ => Ok(None),
    }
}
