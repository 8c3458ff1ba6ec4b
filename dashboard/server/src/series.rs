//! The headline figure a tile shows of a `window_aggregates` row.

use pmoc_schemas::{
    api::{MetricSeries, Point},
    metric::{Headline, MetricId},
    privacy::{PrivacySettings, RawWindow},
};
use pmoc_store::WindowRow;

/// The headline figure of a window, through the privacy rule (the only
/// way a [`Point`] is made): a people count leaves the server rounded, or
/// suppressed with no number at all. `late` are the window's corrections
/// not folded in; the late values folded in are the row's `revised_count`.
pub fn point(privacy: &PrivacySettings, row: &WindowRow, late: u64) -> Point {
    let def = MetricId::from_name(&row.metric).map(MetricId::def);
    let value = match def.map_or(Headline::Last, |d| d.headline) {
        Headline::Count => row.count as f64,
        // "3 (of `count`) stations above warning".
        Headline::Sum | Headline::SumOfCount => row.sum,
        // Weighted for shares: total stored over total capacity.
        Headline::Mean => row.mean().unwrap_or(0.0),
        Headline::Max => row.max,
        Headline::Min => row.min,
        Headline::Last => row.last,
        Headline::P50 => row.p50,
    };
    privacy.point(&RawWindow {
        metric: &row.metric,
        window_start_ms: row.window_start_ms(),
        window_end_ms: row.window_end_ms(),
        value,
        count: row.count,
        is_final: row.is_final == 1,
        computed_at_ms: row.computed_at_ms,
        late,
        revised: u64::from(row.revised_count),
        // The tail of a distribution (waiting times): NaN when none is kept.
        p95: row.p95,
    })
}

/// Groups rows (ordered by metric, then window) into one series per name
/// in `metrics`, keeping at most the `keep` newest points; metrics without
/// rows get an empty series so every tile is drawn. `late` gives a
/// window's corrections by metric and window start.
pub fn by_metric(
    privacy: &PrivacySettings,
    rows: &[WindowRow],
    metrics: &[&str],
    keep: usize,
    late: impl Fn(&str, i64) -> u64,
) -> Vec<MetricSeries> {
    metrics
        .iter()
        .map(|m| {
            let points: Vec<Point> = rows
                .iter()
                .filter(|r| r.metric == *m)
                .map(|r| point(privacy, r, late(m, r.window_start_ms())))
                .collect();
            let skip = points.len().saturating_sub(keep);
            MetricSeries {
                metric: (*m).to_owned(),
                points: points.into_iter().skip(skip).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &str, count: u64, sum: f64) -> WindowRow {
        WindowRow {
            metric: metric.to_owned(),
            committee: String::new(),
            source: String::new(),
            area_level: "district".to_owned(),
            area_code: "5001".to_owned(),
            window_seconds: 3600,
            window_start: 0,
            window_end: 3600,
            count,
            sum,
            min: 0.0,
            max: 0.0,
            last: 0.0,
            last_event_time_ms: 0,
            p50: 0.0,
            p95: f64::NAN,
            is_final: 1,
            computed_at_ms: 0,
            version: 1,
            weight: 3.0,
            revised_count: 0,
        }
    }

    #[test]
    fn small_counts_of_people_never_leave_the_server() {
        let privacy = PrivacySettings::default();
        let p = point(&privacy, &row("deaths", 3, 3.0), 0);
        assert!(p.is_suppressed());
        assert_eq!((p.value, p.count), (None, None));
        assert!(point(&privacy, &row("deaths", 2, 0.0), 0).is_suppressed());
        assert_eq!(
            point(&privacy, &row("deaths", 3, 12.0), 0).value,
            Some(10.0)
        );
        // A count headline: the event count is the figure, rounded too.
        let incidents = point(&privacy, &row("incident_severity", 17, 40.0), 7);
        assert_eq!((incidents.value, incidents.count), (Some(20.0), None));
        assert_eq!(incidents.late, 10);
        // Not about people: never suppressed or rounded.
        let dam = point(&privacy, &row("dam_inflow_mcm", 1, 3.0), 0);
        assert_eq!(
            (dam.value, dam.count, dam.suppressed_below),
            (Some(3.0), Some(1), None)
        );
    }
}
