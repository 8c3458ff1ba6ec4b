//! The drill-down as CSV (`GET /api/area/{level}/{code}/export.csv`): the
//! same [`AreaDetail`] the JSON route sends, so it carries the same scope
//! cut and the same protected figures; a suppressed cell is written as an
//! empty `value` with `<k` in `suppressed`, never as 0.

use pmoc_schemas::api::{AreaDetail, Place, Point};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// The header row.
pub const COLUMNS: [&str; 12] = [
    "row",
    "area_level",
    "area_code",
    "name_th",
    "name_en",
    "metric",
    "window_start",
    "window_end",
    "value",
    "suppressed",
    "final",
    "source",
];

fn iso(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn record(kind: &str, place: &Place, metric: &str, p: &Point) -> [String; 12] {
    let source = pmoc_schemas::metric::MetricId::from_name(metric)
        .map(|m| m.def().source)
        .unwrap_or_default();
    [
        kind.to_owned(),
        place.level.clone(),
        place.code.clone(),
        place.name_th.clone(),
        place.name_en.clone(),
        metric.to_owned(),
        iso(p.window_start_ms),
        iso(p.window_end_ms),
        p.value.map(|v| v.to_string()).unwrap_or_default(),
        p.suppressed_below
            .map(|k| format!("<{k}"))
            .unwrap_or_default(),
        p.final_.to_string(),
        source.to_owned(),
    ]
}

/// The place's series (`row` = `series`, every window of the range) and
/// each child's newest figures (`row` = `child`), UTF-8 with a header.
pub fn csv(detail: &AreaDetail) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    if let Some(place) = detail.breadcrumbs.last() {
        for s in &detail.series {
            for p in &s.points {
                out.write_record(record("series", place, &s.metric, p))?;
            }
        }
    }
    for child in &detail.children {
        for (s, value) in detail.series.iter().zip(&child.values) {
            if let Some(p) = value {
                out.write_record(record("child", &child.place, &s.metric, p))?;
            }
        }
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// `attachment; filename="pmoc-population-province-34-1d.csv"`: codes and
/// keys are checked before (a known place, a known range), so plain ASCII.
pub fn disposition(detail: &AreaDetail) -> String {
    let place = detail.breadcrumbs.last();
    format!(
        "attachment; filename=\"pmoc-{}-{}-{}-{}.csv\"",
        detail.committee,
        place.map_or("", |p| p.level.as_str()),
        place.map_or("", |p| p.code.as_str()),
        detail.range
    )
}

#[cfg(test)]
mod tests {
    use pmoc_schemas::{
        api::{ChildRow, MetricSeries, breadcrumbs, place},
        privacy::{PrivacySettings, RawWindow},
    };

    use super::*;

    fn point(value: f64) -> Point {
        PrivacySettings::default().point(&RawWindow {
            metric: "births",
            window_start_ms: 0,
            window_end_ms: 3_600_000,
            value,
            count: 1,
            is_final: true,
            computed_at_ms: 0,
            late: 0,
            revised: 0,
            p95: f64::NAN,
        })
    }

    #[test]
    fn suppressed_cells_are_marked_never_zero() -> anyhow::Result<()> {
        let detail = AreaDetail {
            breadcrumbs: breadcrumbs("province", "34"),
            committee: "population".to_owned(),
            range: "1d".to_owned(),
            window_seconds: 3600,
            series: vec![MetricSeries {
                metric: "births".to_owned(),
                points: vec![point(36.0)],
            }],
            children: vec![ChildRow {
                place: place("district", "3401").expect("district"),
                values: vec![Some(point(3.0))],
            }],
            complete_up_to_ms: None,
            generated_at_ms: 0,
        };
        let text = String::from_utf8(csv(&detail)?)?;
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        let records: Vec<csv::StringRecord> = rows.records().collect::<Result<_, _>>()?;
        assert_eq!(records.len(), 2, "{text}");
        assert_eq!(&records[0][8], "40");
        assert_eq!((&records[1][8], &records[1][9]), ("", "<5"), "{text}");
        assert_eq!(&records[1][6], "1970-01-01T00:00:00Z");
        assert_eq!(
            disposition(&detail),
            "attachment; filename=\"pmoc-population-province-34-1d.csv\""
        );
        Ok(())
    }
}
