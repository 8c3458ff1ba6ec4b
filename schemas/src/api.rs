//! Payloads between the dashboard server and the browser.

use serde::{Deserialize, Serialize};

use crate::{alert::AlertEvent, committee::Committee};

/// The newest closed window of one province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvinceLatest {
    pub province_code: String,
    pub name_th: String,
    pub name_en: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub last: f64,
    /// Least freeboard (bank minus level, m) in the newest closed window;
    /// below zero the river overtopped its bank.
    pub min_freeboard_m: Option<f64>,
    /// When the pipeline computed this row (wall clock), for "how old is it".
    pub computed_at_ms: i64,
}

/// What the water panel shows: one row per province that has data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WaterSnapshot {
    pub metric: String,
    pub source: String,
    pub window_seconds: u32,
    pub provinces: Vec<ProvinceLatest>,
    /// End of the newest window the pipeline has closed, over all provinces.
    pub newest_closed_window_end_ms: Option<i64>,
    /// When the server read this from ClickHouse.
    pub generated_at_ms: i64,
}

// ---------------------------------------------------------------------------
// Wall screen, drill-down and alerts (all committees, `window_aggregates`).
// ---------------------------------------------------------------------------

/// One window's headline figure of one metric at one area.
///
/// Built only by [`crate::privacy::PrivacySettings::point`] (the `sealed`
/// field is private), so a people count cannot leave the server without
/// the privacy rule: rounded, or suppressed with no number at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// `None` when suppressed (never a 0 standing in for a hidden count).
    pub value: Option<f64>,
    /// Events in the window; `None` for people metrics (see `privacy`).
    pub count: Option<u64>,
    /// `false` while the window is still open (a running value).
    pub final_: bool,
    /// `Some(k)`: a count of people below k, withheld; shown as `<k`.
    #[serde(default)]
    pub suppressed_below: Option<u64>,
    pub computed_at_ms: i64,
    /// Values of this window that arrived too late to be folded in (beyond
    /// the correction horizon): not in the figure, kept as corrections in
    /// `late_events` and shown beside it.
    #[serde(default)]
    pub late: u64,
    /// Late values folded into the figure after its window was final: the
    /// figure is revised, and says by how many.
    #[serde(default)]
    pub revised: u64,
    /// 95th percentile, for metrics with a distribution (waiting times).
    #[serde(default)]
    pub p95: Option<f64>,
    #[serde(skip)]
    pub(crate) sealed: Sealed,
}

/// Keeps [`Point`] from being built outside this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Sealed;

impl Point {
    /// A small count of people, withheld.
    pub fn is_suppressed(&self) -> bool {
        self.suppressed_below.is_some()
    }
}

/// A metric's newest figure and its recent history, for a tile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// Catalogue name (`schemas::metric::METRICS`); labels, unit and
    /// source come from the catalogue, which the browser shares.
    pub metric: String,
    /// Oldest first; the last one is the headline.
    pub points: Vec<Point>,
}

impl MetricSeries {
    pub fn latest(&self) -> Option<&Point> {
        self.points.last()
    }
}

/// One committee's panel on the wall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitteePanel {
    /// `population`, `security`, `water`, `resources`.
    pub committee: String,
    pub window_seconds: u32,
    pub series: Vec<MetricSeries>,
    /// Windows ending at or before this are final, over all the
    /// committee's sources (the slowest source decides).
    pub complete_up_to_ms: Option<i64>,
    /// Worst freshness light of the committee's sources.
    pub light: Light,
}

/// How late a source is, from wall-clock silence against its cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Amber,
    Red,
    /// Never heard from.
    #[default]
    Unknown,
}

impl Light {
    /// Green under 1.5 cadences since `newest_ms`, amber under 3, red
    /// beyond. Judged on the event time of a source's newest data, not on
    /// when the pipeline last read something from it: a pipeline working
    /// through a backlog reads constantly, yet what it shows can be old.
    ///
    /// ```
    /// use pmoc_schemas::api::Light;
    /// assert_eq!(Light::of(100_000, 99_000, 60), Light::Green);
    /// assert_eq!(Light::of(200_000, 50_000, 60), Light::Amber);
    /// assert_eq!(Light::of(400_000, 50_000, 60), Light::Red);
    /// ```
    pub fn of(now_ms: i64, newest_ms: i64, cadence_s: u32) -> Self {
        if newest_ms <= 0 {
            return Self::Unknown;
        }
        let age = (now_ms - newest_ms).max(0) as f64;
        let cadence = f64::from(cadence_s.max(1)) * 1000.0;
        if age < 1.5 * cadence {
            Self::Green
        } else if age < 3.0 * cadence {
            Self::Amber
        } else {
            Self::Red
        }
    }

    /// Older than the cadence allows (amber or red).
    pub fn is_stale(self) -> bool {
        matches!(self, Self::Amber | Self::Red)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Green => "green",
            Self::Amber => "amber",
            Self::Red => "red",
            Self::Unknown => "unknown",
        }
    }
}

/// One source's completeness and liveness (greatest over pipeline workers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFreshness {
    pub committee: String,
    pub source_agency: String,
    pub source_system: String,
    pub schema: String,
    pub final_up_to_ms: i64,
    pub last_event_ms: i64,
    pub last_seen_ms: i64,
    pub expected_cadence_s: u32,
    pub events_total: u64,
    /// As of the snapshot; the browser recomputes it with [`Self::light_at`].
    pub light: Light,
}

impl SourceFreshness {
    /// How stale the source's newest data is at `now_ms`.
    pub fn light_at(&self, now_ms: i64) -> Light {
        Light::of(now_ms, self.last_event_ms, self.expected_cadence_s)
    }

    /// The worst light of the sources that feed `metric` (its catalogue
    /// source schema), `Unknown` when none has reported.
    pub fn of_metric<'a>(
        sources: impl IntoIterator<Item = &'a SourceFreshness>,
        metric: &str,
        now_ms: i64,
    ) -> Light {
        let Some(schema) = crate::metric::MetricId::from_name(metric).map(|m| m.schema()) else {
            return Light::Unknown;
        };
        sources
            .into_iter()
            .filter(|f| f.schema == schema.name)
            .map(|f| f.light_at(now_ms))
            .min_by_key(|l| match l {
                // The freshest system of a feed speaks for the feed.
                Light::Unknown => 3,
                Light::Red => 2,
                Light::Amber => 1,
                Light::Green => 0,
            })
            .unwrap_or(Light::Unknown)
    }
}

/// An operator's acknowledgement or resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAction {
    pub alert_id: String,
    /// `acknowledge` or `resolve`.
    pub action: String,
    pub comment: String,
    pub actor: String,
    pub at_ms: i64,
}

/// An alert as operators see it: the pipeline's newest transition of it
/// (flattened, so the JSON has the transition's fields at the top), its
/// area's names and what operators did about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    #[serde(flatten)]
    pub event: AlertEvent,
    pub area_th: String,
    pub area_en: String,
    /// Oldest first.
    pub actions: Vec<AlertAction>,
    /// `Some(k)` when the alert is about people: its `value` or `threshold`
    /// may then be withheld (`null`), shown as `<k`.
    #[serde(default)]
    pub suppressed_below: Option<u64>,
}

impl Alert {
    /// The alert with its area's display names (empty when unknown), its
    /// figures protected when it is about people (whatever wrote the row).
    pub fn new(
        mut event: AlertEvent,
        actions: Vec<AlertAction>,
        privacy: &crate::privacy::PrivacySettings,
    ) -> Self {
        privacy.alert(&mut event);
        let suppressed_below =
            crate::privacy::is_people(&event.metric).then_some(privacy.min_count);
        let names = place(&event.area_level, &event.area_code);
        let (area_th, area_en) = names.map(|p| (p.name_th, p.name_en)).unwrap_or_default();
        Self {
            event,
            area_th,
            area_en,
            actions,
            suppressed_below,
        }
    }

    /// Acknowledged, by an acknowledgement or by an operator closing it.
    pub fn acknowledged(&self) -> bool {
        !self.actions.is_empty()
    }

    /// An operator closed it (with a reason).
    pub fn closed_by_operator(&self) -> bool {
        self.actions.iter().any(|a| a.action == "resolve")
    }

    /// On the wall while the pipeline still sees the breach, whatever
    /// operators did: closing an alert does not make the breach go away, it
    /// only marks the alert as dealt with.
    pub fn is_open(&self) -> bool {
        self.event.state.is_open()
    }
}

/// Province figures of one metric, for the choropleth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapLayer {
    pub metric: String,
    /// `(area code, newest point)`: provinces on the wall, districts on the
    /// national district map. On the wall a point keeps the time its figure
    /// last changed (`wall::settle` on the server): the pipeline recomputes
    /// running windows every second, and pushing 77 unchanged figures for a
    /// new time each was a third of every push.
    pub provinces: Vec<(String, Point)>,
    /// When the newest of its figures was computed: the layer's as-of.
    #[serde(default)]
    pub computed_at_ms: i64,
}

impl MapLayer {
    pub fn new(metric: String, provinces: Vec<(String, Point)>) -> Self {
        let computed_at_ms = provinces
            .iter()
            .map(|(_, p)| p.computed_at_ms)
            .max()
            .unwrap_or(0);
        Self {
            metric,
            provinces,
            computed_at_ms,
        }
    }
}

/// The wall's rotation, as configured (see `config::DashboardSettings`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WallSettings {
    pub rotation: Vec<String>,
    pub rotation_seconds: u32,
    pub alert_hold_seconds: u32,
}

/// Everything the wall screen shows; pushed as the `wall` event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WallSnapshot {
    pub generated_at_ms: i64,
    pub panels: Vec<CommitteePanel>,
    /// One layer per committee (its map metric).
    pub maps: Vec<MapLayer>,
    /// Open alerts, worst first.
    pub alerts: Vec<Alert>,
    pub freshness: Vec<SourceFreshness>,
    /// Rejected messages of the last 24 h by committee and reason kind.
    pub rejects: Vec<RejectCount>,
    pub settings: WallSettings,
}

/// Rejected messages of one reason kind on one committee's topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectCount {
    /// Empty for a source topic that is no committee's (rows stored under a
    /// topic name the settings no longer use).
    pub committee: String,
    pub reason_kind: String,
    pub count: u64,
}

/// A place in the drill-down, with its display names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// `nation`, `region4`, `province` or `district`.
    pub level: String,
    pub code: String,
    pub name_th: String,
    pub name_en: String,
}

/// A child area's newest figures, one per metric of the committee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildRow {
    pub place: Place,
    /// Same order as `AreaDetail::series`; `None` without data.
    pub values: Vec<Option<Point>>,
}

/// One committee's figures for one place and time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaDetail {
    /// Nation first, the place itself last.
    pub breadcrumbs: Vec<Place>,
    pub committee: String,
    /// `1h`, `1d` or `7d`.
    pub range: String,
    pub window_seconds: u32,
    pub series: Vec<MetricSeries>,
    pub children: Vec<ChildRow>,
    pub complete_up_to_ms: Option<i64>,
    pub generated_at_ms: i64,
}

/// Body of `POST /api/alerts/{id}/acknowledge` and `/resolve`. The actor
/// is always the signed-in user, never a field of the body (a body that
/// names one is refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// Why: required for both, at most [`MAX_COMMENT_CHARS`].
    pub comment: String,
}

/// Longest comment or closing reason, characters.
pub const MAX_COMMENT_CHARS: usize = 1_000;
/// Most actions one alert may collect (its history is shown on the wall).
pub const MAX_ACTIONS_PER_ALERT: usize = 100;

/// The time ranges the drill-down offers, with the window width that fits:
/// `(key, seconds back, window seconds)`.
pub const RANGES: &[(&str, i64, u32)] = &[
    ("1h", 3_600, 60),
    ("1d", 86_400, 3_600),
    ("7d", 7 * 86_400, 3_600),
];

/// Region names of the NSO/NESDC scheme (`area::REGIONS4`): `(key, th, en)`.
pub const REGION4_NAMES: &[(&str, &str, &str)] = &[
    ("BKK", "กรุงเทพมหานคร", "Bangkok"),
    ("C", "ภาคกลาง", "Central"),
    ("N", "ภาคเหนือ", "North"),
    ("NE", "ภาคตะวันออกเฉียงเหนือ", "Northeast"),
    ("S", "ภาคใต้", "South"),
];

/// The display names of an area, `None` if unknown.
pub fn place(level: &str, code: &str) -> Option<Place> {
    let (th, en) = match level {
        "nation" if code == crate::area::NATION_CODE => {
            ("ประเทศไทย".to_owned(), "Thailand".to_owned())
        }
        "region4" => REGION4_NAMES
            .iter()
            .find(|r| r.0 == code)
            .map(|r| (r.1.to_owned(), r.2.to_owned()))?,
        "province" => {
            crate::area::province(code).map(|p| (p.name_th.clone(), p.name_en.clone()))?
        }
        "district" => {
            crate::district::district(code).map(|d| (d.name_th.clone(), d.name_en.clone()))?
        }
        _ => return None,
    };
    Some(Place {
        level: level.to_owned(),
        code: code.to_owned(),
        name_th: th,
        name_en: en,
    })
}

/// Nation, region, province, district: the chain above and including a place.
pub fn breadcrumbs(level: &str, code: &str) -> Vec<Place> {
    let mut chain = Vec::new();
    let nation = place("nation", crate::area::NATION_CODE);
    let province_code = match level {
        "district" => crate::district::district(code).map(|d| d.province_code.clone()),
        "province" => Some(code.to_owned()),
        _ => None,
    };
    let region = match (level, &province_code) {
        ("region4", _) => Some(code.to_owned()),
        (_, Some(p)) => crate::area::province(p).map(|p| p.region4.clone()),
        _ => None,
    };
    chain.extend(nation);
    chain.extend(region.and_then(|r| place("region4", &r)));
    chain.extend(province_code.and_then(|p| place("province", &p)));
    if level == "district" {
        chain.extend(place("district", code));
    }
    chain
}

/// The places one level below, in code order.
pub fn children(level: &str, code: &str) -> Vec<Place> {
    match level {
        "nation" => REGION4_NAMES
            .iter()
            .filter_map(|r| place("region4", r.0))
            .collect(),
        "region4" => crate::area::provinces()
            .iter()
            .filter(|p| p.region4 == code)
            .filter_map(|p| place("province", &p.code))
            .collect(),
        "province" => crate::district::districts()
            .iter()
            .filter(|d| d.province_code == code)
            .filter_map(|d| place("district", &d.code))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertState;

    #[test]
    fn breadcrumbs_run_from_the_nation_down() {
        let levels = |v: Vec<Place>| v.into_iter().map(|p| p.code).collect::<Vec<_>>();
        assert_eq!(levels(breadcrumbs("nation", "TH")), ["TH"]);
        assert_eq!(levels(breadcrumbs("province", "34")), ["TH", "NE", "34"]);
        assert_eq!(
            levels(breadcrumbs("district", "5001")),
            ["TH", "N", "50", "5001"]
        );
        assert_eq!(children("nation", "TH").len(), 5);
        assert_eq!(children("province", "10").len(), 50);
        assert!(place("province", "99").is_none());
    }

    #[test]
    fn an_alert_is_its_transition_on_the_wire_with_names_and_actions() {
        use crate::alert::Severity;
        let event = AlertEvent {
            alert_id: "dam_low:province:50:0".to_owned(),
            rule: "dam_low".to_owned(),
            severity: Severity::Warning,
            committee: crate::committee::Committee::Water,
            metric: "dam_storage_pct".to_owned(),
            area_level: "province".to_owned(),
            area_code: "50".to_owned(),
            state: AlertState::Open,
            opened_at_ms: 0,
            updated_at_ms: 60_000,
            resolved_at_ms: 0,
            value: 21.5,
            threshold: 30.0,
            evidence: "dam_storage_pct 21.50 vs 30.00".to_owned(),
            revision: 0,
        };
        let alert = Alert::new(event, Vec::new(), &Default::default());
        assert_eq!(alert.area_en, "Chiang Mai");
        let json = serde_json::to_value(&alert).expect("json");
        assert_eq!(json["severity"], "warning");
        assert_eq!(json["state"], "open");
        assert_eq!(json["area_code"], "50");
        assert_eq!(json["actions"], serde_json::json!([]));
        assert_eq!(serde_json::from_value::<Alert>(json).ok(), Some(alert));
    }
}

/// Alerts a page of the alerts page lists.
pub const ALERTS_PER_PAGE: u32 = 50;

/// Which alerts by what operators did and what the pipeline sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStateFilter {
    /// Not resolved by the pipeline (acknowledged or not).
    #[default]
    Open,
    /// Open, and nobody has acted on it yet.
    Unacknowledged,
    /// Open, acknowledged or closed by an operator.
    Acknowledged,
    Resolved,
    All,
}

impl AlertStateFilter {
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::Unacknowledged,
        Self::Acknowledged,
        Self::Resolved,
        Self::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Unacknowledged => "unacknowledged",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::All => "all",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The alerts page's question (`GET /api/alerts/page`): every field is also
/// in the page's URL, so a filtered view can be bookmarked and shared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertQuery {
    pub committee: Option<Committee>,
    pub severity: Option<crate::alert::Severity>,
    pub state: AlertStateFilter,
    /// A region (`NE`, of the four-region scheme) or a province code.
    pub area: Option<String>,
    /// From 0.
    pub page: u32,
}

/// Alerts of one rule in one region, counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertGroup {
    pub rule: String,
    /// A region key, or `TH` for alerts about the whole country.
    pub region: String,
    pub count: u64,
    pub worst: crate::alert::Severity,
}

/// One page of the alerts matching an [`AlertQuery`], worst and newest
/// first, with every matching alert counted by rule and region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertPage {
    /// Alerts matching the query, over all pages.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    /// Worst first, then most alerts first.
    pub groups: Vec<AlertGroup>,
    pub alerts: Vec<Alert>,
}
