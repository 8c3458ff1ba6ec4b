//! Whether data is flowing, as the dashboard server sees it: what the
//! "live" badge of every page says. Pushed to every page each second
//! (`health` events on `/api/stream`, and `GET /api/health`).
//!
//! "Live" must mean that figures are being renewed, not merely that the
//! browser is connected: a broker that stalls, a pipeline that stops
//! storing, or a ClickHouse the server cannot read all leave the page
//! connected and the figures frozen. So the server watches the two things
//! that move when data flows, the pipeline's stored frontier (the event
//! time up to which every result is in ClickHouse, from
//! `source_watermarks`) and its own last successful read, and calls the
//! stack stalled when either has not moved for `stall_after`.

use serde::{Deserialize, Serialize};

/// The server's view of the data flow, with the server's own clock, so
/// every page judges ages by one clock whatever its own says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Health {
    pub server_now_ms: i64,
    /// Last time the server read ClickHouse successfully; 0 never.
    pub last_read_ok_ms: i64,
    /// The pipeline's stored frontier (event time), if any source reported.
    pub stored_frontier_ms: Option<i64>,
    /// Server time at which the stored frontier last moved forward.
    pub frontier_moved_at_ms: Option<i64>,
    /// How long either may stand still before the stack counts as stalled.
    pub stall_after_ms: i64,
    /// Set when data has stopped flowing.
    pub stalled: Option<Stall>,
}

/// Data has stopped flowing since `since_ms` (server time), because of
/// `cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stall {
    pub since_ms: i64,
    pub cause: StallCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StallCause {
    /// The server cannot read ClickHouse: what the pages show is its last read.
    Storage,
    /// The pipeline's stored results stopped advancing: the broker, the
    /// pipeline or its writes to ClickHouse are stuck.
    Pipeline,
}

impl StallCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Storage => "storage",
            Self::Pipeline => "pipeline",
        }
    }
}

impl Health {
    /// Judges the flow at `now_ms`.
    ///
    /// ```
    /// use pmoc_schemas::health::{Health, StallCause};
    /// let h = Health::judge(100_000, 99_500, Some(50_000), Some(95_000), 20_000);
    /// assert!(h.stalled.is_none());
    /// let h = Health::judge(200_000, 199_500, Some(50_000), Some(95_000), 20_000);
    /// assert_eq!(h.stalled.map(|s| (s.since_ms, s.cause)), Some((95_000, StallCause::Pipeline)));
    /// let h = Health::judge(200_000, 150_000, Some(50_000), Some(195_000), 20_000);
    /// assert_eq!(h.stalled.map(|s| s.cause), Some(StallCause::Storage));
    /// ```
    pub fn judge(
        now_ms: i64,
        last_read_ok_ms: i64,
        stored_frontier_ms: Option<i64>,
        frontier_moved_at_ms: Option<i64>,
        stall_after_ms: i64,
    ) -> Self {
        let stuck = |since: i64| now_ms - since > stall_after_ms;
        let stalled = if last_read_ok_ms > 0 && stuck(last_read_ok_ms) {
            Some(Stall {
                since_ms: last_read_ok_ms,
                cause: StallCause::Storage,
            })
        } else {
            // No frontier yet (a new, empty stack) is waiting, not stalled.
            frontier_moved_at_ms.filter(|&t| stuck(t)).map(|t| Stall {
                since_ms: t,
                cause: StallCause::Pipeline,
            })
        };
        Self {
            server_now_ms: now_ms,
            last_read_ok_ms,
            stored_frontier_ms,
            frontier_moved_at_ms,
            stall_after_ms,
            stalled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_stack_without_results_is_not_stalled() {
        let h = Health::judge(1_000_000, 999_000, None, None, 20_000);
        assert_eq!(h.stalled, None);
    }

    #[test]
    fn storage_failure_wins_over_a_still_frontier() {
        let h = Health::judge(1_000_000, 900_000, Some(1), Some(800_000), 20_000);
        assert_eq!(
            h.stalled,
            Some(Stall {
                since_ms: 900_000,
                cause: StallCause::Storage
            })
        );
    }
}
