//! The headline figure a tile shows of a `window_aggregates` row.

use pmoc_schemas::{
    api::{MetricSeries, Point},
    metric::{Headline, MetricId},
};
use pmoc_store::WindowRow;

/// The headline figure of a window, suppressed when it is a small count of
/// people: then the value is zeroed here, so it never leaves the server.
///
/// Zero is shown: "no deaths" identifies nobody.
pub fn point(row: &WindowRow) -> Point {
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
    let suppressed = def
        .and_then(|d| d.suppress_below)
        .is_some_and(|below| value > 0.0 && value < below as f64);
    Point {
        window_start_ms: row.window_start_ms(),
        window_end_ms: row.window_end_ms(),
        value: if suppressed { 0.0 } else { value },
        count: if suppressed { 0 } else { row.count },
        final_: row.is_final == 1,
        suppressed,
        computed_at_ms: row.computed_at_ms,
        late: 0,
        // The tail of a distribution (waiting times): NaN when none is kept.
        p95: (!suppressed && row.p95.is_finite()).then_some(row.p95),
    }
}

/// Groups rows (ordered by metric, then window) into one series per name
/// in `metrics`, keeping at most the `keep` newest points; metrics without
/// rows get an empty series so every tile is drawn.
pub fn by_metric(rows: &[WindowRow], metrics: &[&str], keep: usize) -> Vec<MetricSeries> {
    metrics
        .iter()
        .map(|m| {
            let points: Vec<Point> = rows.iter().filter(|r| r.metric == *m).map(point).collect();
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

    fn row(metric: &str, sum: f64) -> WindowRow {
        WindowRow {
            metric: metric.to_owned(),
            committee: String::new(),
            source: String::new(),
            area_level: "district".to_owned(),
            area_code: "5001".to_owned(),
            window_seconds: 3600,
            window_start: 0,
            window_end: 3600,
            count: 3,
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
        }
    }

    #[test]
    fn small_counts_of_people_never_leave_the_server() {
        let p = point(&row("deaths", 3.0));
        assert!(p.suppressed);
        assert_eq!((p.value, p.count), (0.0, 0));
        assert!(!point(&row("deaths", 0.0)).suppressed);
        assert_eq!(point(&row("deaths", 12.0)).value, 12.0);
        // Not about people: never suppressed.
        assert!(!point(&row("dam_inflow_mcm", 3.0)).suppressed);
    }
}
