//! The four integrated data committees and the payloads each one publishes.
//!
//! One module per committee, mirroring how the agencies are organised, so an
//! agency's integrator finds every message they send in one file. This module
//! holds what they share: the committee names, the schema registry and the
//! small checks every payload's `validate()` is made of.

pub mod population;
pub mod resources;
pub mod security;
pub mod water;

use std::{fmt, ops::RangeInclusive};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{RejectKind, RejectReason};

/// The committee a stream belongs to; each has its own topics and dashboards.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Committee {
    /// Population & public services (Ministry of Interior, DOPA).
    Population,
    /// National security (NSC).
    Security,
    /// Water & climate (HII, RID, TMD).
    Water,
    /// Natural resources & government structure (PCD, GISTDA, CGD).
    Resources,
}

impl Committee {
    pub const ALL: [Self; 4] = [
        Self::Population,
        Self::Security,
        Self::Water,
        Self::Resources,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Population => "population",
            Self::Security => "security",
            Self::Water => "water",
            Self::Resources => "resources",
        }
    }

    /// Parses the wire name; `None` for anything else (the caller words the reject).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Committee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload schema: its name, its version and the committee that owns it.
///
/// Name and version travel separately in the envelope (`schema`,
/// `schema_version`) so a consumer can say "unknown version of a schema I
/// know" rather than just "unknown schema".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemaId {
    /// `agency.subject`, lowercase: the agency prefix says who is accountable.
    pub name: &'static str,
    pub version: u16,
    pub committee: Committee,
    /// Whether the envelope must carry a point: a fire hotspot without a
    /// location is useless, a province-level count never has one.
    pub requires_point: bool,
}

pub const CIVIL_REGISTRATION: SchemaId = schema("dopa.civil_registration", Committee::Population);
pub const PUBLIC_SERVICE: SchemaId = schema("dopa.public_service", Committee::Population);
pub const INCIDENT: SchemaId = schema("nsc.incident", Committee::Security);
pub const WATER_LEVEL: SchemaId = schema("hii.water_level", Committee::Water);
pub const RAINFALL: SchemaId = schema("hii.rainfall", Committee::Water);
pub const DAM_STORAGE: SchemaId = schema("rid.dam_storage", Committee::Water);
pub const WEATHER: SchemaId = schema("tmd.weather", Committee::Water);
pub const AIR_QUALITY: SchemaId = schema("pcd.air_quality", Committee::Resources);
pub const FIRE_HOTSPOT: SchemaId = SchemaId {
    requires_point: true,
    ..schema("gistda.hotspot", Committee::Resources)
};
pub const BUDGET_DISBURSEMENT: SchemaId = schema("cgd.budget_disbursement", Committee::Resources);
pub const PROCUREMENT_CONTRACT: SchemaId = schema("cgd.procurement_contract", Committee::Resources);

const fn schema(name: &'static str, committee: Committee) -> SchemaId {
    SchemaId {
        name,
        version: 1,
        committee,
        requires_point: false,
    }
}

/// Every schema version the decoder accepts. A new version is added here
/// next to the old one, never in its place, so agencies can migrate at their
/// own pace.
pub const SCHEMAS: [SchemaId; 11] = [
    CIVIL_REGISTRATION,
    PUBLIC_SERVICE,
    INCIDENT,
    WATER_LEVEL,
    RAINFALL,
    DAM_STORAGE,
    WEATHER,
    AIR_QUALITY,
    FIRE_HOTSPOT,
    BUDGET_DISBURSEMENT,
    PROCUREMENT_CONTRACT,
];

/// Looks a schema up by name and version, telling an unknown name apart from
/// an unknown version of a known name.
pub fn lookup(name: &str, version: Option<u64>) -> Result<SchemaId, RejectReason> {
    let mut known = SCHEMAS.iter().filter(|s| s.name == name).peekable();
    if known.peek().is_none() {
        return Err(RejectReason::new(
            RejectKind::UnknownSchema,
            format!(
                "schema {} is not one PMOC accepts",
                crate::error::quote(name)
            ),
        ));
    }
    let versions: Vec<u16> = known.clone().map(|s| s.version).collect();
    known
        .find(|s| version == Some(u64::from(s.version)))
        .copied()
        .ok_or_else(|| {
            RejectReason::new(
                RejectKind::UnknownSchemaVersion,
                format!("schema {name} has versions {versions:?}, not this one"),
            )
        })
}

/// Longest identifier (station, office, contract, ...) accepted; ids become
/// ClickHouse keys and metric labels, so unbounded ones are refused.
pub const MAX_ID_LEN: usize = 128;

/// Whether `c` is invisible or changes how text around it is shown: control
/// characters (which forge log lines and CSV rows), zero-width characters
/// (which make two different ids look the same) and bidirectional overrides
/// and isolates (which make an id display as another, "Trojan Source").
/// None belongs in an identifier.
pub fn is_hidden_char(c: char) -> bool {
    if c.is_ascii() {
        // The common case, decided without the table below.
        return c.is_ascii_control();
    }
    c.is_control()
        || matches!(
            c,
            // Zero-width space, non-joiner, joiner; word joiner; BOM/ZWNBSP;
            // soft hyphen; Mongolian vowel separator.
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
            // Left-to-right and right-to-left marks, Arabic letter mark.
            | '\u{200E}' | '\u{200F}' | '\u{061C}'
            // Embeddings, overrides and their pop; isolates and their pop.
            | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// A non-empty, bounded identifier of visible characters only (see
/// [`is_hidden_char`]).
pub(crate) fn check_id(field: &str, value: &str) -> Result<(), RejectReason> {
    if value.trim().is_empty() {
        return Err(RejectReason::new(
            RejectKind::EmptyField,
            format!("{field} is empty"),
        ));
    }
    if value.len() > MAX_ID_LEN {
        return Err(RejectReason::new(
            RejectKind::InvalidIdentifier,
            format!(
                "{field} is {} bytes, more than {MAX_ID_LEN}: {}",
                value.len(),
                crate::error::quote(value)
            ),
        ));
    }
    if let Some(c) = value.chars().find(|&c| is_hidden_char(c)) {
        return Err(RejectReason::new(
            RejectKind::InvalidIdentifier,
            format!(
                "{field} contains the invisible or control character U+{:04X}: {}",
                u32::from(c),
                crate::error::quote(value)
            ),
        ));
    }
    Ok(())
}

/// A finite value inside `range`; `unit` is only for the message.
///
/// Non-finite values cannot come from JSON, but they can come from a producer
/// that builds a payload in Rust and calls `validate()` before sending.
pub(crate) fn check_range(
    field: &str,
    value: f64,
    range: RangeInclusive<f64>,
    unit: &str,
) -> Result<(), RejectReason> {
    if !value.is_finite() {
        return Err(RejectReason::new(
            RejectKind::NonFiniteValue,
            format!("{field} is {value}, not a finite number"),
        ));
    }
    if value < 0.0 && *range.start() >= 0.0 {
        return Err(RejectReason::new(
            RejectKind::NegativeValue,
            format!("{field} = {value:?} {unit} must not be negative"),
        ));
    }
    if !range.contains(&value) {
        return Err(RejectReason::new(
            RejectKind::OutOfRange,
            format!(
                "{field} = {value:?} {unit} is outside {}..={} {unit}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(())
}

/// [`check_range`] for optional readings a station may not report.
pub(crate) fn check_opt_range(
    field: &str,
    value: Option<f64>,
    range: RangeInclusive<f64>,
    unit: &str,
) -> Result<(), RejectReason> {
    value.map_or(Ok(()), |v| check_range(field, v, range, unit))
}

/// Integer counterpart of [`check_range`], for bounded small integers.
pub(crate) fn check_int_range<T>(
    field: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), RejectReason>
where
    T: PartialOrd + fmt::Display,
{
    if range.contains(&value) {
        Ok(())
    } else {
        Err(RejectReason::new(
            RejectKind::OutOfRange,
            format!(
                "{field} = {value} is outside {}..={}",
                range.start(),
                range.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_unique_per_version_and_prefixed_by_agency() {
        for (i, a) in SCHEMAS.iter().enumerate() {
            for b in &SCHEMAS[i + 1..] {
                assert!((a.name, a.version) != (b.name, b.version), "{a:?}");
            }
            assert!(a.name.contains('.') && a.name == a.name.to_lowercase());
        }
    }

    #[test]
    fn lookup_separates_unknown_names_from_unknown_versions() {
        assert_eq!(lookup("hii.rainfall", Some(1)), Ok(RAINFALL));
        assert_eq!(
            lookup("hii.rainfall", Some(2)).map_err(|e| e.kind),
            Err(RejectKind::UnknownSchemaVersion)
        );
        assert_eq!(
            lookup("hii.rainfall", None).map_err(|e| e.kind),
            Err(RejectKind::UnknownSchemaVersion)
        );
        assert_eq!(
            lookup("hii.snowfall", Some(1)).map_err(|e| e.kind),
            Err(RejectKind::UnknownSchema)
        );
    }

    #[test]
    fn range_checks_name_the_failure() {
        let kind = |r: Result<(), RejectReason>| r.map_err(|e| e.kind);
        assert_eq!(kind(check_range("x", 1.0, 0.0..=2.0, "mm")), Ok(()));
        assert_eq!(
            kind(check_range("x", f64::NAN, 0.0..=2.0, "mm")),
            Err(RejectKind::NonFiniteValue)
        );
        assert_eq!(
            kind(check_range("x", -1.0, 0.0..=2.0, "mm")),
            Err(RejectKind::NegativeValue)
        );
        assert_eq!(
            kind(check_range("x", -30.0, -20.0..=2.0, "m")),
            Err(RejectKind::OutOfRange)
        );
        assert_eq!(kind(check_id("id", "A1")), Ok(()));
        assert_eq!(kind(check_id("id", " ")), Err(RejectKind::EmptyField));
        for hidden in [
            "a\nb",
            "CPY\u{200B}011",
            "CPY011\u{202E}",
            "\u{2066}x",
            "\u{FEFF}x",
        ] {
            assert_eq!(
                kind(check_id("id", hidden)),
                Err(RejectKind::InvalidIdentifier),
                "{hidden:?}"
            );
        }
        assert_eq!(kind(check_id("id", "เขื่อนภูมิพล")), Ok(()), "Thai is visible");
    }
}
