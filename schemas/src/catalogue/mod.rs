//! Every word the dashboard shows, in Thai and English: metric labels and
//! their short forms, units, committees, severities, alert states and
//! rules, badges, and sources by agency and feed. One catalogue, compiled
//! into the server and the WASM app alike, so a figure cannot be called one
//! thing on the wall and another on the alerts page, and the Thai view never
//! falls back to an English unit.
//!
//! Text is keyed by ids (a [`MetricId`], a [`Committee`], an agency id, a
//! rule name) so that other parts (what each metric means, privacy notes)
//! add their words here next to the ones already kept.
//!
//! A *short* form exists where the full label does not fit a wall tile at
//! 1080p; the wall picks it, never an ellipsis.

mod evidence;
mod metrics;
mod sources;

pub use evidence::{duration, evidence, number};
pub use metrics::{MetricText, metric};
pub use sources::{agency, feed, source_name, sources_late, sources_on_time};

use crate::{
    alert::{AlertState, Severity},
    calendar::Lang,
    committee::Committee,
};

/// One piece of text in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub th: &'static str,
    pub en: &'static str,
}

impl Text {
    pub const fn new(th: &'static str, en: &'static str) -> Self {
        Self { th, en }
    }

    /// The text in `lang`.
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Th => self.th,
            Lang::En => self.en,
        }
    }
}

/// A name with the short form the wall uses where the full one does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub full: Text,
    pub short: Text,
}

impl Label {
    const fn new(full: Text, short: Text) -> Self {
        Self { full, short }
    }
}

const fn t(th: &'static str, en: &'static str) -> Text {
    Text::new(th, en)
}

/// A committee's name.
pub fn committee(c: Committee) -> Label {
    match c {
        Committee::Population => Label::new(
            t("ประชากรและบริการภาครัฐ", "Population & public services"),
            t("ประชากรและบริการ", "Population & services"),
        ),
        Committee::Security => Label::new(
            t("ความมั่นคงแห่งชาติ", "National security"),
            t("ความมั่นคง", "Security"),
        ),
        Committee::Water => Label::new(
            t("น้ำและภูมิอากาศ", "Water & climate"),
            t("น้ำและภูมิอากาศ", "Water & climate"),
        ),
        Committee::Resources => Label::new(
            t("ทรัพยากรและโครงสร้างรัฐ", "Natural resources & government"),
            t("ทรัพยากรและภาครัฐ", "Resources & government"),
        ),
    }
}

pub fn severity(s: Severity) -> Text {
    match s {
        Severity::Critical => t("วิกฤต", "Critical"),
        Severity::Warning => t("เฝ้าระวัง", "Warning"),
        Severity::Info => t("แจ้งเพื่อทราบ", "Info"),
    }
}

/// Where an alert is, as the pipeline sees it.
pub fn alert_state(s: AlertState) -> Text {
    match s {
        AlertState::Open => t("เปิด", "open"),
        AlertState::Updated => t("ปรับค่า", "updated"),
        AlertState::Resolved => t("คลี่คลายแล้ว", "resolved"),
        AlertState::Withdrawn => t(
            "ถอนคืน: ข้อมูลล่าช้าแก้ไขแล้ว",
            "withdrawn: corrected by late data",
        ),
    }
}

/// What an alert rule means; a configured rule without words is shown by
/// its name.
pub fn rule(name: &str) -> Option<Text> {
    Some(match name {
        "water_over_bank" => t("น้ำล้นตลิ่ง", "Water over the bank"),
        "rain_24h_very_heavy" => t("ฝนตกหนักมาก 24 ชม.", "Very heavy rain, 24 h"),
        "pm25_over_standard" => t("PM2.5 เกินมาตรฐาน", "PM2.5 over the standard"),
        "pm25_hazardous" => t("PM2.5 ระดับอันตราย", "PM2.5 hazardous"),
        "dam_nearly_full" => t("เขื่อนใกล้เต็ม", "Dam nearly full"),
        "dam_low" => t("น้ำในเขื่อนน้อย", "Dam storage low"),
        "incident_spike" => t("เหตุการณ์เพิ่มผิดปกติ", "Incident spike"),
        "hotspot_spike" => t("จุดความร้อนเพิ่มผิดปกติ", "Hotspot spike"),
        "source_silent" => t("แหล่งข้อมูลเงียบ", "Source silent"),
        _ => return None,
    })
}

/// The states a figure or a panel can be in, each shown once as a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    /// The window is still open: the figure will change.
    Provisional,
    /// The source is overdue against its cadence.
    Stale,
    /// Values arrived after the window was final and were added to it.
    Revised,
    /// A small count of people, not shown.
    Suppressed,
}

impl Badge {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisional => "provisional",
            Self::Stale => "stale",
            Self::Revised => "revised",
            Self::Suppressed => "suppressed",
        }
    }

    pub fn text(self) -> Text {
        match self {
            Self::Provisional => t("ชั่วคราว", "provisional"),
            Self::Stale => t("ล่าช้า", "stale"),
            Self::Revised => t("ปรับแก้", "revised"),
            Self::Suppressed => t("ปิดบังจำนวนน้อย", "suppressed"),
        }
    }
}

/// Beside a revised figure: how many late values were folded into it
/// after its window was final.
pub fn revised_by(n: u64, lang: Lang) -> String {
    match lang {
        Lang::Th => format!("ปรับแก้ด้วยข้อมูลล่าช้า {n} ค่า"),
        Lang::En if n == 1 => "revised by 1 late value".to_owned(),
        Lang::En => format!("revised by {n} late values"),
    }
}

/// The short form on a tile, beside its sparkline: "revised +3".
pub fn revised_mark(n: u64, lang: Lang) -> String {
    format!("{} +{n}", Badge::Revised.text().get(lang))
}

/// Beside a figure: late values too old to fold in (beyond the correction
/// horizon), kept as corrections only.
pub fn late_not_included(n: u64, lang: Lang) -> String {
    match lang {
        Lang::Th => format!("ข้อมูลล่าช้า {n} ค่าไม่ได้นับรวม"),
        Lang::En if n == 1 => "1 late value not included".to_owned(),
        Lang::En => format!("{n} late values not included"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::METRICS;

    #[test]
    fn a_revised_figure_says_by_how_many_late_values() {
        assert_eq!(revised_by(3, Lang::En), "revised by 3 late values");
        assert_eq!(revised_by(1, Lang::En), "revised by 1 late value");
        assert_eq!(revised_by(3, Lang::Th), "ปรับแก้ด้วยข้อมูลล่าช้า 3 ค่า");
        assert_eq!(late_not_included(2, Lang::En), "2 late values not included");
        assert_eq!(revised_mark(3, Lang::Th), "ปรับแก้ +3");
    }

    #[test]
    fn every_metric_has_words_in_both_languages_and_short_forms_are_shorter() {
        for d in METRICS {
            let m = metric(d.id);
            for text in [m.label.full, m.label.short, m.unit] {
                assert!(!text.th.is_empty() && !text.en.is_empty(), "{:?}", d.id);
            }
            for lang in [Lang::Th, Lang::En] {
                assert!(
                    m.label.short.get(lang).chars().count()
                        <= m.label.full.get(lang).chars().count(),
                    "{:?}",
                    d.id
                );
            }
            // Units in the Thai view are Thai, or symbols read alike in both.
            assert!(
                !m.unit.th.chars().any(|c| c.is_ascii_lowercase()),
                "{:?}: {}",
                d.id,
                m.unit.th
            );
        }
    }

    #[test]
    fn every_default_rule_has_words() {
        let rules = crate::alert::AlertRules::default();
        for name in rules
            .thresholds
            .iter()
            .map(|r| r.name.as_str())
            .chain(rules.rates.iter().map(|r| r.name.as_str()))
            .chain(["source_silent"])
        {
            assert!(rule(name).is_some(), "{name}");
        }
    }
}
