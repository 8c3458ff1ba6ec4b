//! Why a record was refused. Rejected input is data, not a failure: the reason
//! travels with the original bytes to the dead-letter topic and is counted.

use serde::{Deserialize, Serialize};

/// A validation failure with a stable machine-readable kind and a human reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{kind}: {detail}")]
pub struct RejectReason {
    /// Stable label used in metrics and the rejects table (`snake_case`).
    pub kind: String,
    /// Human-readable explanation for the integrator who sent the record.
    pub detail: String,
}

impl RejectReason {
    pub fn new(kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
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
