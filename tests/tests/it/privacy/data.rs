//! What the privacy test seeds: births in Ubon Ratchathani (34) and its
//! districts, many of them small, at minute, hour and day widths, with the
//! province, the Northeast and the nation their exact sums; the open
//! minute, hour and day get a new provisional value in each round.

use std::collections::BTreeMap;

use pmoc_schemas::district::districts;
use pmoc_tests::seed::Window;

use super::attack::Cell;

pub const MINUTE: u32 = 60;
pub const HOUR: u32 = 3_600;
pub const DAY: u32 = 86_400;
/// Rounds of provisional values.
pub const ROUNDS: u32 = 3;
/// Minute windows seeded, the newest one still open.
const MINUTES: i64 = 20;

/// The true figures, by cell (every round), and whether each is final.
#[derive(Debug, Default)]
pub struct Truth {
    pub values: BTreeMap<Cell, u64>,
    pub open: BTreeMap<Cell, bool>,
    pub districts: Vec<String>,
}

fn cell(round: u32, level: &str, code: &str, width: u32, start_s: i64) -> Cell {
    Cell {
        round,
        level: level.to_owned(),
        code: code.to_owned(),
        width,
        start_ms: start_s * 1000,
    }
}

impl Truth {
    /// Figures around `now_s`: the first seeded minute 19 minutes back, so
    /// every window stays inside the drill-down's ranges for 40 minutes.
    pub fn new(now_s: i64) -> Self {
        let first_minute = now_s - now_s % 60 - (MINUTES - 1) * 60;
        let codes: Vec<String> = districts()
            .iter()
            .filter(|d| d.province_code == "34")
            .map(|d| d.code.clone())
            .collect();
        let mut t = Self {
            districts: codes.clone(),
            ..Self::default()
        };
        let day_start = first_minute - 23 * i64::from(HOUR);
        for round in 1..=ROUNDS {
            let grow = u64::from(round - 1);
            for (i, code) in codes.iter().enumerate() {
                let i = i as u64;
                // Minutes of the open hour: 0 to 4 births, the newest one
                // growing from round to round.
                let mut hour0 = 0;
                for j in 0..MINUTES {
                    let mut v = (i * 7 + j as u64 * 3) % 5;
                    let open = j == MINUTES - 1;
                    if open {
                        v += grow * (i % 3);
                    }
                    hour0 += v;
                    t.put(
                        cell(round, "district", code, MINUTE, first_minute + j * 60),
                        v,
                        open,
                    );
                }
                // Closed hours: 0 to 16 births; in the one before the open
                // hour, the case: every district shown but 3401.
                let mut day = hour0;
                t.put(
                    cell(round, "district", code, HOUR, first_minute),
                    hour0,
                    true,
                );
                for k in 1..24u64 {
                    let v = match (k, i) {
                        (1, 0) => 3,
                        (1, _) => 5 + (i * 3) % 12,
                        _ => (i * 13 + k * 5) % 17,
                    };
                    day += v;
                    let start = first_minute - k as i64 * i64::from(HOUR);
                    t.put(cell(round, "district", code, HOUR, start), v, false);
                }
                t.put(cell(round, "district", code, DAY, day_start), day, true);
            }
        }
        // Every level above is the exact sum of the one below.
        let district_cells: Vec<(Cell, u64, bool)> = t
            .values
            .iter()
            .map(|(c, v)| (c.clone(), *v, t.open[c]))
            .collect();
        for (c, v, open) in district_cells {
            for (level, code) in [("province", "34"), ("region4", "NE"), ("nation", "TH")] {
                let up = Cell {
                    level: level.to_owned(),
                    code: code.to_owned(),
                    ..c.clone()
                };
                *t.values.entry(up.clone()).or_default() += v;
                t.open.insert(up, open);
            }
        }
        t
    }

    fn put(&mut self, c: Cell, v: u64, open: bool) {
        self.values.insert(c.clone(), v);
        self.open.insert(c, open);
    }

    /// The rows of `round`: every window in the first, only the open ones
    /// (a newer version of each) after.
    pub fn rows(&self, round: u32) -> Vec<Window> {
        self.values
            .iter()
            .filter(|(c, _)| c.round == round && (round == 1 || self.open[*c]))
            .map(|(c, v)| {
                let level = match c.level.as_str() {
                    "district" => "district",
                    "province" => "province",
                    "region4" => "region4",
                    _ => "nation",
                };
                let mut w = Window::new(
                    "births",
                    level,
                    &c.code,
                    c.width,
                    c.start_ms / 1000,
                    *v as f64,
                );
                w.is_final = !self.open[c];
                w.version = u64::from(round) + 1;
                w
            })
            .collect()
    }
}
