//! Province and district outlines, projected once and served as SVG paths.
//!
//! Neither travels in the WASM bundle: the 77 provinces are fetched once per
//! page (`/api/geo/provinces`), and the 928 district polygons (0.9 MB of
//! GeoJSON) one province at a time (`/api/geo/districts/{province}`) when a
//! page drills in.

use std::{collections::BTreeMap, sync::LazyLock};

use pmoc_schemas::geo::{Shape, province_shapes, shapes};

const DISTRICTS_GEOJSON: &str = include_str!("../reference/th_adm2_districts.geojson");

static PROVINCES: LazyLock<Vec<Shape>> = LazyLock::new(province_shapes);

static BY_PROVINCE: LazyLock<BTreeMap<String, Vec<Shape>>> = LazyLock::new(|| {
    let mut by_province: BTreeMap<String, Vec<Shape>> = BTreeMap::new();
    for shape in shapes(DISTRICTS_GEOJSON, "ADM2_PCODE") {
        let province = shape.code.get(..2).unwrap_or_default().to_owned();
        by_province.entry(province).or_default().push(shape);
    }
    by_province
});

/// The 77 provinces, in file order.
pub fn provinces() -> &'static [Shape] {
    &PROVINCES
}

/// All 928 districts, province by province, for the national district map.
pub fn all_districts() -> Vec<&'static Shape> {
    BY_PROVINCE.values().flatten().collect()
}

/// The districts of one province, `None` for an unknown province.
pub fn districts_of(province: &str) -> Option<&'static [Shape]> {
    BY_PROVINCE.get(province).map(Vec::as_slice)
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_928_districts_have_outlines() {
        let total: usize = super::BY_PROVINCE.values().map(Vec::len).sum();
        assert_eq!(total, 928);
        assert_eq!(super::districts_of("10").map(<[_]>::len), Some(50));
        assert_eq!(super::all_districts().len(), 928);
    }

    #[test]
    fn all_77_provinces_have_outlines() {
        assert_eq!(super::provinces().len(), 77);
    }
}
