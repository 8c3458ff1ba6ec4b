//! The words of each metric: its label, the short form a wall tile uses at
//! 1080p, and its unit.

use super::{Label, Text, t};
use crate::metric::MetricId;

/// A metric's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricText {
    pub label: Label,
    pub unit: Text,
}

const fn m(full: Text, short: Text, unit: Text) -> MetricText {
    MetricText {
        label: Label::new(full, short),
        unit,
    }
}

const PEOPLE: Text = t("คน", "people");
const PERCENT: Text = t("%", "%");
const STATIONS: Text = t("สถานี", "stations");
const MCM: Text = t("ล้าน ลบ.ม.", "million m³");

/// A metric's label, short form and unit. A `match`, so a new metric does
/// not compile until it has its words.
pub fn metric(id: MetricId) -> MetricText {
    use MetricId as M;
    match id {
        M::Births => m(t("การเกิด", "Births"), t("เกิด", "Births"), PEOPLE),
        M::Deaths => m(t("การตาย", "Deaths"), t("ตาย", "Deaths"), PEOPLE),
        M::MoveIn => m(t("ย้ายเข้า", "Moved in"), t("ย้ายเข้า", "Moved in"), PEOPLE),
        M::MoveOut => m(t("ย้ายออก", "Moved out"), t("ย้ายออก", "Moved out"), PEOPLE),
        M::IdCardsIssued => m(
            t("ออกบัตรประชาชน", "ID cards issued"),
            t("บัตรประชาชน", "ID cards"),
            t("ใบ", "cards"),
        ),
        M::ServiceWaitMinutes => m(
            t("เวลารอรับบริการ", "Service wait"),
            t("เวลารอ", "Wait"),
            t("นาที", "min"),
        ),
        M::ServiceNotCompleted => m(
            t("บริการไม่สำเร็จ", "Services not completed"),
            t("ไม่สำเร็จ", "Not completed"),
            t("รายการ", "transactions"),
        ),
        M::IncidentSeverity => m(
            t("เหตุการณ์ความมั่นคง", "Security incidents"),
            t("เหตุการณ์", "Incidents"),
            t("ครั้ง", "incidents"),
        ),
        M::IncidentsOpen => m(
            t("เหตุการณ์ที่ยังไม่ยุติ", "Open incidents"),
            t("ยังไม่ยุติ", "Open"),
            t("ครั้ง", "incidents"),
        ),
        M::IncidentsNew => m(
            t("เหตุการณ์ใหม่", "New incidents"),
            t("เหตุการณ์ใหม่", "New"),
            t("ครั้ง", "incidents"),
        ),
        M::IncidentsSevereOpen => m(
            t("เหตุการณ์รุนแรง (4-5) ที่ยังไม่ยุติ", "Open severe incidents (4-5)"),
            t("รุนแรง ยังไม่ยุติ", "Severe, open"),
            t("ครั้ง", "incidents"),
        ),
        M::WaterAboveWarning => m(
            t("สถานีน้ำเกินระดับเตือนภัย", "Stations above warning"),
            t("เกินระดับเตือน", "Above warning"),
            STATIONS,
        ),
        M::WaterAboveBank => m(
            t("สถานีน้ำล้นตลิ่ง", "Stations over the bank"),
            t("ล้นตลิ่ง", "Over the bank"),
            STATIONS,
        ),
        // A count of reporting stations: a mean of levels in m MSL across
        // stations at different elevations would mean nothing.
        M::WaterLevel => m(
            t("สถานีวัดระดับน้ำ", "Water-level stations"),
            t("สถานีรายงาน", "Stations"),
            STATIONS,
        ),
        M::WaterFreeboard => m(
            t("ระยะห่างจากตลิ่ง", "Freeboard"),
            t("ห่างตลิ่ง", "Freeboard"),
            t("ม.", "m"),
        ),
        M::WaterPctBankFull => m(
            t("ระดับน้ำเทียบตลิ่ง", "Water, % of bank-full"),
            t("น้ำเทียบตลิ่ง", "% bank-full"),
            PERCENT,
        ),
        M::Rain1h => m(
            t("ฝน 1 ชม.", "Rain, 1 h"),
            t("ฝน 1 ชม.", "Rain 1 h"),
            t("มม.", "mm"),
        ),
        M::Rain24h => m(
            t("ฝนสะสม 24 ชม.", "Rain, 24 h"),
            t("ฝน 24 ชม.", "Rain 24 h"),
            t("มม.", "mm"),
        ),
        M::DamStoragePct => m(
            t("ปริมาณน้ำในเขื่อน", "Dam storage"),
            t("น้ำในเขื่อน", "Dam storage"),
            PERCENT,
        ),
        M::DamInflow => m(
            t("น้ำไหลเข้าเขื่อน", "Dam inflow"),
            t("น้ำไหลเข้า", "Inflow"),
            MCM,
        ),
        M::DamRelease => m(t("การระบายน้ำ", "Dam release"), t("ระบายน้ำ", "Release"), MCM),
        M::Temperature => m(
            t("อุณหภูมิ", "Temperature"),
            t("อุณหภูมิ", "Temp."),
            t("°ซ.", "°C"),
        ),
        M::Pm25 => m(
            t("ฝุ่น PM2.5", "PM2.5"),
            t("PM2.5", "PM2.5"),
            t("มคก./ลบ.ม.", "µg/m³"),
        ),
        M::Aqi => m(
            t("ดัชนีคุณภาพอากาศ", "Air quality index"),
            t("AQI", "AQI"),
            t("AQI", "AQI"),
        ),
        M::Hotspots => m(
            t("จุดความร้อน", "Fire hotspots"),
            t("จุดความร้อน", "Hotspots"),
            t("จุด", "hotspots"),
        ),
        M::BudgetDisbursedPct => m(
            t("การเบิกจ่ายงบประมาณ", "Budget disbursed"),
            t("เบิกจ่ายงบ", "Budget spent"),
            PERCENT,
        ),
        M::ProcurementValue => m(
            t("มูลค่าสัญญาจัดซื้อจัดจ้าง", "Procurement contracts"),
            t("จัดซื้อจัดจ้าง", "Procurement"),
            t("บาท", "THB"),
        ),
    }
}
