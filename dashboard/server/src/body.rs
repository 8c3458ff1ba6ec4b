//! A shared read as sent: its JSON, the same gzipped, and an entity tag for
//! each, made once per version and cut (see `shared::Versioned::json_for`).
//!
//! A drill-down area is 30-85 KB of JSON; every browser asks with
//! `Accept-Encoding: gzip`, and served plain it cost each request a copy of
//! all of it into the socket (the read path's profile was memmove and socket
//! writes). Compressed once when the cut is first encoded, each request
//! costs a reference count, and a liaison officer's link carries a fifth to
//! a tenth of the bytes. A compression layer per request would redo the
//! work two hundred times a refresh.

use std::io::Write;

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use flate2::{Compression, write::GzEncoder};

/// One cut of a read, encoded, with its entity tags (quoted, for `ETag`).
#[derive(Debug, Clone)]
pub struct Body {
    pub json: Bytes,
    pub etag: String,
    /// The same JSON gzipped, and its own tag: a representation with
    /// another content coding is another strong validator (RFC 9110 8.8.3).
    pub gzip: Bytes,
    pub gzip_etag: String,
}

impl Body {
    /// Encodes `json` both ways, tagged `etag` (quoted) and that tag with
    /// `-gz` for the compressed one.
    pub fn new(json: Vec<u8>, etag: String) -> std::io::Result<Self> {
        // Level 6 (zlib's default): within a few per cent of 9 on this
        // JSON, at a third of the time; done once per refresh and cut.
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 4), Compression::new(6));
        gz.write_all(&json)?;
        let gzip = Bytes::from(gz.finish()?);
        let gzip_etag = format!("{}-gz\"", etag.trim_end_matches('"'));
        Ok(Self {
            json: Bytes::from(json),
            etag,
            gzip,
            gzip_etag,
        })
    }

    /// The response to a request with `headers`: gzipped when the client
    /// accepts it, 304 when it names the tag it would get; `cache_control`
    /// added when given. `Vary: Accept-Encoding` always, so no cache on the
    /// way hands a gzip body to a client that did not ask for one.
    pub fn respond(&self, headers: &HeaderMap, cache_control: Option<&'static str>) -> Response {
        let gzipped = accepts_gzip(headers);
        let (bytes, etag) = if gzipped {
            (&self.gzip, &self.gzip_etag)
        } else {
            (&self.json, &self.etag)
        };
        let mut out = HeaderMap::new();
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(tag) = HeaderValue::from_str(etag) {
            out.insert(header::ETAG, tag);
        }
        if let Some(cc) = cache_control {
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
        }
        if matches_tag(headers, etag) {
            return (StatusCode::NOT_MODIFIED, out).into_response();
        }
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if gzipped {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        (out, bytes.clone()).into_response()
    }
}

/// Whether `If-None-Match` names `etag` (or `*`), compared weakly as RFC
/// 9110 13.1.2 asks: a proxy that marked the tag weak (`W/`) still gets 304.
fn matches_tag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// Whether `Accept-Encoding` allows gzip: named (or `*`) with a weight
/// above zero, and not refused by name when `*` allows it. A weight that
/// does not parse refuses: the plain body is never wrong.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    let codings = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for coding in codings {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default().to_ascii_lowercase();
        let weight = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
            .next()
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(weight > 0.0),
            "*" => any = Some(weight > 0.0),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).expect("a header value"));
        }
        h
    }

    #[test]
    fn gzip_is_chosen_by_the_clients_weights() {
        let accepts = |v: &str| accepts_gzip(&headers(&[(header::ACCEPT_ENCODING, v)]));
        assert!(accepts("gzip, deflate, br, zstd"));
        assert!(accepts("br;q=1.0, gzip;q=0.8"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("*, gzip;q=0"));
        assert!(!accepts("br, identity"));
        assert!(!accepts("gzip;q=high"), "an unreadable weight refuses");
        assert!(!accepts_gzip(&HeaderMap::new()), "no header: identity");
    }

    #[test]
    fn a_body_is_sent_gzipped_to_who_accepts_it_and_plain_otherwise() {
        let json = serde_json::to_vec(&vec!["ขอนแก่น"; 500]).expect("json");
        let body = Body::new(json.clone(), "\"a-1-f\"".to_owned()).expect("gzip");
        assert!(body.gzip.len() * 10 < json.len(), "repetitive JSON shrinks");
        assert_eq!(body.gzip_etag, "\"a-1-f-gz\"");

        let plain = body.respond(&HeaderMap::new(), None);
        assert_eq!(plain.headers().get(header::CONTENT_ENCODING), None);
        assert_eq!(plain.headers()[header::ETAG], "\"a-1-f\"");
        assert_eq!(plain.headers()[header::VARY], "accept-encoding");

        let asks = headers(&[(header::ACCEPT_ENCODING, "gzip, br")]);
        let gz = body.respond(&asks, Some("private, no-cache"));
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(gz.headers()[header::ETAG], "\"a-1-f-gz\"");
        assert_eq!(gz.headers()[header::CACHE_CONTROL], "private, no-cache");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&body.gzip[..])
            .read_to_end(&mut decoded)
            .expect("valid gzip");
        assert_eq!(decoded, json);
    }

    #[test]
    fn a_tag_is_matched_only_for_its_own_coding() {
        let body = Body::new(b"{}".to_vec(), "\"t\"".to_owned()).expect("gzip");
        let gz_tag = headers(&[
            (header::ACCEPT_ENCODING, "gzip"),
            (header::IF_NONE_MATCH, "\"x\", \"t-gz\""),
        ]);
        assert_eq!(
            body.respond(&gz_tag, None).status(),
            StatusCode::NOT_MODIFIED
        );
        // The plain tag does not validate the gzip body, nor the reverse.
        let plain_tag = headers(&[
            (header::ACCEPT_ENCODING, "gzip"),
            (header::IF_NONE_MATCH, "\"t\""),
        ]);
        assert_eq!(body.respond(&plain_tag, None).status(), StatusCode::OK);
        let gz_tag_plain = headers(&[(header::IF_NONE_MATCH, "\"t-gz\"")]);
        assert_eq!(body.respond(&gz_tag_plain, None).status(), StatusCode::OK);
    }
}
