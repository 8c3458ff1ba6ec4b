//! Population & public services committee (Ministry of Interior, DOPA).
//!
//! Only counts and service statistics cross into PMOC: no citizen id, name or
//! address is ever part of a payload, so the dashboard never holds personal
//! data and the PDPA question does not arise.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{MAX_ID_LEN, check_id, check_int_range, check_range};
use crate::{RejectKind, RejectReason, event::EARLIEST_EVENT_TIME_MS, event::unix_ms};

/// Largest hourly count one registration office can plausibly report; a
/// bigger number is a unit or aggregation bug (a whole province summed into
/// one office), not a busy morning.
pub const MAX_HOURLY_COUNT: u32 = 100_000;

/// Civil-registration transactions of one registration office during one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CivilRegistrationCounts {
    /// DOPA registration office code (สำนักทะเบียน).
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub office_id: String,
    /// Start of the one-hour window the counts cover, on the hour, with offset.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(schema_with = "crate::json_schema::date_time")]
    pub hour_start: OffsetDateTime,
    #[schemars(range(max = MAX_HOURLY_COUNT))]
    pub births: u32,
    #[schemars(range(max = MAX_HOURLY_COUNT))]
    pub deaths: u32,
    /// Household-registration moves into the office's area.
    #[schemars(range(max = MAX_HOURLY_COUNT))]
    pub move_in: u32,
    /// Household-registration moves out of the office's area.
    #[schemars(range(max = MAX_HOURLY_COUNT))]
    pub move_out: u32,
    /// Smart ID cards issued or renewed.
    #[schemars(range(max = MAX_HOURLY_COUNT))]
    pub id_cards_issued: u32,
}

impl CivilRegistrationCounts {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("office_id", &self.office_id)?;
        let t = self.hour_start;
        if unix_ms(t) < EARLIEST_EVENT_TIME_MS {
            return Err(RejectReason::new(
                RejectKind::OutOfRange,
                format!("hour_start {t} is before 2000-01-01"),
            ));
        }
        // Windows that do not start on the hour would overlap their
        // neighbours and double-count in the hourly roll-up.
        if (t.minute(), t.second(), t.nanosecond()) != (0, 0, 0) {
            return Err(RejectReason::new(
                RejectKind::InvalidHourWindow,
                format!("hour_start {t} does not start on the hour"),
            ));
        }
        for (field, value) in [
            ("births", self.births),
            ("deaths", self.deaths),
            ("move_in", self.move_in),
            ("move_out", self.move_out),
            ("id_cards_issued", self.id_cards_issued),
        ] {
            check_int_range(field, value, 0..=MAX_HOURLY_COUNT)?;
        }
        Ok(())
    }
}

/// How a citizen reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceChannel {
    Counter,
    Online,
    Kiosk,
}

/// How a service transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceOutcome {
    Completed,
    /// Sent on to another office or agency.
    Referred,
    Rejected,
}

/// Longest wait accepted, in minutes: a full day. Longer means the clock of
/// the queue system is wrong, and one such value would wreck a mean.
pub const MAX_WAIT_MINUTES: f64 = 24.0 * 60.0;

/// One completed public-service transaction at a district office, website or
/// kiosk: the basis of the waiting-time and completion-rate tiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PublicServiceTransaction {
    /// Office (or online system) that served the request.
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub office_id: String,
    /// Service code, e.g. `id_card_renewal`, `house_registration_move`.
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub service: String,
    pub channel: ServiceChannel,
    /// Minutes from queue ticket (or submission) to first service.
    #[schemars(range(min = 0.0, max = MAX_WAIT_MINUTES))]
    pub wait_minutes: f64,
    pub outcome: ServiceOutcome,
}

impl PublicServiceTransaction {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("office_id", &self.office_id)?;
        check_id("service", &self.service)?;
        check_range(
            "wait_minutes",
            self.wait_minutes,
            0.0..=MAX_WAIT_MINUTES,
            "min",
        )
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn counts() -> CivilRegistrationCounts {
        CivilRegistrationCounts {
            office_id: "1001".to_owned(),
            hour_start: datetime!(2026-09-22 10:00 +07:00),
            births: 3,
            deaths: 2,
            move_in: 10,
            move_out: 8,
            id_cards_issued: 41,
        }
    }

    #[test]
    fn hour_windows_must_start_on_the_hour() {
        assert_eq!(counts().validate(), Ok(()));
        let mut c = counts();
        c.hour_start = datetime!(2026-09-22 10:30 +07:00);
        assert_eq!(c.validate().unwrap_err().kind, "invalid_hour_window");
        c.hour_start = datetime!(1999-12-31 10:00 +07:00);
        assert_eq!(c.validate().unwrap_err().kind, "out_of_range");
    }

    #[test]
    fn implausible_counts_and_waits_are_refused() {
        let mut c = counts();
        c.births = MAX_HOURLY_COUNT + 1;
        assert_eq!(c.validate().unwrap_err().kind, "out_of_range");
        let mut t = PublicServiceTransaction {
            office_id: "1001".to_owned(),
            service: "id_card_renewal".to_owned(),
            channel: ServiceChannel::Kiosk,
            wait_minutes: 12.5,
            outcome: ServiceOutcome::Completed,
        };
        assert_eq!(t.validate(), Ok(()));
        t.wait_minutes = f64::INFINITY;
        assert_eq!(t.validate().unwrap_err().kind, "non_finite_value");
        t.wait_minutes = -0.5;
        assert_eq!(t.validate().unwrap_err().kind, "negative_value");
    }
}
