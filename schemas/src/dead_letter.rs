//! The dead-letter contract: a message that failed validation, kept byte
//! for byte with why it was refused and where it was read.

use serde::{Deserialize, Serialize};

use crate::RejectKind;

/// A message the pipeline refused, with where it came from and why: it goes
/// to the dead-letter topic and to `rejected_events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
    pub kind: RejectKind,
    pub reason: String,
    pub received_at_ms: i64,
}
