//! Reading the loosely typed fields of agency feeds: numbers sent as strings,
//! markers of absence, Thai local times, province names instead of codes.
//!
//! Shared by every connector so that "-", "N/A" and "" mean the same thing in
//! all of them, and every failure becomes a [`RejectReason`] naming the field.

use std::{collections::HashMap, sync::LazyLock};

use pmoc_schemas::{
    RejectKind, RejectReason,
    area::{ProvinceCode, provinces},
    district::{DistrictCode, districts},
    error::quote,
    event::EventId,
};
use serde_json::Value;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, macros::offset};

/// Thailand's offset: the agencies' feeds are stamped in local time without
/// saying so.
pub const THAI_OFFSET: UtcOffset = offset!(+7);

/// Whether a text value is one of the feeds' markers of "no reading".
pub fn is_missing(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "-" | "--" | "n/a" | "na" | "null" | "none" | "nan"
    )
}

/// A number from a JSON value that may be a number, a numeric string, `null`
/// or a marker of absence; `None` when there is no reading.
pub fn json_number(field: &str, value: Option<&Value>) -> Result<Option<f64>, RejectReason> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => text_number(field, s),
        Some(other) => Err(RejectReason::new(
            RejectKind::InvalidNumber,
            format!("{field} is {}, not a number", quote(&other.to_string())),
        )),
    }
}

/// A number from text; `None` for the markers of absence.
pub fn text_number(field: &str, text: &str) -> Result<Option<f64>, RejectReason> {
    if is_missing(text) {
        return Ok(None);
    }
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(RejectReason::new(
            RejectKind::InvalidNumber,
            format!("{field} is {}, not a number", quote(text)),
        )),
    }
}

/// A text field from JSON: strings as they are, numbers as written (station
/// ids are sometimes sent as numbers), anything else or a marker of absence
/// as `None`.
pub fn json_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !is_missing(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Fails with `missing_value` when a required reading is absent.
pub fn required<T>(field: &str, value: Option<T>) -> Result<T, RejectReason> {
    value.ok_or_else(|| {
        RejectReason::new(RejectKind::MissingValue, format!("{field} has no reading"))
    })
}

/// A date and a time of day in Thai local time.
///
/// Dates are `YYYY-MM-DD` or `DD/MM/YYYY`, with a Buddhist-era year (above
/// 2400) converted; times are `HH:MM[:SS]` or `HHMM` (satellite products),
/// which FIRMS and GISTDA's API also send as an integer without leading
/// zeros: `618` is 06:18, `5` is 00:05.
pub fn local_time(date: &str, time: &str) -> Result<OffsetDateTime, RejectReason> {
    let bad = |what: &str| {
        RejectReason::new(
            RejectKind::InvalidTime,
            format!(
                "{what} in {} {} is not a valid date and time",
                quote(date),
                quote(time)
            ),
        )
    };
    let parts: Vec<&str> = date.trim().split(['-', '/']).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(bad("the date"));
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    let mut year: i32 = y.parse().map_err(|_| bad("the year"))?;
    if year > 2400 {
        year -= 543;
    }
    let month: u8 = m.parse().map_err(|_| bad("the month"))?;
    let day: u8 = d.parse().map_err(|_| bad("the day"))?;
    let month = Month::try_from(month).map_err(|_| bad("the month"))?;
    let date_value = Date::from_calendar_date(year, month, day).map_err(|_| bad("the date"))?;

    let t = time.trim();
    let (h, min, s) = if t.contains(':') {
        let f: Vec<&str> = t.split(':').collect();
        match f.as_slice() {
            [h, m] => (*h, *m, "0"),
            [h, m, s] => (*h, *m, *s),
            _ => return Err(bad("the time")),
        }
    } else if (1..=4).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()) {
        let (h, m) = t.split_at(t.len().saturating_sub(2));
        (if h.is_empty() { "0" } else { h }, m, "0")
    } else {
        return Err(bad("the time"));
    };
    let h: u8 = h.parse().map_err(|_| bad("the hour"))?;
    let min: u8 = min.parse().map_err(|_| bad("the minute"))?;
    let s: u8 = s.parse().map_err(|_| bad("the second"))?;
    let time_value = Time::from_hms(h, min, s).map_err(|_| bad("the time"))?;
    Ok(PrimitiveDateTime::new(date_value, time_value).assume_offset(THAI_OFFSET))
}

/// `YYYYMMDDHHMM` in Thai local time, the time part of event ids: readable,
/// and the same whatever offset the source wrote.
pub fn id_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(THAI_OFFSET);
    format!(
        "{:04}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// An event id from its parts joined by `-`.
pub fn event_id(parts: &[&str]) -> Result<EventId, RejectReason> {
    EventId::parse(&parts.join("-"))
}

/// Lowercase ASCII letters and digits only: "Chon Buri", "Chonburi" and
/// "CHON-BURI" are the same key.
fn english_key(name: &str) -> String {
    let key: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let key = key.strip_prefix("changwat").unwrap_or(&key);
    key.strip_suffix("province").unwrap_or(key).to_owned()
}

/// A Thai name without the "province" prefixes the feeds add.
fn thai_key(name: &str) -> &str {
    let name = name.trim();
    let name = name.strip_prefix("จังหวัด").unwrap_or(name);
    name.strip_prefix("จ.").unwrap_or(name).trim()
}

/// Every spelling of a province name that the feeds use, to its code.
static PROVINCE_NAMES: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut names = HashMap::new();
    for p in provinces() {
        names.insert(p.name_th.clone(), p.code.as_str());
        names.insert(english_key(&p.name_en), p.code.as_str());
    }
    // Short forms the agencies write for Bangkok and Ayutthaya, and Korat.
    for (alias, code) in [
        ("กรุงเทพฯ", "10"),
        ("กรุงเทพ", "10"),
        ("กทม.", "10"),
        ("กทม", "10"),
        ("bangkokmetropolis", "10"),
        ("krungthepmahanakhon", "10"),
        ("ayutthaya", "14"),
        ("อยุธยา", "14"),
        ("korat", "30"),
    ] {
        names.insert(alias.to_owned(), code);
    }
    names
});

/// The province a Thai or English name denotes, if it is one.
pub fn province_by_name(name: &str) -> Option<ProvinceCode> {
    let names = &*PROVINCE_NAMES;
    let code = names
        .get(thai_key(name))
        .or_else(|| names.get(&english_key(name)))?;
    ProvinceCode::parse(code).ok()
}

/// The district of `province` with this Thai or English name, if any.
pub fn district_by_name(province: &ProvinceCode, name: &str) -> Option<DistrictCode> {
    let thai = name.trim();
    let thai = thai.strip_prefix("อำเภอ").unwrap_or(thai);
    let thai = thai.strip_prefix("อ.").unwrap_or(thai).trim();
    let english = english_key(name);
    districts()
        .iter()
        .filter(|d| d.province_code == province.as_str())
        .find(|d| d.name_th == thai || english_key(&d.name_en) == english)
        .and_then(|d| DistrictCode::parse(&d.code).ok())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn markers_of_absence_are_not_numbers() {
        for s in ["", " ", "-", "N/A", "null", "NaN"] {
            assert_eq!(text_number("x", s), Ok(None), "{s:?}");
        }
        assert_eq!(text_number("x", "12.5"), Ok(Some(12.5)));
        assert_eq!(text_number("x", "12,5").unwrap_err().kind, "invalid_number");
        assert_eq!(json_number("x", Some(&Value::from(3))), Ok(Some(3.0)));
        assert_eq!(
            json_number("x", Some(&serde_json::json!([1])))
                .unwrap_err()
                .kind,
            "invalid_number"
        );
    }

    #[test]
    fn local_times_in_the_shapes_the_feeds_use() {
        let want = datetime!(2026-03-15 13:42 +07:00);
        assert_eq!(local_time("2026-03-15", "13:42"), Ok(want));
        assert_eq!(local_time("2026-03-15", "13:42:00"), Ok(want));
        assert_eq!(local_time("15/03/2569", "1342"), Ok(want));
        assert_eq!(
            local_time("2026-03-15", "142"),
            Ok(datetime!(2026-03-15 01:42 +07:00))
        );
        // HHMM integers without their leading zeros.
        assert_eq!(
            local_time("2026-03-15", "5"),
            Ok(datetime!(2026-03-15 00:05 +07:00))
        );
        assert_eq!(
            local_time("2026-03-15", "45"),
            Ok(datetime!(2026-03-15 00:45 +07:00))
        );
        assert_eq!(
            local_time("2026-03-15", "75").unwrap_err().kind,
            "invalid_time"
        );
        for (d, t) in [("2026-02-30", "10:00"), ("2026-03-15", "25:00"), ("x", "1")] {
            assert_eq!(local_time(d, t).unwrap_err().kind, "invalid_time");
        }
        assert_eq!(id_stamp(datetime!(2026-03-15 06:42 UTC)), "202603151342");
    }

    #[test]
    fn province_names_in_every_spelling() {
        for name in [
            "เชียงใหม่",
            "จ.เชียงใหม่",
            "จังหวัดเชียงใหม่",
            "Chiang Mai",
            "CHIANGMAI",
        ] {
            assert_eq!(
                province_by_name(name).map(|p| p.to_string()),
                Some("50".to_owned()),
                "{name}"
            );
        }
        assert_eq!(province_by_name("กรุงเทพฯ").unwrap().as_str(), "10");
        assert_eq!(province_by_name("Chon Buri").unwrap().as_str(), "20");
        assert_eq!(province_by_name("Chonburi").unwrap().as_str(), "20");
        assert!(province_by_name("Vientiane").is_none());
        let cm = ProvinceCode::parse("50").unwrap();
        assert_eq!(
            district_by_name(&cm, "เมืองเชียงใหม่").unwrap().as_str(),
            "5001"
        );
        assert_eq!(
            district_by_name(&cm, "Mueang Chiang Mai").unwrap().as_str(),
            "5001"
        );
        assert!(district_by_name(&cm, "Phra Nakhon").is_none());
    }
}
