//! Where simulated events happen: real DOPA province and district codes,
//! how busy each district is, and points inside a province's outline.

use std::{collections::HashMap, sync::LazyLock};

use pmoc_schemas::{
    RejectKind, RejectReason,
    area::{ProvinceCode, provinces},
    district::{DistrictCode, districts},
    envelope::{Area, GeoPoint},
};
use rand::Rng;
use serde_json::Value;

use super::sample::{SimRng, cumulative, pick_cumulative};

// The province outlines the schemas crate vendors (see its
// `reference/ATTRIBUTION.md`) are read here too, so hotspots fall on land
// inside the province they are reported for, not just inside its bounding box.

/// One province's rings (outer boundaries and holes, even-odd rule) and
/// bounding box, lon/lat degrees.
#[derive(Debug)]
struct Outline {
    rings: Vec<Vec<(f64, f64)>>,
    min: (f64, f64),
    max: (f64, f64),
}

static OUTLINES: LazyLock<HashMap<String, Outline>> = LazyLock::new(|| {
    let doc: Value =
        serde_json::from_str(pmoc_schemas::geo::PROVINCES_GEOJSON).unwrap_or(Value::Null);
    let mut out = HashMap::new();
    for f in doc["features"].as_array().into_iter().flatten() {
        let Some(code) = f["properties"]["ADM1_PCODE"]
            .as_str()
            .and_then(|c| c.strip_prefix("TH"))
        else {
            continue;
        };
        let g = &f["geometry"];
        let polygons: Vec<&Value> = match g["type"].as_str() {
            Some("Polygon") => vec![&g["coordinates"]],
            Some("MultiPolygon") => g["coordinates"].as_array().into_iter().flatten().collect(),
            _ => continue,
        };
        let rings: Vec<Vec<(f64, f64)>> = polygons
            .into_iter()
            .flat_map(|p| p.as_array().into_iter().flatten())
            .map(|ring| {
                ring.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|pt| Some((pt[0].as_f64()?, pt[1].as_f64()?)))
                    .collect()
            })
            .collect();
        let all = rings.iter().flatten();
        let min = all
            .clone()
            .fold((f64::MAX, f64::MAX), |m, p| (m.0.min(p.0), m.1.min(p.1)));
        let max = all.fold((f64::MIN, f64::MIN), |m, p| (m.0.max(p.0), m.1.max(p.1)));
        out.insert(code.to_owned(), Outline { rings, min, max });
    }
    out
});

fn inside(rings: &[Vec<(f64, f64)>], (x, y): (f64, f64)) -> bool {
    let mut odd = false;
    for ring in rings {
        for (a, b) in ring.iter().zip(ring.iter().cycle().skip(1)) {
            if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1) {
                odd = !odd;
            }
        }
    }
    odd
}

/// A uniformly random point inside `province`'s outline.
///
/// Rejection sampling in the bounding box; every province fills a good share
/// of its box, so a few dozen tries are plenty. The fallback (the box's
/// centre, still inside Thailand) keeps a broken outline from stopping the
/// feed; the test below checks that it is never needed.
pub(crate) fn point_in(
    rng: &mut SimRng,
    province: &ProvinceCode,
) -> Result<GeoPoint, RejectReason> {
    let Some(o) = OUTLINES.get(province.as_str()) else {
        return Err(RejectReason::new(
            RejectKind::MissingPoint,
            format!("no outline for province {province}"),
        ));
    };
    for _ in 0..500 {
        let p = (
            rng.random_range(o.min.0..=o.max.0),
            rng.random_range(o.min.1..=o.max.1),
        );
        if inside(&o.rings, p) {
            return GeoPoint::new(round5(p.1), round5(p.0));
        }
    }
    GeoPoint::new(
        round5(f64::midpoint(o.min.1, o.max.1)),
        round5(f64::midpoint(o.min.0, o.max.0)),
    )
}

/// Five decimals, about a metre: what VIIRS products publish.
fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

/// Parses a code from the vendored reference; a failure is a bug in a
/// simulator's constant table, reported as such.
pub(crate) fn province(code: &str) -> Result<ProvinceCode, RejectReason> {
    ProvinceCode::parse(code)
}

/// A province-and-district area from a district code.
pub(crate) fn district_area(code: &str) -> Result<Area, RejectReason> {
    let district = DistrictCode::parse(code)?;
    let province = ProvinceCode::parse(district.province_code())?;
    Area::new(province, Some(district))
}

/// The districts of a province, in code order.
pub(crate) fn districts_of(province: &str) -> Vec<&'static str> {
    districts()
        .iter()
        .filter(|d| d.province_code == province)
        .map(|d| d.code.as_str())
        .collect()
}

/// Every district with a rough share of the country's population.
///
/// The reference has no population figures, so the weights are a documented
/// guess: a provincial seat (`PP01`) serves about three ordinary districts,
/// a Bangkok khet about two. Good enough to make the map uneven in the
/// familiar way without pretending to be census data.
#[derive(Debug)]
pub(crate) struct DistrictWeights {
    areas: Vec<Area>,
    cumulative: Vec<f64>,
}

impl DistrictWeights {
    pub(crate) fn new() -> Result<Self, RejectReason> {
        let mut areas = Vec::with_capacity(districts().len());
        let mut weights = Vec::with_capacity(districts().len());
        for d in districts() {
            areas.push(district_area(&d.code)?);
            weights.push(if d.province_code == "10" {
                2.0
            } else if d.code.ends_with("01") {
                3.0
            } else {
                1.0
            });
        }
        Ok(Self {
            cumulative: cumulative(weights.iter().copied()),
            areas,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.areas.len()
    }

    pub(crate) fn area(&self, i: usize) -> &Area {
        &self.areas[i]
    }

    /// District `i`'s share of the national total.
    pub(crate) fn share(&self, i: usize) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let before = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
        (self.cumulative[i] - before) / total
    }

    /// A district drawn in proportion to its weight.
    pub(crate) fn pick(&self, rng: &mut SimRng) -> usize {
        pick_cumulative(rng, &self.cumulative)
    }
}

/// Provinces in a `region4` group (`"N"`, `"NE"`, `"C"`, `"S"`, `"BKK"`).
pub(crate) fn provinces_in(region4: &str) -> Vec<&'static str> {
    provinces()
        .iter()
        .filter(|p| p.region4 == region4)
        .map(|p| p.code.as_str())
        .collect()
}

/// The `region4` group of a province code.
pub(crate) fn region_of(code: &str) -> &'static str {
    pmoc_schemas::area::province(code).map_or("C", |p| p.region4.as_str())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn points_fall_inside_their_province_for_every_province() {
        let mut rng = SimRng::seed_from_u64(3);
        for p in provinces() {
            let code = province(&p.code).expect("reference code");
            let o = &OUTLINES[p.code.as_str()];
            for _ in 0..20 {
                let pt = point_in(&mut rng, &code).expect("point");
                assert!(inside(&o.rings, (pt.lon, pt.lat)), "{} {pt:?}", p.code);
            }
        }
    }

    #[test]
    fn district_weights_cover_the_country() {
        let w = DistrictWeights::new().expect("reference districts");
        assert_eq!(w.len(), 928);
        let total: f64 = (0..w.len()).map(|i| w.share(i)).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(provinces_in("N").len(), 17);
        assert_eq!(districts_of("34").len(), 25);
    }
}
