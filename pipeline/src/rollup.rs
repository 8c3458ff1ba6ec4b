//! Rollups: a province's window is merged into its region (in both region
//! schemes) and the nation, inside the dataflow.
//!
//! Partial aggregates, not raw events, cross the exchange: a window of a
//! province is one record however many readings it holds, so the nation's
//! worker is never a hot spot. Final parent windows are emitted when the
//! frontier passes the time of their provinces' final windows; running
//! (provisional) parent values are re-merged from the newest running value
//! of every province each time one of them changes.

use std::collections::{BTreeMap, HashMap};

use pmoc_schemas::aggregate::AreaLevel;
use serde::{Deserialize, Serialize};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        Stream,
        channels::pact::{Exchange, Pipeline},
        operators::{Capability, Concat, Operator},
    },
};

use crate::{
    record::{Output, WindowValue},
    window::{Accumulator, Area, Metric},
};

/// A province window on its way into one parent area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    parent: Area,
    child: u16,
    value: WindowValue,
}

impl Partial {
    fn route(&self) -> u64 {
        self.parent.route()
    }

    fn key(&self) -> ParentKey {
        (
            self.value.metric,
            self.parent,
            self.value.start_ms,
            self.value.end_ms,
        )
    }
}

/// (metric, parent area, window start, window end).
type ParentKey = (Metric, Area, i64, i64);

/// Province windows and everything else pass through; region and nation
/// windows are added.
pub fn rollups<'s>(outputs: Stream<'s, u64, Vec<Output>>) -> Stream<'s, u64, Vec<Output>> {
    let partials = outputs
        .clone()
        .unary::<CapacityContainerBuilder<Vec<Partial>>, _, _, _>(
            Pipeline,
            "RollupPartials",
            |_, _| {
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for row in data.iter() {
                            let Output::Window(value) = row else {
                                continue;
                            };
                            if value.area.level != AreaLevel::Province {
                                continue;
                            }
                            for parent in value.area.parents() {
                                session.give(Partial {
                                    parent,
                                    child: value.area.code,
                                    value: (**value).clone(),
                                });
                            }
                        }
                    });
                }
            },
        );

    let merged = partials.unary_frontier::<CapacityContainerBuilder<Vec<Output>>, _, _, _>(
        Exchange::new(Partial::route),
        "RollupMerge",
        |_, _| {
            // Final windows, by the time their provinces were emitted at.
            let mut finals: BTreeMap<u64, (Capability<u64>, HashMap<ParentKey, Accumulator>)> =
                BTreeMap::new();
            // Newest value of each province of each open parent window.
            let mut running: HashMap<ParentKey, BTreeMap<u16, Accumulator>> = HashMap::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(cap) = cap.retain_least(output.output_index()) else {
                        return;
                    };
                    let mut changed = Vec::new();
                    for batch in data {
                        for p in batch.drain(..) {
                            let key = p.key();
                            if p.value.is_final {
                                if let Some(children) = running.get_mut(&key) {
                                    children.insert(p.child, p.value.acc.clone());
                                }
                                let (_, merging) = finals
                                    .entry(*cap.time())
                                    .or_insert_with(|| (cap.clone(), HashMap::new()));
                                merging
                                    .entry(key)
                                    .and_modify(|a| a.merge(&p.value.acc))
                                    .or_insert(p.value.acc);
                            } else {
                                running.entry(key).or_default().insert(p.child, p.value.acc);
                                changed.push(key);
                            }
                        }
                    }
                    changed.sort_unstable();
                    changed.dedup();
                    let mut session = output.session(&cap);
                    for key in changed {
                        if let Some(acc) = running.get(&key).and_then(merge_all) {
                            session.give(parent_value(key, acc, false));
                        }
                    }
                });
                while let Some(entry) = finals.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (cap, merging) = entry.remove();
                    let mut session = output.session(&cap);
                    for (key, acc) in merging {
                        running.remove(&key);
                        session.give(parent_value(key, acc, true));
                    }
                }
            }
        },
    );
    outputs.concat(merged)
}

fn merge_all(children: &BTreeMap<u16, Accumulator>) -> Option<Accumulator> {
    let mut iter = children.values();
    let mut acc = iter.next()?.clone();
    iter.for_each(|a| acc.merge(a));
    Some(acc)
}

fn parent_value(key: ParentKey, acc: Accumulator, is_final: bool) -> Output {
    let (metric, area, start_ms, end_ms) = key;
    Output::Window(Box::new(WindowValue {
        metric,
        area,
        start_ms,
        end_ms,
        acc,
        is_final,
    }))
}
