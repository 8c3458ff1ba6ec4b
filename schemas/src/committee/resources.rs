//! Natural resources & government structure committee: air quality (PCD),
//! fire hotspots (GISTDA), budget disbursement and procurement (CGD).
//!
//! Money is `f64` baht: the dashboard only sums and takes ratios, and every
//! amount up to the whole national budget is exact to the satang in an f64;
//! the books of record stay in GFMIS.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::Date;

use super::{MAX_ID_LEN, check_id, check_int_range, check_range};
use crate::{RejectKind, RejectReason};

/// Largest amount accepted, baht: about three national budgets. Bigger means
/// satang were sent as baht.
pub const MAX_THB: f64 = 1e13;
/// PM2.5 bound, µg/m³; the worst Thai hourly readings are a few hundred.
pub const MAX_PM25_UGM3: f64 = 1000.0;

/// Hourly reading of one PCD air-quality station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AirQuality {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub station_id: String,
    /// Hourly PM2.5 concentration, µg/m³.
    #[schemars(range(min = 0.0, max = MAX_PM25_UGM3))]
    pub pm25_ugm3: f64,
    /// Thai AQI, when the station computes it (bands 0-25, 26-50, 51-100,
    /// 101-200, above 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aqi: Option<u16>,
}

impl AirQuality {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("station_id", &self.station_id)?;
        check_range("pm25_ugm3", self.pm25_ugm3, 0.0..=MAX_PM25_UGM3, "µg/m³")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satellite {
    /// Suomi NPP / NOAA-20 VIIRS, 375 m; GISTDA's primary product.
    Viirs,
    /// Terra / Aqua MODIS, 1 km.
    Modis,
}

/// Detection confidence as the fire product reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HotspotConfidence {
    Low,
    Nominal,
    High,
}

/// GISTDA's land-use overlay of the hotspot's pixel, which decides which
/// agency responds (forest department, agriculture, local government).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LandUse {
    Forest,
    Agriculture,
    Community,
    Other,
}

/// One satellite fire detection; its location is the envelope's `point`,
/// which this schema requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FireHotspot {
    pub satellite: Satellite,
    pub confidence: HotspotConfidence,
    pub land_use: LandUse,
    /// Fire radiative power, MW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100_000.0))]
    pub frp_mw: Option<f64>,
}

impl FireHotspot {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        self.frp_mw.map_or(Ok(()), |frp| {
            check_range("frp_mw", frp, 0.0..=100_000.0, "MW")
        })
    }
}

/// Fiscal years accepted, Buddhist era. A value near 2026 is the Common Era
/// year sent by mistake, which this range catches.
pub const FISCAL_YEAR_BE_RANGE: std::ops::RangeInclusive<u16> = 2540..=2700;
/// How far disbursement may exceed the allotted budget: in-year transfers
/// between programmes legitimately push a line a little over.
pub const MAX_DISBURSED_RATIO: f64 = 1.05;

/// Cumulative disbursement of one ministry's budget for one fiscal year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BudgetDisbursement {
    /// Fiscal year named by its Buddhist-era end year (FY2569 = Oct 2025 to
    /// Sep 2026).
    #[schemars(range(min = 2540, max = 2700))]
    pub fiscal_year_be: u16,
    /// Ministry code or name as CGD's GFMIS reports it.
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub ministry: String,
    /// Budget allotted for the year, baht.
    #[schemars(range(min = 0.0, max = MAX_THB))]
    pub budget_thb: f64,
    /// Disbursed so far this fiscal year, baht; at most 105 % of the budget.
    #[schemars(range(min = 0.0, max = MAX_THB))]
    pub disbursed_thb: f64,
}

impl BudgetDisbursement {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_int_range("fiscal_year_be", self.fiscal_year_be, FISCAL_YEAR_BE_RANGE)?;
        check_id("ministry", &self.ministry)?;
        check_range("budget_thb", self.budget_thb, 0.0..=MAX_THB, "THB")?;
        check_range("disbursed_thb", self.disbursed_thb, 0.0..=MAX_THB, "THB")?;
        if self.disbursed_thb > self.budget_thb * MAX_DISBURSED_RATIO {
            return Err(RejectReason::new(
                RejectKind::DisbursedExceedsBudget,
                format!(
                    "disbursed_thb {} is more than 105% of budget_thb {}",
                    self.disbursed_thb, self.budget_thb
                ),
            ));
        }
        Ok(())
    }
}

/// Procurement methods of the Public Procurement Act B.E. 2560, section 55.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProcurementMethod {
    /// Open invitation through the e-GP electronic market.
    EMarket,
    /// Open invitation by electronic bidding.
    EBidding,
    /// Selection among invited bidders (คัดเลือก).
    Selection,
    /// Specific method, direct award (เฉพาะเจาะจง).
    Specific,
}

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// Years accepted for a signing date, Common Era; a Buddhist-era year (2569)
/// here is the usual mistake.
pub const SIGNED_YEAR_RANGE: std::ops::RangeInclusive<i32> = 2000..=2100;

/// One signed procurement contract, as published on e-GP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProcurementContract {
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub contract_id: String,
    #[schemars(length(min = 1, max = MAX_ID_LEN))]
    pub ministry: String,
    pub method: ProcurementMethod,
    /// Contract value, baht; strictly positive.
    #[schemars(range(min = 0.01, max = MAX_THB))]
    pub value_thb: f64,
    /// Signing date, `YYYY-MM-DD`, Common Era.
    #[serde(with = "iso_date")]
    #[schemars(schema_with = "crate::json_schema::date")]
    pub signed_date: Date,
}

impl ProcurementContract {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), RejectReason> {
        check_id("contract_id", &self.contract_id)?;
        check_id("ministry", &self.ministry)?;
        check_range("value_thb", self.value_thb, 0.0..=MAX_THB, "THB")?;
        if self.value_thb == 0.0 {
            return Err(RejectReason::new(
                RejectKind::OutOfRange,
                "value_thb must be greater than zero",
            ));
        }
        check_int_range(
            "signed_date year",
            self.signed_date.year(),
            SIGNED_YEAR_RANGE,
        )
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn budget_rules() {
        let mut b = BudgetDisbursement {
            fiscal_year_be: 2569,
            ministry: "Ministry of Interior".to_owned(),
            budget_thb: 1e9,
            disbursed_thb: 1.04e9,
        };
        assert_eq!(b.validate(), Ok(()));
        b.disbursed_thb = 1.06e9;
        assert_eq!(b.validate().unwrap_err().kind, "disbursed_exceeds_budget");
        b.fiscal_year_be = 2026;
        assert_eq!(b.validate().unwrap_err().kind, "out_of_range");
    }

    #[test]
    fn contracts_are_positive_and_dated_in_the_common_era() {
        let mut c = ProcurementContract {
            contract_id: "670114000123".to_owned(),
            ministry: "Ministry of Transport".to_owned(),
            method: ProcurementMethod::EBidding,
            value_thb: 12_500_000.0,
            signed_date: date!(2026 - 01 - 15),
        };
        assert_eq!(c.validate(), Ok(()));
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""signed_date":"2026-01-15""#), "{json}");
        assert!(json.contains(r#""method":"e_bidding""#), "{json}");
        c.value_thb = 0.0;
        assert_eq!(c.validate().unwrap_err().kind, "out_of_range");
        c.value_thb = 1.0;
        c.signed_date = date!(2569 - 01 - 15);
        assert_eq!(c.validate().unwrap_err().kind, "out_of_range");
    }
}
