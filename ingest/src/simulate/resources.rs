//! Natural resources & government structure: PCD air quality, GISTDA fire
//! hotspots, CGD budget disbursement and e-GP procurement contracts.
//!
//! Shapes from public figures: PM2.5 is reported hourly per station and is
//! worst in the northern haze season (January-April, peaking in March) and
//! in Bangkok's dry-season inversions (December-February); the 24 h standard
//! is 37.5 µg/m³. VIIRS hotspots number hundreds to about 1,500 a day in the
//! February-April burning season, mostly in the 17 northern provinces. The
//! fiscal year runs 1 October to 30 September and is named by its
//! Buddhist-era end year; disbursement is cumulative and rises through it.

use pmoc_schemas::{
    RejectReason,
    area::{ProvinceCode, provinces},
    calendar::BE_OFFSET_YEARS,
    committee::{
        Committee,
        resources::{
            AirQuality, BudgetDisbursement, FireHotspot, HotspotConfidence, LandUse,
            ProcurementContract, ProcurementMethod, Satellite,
        },
    },
    envelope::{Area, Envelope, Payload},
};
use rand::Rng;
use time::{Date, Month, Weekday};

use super::{
    Scenario, Scenarios, Tick, envelope,
    places::{point_in, province, provinces_in, region_of},
    rng_for,
    sample::{
        SimRng, cumulative, lognormal, mean_reverting, normal, pick, pick_cumulative, poisson,
        round_to,
    },
    scenario::{CHIANG_MAI, STALLED_MINISTRY, STALLED_PCT, intensity},
};

const PCD: (&str, &str) = ("PCD", "air4thai");
const GISTDA: (&str, &str) = ("GISTDA", "fire-hotspot");
const CGD: (&str, &str) = ("CGD", "gfmis");
const EGP: (&str, &str) = ("CGD", "e-gp");
const AIR_PERIOD_S: f64 = 3_600.0;
/// Extra stations beyond one per province, where PCD's network is densest.
const EXTRA_AIR_STATIONS: &[(&str, usize)] = &[
    ("10", 8),
    ("50", 3),
    ("57", 2),
    ("52", 2),
    ("11", 2),
    ("21", 2),
    ("19", 2),
    ("40", 1),
    ("90", 1),
];
/// Extra Chiang Mai detections a simulated day in the haze scenario.
const HAZE_HOTSPOTS_PER_DAY: f64 = 2_000.0;
/// Budget series reported a round (ministry × province, in turn).
const BUDGET_REPORTS_PER_ROUND: usize = 4;
const CONTRACTS_PER_DAY: f64 = 3_000.0;

/// Ministries and their annual budget, billion baht (FY2569 order of
/// magnitude, rounded; the shape matters here, not the exact law).
const MINISTRIES: &[(&str, f64)] = &[
    ("Ministry of Interior", 350.0),
    ("Ministry of Education", 340.0),
    ("Ministry of Finance", 310.0),
    ("Ministry of Transport", 220.0),
    ("Ministry of Defence", 200.0),
    ("Ministry of Public Health", 170.0),
    ("Ministry of Agriculture and Cooperatives", 130.0),
    (
        "Ministry of Higher Education, Science, Research and Innovation",
        130.0,
    ),
    ("Ministry of Labour", 60.0),
    ("Office of the Prime Minister", 40.0),
    ("Ministry of Natural Resources and Environment", 30.0),
    ("Ministry of Social Development and Human Security", 28.0),
    ("Ministry of Justice", 26.0),
    ("Ministry of Digital Economy and Society", 10.0),
    ("Ministry of Foreign Affairs", 9.0),
    ("Ministry of Culture", 8.0),
    ("Ministry of Commerce", 7.0),
    ("Ministry of Tourism and Sports", 6.0),
    ("Ministry of Industry", 5.0),
    ("Ministry of Energy", 2.5),
];

/// Typical monthly PM2.5, µg/m³, January first: the regions' monthly means
/// of hourly readings (PCD's published yearly reports, rounded). Only the
/// north's burning season (February-April) puts a typical station over the
/// 37.5 standard; elsewhere a day crosses it when the weather traps smoke.
const PM25_NORTH: [f64; 12] = [
    32.0, 45.0, 58.0, 42.0, 20.0, 11.0, 9.0, 9.0, 10.0, 14.0, 19.0, 25.0,
];
const PM25_NORTHEAST: [f64; 12] = [
    30.0, 29.0, 26.0, 21.0, 14.0, 10.0, 9.0, 9.0, 10.0, 13.0, 19.0, 25.0,
];
const PM25_CENTRAL: [f64; 12] = [
    31.0, 28.0, 24.0, 19.0, 14.0, 11.0, 10.0, 10.0, 11.0, 14.0, 20.0, 26.0,
];
/// How long a region's air stays better or worse than its month's mean
/// (weather: a stagnant high, a monsoon surge), seconds, and how much.
const AIR_WEATHER_TAU_S: f64 = 2.0 * 86_400.0;
const AIR_WEATHER_SIGMA: f64 = 0.12;
/// The most the weather moves a region from its month's mean (log scale):
/// about ±20 %. Worse is an episode, which is what scenarios are for.
const AIR_WEATHER_BOUND: f64 = 0.2;
/// A station's own hour-to-hour drift around its region's level.
const AIR_STATION_TAU_S: f64 = 6.0 * 3_600.0;
const AIR_STATION_SIGMA: f64 = 0.08;
/// The regions the air's weather is drawn for, in [`air_region`]'s order.
const AIR_REGIONS: usize = 4;
const PM25_SOUTH: [f64; 12] = [
    18.0, 18.0, 20.0, 18.0, 15.0, 15.0, 15.0, 15.0, 16.0, 15.0, 14.0, 16.0,
];
/// Hotspots a day nationally, by month.
const HOTSPOTS_PER_DAY: [f64; 12] = [
    300.0, 1_000.0, 1_400.0, 900.0, 200.0, 60.0, 40.0, 40.0, 40.0, 60.0, 100.0, 150.0,
];

/// Thai AQI from PM2.5 (PCD's 2023 breakpoints): 0-15 → 0-25, 15.1-25 →
/// 26-50, 25.1-37.5 → 51-100, 37.6-75 → 101-200, above that 201 and up.
pub(crate) fn thai_aqi(pm25: f64) -> u16 {
    const BANDS: [(f64, f64, f64, f64); 5] = [
        (0.0, 15.0, 0.0, 25.0),
        (15.1, 25.0, 26.0, 50.0),
        (25.1, 37.5, 51.0, 100.0),
        (37.6, 75.0, 101.0, 200.0),
        (75.1, 1_000.0, 201.0, 2_800.0),
    ];
    let c = (pm25 * 10.0).round() / 10.0;
    let (lo, hi, ilo, ihi) = BANDS
        .into_iter()
        .find(|&(_, hi, _, _)| c <= hi)
        .unwrap_or(BANDS[4]);
    let aqi = ilo + (c.max(lo) - lo) * (ihi - ilo) / (hi - lo);
    aqi.round().clamp(0.0, 500.0) as u16
}

/// Where the fiscal year stands at `date`: its Buddhist-era name and the
/// fraction elapsed, 0 on 1 October to 1 on 30 September.
pub(crate) fn fiscal_year(date: Date) -> (u16, f64) {
    let end_year = if u8::from(date.month()) >= 10 {
        date.year() + 1
    } else {
        date.year()
    };
    let start = Date::from_calendar_date(end_year - 1, Month::October, 1).unwrap_or(date);
    let end = Date::from_calendar_date(end_year, Month::October, 1).unwrap_or(date);
    let fraction = f64::from((date - start).whole_days() as i32)
        / f64::from((end - start).whole_days().max(1) as i32);
    ((end_year + BE_OFFSET_YEARS) as u16, fraction)
}

/// The government's cumulative disbursement target, percent: 32 % by the
/// end of the first quarter, 54 %, 77 %, then the whole budget.
pub(crate) fn planned_pct(fraction: f64) -> f64 {
    const POINTS: [(f64, f64); 5] = [
        (0.0, 0.0),
        (0.25, 32.0),
        (0.5, 54.0),
        (0.75, 77.0),
        (1.0, 100.0),
    ];
    let f = fraction.clamp(0.0, 1.0);
    POINTS.windows(2).find(|w| f <= w[1].0).map_or(100.0, |w| {
        w[0].1 + (f - w[0].0) / (w[1].0 - w[0].0) * (w[1].1 - w[0].1)
    })
}

#[derive(Debug)]
struct AirStation {
    id: String,
    area: Area,
    /// This station's usual level relative to its region's.
    bias: f64,
    /// Its drift from that level now (log scale, mean-reverting).
    drift: f64,
}

/// A region's weather `dt` seconds after `w`.
fn air_weather(rng: &mut SimRng, w: f64, dt: f64) -> f64 {
    mean_reverting(rng, w, dt, AIR_WEATHER_TAU_S, AIR_WEATHER_SIGMA)
        .clamp(-AIR_WEATHER_BOUND, AIR_WEATHER_BOUND)
}

/// The slot of a region in [`ResourcesSim::air_weather`], and its monthly means.
fn air_region(province: &str) -> (usize, &'static [f64; 12]) {
    match region_of(province) {
        "N" => (0, &PM25_NORTH),
        "NE" => (1, &PM25_NORTHEAST),
        "S" => (2, &PM25_SOUTH),
        _ => (3, &PM25_CENTRAL),
    }
}

/// The resources committee's feed.
#[derive(Debug)]
pub struct ResourcesSim {
    rng: SimRng,
    scenarios: Scenarios,
    air: Vec<AirStation>,
    /// Each region's air against its month's mean (log scale,
    /// mean-reverting over days), so a day is hazier or clearer region-wide.
    air_weather: [f64; AIR_REGIONS],
    provinces: Vec<ProvinceCode>,
    /// Running province weights for hotspots in and out of the north.
    north_weights: Vec<f64>,
    south_weights: Vec<f64>,
    /// Province weights for money (Bangkok hosts the headquarters).
    money_weights: Vec<f64>,
    /// Per ministry, how well it keeps to plan.
    performance: Vec<f64>,
    /// Last disbursed percentage reported per series, so the cumulative
    /// figure never falls.
    last_pct: Vec<f64>,
    sequence: u64,
}

impl ResourcesSim {
    pub fn new(seed: u64, scenarios: Scenarios) -> Result<Self, RejectReason> {
        let mut rng = rng_for(seed, Committee::Resources);
        let codes = provinces()
            .iter()
            .map(|p| province(&p.code))
            .collect::<Result<Vec<_>, _>>()?;
        let mut air = Vec::new();
        for p in &codes {
            let extra = EXTRA_AIR_STATIONS
                .iter()
                .find(|(c, _)| *c == p.as_str())
                .map_or(0, |(_, n)| *n);
            for n in 0..=extra {
                air.push(AirStation {
                    id: format!("PCD-{p}-{n:02}"),
                    area: Area::new(p.clone(), None)?,
                    bias: lognormal(&mut rng, 1.0, 0.1),
                    drift: AIR_STATION_SIGMA * normal(&mut rng),
                });
            }
        }
        let north = provinces_in("N");
        let is_north = |p: &ProvinceCode| north.contains(&p.as_str());
        let north_weights = cumulative(codes.iter().map(|p| f64::from(u8::from(is_north(p)))));
        let south_weights = cumulative(codes.iter().map(|p| f64::from(u8::from(!is_north(p)))));
        let money_weights = cumulative(
            codes
                .iter()
                .map(|p| if p.as_str() == "10" { 10.0 } else { 1.0 }),
        );
        let air_weather = std::array::from_fn(|_| air_weather(&mut rng, 0.0, f64::INFINITY));
        let performance = MINISTRIES
            .iter()
            .map(|_| rng.random_range(0.85..1.03))
            .collect();
        Ok(Self {
            rng,
            scenarios,
            air,
            air_weather,
            last_pct: vec![0.0; MINISTRIES.len() * codes.len()],
            provinces: codes,
            north_weights,
            south_weights,
            money_weights,
            performance,
            sequence: 0,
        })
    }

    pub(crate) fn tick(
        &mut self,
        tick: &Tick,
        out: &mut Vec<Envelope>,
    ) -> Result<(), RejectReason> {
        self.air_quality(tick, out)?;
        self.hotspots(tick, out)?;
        self.budget(tick, out)?;
        self.procurement(tick, out)
    }

    fn haze(&self, p: &ProvinceCode) -> bool {
        self.scenarios.contains(Scenario::HazeChiangmai) && p.as_str() == CHIANG_MAI
    }

    fn air_quality(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let m = usize::from(tick.month()) - 1;
        // Night-time inversions trap smoke; afternoons mix it away.
        let diurnal = 1.0 + 0.15 * (std::f64::consts::TAU * (tick.hour() - 7.0) / 24.0).cos();
        let rise = (intensity(tick.round) - 0.5) * 2.0;
        for w in &mut self.air_weather {
            *w = air_weather(&mut self.rng, *w, tick.sim_seconds);
        }
        // Simulated seconds between two readings of a station.
        let period = tick.every(AIR_PERIOD_S) as f64 * tick.sim_seconds;
        for i in 0..self.air.len() {
            if !tick.due(i, AIR_PERIOD_S) {
                continue;
            }
            let haze = self.haze(&self.air[i].area.province);
            let rng = &mut self.rng;
            let s = &mut self.air[i];
            let (region, means) = air_region(s.area.province.as_str());
            s.drift = mean_reverting(rng, s.drift, period, AIR_STATION_TAU_S, AIR_STATION_SIGMA);
            // A reading of its hour: the station's level, its drift, the
            // region's weather, and a little measurement noise.
            let reading = (s.drift + self.air_weather[region]).exp() * lognormal(rng, 1.0, 0.03);
            let pm25 = if haze {
                ((90.0 + 110.0 * rise) * lognormal(rng, 1.0, 0.25)).max(76.0)
            } else {
                means[m] * s.bias * diurnal * reading
            };
            let pm25 = round_to(pm25.clamp(1.0, 900.0), 1);
            let payload = AirQuality {
                station_id: s.id.clone(),
                pm25_ugm3: pm25,
                aqi: Some(thai_aqi(pm25)),
            };
            let id = format!("pcd-{}-{}", s.id, tick.stamp());
            out.push(envelope(
                &id,
                PCD,
                tick,
                s.area.clone(),
                None,
                Payload::AirQuality(payload),
            )?);
        }
        Ok(())
    }

    /// VIIRS detections; at least one a round so the local stack's freshness
    /// light stays green outside the burning season too.
    fn hotspots(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let m = usize::from(tick.month()) - 1;
        let per_day = HOTSPOTS_PER_DAY[m];
        let north_share = if (1..=3).contains(&m) { 0.75 } else { 0.3 };
        let lambda = per_day * tick.sim_seconds / 86_400.0;
        let n = poisson(&mut self.rng, lambda).max(1);
        for _ in 0..n {
            let weights = if self.rng.random::<f64>() < north_share {
                &self.north_weights
            } else {
                &self.south_weights
            };
            let p = self.provinces[pick_cumulative(&mut self.rng, weights)].clone();
            self.hotspot(tick, p, out)?;
        }
        if self.scenarios.contains(Scenario::HazeChiangmai) {
            let lambda =
                HAZE_HOTSPOTS_PER_DAY * tick.sim_seconds / 86_400.0 * intensity(tick.round);
            let n = poisson(&mut self.rng, lambda).max(1);
            let cm = province(CHIANG_MAI)?;
            for _ in 0..n {
                self.hotspot(tick, cm.clone(), out)?;
            }
        }
        Ok(())
    }

    fn hotspot(
        &mut self,
        tick: &Tick,
        p: ProvinceCode,
        out: &mut Vec<Envelope>,
    ) -> Result<(), RejectReason> {
        let rng = &mut self.rng;
        let point = point_in(rng, &p)?;
        let north = region_of(p.as_str()) == "N";
        let land_use = pick(
            rng,
            &[
                (LandUse::Forest, if north { 50.0 } else { 20.0 }),
                (LandUse::Agriculture, if north { 40.0 } else { 70.0 }),
                (LandUse::Community, 5.0),
                (LandUse::Other, 5.0),
            ],
        );
        let payload = FireHotspot {
            satellite: pick(rng, &[(Satellite::Viirs, 85.0), (Satellite::Modis, 15.0)]),
            confidence: pick(
                rng,
                &[
                    (HotspotConfidence::Low, 15.0),
                    (HotspotConfidence::Nominal, 65.0),
                    (HotspotConfidence::High, 20.0),
                ],
            ),
            land_use,
            frp_mw: Some(round_to(lognormal(rng, 8.0, 0.9).min(5_000.0), 1)),
        };
        self.sequence += 1;
        let id = format!("gistda-{}-{}", tick.stamp(), self.sequence);
        let area = Area::new(p, None)?;
        out.push(envelope(
            &id,
            GISTDA,
            tick,
            area,
            Some(point),
            Payload::FireHotspot(payload),
        )?);
        Ok(())
    }

    /// A few ministry × province series a round, ministries first, so every
    /// ministry appears within a few rounds.
    fn budget(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let (fiscal_year_be, fraction) = fiscal_year(tick.time.date());
        let plan = planned_pct(fraction);
        let total_weight = self.money_weights.last().copied().unwrap_or(1.0);
        let series = self.last_pct.len();
        for k in 0..BUDGET_REPORTS_PER_ROUND {
            let s = (tick.round as usize * BUDGET_REPORTS_PER_ROUND + k) % series;
            let (m, p) = (s % MINISTRIES.len(), s / MINISTRIES.len());
            let (ministry, billions) = MINISTRIES[m];
            let before = if p == 0 {
                0.0
            } else {
                self.money_weights[p - 1]
            };
            let share = (self.money_weights[p] - before) / total_weight;
            let budget_thb = (billions * 1e9 * share).round();
            let noise = 1.0 + 0.03 * normal(&mut self.rng);
            let pct = if self.scenarios.contains(Scenario::StalledBudget)
                && ministry == STALLED_MINISTRY
            {
                STALLED_PCT
            } else {
                let pct = (plan * self.performance[m] * noise).clamp(0.0, 104.0);
                let pct = pct.max(self.last_pct[s]);
                self.last_pct[s] = pct;
                pct
            };
            let payload = BudgetDisbursement {
                fiscal_year_be,
                ministry: ministry.to_owned(),
                budget_thb,
                disbursed_thb: (budget_thb * pct / 100.0).round(),
            };
            let province = self.provinces[p].clone();
            let id = format!("cgd-bd-{s}-{}", tick.stamp());
            out.push(envelope(
                &id,
                CGD,
                tick,
                Area::new(province, None)?,
                None,
                Payload::BudgetDisbursement(payload),
            )?);
        }
        Ok(())
    }

    fn procurement(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let weekday = !matches!(tick.time.weekday(), Weekday::Saturday | Weekday::Sunday);
        // Contracts are signed in office hours; e-GP never quite stops.
        let shape = if weekday && (8.5..16.5).contains(&tick.hour()) {
            2.6
        } else {
            0.5
        };
        let lambda = CONTRACTS_PER_DAY / 86_400.0 * tick.sim_seconds * shape;
        let ministry_weights: Vec<(usize, f64)> = MINISTRIES
            .iter()
            .enumerate()
            .map(|(i, m)| (i, m.1))
            .collect();
        for _ in 0..poisson(&mut self.rng, lambda) {
            let rng = &mut self.rng;
            let (method, median, sigma) = pick(
                rng,
                &[
                    ((ProcurementMethod::Specific, 60_000.0, 1.0), 70.0),
                    ((ProcurementMethod::EMarket, 800_000.0, 0.8), 15.0),
                    ((ProcurementMethod::EBidding, 8_000_000.0, 1.1), 12.0),
                    ((ProcurementMethod::Selection, 2_000_000.0, 0.8), 3.0),
                ],
            );
            let ministry = MINISTRIES[pick(rng, &ministry_weights)].0;
            let p = self.provinces[pick_cumulative(rng, &self.money_weights)].clone();
            let value = round_to(lognormal(rng, median, sigma).clamp(500.0, 5e10), 2);
            self.sequence += 1;
            let contract_id = format!("EGP-{}-{:06}", tick.stamp(), self.sequence);
            let payload = ProcurementContract {
                contract_id: contract_id.clone(),
                ministry: ministry.to_owned(),
                method,
                value_thb: value,
                signed_date: tick.time.date(),
            };
            let id = format!("cgd-pc-{contract_id}");
            out.push(envelope(
                &id,
                EGP,
                tick,
                Area::new(p, None)?,
                None,
                Payload::ProcurementContract(payload),
            )?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn aqi_follows_the_thai_bands() {
        assert_eq!(thai_aqi(0.0), 0);
        assert_eq!(thai_aqi(15.0), 25);
        assert_eq!(thai_aqi(25.0), 50);
        assert_eq!(thai_aqi(37.5), 100);
        assert_eq!(thai_aqi(75.0), 200);
        assert!(thai_aqi(80.0) > 200);
        assert_eq!(thai_aqi(900.0), 500);
    }

    #[test]
    fn fiscal_years_run_october_to_september_in_the_buddhist_era() {
        assert_eq!(fiscal_year(date!(2025 - 10 - 01)), (2569, 0.0));
        let (fy, f) = fiscal_year(date!(2026 - 04 - 01));
        assert_eq!(fy, 2569);
        assert!((f - 0.4986).abs() < 0.01, "{f}");
        assert_eq!(fiscal_year(date!(2026 - 09 - 30)).0, 2569);
        assert_eq!(planned_pct(0.0), 0.0);
        assert_eq!(planned_pct(0.5), 54.0);
        assert_eq!(planned_pct(1.0), 100.0);
    }
}
