//! How figures and labels read on screen, in both languages. The words
//! themselves are in the shared catalogue (`pmoc_schemas::catalogue`); this
//! module only picks them by the strings the API carries.

use pmoc_schemas::{
    alert::Severity,
    api::Point,
    calendar::Lang,
    catalogue::{self, MetricText},
    committee::Committee,
    metric::{Headline, MetricDef, MetricId},
};

pub use pmoc_schemas::catalogue::number;

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

fn words(metric: &str) -> Option<MetricText> {
    MetricId::from_name(metric).map(catalogue::metric)
}

/// A metric's full label; its name when the catalogue does not know it.
pub fn metric_label(metric: &str, lang: Lang) -> String {
    words(metric).map_or_else(|| metric.to_owned(), |w| w.label.full.get(lang).to_owned())
}

/// The short form, for wall tiles.
pub fn metric_short(metric: &str, lang: Lang) -> String {
    words(metric).map_or_else(|| metric.to_owned(), |w| w.label.short.get(lang).to_owned())
}

/// A metric's unit in `lang`.
pub fn unit(metric: &str, lang: Lang) -> &'static str {
    words(metric).map_or("", |w| w.unit.get(lang))
}

/// An alert rule as operators say it; its configured name when unlabelled.
pub fn rule_label(rule: &str, lang: Lang) -> String {
    catalogue::rule(rule).map_or_else(|| rule.to_owned(), |t| t.get(lang).to_owned())
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

/// "of 120" for a count of entities meeting a condition (stations above
/// warning) out of those reporting; `None` for any other figure, and for
/// a suppressed one.
fn out_of(metric: &str, point: &Point, lang: Lang) -> Option<String> {
    let of_count = def(metric).is_some_and(|d| d.headline == Headline::SumOfCount);
    match (of_count, point.suppressed_below, point.count) {
        (true, None, Some(n)) => Some(format!("{} {}", tr(lang, "จาก", "of"), number(n as f64))),
        _ => None,
    }
}

/// The headline as it reads: "3 of 120" for a count of entities meeting a
/// condition, the figure otherwise.
pub fn headline(metric: &str, point: &Point, lang: Lang) -> String {
    let figure = value(metric, point);
    match out_of(metric, point, lang) {
        Some(of) => format!("{figure} {of}"),
        None => figure,
    }
}

/// A tile's figure and what follows it in small type: the unit, or for a
/// count of entities meeting a condition "of 120 stations", so the large
/// type holds only the figure a person reads from the room.
pub fn figure_and_unit(metric: &str, point: Option<&Point>, lang: Lang) -> (String, String) {
    let unit_text = unit(metric, lang);
    let Some(point) = point else {
        return ("-".to_owned(), unit_text.to_owned());
    };
    let rest = match out_of(metric, point, lang) {
        Some(of) if !unit_text.is_empty() => format!("{of} {unit_text}"),
        Some(of) => of,
        None => unit_text.to_owned(),
    };
    (value(metric, point), rest)
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

/// A committee's full name by its wire name.
pub fn committee_name(committee: &str, lang: Lang) -> &'static str {
    Committee::from_name(committee).map_or("", |c| catalogue::committee(c).full.get(lang))
}

/// The short form, for the wall's small panels.
pub fn committee_short(committee: &str, lang: Lang) -> &'static str {
    Committee::from_name(committee).map_or("", |c| catalogue::committee(c).short.get(lang))
}

pub fn severity_name(severity: Severity, lang: Lang) -> &'static str {
    catalogue::severity(severity).get(lang)
}

/// A region's name by its key; the nation's for `TH`.
pub fn region_name(code: &str, lang: Lang) -> String {
    let level = if code == pmoc_schemas::area::NATION_CODE {
        "nation"
    } else {
        "region4"
    };
    pmoc_schemas::api::place(level, code)
        .map(|p| {
            if lang == Lang::Th {
                p.name_th
            } else {
                p.name_en
            }
        })
        .unwrap_or_else(|| code.to_owned())
}

/// "5 min", "2 h": how long ago, short enough for a badge.
pub fn age(ms: i64, lang: Lang) -> String {
    catalogue::duration(ms as f64 / 1000.0, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_stay_hidden() {
        let p: Point = serde_json::from_value(serde_json::json!({
            "window_start_ms": 0, "window_end_ms": 0, "value": null, "count": null,
            "final_": true, "suppressed_below": 5, "computed_at_ms": 0,
        }))
        .expect("a suppressed point");
        assert_eq!(value("deaths", &p), "<5");
    }
}
