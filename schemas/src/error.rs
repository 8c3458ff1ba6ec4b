//! Why a record was refused. Rejected input is data, not a failure: the reason
//! travels with the original bytes to the dead-letter topic and is counted.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares [`RejectKind`] from one list of `Variant = "wire_name"`, so the
/// names (metric labels, the rejects table, dead-letter headers, HTTP
/// answers) are written once and `as_str` and parsing cannot drift apart.
macro_rules! reject_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)+) => {
        /// Why a record was refused: a closed set, so a new kind must be
        /// added here, and every `match` on it says what it means.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RejectKind {
            $($(#[doc = $doc])* $variant,)+
        }

        impl RejectKind {
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The stable wire name (`snake_case`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }
    };
}

reject_kinds! {
    // Reading the message.
    /// Larger than the configured message limit.
    Oversized = "oversized",
    InvalidUtf8 = "invalid_utf8",
    MalformedJson = "malformed_json",
    /// A number beyond f64 (`1e400`).
    NumberOutOfRange = "number_out_of_range",
    /// JSON nested beyond 128 levels.
    TooDeeplyNested = "too_deeply_nested",
    NotAnObject = "not_an_object",
    // The envelope's fields.
    MissingField = "missing_field",
    DuplicateField = "duplicate_field",
    WrongType = "wrong_type",
    InvalidField = "invalid_field",
    InvalidEnumValue = "invalid_enum_value",
    MissingSchema = "missing_schema",
    UnknownSchema = "unknown_schema",
    UnknownSchemaVersion = "unknown_schema_version",
    SchemaMismatch = "schema_mismatch",
    UnknownCommittee = "unknown_committee",
    CommitteeMismatch = "committee_mismatch",
    /// A valid envelope on another committee's topic.
    WrongCommitteeForTopic = "wrong_committee_for_topic",
    MissingEventId = "missing_event_id",
    InvalidEventId = "invalid_event_id",
    InvalidEventTime = "invalid_event_time",
    EventTimeInFuture = "event_time_in_future",
    EventTimeTooOld = "event_time_too_old",
    UnknownProvince = "unknown_province",
    UnknownDistrict = "unknown_district",
    DistrictNotInProvince = "district_not_in_province",
    MissingPoint = "missing_point",
    PointOutsideThailand = "point_outside_thailand",
    /// An envelope that cannot be encoded back to JSON.
    Unencodable = "unencodable",
    // The payload's values.
    OutOfRange = "out_of_range",
    NegativeValue = "negative_value",
    NonFiniteValue = "non_finite_value",
    EmptyField = "empty_field",
    InvalidIdentifier = "invalid_identifier",
    InvalidHourWindow = "invalid_hour_window",
    DisbursedExceedsBudget = "disbursed_exceeds_budget",
    // Agencies' own formats (connectors).
    InvalidJson = "invalid_json",
    InvalidRecord = "invalid_record",
    InvalidNumber = "invalid_number",
    InvalidTime = "invalid_time",
    InvalidConfidence = "invalid_confidence",
    MissingStation = "missing_station",
    MissingTime = "missing_time",
    MissingValue = "missing_value",
    MissingBankLevel = "missing_bank_level",
    UnknownSatellite = "unknown_satellite",
    // Who sent it.
    /// A valid envelope whose `source_agency` is not the token's agency.
    AgencyNotAuthorised = "agency_not_authorised",
    /// An agency, or a system of an agency, the source registry does not know.
    UnknownSource = "unknown_source",
    /// A schema outside the sending agency's list in the source registry.
    SchemaNotAllowedForSource = "schema_not_allowed_for_source",
}

impl RejectKind {
    /// The inverse of [`Self::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with a wire name, so a test can say which kind it expects the
/// way an integrator sees it.
impl PartialEq<&str> for RejectKind {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

impl PartialEq<str> for RejectKind {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl Serialize for RejectKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RejectKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown reject kind {name:?}")))
    }
}

/// Most characters of the input a reason quotes: enough to recognise the
/// value, never the whole of a hostile megabyte (which would be stored with
/// every dead letter and every rejects row).
pub const MAX_QUOTED_CHARS: usize = 80;

/// `text` quoted as Rust's `Debug` writes it (escapes included), cut after
/// [`MAX_QUOTED_CHARS`] characters with `…` and the full length.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// A validation failure with a stable machine-readable kind and a human reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{kind}: {detail}")]
pub struct RejectReason {
    /// Labels metrics and the rejects table.
    pub kind: RejectKind,
    /// Human-readable explanation for the integrator who sent the record.
    pub detail: String,
}

impl RejectReason {
    pub fn new(kind: RejectKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// An error with its causes, for logs: `Display` shows only the outer message.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reject_kind_has_one_snake_case_name_that_parses_back() {
        let mut names: Vec<&str> = RejectKind::ALL.iter().map(|k| k.as_str()).collect();
        for (k, name) in RejectKind::ALL.iter().zip(&names) {
            assert_eq!(RejectKind::from_name(name), Some(*k));
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
            );
            assert_eq!(serde_json::to_string(k).ok(), Some(format!("\"{name}\"")));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RejectKind::ALL.len(), "a name used twice");
        assert!(serde_json::from_str::<RejectKind>("\"on_fire\"").is_err());
    }

    #[test]
    fn quotes_are_short_prefixes() {
        assert_eq!(quote("HII"), "\"HII\"");
        let long = "ก".repeat(1_000);
        let q = quote(&long);
        assert!(q.chars().count() < MAX_QUOTED_CHARS + 20, "{q}");
        assert!(q.ends_with("(3000 bytes)"), "{q}");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
    }
}
