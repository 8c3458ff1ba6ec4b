//! Encode then decode gives back the same message, for every payload type,
//! and the JSON Schema documents list every field the encoder writes.

use pmoc_schemas::{
    committee::{Committee, SCHEMAS},
    envelope::{Envelope, Payload},
    json_schema::documents,
};
use serde_json::Value;

use crate::samples::{MAX, NOW, decode, envelope, envelopes, message, payloads};

#[test]
fn every_payload_type_round_trips() {
    let all = envelopes();
    // One sample per registered schema, so a new schema needs a sample.
    let mut names: Vec<&str> = all.iter().map(|e| e.schema.as_str()).collect();
    names.sort_unstable();
    let mut registered: Vec<&str> = SCHEMAS.iter().map(|s| s.name).collect();
    registered.sort_unstable();
    assert_eq!(names, registered);

    for env in all {
        assert_eq!(env.validate(NOW), Ok(()), "{}", env.schema);
        let bytes = env.encode().unwrap();
        let back = decode(&bytes, NOW, MAX)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", env.schema, String::from_utf8_lossy(&bytes)));
        assert_eq!(back, env);
        assert_eq!(back.encode().unwrap(), bytes, "encoding is stable");
        let pretty = serde_json::to_vec_pretty(&env).unwrap();
        assert_eq!(
            decode(&pretty, NOW, MAX).as_ref(),
            Ok(&env),
            "whitespace is insignificant"
        );
    }
}

#[test]
fn unknown_fields_and_nulls_for_optional_fields_are_accepted() {
    let mut v = message("hii.water_level");
    v["agency_extension"] = serde_json::json!({"nested": [1, 2, {"x": null}]});
    v["payload"]["sensor_model"] = "OTT RLS".into();
    v["payload"]["discharge_m3s"] = Value::Null;
    v["area"]["district"] = Value::Null;
    v["point"] = Value::Null;
    let env = decode(v.to_string().as_bytes(), NOW, MAX).unwrap();
    assert_eq!(env.area.district, None);
    assert_eq!(env.point, None);
    match env.payload {
        Payload::WaterLevel(w) => assert_eq!(w.discharge_m3s, None),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_topic_must_belong_to_the_message_committee() {
    let env = envelope(payloads().remove(4)); // rainfall
    assert_eq!(env.committee, Committee::Water);
    assert_eq!(env.check_topic_committee(Committee::Water), Ok(()));
    let err = env.check_topic_committee(Committee::Security).unwrap_err();
    assert_eq!(err.kind, "wrong_committee_for_topic");
}

#[test]
fn envelopes_built_by_hand_are_checked_like_decoded_ones() {
    let mut env = envelope(payloads().remove(4));
    env.schema = "hii.water_level".to_owned();
    assert_eq!(env.validate(NOW).unwrap_err().kind, "schema_mismatch");
    let mut env: Envelope = envelope(payloads().remove(4));
    env.committee = Committee::Population;
    assert_eq!(env.validate(NOW).unwrap_err().kind, "committee_mismatch");
}

/// Keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn json_schema_documents_describe_what_the_encoder_writes() {
    let docs = documents();
    for env in envelopes() {
        let file = format!("{}.v{}.json", env.schema, env.schema_version);
        let (_, text) = docs.iter().find(|(n, _)| *n == file).unwrap();
        let doc: Value = serde_json::from_str(text).unwrap();
        let written = serde_json::to_value(&env).unwrap();
        assert_eq!(keys(&written), keys(&doc["properties"]), "{file}");
        let payload_ref = doc["properties"]["payload"]["$ref"].as_str().unwrap();
        let def = &doc["$defs"][payload_ref.trim_start_matches("#/$defs/")];
        let declared = keys(&def["properties"]);
        let written = keys(&written["payload"]);
        for k in &written {
            assert!(
                declared.contains(k),
                "{file}: payload.{k} not in the document"
            );
        }
        for k in def["required"].as_array().unwrap() {
            let k = k.as_str().unwrap().to_owned();
            assert!(
                written.contains(&k),
                "{file}: required payload.{k} not written"
            );
        }
        assert_eq!(doc["properties"]["schema"]["const"], env.schema.as_str());
    }
}
