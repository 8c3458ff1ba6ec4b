//! What one validated message contributes: a value per metric, with the
//! entity it is about (station, dam, ministry, incident) and, for shares,
//! the capacity it is a share of.

use crate::{
    committee::{population::ServiceOutcome, security::IncidentStatus, water::WaterLevel},
    envelope::{Envelope, Payload},
};

use super::MetricId;

/// HII colours a station "high" from 70 % of bank-full (ThaiWater's bands:
/// below 10 critically low, 10-30 low, 30-70 normal, 70-100 high, above 100
/// over the bank): the level at which PMOC counts a station as above
/// warning.
pub const WARNING_PCT_BANK_FULL: f64 = 70.0;

/// Severity from which an incident counts as severe (4: provincial
/// significance, 5: national).
pub const SEVERE_FROM: u8 = 4;

/// One metric value of one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Value {
    pub metric: MetricId,
    pub value: f64,
    /// [`entity_key`] of the entity the value is about; 0 for flows, whose
    /// reports are each counted.
    pub entity: u64,
    /// The capacity or allocation a [`super::Kind::Share`] value is a share
    /// of (million m³, baht); 1 for every other kind.
    pub weight: f64,
}

/// A stable 64-bit key of an entity id (FNV-1a): the same in every worker
/// and process, cheap to move through the dataflow, and collisions among a
/// few thousand ids per area are out of reach (about 1 in 10^12).
pub fn entity_key(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // 0 means "no entity".
    h.max(1)
}

/// The entity a message is about, as its payload names it; `None` for
/// messages that are each a distinct report (civil registration counts,
/// a service transaction, a hotspot, a contract).
pub fn entity_id(envelope: &Envelope) -> Option<String> {
    Some(match &envelope.payload {
        Payload::WaterLevel(w) => w.station_id.clone(),
        Payload::Rainfall(r) => r.station_id.clone(),
        Payload::DamStorage(d) => d.dam_id.clone(),
        Payload::Weather(w) => w.station_id.clone(),
        Payload::AirQuality(a) => a.station_id.clone(),
        Payload::Incident(i) => i.incident_id.clone(),
        // One ministry's budget of one fiscal year.
        Payload::BudgetDisbursement(b) => format!("{}/{}", b.ministry, b.fiscal_year_be),
        Payload::CivilRegistration(_)
        | Payload::PublicService(_)
        | Payload::FireHotspot(_)
        | Payload::ProcurementContract(_) => return None,
    })
}

/// The station's level as a percentage of bank-full: as HII reports it, or
/// from the ground level when the station gives that instead.
pub fn pct_bank_full(w: &WaterLevel) -> Option<f64> {
    w.pct_bank_full.or_else(|| {
        let ground = w.ground_level_m_msl?;
        let depth = w.bank_level_m_msl - ground;
        (depth > 0.0).then(|| (w.level_m_msl - ground) / depth * 100.0)
    })
}

/// Whether a station is at or above its warning level: 70 % of bank-full
/// where bank-full is known, else at or over the bank.
pub fn above_warning(w: &WaterLevel) -> bool {
    pct_bank_full(w).map_or(w.level_m_msl >= w.bank_level_m_msl, |pct| {
        pct >= WARNING_PCT_BANK_FULL
    })
}

/// The values one validated message contributes, one per metric. A pure
/// function of the message, so the dataflow and the tests' batch oracle
/// cannot disagree about what an event means (how they combine is the
/// metric's [`super::Kind`]).
pub fn values(envelope: &Envelope) -> Vec<Value> {
    use MetricId as M;
    let entity = entity_id(envelope).map_or(0, |id| entity_key(&id));
    let v = |metric, value| Value {
        metric,
        value,
        entity: if metric.def().kind.per_entity() {
            entity
        } else {
            0
        },
        weight: 1.0,
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    match &envelope.payload {
        Payload::CivilRegistration(c) => vec![
            v(M::Births, f64::from(c.births)),
            v(M::Deaths, f64::from(c.deaths)),
            v(M::MoveIn, f64::from(c.move_in)),
            v(M::MoveOut, f64::from(c.move_out)),
            v(M::IdCardsIssued, f64::from(c.id_cards_issued)),
        ],
        Payload::PublicService(s) => vec![
            v(M::ServiceWaitMinutes, s.wait_minutes),
            v(
                M::ServiceNotCompleted,
                flag(s.outcome != ServiceOutcome::Completed),
            ),
        ],
        Payload::Incident(i) => {
            let open = i.status != IncidentStatus::Resolved;
            let mut out = vec![
                v(M::IncidentSeverity, f64::from(i.severity)),
                v(M::IncidentsOpen, flag(open)),
                v(
                    M::IncidentsSevereOpen,
                    flag(open && i.severity >= SEVERE_FROM),
                ),
            ];
            // Only the first report makes an incident new; its updates
            // must not.
            if i.status == IncidentStatus::Reported {
                out.push(v(M::IncidentsNew, 1.0));
            }
            out
        }
        Payload::WaterLevel(w) => {
            let mut out = vec![
                v(M::WaterLevel, w.level_m_msl),
                v(M::WaterFreeboard, w.bank_level_m_msl - w.level_m_msl),
                v(M::WaterAboveWarning, flag(above_warning(w))),
                v(M::WaterAboveBank, flag(w.level_m_msl > w.bank_level_m_msl)),
            ];
            if let Some(pct) = w.pct_bank_full {
                out.push(v(M::WaterPctBankFull, pct));
            }
            out
        }
        Payload::Rainfall(r) => vec![v(M::Rain1h, r.rain_1h_mm), v(M::Rain24h, r.rain_24h_mm)],
        Payload::DamStorage(d) => {
            // Capacity from storage and its share; unknown (0, so the dam
            // adds nothing to the total) for an empty reservoir.
            let capacity = if d.pct_capacity > 0.0 {
                d.storage_mcm * 100.0 / d.pct_capacity
            } else {
                0.0
            };
            vec![
                Value {
                    weight: capacity,
                    ..v(M::DamStoragePct, d.pct_capacity)
                },
                v(M::DamInflow, d.inflow_mcm),
                v(M::DamRelease, d.release_mcm),
            ]
        }
        Payload::Weather(w) => vec![v(M::Temperature, w.temperature_c)],
        Payload::AirQuality(a) => {
            let mut out = vec![v(M::Pm25, a.pm25_ugm3)];
            if let Some(aqi) = a.aqi {
                out.push(v(M::Aqi, f64::from(aqi)));
            }
            out
        }
        Payload::FireHotspot(h) => vec![v(M::Hotspots, h.frp_mw.unwrap_or(0.0))],
        Payload::BudgetDisbursement(b) => {
            let pct = if b.budget_thb > 0.0 {
                b.disbursed_thb / b.budget_thb * 100.0
            } else {
                0.0
            };
            vec![Value {
                weight: b.budget_thb,
                ..v(M::BudgetDisbursedPct, pct)
            }]
        }
        Payload::ProcurementContract(p) => vec![v(M::ProcurementValue, p.value_thb)],
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::{
        area::ProvinceCode,
        committee::{
            security::{Classification, Incident, IncidentCategory},
            water::DamStorage,
        },
        envelope::Area,
        event::EventId,
    };

    fn envelope(payload: Payload) -> Envelope {
        Envelope::new(
            EventId::parse("e-1").expect("id"),
            "HII",
            "test",
            OffsetDateTime::UNIX_EPOCH,
            Area::new(ProvinceCode::parse("50").expect("code"), None).expect("area"),
            None,
            payload,
        )
    }

    fn of(values: &[Value], metric: MetricId) -> Option<Value> {
        values.iter().find(|v| v.metric == metric).copied()
    }

    #[test]
    fn a_dam_is_weighted_by_its_capacity() {
        let dam = |storage_mcm, pct_capacity| {
            values(&envelope(Payload::DamStorage(DamStorage {
                dam_id: "bhumibol".to_owned(),
                storage_mcm,
                pct_capacity,
                inflow_mcm: 3.0,
                release_mcm: 1.0,
            })))
        };
        let v = of(&dam(50.0, 50.0), MetricId::DamStoragePct).expect("storage");
        assert_eq!((v.value, v.weight), (50.0, 100.0));
        assert_eq!(v.entity, entity_key("bhumibol"));
        // An empty reservoir's capacity is unknown: it weighs nothing.
        assert_eq!(
            of(&dam(0.0, 0.0), MetricId::DamStoragePct).map(|v| v.weight),
            Some(0.0)
        );
        let inflow = of(&dam(50.0, 50.0), MetricId::DamInflow).expect("inflow");
        assert_eq!(
            (inflow.entity, inflow.weight),
            (entity_key("bhumibol"), 1.0)
        );
    }

    #[test]
    fn an_incident_is_new_only_in_its_first_report() {
        let report = |status, severity| {
            values(&envelope(Payload::Incident(Incident {
                incident_id: "NSC-7".to_owned(),
                category: IncidentCategory::Border,
                severity,
                status,
                classification: Classification::Restricted,
            })))
        };
        let first = report(IncidentStatus::Reported, 4);
        assert_eq!(
            of(&first, MetricId::IncidentsNew).map(|v| v.value),
            Some(1.0)
        );
        assert_eq!(
            of(&first, MetricId::IncidentsSevereOpen).map(|v| v.value),
            Some(1.0)
        );
        let update = report(IncidentStatus::Responding, 3);
        assert_eq!(of(&update, MetricId::IncidentsNew), None);
        assert_eq!(
            of(&update, MetricId::IncidentsOpen).map(|v| v.value),
            Some(1.0)
        );
        assert_eq!(
            of(&update, MetricId::IncidentsSevereOpen).map(|v| v.value),
            Some(0.0)
        );
        let closed = report(IncidentStatus::Resolved, 5);
        assert_eq!(
            of(&closed, MetricId::IncidentsOpen).map(|v| v.value),
            Some(0.0)
        );
        assert!(first.iter().all(|v| v.entity == entity_key("NSC-7")));
    }

    #[test]
    fn a_station_is_judged_against_its_own_bank() {
        let station = |level, bank, ground, pct| WaterLevel {
            station_id: "P.1".to_owned(),
            level_m_msl: level,
            bank_level_m_msl: bank,
            ground_level_m_msl: ground,
            discharge_m3s: None,
            pct_bank_full: pct,
        };
        // 300 m MSL in the north, 7.5 of 10 m deep: above warning.
        assert!(above_warning(&station(297.5, 300.0, Some(290.0), None)));
        // 2 m MSL in Bangkok, 60 % full: below it.
        assert!(!above_warning(&station(2.0, 3.0, None, Some(60.0))));
        // Neither ground nor share: only the bank itself counts.
        assert!(!above_warning(&station(2.9, 3.0, None, None)));
        assert!(above_warning(&station(3.0, 3.0, None, None)));
        let v = values(&envelope(Payload::WaterLevel(station(
            3.2, 3.0, None, None,
        ))));
        assert_eq!(of(&v, MetricId::WaterAboveBank).map(|v| v.value), Some(1.0));
        assert_eq!(of(&v, MetricId::WaterPctBankFull), None);
    }

    #[test]
    fn contracts_are_each_a_report_and_dams_are_entities() {
        assert_ne!(entity_key(""), 0, "0 is reserved for no entity");
        assert!(!MetricId::ProcurementValue.def().kind.per_entity());
        assert!(MetricId::DamInflow.def().kind.per_entity());
    }
}
