//! District outlines, served one province at a time.
//!
//! The 928 district polygons are 0.9 MB of GeoJSON: too much to carry in
//! the WASM bundle for a page that shows one province's districts. The
//! server projects them once (same projection as the provinces) and the
//! browser fetches `/api/geo/districts/{province}` when it drills in.

use std::{collections::BTreeMap, sync::LazyLock};

use pmoc_schemas::geo::{Shape, shapes};
use serde::Serialize;

const DISTRICTS_GEOJSON: &str = include_str!("../reference/th_adm2_districts.geojson");

/// One district outline as the browser receives it.
#[derive(Debug, Clone, Serialize)]
pub struct Outline {
    pub code: String,
    pub path: String,
}

static BY_PROVINCE: LazyLock<BTreeMap<String, Vec<Outline>>> = LazyLock::new(|| {
    let mut by_province: BTreeMap<String, Vec<Outline>> = BTreeMap::new();
    for Shape { code, path } in shapes(DISTRICTS_GEOJSON, "ADM2_PCODE") {
        let province = code.get(..2).unwrap_or_default().to_owned();
        by_province
            .entry(province)
            .or_default()
            .push(Outline { code, path });
    }
    by_province
});

/// All 928 districts, province by province, for the national district map.
pub fn all_districts() -> Vec<&'static Outline> {
    BY_PROVINCE.values().flatten().collect()
}

/// The districts of one province, `None` for an unknown province.
pub fn districts_of(province: &str) -> Option<&'static [Outline]> {
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
}
