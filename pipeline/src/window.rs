//! What a window holds: the areas values count towards and the accumulators
//! of count, sum, min, max, last and quantiles. Pure, so the dataflow, the
//! benchmark and the property tests share one definition. Where a window
//! starts and ends is `pmoc_schemas::calendar::window_of`.

use std::collections::{BTreeMap, BTreeSet};

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
    /// The station, dam or incident the value is about
    /// (`metric::entity_key`); 0 for flows, whose reports each count.
    pub entity: u64,
    /// Capacity a share is of (1 for other kinds): what a window's mean is
    /// weighted by.
    pub weight: f64,
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

/// A window's figures (see [`Accumulator::totals`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub count: u64,
    pub sum: f64,
    pub weight: f64,
    pub min: f64,
    pub max: f64,
}

impl Totals {
    /// The mean, weighted for shares; `None` without weight (no entity of
    /// known capacity), never NaN.
    pub fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

/// The newest report of one entity in a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    /// `(event_ms, offset, area code)`, as [`Accumulator::last_key`].
    pub key: (i64, i64, u16),
    pub value: f64,
    pub weight: f64,
}

/// Running count, sum, min, max, last (and, for distributions, a
/// histogram) of one window.
///
/// For metrics whose kind keeps the latest value per entity (levels,
/// shares, totals of the day, incidents), the window holds that latest
/// report of each entity instead, and count, sum, weight, min and max are
/// over those: a station re-reporting thirty times is one station, and a
/// rollup merges entities rather than adding their reports again. Bounded
/// by the entities of an area (a few thousand stations nationally).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accumulator {
    pub count: u64,
    pub sum: f64,
    /// Sum of the weights (capacities of shares; 1 a report otherwise):
    /// the mean is `sum / weight`, total stored over total capacity.
    pub weight: f64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    /// `(event_ms, offset, area code)` of `last`: the latest event wins, then
    /// the later offset, then (across areas, in rollups) the greater code,
    /// so the result never depends on merge order.
    pub last_key: (i64, i64, u16),
    /// Boxed: most metrics have none, and accumulators are moved a lot.
    pub histogram: Option<Box<Histogram>>,
    /// The latest report of each entity, for entity kinds.
    pub entities: Option<Box<BTreeMap<u64, Latest>>>,
    /// Ids of the late values folded in after the window was final
    /// ([`Accumulator::revise`]); `None` until the first. Not merged: every
    /// window, parents included, is revised on its own.
    #[serde(default)]
    pub late_ids: Option<Box<BTreeSet<String>>>,
}

impl Accumulator {
    pub fn new(obs: &Observation) -> Self {
        let histogram = obs.metric.def().distribution.then(|| {
            let mut h = Histogram::default();
            h.add(obs.value);
            Box::new(h)
        });
        let key = (obs.event_ms, obs.offset, obs.area.code);
        let entities = obs.metric.def().kind.per_entity().then(|| {
            Box::new(BTreeMap::from([(
                obs.entity,
                Latest {
                    key,
                    value: obs.value,
                    weight: obs.weight,
                },
            )]))
        });
        Self {
            count: 1,
            sum: obs.value * obs.weight,
            weight: obs.weight,
            min: obs.value,
            max: obs.value,
            last: obs.value,
            last_key: key,
            histogram,
            entities,
            late_ids: None,
        }
    }

    /// Folds a late value `id` into a final window (`None`: the window had
    /// no value yet); false, changing nothing, when it is already in.
    /// It counts as [`Accumulator::add`] would have counted it on time, so
    /// the revised figure is the one of all values, whatever their order.
    pub fn revise(window: &mut Option<Self>, obs: &Observation, id: &str) -> bool {
        let acc = match window {
            Some(acc) => {
                if acc.late_ids.as_ref().is_some_and(|ids| ids.contains(id)) {
                    return false;
                }
                acc.add(obs);
                acc
            }
            None => window.insert(Self::new(obs)),
        };
        acc.late_ids
            .get_or_insert_with(Default::default)
            .insert(id.to_owned());
        true
    }

    /// How many late values revised the window after it was final.
    pub fn revised_count(&self) -> u32 {
        self.late_ids.as_ref().map_or(0, |ids| ids.len() as u32)
    }

    pub fn add(&mut self, obs: &Observation) {
        let key = (obs.event_ms, obs.offset, obs.area.code);
        if key > self.last_key {
            self.last = obs.value;
            self.last_key = key;
        }
        if let Some(entities) = &mut self.entities {
            let latest = Latest {
                key,
                value: obs.value,
                weight: obs.weight,
            };
            entities
                .entry(obs.entity)
                .and_modify(|l| {
                    if key > l.key {
                        *l = latest;
                    }
                })
                .or_insert(latest);
            return;
        }
        self.count += 1;
        self.sum += obs.value * obs.weight;
        self.weight += obs.weight;
        self.min = self.min.min(obs.value);
        self.max = self.max.max(obs.value);
        if let Some(h) = &mut self.histogram {
            h.add(obs.value);
        }
    }

    /// Combines two partial aggregates; order does not matter.
    pub fn merge(&mut self, other: &Self) {
        if other.last_key > self.last_key {
            self.last = other.last;
            self.last_key = other.last_key;
        }
        if let (Some(mine), Some(theirs)) = (&mut self.entities, &other.entities) {
            for (&entity, &l) in theirs.iter() {
                mine.entry(entity)
                    .and_modify(|m| {
                        if l.key > m.key {
                            *m = l;
                        }
                    })
                    .or_insert(l);
            }
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.weight += other.weight;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        match (&mut self.histogram, &other.histogram) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => self.histogram = Some(b.clone()),
            _ => {}
        }
    }

    /// Count, sum, weight, min and max: of the reports for flows, of the
    /// entities' latest reports otherwise (computed when asked, in entity
    /// order, so every worker gets the same bits and adding a report costs
    /// no pass over the entities).
    pub fn totals(&self) -> Totals {
        let Some(entities) = &self.entities else {
            return Totals {
                count: self.count,
                sum: self.sum,
                weight: self.weight,
                min: self.min,
                max: self.max,
            };
        };
        let mut t = Totals {
            count: entities.len() as u64,
            sum: 0.0,
            weight: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        };
        for l in entities.values() {
            t.sum += l.value * l.weight;
            t.weight += l.weight;
            t.min = t.min.min(l.value);
            t.max = t.max.max(l.value);
        }
        t
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
        let t = self.totals();
        WindowAggregate {
            metric,
            area_level: area.level,
            area_code: area.code_string(),
            window_start_ms: window.0,
            window_end_ms: window.1,
            count: t.count,
            sum: t.sum,
            weight: t.weight,
            min: t.min,
            max: t.max,
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
            entity: 0,
            weight: 1.0,
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

    /// A report of `entity` in province 34, at `event_ms`.
    fn report(metric: Metric, entity: u64, event_ms: i64, value: f64, weight: f64) -> Observation {
        Observation {
            metric,
            area: Area {
                level: AreaLevel::Province,
                code: 34,
            },
            event_ms,
            value,
            entity,
            weight,
            offset: event_ms,
            widths: 1,
        }
    }

    fn fold(reports: &[Observation]) -> Accumulator {
        let mut acc = Accumulator::new(&reports[0]);
        reports[1..].iter().for_each(|o| acc.add(o));
        acc
    }

    #[test]
    fn dam_storage_is_total_stored_over_total_capacity() {
        // Two dams of 100 and 200 million m³, at 50 % and 100 %: 250 of 300.
        let acc = fold(&[
            report(Metric::DamStoragePct, 1, 0, 50.0, 100.0),
            report(Metric::DamStoragePct, 2, 1, 100.0, 200.0),
        ]);
        let t = acc.totals();
        assert!((t.mean().expect("weighted") - 250.0 / 3.0).abs() < 1e-9);
        assert_eq!(t.count, 2, "dams, not reports");
        // Not the mean of percentages (75 %).
        assert!((t.mean().unwrap_or_default() - 75.0).abs() > 1.0);
        let row = acc.finish(
            Metric::DamStoragePct,
            report(Metric::DamStoragePct, 1, 0, 0.0, 0.0).area,
            (0, 60_000),
            true,
        );
        assert_eq!((row.sum, row.weight), (25_000.0, 300.0));
        // No dam of known capacity: no mean, not NaN.
        let empty = fold(&[report(Metric::DamStoragePct, 1, 0, 0.0, 0.0)]);
        assert_eq!(empty.totals().mean(), None);
    }

    #[test]
    fn a_dam_reporting_its_days_inflow_thirty_times_counts_once() {
        let mut reports: Vec<Observation> = (0..30)
            .map(|i| report(Metric::DamInflow, 7, i * 60_000, 12.5, 1.0))
            .collect();
        reports.push(report(Metric::DamInflow, 8, 5, 4.0, 1.0));
        let t = fold(&reports).totals();
        assert_eq!((t.count, t.sum), (2, 16.5));
        // The later report of the day supersedes the earlier one.
        let t = fold(&[
            report(Metric::DamInflow, 7, 0, 10.0, 1.0),
            report(Metric::DamInflow, 7, 60_000, 12.0, 1.0),
        ])
        .totals();
        assert_eq!(t.sum, 12.0);
    }

    #[test]
    fn an_incident_updated_three_times_counts_once_with_its_latest_severity() {
        let acc = fold(&[
            report(Metric::IncidentSeverity, 1, 0, 2.0, 1.0),
            report(Metric::IncidentSeverity, 1, 10, 4.0, 1.0),
            report(Metric::IncidentSeverity, 2, 15, 1.0, 1.0),
            report(Metric::IncidentSeverity, 1, 20, 3.0, 1.0),
        ]);
        let t = acc.totals();
        assert_eq!((t.count, t.max, t.sum), (2, 3.0, 4.0));
    }

    #[test]
    fn two_of_three_stations_above_warning() {
        let acc = fold(&[
            report(Metric::WaterAboveWarning, 1, 0, 1.0, 1.0),
            report(Metric::WaterAboveWarning, 2, 1, 0.0, 1.0),
            report(Metric::WaterAboveWarning, 3, 2, 1.0, 1.0),
            // Station 2 rises above warning; station 1 falls back.
            report(Metric::WaterAboveWarning, 2, 3, 1.0, 1.0),
            report(Metric::WaterAboveWarning, 1, 4, 0.0, 1.0),
        ]);
        let t = acc.totals();
        assert_eq!((t.sum, t.count), (2.0, 3));
    }

    #[test]
    fn provinces_merge_entities_not_reports() {
        // Province windows of the same stations in another order: the
        // nation holds each station once, with its latest value.
        let a = fold(&[
            report(Metric::Pm25, 1, 0, 30.0, 1.0),
            report(Metric::Pm25, 1, 5, 40.0, 1.0),
        ]);
        let b = fold(&[report(Metric::Pm25, 2, 3, 10.0, 1.0)]);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab.totals(), ba.totals());
        assert_eq!(
            (ab.totals().count, ab.totals().max, ab.totals().sum),
            (2, 40.0, 50.0)
        );
    }
}
