//! How figures and labels read on screen, in both languages.

use pmoc_schemas::{
    alert::Severity,
    api::{Alert, Point},
    calendar::Lang,
    metric::{MetricDef, MetricId},
};

/// Picks the Thai or English text.
pub fn tr(lang: Lang, th: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Th => th,
        Lang::En => en,
    }
}

pub fn def(metric: &str) -> Option<&'static MetricDef> {
    MetricId::from_name(metric).map(MetricId::def)
}

pub fn metric_label(metric: &str, lang: Lang) -> String {
    def(metric).map_or_else(
        || metric.to_owned(),
        |d| tr(lang, d.label_th, d.label_en).to_owned(),
    )
}

/// An alert rule as operators say it; its configured name when unlabelled.
pub fn rule_label(rule: &str, lang: Lang) -> String {
    pmoc_schemas::alert::rule_label(rule)
        .map_or_else(|| rule.to_owned(), |(th, en)| tr(lang, th, en).to_owned())
}

/// A figure as a person reads it: thousands separated, fewer decimals the
/// bigger it is; a suppressed small count of people as `<k` (k as the
/// server's `[privacy]` settings say), never as 0.
pub fn value(_metric: &str, point: &Point) -> String {
    match (point.suppressed_below, point.value) {
        (Some(below), _) => format!("<{below}"),
        (None, Some(v)) => number(v),
        (None, None) => "-".to_owned(),
    }
}

/// An alert's value or limit: withheld ones (a count of people below k)
/// as `<k`.
pub fn alert_figure(alert: &Alert, v: f64) -> String {
    match alert.suppressed_below {
        Some(below) if !v.is_finite() => format!("<{below}"),
        _ => number(v),
    }
}

pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "-".to_owned();
    }
    let a = v.abs();
    if a >= 1000.0 || v.fract() == 0.0 {
        let digits = format!("{:.0}", a);
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

pub fn committee_name(committee: &str, lang: Lang) -> &'static str {
    match committee {
        "population" => tr(lang, "ประชากรและบริการภาครัฐ", "Population & services"),
        "security" => tr(lang, "ความมั่นคง", "National security"),
        "water" => tr(lang, "น้ำและภูมิอากาศ", "Water & climate"),
        "resources" => tr(lang, "ทรัพยากรและโครงสร้างรัฐ", "Resources & government"),
        _ => "",
    }
}

pub fn severity_name(severity: Severity, lang: Lang) -> &'static str {
    match severity {
        Severity::Critical => tr(lang, "วิกฤต", "Critical"),
        Severity::Warning => tr(lang, "เฝ้าระวัง", "Warning"),
        Severity::Info => tr(lang, "แจ้งเพื่อทราบ", "Info"),
    }
}

/// "5 min", "2 h": how long ago, short enough for a badge.
pub fn age(ms: i64, lang: Lang) -> String {
    let s = (ms / 1000).max(0);
    match (s, lang) {
        (..120, Lang::Th) => format!("{s} วินาที"),
        (..120, Lang::En) => format!("{s} s"),
        (..7200, Lang::Th) => format!("{} นาที", s / 60),
        (..7200, Lang::En) => format!("{} min", s / 60),
        (_, Lang::Th) => format!("{} ชม.", s / 3600),
        (_, Lang::En) => format!("{} h", s / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well_and_small_counts_stay_hidden() {
        assert_eq!(number(1_234_567.0), "1,234,567");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(42.25), "42.2");
        assert_eq!(number(0.5), "0.50");
        assert_eq!(number(57.0), "57");
        let p: Point = serde_json::from_value(serde_json::json!({
            "window_start_ms": 0, "window_end_ms": 0, "value": null, "count": null,
            "final_": true, "suppressed_below": 5, "computed_at_ms": 0,
        }))
        .expect("a suppressed point");
        assert_eq!(value("deaths", &p), "<5");
    }
}
