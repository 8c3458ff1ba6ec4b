//! The corpus of rejected input: each row is a realistic mistake (or attack)
//! with the exact reject kind it must produce. Kinds label metrics and the
//! rejects table, so a change of kind is a change of contract.

use serde_json::{Value, json};

use crate::samples::{MAX, NOW, decode, message};

/// The sample of `schema` with `edit` applied, serialized.
fn edited(schema: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = message(schema);
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// The sample of `schema` serialized, with `from` replaced by `to` in the text,
/// for mistakes serde_json cannot produce (bad tokens, duplicates).
fn replaced(schema: &str, from: &str, to: &str) -> Vec<u8> {
    let text = serde_json::to_string(&message(schema)).unwrap();
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

/// The rainfall sample with its station id in TIS-620, the legacy Thai
/// encoding some agency systems still emit.
fn tis620() -> Vec<u8> {
    let text = serde_json::to_string(&message("hii.rainfall")).unwrap();
    let (head, tail) = text.split_at(text.find("CPY011").unwrap());
    [head.as_bytes(), b"\xa1\xd2", &tail.as_bytes()[6..]].concat()
}

fn rain(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    edited("hii.rainfall", edit)
}

#[rustfmt::skip] // one row a line reads best as a table
fn corpus() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let valid = serde_json::to_vec(&message("hii.rainfall")).unwrap();
    let text = String::from_utf8(valid.clone()).unwrap();
    let mut deep = "[".repeat(200);
    deep.push_str(&"]".repeat(200));
    vec![
        // Transport and syntax.
        ("empty message", b"".to_vec(), "malformed_json"),
        ("whitespace only", b"  \n ".to_vec(), "malformed_json"),
        ("truncated", valid[..valid.len() / 2].to_vec(), "malformed_json"),
        ("trailing garbage", [valid.as_slice(), b" x"].concat(), "malformed_json"),
        ("two objects", [valid.as_slice(), valid.as_slice()].concat(), "malformed_json"),
        ("NaN token", replaced("hii.rainfall", "12.5", "NaN"), "malformed_json"),
        ("Infinity token", replaced("hii.rainfall", "12.5", "Infinity"), "malformed_json"),
        ("single quotes", text.replace('"', "'").into_bytes(), "malformed_json"),
        ("utf-8 byte order mark", [b"\xEF\xBB\xBF".as_slice(), &valid].concat(), "malformed_json"),
        ("1e400 in an unknown field", replaced("hii.rainfall", "{", "{\"x\":1e400,"), "number_out_of_range"),
        ("-1e400 in the point", replaced("hii.rainfall", "18.79", "-1e400"), "number_out_of_range"),
        ("nesting beyond 128 levels", replaced("hii.rainfall", "\"thaiwater\"", &deep), "too_deeply_nested"),
        ("invalid utf-8", [valid.as_slice(), b"\xff\xfe"].concat(), "invalid_utf8"),
        ("thai text in tis-620", tis620(), "invalid_utf8"),
        ("oversized", rain(|v| v["padding"] = "x".repeat(MAX).into()), "oversized"),
        ("top-level array", b"[1,2,3]".to_vec(), "not_an_object"),
        ("top-level string", b"\"hii.rainfall\"".to_vec(), "not_an_object"),
        ("top-level null", b"null".to_vec(), "not_an_object"),
        ("duplicate header key", replaced("hii.rainfall", "{", "{\"schema\":\"nsc.incident\","), "duplicate_field"),
        ("duplicate payload key", replaced("hii.rainfall", "\"rain_1h_mm\"", "\"rain_1h_mm\":1,\"rain_1h_mm\""), "duplicate_field"),
        ("duplicate province lands nowhere", replaced("hii.rainfall", "\"province\":\"50\"", "\"province\":\"50\",\"province\":\"10\""), "duplicate_field"),
        ("duplicate point coordinate", replaced("hii.rainfall", "\"lat\":18.79", "\"lat\":18.79,\"lat\":13.75"), "duplicate_field"),
        ("duplicate unknown header key", replaced("hii.rainfall", "{", "{\"trace\":1,\"trace\":2,"), "duplicate_field"),
        ("duplicate key inside an unknown field", replaced("hii.rainfall", "{", "{\"ext\":{\"a\":[{\"b\":1,\"b\":2}]},"), "duplicate_field"),
        ("duplicate unknown payload key", replaced("hii.rainfall", "\"rain_1h_mm\"", "\"sensor\":\"a\",\"sensor\":\"b\",\"rain_1h_mm\""), "duplicate_field"),
        ("duplicate key spelt with an escape", replaced("hii.rainfall", "\"rain_1h_mm\"", "\"rain_1h_mm\":1,\"rain_1h_\\u006dm\""), "duplicate_field"),
        ("duplicate payload", replaced("hii.rainfall", "{", "{\"payload\":{},"), "duplicate_field"),
        // Identity and schema.
        ("missing event id", rain(|v| { v.as_object_mut().unwrap().remove("event_id"); }), "missing_event_id"),
        ("null event id", rain(|v| v["event_id"] = Value::Null), "missing_event_id"),
        ("empty event id", rain(|v| v["event_id"] = "".into()), "missing_event_id"),
        ("blank event id", rain(|v| v["event_id"] = "   ".into()), "missing_event_id"),
        ("numeric event id", rain(|v| v["event_id"] = 42.into()), "invalid_event_id"),
        ("event id of 129 chars", rain(|v| v["event_id"] = "e".repeat(129).into()), "invalid_event_id"),
        ("event id with newline", rain(|v| v["event_id"] = "e1\nINFO forged log".into()), "invalid_event_id"),
        ("event id with zero-width space", rain(|v| v["event_id"] = "hii-rf-CPY011\u{200B}-1".into()), "invalid_event_id"),
        ("event id with bidi override", rain(|v| v["event_id"] = "hii-rf-\u{202E}110YPC".into()), "invalid_event_id"),
        ("event id with bidi isolate", rain(|v| v["event_id"] = "\u{2067}hii-rf-1\u{2069}".into()), "invalid_event_id"),
        ("station id with zero-width joiner", rain(|v| v["payload"]["station_id"] = "CPY\u{200D}011".into()), "invalid_identifier"),
        ("source agency with byte order mark", rain(|v| v["source_agency"] = "\u{FEFF}HII".into()), "invalid_identifier"),
        ("missing schema", rain(|v| { v.as_object_mut().unwrap().remove("schema"); }), "missing_schema"),
        ("schema not a string", rain(|v| v["schema"] = json!(["hii.rainfall"])), "wrong_type"),
        ("unknown schema", rain(|v| v["schema"] = "hii.snowfall".into()), "unknown_schema"),
        ("version in schema name", rain(|v| v["schema"] = "hii.rainfall.v1".into()), "unknown_schema"),
        ("unknown schema version", rain(|v| v["schema_version"] = 2.into()), "unknown_schema_version"),
        ("negative schema version", rain(|v| v["schema_version"] = (-1).into()), "unknown_schema_version"),
        ("fractional schema version", rain(|v| v["schema_version"] = 1.5.into()), "unknown_schema_version"),
        ("schema version as string", rain(|v| v["schema_version"] = "1".into()), "wrong_type"),
        ("missing schema version", rain(|v| { v.as_object_mut().unwrap().remove("schema_version"); }), "missing_field"),
        ("committee not matching schema", rain(|v| v["committee"] = "security".into()), "committee_mismatch"),
        ("unknown committee", rain(|v| v["committee"] = "finance".into()), "unknown_committee"),
        ("committee in capitals", rain(|v| v["committee"] = "WATER".into()), "unknown_committee"),
        ("missing committee", rain(|v| { v.as_object_mut().unwrap().remove("committee"); }), "missing_field"),
        ("empty source agency", rain(|v| v["source_agency"] = "".into()), "empty_field"),
        ("missing source system", rain(|v| { v.as_object_mut().unwrap().remove("source_system"); }), "missing_field"),
        ("source system with control char", rain(|v| v["source_system"] = "thai\u{7}water".into()), "invalid_identifier"),
        ("null source agency", rain(|v| v["source_agency"] = Value::Null), "missing_field"),
        // The source registry.
        ("unknown agency", rain(|v| v["source_agency"] = "ACME".into()), "unknown_source"),
        ("agency in lower case", rain(|v| v["source_agency"] = "hii".into()), "unknown_source"),
        ("unknown system of a known agency", rain(|v| v["source_system"] = "spreadsheet".into()), "unknown_source"),
        ("another committee's schema", edited("nsc.incident", |v| { v["source_agency"] = "HII".into(); v["source_system"] = "thaiwater".into(); }), "schema_not_allowed_for_source"),
        ("another agency's schema", rain(|v| { v["source_agency"] = "NSC".into(); v["source_system"] = "nsc-ioc".into(); }), "schema_not_allowed_for_source"),
        // Time.
        ("event time without offset", rain(|v| v["event_time"] = "2026-09-22T10:00:05".into()), "invalid_event_time"),
        ("event time as epoch number", rain(|v| v["event_time"] = 1_790_046_005.into()), "wrong_type"),
        ("null event time", rain(|v| v["event_time"] = Value::Null), "missing_field"),
        ("event time as date only", rain(|v| v["event_time"] = "2026-09-22".into()), "invalid_event_time"),
        ("event time 30 February", rain(|v| v["event_time"] = "2026-02-30T10:00:00+07:00".into()), "invalid_event_time"),
        ("event time before 2000", rain(|v| v["event_time"] = "1999-12-31T23:59:59+07:00".into()), "event_time_too_old"),
        ("event time at the epoch", rain(|v| v["event_time"] = "1970-01-01T00:00:00Z".into()), "event_time_too_old"),
        ("event time next year", rain(|v| v["event_time"] = "2027-09-22T10:00:00+07:00".into()), "event_time_in_future"),
        ("event time in buddhist era", rain(|v| v["event_time"] = "2569-09-22T10:00:00+07:00".into()), "event_time_in_future"),
        ("event time 10 minutes ahead", rain(|v| v["event_time"] = "2026-09-22T10:20:00+07:00".into()), "event_time_in_future"),
        // Area and point.
        ("missing area", rain(|v| { v.as_object_mut().unwrap().remove("area"); }), "missing_field"),
        ("area as a string", rain(|v| v["area"] = "50".into()), "wrong_type"),
        ("missing province", rain(|v| v["area"] = json!({"district": "5001"})), "missing_field"),
        ("unknown province", rain(|v| v["area"]["province"] = "99".into()), "unknown_province"),
        ("province in the numbering gap", rain(|v| v["area"]["province"] = "28".into()), "unknown_province"),
        ("province with TH prefix", rain(|v| v["area"]["province"] = "TH50".into()), "unknown_province"),
        ("province as number", rain(|v| v["area"]["province"] = 50.into()), "wrong_type"),
        ("unknown district", rain(|v| v["area"]["district"] = "5099".into()), "unknown_district"),
        ("district as number", rain(|v| v["area"]["district"] = 5001.into()), "wrong_type"),
        ("district not in province", rain(|v| v["area"]["district"] = "1001".into()), "district_not_in_province"),
        ("point with swapped lat/lon", rain(|v| v["point"] = json!({"lat": 98.98, "lon": 18.79})), "point_outside_thailand"),
        ("point at null island", rain(|v| v["point"] = json!({"lat": 0, "lon": 0})), "point_outside_thailand"),
        ("point in Laos' north", rain(|v| v["point"] = json!({"lat": 21.0, "lon": 101.0})), "point_outside_thailand"),
        ("point latitude as string", rain(|v| v["point"]["lat"] = "18.79".into()), "wrong_type"),
        ("point without longitude", rain(|v| v["point"] = json!({"lat": 18.79})), "missing_field"),
        ("hotspot without point", edited("gistda.hotspot", |v| v["point"] = Value::Null), "missing_point"),
        // Payload shape.
        ("missing payload", rain(|v| { v.as_object_mut().unwrap().remove("payload"); }), "missing_field"),
        ("payload as array", rain(|v| v["payload"] = json!(["CPY011", 12.5, 80.0])), "wrong_type"),
        ("payload as string", rain(|v| v["payload"] = "{}".into()), "wrong_type"),
        ("payload field missing", rain(|v| { v["payload"].as_object_mut().unwrap().remove("rain_24h_mm"); }), "missing_field"),
        ("payload number as word", rain(|v| v["payload"]["rain_1h_mm"] = "high".into()), "wrong_type"),
        ("NaN as a string", rain(|v| v["payload"]["rain_1h_mm"] = "NaN".into()), "wrong_type"),
        ("null for a required number", rain(|v| v["payload"]["rain_1h_mm"] = Value::Null), "wrong_type"),
        ("null for a required enum", edited("nsc.incident", |v| v["payload"]["category"] = Value::Null), "wrong_type"),
        ("object for a number", rain(|v| v["payload"]["rain_1h_mm"] = json!({"value": 12.5})), "wrong_type"),
        ("1e400 in the payload", replaced("hii.rainfall", "12.5", "1e400"), "number_out_of_range"),
        ("number as string", rain(|v| v["payload"]["rain_24h_mm"] = "80.0".into()), "wrong_type"),
        ("empty station id", rain(|v| v["payload"]["station_id"] = "".into()), "empty_field"),
        // Payload values, per committee.
        ("negative rainfall", rain(|v| v["payload"]["rain_1h_mm"] = (-0.1).into()), "negative_value"),
        ("rainfall in micrometres", rain(|v| v["payload"]["rain_24h_mm"] = 80_000.into()), "out_of_range"),
        ("huge finite rainfall", rain(|v| v["payload"]["rain_24h_mm"] = 1e308.into()), "out_of_range"),
        ("water level in cm", edited("hii.water_level", |v| v["payload"]["level_m_msl"] = 30_025.into()), "out_of_range"),
        ("negative discharge", edited("hii.water_level", |v| v["payload"]["discharge_m3s"] = (-3).into()), "negative_value"),
        ("dam over 150 % capacity", edited("rid.dam_storage", |v| v["payload"]["pct_capacity"] = 151.into()), "out_of_range"),
        ("negative dam release", edited("rid.dam_storage", |v| v["payload"]["release_mcm"] = (-1).into()), "negative_value"),
        ("humidity over 100 %", edited("tmd.weather", |v| v["payload"]["humidity_pct"] = 101.into()), "out_of_range"),
        ("temperature in fahrenheit", edited("tmd.weather", |v| v["payload"]["temperature_c"] = 95.into()), "out_of_range"),
        ("pressure in kPa", edited("tmd.weather", |v| v["payload"]["pressure_hpa"] = 100.8.into()), "out_of_range"),
        ("negative count", edited("dopa.civil_registration", |v| v["payload"]["births"] = (-1).into()), "negative_value"),
        ("fractional count", edited("dopa.civil_registration", |v| v["payload"]["deaths"] = 1.5.into()), "wrong_type"),
        ("count beyond u32", edited("dopa.civil_registration", |v| v["payload"]["move_in"] = 4_294_967_296_u64.into()), "out_of_range"),
        ("implausible hourly count", edited("dopa.civil_registration", |v| v["payload"]["move_out"] = 1_000_000.into()), "out_of_range"),
        ("hour window off the hour", edited("dopa.civil_registration", |v| v["payload"]["hour_start"] = "2026-09-22T09:30:00+07:00".into()), "invalid_hour_window"),
        ("hour start not a time", edited("dopa.civil_registration", |v| v["payload"]["hour_start"] = "9am".into()), "invalid_field"),
        ("unknown service channel", edited("dopa.public_service", |v| v["payload"]["channel"] = "fax".into()), "invalid_enum_value"),
        ("negative wait", edited("dopa.public_service", |v| v["payload"]["wait_minutes"] = (-5).into()), "negative_value"),
        ("severity 0", edited("nsc.incident", |v| v["payload"]["severity"] = 0.into()), "out_of_range"),
        ("severity 6", edited("nsc.incident", |v| v["payload"]["severity"] = 6.into()), "out_of_range"),
        ("severity beyond u8", edited("nsc.incident", |v| v["payload"]["severity"] = 300.into()), "out_of_range"),
        ("unknown classification", edited("nsc.incident", |v| v["payload"]["classification"] = "top_secret".into()), "invalid_enum_value"),
        ("category in capitals", edited("nsc.incident", |v| v["payload"]["category"] = "Drugs".into()), "invalid_enum_value"),
        ("negative pm2.5", edited("pcd.air_quality", |v| v["payload"]["pm25_ugm3"] = (-1).into()), "negative_value"),
        ("negative aqi", edited("pcd.air_quality", |v| v["payload"]["aqi"] = (-1).into()), "negative_value"),
        ("unknown satellite", edited("gistda.hotspot", |v| v["payload"]["satellite"] = "landsat".into()), "invalid_enum_value"),
        ("negative fire power", edited("gistda.hotspot", |v| v["payload"]["frp_mw"] = (-2.5).into()), "negative_value"),
        ("disbursed over budget", edited("cgd.budget_disbursement", |v| v["payload"]["disbursed_thb"] = 400_000_000_000_u64.into()), "disbursed_exceeds_budget"),
        ("fiscal year in common era", edited("cgd.budget_disbursement", |v| v["payload"]["fiscal_year_be"] = 2026.into()), "out_of_range"),
        ("fiscal year beyond u16", edited("cgd.budget_disbursement", |v| v["payload"]["fiscal_year_be"] = 70_000.into()), "out_of_range"),
        ("budget in satang", edited("cgd.budget_disbursement", |v| v["payload"]["budget_thb"] = 3.5e15.into()), "out_of_range"),
        ("zero contract value", edited("cgd.procurement_contract", |v| v["payload"]["value_thb"] = 0.into()), "out_of_range"),
        ("unknown procurement method", edited("cgd.procurement_contract", |v| v["payload"]["method"] = "auction".into()), "invalid_enum_value"),
        ("signing date in buddhist era", edited("cgd.procurement_contract", |v| v["payload"]["signed_date"] = "2569-09-01".into()), "out_of_range"),
        ("signing date 30 February", edited("cgd.procurement_contract", |v| v["payload"]["signed_date"] = "2026-02-30".into()), "invalid_field"),
    ]
}

#[test]
fn every_bad_input_is_rejected_with_its_kind() {
    let rows = corpus();
    let mut failures = Vec::new();
    for (name, bytes, kind) in &rows {
        match decode(bytes, NOW, MAX) {
            Ok(_) => failures.push(format!("{name}: accepted, expected {kind}")),
            Err(e) if e.kind != *kind => failures.push(format!("{name}: got {e}, expected {kind}")),
            Err(e) => assert!(!e.detail.is_empty(), "{name}: empty detail"),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    let mut names: Vec<&str> = rows.iter().map(|r| r.0).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), rows.len(), "row names are unique");
    assert!(rows.len() >= 40);
}

/// A wrong type or a null in a typed field says which field and what it
/// must be, not just where in the text the parser stopped.
#[test]
fn type_errors_name_the_field_and_the_rule() {
    let cases = [
        (
            rain(|v| v["payload"]["rain_1h_mm"] = Value::Null),
            "payload.rain_1h_mm",
            "expected f64",
        ),
        (
            rain(|v| v["payload"]["station_id"] = 7.into()),
            "payload.station_id",
            "expected a string",
        ),
        (
            edited("nsc.incident", |v| v["payload"]["severity"] = "high".into()),
            "payload.severity",
            "expected u8",
        ),
        (
            edited("dopa.public_service", |v| {
                v["payload"]["channel"] = "fax".into()
            }),
            "payload.channel",
            "expected one of",
        ),
        (
            rain(|v| v["area"]["province"] = 50.into()),
            "area.province",
            "must be a string",
        ),
        (
            rain(|v| v["event_time"] = Value::Null),
            "event_time",
            "required",
        ),
    ];
    for (bytes, field, rule) in cases {
        let e = decode(&bytes, NOW, MAX).unwrap_err();
        assert!(
            e.detail.contains(field) && e.detail.contains(rule),
            "{e} should name {field} and {rule}"
        );
        assert_ne!(e.kind, "malformed_json");
    }
}

/// A hostile value of kilobytes never makes a reason of kilobytes: reasons
/// are stored with every dead letter and rejects row.
#[test]
fn reasons_quote_only_a_short_prefix_of_the_input() {
    let huge = "x".repeat(10_000);
    let thai = "ก".repeat(5_000);
    let rows = [
        rain(|v| v["event_id"] = format!("{huge}\n").into()),
        rain(|v| v["schema"] = huge.clone().into()),
        rain(|v| v["committee"] = huge.clone().into()),
        rain(|v| v["source_agency"] = huge.clone().into()),
        rain(|v| v["source_system"] = thai.clone().into()),
        rain(|v| v["event_time"] = huge.clone().into()),
        rain(|v| v["area"]["province"] = huge.clone().into()),
        rain(|v| v["area"]["district"] = thai.clone().into()),
        rain(|v| v["payload"]["station_id"] = huge.clone().into()),
        rain(|v| v["payload"]["rain_1h_mm"] = huge.clone().into()),
        edited("nsc.incident", |v| {
            v["payload"]["category"] = huge.clone().into()
        }),
        replaced(
            "hii.rainfall",
            "\"rain_1h_mm\"",
            &format!("\"{huge}\":1,\"{huge}\":2,\"rain_1h_mm\""),
        ),
        replaced(
            "hii.rainfall",
            "{",
            &format!("{{\"{huge}\":1,\"{huge}\":2,"),
        ),
    ];
    for bytes in rows {
        let e = decode(&bytes, NOW, MAX).unwrap_err();
        assert!(
            e.detail.chars().count() <= 400,
            "{} chars: {e}",
            e.detail.chars().count()
        );
    }
}

#[test]
fn the_limit_is_inclusive() {
    let bytes = serde_json::to_vec(&message("hii.rainfall")).unwrap();
    assert!(decode(&bytes, NOW, bytes.len()).is_ok());
    assert_eq!(
        decode(&bytes, NOW, bytes.len() - 1).unwrap_err().kind,
        "oversized"
    );
}

/// The kinds the wire decoder cannot produce, from the checks producers and
/// the pipeline run on a decoded envelope: every kind has a test.
#[test]
fn producer_and_topic_rules_have_their_kinds() {
    use pmoc_schemas::{committee::Committee, envelope::Payload};
    let bytes = serde_json::to_vec(&message("hii.water_level")).unwrap();
    let e = decode(&bytes, NOW, MAX).unwrap();

    let mut m = e.clone();
    m.schema = "hii.rainfall".to_owned();
    assert_eq!(m.validate(NOW).unwrap_err().kind, "schema_mismatch");

    let mut m = e.clone();
    if let Payload::WaterLevel(w) = &mut m.payload {
        w.level_m_msl = f64::NAN;
    }
    assert_eq!(m.validate(NOW).unwrap_err().kind, "non_finite_value");

    assert!(e.check_topic_committee(Committee::Water).is_ok());
    let err = e.check_topic_committee(Committee::Security).unwrap_err();
    assert_eq!(err.kind, "wrong_committee_for_topic");
    assert!(err.detail.contains("security"), "{}", err.detail);
}
