//! National security (NSC): incident reports and their status updates.
//!
//! Rates from public figures: about 900 drug cases a day nationally (ONCB,
//! 2018-19), concentrated along the northern and Mekong borders and in
//! Bangkok; cyber incidents a few thousand a year (ThaiCERT), mostly in
//! Bangkok; the southern border provinces a few incidents a day. Border,
//! public-order and disaster-response volumes are round guesses of the same
//! order. Each incident is later updated to `responding` and `resolved`
//! under the same `incident_id`, as the NSC feed does.

use std::collections::VecDeque;

use pmoc_schemas::{
    RejectReason,
    committee::{
        Committee,
        security::{Classification, Incident, IncidentCategory, IncidentStatus},
    },
    envelope::{Area, Envelope, Payload},
};
use rand::Rng;

use super::{
    Scenario, Scenarios, Tick, envelope,
    places::{DistrictWeights, district_area, region_of},
    rng_for,
    sample::{SimRng, cumulative, pick, pick_cumulative, poisson},
    scenario::{DEEP_SOUTH, intensity},
};

const SOURCE: (&str, &str) = ("NSC", "nsc-ioc");
/// Open incidents kept for status updates; older ones are dropped unresolved
/// (the real feed also loses some closures).
const MAX_OPEN: usize = 5_000;
/// Extra southern-unrest incidents a simulated day in the deep-south
/// scenario, at full intensity: a flare-up the map cannot miss.
const DEEP_SOUTH_PER_DAY: f64 = 720.0;
/// The four Songkhla districts under the southern emergency decree.
const SONGKHLA_UNREST_DISTRICTS: &[&str] = &["9003", "9004", "9005", "9006"];
const NORTHERN_BORDER: &[&str] = &["50", "57", "58", "63", "55"];
const MEKONG_BORDER: &[&str] = &["38", "42", "43", "48", "49", "34"];

use IncidentCategory as Cat;

/// Incidents a day nationally, by category.
const RATES: &[(IncidentCategory, f64)] = &[
    (Cat::Drugs, 900.0),
    (Cat::Border, 60.0),
    (Cat::SouthernUnrest, 4.0),
    (Cat::Cyber, 10.0),
    (Cat::PublicOrder, 250.0),
    (Cat::DisasterResponse, 40.0),
];

/// How much more likely a district of `province` is for `category`.
fn province_factor(category: IncidentCategory, province: &str) -> f64 {
    match category {
        Cat::Drugs if NORTHERN_BORDER.contains(&province) => 4.0,
        Cat::Drugs if MEKONG_BORDER.contains(&province) => 2.5,
        Cat::Drugs if province == "10" => 2.0,
        Cat::Border if NORTHERN_BORDER.contains(&province) || MEKONG_BORDER.contains(&province) => {
            1.0
        }
        Cat::Border if ["23", "27", "32", "33", "71", "85", "90", "91"].contains(&province) => 1.0,
        Cat::Border => 0.0,
        Cat::SouthernUnrest if DEEP_SOUTH.contains(&province) => 1.0,
        Cat::SouthernUnrest => 0.0,
        Cat::Cyber if province == "10" => 15.0,
        _ => 1.0,
    }
}

fn severity(rng: &mut SimRng, category: IncidentCategory, escalated: bool) -> u8 {
    let weights: &[(u8, f64)] = match category {
        Cat::SouthernUnrest if escalated => &[(3, 25.0), (4, 45.0), (5, 30.0)],
        Cat::SouthernUnrest => &[(2, 20.0), (3, 40.0), (4, 30.0), (5, 10.0)],
        Cat::Drugs => &[(1, 50.0), (2, 35.0), (3, 13.0), (4, 2.0)],
        Cat::PublicOrder => &[(1, 55.0), (2, 30.0), (3, 12.0), (4, 3.0)],
        Cat::DisasterResponse => &[(1, 20.0), (2, 35.0), (3, 30.0), (4, 12.0), (5, 3.0)],
        Cat::Border | Cat::Cyber => &[(1, 30.0), (2, 40.0), (3, 25.0), (4, 5.0)],
    };
    pick(rng, weights)
}

fn classification(category: IncidentCategory, severity: u8) -> Classification {
    match category {
        _ if severity >= 5 => Classification::Secret,
        Cat::Border | Cat::SouthernUnrest => Classification::Confidential,
        Cat::Drugs | Cat::Cyber => Classification::Restricted,
        Cat::PublicOrder | Cat::DisasterResponse => Classification::Public,
    }
}

#[derive(Debug)]
struct Open {
    incident: Incident,
    area: Area,
    /// Round at which the next status update is sent.
    next_round: u64,
}

/// The security committee's feed.
#[derive(Debug)]
pub struct SecuritySim {
    rng: SimRng,
    scenarios: Scenarios,
    /// Per category, the districts (as areas) and their running weights.
    areas: Vec<Area>,
    weights: Vec<Vec<f64>>,
    deep_south: Vec<f64>,
    open: VecDeque<Open>,
    sequence: u64,
}

impl SecuritySim {
    pub fn new(seed: u64, scenarios: Scenarios) -> Result<Self, RejectReason> {
        let base = DistrictWeights::new()?;
        let areas: Vec<Area> = (0..base.len()).map(|i| base.area(i).clone()).collect();
        let weight = |i: usize, category| {
            let a = &areas[i];
            let p = a.province.as_str();
            let d = a.district.as_ref().map_or("", |d| d.as_str());
            let songkhla =
                category == Cat::SouthernUnrest && SONGKHLA_UNREST_DISTRICTS.contains(&d);
            base.share(i)
                * if songkhla {
                    1.0
                } else {
                    province_factor(category, p)
                }
        };
        let weights = RATES
            .iter()
            .map(|&(c, _)| cumulative((0..areas.len()).map(|i| weight(i, c))))
            .collect();
        let deep_south = cumulative(
            (0..areas.len())
                .map(|i| f64::from(u8::from(DEEP_SOUTH.contains(&areas[i].province.as_str())))),
        );
        // Keep the check that the Songkhla list is real districts.
        for d in SONGKHLA_UNREST_DISTRICTS {
            district_area(d)?;
        }
        Ok(Self {
            rng: rng_for(seed, Committee::Security),
            scenarios,
            areas,
            weights,
            deep_south,
            open: VecDeque::new(),
            sequence: 0,
        })
    }

    pub(crate) fn tick(
        &mut self,
        tick: &Tick,
        out: &mut Vec<Envelope>,
    ) -> Result<(), RejectReason> {
        self.updates(tick, out)?;
        let per_second = tick.sim_seconds / 86_400.0;
        let rainy = (5..=10).contains(&tick.month());
        for (c, &(category, per_day)) in RATES.iter().enumerate() {
            let seasonal = if category == Cat::DisasterResponse && rainy {
                2.0
            } else {
                1.0
            };
            for _ in 0..poisson(&mut self.rng, per_day * per_second * seasonal) {
                let i = pick_cumulative(&mut self.rng, &self.weights[c]);
                self.report(tick, category, i, out)?;
            }
        }
        if self.scenarios.contains(Scenario::DeepSouth) {
            let lambda = DEEP_SOUTH_PER_DAY * per_second * intensity(tick.round);
            for _ in 0..poisson(&mut self.rng, lambda) {
                let i = pick_cumulative(&mut self.rng, &self.deep_south);
                self.report(tick, Cat::SouthernUnrest, i, out)?;
            }
        }
        Ok(())
    }

    fn report(
        &mut self,
        tick: &Tick,
        category: IncidentCategory,
        district: usize,
        out: &mut Vec<Envelope>,
    ) -> Result<(), RejectReason> {
        let area = self.areas[district].clone();
        let escalated = self.scenarios.contains(Scenario::DeepSouth)
            && DEEP_SOUTH.contains(&area.province.as_str());
        let severity = severity(&mut self.rng, category, escalated);
        self.sequence += 1;
        let incident = Incident {
            incident_id: format!("NSC-{}-{:06}", tick.stamp(), self.sequence),
            category,
            severity,
            status: IncidentStatus::Reported,
            classification: classification(category, severity),
        };
        out.push(incident_envelope(tick, &incident, area.clone())?);
        // Responding within minutes to a couple of hours (simulated),
        // sooner in the capital and for severe cases.
        let minutes = self.rng.random_range(5.0..120.0) / f64::from(severity)
            * if region_of(area.province.as_str()) == "BKK" {
                0.5
            } else {
                1.0
            };
        let next_round = tick.round + rounds_for(minutes * 60.0, tick);
        if self.open.len() >= MAX_OPEN {
            self.open.pop_front();
        }
        self.open.push_back(Open {
            incident,
            area,
            next_round,
        });
        Ok(())
    }

    /// Sends the status updates that are due and forgets resolved incidents.
    fn updates(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let mut still_open = VecDeque::with_capacity(self.open.len());
        while let Some(mut o) = self.open.pop_front() {
            if o.next_round > tick.round {
                still_open.push_back(o);
                continue;
            }
            o.incident.status = match o.incident.status {
                IncidentStatus::Reported => IncidentStatus::Responding,
                _ => IncidentStatus::Resolved,
            };
            out.push(incident_envelope(tick, &o.incident, o.area.clone())?);
            if o.incident.status != IncidentStatus::Resolved {
                let hours = self.rng.random_range(0.5..12.0) * f64::from(o.incident.severity);
                o.next_round = tick.round + rounds_for(hours * 3_600.0, tick);
                still_open.push_back(o);
            }
        }
        self.open = still_open;
        Ok(())
    }
}

/// Rounds that `seconds` of simulated time take, at least one.
fn rounds_for(seconds: f64, tick: &Tick) -> u64 {
    (seconds / tick.sim_seconds).ceil().max(1.0) as u64
}

fn incident_envelope(
    tick: &Tick,
    incident: &Incident,
    area: Area,
) -> Result<Envelope, RejectReason> {
    let status = match incident.status {
        IncidentStatus::Reported => "reported",
        IncidentStatus::Responding => "responding",
        IncidentStatus::Resolved => "resolved",
    };
    let id = format!("nsc-{}-{status}", incident.incident_id);
    envelope(
        &id,
        SOURCE,
        tick,
        area,
        None,
        Payload::Incident(incident.clone()),
    )
}
