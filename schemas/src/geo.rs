//! Province and district outlines for the maps, as SVG paths.
//!
//! The vendored GeoJSON (see `reference/ATTRIBUTION.md`) is projected once,
//! by the dashboard server, with an equirectangular projection scaled by the
//! cosine of Thailand's middle latitude: at this size and latitude it is
//! indistinguishable from a conformal projection and needs no library. The
//! browser fetches the projected paths (`/api/geo/...`): carried in the WASM
//! bundle, the province polygons alone made it 96 KB bigger for every wall
//! screen at every load.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The 77 province polygons (HDX COD-AB, simplified), for the server and the
/// simulators; never compiled into the front end.
pub const PROVINCES_GEOJSON: &str = include_str!("../reference/th_adm1_provinces.geojson");

/// Bounds of the projection, degrees: all of Thailand with a small margin.
const WEST: f64 = 97.3;
const EAST: f64 = 105.7;
const NORTH: f64 = 20.5;
const SOUTH: f64 = 5.5;
/// SVG units per degree of latitude.
const SCALE: f64 = 100.0;

/// One province's or district's outline, as the browser receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// DOPA code, `"50"` or `"5001"`.
    pub code: String,
    /// SVG path data in the [`view_box`] coordinate system.
    pub path: String,
}

fn x_scale() -> f64 {
    (((NORTH + SOUTH) / 2.0).to_radians()).cos() * SCALE
}

/// The SVG `viewBox` all paths are drawn in.
pub fn view_box() -> String {
    let width = (EAST - WEST) * x_scale();
    let height = (NORTH - SOUTH) * SCALE;
    format!("0 0 {width:.0} {height:.0}")
}

fn project(lon: f64, lat: f64) -> (f64, f64) {
    ((lon - WEST) * x_scale(), (NORTH - lat) * SCALE)
}

/// The outlines of all provinces that have geometry, in file order.
pub fn province_shapes() -> Vec<Shape> {
    shapes(PROVINCES_GEOJSON, "ADM1_PCODE")
}

/// The outlines of an HDX COD-AB layer, coded by the P-code property
/// `code_key` without its `TH` prefix, in the same projection as the
/// provinces. The dashboard server uses it for district outlines, which are
/// too big (0.9 MB) to carry in the WASM bundle.
pub fn shapes(geojson: &str, code_key: &str) -> Vec<Shape> {
    let Ok(doc) = serde_json::from_str::<Value>(geojson) else {
        return Vec::new();
    };
    let features = doc["features"].as_array().cloned().unwrap_or_default();
    features
        .iter()
        .filter_map(|f| {
            let code = f["properties"][code_key]
                .as_str()?
                .strip_prefix("TH")?
                .to_owned();
            let geometry = &f["geometry"];
            let polygons: Vec<&Value> = match geometry["type"].as_str()? {
                "Polygon" => vec![&geometry["coordinates"]],
                "MultiPolygon" => geometry["coordinates"].as_array()?.iter().collect(),
                _ => return None,
            };
            let mut path = String::new();
            for polygon in polygons {
                for ring in polygon.as_array()? {
                    ring_to_path(ring, &mut path);
                }
            }
            Some(Shape { code, path })
        })
        .collect()
}

fn ring_to_path(ring: &Value, out: &mut String) {
    let Some(points) = ring.as_array() else {
        return;
    };
    for (i, point) in points.iter().enumerate() {
        let (Some(lon), Some(lat)) = (point[0].as_f64(), point[1].as_f64()) else {
            continue;
        };
        let (x, y) = project(lon, lat);
        out.push_str(if i == 0 { "M" } else { "L" });
        out.push_str(&format!("{x:.1},{y:.1}"));
    }
    out.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_province_has_an_outline_inside_the_view() {
        let shapes = province_shapes();
        assert_eq!(shapes.len(), 77);
        for p in crate::area::provinces() {
            assert!(shapes.iter().any(|s| s.code == p.code), "{}", p.code);
        }
        let (w, h) = ((EAST - WEST) * x_scale(), (NORTH - SOUTH) * SCALE);
        for s in &shapes {
            assert!(
                s.path.starts_with('M') && s.path.ends_with('Z'),
                "{}",
                s.code
            );
            for pair in s.path.split(['M', 'L', 'Z']).filter(|p| !p.is_empty()) {
                let (x, y) = pair.split_once(',').expect("x,y");
                let (x, y): (f64, f64) = (x.parse().expect("x"), y.parse().expect("y"));
                assert!(
                    (0.0..=w).contains(&x) && (0.0..=h).contains(&y),
                    "{} {pair}",
                    s.code
                );
            }
        }
    }

    #[test]
    fn north_is_up_and_east_is_right() {
        let (chiang_rai_x, chiang_rai_y) = project(99.8, 19.9);
        let (narathiwat_x, narathiwat_y) = project(101.8, 6.4);
        assert!(chiang_rai_y < narathiwat_y);
        assert!(chiang_rai_x < narathiwat_x);
        assert_eq!(view_box(), "0 0 818 1500");
    }
}
