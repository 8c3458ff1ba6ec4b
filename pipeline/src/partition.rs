//! What a worker knows about each Kafka partition it owns: the event-time
//! watermark, whether the partition may hold windows open, and which offset is
//! safe to commit given what the sink has stored.
//!
//! Lateness is decided per partition, in offset order, from the greatest event
//! time read before the record. That makes it a function of the topic's
//! contents alone, so a replay after a crash classifies every record the same
//! way, provided the watermark is restored with the offset (see
//! [`CommitPoint`]).

use std::{
    collections::{BTreeMap, HashMap},
    time::Instant,
};

/// Fewest remembered ids before old ones are swept.
const MIN_SWEEP: usize = 4_096;

/// How a record was classified on arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Within the allowed lateness: it counts in its window.
    OnTime,
    /// Older than the partition's watermark: it is recorded as late.
    Late { watermark_ms: i64 },
}

/// Where to resume a partition: the first offset whose output is not yet
/// stored, the partition's greatest event time before that offset, and the
/// event time below which every window was already stored.
///
/// The stored frontier matters on replay: records after the resume offset
/// can belong to windows that were already written in full (out-of-order
/// data interleaves windows). Re-aggregating them would overwrite a complete
/// window with a partial one, so they are recognised and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitPoint {
    pub offset: i64,
    pub max_seen_ms: Option<i64>,
    pub stored_below_ms: Option<i64>,
}

#[derive(Debug)]
pub struct PartitionState {
    /// Index of the partition's topic in the reader's topic list.
    pub topic: usize,
    pub partition: i32,
    max_seen_ms: Option<i64>,
    /// Windows ending at or before this were stored before the last restart.
    stored_below_ms: Option<i64>,
    next_offset: i64,
    /// The partition had unread messages when the worker started.
    backlog_at_start: bool,
    /// The broker said this partition had nothing past `next_offset`.
    at_eof: bool,
    last_message: Instant,
    last_end_check: Option<Instant>,
    /// Time from which a record's output is stored (its window end, or the
    /// late record's emit time + 1) -> (least offset, max seen before it).
    pending: BTreeMap<i64, (i64, Option<i64>)>,
    /// Event ids read, with their event time, to drop republished copies
    /// (a client retrying, a connector re-run); forgotten beyond the horizon.
    seen: HashMap<Box<str>, i64>,
    next_sweep: usize,
}

impl PartitionState {
    pub fn new(
        topic: usize,
        partition: i32,
        resume: CommitPoint,
        backlog_at_start: bool,
        now: Instant,
    ) -> Self {
        Self {
            topic,
            partition,
            max_seen_ms: resume.max_seen_ms,
            stored_below_ms: resume.stored_below_ms,
            next_offset: resume.offset,
            backlog_at_start,
            at_eof: false,
            last_message: now,
            last_end_check: None,
            pending: BTreeMap::new(),
            seen: HashMap::new(),
            next_sweep: MIN_SWEEP,
        }
    }

    /// Whether `event_id` was already read in this partition within
    /// `horizon_ms` of event time before the newest event; remembers it if not.
    ///
    /// Deterministic on replay: a copy whose original lies before the resume
    /// offset belongs to windows that are all stored (that is what the resume
    /// offset means), so it is skipped either way; and a copy older than the
    /// horizon (longer than the allowed lateness) is late, kept in
    /// `late_events` under the same id, never counted twice.
    pub fn is_duplicate(&mut self, event_id: &str, event_ms: i64, horizon_ms: i64) -> bool {
        if self.seen.contains_key(event_id) {
            return true;
        }
        if self.seen.len() >= self.next_sweep {
            let oldest = self
                .max_seen_ms
                .unwrap_or(i64::MIN)
                .saturating_sub(horizon_ms);
            self.seen.retain(|_, t| *t >= oldest);
            self.next_sweep = (self.seen.len() * 2).max(MIN_SWEEP);
        }
        self.seen.insert(event_id.into(), event_ms);
        false
    }

    /// The event time before which records of this partition are late.
    pub fn watermark(&self, lateness_ms: i64) -> Option<i64> {
        self.max_seen_ms.map(|m| m - lateness_ms)
    }

    /// Classifies the record at `offset` and remembers what it waits for.
    ///
    /// `stored_from` is the time from which the record's output will be
    /// durable: its window's end if on time, or the late emit time + 1.
    pub fn arrive(
        &mut self,
        offset: i64,
        event_ms: i64,
        lateness_ms: i64,
        now: Instant,
    ) -> Arrival {
        let watermark = self.watermark(lateness_ms);
        self.last_message = now;
        self.at_eof = false;
        self.next_offset = offset + 1;
        match watermark {
            Some(w) if event_ms < w => Arrival::Late { watermark_ms: w },
            _ => Arrival::OnTime,
        }
    }

    /// Records that the message at `offset` was read but rejected: it moves
    /// the position and counts as activity, but not as an event time.
    pub fn arrive_rejected(&mut self, offset: i64, now: Instant) {
        self.last_message = now;
        self.at_eof = false;
        self.next_offset = offset + 1;
    }

    /// Whether the window ending at `window_end_ms` was stored before the
    /// restart, so an on-time record of it is already counted.
    pub fn already_stored(&self, window_end_ms: i64) -> bool {
        self.stored_below_ms.is_some_and(|f| window_end_ms <= f)
    }

    /// Moves past a record that produced no output (replayed into a window
    /// that is already stored).
    pub fn skip(&mut self, offset: i64) {
        self.next_offset = offset + 1;
    }

    /// Records that the output of the record at `offset` (read when the
    /// partition's max seen was `max_seen_before`) is stored from `stored_from`.
    pub fn track(&mut self, offset: i64, max_seen_before: Option<i64>, stored_from: i64) {
        self.pending
            .entry(stored_from)
            .or_insert((offset, max_seen_before));
    }

    /// Raises the max seen event time after a record has been tracked.
    pub fn advance(&mut self, event_ms: i64) {
        self.max_seen_ms = Some(self.max_seen_ms.map_or(event_ms, |m| m.max(event_ms)));
    }

    pub fn max_seen_ms(&self) -> Option<i64> {
        self.max_seen_ms
    }

    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Whether to ask the broker if this partition is at its end: it has been
    /// quiet for `quiet`, and was not asked within the last `quiet / 4`.
    pub fn due_for_end_check(&self, now: Instant, quiet: std::time::Duration) -> bool {
        now.duration_since(self.last_message) > quiet
            && self
                .last_end_check
                .is_none_or(|t| now.duration_since(t) > quiet / 4)
    }

    pub fn set_at_end(&mut self, at_end: bool, now: Instant) {
        self.at_eof = at_end;
        self.last_end_check = Some(now);
    }

    /// Whether this partition may hold the worker's event-time frontier back.
    ///
    /// A partition with unread backlog holds until its first record says where
    /// it is; one that has delivered data holds until it has been caught up
    /// and silent for `idle`, so one quiet station network cannot stall the
    /// whole country's windows.
    pub fn holds(&self, now: Instant, idle: std::time::Duration) -> bool {
        if self.max_seen_ms.is_none() {
            return self.backlog_at_start;
        }
        !(self.at_eof && now.duration_since(self.last_message) > idle)
    }

    /// The resume point once everything before `stored_frontier` is stored
    /// (`None`: everything is stored). Forgets what no longer matters.
    pub fn commit_point(&mut self, stored_frontier: Option<i64>) -> CommitPoint {
        match stored_frontier {
            Some(f) => {
                self.pending = self.pending.split_off(&(f + 1));
                self.stored_below_ms = Some(self.stored_below_ms.map_or(f, |s| s.max(f)));
            }
            None => self.pending.clear(),
        }
        let (offset, max_seen_ms) = self
            .pending
            .values()
            .min_by_key(|(offset, _)| *offset)
            .copied()
            .unwrap_or((self.next_offset, self.max_seen_ms));
        CommitPoint {
            offset,
            max_seen_ms,
            stored_below_ms: self.stored_below_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATE: i64 = 30_000;

    fn feed(p: &mut PartitionState, offset: i64, event_ms: i64) -> Arrival {
        let before = p.max_seen_ms();
        let a = p.arrive(offset, event_ms, LATE, Instant::now());
        let stored_from = match a {
            Arrival::OnTime => pmoc_schemas::calendar::window_of(event_ms, 60_000).1,
            Arrival::Late { .. } => 1_000_000,
        };
        p.track(offset, before, stored_from);
        p.advance(event_ms);
        a
    }

    #[test]
    fn republished_ids_are_duplicates_until_they_age_out() {
        let start = CommitPoint {
            offset: 0,
            max_seen_ms: None,
            stored_below_ms: None,
        };
        let mut p = PartitionState::new(0, 0, start, true, Instant::now());
        assert!(!p.is_duplicate("a", 1_000, 60_000));
        assert!(p.is_duplicate("a", 1_000, 60_000));
        assert!(!p.is_duplicate("b", 1_000, 60_000));
        // Far ahead in event time, enough ids to sweep: "a" is forgotten.
        p.advance(10_000_000);
        for i in 0..MIN_SWEEP {
            let _ = p.is_duplicate(&format!("x{i}"), 10_000_000, 60_000);
        }
        let _ = p.is_duplicate("trigger", 10_000_000, 60_000);
        assert!(!p.is_duplicate("a", 1_000, 60_000));
    }

    #[test]
    fn lateness_is_decided_by_the_partition_order() {
        let start = CommitPoint {
            offset: 0,
            max_seen_ms: None,
            stored_below_ms: None,
        };
        let mut p = PartitionState::new(0, 0, start, true, Instant::now());
        assert_eq!(feed(&mut p, 0, 100_000), Arrival::OnTime);
        assert_eq!(
            feed(&mut p, 1, 75_000),
            Arrival::OnTime,
            "25 s late is allowed"
        );
        assert_eq!(
            feed(&mut p, 2, 60_000),
            Arrival::Late {
                watermark_ms: 70_000
            }
        );
        assert_eq!(feed(&mut p, 3, 130_000), Arrival::OnTime);
    }

    #[test]
    fn commit_point_waits_for_the_oldest_unstored_window() {
        let start = CommitPoint {
            offset: 10,
            max_seen_ms: Some(50_000),
            stored_below_ms: None,
        };
        let mut p = PartitionState::new(0, 0, start, true, Instant::now());
        feed(&mut p, 10, 65_000); // window [60 s, 120 s)
        feed(&mut p, 11, 125_000); // window [120 s, 180 s)
        assert_eq!(
            p.commit_point(Some(100_000)),
            CommitPoint {
                stored_below_ms: Some(100_000),
                ..start
            }
        );
        // Window ending at 120 s stored: resume at offset 11 with max 65 s.
        let point = p.commit_point(Some(120_000));
        assert_eq!(
            point,
            CommitPoint {
                offset: 11,
                max_seen_ms: Some(65_000),
                stored_below_ms: Some(120_000),
            }
        );
        let all = p.commit_point(None);
        assert_eq!(
            all,
            CommitPoint {
                offset: 12,
                max_seen_ms: Some(125_000),
                stored_below_ms: Some(120_000),
            }
        );
    }

    #[test]
    fn empty_partitions_do_not_hold_and_idle_ones_stop_holding() {
        let idle = std::time::Duration::from_millis(0);
        let t0 = Instant::now();
        let start = CommitPoint {
            offset: 0,
            max_seen_ms: None,
            stored_below_ms: None,
        };
        let empty = PartitionState::new(0, 0, start, false, t0);
        assert!(!empty.holds(t0, idle));
        let mut backlog = PartitionState::new(0, 1, start, true, t0);
        assert!(backlog.holds(t0, idle));
        feed(&mut backlog, 0, 1_000);
        assert!(backlog.holds(Instant::now(), idle));
        backlog.set_at_end(true, Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(!backlog.holds(Instant::now(), idle));
    }

    #[test]
    fn replayed_records_of_stored_windows_are_recognised() {
        let resume = CommitPoint {
            offset: 11,
            max_seen_ms: Some(59_000),
            stored_below_ms: Some(60_000),
        };
        let p = PartitionState::new(0, 0, resume, true, Instant::now());
        assert!(p.already_stored(60_000), "window [0, 60 s) was written");
        assert!(!p.already_stored(120_000));
    }
}
