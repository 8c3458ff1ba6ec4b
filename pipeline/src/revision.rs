//! Revisions: a value later than the allowed lateness but within the
//! correction horizon is folded into the final windows it belongs to, and
//! each of them is written again as a new final version, marked revised with
//! the count of late values in it. Alerts read revised province windows like
//! any final window (see [`crate::alerting`]).
//!
//! Nothing of a closed window stays in memory for the horizon (a week of
//! one-minute windows of every area would not fit): a final row carries the
//! window's state (`revision_state`), and a revision reads it back. To read
//! the right version, a revision waits until the window's final row is
//! stored (the sink's probe has passed the window's end), and the windows
//! this worker revised stay in a cache until their new rows are stored too,
//! so two late values of one window in flight never read the same old row.
//!
//! Every window is revised by the worker that owns its area (the windows
//! operator exchanged the revision by its target), so a window has one
//! writer. A parent area (regions, nation) is revised with the late value
//! itself, as its provinces' windows are, rather than re-merged from them:
//! the fold is the same one the rollup does, and no other province's state
//! is needed.
//!
//! Replays: a window's state holds the ids of its late values, so a late
//! value replayed after a crash (or republished) is recognised and not
//! folded in twice. Read-backs are batched: the revisions whose windows
//! became stored are served by one query per thousand windows, one query an
//! activation, so a replay of many late values costs few queries and never
//! holds the worker for long.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use pmoc_schemas::calendar::window_of;
use timely::dataflow::{
    ProbeHandle, Scope, Stream,
    channels::pact::Pipeline,
    operators::{Capability, Operator},
};

use crate::{
    record::{Output, Revision, WindowValue},
    window::{Accumulator, Area, Metric},
};

/// (metric, area, window start, window end).
pub type StateKey = (Metric, Area, i64, i64);

/// What a read-back found of one window.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    State(Accumulator),
    /// A final row without a state this build can read (written before
    /// migration 12): its late values stay corrections in `late_events`.
    Unreadable,
}

/// Why a read-back failed; the revisions wait and are retried.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadBackError {
    #[error("clickhouse")]
    Store(#[from] pmoc_store::StoreError),
    #[error("clickhouse did not answer within {0:?}")]
    Timeout(Duration),
}

/// Where a revision finds the stored final state of windows.
pub trait ReadBack: Send + Sync {
    /// The stored final state of each of `keys` that has a final row.
    fn read(&self, keys: &[StateKey]) -> Result<HashMap<StateKey, Stored>, ReadBackError>;
}

/// Reads final rows from ClickHouse, blocking the worker for the query:
/// revisions are rare and batched, and a worker waiting on its read-back
/// holds only the revisions' own capabilities.
pub struct StoreReadBack {
    pub store: pmoc_store::Store,
    pub runtime: tokio::runtime::Handle,
}

/// Longest a worker waits for one read-back (of at most [`READ_BATCH`]
/// windows) before trying again later.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

impl ReadBack for StoreReadBack {
    fn read(&self, keys: &[StateKey]) -> Result<HashMap<StateKey, Stored>, ReadBackError> {
        let wanted: HashMap<pmoc_store::WindowKey, StateKey> =
            keys.iter().map(|k| (store_key(k), *k)).collect();
        let request: Vec<pmoc_store::WindowKey> = wanted.keys().cloned().collect();
        let rows = self
            .runtime
            .block_on(async {
                tokio::time::timeout(READ_TIMEOUT, self.store.final_windows(&request)).await
            })
            .map_err(|_| ReadBackError::Timeout(READ_TIMEOUT))??;
        let mut found = HashMap::new();
        for row in rows {
            let Some(&k) = wanted.get(&row.key()) else {
                continue;
            };
            let stored = match serde_json::from_str::<Accumulator>(&row.revision_state) {
                Ok(acc) => Stored::State(acc),
                Err(error) => {
                    tracing::warn!(metric = %row.metric, area = %row.area_code, %error,
                        "final window without a readable state; its late values stay corrections");
                    Stored::Unreadable
                }
            };
            found.insert(k, stored);
        }
        Ok(found)
    }
}

/// The key `window_aggregates` has for `k`.
fn store_key(k: &StateKey) -> pmoc_store::WindowKey {
    let (metric, area, start, end) = *k;
    (
        metric.name().to_owned(),
        area.level.as_str().to_owned(),
        area.code_string(),
        ((end - start) / 1000) as u32,
        (start / 1000) as u32,
    )
}

/// How often waiting revisions look at the stored frontier again (the
/// sink's probe does not wake this operator).
const POLL: Duration = Duration::from_millis(50);
/// How long to wait after a failed read-back.
const RETRY: Duration = Duration::from_secs(1);
/// Revised windows kept beyond those awaiting storage.
const CACHE: usize = 10_000;
/// Most windows read back in one activation (one query, see
/// `pmoc_store::Store::final_windows`).
const READ_BATCH: usize = 1_000;
/// A read-back slower than this is logged.
const SLOW_READ: Duration = Duration::from_secs(2);

/// Revisions of windows, to be emitted at one time.
type Batch = Vec<(StateKey, Box<Revision>)>;

/// Revisions waiting for their window to be stored, by window end, then by
/// the time they will be emitted at.
type Waiting = BTreeMap<i64, BTreeMap<u64, (Capability<u64>, Batch)>>;

/// Everything but revisions passes through; revisions come out as revised
/// final windows (or, when they cannot be folded in, as late values).
pub fn revisions<'s>(
    scope: Scope<'s, u64>,
    outputs: Stream<'s, u64, Vec<Output>>,
    widths_ms: Vec<i64>,
    stored: ProbeHandle<u64>,
    read_back: Arc<dyn ReadBack>,
) -> Stream<'s, u64, Vec<Output>> {
    outputs
        .unary_frontier(Pipeline, "Revisions", move |_cap, info| {
            let activator = scope.activator_for(info.address);
            let mut waiting: Waiting = BTreeMap::new();
            // Revised windows: state and the time their newest row was
            // emitted at (stored once the probe passes it).
            let mut cache: HashMap<StateKey, (Accumulator, u64)> = HashMap::new();
            // Read back for revisions not folded in yet (`None`: no final
            // row); emptied as they are.
            let mut fetched: HashMap<StateKey, Option<Stored>> = HashMap::new();
            let mut retry_at: Option<Instant> = None;
            move |(input, _frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(cap) = cap.retain_least(output.output_index()) else {
                        return;
                    };
                    let mut through = Vec::new();
                    for batch in data {
                        for o in batch.drain(..) {
                            let Output::Revision(r) = o else {
                                through.push(o);
                                continue;
                            };
                            for &w in &widths_ms {
                                let (start, end) = window_of(r.obs.event_ms, w);
                                // Emitted after the window's final row (at
                                // `end - 1`), never before the record's time.
                                let at = (end as u64).max(*cap.time());
                                waiting
                                    .entry(end)
                                    .or_default()
                                    .entry(at)
                                    .or_insert_with(|| (cap.delayed(&at), Vec::new()))
                                    .1
                                    .push(((r.obs.metric, r.target, start, end), r.clone()));
                            }
                        }
                    }
                    if !through.is_empty() {
                        output.session(&cap).give_iterator(through.into_iter());
                    }
                });
                if waiting.is_empty() {
                    return;
                }
                if retry_at.is_some_and(|t| Instant::now() < t) {
                    activator.activate_after(POLL);
                    return;
                }
                // Everything before this time is stored (`None`: all of it).
                let stored_to = stored.with_frontier(|f| f.first().copied());
                let ready_ends: Vec<i64> = waiting
                    .keys()
                    .copied()
                    .take_while(|&end| stored_to.is_none_or(|s| s >= end as u64))
                    .collect();
                if ready_ends.is_empty() {
                    activator.activate_after(POLL);
                    return;
                }
                // Read back what the ready revisions need, at most one query
                // an activation: a replay can make tens of thousands of
                // windows ready at once, and one read of them all would hold
                // the worker for minutes (and, timing out, be retried whole
                // for ever).
                let mut missing: Vec<StateKey> = ready_ends
                    .iter()
                    .flat_map(|end| waiting[end].values())
                    .flat_map(|(_, v)| v.iter().map(|(k, _)| *k))
                    .filter(|k| !cache.contains_key(k) && !fetched.contains_key(k))
                    .collect();
                missing.sort_unstable();
                missing.dedup();
                if !missing.is_empty() {
                    let batch = &missing[..missing.len().min(READ_BATCH)];
                    let started = Instant::now();
                    match read_back.read(batch) {
                        Ok(mut found) => {
                            crate::telemetry::read_back(batch.len());
                            for k in batch {
                                fetched.insert(*k, found.remove(k));
                            }
                            if started.elapsed() > SLOW_READ {
                                tracing::info!(windows = batch.len(), waiting = missing.len(),
                                    took = ?started.elapsed(), "slow read-back of windows to revise");
                            }
                        }
                        Err(error) => {
                            tracing::warn!(error = %pmoc_schemas::error::chain(&error),
                                windows = batch.len(), "reading back windows to revise; retrying");
                            retry_at = Some(Instant::now() + RETRY);
                            activator.activate_after(RETRY);
                            return;
                        }
                    }
                    retry_at = None;
                }
                // The groups whose windows are all at hand, leaving the rest
                // for the next read: a stream of late values arriving as
                // fast as they are read back never starves the ones read.
                let at_hand = |k: &StateKey| cache.contains_key(k) || fetched.contains_key(k);
                let mut groups: Vec<(u64, Capability<u64>, Batch)> = Vec::new();
                for end in &ready_ends {
                    let Some(by_time) = waiting.get_mut(end) else {
                        continue;
                    };
                    let complete: Vec<u64> = by_time
                        .iter()
                        .filter(|(_, (_, v))| v.iter().all(|(k, _)| at_hand(k)))
                        .map(|(t, _)| *t)
                        .collect();
                    for t in complete {
                        if let Some((cap, v)) = by_time.remove(&t) {
                            groups.push((t, cap, v));
                        }
                    }
                    if by_time.is_empty() {
                        waiting.remove(end);
                    }
                }
                // In time order, so a window changed in several groups is
                // emitted once, at the latest of them.
                groups.sort_by_key(|(t, _, _)| *t);
                let mut changed: BTreeMap<StateKey, usize> = BTreeMap::new();
                let mut late = Vec::new();
                let mut unreadable = HashSet::new();
                for (i, (t, _, revisions)) in groups.iter().enumerate() {
                    for (key, r) in revisions {
                        let mut window = match cache.remove(key) {
                            Some((acc, _)) => Some(acc),
                            None => match fetched.remove(key).flatten() {
                                Some(Stored::State(acc)) => Some(acc),
                                Some(Stored::Unreadable) => {
                                    unreadable.insert(*key);
                                    None
                                }
                                // No final row: the value opens the window.
                                None => None,
                            },
                        };
                        if unreadable.contains(key) {
                            late.push((i, r.late()));
                            continue;
                        }
                        let added = Accumulator::revise(&mut window, &r.obs, &r.id());
                        if let Some(acc) = window {
                            cache.insert(*key, (acc, *t));
                        }
                        if added {
                            crate::telemetry::revised(key.0);
                            changed.insert(*key, i);
                        }
                    }
                }
                for (key, i) in changed {
                    let Some((acc, _)) = cache.get(&key) else {
                        continue;
                    };
                    let (metric, area, start_ms, end_ms) = key;
                    output
                        .session(&groups[i].1)
                        .give(Output::Window(Box::new(WindowValue {
                            metric,
                            area,
                            start_ms,
                            end_ms,
                            acc: acc.clone(),
                            is_final: true,
                        })));
                }
                // One row per window here; `late_events` is keyed by metric
                // and event id, so they collapse into one correction.
                for (i, l) in late {
                    output.session(&groups[i].1).give(Output::Late(l));
                }
                if cache.len() > CACHE {
                    cache.retain(|_, (_, at)| stored_to.is_some_and(|s| *at >= s));
                }
                if missing.len() > READ_BATCH {
                    activator.activate();
                } else if !waiting.is_empty() {
                    activator.activate_after(POLL);
                }
            }
        })
        .container::<Vec<Output>>()
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc, sync::Mutex};

    use pmoc_schemas::aggregate::AreaLevel;
    use timely::dataflow::{
        InputHandle,
        operators::{Input, Inspect, Probe},
    };

    use super::*;
    use crate::window::Observation;

    /// ClickHouse as a map, counting the windows asked for.
    struct Fake {
        windows: HashMap<StateKey, Stored>,
        asked: Mutex<Vec<usize>>,
    }

    impl ReadBack for Fake {
        fn read(&self, keys: &[StateKey]) -> Result<HashMap<StateKey, Stored>, ReadBackError> {
            self.asked.lock().map(|mut a| a.push(keys.len())).ok();
            Ok(keys
                .iter()
                .filter_map(|k| self.windows.get(k).map(|s| (*k, s.clone())))
                .collect())
        }
    }

    const UBON: Area = Area {
        level: AreaLevel::Province,
        code: 34,
    };

    fn obs(event_ms: i64, value: f64) -> Observation {
        Observation {
            metric: Metric::Births,
            area: UBON,
            event_ms,
            value,
            entity: 0,
            weight: 1.0,
            offset: event_ms,
            widths: 1,
        }
    }

    fn revision(id: &str, event_ms: i64, value: f64) -> Output {
        Output::Revision(Box::new(Revision {
            target: UBON,
            obs: obs(event_ms, value),
            agency: "DOPA".to_owned(),
            event_id: id.to_owned(),
            watermark_ms: 0,
            received_at_ms: 0,
        }))
    }

    #[test]
    fn late_values_revise_the_stored_window_once_each() {
        // Stored: the minute [0, 60 s) with one birth report of 3.
        let key = (Metric::Births, UBON, 0, 60_000);
        let fake = Arc::new(Fake {
            windows: HashMap::from([(key, Stored::State(Accumulator::new(&obs(5_000, 3.0))))]),
            asked: Mutex::new(Vec::new()),
        });
        let read_back: Arc<dyn ReadBack> = fake.clone();
        let seen = timely::execute_directly(move |worker| {
            let mut input = InputHandle::new();
            let stored = ProbeHandle::new();
            let seen = Rc::new(RefCell::new(Vec::new()));
            let sink = seen.clone();
            worker.dataflow::<u64, _, _>(|scope| {
                let stream = scope.input_from(&mut input).container::<Vec<Output>>();
                revisions(scope, stream, vec![60_000], stored.clone(), read_back)
                    .inspect(move |o: &Output| sink.borrow_mut().push(o.clone()))
                    .probe_with(&stored);
            });
            // Runs until everything before `t` has passed the operator.
            macro_rules! run_until {
                ($t:expr) => {
                    input.advance_to($t);
                    while stored.less_than(&$t) {
                        worker.step();
                    }
                };
            }
            // Two late values of the window, and a replayed copy of one.
            input.send(revision("e1", 10_000, 2.0));
            input.send(revision("e2", 20_000, 4.0));
            run_until!(70_000);
            input.send(revision("e1", 10_000, 2.0));
            run_until!(80_000);
            // A NaN-free fold into a window that had nothing stored.
            input.send(revision("e3", 65_000, 1.0));
            run_until!(200_000);
            seen.take()
        });
        let windows: Vec<(i64, u64, f64, u32)> = seen
            .iter()
            .filter_map(|o| match o {
                Output::Window(w) => {
                    let t = w.acc.totals();
                    Some((w.start_ms, t.count, t.sum, w.acc.revised_count()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            windows,
            [(0, 3, 9.0, 2), (60_000, 1, 1.0, 1)],
            "each late value once, on top of the stored figure"
        );
        let asked = fake.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(asked, [1, 1], "one read-back per window, batched");
    }

    #[test]
    fn a_replay_of_many_windows_is_read_back_a_batch_at_a_time() {
        // 2,500 late values, each in a minute of its own, none stored yet.
        let fake = Arc::new(Fake {
            windows: HashMap::new(),
            asked: Mutex::new(Vec::new()),
        });
        let read_back: Arc<dyn ReadBack> = fake.clone();
        let windows = timely::execute_directly(move |worker| {
            let mut input = InputHandle::new();
            let stored = ProbeHandle::new();
            let seen = Rc::new(RefCell::new(0usize));
            let sink = seen.clone();
            worker.dataflow::<u64, _, _>(|scope| {
                let stream = scope.input_from(&mut input).container::<Vec<Output>>();
                revisions(scope, stream, vec![60_000], stored.clone(), read_back)
                    .inspect(move |o: &Output| {
                        if matches!(o, Output::Window(_)) {
                            *sink.borrow_mut() += 1;
                        }
                    })
                    .probe_with(&stored);
            });
            // They arrive after their windows closed (a replay of a day).
            input.advance_to(2_500 * 60_000);
            for minute in 0..2_500 {
                input.send(revision(&format!("e{minute}"), minute * 60_000 + 1, 1.0));
            }
            input.close();
            while !stored.done() {
                worker.step();
            }
            seen.take()
        });
        assert_eq!(windows, 2_500, "every window revised");
        let asked = fake.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(
            asked,
            [1_000, 1_000, 500],
            "one query of at most 1,000 an activation"
        );
    }

    #[test]
    fn a_revision_counts_as_it_would_have_on_time() {
        let reports = [obs(1, 5.0), obs(2, 1.0), obs(3, 7.0)];
        let mut on_time = Accumulator::new(&reports[0]);
        reports[1..].iter().for_each(|o| on_time.add(o));
        let mut revised = Some(Accumulator::new(&reports[0]));
        assert!(Accumulator::revise(&mut revised, &reports[2], "a/3"));
        assert!(Accumulator::revise(&mut revised, &reports[1], "a/2"));
        assert!(!Accumulator::revise(&mut revised, &reports[1], "a/2"));
        let revised = revised.expect("a window");
        assert_eq!(revised.totals(), on_time.totals());
        assert_eq!((revised.last, revised.revised_count()), (7.0, 2));
        // The state survives the round trip through `revision_state`.
        let json = serde_json::to_string(&revised).expect("encodes");
        let back: Accumulator = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, revised);
    }
}
