//! The wall screen's read: every committee's nation-level headlines and
//! sparklines, the map layers, open alerts, source freshness and rejects.
//!
//! Read unrestricted once per refresh by the live poller; each connection
//! then gets what its role may see (`role::Role::restrict`).

use std::collections::{BTreeMap, HashMap};

use pmoc_schemas::{
    aggregate::AreaLevel,
    api::{
        CommitteePanel, Light, MapLayer, Point, RejectCount, SourceFreshness, WallSettings,
        WallSnapshot,
    },
    committee::Committee,
    metric::{self, MetricId},
};
use pmoc_store::WindowRow;

use crate::{ServerError, marks::Marks, read::Reader, series};

impl Reader {
    pub async fn wall_snapshot(&self, now_ms: i64) -> Result<WallSnapshot, ServerError> {
        Ok(self.wall_read(now_ms).await?.0)
    }

    /// The wall's snapshot and, from the same reads, each committee's
    /// stored-figures mark (`marks`): what the shared reads are repeated on.
    pub async fn wall_read(&self, now_ms: i64) -> Result<(WallSnapshot, Marks), ServerError> {
        let d = &self.dashboard;
        let width = i64::from(d.wall_window_seconds.max(60));
        let now_s = now_ms / 1000;
        let from_s = now_s - width * i64::from(d.sparkline_windows.max(1) + 1);

        let map_metrics: Vec<MetricId> = d
            .map_metrics
            .iter()
            .filter_map(|m| MetricId::from_name(m))
            .collect();
        // Independent reads: run together, so a refresh takes the slowest
        // query's time rather than the sum of all six.
        let (nation, provinces, mut freshness, rejects, alerts, late) = futures::try_join!(
            self.store
                .level_windows(AreaLevel::Nation, d.wall_window_seconds, from_s),
            self.store.metric_windows(
                AreaLevel::Province,
                &map_metrics,
                d.wall_window_seconds,
                now_s - 2 * width,
            ),
            self.store.freshness(now_ms, &self.sources),
            self.store.reject_tallies(now_ms - 86_400_000),
            self.store.alerts(true, &self.privacy),
            self.store.late_counts(d.wall_window_seconds, from_s * 1000),
        )?;
        let marks = Marks::of(&nation, &freshness);
        self.protect_freshness(&mut freshness);

        let keep = d.sparkline_windows.max(1) as usize;
        let panels = Committee::ALL
            .into_iter()
            .map(|c| {
                let names: Vec<&str> = metric::of_committee(c).map(|m| m.name).collect();
                let sources: Vec<&SourceFreshness> = freshness
                    .iter()
                    .filter(|f| f.committee == c.as_str())
                    .collect();
                let series = series::by_metric(&self.privacy, &nation, &names, keep, |m, start| {
                    late.get(&(m.to_owned(), start))
                        .copied()
                        .unwrap_or_default()
                });
                CommitteePanel {
                    committee: c.as_str().to_owned(),
                    window_seconds: d.wall_window_seconds,
                    series,
                    complete_up_to_ms: sources.iter().map(|s| s.final_up_to_ms).min(),
                    light: sources
                        .iter()
                        .map(|s| s.light)
                        .max()
                        .unwrap_or(Light::Unknown),
                }
            })
            .collect();

        let maps = map_metrics
            .iter()
            .map(|m| {
                // Rows are ordered by window, so the last one per province wins.
                let newest: BTreeMap<&str, &WindowRow> = provinces
                    .iter()
                    .filter(|r| r.metric == m.name())
                    .map(|r| (r.area_code.as_str(), r))
                    .collect();
                MapLayer::new(
                    m.name().to_owned(),
                    newest
                        .into_iter()
                        .map(|(code, r)| (code.to_owned(), series::point(&self.privacy, r, 0)))
                        .collect(),
                )
            })
            .collect();

        let mut by_reason: BTreeMap<(String, String), u64> = BTreeMap::new();
        for r in rejects {
            let committee = self
                .topics
                .committee_of(&r.source_topic)
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default();
            *by_reason.entry((committee, r.reason_kind)).or_default() += r.count;
        }

        let snapshot = WallSnapshot {
            generated_at_ms: now_ms,
            panels,
            maps,
            alerts: alerts.into_iter().filter(|a| a.is_open()).collect(),
            freshness,
            rejects: by_reason
                .into_iter()
                .map(|((committee, reason_kind), count)| RejectCount {
                    committee,
                    reason_kind,
                    count,
                })
                .collect(),
            settings: WallSettings {
                rotation: d.rotation.clone(),
                rotation_seconds: d.rotation_seconds,
                alert_hold_seconds: d.alert_hold_seconds,
            },
        };
        Ok((snapshot, marks))
    }
}

/// Keeps, in `new`'s maps, the computation time `old` had for each
/// province whose figure is otherwise the same: a recomputation that
/// changes nothing moves only the layer's as-of, one field per push
/// instead of one per province.
pub fn settle(old: &WallSnapshot, new: &mut WallSnapshot) {
    for layer in &mut new.maps {
        let Some(before) = old.maps.iter().find(|l| l.metric == layer.metric) else {
            continue;
        };
        let before: HashMap<&str, &Point> = before
            .provinces
            .iter()
            .map(|(code, p)| (code.as_str(), p))
            .collect();
        for (code, point) in &mut layer.provinces {
            let Some(was) = before.get(code.as_str()) else {
                continue;
            };
            let mut same = (*was).clone();
            same.computed_at_ms = point.computed_at_ms;
            if was.computed_at_ms < point.computed_at_ms && same == *point {
                point.computed_at_ms = was.computed_at_ms;
            }
        }
    }
}

/// Whether two snapshots differ in anything but their read time: the
/// poller pushes only real changes.
pub fn changed(old: &WallSnapshot, new: &WallSnapshot) -> bool {
    let mut a = old.clone();
    a.generated_at_ms = new.generated_at_ms;
    a != *new
}

#[cfg(test)]
mod tests {
    use pmoc_schemas::delta;

    use super::*;

    fn point(value: f64, computed_at_ms: i64) -> Point {
        serde_json::from_value(serde_json::json!({
            "window_start_ms": 0, "window_end_ms": 3_600_000, "value": value,
            "count": 10, "final_": false, "computed_at_ms": computed_at_ms
        }))
        .expect("a point")
    }

    fn wall(points: &[(&str, f64, i64)]) -> WallSnapshot {
        WallSnapshot {
            maps: vec![MapLayer::new(
                "water_freeboard_m".to_owned(),
                points
                    .iter()
                    .map(|(code, v, at)| ((*code).to_owned(), point(*v, *at)))
                    .collect(),
            )],
            ..WallSnapshot::default()
        }
    }

    #[test]
    fn a_recomputation_that_changes_nothing_moves_only_the_layers_as_of() {
        let old = wall(&[("34", 1.5, 1_000), ("50", -0.3, 1_000)]);
        // A second later: Ubon's figure is the same, Chiang Mai's moved.
        let mut new = wall(&[("34", 1.5, 2_000), ("50", -0.4, 2_000)]);
        settle(&old, &mut new);
        let layer = &new.maps[0];
        assert_eq!(layer.computed_at_ms, 2_000, "the as-of is the newest");
        assert_eq!(layer.provinces[0].1.computed_at_ms, 1_000, "unchanged");
        assert_eq!(layer.provinces[1].1.computed_at_ms, 2_000, "changed");
        // What a push carries: Chiang Mai's point and the layer's as-of.
        let ops = delta::diff(
            &serde_json::to_value(&old).expect("json"),
            &serde_json::to_value(&new).expect("json"),
        );
        let paths: Vec<serde_json::Value> = ops
            .iter()
            .map(|op| serde_json::to_value(op).expect("json")["p"].clone())
            .collect();
        assert_eq!(
            paths,
            [
                serde_json::json!(["maps", 0]),
                serde_json::json!(["maps", 0, "provinces", 1, 1]),
            ],
            "Chiang Mai's point and the layer's as-of, nothing of Ubon"
        );
    }
}
