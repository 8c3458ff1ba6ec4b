//! The catalogue of metrics: what the pipeline aggregates out of each
//! committee's messages, and what the dashboard needs to show them (the kind
//! of quantity, which figure is the headline, small-count suppression).
//! Their words (labels, short forms, units, in Thai and English) are in
//! [`crate::catalogue`].
//!
//! One table, shared by the pipeline, the batch oracle of the tests and the
//! WASM front end, so a metric cannot mean one thing in ClickHouse and
//! another on the wall screen.

mod meaning;
mod values;

use serde::{Deserialize, Serialize};

pub use self::{
    meaning::{DAMS, Entity, Headline, INCIDENTS, Kind, MINISTRIES, STATIONS, period, statistic},
    values::{
        SEVERE_FROM, Value, WARNING_PCT_BANK_FULL, above_warning, entity_id, entity_key,
        pct_bank_full, values,
    },
};
use crate::{calendar::Lang, committee::Committee};

/// A metric's identity: small and copyable, so observations stay cheap to
/// move through the dataflow; its name is what ClickHouse stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MetricId {
    Births,
    Deaths,
    MoveIn,
    MoveOut,
    IdCardsIssued,
    ServiceWaitMinutes,
    ServiceNotCompleted,
    IncidentSeverity,
    WaterLevel,
    WaterFreeboard,
    WaterPctBankFull,
    Rain1h,
    Rain24h,
    DamStoragePct,
    DamInflow,
    DamRelease,
    Temperature,
    Pm25,
    Aqi,
    Hotspots,
    BudgetDisbursedPct,
    ProcurementValue,
    IncidentsOpen,
    IncidentsNew,
    IncidentsSevereOpen,
    WaterAboveWarning,
    WaterAboveBank,
}

/// Everything the pipeline and the dashboard know about one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    pub id: MetricId,
    /// Stored in ClickHouse's `metric` column; never renamed once released.
    pub name: &'static str,
    pub committee: Committee,
    /// The accountable agency, shown next to every figure.
    pub source: &'static str,
    /// How reports combine: per report, or the latest per entity.
    pub kind: Kind,
    /// What the entities are called, for entity kinds ("3 of 120 stations").
    pub entity: Option<Entity>,
    pub headline: Headline,
    /// Whether windows keep a histogram for p50/p95 (waiting times): a mean
    /// hides the long tail the public actually complains about.
    pub distribution: bool,
    /// Counts about people below this are not shown (privacy): a district
    /// with "1 death" may identify a family.
    pub suppress_below: Option<u64>,
}

impl MetricDef {
    /// "highest station · now", "today": the statistic and period of this
    /// metric's figure in a window of `window_seconds`, for tiles and charts.
    pub fn meaning(&self, window_seconds: u32, lang: Lang) -> String {
        let stat = statistic(self.headline, self.kind, self.entity, lang);
        let period = period(self.kind, window_seconds, lang);
        if stat.is_empty() {
            period.to_owned()
        } else {
            format!("{stat} · {period}")
        }
    }

    /// The entity noun in `lang`, for "3 of 120 stations".
    pub fn entity_noun(&self, lang: Lang) -> &'static str {
        self.entity.map_or("", |e| match lang {
            Lang::Th => e.th,
            Lang::En => e.en,
        })
    }
}

#[allow(clippy::too_many_arguments)]
const fn def(
    id: MetricId,
    name: &'static str,
    committee: Committee,
    source: &'static str,
    (kind, entity): (Kind, Option<Entity>),
    headline: Headline,
) -> MetricDef {
    MetricDef {
        id,
        name,
        committee,
        source,
        kind,
        entity,
        headline,
        distribution: false,
        suppress_below: None,
    }
}

/// Counts of people: suppressed below five, the usual statistical-office rule.
const PEOPLE_SUPPRESSION: Option<u64> = Some(5);

use Committee::{Population, Resources, Security, Water};
use Headline::{Count, Max, Mean, Min, P50, Sum, SumOfCount};

const FLOW: (Kind, Option<Entity>) = (Kind::Flow, None);
const STATION_LEVEL: (Kind, Option<Entity>) = (Kind::Level, Some(STATIONS));
const INCIDENT: (Kind, Option<Entity>) = (Kind::Lifecycle, Some(INCIDENTS));

/// Every metric, in display order within each committee.
pub const METRICS: &[MetricDef] = &[
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::Births, "births", Population, "DOPA", FLOW, Sum)
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::Deaths, "deaths", Population, "DOPA", FLOW, Sum)
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::MoveIn, "move_in", Population, "DOPA", FLOW, Sum)
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::MoveOut, "move_out", Population, "DOPA", FLOW, Sum)
    },
    def(
        MetricId::IdCardsIssued,
        "id_cards_issued",
        Population,
        "DOPA",
        FLOW,
        Sum,
    ),
    MetricDef {
        distribution: true,
        ..def(
            MetricId::ServiceWaitMinutes,
            "service_wait_min",
            Population,
            "DOPA",
            FLOW,
            P50,
        )
    },
    def(
        MetricId::ServiceNotCompleted,
        "service_not_completed",
        Population,
        "DOPA",
        FLOW,
        Sum,
    ),
    // Each incident once, with its latest severity: the count is of
    // incidents, not of their status updates.
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(
            MetricId::IncidentSeverity,
            "incident_severity",
            Security,
            "NSC",
            INCIDENT,
            Count,
        )
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(
            MetricId::IncidentsOpen,
            "incidents_open",
            Security,
            "NSC",
            INCIDENT,
            Sum,
        )
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(
            MetricId::IncidentsNew,
            "incidents_new",
            Security,
            "NSC",
            INCIDENT,
            Sum,
        )
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(
            MetricId::IncidentsSevereOpen,
            "incidents_severe_open",
            Security,
            "NSC",
            INCIDENT,
            Sum,
        )
    },
    // Judged against each station's own bank: the headline of water.
    def(
        MetricId::WaterAboveWarning,
        "water_above_warning",
        Water,
        "HII",
        STATION_LEVEL,
        SumOfCount,
    ),
    def(
        MetricId::WaterAboveBank,
        "water_above_bank",
        Water,
        "HII",
        STATION_LEVEL,
        SumOfCount,
    ),
    // Levels in m MSL mostly measure a station's altitude: across stations
    // only how many report means anything.
    def(
        MetricId::WaterLevel,
        crate::aggregate::METRIC_WATER_LEVEL,
        Water,
        "HII",
        STATION_LEVEL,
        Count,
    ),
    def(
        MetricId::WaterFreeboard,
        crate::aggregate::METRIC_WATER_FREEBOARD,
        Water,
        "HII",
        STATION_LEVEL,
        Min,
    ),
    def(
        MetricId::WaterPctBankFull,
        "water_pct_bank_full",
        Water,
        "HII",
        STATION_LEVEL,
        Max,
    ),
    def(
        MetricId::Rain1h,
        "rain_1h_mm",
        Water,
        "HII",
        STATION_LEVEL,
        Max,
    ),
    // Each gauge's own 24-hour accumulation, as it reports it.
    def(
        MetricId::Rain24h,
        "rain_24h_mm",
        Water,
        "HII",
        STATION_LEVEL,
        Max,
    ),
    def(
        MetricId::DamStoragePct,
        "dam_storage_pct",
        Water,
        "RID",
        (Kind::Share, Some(DAMS)),
        Mean,
    ),
    def(
        MetricId::DamInflow,
        "dam_inflow_mcm",
        Water,
        "RID",
        (Kind::DailyTotal, Some(DAMS)),
        Sum,
    ),
    def(
        MetricId::DamRelease,
        "dam_release_mcm",
        Water,
        "RID",
        (Kind::DailyTotal, Some(DAMS)),
        Sum,
    ),
    def(
        MetricId::Temperature,
        "temperature_c",
        Water,
        "TMD",
        STATION_LEVEL,
        Mean,
    ),
    // Hourly station readings; the standard is a 24-hour mean, which the
    // alert rules average (`averaging_seconds`).
    def(
        MetricId::Pm25,
        "pm25_ugm3",
        Resources,
        "PCD",
        STATION_LEVEL,
        Max,
    ),
    def(MetricId::Aqi, "aqi", Resources, "PCD", STATION_LEVEL, Max),
    def(
        MetricId::Hotspots,
        "hotspots",
        Resources,
        "GISTDA",
        FLOW,
        Count,
    ),
    def(
        MetricId::BudgetDisbursedPct,
        "budget_disbursed_pct",
        Resources,
        "CGD",
        (Kind::Share, Some(MINISTRIES)),
        Mean,
    ),
    def(
        MetricId::ProcurementValue,
        "procurement_value_thb",
        Resources,
        "CGD",
        FLOW,
        Sum,
    ),
];

impl MetricId {
    pub fn def(self) -> &'static MetricDef {
        // The catalogue lists every variant; a test checks it.
        METRICS.iter().find(|d| d.id == self).unwrap_or(&METRICS[0])
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn from_name(name: &str) -> Option<Self> {
        METRICS.iter().find(|d| d.name == name).map(|d| d.id)
    }

    /// The schema whose messages carry this metric (see [`values`]): whose
    /// freshness says how old the metric's figures are.
    pub fn schema(self) -> crate::committee::SchemaId {
        use crate::committee as c;
        use MetricId as M;
        match self {
            M::Births | M::Deaths | M::MoveIn | M::MoveOut | M::IdCardsIssued => {
                c::CIVIL_REGISTRATION
            }
            M::ServiceWaitMinutes | M::ServiceNotCompleted => c::PUBLIC_SERVICE,
            M::IncidentSeverity | M::IncidentsOpen | M::IncidentsNew | M::IncidentsSevereOpen => {
                c::INCIDENT
            }
            M::WaterLevel
            | M::WaterFreeboard
            | M::WaterPctBankFull
            | M::WaterAboveWarning
            | M::WaterAboveBank => c::WATER_LEVEL,
            M::Rain1h | M::Rain24h => c::RAINFALL,
            M::DamStoragePct | M::DamInflow | M::DamRelease => c::DAM_STORAGE,
            M::Temperature => c::WEATHER,
            M::Pm25 | M::Aqi => c::AIR_QUALITY,
            M::Hotspots => c::FIRE_HOTSPOT,
            M::BudgetDisbursedPct => c::BUDGET_DISBURSEMENT,
            M::ProcurementValue => c::PROCUREMENT_CONTRACT,
        }
    }
}

/// The metrics of one committee, in display order.
pub fn of_committee(committee: Committee) -> impl Iterator<Item = &'static MetricDef> {
    METRICS.iter().filter(move |d| d.committee == committee)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_comes_from_a_schema_of_its_committee() {
        for d in METRICS {
            assert_eq!(d.id.schema().committee, d.committee, "{:?}", d.id);
        }
    }

    #[test]
    fn every_metric_is_catalogued_once_with_a_unique_name() {
        for (i, d) in METRICS.iter().enumerate() {
            assert_eq!(d.id.def().name, d.name, "{:?}", d.id);
            assert_eq!(MetricId::from_name(d.name), Some(d.id));
            assert!(
                METRICS[i + 1..]
                    .iter()
                    .all(|o| o.id != d.id && o.name != d.name),
                "{:?} listed twice",
                d.id
            );
        }
        assert_eq!(METRICS.len(), MetricId::WaterAboveBank as usize + 1);
        for c in Committee::ALL {
            assert!(of_committee(c).count() >= 1, "{c} has no metric");
        }
    }
}
