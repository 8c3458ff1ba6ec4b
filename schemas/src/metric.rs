//! The catalogue of metrics: what the pipeline aggregates out of each
//! committee's messages, and what the dashboard needs to show them (which
//! figure is the headline, small-count suppression). Their words (labels,
//! short forms, units, in Thai and English) are in [`crate::catalogue`].
//!
//! One table, shared by the pipeline, the batch oracle of the tests and the
//! WASM front end, so a metric cannot mean one thing in ClickHouse and
//! another on the wall screen.

use serde::{Deserialize, Serialize};

use crate::{
    committee::{Committee, population::ServiceOutcome},
    envelope::{Envelope, Payload},
};

/// Which of a window's figures a tile shows first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Headline {
    /// How many events (incidents, hotspots, transactions).
    Count,
    /// Total of the values (births, baht).
    Sum,
    Mean,
    Max,
    Min,
    /// The value of the newest event (a level). Not for percentages reported
    /// per dam or per ministry: above one reporter, "last" would be whichever
    /// report came last, so those use `Mean`.
    Last,
    /// The median, for distributions such as waiting times.
    P50,
}

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
    pub headline: Headline,
    /// Whether windows keep a histogram for p50/p95 (waiting times): a mean
    /// hides the long tail the public actually complains about.
    pub distribution: bool,
    /// Counts about people below this are not shown (privacy): a district
    /// with "1 death" may identify a family.
    pub suppress_below: Option<u64>,
}

const fn def(
    id: MetricId,
    name: &'static str,
    committee: Committee,
    source: &'static str,
    headline: Headline,
) -> MetricDef {
    MetricDef {
        id,
        name,
        committee,
        source,
        headline,
        distribution: false,
        suppress_below: None,
    }
}

/// Counts of people: suppressed below five, the usual statistical-office rule.
const PEOPLE_SUPPRESSION: Option<u64> = Some(5);

use Committee::{Population, Resources, Security, Water};
use Headline::{Count, Last, Max, Mean, P50, Sum};

/// Every metric, in display order within each committee.
pub const METRICS: &[MetricDef] = &[
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::Births, "births", Population, "DOPA", Sum)
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::Deaths, "deaths", Population, "DOPA", Sum)
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::MoveIn, "move_in", Population, "DOPA", Sum)
    },
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(MetricId::MoveOut, "move_out", Population, "DOPA", Sum)
    },
    def(
        MetricId::IdCardsIssued,
        "id_cards_issued",
        Population,
        "DOPA",
        Sum,
    ),
    MetricDef {
        distribution: true,
        ..def(
            MetricId::ServiceWaitMinutes,
            "service_wait_min",
            Population,
            "DOPA",
            P50,
        )
    },
    def(
        MetricId::ServiceNotCompleted,
        "service_not_completed",
        Population,
        "DOPA",
        Sum,
    ),
    MetricDef {
        suppress_below: PEOPLE_SUPPRESSION,
        ..def(
            MetricId::IncidentSeverity,
            "incident_severity",
            Security,
            "NSC",
            Count,
        )
    },
    def(
        MetricId::WaterLevel,
        crate::aggregate::METRIC_WATER_LEVEL,
        Water,
        "HII",
        Last,
    ),
    def(
        MetricId::WaterFreeboard,
        crate::aggregate::METRIC_WATER_FREEBOARD,
        Water,
        "HII",
        crate::metric::Headline::Min,
    ),
    def(
        MetricId::WaterPctBankFull,
        "water_pct_bank_full",
        Water,
        "HII",
        Max,
    ),
    def(MetricId::Rain1h, "rain_1h_mm", Water, "HII", Max),
    def(MetricId::Rain24h, "rain_24h_mm", Water, "HII", Max),
    def(
        MetricId::DamStoragePct,
        "dam_storage_pct",
        Water,
        "RID",
        Mean,
    ),
    def(MetricId::DamInflow, "dam_inflow_mcm", Water, "RID", Sum),
    def(MetricId::DamRelease, "dam_release_mcm", Water, "RID", Sum),
    def(MetricId::Temperature, "temperature_c", Water, "TMD", Mean),
    def(MetricId::Pm25, "pm25_ugm3", Resources, "PCD", Max),
    def(MetricId::Aqi, "aqi", Resources, "PCD", Max),
    def(MetricId::Hotspots, "hotspots", Resources, "GISTDA", Count),
    def(
        MetricId::BudgetDisbursedPct,
        "budget_disbursed_pct",
        Resources,
        "CGD",
        Mean,
    ),
    def(
        MetricId::ProcurementValue,
        "procurement_value_thb",
        Resources,
        "CGD",
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
            M::IncidentSeverity => c::INCIDENT,
            M::WaterLevel | M::WaterFreeboard | M::WaterPctBankFull => c::WATER_LEVEL,
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

/// The values one validated message contributes, one per metric. A pure
/// function of the message, so the dataflow and the tests' batch oracle
/// cannot disagree about what an event means.
pub fn values(envelope: &Envelope) -> Vec<(MetricId, f64)> {
    use MetricId as M;
    match &envelope.payload {
        Payload::CivilRegistration(c) => vec![
            (M::Births, f64::from(c.births)),
            (M::Deaths, f64::from(c.deaths)),
            (M::MoveIn, f64::from(c.move_in)),
            (M::MoveOut, f64::from(c.move_out)),
            (M::IdCardsIssued, f64::from(c.id_cards_issued)),
        ],
        Payload::PublicService(s) => vec![
            (M::ServiceWaitMinutes, s.wait_minutes),
            (
                M::ServiceNotCompleted,
                if s.outcome == ServiceOutcome::Completed {
                    0.0
                } else {
                    1.0
                },
            ),
        ],
        Payload::Incident(i) => vec![(M::IncidentSeverity, f64::from(i.severity))],
        Payload::WaterLevel(w) => {
            let mut v = vec![
                (M::WaterLevel, w.level_m_msl),
                (M::WaterFreeboard, w.bank_level_m_msl - w.level_m_msl),
            ];
            if let Some(pct) = w.pct_bank_full {
                v.push((M::WaterPctBankFull, pct));
            }
            v
        }
        Payload::Rainfall(r) => vec![(M::Rain1h, r.rain_1h_mm), (M::Rain24h, r.rain_24h_mm)],
        Payload::DamStorage(d) => vec![
            (M::DamStoragePct, d.pct_capacity),
            (M::DamInflow, d.inflow_mcm),
            (M::DamRelease, d.release_mcm),
        ],
        Payload::Weather(w) => vec![(M::Temperature, w.temperature_c)],
        Payload::AirQuality(a) => {
            let mut v = vec![(M::Pm25, a.pm25_ugm3)];
            if let Some(aqi) = a.aqi {
                v.push((M::Aqi, f64::from(aqi)));
            }
            v
        }
        Payload::FireHotspot(h) => vec![(M::Hotspots, h.frp_mw.unwrap_or(0.0))],
        Payload::BudgetDisbursement(b) => {
            let pct = if b.budget_thb > 0.0 {
                b.disbursed_thb / b.budget_thb * 100.0
            } else {
                0.0
            };
            vec![(M::BudgetDisbursedPct, pct)]
        }
        Payload::ProcurementContract(p) => vec![(M::ProcurementValue, p.value_thb)],
    }
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
        assert_eq!(METRICS.len(), MetricId::ProcurementValue as usize + 1);
        for c in Committee::ALL {
            assert!(of_committee(c).count() >= 1, "{c} has no metric");
        }
    }
}
