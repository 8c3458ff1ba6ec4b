//! What a metric's figures mean: the kind of quantity (which decides how a
//! window combines its reports), the statistic a tile shows, and the words
//! that say both on screen.
//!
//! The issue behind this module: a national "water level 110.9 m MSL" (a
//! mean of stations at different altitudes), a dam's inflow of the day
//! summed every time it was re-reported, an incident counted again at each
//! status update. Each of those was a combination that is valid for one
//! kind of quantity applied to another. Declaring the kind once, here, is
//! what lets the pipeline, the batch oracle and the dashboard agree.

use serde::{Deserialize, Serialize};

use crate::calendar::Lang;

/// How a metric's reports combine within a window and across areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Distinct reports (births of one office's hour, a hotspot, a
    /// contract), each counted once and summed over the period.
    Flow,
    /// A total of the day so far that each entity repeats in every report
    /// (a dam's inflow of the day): the latest report per entity, summed
    /// across entities, so thirty reports of one dam count once.
    DailyTotal,
    /// A level or stock (a river level, PM2.5 at a station): the latest
    /// value per entity, then across entities (how many, the lowest, the
    /// highest, their mean). Never a mean of every reading.
    Level,
    /// A share of a capacity or an allocation (dam storage, budget
    /// disbursed): the latest (share, capacity) per entity; across entities
    /// the total over the total capacity, never a mean of percentages.
    Share,
    /// Entities with a life cycle (incidents): counted by id, each with its
    /// latest status and severity.
    Lifecycle,
}

impl Kind {
    /// Whether a window keeps the latest value of each entity rather than
    /// every report.
    pub fn per_entity(self) -> bool {
        self != Self::Flow
    }

    /// Whether the figure describes a state at the end of the window
    /// ("now") rather than what happened during it ("this hour").
    pub fn is_state(self) -> bool {
        matches!(self, Self::Level | Self::Share)
    }
}

/// Which of a window's figures a tile shows first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Headline {
    /// How many reports (flows) or entities (the other kinds).
    Count,
    /// Total of the values (births, baht; for entity kinds the sum of each
    /// entity's latest value).
    Sum,
    /// Mean, weighted by capacity for [`Kind::Share`] (total stored over
    /// total capacity).
    Mean,
    Max,
    Min,
    /// The value of the newest event. Only for one reporter: above one,
    /// "last" would be whichever report came last.
    Last,
    /// The median, for distributions such as waiting times.
    P50,
    /// Entities meeting a condition (value 1) out of those reporting:
    /// "stations above warning: 3 of 120".
    SumOfCount,
}

/// What an entity of a metric is called, to say "highest station" or
/// "3 of 120 stations".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub th: &'static str,
    pub en: &'static str,
}

pub const STATIONS: Entity = Entity {
    th: "สถานี",
    en: "stations",
};
pub const DAMS: Entity = Entity {
    th: "เขื่อน",
    en: "dams",
};
pub const MINISTRIES: Entity = Entity {
    th: "กระทรวง",
    en: "ministries",
};
pub const INCIDENTS: Entity = Entity {
    th: "เหตุการณ์",
    en: "incidents",
};

/// The period a window's figure covers, as a person says it: a state is
/// "now" (the latest report of each entity), anything else the window.
pub fn period(kind: Kind, window_seconds: u32, lang: Lang) -> &'static str {
    let th = matches!(lang, Lang::Th);
    match (kind.is_state(), window_seconds, th) {
        (true, _, true) => "ขณะนี้",
        (true, _, false) => "now",
        (false, 86_400, true) => "วันนี้",
        (false, 86_400, false) => "today",
        (false, 3_600, true) => "ชั่วโมงนี้",
        (false, 3_600, false) => "this hour",
        (false, 60, true) => "นาทีนี้",
        (false, 60, false) => "this minute",
        (false, _, true) => "ช่วงนี้",
        (false, _, false) => "this window",
    }
}

/// The statistic a headline shows, as a person says it ("highest station",
/// "total over capacity"); empty for a plain total or count, whose label
/// already says it.
pub fn statistic(
    headline: Headline,
    kind: Kind,
    entity: Option<Entity>,
    lang: Lang,
) -> &'static str {
    let th = matches!(lang, Lang::Th);
    let station = entity == Some(STATIONS);
    match (headline, kind, station, th) {
        (Headline::Max, _, true, true) => "สูงสุดรายสถานี",
        (Headline::Max, _, true, false) => "highest station",
        (Headline::Min, _, true, true) => "ต่ำสุดรายสถานี",
        (Headline::Min, _, true, false) => "lowest station",
        (Headline::Max, _, false, true) => "สูงสุด",
        (Headline::Max, _, false, false) => "highest",
        (Headline::Min, _, false, true) => "ต่ำสุด",
        (Headline::Min, _, false, false) => "lowest",
        (Headline::Mean, Kind::Share, _, true) => "รวมเทียบความจุรวม",
        (Headline::Mean, Kind::Share, _, false) => "total over total capacity",
        (Headline::Mean, _, true, true) => "เฉลี่ยรายสถานี",
        (Headline::Mean, _, true, false) => "mean of stations",
        (Headline::Mean, _, false, true) => "เฉลี่ย",
        (Headline::Mean, _, false, false) => "mean",
        (Headline::P50, _, _, true) => "มัธยฐาน",
        (Headline::P50, _, _, false) => "median",
        (Headline::Last, _, _, true) => "ล่าสุด",
        (Headline::Last, _, _, false) => "latest",
        (Headline::Count, Kind::Level | Kind::Share, _, true) => "จำนวนที่รายงาน",
        (Headline::Count, Kind::Level | Kind::Share, _, false) => "reporting",
        (Headline::Count | Headline::Sum | Headline::SumOfCount, _, _, _) => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_now_and_flows_their_window() {
        assert_eq!(period(Kind::Level, 3_600, Lang::En), "now");
        assert_eq!(period(Kind::Share, 86_400, Lang::Th), "ขณะนี้");
        assert_eq!(period(Kind::Flow, 86_400, Lang::En), "today");
        assert_eq!(period(Kind::DailyTotal, 86_400, Lang::Th), "วันนี้");
        assert_eq!(period(Kind::Lifecycle, 3_600, Lang::En), "this hour");
    }

    #[test]
    fn statistics_name_what_was_combined() {
        let s = |h, k, e| statistic(h, k, e, Lang::En);
        assert_eq!(
            s(Headline::Max, Kind::Level, Some(STATIONS)),
            "highest station"
        );
        assert_eq!(
            s(Headline::Mean, Kind::Share, Some(DAMS)),
            "total over total capacity"
        );
        assert_eq!(s(Headline::Sum, Kind::Flow, None), "");
    }
}
