//! Bytes to [`Envelope`], or a [`RejectReason`] saying exactly what is wrong.
//!
//! Decoding goes in two steps. The header is read into loosely typed
//! [`RawEnvelope`] first, each field checked by hand so a reject names the
//! field and the rule (`unknown_district`, not "invalid value at column 93");
//! then the payload, kept as raw JSON text, is decoded by the type that
//! `schema` and `schema_version` select, with the path of a failing field
//! (`payload.rain_1h_mm: invalid type: null, expected f64`).
//!
//! Both steps refuse a key repeated in any object, at any depth, known or
//! not ([`super::strict`]): serde_json would keep the last one silently.
//! Objects inside unknown fields are walked for that, so a number beyond f64
//! or deep nesting there is `number_out_of_range` and `too_deeply_nested` as
//! anywhere else (serde_json stops at 128 levels, never overflowing the
//! stack).
//!
//! A reason quotes at most a short prefix of the input
//! ([`crate::error::quote`]): rejects are stored and shown, and a hostile
//! sender must not be able to make them large.
//!
//! The kinds are stable: they label metrics and rows of the rejects table.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor},
};
use serde_json::{Value, value::RawValue};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{
    Area, Envelope, GeoPoint, Payload,
    strict::{self, DUPLICATE, Strict},
};
use crate::{
    RejectKind, RejectReason,
    area::ProvinceCode,
    committee::{self, Committee},
    district::DistrictCode,
    error::{MAX_QUOTED_CHARS, quote},
    event::EventId,
    source::Sources,
};

/// The envelope as received: every header field optional and untyped, so
/// each absence or type error can be reported under its own name. A field
/// sent as `null` is `Some(Field::Null)`: present, so a second one is a
/// repeated key.
#[derive(Default)]
struct RawEnvelope<'a> {
    schema: Option<Field<'a>>,
    schema_version: Option<Field<'a>>,
    event_id: Option<Field<'a>>,
    source_agency: Option<Field<'a>>,
    source_system: Option<Field<'a>>,
    committee: Option<Field<'a>>,
    event_time: Option<Field<'a>>,
    area: Option<Value>,
    point: Option<Value>,
    payload: Option<&'a RawValue>,
}

/// A scalar header field as received. Strings are borrowed from the input
/// where they have no escapes, so reading a header allocates nothing for
/// them; an array or object (always the wrong type here) is walked for
/// repeated keys and remembered only as what it was.
enum Field<'a> {
    Null,
    Bool,
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl Field<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool => "a boolean",
            Self::Number(_) => "a number",
            Self::Str(_) => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
                Ok(Field::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<'de>, E> {
                Ok(Field::Bool)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
                Ok(Field::Number(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
                Ok(Field::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
                // serde_json never produces a non-finite f64.
                Ok(serde_json::Number::from_f64(v).map_or(Field::Null, Field::Number))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
                Ok(Field::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Field<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Object)
            }
        }
        d.deserialize_any(FieldVisitor)
    }
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = RawEnvelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an envelope object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawEnvelope::default();
        // Unknown keys are rare (agencies' extensions): no allocation
        // unless one comes.
        let mut unknown: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            let repeated = || de::Error::custom(format_args!("{DUPLICATE} {}", quote(&key)));
            let slot = match key.as_ref() {
                "schema" => &mut raw.schema,
                "schema_version" => &mut raw.schema_version,
                "event_id" => &mut raw.event_id,
                "source_agency" => &mut raw.source_agency,
                "source_system" => &mut raw.source_system,
                "committee" => &mut raw.committee,
                "event_time" => &mut raw.event_time,
                "area" | "point" => {
                    let slot = if key == "area" {
                        &mut raw.area
                    } else {
                        &mut raw.point
                    };
                    if slot.is_some() {
                        return Err(repeated());
                    }
                    *slot = Some(map.next_value_seed(strict::seed::<Value>())?);
                    continue;
                }
                "payload" => {
                    if raw.payload.is_some() {
                        return Err(repeated());
                    }
                    // Kept as text: its type is known only once `schema`
                    // is; its own keys are checked when it is decoded.
                    raw.payload = Some(map.next_value()?);
                    continue;
                }
                _ => {
                    if unknown.contains(&key) {
                        return Err(repeated());
                    }
                    map.next_value_seed(strict::seed::<IgnoredAny>())?;
                    unknown.push(key);
                    continue;
                }
            };
            if slot.is_some() {
                return Err(repeated());
            }
            *slot = Some(map.next_value_seed(strict::seed::<Field<'de>>())?);
        }
        Ok(raw)
    }
}

/// An object key, borrowed from the input unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Decodes and validates one message received at `now_ms` (the receiver's
/// clock, Unix milliseconds), refusing messages longer than `max_bytes` and
/// messages from a source `sources` does not know or allow.
///
/// Never panics, whatever the bytes: every failure is a [`RejectReason`].
pub fn decode(
    bytes: &[u8],
    now_ms: i64,
    max_bytes: usize,
    sources: &Sources,
) -> Result<Envelope, RejectReason> {
    // Checked before anything else so an oversized message costs nothing.
    if bytes.len() > max_bytes {
        return Err(RejectReason::new(
            RejectKind::Oversized,
            format!("message is {} bytes, the limit is {max_bytes}", bytes.len()),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        RejectReason::new(
            RejectKind::InvalidUtf8,
            format!("message is not UTF-8: {e}"),
        )
    })?;
    // A JSON array would otherwise be accepted positionally as a struct.
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<IgnoredAny>(text) {
            Err(e) => syntax_reject("message", &e),
            Ok(_) => RejectReason::new(RejectKind::NotAnObject, "a message must be a JSON object"),
        });
    }
    let raw: RawEnvelope<'_> = serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => field_reject("envelope", &e.to_string()),
        _ => syntax_reject("message", &e),
    })?;

    let event_id = event_id(raw.event_id.as_ref())?;
    let schema_name = required_str("schema", raw.schema.as_ref()).map_err(|e| {
        if e.kind == RejectKind::MissingField {
            RejectReason::new(RejectKind::MissingSchema, "schema is missing")
        } else {
            e
        }
    })?;
    let version = match required("schema_version", raw.schema_version.as_ref())? {
        // Negative or fractional versions are numbers, just not versions.
        Field::Number(n) => n.as_u64(),
        other => return Err(wrong_type("schema_version", "an integer", other.kind())),
    };
    let id = committee::lookup(schema_name, version)?;
    let schema_version = id.version;

    let committee_name = required_str("committee", raw.committee.as_ref())?;
    let claimed = Committee::from_name(committee_name).ok_or_else(|| {
        RejectReason::new(
            RejectKind::UnknownCommittee,
            format!(
                "committee {} is not one of population, security, water, resources",
                quote(committee_name)
            ),
        )
    })?;
    if claimed != id.committee {
        return Err(RejectReason::new(
            RejectKind::CommitteeMismatch,
            format!(
                "schema {} belongs to committee {}, not {claimed}",
                id.name, id.committee
            ),
        ));
    }

    let source_agency = required_str("source_agency", raw.source_agency.as_ref())?;
    let source_system = required_str("source_system", raw.source_system.as_ref())?;
    committee::check_id("source_agency", source_agency)?;
    committee::check_id("source_system", source_system)?;
    // Before the rest: a message from an unknown source is refused as such,
    // whatever else is wrong with it, and costs no payload decoding.
    sources.check_parts(source_agency, source_system, id)?;
    let time_text = required_str("event_time", raw.event_time.as_ref())?;
    let event_time = OffsetDateTime::parse(time_text, &Rfc3339).map_err(|e| {
        RejectReason::new(
            RejectKind::InvalidEventTime,
            format!(
                "event_time {} is not RFC 3339 with an offset: {e}",
                quote(time_text)
            ),
        )
    })?;
    let area = area(required_value("area", raw.area.as_ref())?)?;
    let point = match raw.point.as_ref() {
        None | Some(Value::Null) => None,
        Some(v) => Some(point(v)?),
    };
    let payload_raw = raw
        .payload
        .filter(|p| p.get() != "null")
        .ok_or_else(|| RejectReason::new(RejectKind::MissingField, "payload is missing"))?;
    let payload = Payload::decode_as(id, payload_raw.get())?;

    let envelope = Envelope {
        schema: id.name.to_owned(),
        schema_version,
        event_id,
        source_agency: source_agency.to_owned(),
        source_system: source_system.to_owned(),
        committee: claimed,
        event_time,
        area,
        point,
        payload,
    };
    envelope.validate(now_ms)?;
    Ok(envelope)
}

/// Decodes one payload with every object checked for repeated keys; a
/// failure names the field's path and serde's rule (see [`field_reject`]).
pub(super) fn payload_field<T: DeserializeOwned>(raw: &str) -> Result<T, RejectReason> {
    // serde would otherwise accept an array positionally as a struct.
    if !raw.starts_with('{') {
        return Err(RejectReason::new(
            RejectKind::WrongType,
            "payload must be a JSON object",
        ));
    }
    // The fast path, every valid message's: no path tracking (it costs an
    // allocation per key). Only a failure is decoded again to find where.
    let mut de = serde_json::Deserializer::from_str(raw);
    match T::deserialize(Strict(&mut de)).and_then(|v| de.end().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(_) => Err(payload_reject::<T>(raw)),
    }
}

/// Why `raw` is not a `T`, with the path of the failing field.
fn payload_reject<T: DeserializeOwned>(raw: &str) -> RejectReason {
    let mut de = serde_json::Deserializer::from_str(raw);
    let e = match serde_path_to_error::deserialize::<_, T>(Strict(&mut de)) {
        Ok(_) => {
            return match de.end() {
                Err(e) => syntax_reject("payload", &e),
                // Unreachable: the fast path failed on the same text.
                Ok(()) => RejectReason::new(RejectKind::InvalidField, "payload is invalid"),
            };
        }
        Err(e) => e,
    };
    let path = e.path().to_string();
    let place = if path == "." {
        "payload".to_owned()
    } else {
        format!("payload.{}", brief(&path))
    };
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => field_reject(&place, &inner.to_string()),
        // serde_json reports a value of the wrong JSON type for an enum
        // (`null`, a number) as a syntax error ("expected value"); in text
        // that is valid JSON it is a type error.
        serde_json::error::Category::Syntax
            if inner.to_string().starts_with("expected value")
                && serde_json::from_str::<IgnoredAny>(raw).is_ok() =>
        {
            RejectReason::new(
                RejectKind::WrongType,
                format!(
                    "{place}: invalid type, expected one of the field's values as a string ({})",
                    brief(&inner.to_string())
                ),
            )
        }
        _ => syntax_reject(&place, &inner),
    }
}

/// A message of serde's cut to a few quotes' length: it may quote the input.
fn brief(message: &str) -> Cow<'_, str> {
    let limit = 2 * MAX_QUOTED_CHARS;
    match message.char_indices().nth(limit) {
        None => Cow::Borrowed(message),
        Some((cut, _)) => Cow::Owned(format!("{}…", &message[..cut])),
    }
}

/// A reject for text that is not JSON at all.
fn syntax_reject(place: &str, e: &serde_json::Error) -> RejectReason {
    let msg = e.to_string();
    // serde_json refuses numbers beyond f64 (1e400) rather than making them
    // infinite, and nesting beyond 128 levels rather than overflowing the stack.
    let kind = if msg.starts_with("number out of range") {
        RejectKind::NumberOutOfRange
    } else if msg.starts_with("recursion limit exceeded") {
        RejectKind::TooDeeplyNested
    } else {
        RejectKind::MalformedJson
    };
    RejectReason::new(kind, format!("{place}: {}", brief(&msg)))
}

/// A reject for well-formed JSON of the wrong shape.
///
/// serde's data errors carry only a message, built by the fixed constructors
/// of `serde::de::Error` (`invalid_type`, `missing_field`, ...), whose wording
/// has been stable since serde 1.0; the prefixes below are those (and
/// [`DUPLICATE`], which is serde's wording for a repeated known field too).
fn field_reject(place: &str, msg: &str) -> RejectReason {
    let kind = if msg.starts_with("missing field") {
        RejectKind::MissingField
    } else if msg.starts_with("unknown variant") {
        RejectKind::InvalidEnumValue
    } else if msg.starts_with("invalid type") {
        RejectKind::WrongType
    } else if msg.starts_with("invalid value: integer `-") {
        // A negative count sent for an unsigned field.
        RejectKind::NegativeValue
    } else if msg.starts_with("invalid value") {
        RejectKind::OutOfRange
    } else if msg.starts_with(DUPLICATE) {
        RejectKind::DuplicateField
    } else if msg.starts_with("number out of range") {
        RejectKind::NumberOutOfRange
    } else if msg.starts_with("recursion limit exceeded") {
        RejectKind::TooDeeplyNested
    } else {
        RejectKind::InvalidField
    };
    RejectReason::new(kind, format!("{place}: {}", brief(msg)))
}

fn missing(field: &str, null: bool) -> RejectReason {
    RejectReason::new(
        RejectKind::MissingField,
        if null {
            format!("{field} is null; it is required")
        } else {
            format!("{field} is missing")
        },
    )
}

fn required<'v, 'a>(
    field: &str,
    value: Option<&'v Field<'a>>,
) -> Result<&'v Field<'a>, RejectReason> {
    match value {
        None => Err(missing(field, false)),
        Some(Field::Null) => Err(missing(field, true)),
        Some(v) => Ok(v),
    }
}

fn required_str<'v>(field: &str, value: Option<&'v Field<'_>>) -> Result<&'v str, RejectReason> {
    match required(field, value)? {
        Field::Str(s) => Ok(s),
        other => Err(wrong_type(field, "a string", other.kind())),
    }
}

/// [`required`] for the parts of `area` and `point`, read as `Value`s.
fn required_value<'v>(field: &str, value: Option<&'v Value>) -> Result<&'v Value, RejectReason> {
    match value {
        None => Err(missing(field, false)),
        Some(Value::Null) => Err(missing(field, true)),
        Some(v) => Ok(v),
    }
}

fn value_str<'v>(field: &str, value: Option<&'v Value>) -> Result<&'v str, RejectReason> {
    match required_value(field, value)? {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(field, "a string", value_kind(other))),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(field: &str, expected: &str, got: &str) -> RejectReason {
    RejectReason::new(
        RejectKind::WrongType,
        format!("{field} must be {expected}, not {got}"),
    )
}

fn event_id(value: Option<&Field<'_>>) -> Result<EventId, RejectReason> {
    match value {
        None | Some(Field::Null) => Err(RejectReason::new(
            RejectKind::MissingEventId,
            "event_id is missing",
        )),
        Some(Field::Str(s)) => EventId::parse(s),
        Some(other) => Err(RejectReason::new(
            RejectKind::InvalidEventId,
            wrong_type("event_id", "a string", other.kind()).detail,
        )),
    }
}

fn area(value: &Value) -> Result<Area, RejectReason> {
    let Value::Object(map) = value else {
        return Err(wrong_type("area", "an object", value_kind(value)));
    };
    let province = ProvinceCode::parse(value_str("area.province", map.get("province"))?)?;
    let district = match map.get("district") {
        None | Some(Value::Null) => None,
        Some(Value::String(code)) => Some(DistrictCode::parse(code)?),
        Some(other) => return Err(wrong_type("area.district", "a string", value_kind(other))),
    };
    Area::new(province, district)
}

fn point(value: &Value) -> Result<GeoPoint, RejectReason> {
    let Value::Object(map) = value else {
        return Err(wrong_type("point", "an object", value_kind(value)));
    };
    let coordinate = |name: &str| {
        let field = format!("point.{name}");
        match required_value(&field, map.get(name))? {
            // Without serde_json's `arbitrary_precision` every number is an f64.
            Value::Number(n) => n.as_f64().ok_or_else(|| {
                RejectReason::new(RejectKind::OutOfRange, format!("{field} is not an f64"))
            }),
            other => Err(wrong_type(&field, "a number", value_kind(other))),
        }
    };
    GeoPoint::new(coordinate("lat")?, coordinate("lon")?)
}
