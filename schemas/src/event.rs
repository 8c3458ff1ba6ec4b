//! Identity and time of events, common to every committee's stream.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{RejectKind, RejectReason};

/// Longest event id accepted; ids are used as deduplication keys.
pub const MAX_EVENT_ID_LEN: usize = 128;

/// A publisher-assigned unique id, the key for deduplication on replay.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    pub fn parse(id: &str) -> Result<Self, RejectReason> {
        if id.trim().is_empty() {
            return Err(RejectReason::new(
                RejectKind::MissingEventId,
                "event_id is empty",
            ));
        }
        if id.len() > MAX_EVENT_ID_LEN || id.chars().any(crate::committee::is_hidden_char) {
            return Err(RejectReason::new(
                RejectKind::InvalidEventId,
                format!(
                    "event_id must be at most {MAX_EVENT_ID_LEN} bytes of visible characters \
                     (no control, zero-width or bidi characters): {}",
                    crate::error::quote(id)
                ),
            ));
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = RejectReason;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EventId> for String {
    fn from(c: EventId) -> Self {
        c.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Earliest event time accepted: older records are almost always unit or epoch bugs.
pub const EARLIEST_EVENT_TIME_MS: i64 = 946_684_800_000; // 2000-01-01T00:00:00Z
/// How far ahead of the receiver's clock an event may be stamped (clock skew).
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Milliseconds since the Unix epoch, the pipeline's event-time unit.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Checks an event time against the plausible range, given the receiver's clock.
pub fn validate_event_time(t: OffsetDateTime, now_ms: i64) -> Result<(), RejectReason> {
    let ms = unix_ms(t);
    if ms < EARLIEST_EVENT_TIME_MS {
        return Err(RejectReason::new(
            RejectKind::EventTimeTooOld,
            format!("event_time {t} is before 2000-01-01"),
        ));
    }
    if ms > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
        return Err(RejectReason::new(
            RejectKind::EventTimeInFuture,
            format!("event_time {t} is more than 5 minutes ahead of the receiver's clock"),
        ));
    }
    Ok(())
}
