//! Named situations the simulators can be switched into, so the dashboard's
//! alerts and maps can be demonstrated and tested without waiting for a real
//! flood or haze season.
//!
//! A scenario changes the figures of its own area; the tests compare them
//! with the same seed's feed without it. (Other areas' events differ too,
//! since the scenario draws from the same random stream.)

use std::{fmt, str::FromStr};

use super::SimError;

/// One switchable situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Ubon Ratchathani (34): the Mun and Chi above their banks, 24 h rain of
    /// 90 mm and more, the dams upstream above 80 %.
    FloodUbon,
    /// Chiang Mai (50): PM2.5 above 75 µg/m³ and a spike of fire hotspots.
    HazeChiangmai,
    /// Pattani (94), Yala (95), Narathiwat (96): more southern-unrest
    /// incidents, of higher severity.
    DeepSouth,
    /// One ministry's disbursement stops rising, far below plan.
    StalledBudget,
}

impl Scenario {
    pub const ALL: [Self; 4] = [
        Self::FloodUbon,
        Self::HazeChiangmai,
        Self::DeepSouth,
        Self::StalledBudget,
    ];

    /// The name used on the command line and in `simulator.scenarios`.
    pub fn name(self) -> &'static str {
        match self {
            Self::FloodUbon => "flood-ubon",
            Self::HazeChiangmai => "haze-chiangmai",
            Self::DeepSouth => "deep-south",
            Self::StalledBudget => "stalled-budget",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = SimError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| SimError::UnknownScenario {
                name: name.to_owned(),
                known: Self::ALL.map(Scenario::name).join(", "),
            })
    }
}

/// The set of scenarios switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scenarios(u8);

impl Scenarios {
    pub fn contains(self, s: Scenario) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn insert(&mut self, s: Scenario) {
        self.0 |= s.bit();
    }

    /// Parses names, failing on the first unknown one.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, SimError> {
        names.into_iter().map(str::parse).collect()
    }

    pub fn iter(self) -> impl Iterator<Item = Scenario> {
        Scenario::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scenario> for Scenarios {
    fn from_iter<I: IntoIterator<Item = Scenario>>(iter: I) -> Self {
        let mut set = Self::default();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

/// Ubon Ratchathani, where the Chi joins the Mun.
pub(crate) const UBON: &str = "34";
/// Dams upstream of Ubon on the Mun and Chi systems (see `hydro::DAMS`).
pub(crate) const UBON_UPSTREAM_DAMS: &[&str] = &[
    "sirindhorn",
    "ubol_ratana",
    "lam_pao",
    "chulabhorn",
    "lam_takhong",
    "lam_phra_phloeng",
    "mun_bon",
    "lam_nang_rong",
];
pub(crate) const CHIANG_MAI: &str = "50";
pub(crate) const DEEP_SOUTH: &[&str] = &["94", "95", "96"];
/// The ministry whose disbursement stalls.
pub(crate) const STALLED_MINISTRY: &str = "Ministry of Transport";
/// Where the stalled ministry's disbursement stops, percent of its budget.
pub(crate) const STALLED_PCT: f64 = 11.5;

/// How far a scenario has developed after `round` rounds, 0.5 to 1: it is
/// already visible in the first round (tests and demos need no warm-up) and
/// worsens over the first two minutes, as a real flood or haze builds up.
pub(crate) fn intensity(round: u64) -> f64 {
    0.5 + 0.5 * (round.min(60) as f64 / 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>().expect("known"), s);
        }
        let err = "flood-bangkok".parse::<Scenario>().unwrap_err().to_string();
        assert!(
            err.contains("flood-bangkok") && err.contains("haze-chiangmai"),
            "{err}"
        );
        let set = Scenarios::parse(["deep-south", "flood-ubon"]).expect("known");
        assert!(set.contains(Scenario::DeepSouth) && !set.contains(Scenario::StalledBudget));
        assert_eq!(set.iter().count(), 2);
    }
}
