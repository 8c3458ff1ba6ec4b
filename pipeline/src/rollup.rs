//! Rollups: a province's closed window is merged into its region (in both
//! region schemes) and the nation, inside the dataflow.
//!
//! Partial aggregates, not raw events, cross the exchange: a closed window
//! of a province is one record however many readings it holds, so the
//! nation's worker is never a hot spot.

use std::collections::{BTreeMap, HashMap};

use pmoc_schemas::aggregate::{AreaLevel, WindowAggregate};
use serde::{Deserialize, Serialize};
use timely::{
    container::CapacityContainerBuilder,
    dataflow::{
        Stream,
        channels::pact::{Exchange, Pipeline},
        operators::{Capability, Concat, Operator},
    },
};

use crate::{dataflow::Output, window::Area, window::merge_into};

/// A province window on its way into one parent area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partial {
    parent: Area,
    child_code: String,
    source: String,
    aggregate: WindowAggregate,
}

impl Partial {
    fn route(&self) -> u64 {
        (self.parent.level as u64) << 16 | u64::from(self.parent.code)
    }
}

/// The province windows and everything else pass through; region and
/// nation windows are added, at the same timestamps as their provinces.
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
                            let Output::Aggregate { aggregate, source } = row else {
                                continue;
                            };
                            if aggregate.area_level != AreaLevel::Province {
                                continue;
                            }
                            let child = Area {
                                level: AreaLevel::Province,
                                code: aggregate.area_code.parse().unwrap_or_default(),
                            };
                            for parent in child.parents() {
                                session.give(Partial {
                                    parent,
                                    child_code: aggregate.area_code.clone(),
                                    source: source.clone(),
                                    aggregate: aggregate.clone(),
                                });
                            }
                        }
                    });
                }
            },
        );

    /// (metric, parent area, window start) -> merged partial and the code of
    /// the province its "last" came from.
    type Merging = HashMap<(String, Area, i64), (Partial, String)>;
    let merged = partials.unary_frontier::<CapacityContainerBuilder<Vec<Output>>, _, _, _>(
        Exchange::new(Partial::route),
        "RollupMerge",
        |_, _| {
            let mut open: BTreeMap<u64, (Capability<u64>, Merging)> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let Some(cap) = cap.retain_least(output.output_index()) else {
                        return;
                    };
                    let time = *cap.time();
                    let (_, merging) = open.entry(time).or_insert_with(|| (cap, HashMap::new()));
                    for batch in data {
                        for p in batch.drain(..) {
                            let key = (
                                p.aggregate.metric.clone(),
                                p.parent,
                                p.aggregate.window_start_ms,
                            );
                            match merging.get_mut(&key) {
                                Some((acc, last_code)) => merge_into(
                                    &mut acc.aggregate,
                                    &p.aggregate,
                                    &p.child_code,
                                    last_code,
                                ),
                                None => {
                                    let code = p.child_code.clone();
                                    merging.insert(key, (p, code));
                                }
                            }
                        }
                    }
                });
                while let Some(entry) = open.first_entry() {
                    if frontier.less_equal(entry.key()) {
                        break;
                    }
                    let (cap, merging) = entry.remove();
                    let mut session = output.session(&cap);
                    for (_, (p, _)) in merging {
                        let mut aggregate = p.aggregate;
                        aggregate.area_level = p.parent.level;
                        aggregate.area_code = p.parent.code_string();
                        session.give(Output::Aggregate {
                            aggregate,
                            source: p.source,
                        });
                    }
                }
            }
        },
    );
    outputs.concat(merged)
}
