//! When the shared reads (`shared`) are read again: each committee's
//! stored figures get a mark, taken from what the wall's poller reads every
//! refresh anyway, and a cached read is repeated only when its committee's
//! mark moved since it was made, or when it is older than a safety age.
//!
//! Watched areas used to be read again every `area_refresh_ms` whether or
//! not anything had changed; under the drill-down benchmark those reads
//! were most of ClickHouse's share of a two-core machine. A quiet committee
//! now costs one read per `area_max_age_ms` per area, a busy one no more
//! than before.

use std::{
    collections::{HashMap, HashSet},
    hash::{DefaultHasher, Hash, Hasher},
    time::Duration,
};

use pmoc_schemas::{api::SourceFreshness, committee::Committee};
use pmoc_store::WindowRow;

/// One number per committee that changes whenever the pipeline stores
/// something of it: empty until the wall's first successful read (then
/// every committee's reads are repeated each refresh, as before marks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks(HashMap<Committee, u64>);

impl Marks {
    /// From the wall's raw reads (before any figure is protected: a
    /// rounded count can stand still while the stored one moves).
    ///
    /// - The committee's nation windows at the wall's width: the pipeline
    ///   rolls every value up to the nation, so a new running value, a
    ///   final row or a revision of a recent window anywhere gives one of
    ///   them a new version.
    /// - Its sources' watermarks: how far results are complete (the
    ///   drill-down's "complete to"), and events read, late ones included.
    pub fn of(nation: &[WindowRow], freshness: &[SourceFreshness]) -> Self {
        let mut hashers: HashMap<Committee, DefaultHasher> = Committee::ALL
            .into_iter()
            .map(|c| (c, DefaultHasher::new()))
            .collect();
        for r in nation {
            if let Some(h) = Committee::from_name(&r.committee).and_then(|c| hashers.get_mut(&c)) {
                (&r.metric, r.window_start, r.version, r.computed_at_ms).hash(h);
                (r.is_final, r.revised_count).hash(h);
            }
        }
        for f in freshness {
            if let Some(h) = Committee::from_name(&f.committee).and_then(|c| hashers.get_mut(&c)) {
                (&f.source_agency, &f.source_system, &f.schema).hash(h);
                (f.final_up_to_ms, f.last_event_ms, f.last_seen_ms).hash(h);
                f.events_total.hash(h);
            }
        }
        Self(hashers.into_iter().map(|(c, h)| (c, h.finish())).collect())
    }

    /// The committee's mark; `None` before the wall's first read.
    pub fn of_committee(&self, committee: Committee) -> Option<u64> {
        self.0.get(&committee).copied()
    }
}

/// What a refresh may do with one committee's cached reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Read every one again: the safety age has passed.
    All,
    /// Read those made before the committee's mark moved.
    Changed,
    /// Read none: the committee's changed reads were repeated less than a
    /// refresh ago.
    Wait,
}

/// One refresh's decisions, for every shared read.
#[derive(Debug, Clone)]
pub struct Plan {
    marks: Marks,
    due: HashMap<Committee, Due>,
}

impl Plan {
    /// The mark to record with a read of `committee` made now.
    pub fn mark(&self, committee: Committee) -> Option<u64> {
        self.marks.of_committee(committee)
    }

    /// Whether a read of `committee` made with the mark `read_mark` is read
    /// again in this refresh. An unknown mark (no wall read yet) counts as
    /// moved.
    pub fn reads(&self, committee: Committee, read_mark: Option<u64>) -> bool {
        match self.due.get(&committee).copied().unwrap_or(Due::Changed) {
            Due::All => true,
            Due::Changed => {
                let now = self.marks.of_committee(committee);
                now.is_none() || read_mark != now
            }
            Due::Wait => false,
        }
    }
}

/// When each committee's reads were last repeated; the refresher's own.
#[derive(Debug)]
pub struct Schedule {
    every_ms: i64,
    max_age_ms: i64,
    /// `(changed reads repeated, all reads repeated)`, server clock ms.
    last: HashMap<Committee, (i64, i64)>,
}

impl Schedule {
    /// Changed reads are repeated at most once per `every`, all of them at
    /// least once per `max_age`.
    pub fn new(every: Duration, max_age: Duration) -> Self {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self {
            every_ms: ms(every),
            max_age_ms: ms(max_age),
            last: HashMap::new(),
        }
    }

    /// What a refresh at `now_ms` does. A committee's reads are due
    /// together, so a page told that its nation changed finds the district
    /// map of the same committee read in the same refresh. A tenth of the
    /// interval is allowed early: a tick that fires a millisecond soon must
    /// not put the reads off by a whole tick.
    pub fn plan(&self, now_ms: i64, marks: Marks) -> Plan {
        let after = |since: i64, ms: i64| now_ms - since >= ms - ms / 10;
        let due = Committee::ALL
            .into_iter()
            .map(|c| {
                let (changed, all) = self.last.get(&c).copied().unwrap_or((i64::MIN, now_ms));
                let due = if after(all, self.max_age_ms) {
                    Due::All
                } else if changed == i64::MIN || after(changed, self.every_ms) {
                    Due::Changed
                } else {
                    Due::Wait
                };
                (c, due)
            })
            .collect();
        Plan { marks, due }
    }

    /// Records the refresh planned at `now_ms`, in which the committees in
    /// `read` had reads repeated.
    pub fn done(&mut self, plan: &Plan, read: &HashSet<Committee>, now_ms: i64) {
        for c in Committee::ALL {
            let last = self.last.entry(c).or_insert((i64::MIN, now_ms));
            if plan.due.get(&c) == Some(&Due::All) {
                *last = (now_ms, now_ms);
            } else if read.contains(&c) {
                last.0 = now_ms;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Duration = Duration::from_secs(2);
    const MAX_AGE: Duration = Duration::from_secs(10);
    const WATER: Committee = Committee::Water;

    fn marks(water: u64) -> Marks {
        Marks(HashMap::from([(WATER, water), (Committee::Population, 1)]))
    }

    /// One refresh at `now`: whether a water read made with `read_mark` is
    /// repeated, the schedule told whether it was.
    fn refresh(s: &mut Schedule, now: i64, current: Marks, read_mark: u64) -> bool {
        let plan = s.plan(now, current);
        let reads = plan.reads(WATER, Some(read_mark));
        let read = if reads {
            HashSet::from([WATER])
        } else {
            HashSet::new()
        };
        s.done(&plan, &read, now);
        reads
    }

    #[test]
    fn a_read_is_repeated_when_its_committee_moved_or_it_is_old() {
        let mut s = Schedule::new(EVERY, MAX_AGE);
        // Read with mark 7 and refreshed from 0 on: nothing moved, nothing
        // read, for as long as the safety age allows.
        assert!(!refresh(&mut s, 0, marks(7), 7), "unchanged: no read");
        assert!(!refresh(&mut s, 2_000, marks(7), 7), "unchanged: no read");
        // Water's figures moved: read at once.
        assert!(refresh(&mut s, 4_000, marks(8), 7), "changed: read");
        // Moved again half a refresh later: read at the next refresh, not
        // before (a busy committee costs no more than before marks).
        assert!(!refresh(&mut s, 5_000, marks(9), 8), "too soon");
        assert!(refresh(&mut s, 5_900, marks(9), 8), "a refresh after");
        // Quiet from then on: the safety read, every `max_age`.
        assert!(refresh(&mut s, 10_000, marks(9), 9), "safety age");
        assert!(!refresh(&mut s, 12_000, marks(9), 9), "unchanged: no read");
        assert!(!refresh(&mut s, 18_000, marks(9), 9), "unchanged: no read");
        assert!(refresh(&mut s, 20_000, marks(9), 9), "safety age");
    }

    #[test]
    fn without_marks_every_refresh_reads() {
        let s = Schedule::new(EVERY, MAX_AGE);
        let plan = s.plan(1_000, Marks::default());
        assert!(plan.reads(WATER, None));
        assert_eq!(plan.mark(WATER), None);
        // A read made before the wall's first read is repeated once marks
        // are known.
        assert!(s.plan(1_000, marks(3)).reads(WATER, None));
    }

    #[test]
    fn a_committee_is_marked_by_its_own_rows_only() {
        let row = |committee: &str, version: u64| WindowRow {
            metric: "m".to_owned(),
            committee: committee.to_owned(),
            source: String::new(),
            area_level: "nation".to_owned(),
            area_code: "TH".to_owned(),
            window_seconds: 3_600,
            window_start: 0,
            window_end: 3_600,
            count: 1,
            sum: 1.0,
            min: 1.0,
            max: 1.0,
            last: 1.0,
            last_event_time_ms: 0,
            p50: f64::NAN,
            p95: f64::NAN,
            is_final: 0,
            computed_at_ms: 0,
            version,
            weight: 1.0,
            revised_count: 0,
        };
        let before = Marks::of(&[row("water", 1), row("population", 1)], &[]);
        let after = Marks::of(&[row("water", 2), row("population", 1)], &[]);
        assert_ne!(before.of_committee(WATER), after.of_committee(WATER));
        assert_eq!(
            before.of_committee(Committee::Population),
            after.of_committee(Committee::Population)
        );
    }
}
