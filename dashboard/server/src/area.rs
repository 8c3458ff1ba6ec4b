//! The drill-down's read: one committee at one place over a time range,
//! with the newest figures of the places one level below.

use std::collections::BTreeMap;

use pmoc_schemas::{
    aggregate::AreaLevel,
    api::{AreaDetail, ChildRow, MapLayer, RANGES, breadcrumbs, children},
    committee::Committee,
    metric::{self, MetricId},
};

use pmoc_store::WindowRow;

use crate::{ServerError, read::Reader, series};

/// The level whose rows are a place's children.
fn child_level(level: &str) -> Option<&'static str> {
    match level {
        "nation" => Some("region4"),
        "region4" => Some("province"),
        "province" => Some("district"),
        _ => None,
    }
}

/// `(key, seconds back, window seconds)` of a range key; a day by default.
pub fn range(key: Option<&str>) -> (&'static str, i64, u32) {
    RANGES
        .iter()
        .copied()
        .find(|r| Some(r.0) == key)
        .unwrap_or(RANGES[1])
}

impl Reader {
    /// `level`/`code` must be a known place (`api::place`); the caller checks.
    pub async fn area_detail(
        &self,
        level: &str,
        code: &str,
        committee: Committee,
        range_key: Option<&str>,
        now_ms: i64,
    ) -> Result<AreaDetail, ServerError> {
        let (range_key, back_s, width) = range(range_key);
        let from_s = now_ms / 1000 - back_s;
        let names: Vec<&str> = metric::of_committee(committee).map(|m| m.name).collect();

        let places = children(level, code);
        let child = child_level(level);
        // Districts share their province's prefix; other levels are few.
        let prefix = if child == Some("district") { code } else { "" };
        // Three independent reads, made together.
        let (rows, child_rows, freshness) = futures::try_join!(
            self.store
                .place_windows(committee, (level, code), width, from_s),
            async {
                match child {
                    None => Ok(Vec::new()),
                    Some(child) => {
                        self.store
                            .child_windows(committee, (child, prefix), width, from_s)
                            .await
                    }
                }
            },
            self.store.freshness(now_ms, &self.sources),
        )?;
        let series = series::by_metric(&self.privacy, &rows, &names, usize::MAX, |_, _| 0);

        // Ordered by window: the last row per (metric, area) is the newest.
        let newest: BTreeMap<(&str, &str), &WindowRow> = child_rows
            .iter()
            .map(|r| ((r.metric.as_str(), r.area_code.as_str()), r))
            .collect();
        let children = places
            .into_iter()
            .map(|place| ChildRow {
                values: names
                    .iter()
                    .map(|m| {
                        newest
                            .get(&(*m, place.code.as_str()))
                            .map(|r| series::point(&self.privacy, r, 0))
                    })
                    .collect(),
                place,
            })
            .collect();

        let complete_up_to_ms = freshness
            .iter()
            .filter(|f| f.committee == committee.as_str())
            .map(|f| f.final_up_to_ms)
            .min();
        Ok(AreaDetail {
            breadcrumbs: breadcrumbs(level, code),
            committee: committee.as_str().to_owned(),
            range: range_key.to_owned(),
            window_seconds: width,
            series,
            children,
            complete_up_to_ms,
            generated_at_ms: now_ms,
        })
    }

    /// The newest figure of `committee`'s map metric (the first of
    /// `dashboard.map_metrics` in the committee, else its first metric) in
    /// every district with data in the range: the national district map.
    pub async fn district_layer(
        &self,
        committee: Committee,
        range_key: Option<&str>,
        now_ms: i64,
    ) -> Result<MapLayer, ServerError> {
        let (_, back_s, width) = range(range_key);
        let metric = self
            .dashboard
            .map_metrics
            .iter()
            .filter_map(|m| MetricId::from_name(m))
            .find(|m| m.def().committee == committee)
            .or_else(|| metric::of_committee(committee).next().map(|d| d.id));
        let rows = self
            .store
            .metric_windows(
                AreaLevel::District,
                metric.as_slice(),
                width,
                now_ms / 1000 - back_s,
            )
            .await?;
        // Ordered by window: the last row per district is the newest.
        let newest: BTreeMap<&str, &WindowRow> =
            rows.iter().map(|r| (r.area_code.as_str(), r)).collect();
        Ok(MapLayer::new(
            metric.map_or("", MetricId::name).to_owned(),
            newest
                .into_iter()
                .map(|(code, r)| (code.to_owned(), series::point(&self.privacy, r, 0)))
                .collect(),
        ))
    }
}
