//! Districts (amphoe, and Bangkok's khet), validated against the vendored
//! reference derived from the Royal Thai Survey Department boundaries.
//!
//! A module of its own beside [`crate::area`] (one concern a module); the
//! 928-row table is parsed on first lookup, not at start-up.

use std::{collections::HashMap, fmt, sync::LazyLock};

use serde::{Deserialize, Serialize};

use crate::{RejectKind, RejectReason, area::ProvinceCode};

const DISTRICTS_CSV: &str = include_str!("../reference/districts.csv");

/// One row of the vendored district reference (see `reference/ATTRIBUTION.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct District {
    /// Four-digit DOPA code `PPDD`; the first two digits are the province.
    pub code: String,
    pub name_th: String,
    pub name_en: String,
    /// Two-digit DOPA code of the province the district belongs to.
    pub province_code: String,
}

static DISTRICTS: LazyLock<Vec<District>> = LazyLock::new(|| {
    DISTRICTS_CSV
        .lines()
        .skip(1)
        .filter_map(|line| {
            // The file is generated with no quoting and no commas in names
            // (checked by a test), so a plain split is exact.
            let mut f = line.split(',');
            Some(District {
                code: f.next()?.to_owned(),
                name_th: f.next()?.to_owned(),
                name_en: f.next()?.to_owned(),
                province_code: f.next()?.to_owned(),
            })
        })
        .collect()
});

static BY_CODE: LazyLock<HashMap<&'static str, &'static District>> =
    LazyLock::new(|| DISTRICTS.iter().map(|d| (d.code.as_str(), d)).collect());

/// All 928 districts in code order.
pub fn districts() -> &'static [District] {
    &DISTRICTS
}

/// Looks a district up by its four-digit DOPA code.
pub fn district(code: &str) -> Option<&'static District> {
    BY_CODE.get(code).copied()
}

/// A four-digit DOPA district code (`"5001"` is Mueang Chiang Mai) known to
/// the reference.
///
/// A string, like [`ProvinceCode`]: codes are identifiers with gaps, and a
/// leading zero would never survive as a number anyway.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DistrictCode(String);

impl DistrictCode {
    /// Validates `code` against the vendored reference list.
    pub fn parse(code: &str) -> Result<Self, RejectReason> {
        if district(code).is_some() {
            Ok(Self(code.to_owned()))
        } else {
            Err(RejectReason::new(
                RejectKind::UnknownDistrict,
                format!(
                    "district code {} is not a DOPA district code",
                    crate::error::quote(code)
                ),
            ))
        }
    }

    /// Validates `code` and that it lies in `province`: a message that names
    /// both must not contradict itself, or it would be counted twice over
    /// different parents in the roll-ups.
    pub fn parse_in(code: &str, province: &ProvinceCode) -> Result<Self, RejectReason> {
        let district = Self::parse(code)?;
        district.check_in(province)?;
        Ok(district)
    }

    /// Fails with `district_not_in_province` unless this district lies in `province`.
    pub fn check_in(&self, province: &ProvinceCode) -> Result<(), RejectReason> {
        if self.province_code() == province.as_str() {
            Ok(())
        } else {
            Err(RejectReason::new(
                RejectKind::DistrictNotInProvince,
                format!(
                    "district {} ({}) is in province {}, not {}",
                    self.0,
                    self.district().name_en,
                    self.province_code(),
                    province.as_str()
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Two-digit code of the district's province, from the reference row.
    pub fn province_code(&self) -> &'static str {
        &self.district().province_code
    }

    /// The reference row; always present because construction validated it.
    pub fn district(&self) -> &'static District {
        district(&self.0).unwrap_or_else(|| unreachable!("validated at construction"))
    }
}

impl TryFrom<String> for DistrictCode {
    type Error = RejectReason;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DistrictCode> for String {
    fn from(c: DistrictCode) -> Self {
        c.0
    }
}

impl fmt::Display for DistrictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::{province, provinces};

    #[test]
    fn reference_has_928_districts_that_agree_with_the_province_list() {
        assert_eq!(districts().len(), 928);
        assert_eq!(BY_CODE.len(), 928, "codes are unique");
        assert_eq!(
            DISTRICTS_CSV.lines().count(),
            929,
            "no row was dropped while parsing"
        );
        for d in districts() {
            assert_eq!(d.code.len(), 4, "{d:?}");
            assert!(d.code.starts_with(&d.province_code), "{d:?}");
            assert!(province(&d.province_code).is_some(), "{d:?}");
            assert!(!d.name_th.is_empty() && !d.name_en.is_empty(), "{d:?}");
        }
        // provinces.csv carries its own district count per province (from a
        // different source); the two must agree.
        let counts = include_str!("../reference/provinces.csv");
        for line in counts.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let n = districts()
                .iter()
                .filter(|d| d.province_code == f[0])
                .count();
            assert_eq!(n.to_string(), f[5], "district count of province {}", f[0]);
        }
        assert_eq!(provinces().len(), 77);
        assert_eq!(
            districts()
                .iter()
                .filter(|d| d.province_code == "10")
                .count(),
            50,
            "Bangkok has 50 khet"
        );
        assert_eq!(
            district("5001").map(|d| d.name_en.as_str()),
            Some("Mueang Chiang Mai")
        );
    }

    #[test]
    fn codes_outside_the_reference_are_rejected() {
        assert!(DistrictCode::parse("1001").is_ok());
        for bad in ["1051", "9999", "501", "05001", "", "TH5001", "50 01"] {
            let err = DistrictCode::parse(bad).unwrap_err();
            assert_eq!(err.kind, "unknown_district", "{bad}");
        }
    }

    #[test]
    fn a_district_must_lie_in_the_province_it_claims() {
        let cm = ProvinceCode::parse("50").unwrap();
        let bkk = ProvinceCode::parse("10").unwrap();
        assert!(DistrictCode::parse_in("5001", &cm).is_ok());
        let err = DistrictCode::parse_in("5001", &bkk).unwrap_err();
        assert_eq!(err.kind, "district_not_in_province");
        assert!(err.detail.contains("Mueang Chiang Mai"), "{}", err.detail);
    }
}
