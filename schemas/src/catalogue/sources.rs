//! Sources in words: the accountable agency and the feed, as a person in
//! the room says them ("กรมอุตุนิยมวิทยา · สถานีอากาศ" / "TMD · weather
//! stations"), not the schema ids the registry keys them by. The system
//! (`source_system`) is named only where two systems of one agency send the
//! same feed, since only then does it tell two lights apart.

use super::{Label, Text, t};
use crate::{calendar::Lang, committee::SchemaId};

/// An agency's name by its id (as in the source registry), `None` for an
/// agency the catalogue does not know (shown by its id).
pub fn agency(id: &str) -> Option<Label> {
    let (full, short) = match id {
        "DOPA" => (
            t("กรมการปกครอง", "Department of Provincial Administration"),
            t("กรมการปกครอง", "DOPA"),
        ),
        "NSC" => (
            t("สำนักงานสภาความมั่นคงแห่งชาติ", "National Security Council"),
            t("สมช.", "NSC"),
        ),
        "HII" => (
            t("สถาบันสารสนเทศทรัพยากรน้ำ", "Hydro-Informatics Institute"),
            t("สสน.", "HII"),
        ),
        "RID" => (
            t("กรมชลประทาน", "Royal Irrigation Department"),
            t("กรมชลประทาน", "RID"),
        ),
        "TMD" => (
            t("กรมอุตุนิยมวิทยา", "Thai Meteorological Department"),
            t("กรมอุตุฯ", "TMD"),
        ),
        "PCD" => (
            t("กรมควบคุมมลพิษ", "Pollution Control Department"),
            t("กรมควบคุมมลพิษ", "PCD"),
        ),
        "GISTDA" => (
            t("สำนักงานพัฒนาเทคโนโลยีอวกาศและภูมิสารสนเทศ", "GISTDA"),
            t("GISTDA", "GISTDA"),
        ),
        "CGD" => (
            t("กรมบัญชีกลาง", "Comptroller General's Department"),
            t("กรมบัญชีกลาง", "CGD"),
        ),
        _ => return None,
    };
    Some(Label::new(full, short))
}

/// What a schema's messages are, as a feed.
pub fn feed(schema: &str) -> Option<Text> {
    use crate::committee as c;
    let by = |id: SchemaId| id.name == schema;
    Some(if by(c::CIVIL_REGISTRATION) {
        t("ทะเบียนราษฎร", "civil registration")
    } else if by(c::PUBLIC_SERVICE) {
        t("คิวสำนักงานเขต", "service queues")
    } else if by(c::INCIDENT) {
        t("รายงานเหตุการณ์", "incident reports")
    } else if by(c::WATER_LEVEL) {
        t("ระดับน้ำ", "water levels")
    } else if by(c::RAINFALL) {
        t("ปริมาณฝน", "rainfall")
    } else if by(c::DAM_STORAGE) {
        t("เขื่อน", "dams")
    } else if by(c::WEATHER) {
        t("สถานีอากาศ", "weather stations")
    } else if by(c::AIR_QUALITY) {
        t("คุณภาพอากาศ", "air quality")
    } else if by(c::FIRE_HOTSPOT) {
        t("จุดความร้อน", "fire hotspots")
    } else if by(c::BUDGET_DISBURSEMENT) {
        t("เบิกจ่ายงบประมาณ", "budget disbursement")
    } else if by(c::PROCUREMENT_CONTRACT) {
        t("สัญญาจัดซื้อจัดจ้าง", "procurement contracts")
    } else {
        return None;
    })
}

/// "กรมอุตุฯ · สถานีอากาศ": a source by agency (short form) and feed, with
/// the system appended when `system` is given (the caller gives it only
/// when another system of the agency sends the same feed). Unknown ids are
/// shown as they are.
pub fn source_name(agency_id: &str, schema: &str, system: Option<&str>, lang: Lang) -> String {
    let who = agency(agency_id).map_or(agency_id, |a| a.short.get(lang));
    let what = feed(schema).map_or(schema, |f| f.get(lang));
    match system {
        Some(s) => format!("{who} · {what} ({s})"),
        None => format!("{who} · {what}"),
    }
}

/// The freshness strip's last resort when the late sources do not fit on
/// one line by agency: "ล่าช้า 9 แหล่ง จาก 6 หน่วยงาน" / "9 sources of 6
/// agencies late".
pub fn sources_late(sources: usize, agencies: usize, lang: Lang) -> String {
    match lang {
        Lang::Th => format!("ล่าช้า {sources} แหล่ง จาก {agencies} หน่วยงาน"),
        Lang::En => {
            let s = if sources == 1 { "source" } else { "sources" };
            let a = if agencies == 1 { "agency" } else { "agencies" };
            format!("{sources} {s} of {agencies} {a} late")
        }
    }
}

/// Sources on time, as a count: "ตรงเวลา 4 แหล่ง" / "4 on time".
pub fn sources_on_time(sources: usize, lang: Lang) -> String {
    match lang {
        Lang::Th => format!("ตรงเวลา {sources} แหล่ง"),
        Lang::En => format!("{sources} on time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{committee::SCHEMAS, source::Sources};

    #[test]
    fn every_registered_agency_and_schema_has_words() {
        for (id, _) in Sources::default().iter() {
            assert!(agency(id).is_some(), "{id}");
        }
        for s in SCHEMAS {
            assert!(feed(s.name).is_some(), "{}", s.name);
        }
        assert_eq!(
            source_name("TMD", "tmd.weather", None, Lang::En),
            "TMD · weather stations"
        );
        assert_eq!(
            source_name("TMD", "tmd.weather", None, Lang::Th),
            "กรมอุตุฯ · สถานีอากาศ"
        );
        assert_eq!(
            source_name("HII", "hii.rainfall", Some("telemetry"), Lang::En),
            "HII · rainfall (telemetry)"
        );
    }
}
