//! An alert's evidence as a sentence in the reader's language ("PM2.5
//! 82.7 มคก./ลบ.ม. เกินเกณฑ์ 75 ตั้งแต่ 03:45 น."), built from the alert's
//! fields. The pipeline's raw evidence (`AlertEvent::evidence`, English,
//! with schema ids) stays as it is for operators tracing a figure.

use super::{Text, metric, t};
use crate::{
    alert::AlertEvent,
    calendar::{Lang, format_time},
    metric::MetricId,
};

/// A figure as a person reads it: thousands separated, fewer decimals the
/// bigger it is.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    let a = v.abs();
    if a >= 1000.0 || v.fract() == 0.0 {
        let digits = format!("{a:.0}");
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 { format!("-{out}") } else { out }
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// "45 นาที", "2 ชม.": a duration in seconds, in whole units.
pub fn duration(seconds: f64, lang: Lang) -> String {
    let s = seconds.max(0.0) as i64;
    let (n, unit) = if s < 120 {
        (s, t("วินาที", "s"))
    } else if s < 7200 {
        (s / 60, t("นาที", "min"))
    } else {
        (s / 3600, t("ชม.", "h"))
    };
    format!("{n} {}", unit.get(lang))
}

/// The alert's evidence as one sentence in `lang`.
pub fn evidence(event: &AlertEvent, lang: Lang) -> String {
    let since = format_time(event.opened_at_ms);
    let Some(id) = MetricId::from_name(&event.metric) else {
        // A source gone quiet: the value is its silence, the threshold
        // what its cadence allows.
        return match lang {
            Lang::Th => format!(
                "ไม่มีข้อมูลมา {} (ควรมาทุก {}) ตั้งแต่ {since} น.",
                duration(event.value, lang),
                duration(event.threshold, lang)
            ),
            Lang::En => format!(
                "No data for {} (expected within {}) since {since}",
                duration(event.value, lang),
                duration(event.threshold, lang)
            ),
        };
    };
    let words = metric(id);
    let label = words.label.full.get(lang);
    let unit = words.unit.get(lang);
    if event.value.is_nan() {
        // A count of people below the privacy threshold: withheld, and the
        // comparison with the limit would give it away.
        let withheld = t("จำนวนน้อย ไม่เปิดเผย", "a small number, withheld").get(lang);
        return match lang {
            Lang::Th => format!("{label}: {withheld} ตั้งแต่ {since} น."),
            Lang::En => format!("{label}: {withheld}, since {since}"),
        };
    }
    let below = event.value < event.threshold;
    let (value, limit) = (number(event.value), number(event.threshold));
    let compared: Text = if below {
        t("ต่ำกว่าเกณฑ์", "below the limit of")
    } else {
        t("เกินเกณฑ์", "above the limit of")
    };
    match lang {
        Lang::Th => format!(
            "{label} {value} {unit} {} {limit} ตั้งแต่ {since} น.",
            compared.th
        ),
        Lang::En => format!(
            "{label} {value} {unit}, {} {limit}, since {since}",
            compared.en
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        alert::{AlertState, Severity},
        committee::Committee,
    };

    fn pm25() -> AlertEvent {
        AlertEvent {
            alert_id: "pm25_hazardous:province:10:0".to_owned(),
            rule: "pm25_hazardous".to_owned(),
            severity: Severity::Critical,
            committee: Committee::Resources,
            metric: "pm25_ugm3".to_owned(),
            area_level: "province".to_owned(),
            area_code: "10".to_owned(),
            state: AlertState::Open,
            // 2025-12-01 03:45 in Thailand.
            opened_at_ms: 1_764_535_500_000,
            updated_at_ms: 0,
            resolved_at_ms: 0,
            value: 82.7,
            threshold: 75.0,
            evidence: "pm25_ugm3 82.70 vs 75.00 in the 60 s window".to_owned(),
            revision: 0,
        }
    }

    #[test]
    fn evidence_reads_as_a_sentence_in_each_language() {
        let e = pm25();
        assert_eq!(
            evidence(&e, Lang::Th),
            "ฝุ่น PM2.5 82.7 มคก./ลบ.ม. เกินเกณฑ์ 75 ตั้งแต่ 03:45 น."
        );
        assert_eq!(
            evidence(&e, Lang::En),
            "PM2.5 82.7 µg/m³, above the limit of 75, since 03:45"
        );
        let low = AlertEvent {
            metric: "water_freeboard_m".to_owned(),
            value: -0.3,
            threshold: 0.0,
            ..e.clone()
        };
        assert!(evidence(&low, Lang::Th).contains("ต่ำกว่าเกณฑ์ 0"));
        let withheld = AlertEvent {
            value: f64::NAN,
            ..low.clone()
        };
        assert!(evidence(&withheld, Lang::En).contains("withheld"));
        assert!(!evidence(&withheld, Lang::En).contains("NaN"));
        let silent = AlertEvent {
            metric: String::new(),
            value: 2_700.0,
            threshold: 900.0,
            ..e
        };
        assert_eq!(
            evidence(&silent, Lang::En),
            "No data for 45 min (expected within 15 min) since 03:45"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(42.25), "42.2");
        assert_eq!(number(0.5), "0.50");
        assert_eq!(number(57.0), "57");
    }
}
