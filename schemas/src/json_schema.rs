//! JSON Schema documents for the agencies' integrators, generated from the
//! Rust types so the documents cannot drift from what `decode` accepts.
//!
//! One document per schema version describes a whole message (the envelope
//! with that payload, `schema` and `schema_version` pinned by `const`), so an
//! integrator validates exactly what they send. The files live in
//! `schemas/json-schema/`; a test regenerates them and fails when they are
//! stale (`PMOC_BLESS=1 cargo test -p pmoc-schemas` rewrites them).
//!
//! The documents describe shape and ranges; cross-field rules (district in
//! province, disbursed within 105 % of budget, event time not in the future)
//! are only in `decode`.

use schemars::{Schema, SchemaGenerator, generate::SchemaSettings, json_schema};
use serde_json::Value;

use crate::{
    committee::SchemaId,
    envelope::{Envelope, PAYLOAD_JSON_SCHEMAS},
};

/// File name of the header-only document, whose payload is any object.
pub const ENVELOPE_DOCUMENT: &str = "pmoc.envelope.v1.json";

/// `time::OffsetDateTime` as the `rfc3339` serde module writes it; schemars
/// has no `time` integration.
pub(crate) fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 with a UTC offset, e.g. 2026-09-22T10:00:00+07:00"
    })
}

/// `time::Date` as `YYYY-MM-DD`.
pub(crate) fn date(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date" })
}

/// The payload in the header-only document: its shape depends on `schema`.
pub(crate) fn any_payload(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "description": "Shaped by schema and schema_version; see <schema>.v<version>.json"
    })
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
}

/// Every document as `(file name, pretty JSON text)`, in file-name order.
pub fn documents() -> Vec<(String, String)> {
    let mut docs = vec![(
        ENVELOPE_DOCUMENT.to_owned(),
        render(generator().into_root_schema_for::<Envelope>()),
    )];
    for (id, payload) in PAYLOAD_JSON_SCHEMAS {
        docs.push((
            format!("{}.v{}.json", id.name, id.version),
            render(message_document(*id, *payload)),
        ));
    }
    docs.sort();
    docs
}

/// The envelope with the payload of `id` and its header fields pinned.
fn message_document(id: SchemaId, payload: fn(&mut SchemaGenerator) -> Schema) -> Schema {
    let mut generator = generator();
    // Generated first so its definitions land in the envelope's `$defs`.
    let payload = payload(&mut generator);
    let mut doc = generator.into_root_schema_for::<Envelope>();
    doc.insert(
        "title".to_owned(),
        format!("{} v{}", id.name, id.version).into(),
    );
    if let Some(properties) = doc.get_mut("properties").and_then(Value::as_object_mut) {
        let pins = [
            ("schema", Value::from(id.name)),
            ("schema_version", Value::from(id.version)),
            ("committee", Value::from(id.committee.as_str())),
        ];
        for (field, value) in pins {
            if let Some(Value::Object(p)) = properties.get_mut(field) {
                p.insert("const".to_owned(), value);
            }
        }
        properties.insert("payload".to_owned(), payload.to_value());
    }
    if id.requires_point
        && let Some(Value::Array(required)) = doc.get_mut("required")
    {
        required.push("point".into());
    }
    doc
}

/// Pretty JSON with object keys sorted, whatever map type serde_json was
/// built with (`preserve_order` may be switched on by another crate), so the
/// files are byte-for-byte reproducible.
fn render(schema: Schema) -> String {
    fn sorted(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(schema.to_value()))
        .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    use super::*;
    use crate::committee::SCHEMAS;

    #[test]
    fn json_schemas_are_up_to_date() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("json-schema");
        let docs = documents();
        if std::env::var("PMOC_BLESS").as_deref() == Ok("1") {
            fs::create_dir_all(&dir).unwrap();
            for entry in fs::read_dir(&dir).unwrap() {
                fs::remove_file(entry.unwrap().path()).unwrap();
            }
            for (name, text) in &docs {
                fs::write(dir.join(name), text).unwrap();
            }
        }
        let mut on_disk: Vec<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}; run with PMOC_BLESS=1", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let names: Vec<&String> = docs.iter().map(|(n, _)| n).collect();
        assert_eq!(
            on_disk.iter().collect::<Vec<_>>(),
            names,
            "json-schema/ has stale or missing files; rerun with PMOC_BLESS=1"
        );
        for (name, text) in &docs {
            let file = fs::read_to_string(dir.join(name)).unwrap();
            assert!(
                file == *text,
                "json-schema/{name} is stale; rerun with PMOC_BLESS=1 and review the diff"
            );
        }
    }

    #[test]
    fn message_documents_pin_the_header_fields() {
        let docs = documents();
        assert_eq!(docs.len(), SCHEMAS.len() + 1);
        let parse = |name: &str| -> Value {
            let (_, text) = docs.iter().find(|(n, _)| n == name).unwrap();
            serde_json::from_str(text).unwrap()
        };
        let hotspot = parse("gistda.hotspot.v1.json");
        assert_eq!(hotspot["properties"]["schema"]["const"], "gistda.hotspot");
        assert_eq!(hotspot["properties"]["schema_version"]["const"], 1);
        assert_eq!(hotspot["properties"]["committee"]["const"], "resources");
        let required = hotspot["required"].as_array().unwrap();
        assert!(required.contains(&"point".into()), "hotspots need a point");
        assert_eq!(
            hotspot["properties"]["payload"]["$ref"],
            "#/$defs/FireHotspot"
        );
        let envelope = parse(ENVELOPE_DOCUMENT);
        assert_eq!(envelope["properties"]["payload"]["type"], "object");
        assert!(envelope["properties"]["schema"].get("const").is_none());
    }
}
