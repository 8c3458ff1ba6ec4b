//! National security committee (Office of the National Security Council).
//!
//! Incidents arrive already classified by the reporting agency; PMOC keeps the
//! classification with the record so the dashboard can decide what each
//! viewer may see, instead of guessing later.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{MAX_ID_LEN, check_id, check_int_range};
use crate::RejectReason;

/// What kind of incident, by NSC's standing working groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentCategory {
    Drugs,
    Border,
    /// The three southern border provinces and four districts of Songkhla.
    SouthernUnrest,
    Cyber,
    PublicOrder,
    DisasterResponse,
}

/// Where the incident is in its life cycle; a later message with the same
/// `incident_id` supersedes an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Reported,
    Responding,
    Resolved,
}

/// Government information classification (Regulation on Official Secrets,
/// B.E. 2544), lowest to highest; the order is used for access checks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Public,
    Restricted,
    Confidential,
    Secret,
}

/// Severity scale shared by all categories: 1 (minor) to 5 (national).
pub const SEVERITY_RANGE: std::ops::RangeInclusive<u8> = 1..=5;

/// One security incident report or status update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Incident {
    /// The reporting agency's case number; stable across status updates.
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub incident_id: String,
    pub category: IncidentCategory,
    /// 1 (minor, local) to 5 (national significance).
    #[schemars(range(min = 1, max = 5))]
    pub severity: u8,
    pub status: IncidentStatus,
    pub classification: Classification,
}

impl Incident {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("incident_id", &self.incident_id)?;
        check_int_range("severity", self.severity, SEVERITY_RANGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_is_one_to_five() {
        let mut i = Incident {
            incident_id: "NSC-2569-000123".to_owned(),
            category: IncidentCategory::SouthernUnrest,
            severity: 3,
            status: IncidentStatus::Reported,
            classification: Classification::Restricted,
        };
        assert_eq!(i.validate(), Ok(()));
        for bad in [0, 6, 255] {
            i.severity = bad;
            assert_eq!(i.validate().unwrap_err().kind, "out_of_range", "{bad}");
        }
        assert!(Classification::Secret > Classification::Public);
    }
}
