//! Population & public services (DOPA): hourly civil-registration counts of
//! the 928 district registration offices, and public-service transactions
//! with their waiting times.
//!
//! Rates from DOPA's 2024 figures: about 1,270 births and 1,570 deaths
//! registered a day nationally. Moves and ID cards are rounder guesses
//! (about 9,000 moves each way and 30,000 cards a day). Registration happens
//! in office hours (08:30-16:30 on weekdays), with a small remainder through
//! hospitals' online registration; counters are busiest in the morning.

use pmoc_schemas::{
    RejectKind, RejectReason,
    committee::population::{
        CivilRegistrationCounts, PublicServiceTransaction, ServiceChannel, ServiceOutcome,
    },
    envelope::{Envelope, Payload},
};
use time::Weekday;

use super::{
    Tick, envelope,
    places::DistrictWeights,
    rng_for,
    sample::{SimRng, lognormal, pick, poisson, round_to},
};

/// Civil registration comes from BORA's registration database, service
/// transactions from the district offices' queue system.
const REGISTRATION: (&str, &str) = ("DOPA", "bora");
const QUEUE: (&str, &str) = ("DOPA", "queue");
/// National registrations a day.
const BIRTHS_PER_DAY: f64 = 1_270.0;
const DEATHS_PER_DAY: f64 = 1_570.0;
const MOVES_PER_DAY: f64 = 9_000.0;
const ID_CARDS_PER_DAY: f64 = 30_000.0;
/// Public-service transactions a day at all offices, websites and kiosks
/// (a guess that keeps the local morning peak under about 100 a second).
const SERVICES_PER_DAY: f64 = 25_000.0;
/// Each office reports its counts once an hour.
const REPORT_PERIOD_S: f64 = 3_600.0;

const SERVICES: &[(&str, f64)] = &[
    ("id_card_renewal", 40.0),
    ("id_card_new", 8.0),
    ("house_registration_move", 20.0),
    ("birth_registration", 4.0),
    ("death_registration", 5.0),
    ("name_change", 5.0),
    ("certificate_copy", 18.0),
];

/// A weekly shape normalised to a mean of 1 over the 168 hours of a week,
/// so `daily rate / 24 × shape` keeps the daily total right.
#[derive(Debug)]
struct Profile {
    shape: fn(f64, bool) -> f64,
    norm: f64,
}

impl Profile {
    fn new(shape: fn(f64, bool) -> f64) -> Self {
        // Sample every quarter hour of a week.
        let mut sum = 0.0;
        for q in 0..(7 * 96) {
            let hour = f64::from(q % 96) / 4.0;
            sum += shape(hour, q / 96 < 5);
        }
        Self {
            shape,
            norm: sum / f64::from(7 * 96),
        }
    }

    fn at(&self, tick: &Tick) -> f64 {
        let weekday = !matches!(tick.time.weekday(), Weekday::Saturday | Weekday::Sunday);
        (self.shape)(tick.hour(), weekday) / self.norm
    }
}

/// Office hours, with a tenth of the traffic going through online systems
/// around the clock.
fn office_hours(hour: f64, weekday: bool) -> f64 {
    if weekday && (8.5..16.5).contains(&hour) {
        1.0
    } else {
        0.1
    }
}

/// Counters: a morning queue, a lunch dip, a quieter afternoon; closed
/// outside office hours.
fn counter(hour: f64, weekday: bool) -> f64 {
    match (weekday, hour) {
        (false, _) => 0.0,
        (true, h) if (8.5..10.5).contains(&h) => 1.6,
        (true, h) if (10.5..12.0).contains(&h) => 1.3,
        (true, h) if (12.0..13.0).contains(&h) => 0.5,
        (true, h) if (13.0..16.5).contains(&h) => 0.8,
        _ => 0.0,
    }
}

/// Online services: a daytime hump, quiet but never empty at night.
fn online(hour: f64, _weekday: bool) -> f64 {
    0.15 + (std::f64::consts::PI * ((hour - 6.0) / 17.0).clamp(0.0, 1.0)).sin()
}

/// Kiosks in district offices and shopping centres, 07:00-20:00 every day.
fn kiosk(hour: f64, _weekday: bool) -> f64 {
    if (7.0..20.0).contains(&hour) {
        1.0
    } else {
        0.0
    }
}

/// The population committee's feed.
#[derive(Debug)]
pub struct PopulationSim {
    rng: SimRng,
    districts: DistrictWeights,
    office: Profile,
    channels: [(ServiceChannel, f64, Profile); 3],
    sequence: u64,
}

impl PopulationSim {
    pub fn new(seed: u64) -> Result<Self, RejectReason> {
        Ok(Self {
            rng: rng_for(seed, pmoc_schemas::committee::Committee::Population),
            districts: DistrictWeights::new()?,
            office: Profile::new(office_hours),
            channels: [
                (ServiceChannel::Counter, 0.6, Profile::new(counter)),
                (ServiceChannel::Online, 0.3, Profile::new(online)),
                (ServiceChannel::Kiosk, 0.1, Profile::new(kiosk)),
            ],
            sequence: 0,
        })
    }

    pub(crate) fn tick(
        &mut self,
        tick: &Tick,
        out: &mut Vec<Envelope>,
    ) -> Result<(), RejectReason> {
        self.registrations(tick, out)?;
        self.services(tick, out)
    }

    /// Each office reports once per simulated hour, staggered so a few
    /// offices report every round.
    fn registrations(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let shape = self.office.at(tick);
        let hour_start = tick
            .time
            .replace_minute(0)
            .and_then(|t| t.replace_second(0))
            .and_then(|t| t.replace_nanosecond(0))
            .map_err(|e| RejectReason::new(RejectKind::InvalidEventTime, e.to_string()))?;
        for i in 0..self.districts.len() {
            if !tick.due(i, REPORT_PERIOD_S) {
                continue;
            }
            let hourly = self.districts.share(i) / 24.0 * shape;
            let rng = &mut self.rng;
            let mut draw = |per_day: f64| poisson(rng, per_day * hourly);
            let counts = CivilRegistrationCounts {
                office_id: office_id(self.districts.area(i)),
                hour_start,
                births: draw(BIRTHS_PER_DAY),
                deaths: draw(DEATHS_PER_DAY),
                move_in: draw(MOVES_PER_DAY),
                move_out: draw(MOVES_PER_DAY),
                id_cards_issued: draw(ID_CARDS_PER_DAY),
            };
            let area = self.districts.area(i).clone();
            let id = format!("dopa-cr-{}-{}", counts.office_id, tick.stamp());
            out.push(envelope(
                &id,
                REGISTRATION,
                tick,
                area,
                None,
                Payload::CivilRegistration(counts),
            )?);
        }
        Ok(())
    }

    fn services(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        for c in 0..self.channels.len() {
            let (channel, share, ref profile) = self.channels[c];
            let shape = profile.at(tick);
            let lambda = SERVICES_PER_DAY * share / 86_400.0 * tick.sim_seconds * shape;
            // How crowded counters are now, 0 to 1: waits grow with the queue.
            let crowd = (counter(tick.hour(), true) / 1.6).clamp(0.0, 1.0);
            for _ in 0..poisson(&mut self.rng, lambda) {
                let d = self.districts.pick(&mut self.rng);
                let area = self.districts.area(d).clone();
                let (office_id, wait) = match channel {
                    ServiceChannel::Counter => (
                        office_id(&area),
                        lognormal(&mut self.rng, 7.0 + 12.0 * crowd, 0.8),
                    ),
                    ServiceChannel::Kiosk => (
                        format!("K{}", office_id(&area)),
                        lognormal(&mut self.rng, 3.0, 0.6),
                    ),
                    ServiceChannel::Online => {
                        ("DOPA-ONLINE".to_owned(), lognormal(&mut self.rng, 0.5, 1.0))
                    }
                };
                let rejected = if channel == ServiceChannel::Online {
                    5.0
                } else {
                    2.0
                };
                let outcome = pick(
                    &mut self.rng,
                    &[
                        (ServiceOutcome::Completed, 94.0),
                        (ServiceOutcome::Referred, 4.0),
                        (ServiceOutcome::Rejected, rejected),
                    ],
                );
                let service = pick(&mut self.rng, SERVICES).to_owned();
                self.sequence += 1;
                let id = format!("dopa-ps-{}-{}", tick.stamp(), self.sequence);
                let payload = Payload::PublicService(PublicServiceTransaction {
                    office_id,
                    service,
                    channel,
                    wait_minutes: round_to(wait.min(24.0 * 60.0), 1),
                    outcome,
                });
                out.push(envelope(&id, QUEUE, tick, area, None, payload)?);
            }
        }
        Ok(())
    }
}

/// The registration office of a district: DOPA numbers them after the
/// district they serve.
fn office_id(area: &pmoc_schemas::envelope::Area) -> String {
    area.district
        .as_ref()
        .map_or_else(|| area.province.to_string(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_average_to_one() {
        for shape in [office_hours, counter, online, kiosk] {
            let p = Profile::new(shape);
            let mean: f64 = (0..7 * 96)
                .map(|q| shape(f64::from(q % 96) / 4.0, q / 96 < 5) / p.norm)
                .sum::<f64>()
                / f64::from(7 * 96);
            assert!((mean - 1.0).abs() < 1e-9, "{mean}");
        }
    }
}
