//! The registry of known sources: which agencies PMOC accepts messages
//! from, from which of their systems, which schemas each may send, and how
//! often each schema is expected.
//!
//! Without it, any agency (or any HTTP token) could publish any committee's
//! schema, and one agency's mistake would land on another agency's tiles.
//! Every door (the pipeline's Kafka source, the HTTP ingest, the
//! connectors) checks an envelope against it ([`Sources::check`]): an
//! unknown agency or system is `unknown_source`, a schema outside the
//! agency's list `schema_not_allowed_for_source`. It is also the one place
//! cadences come from: the freshness lights and the silence alerts compare
//! a source's age against [`Sources::cadence_of`].
//!
//! In the settings file, by agency id (upper case):
//!
//! ```toml
//! [sources.HII]
//! name = "Hydro-Informatics Institute"
//! systems = ["thaiwater", "telemetry"]
//! # The schemas it may send, each with its expected seconds between two
//! # messages.
//! schemas = { "hii.water_level" = 600, "hii.rainfall" = 600 }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    RejectKind, RejectReason,
    committee::{self, SchemaId},
    envelope::Envelope,
    error::quote,
};

/// One agency's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The agency's name, for operators reading rejects and freshness.
    pub name: String,
    /// Its systems (`source_system`) PMOC accepts messages from.
    pub systems: Vec<String>,
    /// The schemas it may send (by name, e.g. `hii.water_level`), each with
    /// its expected seconds between two messages.
    pub schemas: BTreeMap<String, u32>,
}

/// Every known source, by agency id.
///
/// Agency ids are matched in upper case: the ids agencies send are upper
/// case (`HII`), and settings given as environment variables
/// (`PMOC_SOURCES__HII__NAME`) arrive lower-cased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, Source>", into = "BTreeMap<String, Source>")]
pub struct Sources(BTreeMap<String, Source>);

impl From<BTreeMap<String, Source>> for Sources {
    fn from(agencies: BTreeMap<String, Source>) -> Self {
        Self::new(agencies)
    }
}

impl From<Sources> for BTreeMap<String, Source> {
    fn from(sources: Sources) -> Self {
        sources.0
    }
}

impl Default for Sources {
    fn default() -> Self {
        defaults()
    }
}

impl Sources {
    /// A registry of exactly these agencies, ids in upper case.
    pub fn new(agencies: impl IntoIterator<Item = (String, Source)>) -> Self {
        Self(
            agencies
                .into_iter()
                .map(|(id, s)| (id.to_ascii_uppercase(), s))
                .collect(),
        )
    }

    /// The entry of an agency id, matched in upper case.
    pub fn get(&self, agency: &str) -> Option<&Source> {
        // The common case, an id already in upper case, needs no allocation.
        self.0
            .get(agency)
            .or_else(|| self.0.get(&agency.to_ascii_uppercase()))
    }

    /// Every agency id and its entry.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Source)> {
        self.0.iter().map(|(id, s)| (id.as_str(), s))
    }

    /// Inserts or replaces an agency's entry.
    pub fn insert(&mut self, agency: &str, source: Source) {
        self.0.insert(agency.to_ascii_uppercase(), source);
    }

    /// Fails unless the envelope's agency and system are known and the
    /// agency may send its schema.
    pub fn check(&self, envelope: &Envelope) -> Result<(), RejectReason> {
        self.check_parts(
            &envelope.source_agency,
            &envelope.source_system,
            envelope.schema_id(),
        )
    }

    /// [`Self::check`] on the parts, for producers that check before they
    /// build an envelope.
    pub fn check_parts(
        &self,
        agency: &str,
        system: &str,
        schema: SchemaId,
    ) -> Result<(), RejectReason> {
        // Exact, case-sensitive matches: an agency id in lower case is not
        // the agency's id, whatever the settings' keys look like.
        let Some(source) = self.0.get(agency) else {
            return Err(RejectReason::new(
                RejectKind::UnknownSource,
                format!(
                    "source_agency {} is not a known source (known: {})",
                    quote(agency),
                    self.0.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        if !source.systems.iter().any(|s| s == system) {
            return Err(RejectReason::new(
                RejectKind::UnknownSource,
                format!(
                    "source_system {} is not one of {agency}'s known systems ({})",
                    quote(system),
                    source.systems.join(", ")
                ),
            ));
        }
        if !source.schemas.contains_key(schema.name) {
            return Err(RejectReason::new(
                RejectKind::SchemaNotAllowedForSource,
                format!(
                    "{agency} may send {}, not {}",
                    source
                        .schemas
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    schema.name
                ),
            ));
        }
        Ok(())
    }

    /// Expected seconds between two messages of `schema` from `agency`, or
    /// `None` for a source the registry does not know.
    pub fn cadence_of(&self, agency: &str, schema: &str) -> Option<u32> {
        self.get(agency)?.schemas.get(schema).copied()
    }

    /// Checks the registry itself: known schema names, cadences of at least
    /// a second, agencies and systems that are valid ids. Returns the
    /// offending key (`sources.HII.schemas."hii.snow"`) and the problem.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (agency, source) in &self.0 {
            let key = format!("sources.{agency}");
            if committee::check_id("agency id", agency).is_err() || agency.contains('.') {
                return Err((key, "is not a valid agency id".to_owned()));
            }
            if source.systems.is_empty() {
                return Err((format!("{key}.systems"), "lists no system".to_owned()));
            }
            for system in &source.systems {
                if let Err(e) = committee::check_id("source_system", system) {
                    return Err((format!("{key}.systems"), e.detail));
                }
            }
            if source.schemas.is_empty() {
                return Err((format!("{key}.schemas"), "lists no schema".to_owned()));
            }
            for (schema, &cadence) in &source.schemas {
                let key = format!("{key}.schemas.\"{schema}\"");
                if !committee::SCHEMAS.iter().any(|s| s.name == schema) {
                    let known: Vec<&str> = committee::SCHEMAS.iter().map(|s| s.name).collect();
                    return Err((
                        key,
                        format!("is not a schema PMOC knows ({})", known.join(", ")),
                    ));
                }
                if cadence == 0 {
                    return Err((key, "a cadence must be at least 1 second".to_owned()));
                }
            }
        }
        Ok(())
    }
}

/// The agencies the connectors, the simulators and the tests publish as,
/// with their published reporting intervals.
fn defaults() -> Sources {
    use crate::committee as c;
    let source = |name: &str, systems: &[&str], schemas: &[(SchemaId, u32)]| Source {
        name: name.to_owned(),
        systems: systems.iter().map(|s| (*s).to_owned()).collect(),
        schemas: schemas
            .iter()
            .map(|(id, cadence)| (id.name.to_owned(), *cadence))
            .collect(),
    };
    Sources::new([
        (
            "DOPA".to_owned(),
            source(
                "Department of Provincial Administration",
                // BORA: the Bureau of Registration Administration's civil
                // registration; `queue`: the district offices' queue system.
                &["bora", "queue"],
                &[(c::CIVIL_REGISTRATION, 3_600), (c::PUBLIC_SERVICE, 60)],
            ),
        ),
        (
            "NSC".to_owned(),
            source(
                "Office of the National Security Council",
                &["nsc-ioc"],
                &[(c::INCIDENT, 900)],
            ),
        ),
        (
            "HII".to_owned(),
            source(
                "Hydro-Informatics Institute",
                // ThaiWater, the national warehouse HII publishes (it merges
                // HII, RID, DWR, EGAT, BMA and TMD stations), and HII's own
                // telemetry network.
                &["thaiwater", "telemetry"],
                &[(c::WATER_LEVEL, 600), (c::RAINFALL, 600)],
            ),
        ),
        (
            "RID".to_owned(),
            source(
                "Royal Irrigation Department",
                &["rid-dam"],
                &[(c::DAM_STORAGE, 86_400)],
            ),
        ),
        (
            "TMD".to_owned(),
            source(
                "Thai Meteorological Department",
                &["tmd-synop"],
                &[(c::WEATHER, 3_600)],
            ),
        ),
        (
            "PCD".to_owned(),
            source(
                "Pollution Control Department",
                &["air4thai"],
                &[(c::AIR_QUALITY, 3_600)],
            ),
        ),
        (
            "GISTDA".to_owned(),
            source(
                "Geo-Informatics and Space Technology Development Agency",
                // Its hotspot CSV, its hotspot API (GeoJSON), and the raw
                // NASA FIRMS product it republishes, read under GISTDA's
                // accountability so the same detection from two feeds has
                // one (agency, event id).
                &["fire-hotspot", "hotspot-api", "firms"],
                // Satellite passes: VIIRS and MODIS cross Thailand about
                // four times a day.
                &[(c::FIRE_HOTSPOT, 21_600)],
            ),
        ),
        (
            "CGD".to_owned(),
            source(
                "Comptroller General's Department",
                // GFMIS (budget) and e-GP (procurement).
                &["gfmis", "e-gp"],
                &[
                    (c::BUDGET_DISBURSEMENT, 86_400),
                    (c::PROCUREMENT_CONTRACT, 3_600),
                ],
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_cover_every_schema() {
        let sources = Sources::default();
        assert_eq!(sources.validate(), Ok(()));
        for id in committee::SCHEMAS {
            assert!(
                sources.iter().any(|(_, s)| s.schemas.contains_key(id.name)),
                "{} has no source",
                id.name
            );
        }
    }

    #[test]
    fn unknown_agencies_systems_and_schemas_are_refused() {
        let s = Sources::default();
        let kind = |a, sys, id| s.check_parts(a, sys, id).map_err(|e| e.kind);
        assert_eq!(kind("HII", "thaiwater", committee::RAINFALL), Ok(()));
        assert_eq!(
            kind("ACME", "thaiwater", committee::RAINFALL),
            Err(RejectKind::UnknownSource)
        );
        assert_eq!(
            kind("hii", "thaiwater", committee::RAINFALL),
            Err(RejectKind::UnknownSource)
        );
        assert_eq!(
            kind("HII", "spreadsheet", committee::RAINFALL),
            Err(RejectKind::UnknownSource)
        );
        assert_eq!(
            kind("HII", "thaiwater", committee::INCIDENT),
            Err(RejectKind::SchemaNotAllowedForSource)
        );
        assert_eq!(s.cadence_of("HII", "hii.rainfall"), Some(600));
        assert_eq!(s.cadence_of("hii", "hii.rainfall"), Some(600));
        assert_eq!(s.cadence_of("HII", "nsc.incident"), None);
    }

    #[test]
    fn a_broken_registry_names_its_key() {
        let mut s = Sources::default();
        let mut hii = s.get("HII").cloned().expect("HII");
        hii.schemas.insert("hii.snowfall".to_owned(), 600);
        s.insert("HII", hii.clone());
        let (key, _) = s.validate().unwrap_err();
        assert_eq!(key, "sources.HII.schemas.\"hii.snowfall\"");

        hii.schemas.remove("hii.snowfall");
        hii.schemas.insert("hii.rainfall".to_owned(), 0);
        s.insert("HII", hii.clone());
        assert_eq!(
            s.validate().unwrap_err().0,
            "sources.HII.schemas.\"hii.rainfall\""
        );

        hii.schemas.insert("hii.rainfall".to_owned(), 600);
        hii.systems.clear();
        s.insert("HII", hii);
        assert_eq!(s.validate().unwrap_err().0, "sources.HII.systems");
    }
}
