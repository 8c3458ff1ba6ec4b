//! Sorting one request's records into the ones to publish and the rejects,
//! and the answer the client gets.
//!
//! Pure: no I/O, so every rule is unit-tested without a broker.

use axum::http::StatusCode;
use pmoc_schemas::{
    RejectKind, RejectReason, committee::Committee, envelope, error::quote, source::Sources,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A record that passed every check, ready for its committee's topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid<'a> {
    pub index: usize,
    pub committee: Committee,
    /// The partition key: the province code, as for every committee topic.
    pub province: String,
    pub bytes: &'a [u8],
}

/// A refused record, with its original bytes for the dead-letter topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid<'a> {
    pub rejected: Rejected,
    pub bytes: &'a [u8],
}

/// One refused record in the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Position in the batch, from 0 (NDJSON: blank lines are not counted).
    pub index: usize,
    /// The record's `event_id`, when it could be read.
    pub event_id: Option<String>,
    /// Stable machine-readable reason (`unknown_province`, ...).
    pub kind: RejectKind,
    /// What is wrong, for the integrator.
    pub reason: String,
}

/// The body of every answer to a batch that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestResponse {
    /// The agency the token belongs to.
    pub agency: String,
    /// Records in the batch.
    pub received: usize,
    /// Records the broker acknowledged on their committee topics.
    pub accepted: usize,
    /// Records refused, each also on the dead-letter topic.
    pub rejected: Vec<Rejected>,
}

impl IngestResponse {
    /// 200 when every record was accepted (an empty batch included); 207
    /// (Multi-Status) when some were accepted and some rejected; 422 when
    /// every record was rejected. Rejected records must be fixed, never sent
    /// again as they are; the accepted ones of a 207 are stored.
    pub fn status(&self) -> StatusCode {
        match (self.accepted, self.rejected.len()) {
            (_, 0) => StatusCode::OK,
            (0, _) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::MULTI_STATUS,
        }
    }
}

/// Decodes and validates each record at `now_ms` as sent by `agency`,
/// against the source registry.
///
/// A record whose `source_agency` is not the token's is
/// `agency_not_authorised` even when the registry would refuse it too: who
/// is speaking is the first thing wrong with it.
pub fn sort<'a>(
    records: &[&'a [u8]],
    agency: &str,
    now_ms: i64,
    max_record_bytes: usize,
    sources: &Sources,
) -> (Vec<Valid<'a>>, Vec<Invalid<'a>>) {
    let mut valid = Vec::with_capacity(records.len());
    let mut invalid = Vec::new();
    for (index, &bytes) in records.iter().enumerate() {
        let reject = |reason: RejectReason, event_id: Option<String>| Invalid {
            rejected: Rejected {
                index,
                event_id,
                kind: reason.kind,
                reason: reason.detail,
            },
            bytes,
        };
        let not_authorised = |claimed: &str| {
            RejectReason::new(
                RejectKind::AgencyNotAuthorised,
                format!(
                    "source_agency is {} but the token belongs to {agency:?}",
                    quote(claimed)
                ),
            )
        };
        match envelope::decode(bytes, now_ms, max_record_bytes, sources) {
            Ok(e) if e.source_agency != agency => invalid.push(reject(
                not_authorised(&e.source_agency),
                Some(e.event_id.as_str().to_owned()),
            )),
            Ok(e) => valid.push(Valid {
                index,
                committee: e.committee,
                province: e.area.province.as_str().to_owned(),
                bytes,
            }),
            Err(reason) => {
                let (event_id, claimed) = readable_header(bytes, max_record_bytes);
                let reason = match (reason.kind, claimed) {
                    (
                        RejectKind::UnknownSource | RejectKind::SchemaNotAllowedForSource,
                        Some(claimed),
                    ) if claimed != agency => not_authorised(&claimed),
                    _ => reason,
                };
                invalid.push(reject(reason, event_id));
            }
        }
    }
    (valid, invalid)
}

/// The `event_id` and `source_agency` of a rejected record, where it is a
/// JSON object with them as strings: the client matches rejects to its own
/// records by the id.
fn readable_header(bytes: &[u8], max_record_bytes: usize) -> (Option<String>, Option<String>) {
    #[derive(Deserialize)]
    struct Header {
        event_id: Option<Value>,
        source_agency: Option<Value>,
    }
    if bytes.len() > max_record_bytes {
        return (None, None);
    }
    let Ok(header) = serde_json::from_slice::<Header>(bytes) else {
        return (None, None);
    };
    let text = |v: Option<Value>| match v {
        Some(Value::String(s)) if s.len() <= pmoc_schemas::event::MAX_EVENT_ID_LEN => Some(s),
        _ => None,
    };
    (text(header.event_id), text(header.source_agency))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Now, for the fixtures.
    pub const NOW_MS: i64 =
        time::macros::datetime!(2026-09-22 12:00:00 +07:00).unix_timestamp() * 1000;

    pub fn rainfall(id: &str, agency: &str, province: &str, time: &str) -> String {
        format!(
            r#"{{"schema":"hii.rainfall","schema_version":1,"event_id":"{id}","source_agency":"{agency}","source_system":"thaiwater","committee":"water","event_time":"{time}","area":{{"province":"{province}"}},"payload":{{"station_id":"S1","rain_1h_mm":1.5,"rain_24h_mm":10.0}}}}"#
        )
    }

    #[test]
    fn each_record_is_valid_or_rejected_with_its_reason() {
        let t = "2026-09-22T10:00:00+07:00";
        let lines = [
            rainfall("ok-1", "HII", "50", t),
            "{\"event_id\": \"broken-1\", ".to_owned(),
            rainfall("other-1", "NSC", "50", t),
            rainfall("prov-1", "HII", "99", t),
            rainfall("future-1", "HII", "50", "2030-01-01T00:00:00+07:00"),
            rainfall("ok-2", "HII", "10", t),
            "[1]".to_owned(),
            rainfall("acme-1", "ACME", "50", t),
            rainfall("sys-1", "HII", "50", t).replace("thaiwater", "spreadsheet"),
            rainfall("nsc-1", "HII", "50", t)
                .replace("hii.rainfall", "nsc.incident")
                .replace("\"committee\":\"water\"", "\"committee\":\"security\""),
        ];
        let records: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let (valid, invalid) = sort(&records, "HII", NOW_MS, 65_536, &Sources::default());
        assert_eq!(
            valid
                .iter()
                .map(|v| (v.index, v.committee, v.province.as_str()))
                .collect::<Vec<_>>(),
            [(0, Committee::Water, "50"), (5, Committee::Water, "10")]
        );
        assert_eq!(valid[0].bytes, lines[0].as_bytes(), "exact bytes");
        let got: Vec<(usize, Option<&str>, &str)> = invalid
            .iter()
            .map(|i| {
                let r = &i.rejected;
                (r.index, r.event_id.as_deref(), r.kind.as_str())
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, None, "malformed_json"),
                (2, Some("other-1"), "agency_not_authorised"),
                (3, Some("prov-1"), "unknown_province"),
                (4, Some("future-1"), "event_time_in_future"),
                (6, None, "not_an_object"),
                (7, Some("acme-1"), "agency_not_authorised"),
                (8, Some("sys-1"), "unknown_source"),
                (9, Some("nsc-1"), "schema_not_allowed_for_source"),
            ]
        );
        assert!(invalid.iter().all(|i| !i.rejected.reason.is_empty()));
        assert_eq!(invalid[1].bytes, lines[2].as_bytes());
    }

    #[test]
    fn the_status_says_whether_anything_was_refused() {
        let rejected = Rejected {
            index: 0,
            event_id: None,
            kind: RejectKind::MalformedJson,
            reason: "x".to_owned(),
        };
        let response = |accepted, rejected: &[Rejected]| IngestResponse {
            agency: "HII".to_owned(),
            received: accepted + rejected.len(),
            accepted,
            rejected: rejected.to_vec(),
        };
        assert_eq!(response(0, &[]).status(), StatusCode::OK);
        assert_eq!(response(3, &[]).status(), StatusCode::OK);
        let mixed = response(2, std::slice::from_ref(&rejected));
        assert_eq!(mixed.status(), StatusCode::MULTI_STATUS);
        assert_eq!(
            response(0, std::slice::from_ref(&rejected)).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            serde_json::to_value(&mixed).expect("json"),
            serde_json::json!({
                "agency": "HII", "received": 3, "accepted": 2,
                "rejected": [{"index": 0, "event_id": null, "kind": "malformed_json", "reason": "x"}]
            })
        );
    }
}
