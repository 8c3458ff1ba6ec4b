//! Event-time tumbling windows and their accumulators: pure, so the dataflow,
//! the batch oracle and the property tests share one definition.

use pmoc_schemas::{
    aggregate::{
        AreaLevel, METRIC_WATER_FREEBOARD, METRIC_WATER_LEVEL, SOURCE_HII_TELEMETRY,
        WindowAggregate,
    },
    area::{NATION_CODE, ProvinceCode, REGIONS4, REGIONS6, province},
};
use serde::{Deserialize, Serialize};

/// What is measured; a small copyable tag so observations stay cheap to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Metric {
    WaterLevel,
    WaterFreeboard,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Self::WaterLevel => METRIC_WATER_LEVEL,
            Self::WaterFreeboard => METRIC_WATER_FREEBOARD,
        }
    }

    /// The agency and system the figures come from, stored with every row.
    pub fn source(self) -> &'static str {
        match self {
            Self::WaterLevel | Self::WaterFreeboard => SOURCE_HII_TELEMETRY,
        }
    }
}

/// The area an observation counts towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Area {
    pub level: AreaLevel,
    /// Numeric DOPA code: province `PP`, district `PPDD`.
    pub code: u16,
}

impl Area {
    pub fn province(code: &ProvinceCode) -> Self {
        Self {
            level: AreaLevel::Province,
            // Validated DOPA codes are two digits.
            code: code.as_str().parse().unwrap_or_default(),
        }
    }

    /// The code as written in DOPA's tables: two digits for a province, four
    /// for a district.
    pub fn code_string(&self) -> String {
        let index = usize::from(self.code);
        match self.level {
            AreaLevel::District => format!("{:04}", self.code),
            AreaLevel::Province => format!("{:02}", self.code),
            AreaLevel::Region4 => REGIONS4.get(index).copied().unwrap_or("?").to_owned(),
            AreaLevel::Region6 => REGIONS6.get(index).copied().unwrap_or("?").to_owned(),
            AreaLevel::Nation => NATION_CODE.to_owned(),
        }
    }

    /// The areas a province's figures roll up into: its region in each
    /// scheme and the nation. Empty for other levels.
    pub fn parents(&self) -> Vec<Area> {
        if self.level != AreaLevel::Province {
            return Vec::new();
        }
        let Some(p) = province(&format!("{:02}", self.code)) else {
            return Vec::new();
        };
        let index =
            |keys: &[&str], key: &str| keys.iter().position(|k| *k == key).map(|i| i as u16);
        let mut parents = Vec::with_capacity(3);
        if let Some(code) = index(REGIONS4, &p.region4) {
            parents.push(Area {
                level: AreaLevel::Region4,
                code,
            });
        }
        if let Some(code) = index(REGIONS6, &p.region6) {
            parents.push(Area {
                level: AreaLevel::Region6,
                code,
            });
        }
        parents.push(Area {
            level: AreaLevel::Nation,
            code: 0,
        });
        parents
    }
}

/// One measurement, reduced to what windowing needs; cheap to exchange.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub metric: Metric,
    pub area: Area,
    pub event_ms: i64,
    pub value: f64,
    /// Position in the partition, the deterministic tie-break for "last".
    pub offset: i64,
}

/// The window `[start, end)` of length `width_ms` that contains `event_ms`.
///
/// ```
/// use pmoc_pipeline::window::window_of;
/// assert_eq!(window_of(125_000, 60_000), (120_000, 180_000));
/// assert_eq!(window_of(-1, 60_000), (-60_000, 0));
/// ```
pub fn window_of(event_ms: i64, width_ms: i64) -> (i64, i64) {
    let start = event_ms.div_euclid(width_ms) * width_ms;
    (start, start + width_ms)
}

/// Running count, sum, min, max and last of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accumulator {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    /// `(event_ms, offset)` of `last`.
    pub last_key: (i64, i64),
}

impl Accumulator {
    pub fn new(obs: &Observation) -> Self {
        Self {
            count: 1,
            sum: obs.value,
            min: obs.value,
            max: obs.value,
            last: obs.value,
            last_key: (obs.event_ms, obs.offset),
        }
    }

    pub fn add(&mut self, obs: &Observation) {
        self.merge(&Self::new(obs));
    }

    /// Combines two partial aggregates; order does not matter.
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.last_key > self.last_key {
            self.last = other.last;
            self.last_key = other.last_key;
        }
    }

    pub fn finish(&self, metric: Metric, area: Area, window: (i64, i64)) -> WindowAggregate {
        WindowAggregate {
            metric: metric.name().to_owned(),
            area_level: area.level,
            area_code: area.code_string(),
            window_start_ms: window.0,
            window_end_ms: window.1,
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            last: self.last,
            last_event_time_ms: self.last_key.0,
        }
    }
}

/// Merges a child area's window into its parent's. "Last" across areas is
/// the value with the greatest event time, ties to the greater area code.
pub fn merge_into(
    parent: &mut WindowAggregate,
    child: &WindowAggregate,
    child_code: &str,
    parent_last_code: &mut String,
) {
    parent.count += child.count;
    parent.sum += child.sum;
    parent.min = parent.min.min(child.min);
    parent.max = parent.max.max(child.max);
    if (child.last_event_time_ms, child_code)
        > (parent.last_event_time_ms, parent_last_code.as_str())
    {
        parent.last = child.last;
        parent.last_event_time_ms = child.last_event_time_ms;
        *parent_last_code = child_code.to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn provinces_roll_up_to_both_region_schemes_and_the_nation() {
        let ubon = Area {
            level: AreaLevel::Province,
            code: 34,
        };
        let parents: Vec<String> = ubon.parents().iter().map(Area::code_string).collect();
        assert_eq!(parents, ["NE", "NE", "TH"]);
        let bangkok = Area {
            level: AreaLevel::Province,
            code: 10,
        };
        let parents: Vec<String> = bangkok.parents().iter().map(Area::code_string).collect();
        assert_eq!(parents, ["BKK", "C", "TH"]);
        assert!(parents_of_nation_is_empty());
    }

    fn parents_of_nation_is_empty() -> bool {
        Area {
            level: AreaLevel::Nation,
            code: 0,
        }
        .parents()
        .is_empty()
    }

    fn obs(event_ms: i64, value: f64, offset: i64) -> Observation {
        Observation {
            metric: Metric::WaterLevel,
            area: Area {
                level: AreaLevel::Province,
                code: 34,
            },
            event_ms,
            value,
            offset,
        }
    }

    proptest! {
        #[test]
        fn every_instant_falls_in_exactly_its_window(t in -10_000_000_000i64..10_000_000_000, w in 1i64..86_400_000) {
            let (s, e) = window_of(t, w);
            prop_assert!(s <= t && t < e);
            prop_assert_eq!(e - s, w);
            prop_assert_eq!(s.rem_euclid(w), 0);
        }

        #[test]
        fn merge_order_does_not_change_the_result(
            values in proptest::collection::vec((0i64..1_000, -50.0f64..500.0), 1..40),
            split in 0usize..40,
        ) {
            let all: Vec<Observation> = values.iter().enumerate()
                .map(|(i, &(t, v))| obs(t, v, i as i64)).collect();
            let mut one = Accumulator::new(&all[0]);
            all[1..].iter().for_each(|o| one.add(o));

            let split = split.min(all.len() - 1).max(1);
            let (a, b) = all.split_at(split);
            let fold = |xs: &[Observation]| xs.iter().skip(1).fold(Accumulator::new(&xs[0]), |mut acc, o| { acc.add(o); acc });
            let mut two = if b.is_empty() { fold(a) } else { fold(b) };
            if !b.is_empty() { two.merge(&fold(a)); }

            prop_assert_eq!(one.count, two.count);
            prop_assert!((one.sum - two.sum).abs() < 1e-6);
            prop_assert_eq!((one.min, one.max, one.last, one.last_key), (two.min, two.max, two.last, two.last_key));
        }
    }

    #[test]
    fn last_is_the_latest_event_not_the_latest_arrival() {
        let mut acc = Accumulator::new(&obs(50, 1.0, 0));
        acc.add(&obs(10, 2.0, 1));
        assert_eq!(acc.last, 1.0);
        acc.add(&obs(50, 3.0, 2));
        assert_eq!(acc.last, 3.0, "same time: the later offset wins");
        assert_eq!((acc.count, acc.min, acc.max, acc.sum), (3, 1.0, 3.0, 6.0));
    }
}
