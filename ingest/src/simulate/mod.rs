//! Reproducible simulated feeds, for the local stack and for tests.
//!
//! One module per committee, each publishing the versioned envelopes its
//! agencies would send, with rates and daily and seasonal shapes taken from
//! public figures (see `/work/shared/reference/README.md`, copied in the
//! modules' docs). [`Simulator`] runs the selected committees in rounds: a
//! round is one tick of wall-clock time, every event in it carries the tick's
//! time (UTC+7), and `speedup` says how many seconds of national activity a
//! wall-clock second holds, so the local stack sees a steady, modest load
//! and every schema at least every few seconds.

pub mod hydro;
mod places;
pub mod population;
pub mod resources;
mod sample;
pub mod scenario;
pub mod security;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod wall_tests;

use std::time::Duration;

use pmoc_schemas::{
    RejectReason,
    calendar::THAI_OFFSET,
    committee::Committee,
    envelope::{Area, Envelope, GeoPoint, Payload},
    event::{EventId, unix_ms},
};
use rand::SeedableRng;
use time::OffsetDateTime;

pub use scenario::{Scenario, Scenarios};

use sample::SimRng;

/// Why the simulator cannot run or produced a message it must not publish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("unknown scenario {name:?} (known: {known})")]
    UnknownScenario { name: String, known: String },
    #[error("speedup must be a positive number, not {0}")]
    Speedup(f64),
    /// A simulator bug: it built something the schema refuses. Stopping is
    /// better than publishing data the pipeline would dead-letter.
    #[error("the {committee} simulator built an invalid {schema} message {event_id}")]
    Invalid {
        committee: Committee,
        schema: String,
        event_id: String,
        #[source]
        reason: RejectReason,
    },
    /// A simulator bug: a constant table holds a code or id the schemas refuse.
    #[error("the {committee} simulator could not build a message")]
    Build {
        committee: Committee,
        #[source]
        reason: RejectReason,
    },
}

/// How to run the simulators.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    /// Committees to simulate; each has its own random stream, so leaving
    /// one out does not change the others' events.
    pub committees: Vec<Committee>,
    pub scenarios: Scenarios,
    /// Wall-clock time between rounds.
    pub interval: Duration,
    /// Simulated seconds of activity per wall-clock second.
    pub speedup: f64,
}

/// The moment a round stands for.
#[derive(Debug, Clone)]
pub struct Tick {
    /// The round's time in Thai local time, whole milliseconds: every event
    /// of the round carries it.
    pub time: OffsetDateTime,
    /// Rounds since the simulator started, from 0.
    pub round: u64,
    /// Seconds of national activity the round covers (interval × speedup).
    pub sim_seconds: f64,
}

impl Tick {
    pub fn ms(&self) -> i64 {
        unix_ms(self.time)
    }

    /// Local hour of day with its fraction, 0.0 to 24.0.
    pub(crate) fn hour(&self) -> f64 {
        f64::from(self.time.hour()) + f64::from(self.time.minute()) / 60.0
    }

    /// Local month, 1 to 12.
    pub(crate) fn month(&self) -> u8 {
        u8::from(self.time.month())
    }

    /// Whether item `index` of a population that reports every `period_s`
    /// (real seconds) reports this round. Reports are staggered by index, so
    /// a schema with many stations publishes every round rather than in
    /// bursts.
    pub(crate) fn due(&self, index: usize, period_s: f64) -> bool {
        (self.round + index as u64).is_multiple_of(self.every(period_s))
    }

    /// Rounds between two reports of something reporting every `period_s`
    /// real seconds, at least one.
    pub(crate) fn every(&self, period_s: f64) -> u64 {
        (period_s / self.sim_seconds).round().max(1.0) as u64
    }

    /// `YYYYMMDDHHMMSSmmm`, for event ids: unique per round and readable.
    pub(crate) fn stamp(&self) -> String {
        let t = self.time;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

/// Builds an envelope; the caller's `?` turns a refused id or area into a
/// [`SimError::Build`].
pub(crate) fn envelope(
    event_id: &str,
    (agency, system): (&str, &str),
    tick: &Tick,
    area: Area,
    point: Option<GeoPoint>,
    payload: Payload,
) -> Result<Envelope, RejectReason> {
    Ok(Envelope::new(
        EventId::parse(event_id)?,
        agency,
        system,
        tick.time,
        area,
        point,
        payload,
    ))
}

/// A seeded stream per committee, so each committee's feed depends only on
/// the seed, not on which other committees run.
pub(crate) fn rng_for(seed: u64, committee: Committee) -> SimRng {
    let salt: u64 = match committee {
        Committee::Population => 0x706f_7075,
        Committee::Security => 0x7365_6375,
        Committee::Water => 0x7761_7465,
        Committee::Resources => 0x7265_736f,
    };
    SimRng::seed_from_u64(seed ^ salt.rotate_left(17))
}

/// All four committees' simulators, run round by round.
#[derive(Debug)]
pub struct Simulator {
    options: SimOptions,
    population: Option<population::PopulationSim>,
    security: Option<security::SecuritySim>,
    water: Option<hydro::HydroSim>,
    resources: Option<resources::ResourcesSim>,
    round: u64,
}

impl Simulator {
    pub fn new(options: SimOptions) -> Result<Self, SimError> {
        if !(options.speedup.is_finite() && options.speedup > 0.0) {
            return Err(SimError::Speedup(options.speedup));
        }
        let on = |c| options.committees.contains(&c);
        let (seed, sc) = (options.seed, options.scenarios);
        let build = |committee| move |reason| SimError::Build { committee, reason };
        Ok(Self {
            population: on(Committee::Population)
                .then(|| population::PopulationSim::new(seed))
                .transpose()
                .map_err(build(Committee::Population))?,
            security: on(Committee::Security)
                .then(|| security::SecuritySim::new(seed, sc))
                .transpose()
                .map_err(build(Committee::Security))?,
            water: on(Committee::Water)
                .then(|| hydro::HydroSim::new(seed, sc))
                .transpose()
                .map_err(build(Committee::Water))?,
            resources: on(Committee::Resources)
                .then(|| resources::ResourcesSim::new(seed, sc))
                .transpose()
                .map_err(build(Committee::Resources))?,
            options,
            round: 0,
        })
    }

    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// One round of every selected committee at wall-clock time `now`; every
    /// message is validated against `now` before it is returned.
    pub fn round(&mut self, now: OffsetDateTime) -> Result<Vec<Envelope>, SimError> {
        let time = now.to_offset(THAI_OFFSET);
        let time = time
            .replace_nanosecond(time.millisecond() as u32 * 1_000_000)
            .unwrap_or(time);
        let tick = Tick {
            time,
            round: self.round,
            sim_seconds: self.options.interval.as_secs_f64() * self.options.speedup,
        };
        self.round += 1;
        let mut out = Vec::new();
        let build = |committee| move |reason| SimError::Build { committee, reason };
        if let Some(s) = &mut self.population {
            s.tick(&tick, &mut out)
                .map_err(build(Committee::Population))?;
        }
        if let Some(s) = &mut self.security {
            s.tick(&tick, &mut out)
                .map_err(build(Committee::Security))?;
        }
        if let Some(s) = &mut self.water {
            s.tick(&tick, &mut out).map_err(build(Committee::Water))?;
        }
        if let Some(s) = &mut self.resources {
            s.tick(&tick, &mut out)
                .map_err(build(Committee::Resources))?;
        }
        let now_ms = tick.ms();
        for e in &out {
            e.validate(now_ms).map_err(|reason| SimError::Invalid {
                committee: e.committee,
                schema: e.schema.clone(),
                event_id: e.event_id.to_string(),
                reason,
            })?;
        }
        Ok(out)
    }
}

/// The Kafka key of a message: its province, so one area's events stay in
/// order on one partition.
pub fn key(envelope: &Envelope) -> &str {
    envelope.area.province.as_str()
}
