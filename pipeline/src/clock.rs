//! The pipeline's one wall clock.
//!
//! Event time comes from the events; the wall clock only stamps when
//! something was received, computed or written, and says how long a source
//! has been quiet. Everything in the pipeline reads it here.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
