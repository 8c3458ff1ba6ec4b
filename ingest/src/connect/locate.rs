//! Which district a point is in, for feeds that give only coordinates (a
//! raw NASA FIRMS download has no administrative columns).
//!
//! The 928 district outlines are the ones the dashboard serves (vendored in
//! `dashboard/server/reference/`, see its `ATTRIBUTION.md`; read here at
//! compile time rather than copied a second time). They are loaded once into
//! an R-tree of bounding boxes, so a lookup tests the polygon of only the few
//! districts whose box holds the point, not all 928.
//!
//! The outlines are simplified (about 0.9 MB for the whole country), so a
//! point a few hundred metres inside a real coast or border can fall just
//! outside them: a point outside every outline but within
//! [`TOLERANCE_DEGREES`] of one is given to the nearest. Farther out (the
//! sea, a neighbouring country) it is in no district.

use std::sync::LazyLock;

use geo::{Contains, Coord, Distance, Euclidean, LineString, MultiPolygon, Point, Polygon};
use pmoc_schemas::{district::DistrictCode, envelope::GeoPoint};
use rstar::{AABB, RTree, RTreeObject};
use serde_json::Value;

const DISTRICTS_GEOJSON: &str =
    include_str!("../../../dashboard/server/reference/th_adm2_districts.geojson");

/// How far outside the simplified outlines a point may be and still be
/// given to the nearest district: 0.01° is about 1.1 km, a few VIIRS
/// pixels (375 m).
pub const TOLERANCE_DEGREES: f64 = 0.01;

/// One district's outline and its bounding box.
#[derive(Debug)]
struct District {
    code: DistrictCode,
    shape: MultiPolygon<f64>,
    bounds: AABB<[f64; 2]>,
}

impl RTreeObject for District {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.bounds
    }
}

static DISTRICTS: LazyLock<RTree<District>> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(DISTRICTS_GEOJSON).unwrap_or(Value::Null);
    let districts = doc["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(district)
        .collect();
    RTree::bulk_load(districts)
});

/// A GeoJSON feature as a district; `None` for anything malformed (a test
/// checks all 928 load).
fn district(feature: &Value) -> Option<District> {
    let code = feature["properties"]["ADM2_PCODE"]
        .as_str()?
        .strip_prefix("TH")?;
    let code = DistrictCode::parse(code).ok()?;
    let g = &feature["geometry"];
    let polygons: Vec<&Value> = match g["type"].as_str()? {
        "Polygon" => vec![&g["coordinates"]],
        "MultiPolygon" => g["coordinates"].as_array()?.iter().collect(),
        _ => return None,
    };
    let shape: MultiPolygon<f64> = polygons
        .into_iter()
        .filter_map(|rings| {
            let mut rings = rings.as_array()?.iter().map(ring);
            let exterior = rings.next()?;
            Some(Polygon::new(exterior, rings.collect()))
        })
        .collect();
    let coords = shape.0.iter().flat_map(|p| p.exterior().coords());
    let (min, max) = coords.fold(
        ([f64::MAX, f64::MAX], [f64::MIN, f64::MIN]),
        |(min, max), c| {
            (
                [min[0].min(c.x), min[1].min(c.y)],
                [max[0].max(c.x), max[1].max(c.y)],
            )
        },
    );
    Some(District {
        code,
        shape,
        bounds: AABB::from_corners(min, max),
    })
}

fn ring(points: &Value) -> LineString<f64> {
    points
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(Coord {
                x: p[0].as_f64()?,
                y: p[1].as_f64()?,
            })
        })
        .collect()
}

/// The district whose outline holds `point`, or the nearest one within
/// [`TOLERANCE_DEGREES`]; `None` in the sea or outside Thailand.
pub fn district_at(point: GeoPoint) -> Option<DistrictCode> {
    let p = Point::new(point.lon, point.lat);
    let tree = &*DISTRICTS;
    let at = AABB::from_point([point.lon, point.lat]);
    if let Some(d) = tree
        .locate_in_envelope_intersecting(&at)
        .find(|d| d.shape.contains(&p))
    {
        return Some(d.code.clone());
    }
    let t = TOLERANCE_DEGREES;
    let near = AABB::from_corners(
        [point.lon - t, point.lat - t],
        [point.lon + t, point.lat + t],
    );
    tree.locate_in_envelope_intersecting(&near)
        .map(|d| (Euclidean.distance(&p, &d.shape), d))
        .filter(|(distance, _)| *distance <= t)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, d)| d.code.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Option<String> {
        let p = GeoPoint::new(lat, lon).expect("inside the box");
        district_at(p).map(|d| d.as_str().to_owned())
    }

    #[test]
    fn all_928_outlines_load() {
        assert_eq!(DISTRICTS.size(), 928);
    }

    #[test]
    fn known_places_fall_in_their_districts() {
        // The Grand Palace: Phra Nakhon, Bangkok.
        assert_eq!(at(13.7500, 100.4913).as_deref(), Some("1001"));
        // Chiang Mai's old city, inside the moat: Mueang Chiang Mai.
        assert_eq!(at(18.7883, 98.9853).as_deref(), Some("5001"));
        // Hat Yai: Songkhla's Hat Yai district.
        assert_eq!(at(7.0086, 100.4747).as_deref(), Some("9011"));
        // Phimai's historical park: Phimai, Nakhon Ratchasima.
        assert_eq!(at(15.2206, 102.4936).as_deref(), Some("3015"));
    }

    #[test]
    fn the_sea_and_the_neighbours_are_in_no_district() {
        // The Gulf of Thailand, between Hua Hin and Sattahip.
        assert_eq!(at(12.5, 100.5), None);
        // The Andaman Sea west of Phuket.
        assert_eq!(at(7.9, 97.8), None);
        // Vientiane, Laos, inside Thailand's bounding box.
        assert_eq!(at(17.9757, 102.6331), None);
    }
}
