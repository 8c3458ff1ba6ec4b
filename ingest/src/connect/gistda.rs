//! GISTDA's daily fire hotspots, CSV: the NASA FIRMS VIIRS (or MODIS)
//! columns (`latitude`, `longitude`, `acq_date`, `acq_time`, `satellite`,
//! `instrument`, `confidence`, `frp`, ...) plus GISTDA's overlays: Thai
//! local date and time (`th_date`, `th_time`), the administrative area
//! (`pv_idn`/`pv_tn`/`pv_en` province, `ap_idn`/`ap_tn`/`ap_en` district) and
//! the land use (`lu_name`). Mapped to `gistda.hotspot` envelopes, which
//! require a point.
//!
//! `acq_date`/`acq_time` are UTC, as FIRMS defines them; `th_date`/`th_time`
//! are Thai local time and are preferred when present. The file is streamed
//! row by row, so a season's archive needs no more memory than one row.
//!
//! A raw NASA FIRMS CSV has no administrative columns: its province and
//! district come from the point, by point-in-polygon on the district
//! outlines ([`super::locate`]), and it is published as system `firms`.
//! GISTDA's hotspot API answers the same fields as GeoJSON (a
//! `FeatureCollection` whose features carry them as `properties`, with the
//! point as geometry); [`map_feature`] reads one feature through the same
//! mapping as a CSV row.

use std::io::Read;

use pmoc_schemas::{
    RejectKind, RejectReason,
    area::ProvinceCode,
    committee::resources::{FireHotspot, HotspotConfidence, LandUse, Satellite},
    district::DistrictCode,
    envelope::{Area, Envelope, GeoPoint, Payload},
};
use time::UtcOffset;

use serde::Deserialize;
use serde_json::{Value, value::RawValue};

use super::{
    ConnectError, Mapped,
    fields::{
        district_by_name, event_id, id_stamp, is_missing, local_time, province_by_name, text_number,
    },
    locate,
};

pub const SOURCE_AGENCY: &str = "GISTDA";
/// GISTDA's hotspot CSV, with its administrative overlays.
pub const SOURCE_SYSTEM: &str = "fire-hotspot";
/// A raw FIRMS CSV: the same NASA product, located here by its point.
pub const FIRMS_SYSTEM: &str = "firms";
/// GISTDA's hotspot API (GeoJSON).
pub const API_SYSTEM: &str = "hotspot-api";

/// Where each column this connector reads is, by header name
/// (case-insensitive); a missing optional column is `None`.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    latitude: usize,
    longitude: usize,
    acq_date: Option<usize>,
    acq_time: Option<usize>,
    th_date: Option<usize>,
    th_time: Option<usize>,
    satellite: Option<usize>,
    instrument: Option<usize>,
    confidence: Option<usize>,
    frp: Option<usize>,
    land_use: Option<usize>,
    province_code: Option<usize>,
    province_th: Option<usize>,
    province_en: Option<usize>,
    district_code: Option<usize>,
    district_th: Option<usize>,
    district_en: Option<usize>,
}

impl Columns {
    /// Finds the columns in a header row; a file without coordinates or
    /// any date column is not a hotspot file at all.
    pub fn new(headers: &csv::StringRecord) -> Result<Self, ConnectError> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let find = |candidates: &[&str]| {
            candidates
                .iter()
                .find_map(|c| names.iter().position(|n| n == c))
        };
        let columns = Self {
            latitude: find(&["latitude", "lat"]).ok_or(ConnectError::MissingColumn("latitude"))?,
            longitude: find(&["longitude", "long", "lon"])
                .ok_or(ConnectError::MissingColumn("longitude"))?,
            acq_date: find(&["acq_date"]),
            acq_time: find(&["acq_time"]),
            th_date: find(&["th_date"]),
            th_time: find(&["th_time"]),
            satellite: find(&["satellite"]),
            instrument: find(&["instrument"]),
            confidence: find(&["confidence"]),
            frp: find(&["frp"]),
            land_use: find(&["lu_name", "lu_hp_name", "landuse", "land_use", "lu_en"]),
            province_code: find(&["pv_idn", "pv_code", "province_code"]),
            province_th: find(&["pv_tn", "changwat", "province_th"]),
            province_en: find(&["pv_en", "province", "province_en"]),
            district_code: find(&["ap_idn", "ap_code", "amphoe_code"]),
            district_th: find(&["ap_tn", "amphoe", "amphoe_th"]),
            district_en: find(&["ap_en", "amphoe_en"]),
        };
        if columns.acq_date.is_none() && columns.th_date.is_none() {
            return Err(ConnectError::MissingColumn("acq_date"));
        }
        Ok(columns)
    }

    /// Whether the file names provinces (GISTDA's overlays); without them
    /// (raw FIRMS) the area comes from the point.
    pub fn has_area(&self) -> bool {
        self.province_code.is_some() || self.province_th.is_some() || self.province_en.is_some()
    }
}

/// Streams `input` as hotspot CSV, mapping and emitting each row.
pub fn read(
    input: impl Read,
    now_ms: i64,
    emit: &mut dyn FnMut(Mapped) -> Result<(), ConnectError>,
) -> Result<(), ConnectError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let columns = Columns::new(reader.headers()?)?;
    let system = if columns.has_area() {
        SOURCE_SYSTEM
    } else {
        FIRMS_SYSTEM
    };
    let mut row = csv::ByteRecord::new();
    let mut record = 0u64;
    while reader.read_byte_record(&mut row)? {
        record += 1;
        let outcome = match csv::StringRecord::from_byte_record(row.clone()) {
            Ok(text) => map_row(&columns, &text, system, now_ms),
            Err(e) => Err(RejectReason::new(RejectKind::InvalidUtf8, e.to_string())),
        };
        emit(Mapped {
            record,
            raw: raw_row(&row),
            outcome,
        })?;
    }
    Ok(())
}

/// The row as CSV text without its line ending: byte for byte the input
/// for any row written with standard quoting.
fn raw_row(row: &csv::ByteRecord) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    if writer.write_byte_record(row).is_err() {
        return row.as_slice().to_vec();
    }
    let mut bytes = writer.into_inner().unwrap_or_default();
    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        bytes.pop();
    }
    bytes
}

/// Maps one CSV row to a validated `gistda.hotspot` envelope from `system`.
pub fn map_row(
    columns: &Columns,
    row: &csv::StringRecord,
    system: &str,
    now_ms: i64,
) -> Result<Envelope, RejectReason> {
    let get = |i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .map(str::trim)
            .filter(|s| !is_missing(s))
    };
    let (Some(lat_text), Some(lon_text)) =
        (get(Some(columns.latitude)), get(Some(columns.longitude)))
    else {
        return Err(RejectReason::new(
            RejectKind::MissingPoint,
            "latitude or longitude is empty",
        ));
    };
    let lat = text_number("latitude", lat_text)?.unwrap_or(f64::NAN);
    let lon = text_number("longitude", lon_text)?.unwrap_or(f64::NAN);
    let point = GeoPoint::new(lat, lon)?;

    let event_time = match (get(columns.th_date), get(columns.th_time)) {
        (Some(date), Some(time)) => local_time(date, time)?,
        _ => {
            let (Some(date), Some(time)) = (get(columns.acq_date), get(columns.acq_time)) else {
                return Err(RejectReason::new(
                    RejectKind::MissingTime,
                    "neither th_date/th_time nor acq_date/acq_time is given",
                ));
            };
            // FIRMS times are UTC: same wall clock, other offset.
            local_time(date, time)?.replace_offset(UtcOffset::UTC)
        }
    };

    let satellite_code = get(columns.satellite).unwrap_or("");
    let satellite = satellite(get(columns.instrument), satellite_code)?;
    let payload = FireHotspot {
        satellite,
        confidence: confidence(get(columns.confidence))?,
        land_use: land_use(get(columns.land_use)),
        frp_mw: match get(columns.frp) {
            Some(frp) => text_number("frp", frp)?,
            None => None,
        },
    };
    let (province, district) = if columns.has_area() {
        let province = province(
            get(columns.province_code),
            get(columns.province_th),
            get(columns.province_en),
        )?;
        let district = match get(columns.district_code) {
            Some(code) => Some(DistrictCode::parse_in(code, &province)?),
            // A district name the reference does not know leaves the
            // district empty: the province is what the roll-ups need.
            None => get(columns.district_th)
                .into_iter()
                .chain(get(columns.district_en))
                .find_map(|name| district_by_name(&province, name)),
        };
        (province, district)
    } else {
        let district = locate::district_at(point).ok_or_else(|| {
            RejectReason::new(
                RejectKind::PointOutsideThailand,
                format!(
                    "({lat}, {lon}) is in no district of Thailand (the sea, or a \
                     neighbouring country)"
                ),
            )
        })?;
        (
            ProvinceCode::parse(district.province_code())?,
            Some(district),
        )
    };
    let sat = if satellite_code.is_empty() {
        format!("{satellite:?}").to_ascii_lowercase()
    } else {
        satellite_code.to_ascii_lowercase()
    };
    let envelope = Envelope::new(
        event_id(&[
            "gistda",
            "hs",
            &sat,
            &id_stamp(event_time),
            lat_text,
            lon_text,
        ])?,
        SOURCE_AGENCY,
        system,
        event_time,
        Area::new(province, district)?,
        Some(point),
        Payload::FireHotspot(payload),
    );
    envelope.validate(now_ms)?;
    Ok(envelope)
}

/// The satellite's instrument, from `instrument` or else from the FIRMS
/// satellite code (`N`, `N20`, `N21` are VIIRS; `T`, `A` are MODIS).
fn satellite(instrument: Option<&str>, code: &str) -> Result<Satellite, RejectReason> {
    let key = instrument.unwrap_or(code).to_ascii_lowercase();
    match key.as_str() {
        "viirs" | "n" | "n20" | "n21" | "1" | "j1" | "j2" | "npp" | "snpp" | "suomi npp"
        | "noaa-20" | "noaa-21" => Ok(Satellite::Viirs),
        "modis" | "t" | "a" | "terra" | "aqua" => Ok(Satellite::Modis),
        _ => Err(RejectReason::new(
            RejectKind::UnknownSatellite,
            format!("satellite {code:?} / instrument {instrument:?} is neither VIIRS nor MODIS"),
        )),
    }
}

/// VIIRS writes `l`/`n`/`h`; MODIS a percentage, banded as FIRMS does
/// (below 30 low, below 80 nominal).
fn confidence(text: Option<&str>) -> Result<HotspotConfidence, RejectReason> {
    let text =
        text.ok_or_else(|| RejectReason::new(RejectKind::MissingValue, "confidence is empty"))?;
    match text.to_ascii_lowercase().as_str() {
        "l" | "low" => return Ok(HotspotConfidence::Low),
        "n" | "nominal" => return Ok(HotspotConfidence::Nominal),
        "h" | "high" => return Ok(HotspotConfidence::High),
        _ => {}
    }
    match text.parse::<f64>() {
        Ok(p) if (0.0..30.0).contains(&p) => Ok(HotspotConfidence::Low),
        Ok(p) if (30.0..80.0).contains(&p) => Ok(HotspotConfidence::Nominal),
        Ok(p) if (80.0..=100.0).contains(&p) => Ok(HotspotConfidence::High),
        _ => Err(RejectReason::new(
            RejectKind::InvalidConfidence,
            format!("confidence {text:?} is not l/n/h or 0-100"),
        )),
    }
}

/// GISTDA's land-use classes: conservation and reserved forest, ALRO land
/// reform and farmland, community; the rest (roadside, other) are `Other`.
fn land_use(text: Option<&str>) -> LandUse {
    let Some(t) = text else {
        return LandUse::Other;
    };
    let lower = t.to_lowercase();
    if t.contains("ป่า") || lower.contains("forest") {
        LandUse::Forest
    } else if t.contains("เกษตร") || t.contains("สปก") || lower.contains("agri") {
        LandUse::Agriculture
    } else if t.contains("ชุมชน") || lower.contains("community") {
        LandUse::Community
    } else {
        LandUse::Other
    }
}

fn province(
    code: Option<&str>,
    thai: Option<&str>,
    english: Option<&str>,
) -> Result<ProvinceCode, RejectReason> {
    if let Some(code) = code {
        return ProvinceCode::parse(code);
    }
    thai.into_iter()
        .chain(english)
        .find_map(province_by_name)
        .ok_or_else(|| {
            RejectReason::new(
                RejectKind::UnknownProvince,
                format!(
                    "pv_tn \"{}\" / pv_en \"{}\" is not a Thai province",
                    thai.unwrap_or_default(),
                    english.unwrap_or_default()
                ),
            )
        })
}

/// The features of a GISTDA hotspot API answer: a GeoJSON
/// `FeatureCollection`, bare or under `data`.
pub fn features(doc: &[u8]) -> Result<Vec<&RawValue>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Collection<'a> {
        #[serde(borrow, default)]
        features: Option<Vec<&'a RawValue>>,
        #[serde(borrow, default)]
        data: Option<&'a RawValue>,
    }
    let top: Collection<'_> = serde_json::from_slice(doc)?;
    match (top.features, top.data) {
        (Some(features), _) => Ok(features),
        (None, Some(data)) => {
            let inner: Collection<'_> = serde_json::from_str(data.get())?;
            inner
                .features
                .ok_or_else(|| serde::de::Error::custom("data has no features"))
        }
        (None, None) => Err(serde::de::Error::custom(
            "not a FeatureCollection: no features",
        )),
    }
}

/// Maps one GeoJSON feature of GISTDA's hotspot API: its properties are
/// the CSV's columns (numbers as numbers), its geometry the point where
/// `latitude`/`longitude` are not among them.
pub fn map_feature(raw: &str, now_ms: i64) -> Result<Envelope, RejectReason> {
    let feature: Value = serde_json::from_str(raw)
        .map_err(|e| RejectReason::new(RejectKind::InvalidJson, e.to_string()))?;
    let Some(properties) = feature.get("properties").and_then(Value::as_object) else {
        return Err(RejectReason::new(
            RejectKind::InvalidRecord,
            "a hotspot feature must have properties",
        ));
    };
    let mut names = Vec::with_capacity(properties.len() + 2);
    let mut values = Vec::with_capacity(properties.len() + 2);
    for (name, value) in properties {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        names.push(name.clone());
        values.push(text);
    }
    let has = |n: &str| names.iter().any(|k| k.eq_ignore_ascii_case(n));
    if !(has("latitude") || has("lat")) {
        // GeoJSON positions are [longitude, latitude].
        let coordinates = &feature["geometry"]["coordinates"];
        for (name, i) in [("latitude", 1), ("longitude", 0)] {
            names.push(name.to_owned());
            values.push(match &coordinates[i] {
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            });
        }
    }
    let columns = Columns::new(&csv::StringRecord::from(names))
        .map_err(|e| RejectReason::new(RejectKind::InvalidRecord, format!("a feature {e}")))?;
    map_row(
        &columns,
        &csv::StringRecord::from(values),
        API_SYSTEM,
        now_ms,
    )
}
