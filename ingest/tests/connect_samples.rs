//! The connectors' mappers on the format samples in `tests/data/` (see its
//! README): exact values of chosen records, the reason of every bad one, and
//! ids that do not change between runs.

use std::{fs::File, path::PathBuf};

use pmoc_ingest::connect::{ConnectError, Format, Mapped, air4thai, thaiwater};
use pmoc_schemas::{
    committee::{
        Committee,
        resources::{AirQuality, FireHotspot, HotspotConfidence, LandUse, Satellite},
        water::WaterLevel,
    },
    envelope::{Envelope, GeoPoint, Payload},
    event::unix_ms,
};
use time::macros::datetime;

/// A fixed receiver clock, after every sample's time but before 2099.
fn now_ms() -> i64 {
    unix_ms(datetime!(2026-11-22 12:00 +07:00))
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read(format: Format, name: &str) -> Vec<Mapped> {
    let mut out = Vec::new();
    let file = File::open(data(name)).expect("sample file");
    format
        .read(file, now_ms(), &mut |m| {
            out.push(m);
            Ok(())
        })
        .expect("sample reads");
    out
}

fn ok(records: &[Mapped], n: u64) -> &Envelope {
    let m = &records[n as usize - 1];
    assert_eq!(m.record, n);
    m.outcome
        .as_ref()
        .unwrap_or_else(|e| panic!("record {n} rejected: {e}"))
}

/// `(record, reason kind)` of every rejected record.
fn rejects(records: &[Mapped]) -> Vec<(u64, String)> {
    records
        .iter()
        .filter_map(|m| {
            m.outcome
                .as_ref()
                .err()
                .map(|e| (m.record, e.kind.as_str().to_owned()))
        })
        .collect()
}

fn ids(records: &[Mapped]) -> Vec<String> {
    records
        .iter()
        .filter_map(|m| m.outcome.as_ref().ok())
        .map(|e| e.event_id.to_string())
        .collect()
}

fn assert_deterministic_and_unique(format: Format, name: &str) {
    let first = ids(&read(format, name));
    assert_eq!(first, ids(&read(format, name)), "ids change between runs");
    let mut unique = first.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), first.len(), "duplicate ids: {first:?}");
}

fn area(e: &Envelope) -> (&str, Option<&str>) {
    (
        e.area.province.as_str(),
        e.area.district.as_ref().map(|d| d.as_str()),
    )
}

const THAIWATER: &str = "thaiwater_waterlevel_load.json";
const THAILAND_MAIN: &str = "thaiwater_thailand_main.json";
const RAIN_24H: &str = "thaiwater_rain_24h.json";
const GISTDA_API: &str = "gistda_hotspot_api.geojson";
const FIRMS: &str = "firms_viirs_snpp_nrt.csv";
const AIR4THAI: &str = "air4thai_getNewAQI_JSON.json";
const GISTDA: &str = "gistda_hotspot_viirs.csv";

#[test]
fn thaiwater_maps_stations_to_water_levels() {
    let records = read(Format::ThaiWater, THAIWATER);
    assert_eq!(records.len(), 28);

    let e = ok(&records, 1);
    assert_eq!(e.event_id.as_str(), "hii-wl-CPY013-202609221000");
    assert_eq!(
        (e.schema.as_str(), e.schema_version, e.committee),
        ("hii.water_level", 1, Committee::Water)
    );
    assert_eq!(
        (e.source_agency.as_str(), e.source_system.as_str()),
        ("HII", "thaiwater")
    );
    assert_eq!(e.event_time, datetime!(2026-09-22 10:00 +07:00));
    assert_eq!(area(e), ("14", Some("1404")));
    assert_eq!(
        e.point,
        Some(GeoPoint {
            lat: 14.1922,
            lon: 100.5083
        })
    );
    assert_eq!(
        e.payload,
        Payload::WaterLevel(WaterLevel {
            station_id: "CPY013".to_owned(),
            level_m_msl: 3.98,
            bank_level_m_msl: 4.6,
            ground_level_m_msl: Some(-7.6),
            discharge_m3s: Some(1820.0),
            pct_bank_full: Some(94.92),
        })
    );

    // Numbers sent as JSON numbers rather than strings.
    let Payload::WaterLevel(p1) = &ok(&records, 4).payload else {
        panic!("not a water level")
    };
    assert_eq!((p1.level_m_msl, p1.pct_bank_full), (302.66, Some(42.25)));
    // No min_bank: the lower of the two banks; no discharge reported.
    let e = ok(&records, 8);
    let Payload::WaterLevel(hat_yai) = &e.payload else {
        panic!("not a water level")
    };
    assert_eq!(
        (hat_yai.bank_level_m_msl, hat_yai.discharge_m3s),
        (8.9, None)
    );
    assert_eq!(area(e), ("90", Some("9011")));
    // The second hour of the same station is a different event.
    assert_eq!(
        ok(&records, 11).event_id.as_str(),
        "hii-wl-CPY013-202609221100"
    );

    let want: Vec<(u64, String)> = [
        (21, "missing_value"),
        (22, "missing_value"),
        (23, "unknown_province"),
        (24, "point_outside_thailand"),
        (25, "missing_bank_level"),
        (26, "event_time_in_future"),
        (27, "district_not_in_province"),
        (28, "invalid_number"),
    ]
    .map(|(n, k)| (n, k.to_owned()))
    .to_vec();
    assert_eq!(rejects(&records), want);
    // A rejected record keeps its own bytes, not the document's.
    let raw: serde_json::Value = serde_json::from_slice(&records[20].raw).expect("raw is JSON");
    assert_eq!(raw["waterlevel_msl"], serde_json::Value::Null);
    assert_eq!(raw["station"]["tele_station_oldcode"], "CPY013");

    assert_deterministic_and_unique(Format::ThaiWater, THAIWATER);
}

#[test]
fn thaiwater_accepts_the_public_endpoint_shape_and_refuses_other_documents() {
    let doc = br#"{"data": [{"a": 1}, {"b": 2}]}"#;
    assert_eq!(thaiwater::records(doc).expect("data[]").len(), 2);
    assert!(thaiwater::records(br#"{"stations": []}"#).is_err());
    assert_eq!(
        thaiwater::map_record("[1]", now_ms()).unwrap_err().kind,
        "invalid_record"
    );
}

#[test]
fn air4thai_maps_stations_and_derives_the_province_from_the_address() {
    let records = read(Format::Air4Thai, AIR4THAI);
    assert_eq!(records.len(), 23);

    let e = ok(&records, 1);
    assert_eq!(e.event_id.as_str(), "pcd-aq-02t-202611201000");
    assert_eq!(
        (e.schema.as_str(), e.committee, e.source_agency.as_str()),
        ("pcd.air_quality", Committee::Resources, "PCD")
    );
    assert_eq!(e.event_time, datetime!(2026-11-20 10:00 +07:00));
    // "แขวงหิรัญรูจี เขตธนบุรี, กรุงเทพฯ": Bangkok, khet Thon Buri.
    assert_eq!(area(e), ("10", Some("1015")));
    assert_eq!(
        e.point,
        Some(GeoPoint {
            lat: 13.732846,
            lon: 100.487662
        })
    );
    assert_eq!(
        e.payload,
        Payload::AirQuality(AirQuality {
            station_id: "02t".to_owned(),
            pm25_ugm3: 38.5,
            aqi: Some(62),
        })
    );
    // "อ.เมือง, เชียงใหม่" is Mueang Chiang Mai.
    assert_eq!(area(ok(&records, 4)), ("50", Some("5001")));
    assert_eq!(area(ok(&records, 8)), ("63", Some("6306")));
    assert_eq!(area(ok(&records, 11)), ("20", Some("2001")));
    assert_eq!(area(ok(&records, 12)), ("90", Some("9011")));
    // "พระนครศรีอยุธยา" / "Ayutthaya".
    assert_eq!(area(ok(&records, 15)), ("14", Some("1401")));
    // AQI "-1": the station computed none; PM2.5 is still a reading.
    let e = ok(&records, 16);
    assert_eq!(area(e), ("57", Some("5709")));
    assert_eq!(
        e.payload,
        Payload::AirQuality(AirQuality {
            station_id: "75t".to_owned(),
            pm25_ugm3: 52.4,
            aqi: None,
        })
    );

    let want: Vec<(u64, String)> = [
        (19, "missing_value"),
        (20, "missing_value"),
        (21, "unknown_province"),
        (22, "point_outside_thailand"),
        (23, "missing_time"),
    ]
    .map(|(n, k)| (n, k.to_owned()))
    .to_vec();
    assert_eq!(rejects(&records), want);
    assert_deterministic_and_unique(Format::Air4Thai, AIR4THAI);
}

#[test]
fn air4thai_reads_a_single_station_document() {
    let all = std::fs::read(data(AIR4THAI)).expect("sample");
    let stations = air4thai::records(&all).expect("stations[]");
    let one = stations[3].get().as_bytes();
    let records = air4thai::records(one).expect("one station");
    assert_eq!(records.len(), 1);
    let e = air4thai::map_record(records[0].get(), now_ms()).expect("maps");
    assert_eq!(e.event_id.as_str(), "pcd-aq-35t-202611201000");
}

#[test]
fn gistda_maps_hotspots_with_their_points() {
    let records = read(Format::Gistda, GISTDA);
    assert_eq!(records.len(), 32);

    let e = ok(&records, 1);
    assert_eq!(
        e.event_id.as_str(),
        "gistda-hs-n-202603151318-18.52341-98.41276"
    );
    assert_eq!(
        (e.schema.as_str(), e.committee, e.source_agency.as_str()),
        ("gistda.hotspot", Committee::Resources, "GISTDA")
    );
    assert_eq!(e.event_time, datetime!(2026-03-15 13:18 +07:00));
    assert_eq!(area(e), ("50", Some("5003")));
    assert_eq!(
        e.point,
        Some(GeoPoint {
            lat: 18.52341,
            lon: 98.41276
        })
    );
    assert_eq!(
        e.payload,
        Payload::FireHotspot(FireHotspot {
            satellite: Satellite::Viirs,
            confidence: HotspotConfidence::Nominal,
            land_use: LandUse::Forest,
            frp_mw: Some(6.41),
        })
    );
    let hotspot = |n| match &ok(&records, n).payload {
        Payload::FireHotspot(h) => h.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(hotspot(2).confidence, HotspotConfidence::High);
    assert_eq!(hotspot(6).land_use, LandUse::Agriculture);
    assert_eq!(hotspot(9).land_use, LandUse::Agriculture); // เขต สปก.
    assert_eq!(hotspot(15).land_use, LandUse::Community);
    assert_eq!(hotspot(17).land_use, LandUse::Other); // roadside
    // Names without DOPA codes.
    assert_eq!(area(ok(&records, 16)), ("50", Some("5004")));
    assert_eq!(area(ok(&records, 17)), ("63", Some("6306")));
    // A night pass: 18:42 UTC on the 15th is 01:42 on the 16th in Thailand.
    let e = ok(&records, 18);
    assert_eq!(e.event_time, datetime!(2026-03-15 18:42 UTC));
    assert_eq!(
        e.event_id.as_str(),
        "gistda-hs-n-202603160142-17.41230-101.21790"
    );
    // Without th_date/th_time the FIRMS time is read as UTC.
    assert_eq!(ok(&records, 19).event_time, datetime!(2026-03-16 06:24 UTC));
    // MODIS percentages banded: 72 nominal, 91 high.
    assert_eq!(
        (hotspot(20).satellite, hotspot(20).confidence),
        (Satellite::Modis, HotspotConfidence::Nominal)
    );
    assert_eq!(hotspot(21).confidence, HotspotConfidence::High);

    let want: Vec<(u64, String)> = [
        (25, "missing_point"),
        (26, "point_outside_thailand"),
        (27, "unknown_province"),
        (28, "invalid_confidence"),
        (29, "negative_value"),
        (30, "unknown_province"),
        (31, "district_not_in_province"),
        (32, "unknown_satellite"),
    ]
    .map(|(n, k)| (n, k.to_owned()))
    .to_vec();
    assert_eq!(rejects(&records), want);

    // A rejected row is published as the line it was read from.
    let text = std::fs::read_to_string(data(GISTDA)).expect("sample");
    let lines: Vec<&str> = text.lines().collect();
    for m in &records {
        assert_eq!(
            std::str::from_utf8(&m.raw).expect("utf-8"),
            lines[m.record as usize],
            "row {}",
            m.record
        );
    }
    assert_deterministic_and_unique(Format::Gistda, GISTDA);
}

#[test]
fn gistda_refuses_a_file_without_coordinates() {
    let csv = "lat_x,lon_x,acq_date\n1,2,2026-03-15\n";
    let err = Format::Gistda
        .read(csv.as_bytes(), now_ms(), &mut |_| Ok(()))
        .unwrap_err();
    assert!(
        matches!(err, ConnectError::MissingColumn("latitude")),
        "{err}"
    );
    // A row with fewer fields than the header is rejected, not fatal.
    let csv = "latitude,longitude,acq_date,acq_time,satellite,confidence\n18.5,98.4\n";
    let mut kinds = Vec::new();
    Format::Gistda
        .read(csv.as_bytes(), now_ms(), &mut |m| {
            kinds.push(m.outcome.unwrap_err().kind);
            Ok(())
        })
        .expect("reads");
    assert_eq!(kinds, ["missing_time"]);
}

/// Serves `body` with `status` to one HTTP request on a loopback port; a
/// stand-in for an agency's download URL.
fn serve_once(status: &str, body: Vec<u8>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let status = status.to_owned();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut stream = reader.into_inner();
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    format!("http://{addr}/hotspot/viirs.csv")
}

#[test]
fn a_url_source_is_streamed_like_a_file() {
    use pmoc_ingest::connect::Source;
    let body = std::fs::read(data(GISTDA)).expect("sample");
    let source = Source::parse(&serve_once("200 OK", body));
    assert!(matches!(source, Source::Url(_)));
    let mut n = 0;
    Format::Gistda
        .read(source.open().expect("fetch"), now_ms(), &mut |_| {
            n += 1;
            Ok(())
        })
        .expect("reads");
    assert_eq!(n, 32);

    let missing = Source::parse(&serve_once("404 Not Found", Vec::new()));
    assert!(matches!(missing.open(), Err(ConnectError::Fetch { .. })));
}

fn rain(e: &Envelope) -> (f64, f64) {
    match &e.payload {
        Payload::Rainfall(r) => (r.rain_1h_mm, r.rain_24h_mm),
        other => panic!("not rain: {other:?}"),
    }
}

#[test]
fn thaiwater_reads_thailand_main_with_data_objects_and_rain() {
    let records = read(Format::ThaiWater, THAILAND_MAIN);
    // Three water levels, then four rain gauges; dams and radar are not read.
    assert_eq!(records.len(), 7);
    let e = ok(&records, 1);
    assert_eq!(e.event_id.as_str(), "hii-wl-P.1-202609221000");
    assert_eq!(area(e), ("50", Some("5001")));
    let e = ok(&records, 4);
    assert_eq!(
        (e.schema.as_str(), e.event_id.as_str()),
        ("hii.rainfall", "hii-rf-CMI007-202609221000")
    );
    assert_eq!(area(e), ("50", Some("5007")));
    assert_eq!(rain(e), (4.2, 38.6));
    assert_eq!(
        e.point,
        Some(GeoPoint {
            lat: 18.9136,
            lon: 98.9425
        })
    );
    // Numbers as strings, and a station reporting no rain at all.
    assert_eq!(rain(ok(&records, 5)), (12.5, 96.0));
    assert_eq!(rain(ok(&records, 6)), (0.0, 0.0));
    assert_eq!(
        ok(&records, 6).event_time,
        datetime!(2026-09-22 09:50 +07:00)
    );
    let want: Vec<(u64, String)> = [(3, "missing_value"), (7, "missing_value")]
        .map(|(n, k)| (n, k.to_owned()))
        .to_vec();
    assert_eq!(rejects(&records), want);
    assert_deterministic_and_unique(Format::ThaiWater, THAILAND_MAIN);
}

#[test]
fn thaiwater_rain_feed_with_elements_keyed_by_station() {
    let records = read(Format::ThaiWater, RAIN_24H);
    assert_eq!(records.len(), 3);
    let mut ids: Vec<&str> = records
        .iter()
        .filter_map(|m| m.outcome.as_ref().ok())
        .map(|e| e.event_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["hii-rf-CRI001-202609221000", "hii-rf-NST014-202609221000"]
    );
    let heavy = records
        .iter()
        .filter_map(|m| m.outcome.as_ref().ok())
        .find(|e| e.area.province.as_str() == "80")
        .expect("Nakhon Si Thammarat");
    assert_eq!(rain(heavy), (20.4, 142.8));
    // A Buddhist-era date is read; a "-" for the 24 h total is no reading.
    assert_eq!(
        rejects(&records)
            .into_iter()
            .map(|(_, k)| k)
            .collect::<Vec<_>>(),
        ["missing_value"]
    );
}

#[test]
fn gistda_api_features_map_like_csv_rows() {
    let records = read(Format::GistdaApi, GISTDA_API);
    assert_eq!(records.len(), 4);
    let e = ok(&records, 1);
    assert_eq!(
        (e.source_agency.as_str(), e.source_system.as_str()),
        ("GISTDA", "hotspot-api")
    );
    assert_eq!(area(e), ("50", Some("5003")));
    assert_eq!(e.event_time, datetime!(2026-03-15 13:18 +07:00));
    // Names instead of codes, the point only in the geometry, and an HHMM
    // integer without its leading zero (UTC).
    let e = ok(&records, 2);
    assert_eq!(area(e).0, "52");
    assert_eq!(
        e.point,
        Some(GeoPoint {
            lat: 18.7098,
            lon: 99.6121
        })
    );
    assert_eq!(e.event_time, datetime!(2026-03-15 06:18 UTC));
    // No area at all: located by its point; 00:45 UTC.
    let e = ok(&records, 3);
    assert_eq!(e.event_time, datetime!(2026-03-16 00:45 UTC));
    let district = e.area.district.as_ref().expect("located");
    assert_eq!(district.province_code(), e.area.province.as_str());
    // Vientiane: in Thailand's bounding box, in no district.
    assert_eq!(
        rejects(&records),
        [(4, "point_outside_thailand".to_owned())]
    );
}

#[test]
fn firms_csv_without_areas_is_located_by_point() {
    let records = read(Format::Gistda, FIRMS);
    assert_eq!(records.len(), 6);
    let located: Vec<(&str, Option<&str>, &str)> = records
        .iter()
        .filter_map(|m| m.outcome.as_ref().ok())
        .map(|e| {
            let (p, d) = area(e);
            (p, d, e.source_system.as_str())
        })
        .collect();
    assert_eq!(
        located,
        [
            ("50", Some("5003"), "firms"),
            ("50", Some("5004"), "firms"),
            ("10", Some("1001"), "firms"),
            ("48", Some("4801"), "firms"),
        ]
    );
    // FIRMS times are UTC, HHMM without leading zeros: 618 is 06:18, 5 is 00:05.
    assert_eq!(ok(&records, 1).event_time, datetime!(2026-03-15 06:18 UTC));
    assert_eq!(ok(&records, 4).event_time, datetime!(2026-03-15 00:05 UTC));
    // The Gulf of Thailand and Vientiane are in no district.
    assert_eq!(
        rejects(&records),
        [
            (5, "point_outside_thailand".to_owned()),
            (6, "point_outside_thailand".to_owned())
        ]
    );
    assert_deterministic_and_unique(Format::Gistda, FIRMS);
}
