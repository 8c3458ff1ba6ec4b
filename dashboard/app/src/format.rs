//! How figures and labels read on screen, in both languages.

use pmoc_schemas::{
    alert::Severity,
    api::Point,
    calendar::Lang,
    metric::{Headline, MetricDef, MetricId},
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
/// bigger it is; a suppressed small count of people as `<5`.
pub fn value(metric: &str, point: &Point) -> String {
    if point.suppressed {
        let below = def(metric).and_then(|d| d.suppress_below).unwrap_or(5);
        return format!("<{below}");
    }
    number(point.value)
}

/// The headline as it reads: "3 of 120" for a count of entities meeting a
/// condition (stations above warning), the figure otherwise.
pub fn headline(metric: &str, point: &Point, lang: Lang) -> String {
    let figure = value(metric, point);
    let of_count = def(metric).is_some_and(|d| d.headline == Headline::SumOfCount);
    if of_count && !point.suppressed {
        format!(
            "{figure} {} {}",
            tr(lang, "จาก", "of"),
            number(point.count as f64)
        )
    } else {
        figure
    }
}

/// What the figure is and the period it covers ("highest station · now",
/// "today"), from the metric's declaration and the window of `point`.
pub fn meaning(metric: &str, point: Option<&Point>, lang: Lang) -> String {
    let Some(d) = def(metric) else {
        return String::new();
    };
    let seconds = point.map_or(3_600, |p| {
        ((p.window_end_ms - p.window_start_ms) / 1000) as u32
    });
    d.meaning(seconds, lang)
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
        let p = Point {
            window_start_ms: 0,
            window_end_ms: 0,
            value: 0.0,
            count: 0,
            final_: true,
            suppressed: true,
            computed_at_ms: 0,
            late: 0,
            p95: None,
        };
        assert_eq!(value("deaths", &p), "<5");
    }
}
