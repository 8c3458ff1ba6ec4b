//! Administrative areas, validated against the vendored DOPA reference list.

use std::{collections::HashMap, fmt, sync::LazyLock};

use serde::{Deserialize, Serialize};

use crate::{RejectKind, RejectReason};

const PROVINCES_CSV: &str = include_str!("../reference/provinces.csv");

/// One row of the vendored province reference (see `reference/ATTRIBUTION.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Province {
    pub code: String,
    pub name_th: String,
    pub name_en: String,
    /// Royal Institute geographic scheme: N, NE, C, E, W, S.
    pub region6: String,
    /// NSO/NESDC statistical scheme: BKK, C, N, NE, S.
    pub region4: String,
}

static PROVINCES: LazyLock<Vec<Province>> = LazyLock::new(|| {
    PROVINCES_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Province {
                code: f[0].to_owned(),
                name_th: f[1].to_owned(),
                name_en: f[2].to_owned(),
                region6: f[3].to_owned(),
                region4: f[4].to_owned(),
            }
        })
        .collect()
});

static BY_CODE: LazyLock<HashMap<&'static str, &'static Province>> =
    LazyLock::new(|| PROVINCES.iter().map(|p| (p.code.as_str(), p)).collect());

/// All 77 provinces in code order.
pub fn provinces() -> &'static [Province] {
    &PROVINCES
}

/// Region keys of the NSO/NESDC statistical scheme (`Province::region4`).
pub const REGIONS4: &[&str] = &["BKK", "C", "N", "NE", "S"];
/// Region keys of the Royal Institute geographic scheme (`Province::region6`).
pub const REGIONS6: &[&str] = &["C", "E", "N", "NE", "S", "W"];
/// Area code of the whole country in aggregates.
pub const NATION_CODE: &str = "TH";

/// Looks a province up by its two-digit DOPA code.
pub fn province(code: &str) -> Option<&'static Province> {
    BY_CODE.get(code).copied()
}

/// The region (four-region scheme) an area lies in: a province's, a
/// district's province's, or the region itself; [`NATION_CODE`] for the
/// nation and anything unknown, so alerts can always be grouped.
pub fn region4_of(level: &str, code: &str) -> &'static str {
    let of = |province_code: &str| province(province_code).map(|p| p.region4.as_str());
    match level {
        "province" => of(code),
        "district" => code.get(..2).and_then(of),
        "region4" => REGIONS4.iter().find(|r| **r == code).copied(),
        _ => None,
    }
    .unwrap_or(NATION_CODE)
}

/// A two-digit DOPA province code (`"50"` is Chiang Mai) known to the reference.
///
/// Kept as a string: codes are identifiers, not numbers, and have gaps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProvinceCode(String);

impl ProvinceCode {
    /// Validates `code` against the vendored reference list.
    pub fn parse(code: &str) -> Result<Self, RejectReason> {
        if province(code).is_some() {
            Ok(Self(code.to_owned()))
        } else {
            Err(RejectReason::new(
                RejectKind::UnknownProvince,
                format!(
                    "province code {} is not a DOPA province code",
                    crate::error::quote(code)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference row; always present because construction validated it.
    pub fn province(&self) -> &'static Province {
        province(&self.0).unwrap_or_else(|| unreachable!("validated at construction"))
    }
}

impl TryFrom<String> for ProvinceCode {
    type Error = RejectReason;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ProvinceCode> for String {
    fn from(c: ProvinceCode) -> Self {
        c.0
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_has_77_provinces_with_unique_codes() {
        assert_eq!(provinces().len(), 77);
        assert_eq!(BY_CODE.len(), 77);
        assert_eq!(
            province("50").map(|p| p.name_en.as_str()),
            Some("Chiang Mai")
        );
        assert_eq!(province("10").map(|p| p.region4.as_str()), Some("BKK"));
    }

    #[test]
    fn every_province_is_in_one_region_of_each_scheme() {
        for p in provinces() {
            assert!(REGIONS4.contains(&p.region4.as_str()), "{p:?}");
            assert!(REGIONS6.contains(&p.region6.as_str()), "{p:?}");
        }
    }

    #[test]
    fn codes_outside_the_reference_are_rejected() {
        assert!(ProvinceCode::parse("34").is_ok());
        for bad in ["28", "99", "5", "050", "", "TH50"] {
            let err = ProvinceCode::parse(bad).unwrap_err();
            assert_eq!(err.kind, "unknown_province", "{bad}");
        }
    }
}
