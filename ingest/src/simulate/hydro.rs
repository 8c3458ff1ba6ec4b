//! Water & climate: HII water-level stations and rain gauges, RID's large
//! reservoirs and TMD weather stations.
//!
//! Shapes from public figures: HII/ThaiWater telemetry reports every 10-15
//! minutes (the national feed merges about 825 level rows a snapshot; this
//! feed keeps a representative 120 stations and 150 gauges so the local load
//! stays modest); the 35 large RID dams report storage, inflow and release
//! once a day; TMD stations hourly. Rivers and reservoirs follow the monsoon:
//! low in March-May, highest in September-November.

use pmoc_schemas::{
    RejectReason,
    area::provinces,
    committee::{
        Committee,
        water::{DamStorage, Rainfall, WaterLevel, Weather},
    },
    envelope::{Area, Envelope, Payload},
};
use rand::Rng;

use super::{
    Scenario, Scenarios, Tick, envelope,
    places::{district_area, districts_of, region_of},
    rng_for,
    sample::{SimRng, lognormal, mean_reverting, normal, round_to},
    scenario::{UBON, UBON_UPSTREAM_DAMS, intensity},
};

const HII: (&str, &str) = ("HII", "thaiwater");
const RID: (&str, &str) = ("RID", "rid-dam");
const TMD: (&str, &str) = ("TMD", "tmd-synop");
/// HII's telemetry interval.
const TELEMETRY_PERIOD_S: f64 = 600.0;
const WEATHER_PERIOD_S: f64 = 3_600.0;
const LEVEL_STATIONS: usize = 120;
const RAIN_GAUGES: usize = 150;

/// Provinces on the Chao Phraya, Ping, Wang, Yom, Nan, Mun and Chi systems
/// and the southern rivers, where level stations are densest.
const RIVER_PROVINCES: &[&str] = &[
    "10", "12", "13", "14", "15", "16", "17", "18", "60", "61", "62", "64", "65", "66", "50", "51",
    "52", "53", "54", "55", "57", "30", "31", "32", "33", "35", "36", "40", "44", "45", "46", "27",
    "25", "90", "84", "80", "86", "96",
];

/// Ubon's stations on the Mun and the Chi, named after their river.
const UBON_STATIONS: &[(&str, &str)] = &[
    ("UBN-MUN-01", "3401"),
    ("UBN-MUN-02", "3415"),
    ("UBN-MUN-03", "3419"),
    ("UBN-CHI-01", "3404"),
];

/// RID's 35 large reservoirs: id, province, nominal capacity (million m³).
/// Capacities are the published nominal figures, rounded.
pub(crate) const DAMS: &[(&str, &str, f64)] = &[
    ("bhumibol", "63", 13_462.0),
    ("sirikit", "53", 9_510.0),
    ("mae_ngat", "50", 265.0),
    ("mae_kuang", "50", 263.0),
    ("kiew_lom", "52", 112.0),
    ("kiew_kho_ma", "52", 170.0),
    ("mae_mok", "52", 110.0),
    ("kwae_noi", "65", 939.0),
    ("ubol_ratana", "40", 2_431.0),
    ("chulabhorn", "36", 188.0),
    ("lam_pao", "46", 1_980.0),
    ("nam_oon", "47", 520.0),
    ("nam_phung", "47", 165.0),
    ("huai_luang", "41", 136.0),
    ("lam_takhong", "30", 314.0),
    ("lam_phra_phloeng", "30", 110.0),
    ("mun_bon", "30", 141.0),
    ("lam_sae", "30", 275.0),
    ("lam_nang_rong", "31", 121.0),
    ("sirindhorn", "34", 1_966.0),
    ("pasak_jolasid", "16", 960.0),
    ("thap_salao", "61", 160.0),
    ("krasiew", "72", 240.0),
    ("srinagarind", "71", 17_745.0),
    ("vajiralongkorn", "71", 8_860.0),
    ("khun_dan_prakan_chon", "26", 224.0),
    ("bang_phra", "20", 117.0),
    ("nong_pla_lai", "21", 164.0),
    ("dok_krai", "21", 79.0),
    ("prasae", "21", 295.0),
    ("khlong_si_yat", "24", 420.0),
    ("kaeng_krachan", "76", 710.0),
    ("pran_buri", "77", 445.0),
    ("rajjaprabha", "84", 5_639.0),
    ("bang_lang", "95", 1_454.0),
];

/// How full rivers are through the year, 0 (dry) to 1 (peak), January first.
const RIVER_SEASON: [f64; 12] = [
    0.15, 0.08, 0.05, 0.08, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0, 0.65, 0.3,
];
/// How full reservoirs are: they fill after the rivers peak.
const STORAGE_SEASON: [f64; 12] = [
    0.75, 0.6, 0.45, 0.3, 0.2, 0.2, 0.3, 0.5, 0.75, 0.95, 1.0, 0.9,
];
/// Chance that an hour is rainy at a gauge, by month.
const RAIN_CHANCE: [f64; 12] = [
    0.02, 0.03, 0.05, 0.1, 0.22, 0.25, 0.25, 0.3, 0.35, 0.25, 0.1, 0.03,
];

fn month_index(tick: &Tick) -> usize {
    usize::from(tick.month()) - 1
}

#[derive(Debug)]
struct LevelStation {
    id: String,
    area: Area,
    ground_m: f64,
    bank_m: f64,
    /// Discharge rating coefficient; `None` for unrated stations.
    rating: Option<f64>,
    walk: f64,
}

#[derive(Debug)]
struct Gauge {
    id: String,
    area: Area,
    /// Rain of the last 24 hours, mm, as an exponentially decaying sum.
    acc_24h: f64,
}

#[derive(Debug)]
struct Dam {
    id: &'static str,
    area: Area,
    capacity: f64,
    /// This dam's usual fullness at the season's low, percent.
    base_pct: f64,
    /// Its departure from the usual, percentage points (mean-reverting
    /// over weeks: a reservoir's level moves by fractions of a point a day).
    walk: f64,
    /// The round it last reported in, to scale the walk's step.
    last_round: Option<u64>,
    /// The day whose inflow and release it reports, and those figures: RID
    /// reports the day's totals, and every report that day repeats them.
    day: Option<(time::Date, f64, f64)>,
}

/// How far a dam strays from its usual fullness, percentage points, and how
/// long such a departure lasts, seconds.
const DAM_WALK_SIGMA: f64 = 4.0;
const DAM_WALK_TAU_S: f64 = 30.0 * 86_400.0;

#[derive(Debug)]
struct WeatherStation {
    id: String,
    area: Area,
}

/// The water committee's feed.
#[derive(Debug)]
pub struct HydroSim {
    rng: SimRng,
    scenarios: Scenarios,
    levels: Vec<LevelStation>,
    gauges: Vec<Gauge>,
    dams: Vec<Dam>,
    weather: Vec<WeatherStation>,
}

/// A district of `province` drawn at random, as the station's area.
fn random_area(rng: &mut SimRng, province: &str) -> Result<Area, RejectReason> {
    let ds = districts_of(province);
    let d = ds
        .get(rng.random_range(0..ds.len().max(1)))
        .copied()
        .unwrap_or("");
    district_area(d)
}

impl HydroSim {
    pub fn new(seed: u64, scenarios: Scenarios) -> Result<Self, RejectReason> {
        let mut rng = rng_for(seed, Committee::Water);
        let mut levels = Vec::with_capacity(LEVEL_STATIONS);
        for (id, district) in UBON_STATIONS {
            levels.push(level_station(
                &mut rng,
                (*id).to_owned(),
                district_area(district)?,
            ));
        }
        for i in levels.len()..LEVEL_STATIONS {
            let p = RIVER_PROVINCES[i % RIVER_PROVINCES.len()];
            let area = random_area(&mut rng, p)?;
            levels.push(level_station(&mut rng, format!("HII-{p}-{i:03}"), area));
        }
        let all: Vec<&str> = provinces().iter().map(|p| p.code.as_str()).collect();
        let mut gauges = Vec::with_capacity(RAIN_GAUGES);
        for (id, district) in UBON_STATIONS {
            gauges.push(Gauge {
                id: format!("{id}-R"),
                area: district_area(district)?,
                acc_24h: 0.0,
            });
        }
        for i in gauges.len()..RAIN_GAUGES {
            let p = all[i % all.len()];
            gauges.push(Gauge {
                id: format!("HII-R{p}-{i:03}"),
                area: random_area(&mut rng, p)?,
                acc_24h: 0.0,
            });
        }
        let mut dams = Vec::with_capacity(DAMS.len());
        for &(id, p, capacity) in DAMS {
            dams.push(Dam {
                id,
                area: random_area(&mut rng, p)?,
                capacity,
                base_pct: rng.random_range(22.0..42.0),
                walk: DAM_WALK_SIGMA * normal(&mut rng),
                last_round: None,
                day: None,
            });
        }
        let mut weather = Vec::with_capacity(all.len());
        for p in &all {
            weather.push(WeatherStation {
                id: format!("TMD-{p}"),
                area: district_area(&format!("{p}01")).or_else(|_| random_area(&mut rng, p))?,
            });
        }
        Ok(Self {
            rng,
            scenarios,
            levels,
            gauges,
            dams,
            weather,
        })
    }

    pub(crate) fn tick(
        &mut self,
        tick: &Tick,
        out: &mut Vec<Envelope>,
    ) -> Result<(), RejectReason> {
        self.water_levels(tick, out)?;
        self.rainfall(tick, out)?;
        self.dams(tick, out)?;
        self.weather(tick, out)
    }

    fn flood(&self, area: &Area) -> bool {
        self.scenarios.contains(Scenario::FloodUbon) && area.province.as_str() == UBON
    }

    fn water_levels(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let season = RIVER_SEASON[month_index(tick)];
        let rise = (intensity(tick.round) - 0.5) * 2.0;
        for i in 0..self.levels.len() {
            if !tick.due(i, TELEMETRY_PERIOD_S) {
                continue;
            }
            let flood = self.flood(&self.levels[i].area);
            let noise = 0.03 * normal(&mut self.rng);
            let s = &mut self.levels[i];
            s.walk = (s.walk + 0.01 * normal(&mut self.rng)).clamp(-0.15, 0.15);
            let depth = s.bank_m - s.ground_m;
            let level = if flood {
                // Over the banks from the first round, still rising.
                s.bank_m + 0.2 + 1.3 * rise + noise
            } else {
                let fraction = (0.3 + 0.45 * season + s.walk).clamp(0.05, 0.97);
                s.ground_m + depth * fraction + noise
            };
            let payload = WaterLevel {
                station_id: s.id.clone(),
                level_m_msl: round_to(level, 2),
                bank_level_m_msl: round_to(s.bank_m, 2),
                ground_level_m_msl: Some(round_to(s.ground_m, 2)),
                discharge_m3s: s
                    .rating
                    .map(|a| round_to(a * (level - s.ground_m).max(0.0).powf(1.6), 1)),
                pct_bank_full: Some(round_to((level - s.ground_m) / depth * 100.0, 1)),
            };
            let id = format!("hii-wl-{}-{}", s.id, tick.stamp());
            out.push(envelope(
                &id,
                HII,
                tick,
                s.area.clone(),
                None,
                Payload::WaterLevel(payload),
            )?);
        }
        Ok(())
    }

    fn rainfall(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let m = month_index(tick);
        // Convective rain peaks in the afternoon and evening.
        let afternoon = 1.0 + 0.8 * (std::f64::consts::TAU * (tick.hour() - 11.0) / 24.0).sin();
        let chance = (RAIN_CHANCE[m] * afternoon).min(0.9);
        let period_sim = tick.every(TELEMETRY_PERIOD_S) as f64 * tick.sim_seconds;
        let keep = (-period_sim / 86_400.0).exp();
        let rise = (intensity(tick.round) - 0.5) * 2.0;
        for i in 0..self.gauges.len() {
            if !tick.due(i, TELEMETRY_PERIOD_S) {
                continue;
            }
            let flood = self.flood(&self.gauges[i].area);
            let rng = &mut self.rng;
            let mut rain_1h = if rng.random::<f64>() < chance {
                lognormal(rng, 4.0, 1.0)
            } else {
                0.0
            };
            if flood {
                rain_1h = rng.random_range(10.0..35.0);
            }
            let g = &mut self.gauges[i];
            g.acc_24h = g.acc_24h * keep + rain_1h * period_sim / 3_600.0;
            if flood {
                g.acc_24h = g
                    .acc_24h
                    .max(95.0 + 60.0 * rise + rng.random_range(0.0..10.0));
            }
            let payload = Rainfall {
                station_id: g.id.clone(),
                rain_1h_mm: round_to(rain_1h.min(300.0), 1),
                rain_24h_mm: round_to(g.acc_24h.clamp(rain_1h, 900.0), 1),
            };
            let id = format!("hii-rf-{}-{}", g.id, tick.stamp());
            out.push(envelope(
                &id,
                HII,
                tick,
                g.area.clone(),
                None,
                Payload::Rainfall(payload),
            )?);
        }
        Ok(())
    }

    /// One dam a round in turn: RID reports daily, but the local stack needs
    /// the schema every few seconds.
    fn dams(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let m = month_index(tick);
        let i = (tick.round % self.dams.len() as u64) as usize;
        let upstream_flood = self.scenarios.contains(Scenario::FloodUbon)
            && UBON_UPSTREAM_DAMS.contains(&self.dams[i].id);
        let rng = &mut self.rng;
        let d = &mut self.dams[i];
        // Simulated seconds since its last report.
        let since_s = d.last_round.map_or(0.0, |r| {
            tick.round.saturating_sub(r) as f64 * tick.sim_seconds
        });
        d.last_round = Some(tick.round);
        d.walk = mean_reverting(rng, d.walk, since_s, DAM_WALK_TAU_S, DAM_WALK_SIGMA);
        let (pct, inflow_frac, release_frac) = if upstream_flood {
            let rise = (intensity(tick.round) - 0.5) * 2.0;
            (82.0 + 12.0 * rise + rng.random_range(0.0..3.0), 0.03, 0.02)
        } else {
            (
                d.base_pct + 40.0 * STORAGE_SEASON[m] + d.walk,
                0.002 + 0.012 * RIVER_SEASON[m],
                0.004,
            )
        };
        let pct = pct.clamp(3.0, 110.0);
        let today = tick.time.date();
        let (inflow, release) = match d.day {
            Some((day, inflow, release)) if day == today && !upstream_flood => (inflow, release),
            _ => {
                let inflow = round_to(d.capacity * inflow_frac * lognormal(rng, 1.0, 0.3), 2);
                let release = round_to(d.capacity * release_frac * lognormal(rng, 1.0, 0.2), 2);
                d.day = Some((today, inflow, release));
                (inflow, release)
            }
        };
        let payload = DamStorage {
            dam_id: d.id.to_owned(),
            storage_mcm: round_to(d.capacity * pct / 100.0, 1),
            pct_capacity: round_to(pct, 1),
            inflow_mcm: inflow,
            release_mcm: release,
        };
        let id = format!("rid-{}-{}", d.id, tick.stamp());
        out.push(envelope(
            &id,
            RID,
            tick,
            d.area.clone(),
            None,
            Payload::DamStorage(payload),
        )?);
        Ok(())
    }

    fn weather(&mut self, tick: &Tick, out: &mut Vec<Envelope>) -> Result<(), RejectReason> {
        let m = month_index(tick);
        let rainy = RIVER_SEASON[m];
        for i in 0..self.weather.len() {
            if !tick.due(i, WEATHER_PERIOD_S) {
                continue;
            }
            let s = &self.weather[i];
            let mean = monthly_mean_temperature(region_of(s.area.province.as_str()), m);
            // Coolest at dawn, warmest mid-afternoon.
            let diurnal = 4.5 * (std::f64::consts::TAU * (tick.hour() - 9.0) / 24.0).sin();
            let rng = &mut self.rng;
            let t = mean + diurnal + normal(rng);
            let humidity =
                (78.0 + 12.0 * rainy - 3.0 * diurnal + 3.0 * normal(rng)).clamp(20.0, 100.0);
            let payload = Weather {
                station_id: s.id.clone(),
                temperature_c: round_to(t.clamp(-5.0, 45.0), 1),
                humidity_pct: round_to(humidity, 0),
                wind_ms: round_to(lognormal(rng, 2.0, 0.5).min(40.0), 1),
                pressure_hpa: round_to(1_009.0 - 3.0 * rainy + 1.2 * normal(rng), 1),
            };
            let id = format!("tmd-{}-{}", s.id, tick.stamp());
            out.push(envelope(
                &id,
                TMD,
                tick,
                s.area.clone(),
                None,
                Payload::Weather(payload),
            )?);
        }
        Ok(())
    }
}

/// A station with its own riverbed and bank, at the heights its region's
/// rivers run at: the delta near sea level, the Mun and the Chi on the
/// Khorat plateau, the Ping, Wang, Yom and Nan in the northern valleys.
fn level_station(rng: &mut SimRng, id: String, area: Area) -> LevelStation {
    let ground_m = match region_of(area.province.as_str()) {
        "BKK" => rng.random_range(-4.0..0.0),
        "C" => rng.random_range(0.0..40.0),
        "NE" => rng.random_range(100.0..160.0),
        "N" => rng.random_range(60.0..320.0),
        _ => rng.random_range(0.0..30.0),
    };
    LevelStation {
        id,
        area,
        ground_m,
        bank_m: ground_m + rng.random_range(4.0..10.0),
        rating: rng.random_bool(0.5).then(|| rng.random_range(5.0..25.0)),
        walk: 0.0,
    }
}

/// Monthly mean temperature, °C: the north is cool in December-January and
/// hottest in April; Bangkok and the south vary little.
fn monthly_mean_temperature(region4: &str, month: usize) -> f64 {
    const NORTH: [f64; 12] = [
        21.5, 24.0, 27.5, 29.5, 28.5, 27.5, 27.0, 26.5, 26.5, 25.5, 23.5, 21.0,
    ];
    const NORTHEAST: [f64; 12] = [
        23.5, 26.0, 28.5, 30.0, 29.0, 28.5, 28.0, 27.5, 27.5, 26.5, 25.0, 23.0,
    ];
    const CENTRAL: [f64; 12] = [
        27.0, 28.5, 29.5, 30.5, 30.0, 29.5, 29.0, 28.8, 28.5, 28.0, 27.5, 26.5,
    ];
    const SOUTH: [f64; 12] = [
        26.5, 27.0, 27.8, 28.5, 28.5, 28.2, 28.0, 28.0, 27.6, 27.2, 26.8, 26.5,
    ];
    match region4 {
        "N" => NORTH[month],
        "NE" => NORTHEAST[month],
        "S" => SOUTH[month],
        _ => CENTRAL[month],
    }
}
