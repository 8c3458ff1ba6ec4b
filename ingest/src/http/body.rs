//! A request body to records: a JSON array of envelopes, or NDJSON.
//!
//! Each record is the exact bytes the client sent for it (an array element
//! as written, an NDJSON line without its line ending), because those bytes
//! are what is published: to the committee topic when valid, to the
//! dead-letter topic when not. Nothing is re-serialized.

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header::CONTENT_LENGTH, header::CONTENT_TYPE},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::value::RawValue;

/// How the records are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (or no Content-Type): one JSON array.
    JsonArray,
    /// `application/x-ndjson`: one JSON object a line; blank lines skipped.
    Ndjson,
}

/// Why a body could not be split into records; the whole request fails.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(
        "the body{} is larger than the limit of {limit} bytes; split the batch",
        size.map(|n| format!(" ({n} bytes)")).unwrap_or_default()
    )]
    TooLarge { size: Option<u64>, limit: usize },
    #[error("reading the body: {0}")]
    Read(String),
    #[error("the body did not arrive within {0:?}")]
    TooSlow(std::time::Duration),
    #[error("the batch has {records} records, more than the limit of {limit}; split it")]
    TooManyRecords { records: usize, limit: usize },
    #[error(
        "unsupported Content-Type {0:?}: send a JSON array as application/json \
         or one envelope a line as application/x-ndjson"
    )]
    UnsupportedType(String),
    #[error("the body is not a JSON array of envelopes: {0}")]
    NotAnArray(String),
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge { .. } | Self::TooManyRecords { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Read(_) | Self::NotAnArray(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// The framing that `headers` announce.
pub fn format(headers: &HeaderMap) -> Result<Format, BodyError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Ok(Format::JsonArray);
    };
    let text = value
        .to_str()
        .map_err(|_| BodyError::UnsupportedType(format!("{value:?}")))?;
    let essence = text.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(Format::JsonArray)
    } else if essence.eq_ignore_ascii_case("application/x-ndjson")
        || essence.eq_ignore_ascii_case("application/jsonl")
    {
        Ok(Format::Ndjson)
    } else {
        Err(BodyError::UnsupportedType(text.to_owned()))
    }
}

/// Reads at most `limit` bytes within `within`; a declared Content-Length
/// above the limit is refused before reading anything, an undeclared
/// (chunked) body as soon as it passes the limit, and a client that trickles
/// its body gets 408 rather than holding a request slot for ever.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    within: std::time::Duration,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge {
            size: declared,
            limit,
        });
    }
    match tokio::time::timeout(within, Limited::new(body, limit).collect()).await {
        Err(_) => Err(BodyError::TooSlow(within)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(BodyError::TooLarge { size: None, limit }),
        Ok(Err(e)) => Err(BodyError::Read(e.to_string())),
    }
}

/// The records in `body`, each the exact bytes sent for it; more than
/// `max_records` refuses the whole batch.
pub fn split(body: &[u8], format: Format, max_records: usize) -> Result<Vec<&[u8]>, BodyError> {
    let records = split_all(body, format)?;
    if records.len() > max_records {
        return Err(BodyError::TooManyRecords {
            records: records.len(),
            limit: max_records,
        });
    }
    Ok(records)
}

fn split_all(body: &[u8], format: Format) -> Result<Vec<&[u8]>, BodyError> {
    match format {
        Format::JsonArray => {
            let elements: Vec<&RawValue> =
                serde_json::from_slice(body).map_err(|e| BodyError::NotAnArray(e.to_string()))?;
            Ok(elements.iter().map(|raw| raw.get().as_bytes()).collect())
        }
        Format::Ndjson => Ok(body
            .split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn typed(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("header"),
        );
        h
    }

    #[test]
    fn content_type_selects_the_framing() {
        assert_eq!(format(&HeaderMap::new()).ok(), Some(Format::JsonArray));
        assert_eq!(
            format(&typed("application/json; charset=utf-8")).ok(),
            Some(Format::JsonArray)
        );
        assert_eq!(
            format(&typed("application/x-ndjson")).ok(),
            Some(Format::Ndjson)
        );
        let err = format(&typed("text/csv")).unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn array_elements_keep_their_exact_bytes() {
        let body = br#"[ {"a": 1,  "b":"x"} ,{"c":[1, 2]}, 7, "s" ]"#;
        let records = split(body, Format::JsonArray, 10).expect("array");
        let records: Vec<&str> = records
            .iter()
            .map(|r| std::str::from_utf8(r).expect("utf8"))
            .collect();
        assert_eq!(
            records,
            [r#"{"a": 1,  "b":"x"}"#, r#"{"c":[1, 2]}"#, "7", r#""s""#]
        );
        assert!(
            split(b"[]", Format::JsonArray, 10)
                .expect("empty")
                .is_empty()
        );
        for bad in [&b"{\"a\":1}"[..], b"[{\"a\":1}", b"", b"[1] x"] {
            let err = split(bad, Format::JsonArray, 10).unwrap_err();
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn ndjson_lines_are_records_even_when_malformed() {
        let body = b"{\"a\":1}\r\n\n  \n{\"b\": \n{\"c\":3}";
        let records = split(body, Format::Ndjson, 3).expect("ndjson");
        assert_eq!(records, [&b"{\"a\":1}"[..], b"{\"b\": ", b"{\"c\":3}"]);
        assert!(split(b"\n\n", Format::Ndjson, 0).expect("blank").is_empty());
    }

    #[test]
    fn batches_over_the_record_limit_are_refused_with_the_limit() {
        let err = split(b"{}\n{}\n{}", Format::Ndjson, 2).unwrap_err();
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.to_string().contains("limit of 2"), "{err}");
        assert_eq!(
            split(b"[1,2]", Format::JsonArray, 2)
                .expect("at the limit")
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused() {
        let big = vec![b' '; 1025];
        let second = std::time::Duration::from_secs(1);
        let err = read(&HeaderMap::new(), Body::from(big.clone()), 1024, second)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            BodyError::TooLarge {
                size: None,
                limit: 1024
            }
        ));
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let mut declared = HeaderMap::new();
        declared.insert(CONTENT_LENGTH, HeaderValue::from(1025));
        let err = read(&declared, Body::from(big), 1024, second)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1025 bytes"), "{err}");

        let ok = read(
            &HeaderMap::new(),
            Body::from(vec![b'x'; 1024]),
            1024,
            second,
        )
        .await;
        assert_eq!(ok.expect("at the limit").len(), 1024);
    }

    #[tokio::test]
    async fn a_body_that_never_ends_times_out() {
        let (_tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let endless = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        let within = std::time::Duration::from_millis(50);
        let err = read(&HeaderMap::new(), endless, 1024, within)
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::REQUEST_TIMEOUT);
    }
}
