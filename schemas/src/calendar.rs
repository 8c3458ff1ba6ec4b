//! Thai civil time: UTC+7 without daylight saving, years in the Buddhist era.

use time::{OffsetDateTime, UtcOffset};

/// Thailand's offset from UTC.
pub const THAI_OFFSET: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("valid offset"),
};

/// [`THAI_OFFSET`] in milliseconds.
pub const THAI_OFFSET_MS: i64 = THAI_OFFSET.whole_seconds() as i64 * 1000;

/// The window `[start, end)` of length `width_ms` that contains `event_ms`,
/// aligned to Thai local time, so a one-day window is a Thai calendar day
/// (midnight to midnight, UTC+7), the day the operations room and the
/// agencies report by.
///
/// The one definition of window alignment: the pipeline windows events by
/// it, and readers that group stored values by window compute their bounds
/// with it rather than re-deriving it in SQL.
///
/// ```
/// use pmoc_schemas::calendar::window_of;
/// assert_eq!(window_of(125_000, 60_000), (120_000, 180_000));
/// assert_eq!(window_of(-1, 60_000), (-60_000, 0));
/// // A day starts at midnight in Bangkok, 17:00 UTC the day before.
/// assert_eq!(window_of(0, 86_400_000), (-25_200_000, 61_200_000));
/// ```
pub fn window_of(event_ms: i64, width_ms: i64) -> (i64, i64) {
    let local = event_ms + THAI_OFFSET_MS;
    let start = local.div_euclid(width_ms) * width_ms - THAI_OFFSET_MS;
    (start, start + width_ms)
}

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
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn every_instant_falls_in_exactly_its_window(t in -10_000_000_000i64..10_000_000_000, w in 1i64..86_400_000) {
            let (s, e) = window_of(t, w);
            prop_assert!(s <= t && t < e);
            prop_assert_eq!(e - s, w);
            prop_assert_eq!((s + THAI_OFFSET_MS).rem_euclid(w), 0);
        }
    }

    #[test]
    fn buddhist_era_in_thai_time() {
        // 2026-11-21T17:30:00Z is 22 Nov 2026 00:30 in Bangkok, BE 2569.
        let ms = 1_795_282_200_000;
        assert_eq!(format_datetime(ms, Lang::Th), "22 พ.ย. 2569 00:30:00");
        assert_eq!(format_datetime(ms, Lang::En), "22 Nov BE 2569 00:30:00");
        assert_eq!(format_time(ms), "00:30");
    }
}
