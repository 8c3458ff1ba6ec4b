//! What a window holds: the areas values count towards and the accumulators
//! of count, sum, min, max, last and quantiles. Pure, so the dataflow, the
//! benchmark and the property tests share one definition. Where a window
//! starts and ends is `pmoc_schemas::calendar::window_of`.

use std::collections::BTreeMap;

use pmoc_schemas::{
    aggregate::{AreaLevel, WindowAggregate},
    area::{NATION_CODE, ProvinceCode, REGIONS4, REGIONS6, province},
    calendar::THAI_OFFSET,
    district::DistrictCode,
    metric::MetricId,
};
use serde::{Deserialize, Serialize};

/// Metrics are the schemas crate's catalogue; the alias keeps the dataflow's
/// vocabulary short.
pub type Metric = MetricId;

/// At most this many window widths; an observation names the ones it still
/// feeds in a bit mask (`Settings::validate` refuses more).
pub const MAX_WIDTHS: usize = pmoc_schemas::config::MAX_WINDOW_WIDTHS;

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

    /// The exchange key: every record of an area goes to one worker.
    pub fn route(&self) -> u64 {
        (self.level as u64) << 16 | u64::from(self.code)
    }

    pub fn district(code: &DistrictCode) -> Self {
        Self {
            level: AreaLevel::District,
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
    /// Bit `i` set: the observation still counts in its window of the
    /// `i`-th configured width (clear when that window is already stored).
    pub widths: u8,
}

/// `ms` as Thai local time, RFC 3339, for evidence texts people read.
pub fn local_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(THAI_OFFSET))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Values of a distribution, counted per whole unit (a minute of waiting):
/// exact enough for p50/p95 on a wall screen, mergeable across areas and
/// bounded in size by the value range rather than the event count.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    buckets: BTreeMap<i64, u64>,
}

impl Histogram {
    pub fn add(&mut self, value: f64) {
        *self.buckets.entry(value.floor() as i64).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Self) {
        for (&b, &n) in &other.buckets {
            *self.buckets.entry(b).or_default() += n;
        }
    }

    /// Nearest-rank quantile `q` in (0, 1]: the bucket holding the
    /// `ceil(q * n)`-th smallest value, reported as its lower bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n: u64 = self.buckets.values().sum();
        let rank = ((q * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (&b, &count) in &self.buckets {
            seen += count;
            if seen >= rank {
                return Some(b as f64);
            }
        }
        None
    }
}

/// Running count, sum, min, max, last (and, for distributions, a
/// histogram) of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accumulator {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    /// `(event_ms, offset, area code)` of `last`: the latest event wins, then
    /// the later offset, then (across areas, in rollups) the greater code,
    /// so the result never depends on merge order.
    pub last_key: (i64, i64, u16),
    /// Boxed: most metrics have none, and accumulators are moved a lot.
    pub histogram: Option<Box<Histogram>>,
}

impl Accumulator {
    pub fn new(obs: &Observation) -> Self {
        let histogram = obs.metric.def().distribution.then(|| {
            let mut h = Histogram::default();
            h.add(obs.value);
            Box::new(h)
        });
        Self {
            count: 1,
            sum: obs.value,
            min: obs.value,
            max: obs.value,
            last: obs.value,
            last_key: (obs.event_ms, obs.offset, obs.area.code),
            histogram,
        }
    }

    pub fn add(&mut self, obs: &Observation) {
        self.count += 1;
        self.sum += obs.value;
        self.min = self.min.min(obs.value);
        self.max = self.max.max(obs.value);
        let key = (obs.event_ms, obs.offset, obs.area.code);
        if key > self.last_key {
            self.last = obs.value;
            self.last_key = key;
        }
        if let Some(h) = &mut self.histogram {
            h.add(obs.value);
        }
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
        match (&mut self.histogram, &other.histogram) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.histogram = Some(b.clone()),
            _ => {}
        }
    }

    /// The row for ClickHouse; `is_final` is false for a running value.
    pub fn finish(
        &self,
        metric: Metric,
        area: Area,
        window: (i64, i64),
        is_final: bool,
    ) -> WindowAggregate {
        let quantile = |q| self.histogram.as_ref().and_then(|h| h.quantile(q));
        WindowAggregate {
            metric,
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
            p50: quantile(0.5),
            p95: quantile(0.95),
            is_final,
        }
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
            metric: Metric::ServiceWaitMinutes,
            area: Area {
                level: AreaLevel::Province,
                code: 34,
            },
            event_ms,
            value,
            offset,
            widths: 1,
        }
    }

    proptest! {
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
            prop_assert_eq!(&one.histogram, &two.histogram);
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

    #[test]
    fn quantiles_are_nearest_rank_on_whole_units() {
        let mut h = Histogram::default();
        for v in [1.2, 2.9, 3.0, 4.5, 60.0, 7.1, 8.0, 9.9, 10.0, 100.5] {
            h.add(v);
        }
        // Sorted buckets: 1 2 3 4 7 8 9 10 60 100.
        assert_eq!(h.quantile(0.5), Some(7.0));
        assert_eq!(h.quantile(0.95), Some(100.0));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
