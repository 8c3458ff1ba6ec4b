//! What flows through the dataflow: records from the sources to the
//! windows, and outputs from the windows to the sink. Only data here, so
//! every operator can use it without using each other.

use pmoc_schemas::{alert::AlertEvent, dead_letter::RejectedMessage};
use serde::{Deserialize, Serialize};

use crate::window::{Accumulator, Area, Metric, Observation};

/// What flows from the sources to the windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Observation(Observation),
    /// Too late for its window: kept, stored and counted, never dropped.
    /// Boxed, like `Rejected`: rare variants must not make every record
    /// large, since records are moved through the exchange by value.
    Late(Box<LateEvent>),
    /// Failed validation: goes to the dead-letter topic and `rejected_events`.
    Rejected(Box<RejectedMessage>),
    /// Later than the allowed lateness but within the correction horizon:
    /// folded into the final windows of one area (see [`crate::revision`]).
    Revision(Box<Revision>),
}

impl Record {
    /// Routes every record of an area to the same worker.
    pub fn route(&self) -> u64 {
        match self {
            Record::Observation(o) => o.area.route(),
            Record::Late(l) => l.area.route(),
            Record::Rejected(r) => r.offset as u64,
            Record::Revision(r) => r.target.route(),
        }
    }
}

/// A late value on its way into the final windows of every width of one
/// area: its district, its province, their regions and the nation each get
/// their own, so every window is revised by the one worker that owns it and
/// a parent needs no other province's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// The area whose windows it revises.
    pub target: Area,
    /// The value as it counts: `area` is where it was reported (the
    /// province for a parent, as rollups merge them), so "last" breaks ties
    /// as the rollup would.
    pub obs: Observation,
    /// The sending agency and the message's event id: a window holds them
    /// for each late value in it ([`Revision::id`]).
    pub agency: String,
    pub event_id: String,
    /// The partition's watermark when it arrived and when: kept for
    /// `late_events` if it cannot be folded in (see [`crate::revision`]).
    pub watermark_ms: i64,
    pub received_at_ms: i64,
}

impl Revision {
    /// What a window remembers of the late values folded into it, so a
    /// replayed or republished one is never folded in twice (event ids are
    /// unique per agency).
    pub fn id(&self) -> String {
        format!("{}/{}", self.agency, self.event_id)
    }

    /// The value as a correction not folded in.
    pub fn late(&self) -> LateEvent {
        LateEvent {
            metric: self.obs.metric,
            event_id: self.event_id.clone(),
            area: self.obs.area,
            event_ms: self.obs.event_ms,
            watermark_ms: self.watermark_ms,
            value: self.obs.value,
            received_at_ms: self.received_at_ms,
        }
    }
}

/// An event that arrived after its window could still take it: one row per
/// metric value of the message, written to `late_events` as a correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateEvent {
    pub metric: Metric,
    pub event_id: String,
    pub area: Area,
    pub event_ms: i64,
    pub watermark_ms: i64,
    pub value: f64,
    pub received_at_ms: i64,
}

/// One window's aggregate, running (`is_final` false) or final.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowValue {
    pub metric: Metric,
    pub area: Area,
    pub start_ms: i64,
    pub end_ms: i64,
    pub acc: Accumulator,
    pub is_final: bool,
}

/// What the sink writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Output {
    Window(Box<WindowValue>),
    Late(LateEvent),
    Rejected(RejectedMessage),
    Alert(Box<AlertEvent>),
    /// Passed from the windows to the revisions operator on the worker that
    /// owns its target area; never written as such.
    Revision(Box<Revision>),
}
