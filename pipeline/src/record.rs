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
}

impl Record {
    /// Routes every record of an area to the same worker.
    pub fn route(&self) -> u64 {
        match self {
            Record::Observation(o) => o.area.route(),
            Record::Late(l) => l.area.route(),
            Record::Rejected(r) => r.offset as u64,
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
}
