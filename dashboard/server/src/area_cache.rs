//! The two shared reads of the drill-down (`shared`): an area (one place,
//! committee and range: the page's figures and its children's) and a
//! committee's national district map (every district's newest figure over
//! a range). One refresher repeats both, when their committee's stored
//! figures moved (`marks`).

use std::{collections::HashSet, time::Duration};

use pmoc_schemas::{
    api::{AreaDetail, MapLayer},
    committee::Committee,
};
use tokio::sync::watch;

use crate::{
    ServerError,
    auth::scope::Access,
    marks::{Marks, Schedule},
    read::Reader,
    shared::{Names, SharedKey, SharedReads, names},
};

/// The drill-down's reads.
pub type AreaCache = SharedReads<AreaKey>;
/// The national district maps' reads.
pub type DistrictMapCache = SharedReads<DistrictMapKey>;

/// What one cached drill-down read is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AreaKey {
    pub level: String,
    pub code: String,
    pub committee: Committee,
    /// A key of `api::RANGES`.
    pub range: &'static str,
}

impl SharedKey for AreaKey {
    type Value = AreaDetail;
    const NAMES: Names = names!("pmoc_dashboard_area");

    fn committee(&self) -> Committee {
        self.committee
    }

    async fn read(&self, reader: &Reader, now_ms: i64) -> Result<AreaDetail, ServerError> {
        reader
            .area_detail(
                &self.level,
                &self.code,
                self.committee,
                Some(self.range),
                now_ms,
            )
            .await
    }

    fn kept(value: &AreaDetail, access: &Access) -> Vec<bool> {
        value
            .children
            .iter()
            .map(|c| access.in_geo(&c.place.level, &c.place.code))
            .collect()
    }

    fn cut(value: &AreaDetail, access: &Access) -> AreaDetail {
        access.area(value.clone())
    }

    fn same(old: &AreaDetail, new: &AreaDetail) -> bool {
        AreaDetail {
            generated_at_ms: new.generated_at_ms,
            ..old.clone()
        } == *new
    }
}

/// What one cached national district map is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DistrictMapKey {
    pub committee: Committee,
    /// A key of `api::RANGES`.
    pub range: &'static str,
}

impl SharedKey for DistrictMapKey {
    type Value = MapLayer;
    const NAMES: Names = names!("pmoc_dashboard_district_map");

    fn committee(&self) -> Committee {
        self.committee
    }

    async fn read(&self, reader: &Reader, now_ms: i64) -> Result<MapLayer, ServerError> {
        reader
            .district_layer(self.committee, Some(self.range), now_ms)
            .await
    }

    fn kept(value: &MapLayer, access: &Access) -> Vec<bool> {
        value
            .provinces
            .iter()
            .map(|(code, _)| access.in_geo("district", code))
            .collect()
    }

    fn cut(value: &MapLayer, access: &Access) -> MapLayer {
        access.layer(value, "district")
    }

    fn same(old: &MapLayer, new: &MapLayer) -> bool {
        old == new
    }
}

/// Repeats the shared reads `marks` says are due, on every tick of `every`
/// and whenever the wall's poller publishes new marks (so a change reaches
/// the drill-down as soon as the wall has seen it, when the committee's
/// reads were not repeated less than `every` ago), until `stop` turns true.
pub async fn run(
    (areas, maps): (AreaCache, DistrictMapCache),
    (every, max_age): (Duration, Duration),
    mut marks: watch::Receiver<Marks>,
    mut stop: watch::Receiver<bool>,
) {
    let mut schedule = Schedule::new(every, max_age);
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polled = true;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            changed = marks.changed(), if polled => {
                // The poller is gone (shutting down): ticks alone.
                polled = changed.is_ok();
            }
            _ = stop.changed() => return,
        }
        let now = crate::live::now_ms();
        let plan = schedule.plan(now, marks.borrow_and_update().clone());
        metrics::counter!("pmoc_dashboard_area_refreshes_total").increment(1);
        // District maps first: a page told by its area's push that the
        // committee's figures moved then finds its map read already.
        let mut read: HashSet<Committee> = maps.refresh(&plan).await;
        read.extend(areas.refresh(&plan).await);
        schedule.done(&plan, &read, now);
    }
}

#[cfg(test)]
mod tests {
    use pmoc_schemas::{
        api::{AreaDetail, ChildRow, MapLayer, Point, breadcrumbs, children},
        auth::{RoleKind, RoleSettings},
        committee::{Committee, security::Classification},
    };

    use super::*;
    use crate::{body::Body, shared::Versioned};

    fn access(name: &str, role: RoleSettings) -> Access {
        Access::from_settings(name, &role).expect("a valid role")
    }

    fn national() -> Access {
        access(
            "executive",
            RoleSettings::new(RoleKind::Executive, Classification::Secret),
        )
    }

    fn ne() -> Access {
        access(
            "ne",
            RoleSettings {
                committees: vec![Committee::Water],
                region: "NE".to_owned(),
                ..RoleSettings::new(RoleKind::Liaison, Classification::Restricted)
            },
        )
    }

    #[test]
    fn each_scope_gets_its_cut_encoded_once() {
        // The nation's four regions and Bangkok.
        let v = Versioned::new(AreaDetail {
            breadcrumbs: breadcrumbs("nation", "TH"),
            committee: "water".to_owned(),
            range: "1d".to_owned(),
            window_seconds: 3600,
            series: Vec::new(),
            children: children("nation", "TH")
                .into_iter()
                .map(|place| ChildRow {
                    place,
                    values: Vec::new(),
                })
                .collect(),
            complete_up_to_ms: None,
            generated_at_ms: 0,
        });
        let codes = |body: &Body| {
            let d: AreaDetail = serde_json::from_slice(&body.json).expect("an area");
            d.children
                .into_iter()
                .map(|c| c.place.code)
                .collect::<Vec<_>>()
        };
        let all = v.json_for::<AreaKey>(&national()).expect("encodes");
        let mine = v.json_for::<AreaKey>(&ne()).expect("encodes");
        assert_eq!(codes(&all).len(), 5);
        assert_eq!(codes(&mine), ["NE"], "cut by the one rule (Access::area)");
        assert_ne!(all.etag, mine.etag, "one tag per cut");
        // Asked again (on a clone, as each request holds one): the same
        // bytes, not a second encoding.
        let again = v.clone();
        let all_again = again.json_for::<AreaKey>(&national()).expect("encodes");
        assert_eq!(all_again.json.as_ptr(), all.json.as_ptr());
        assert_eq!(all_again.etag, all.etag);
        let mine_again = again.json_for::<AreaKey>(&ne()).expect("encodes");
        assert_eq!(mine_again.json.as_ptr(), mine.json.as_ptr());
        // The next version of the same read has another tag.
        let next = Versioned::new((*v.value).clone());
        assert_ne!(
            next.json_for::<AreaKey>(&national()).expect("encodes").etag,
            all.etag
        );
    }

    #[test]
    fn the_district_map_is_cut_to_the_viewers_districts() {
        let point: Point = serde_json::from_value(serde_json::json!({
            "window_start_ms": 0, "window_end_ms": 3_600_000, "value": 1.0,
            "count": 10, "final_": true, "computed_at_ms": 0
        }))
        .expect("a point");
        // Ubon Ratchathani (NE) and Chiang Mai (N).
        let v = Versioned::new(MapLayer::new(
            "water_freeboard_m".to_owned(),
            vec![
                ("3401".to_owned(), point.clone()),
                ("5001".to_owned(), point),
            ],
        ));
        let codes = |body: &Body| {
            let m: MapLayer = serde_json::from_slice(&body.json).expect("a layer");
            m.provinces.into_iter().map(|(c, _)| c).collect::<Vec<_>>()
        };
        let all = v.json_for::<DistrictMapKey>(&national()).expect("encodes");
        let mine = v.json_for::<DistrictMapKey>(&ne()).expect("encodes");
        assert_eq!(codes(&all), ["3401", "5001"]);
        assert_eq!(
            codes(&mine),
            ["3401"],
            "cut by the one rule (Access::layer)"
        );
        assert_ne!(all.etag, mine.etag);
    }
}
