//! The windows operator: tumbling event-time windows of every configured
//! width (1 minute, 1 hour, 1 day by default) per (metric, area).
//!
//! A window is final once the frontier passes its end. While it is open, its
//! running value is emitted at most every [`PROVISIONAL_EVERY`] when it
//! changed, marked provisional, so the wall screen moves with the data
//! instead of a minute behind it. Late and rejected records pass straight
//! through to the sink, revisions to [`crate::revision`].

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use pmoc_schemas::calendar::window_of;
use timely::dataflow::{
    Scope, Stream,
    channels::pact::Exchange,
    operators::{Capability, Operator},
};

use crate::{
    record::{Output, Record, WindowValue},
    window::{Accumulator, Area, Metric},
};

/// How often the running value of each changed open window is emitted.
pub const PROVISIONAL_EVERY: Duration = Duration::from_secs(1);

/// (metric, area, index of the width in the configured list).
type Key = (Metric, Area, u8);

/// The open windows ending at one instant, with the capability to emit them.
struct Ending {
    cap: Capability<u64>,
    /// Each window's running aggregate and whether it changed since the
    /// last provisional emission (a flag, not a set: marking costs nothing
    /// per event).
    accs: BTreeMap<Key, (Accumulator, bool)>,
    changed: bool,
}

/// What one worker's windows operator holds.
struct Open {
    widths_ms: Vec<i64>,
    by_end: BTreeMap<i64, Ending>,
    changed: bool,
}

impl Open {
    fn add(&mut self, cap: &Capability<u64>, obs: &crate::window::Observation) {
        for (i, &width) in self.widths_ms.iter().enumerate() {
            if obs.widths & (1 << i) == 0 {
                continue;
            }
            let end = window_of(obs.event_ms, width).1;
            // The source emits at or before the event time, so `end - 1` is
            // never before `cap`.
            let ending = self.by_end.entry(end).or_insert_with(|| Ending {
                cap: cap.delayed(&((end - 1) as u64)),
                accs: BTreeMap::new(),
                changed: false,
            });
            let key = (obs.metric, obs.area, i as u8);
            ending
                .accs
                .entry(key)
                .and_modify(|(a, changed)| {
                    a.add(obs);
                    *changed = true;
                })
                .or_insert_with(|| (Accumulator::new(obs), true));
            ending.changed = true;
        }
        self.changed = true;
    }

    /// Hands `emit` the running value of every window that changed since
    /// the last call, with its capability.
    fn emit_running(&mut self, mut emit: impl FnMut(&Capability<u64>, Output)) {
        self.changed = false;
        for (&end, ending) in self.by_end.iter_mut().filter(|(_, e)| e.changed) {
            ending.changed = false;
            for (&(metric, area, i), (acc, changed)) in &mut ending.accs {
                if std::mem::take(changed) {
                    let row = Output::Window(Box::new(WindowValue {
                        metric,
                        area,
                        start_ms: end - self.widths_ms[usize::from(i)],
                        end_ms: end,
                        acc: acc.clone(),
                        is_final: false,
                    }));
                    emit(&ending.cap, row);
                }
            }
        }
    }

    fn value(&self, end: i64, key: Key, acc: Accumulator, is_final: bool) -> Output {
        let (metric, area, i) = key;
        Output::Window(Box::new(WindowValue {
            metric,
            area,
            start_ms: end - self.widths_ms[usize::from(i)],
            end_ms: end,
            acc,
            is_final,
        }))
    }
}

/// See the module documentation.
pub fn windows<'s>(
    scope: Scope<'s, u64>,
    records: Stream<'s, u64, Vec<Record>>,
    widths_ms: Vec<i64>,
) -> Stream<'s, u64, Vec<Output>> {
    records
        .unary_frontier(
            Exchange::new(Record::route),
            "Windows",
            move |_cap, info| {
                let activator = scope.activator_for(info.address);
                let mut open = Open {
                    widths_ms,
                    by_end: BTreeMap::new(),
                    changed: false,
                };
                let mut last_provisional = Instant::now();
                move |(input, frontier), output| {
                    input.for_each_stamp(|cap, data| {
                        let Some(cap) = cap.retain_least(output.output_index()) else {
                            return;
                        };
                        for batch in data {
                            for record in batch.drain(..) {
                                match record {
                                    Record::Observation(obs) => open.add(&cap, &obs),
                                    Record::Late(late) => {
                                        output.session(&cap).give(Output::Late(*late));
                                    }
                                    Record::Rejected(r) => {
                                        output.session(&cap).give(Output::Rejected(*r));
                                    }
                                    // Exchanged here by its target area, so it
                                    // reaches the worker that revises that area.
                                    Record::Revision(r) => {
                                        output.session(&cap).give(Output::Revision(r));
                                    }
                                }
                            }
                        }
                    });

                    // Close every window the frontier has passed.
                    while let Some(entry) = open.by_end.first_entry() {
                        let end = *entry.key();
                        if frontier.less_equal(&((end - 1) as u64)) {
                            break;
                        }
                        let Ending { cap, accs, .. } = entry.remove();
                        let rows: Vec<Output> = accs
                            .into_iter()
                            .map(|(key, (acc, _))| open.value(end, key, acc, true))
                            .collect();
                        output.session(&cap).give_iterator(rows.into_iter());
                    }

                    // Running values of the open windows that changed.
                    if !open.changed {
                        return;
                    }
                    let since = last_provisional.elapsed();
                    if since < PROVISIONAL_EVERY {
                        activator.activate_after(PROVISIONAL_EVERY - since);
                        return;
                    }
                    last_provisional = Instant::now();
                    open.emit_running(|cap, row| output.session(cap).give(row));
                }
            },
        )
        .container::<Vec<Output>>()
}
