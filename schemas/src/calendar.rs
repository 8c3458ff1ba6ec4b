//! Thai civil time: UTC+7 without daylight saving, years in the Buddhist era.

use time::{OffsetDateTime, UtcOffset};

/// Thailand's offset from UTC.
pub const THAI_OFFSET: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("valid offset"),
};

/// Buddhist-era year = common-era year + 543.
pub const BE_OFFSET_YEARS: i32 = 543;

const MONTHS_TH: [&str; 12] = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Display language of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Th,
    En,
}

/// Formats a Unix-millisecond instant as Thai local date and time with a BE
/// year, e.g. `22 พ.ย. 2569 10:05:00` or `22 Nov BE 2569 10:05:00`.
pub fn format_datetime(ms: i64, lang: Lang) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return "-".to_owned();
    };
    let t = t.to_offset(THAI_OFFSET);
    let month = usize::from(u8::from(t.month())) - 1;
    let year = t.year() + BE_OFFSET_YEARS;
    match lang {
        Lang::Th => format!(
            "{} {} {} {:02}:{:02}:{:02}",
            t.day(),
            MONTHS_TH[month],
            year,
            t.hour(),
            t.minute(),
            t.second()
        ),
        Lang::En => format!(
            "{} {} BE {} {:02}:{:02}:{:02}",
            t.day(),
            MONTHS_EN[month],
            year,
            t.hour(),
            t.minute(),
            t.second()
        ),
    }
}

/// Formats only the Thai local time of day, `HH:MM`.
pub fn format_time(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => {
            let t = t.to_offset(THAI_OFFSET);
            format!("{:02}:{:02}", t.hour(), t.minute())
        }
        Err(_) => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buddhist_era_in_thai_time() {
        // 2026-11-21T17:30:00Z is 22 Nov 2026 00:30 in Bangkok, BE 2569.
        let ms = 1_795_282_200_000;
        assert_eq!(format_datetime(ms, Lang::Th), "22 พ.ย. 2569 00:30:00");
        assert_eq!(format_datetime(ms, Lang::En), "22 Nov BE 2569 00:30:00");
        assert_eq!(format_time(ms), "00:30");
    }
}
