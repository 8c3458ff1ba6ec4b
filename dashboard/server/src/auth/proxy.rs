//! A trusted reverse proxy asserting who the user is: accepted only when
//! `[auth.proxy] hmac_key_file` is set, and only when the proxy proves
//! itself with an HMAC-SHA256 signature over the identity, the time and the
//! request itself:
//!
//! ```text
//! X-PMOC-Identity: user=<name>; role=<role>; ts=<unix seconds>; sig=<hex>
//! sig = HMAC-SHA256(key, "pmoc-identity-v1\n{user}\n{role}\n{ts}\n{METHOD}\n{path?query}")
//! ```
//!
//! Binding the method and path means a captured header cannot be replayed
//! on another request, and the timestamp (within `max_skew_seconds`) that it
//! cannot be replayed later. Without a configured key the header is ignored
//! entirely: the old unsigned `X-PMOC-Role` trust is gone.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "x-pmoc-identity";

/// Shortest accepted key, bytes.
pub const MIN_KEY_BYTES: usize = 32;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], user: &str, role: &str, ts: i64, method: &str, path: &str) -> HmacSha256 {
    // Any key length is valid for HMAC; `new_from_slice` cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts keys of any length"));
    mac.update(format!("pmoc-identity-v1\n{user}\n{role}\n{ts}\n{method}\n{path}").as_bytes());
    mac
}

/// The header value a proxy sends (for tests and as the reference for
/// writing the proxy's side).
pub fn sign(key: &[u8], user: &str, role: &str, ts: i64, method: &str, path: &str) -> String {
    let sig: String = mac(key, user, role, ts, method, path)
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("user={user}; role={role}; ts={ts}; sig={sig}")
}

/// `(user, role)` when the header is well formed, fresh and correctly signed.
pub fn verify(
    key: &[u8],
    header: &str,
    method: &str,
    path: &str,
    now_s: i64,
    max_skew_s: u32,
) -> Option<(String, String)> {
    let mut fields = std::collections::HashMap::new();
    for part in header.split(';') {
        let (k, v) = part.trim().split_once('=')?;
        fields.insert(k, v);
    }
    let (user, role) = (*fields.get("user")?, *fields.get("role")?);
    let ts: i64 = fields.get("ts")?.parse().ok()?;
    if (now_s - ts).abs() > i64::from(max_skew_s) {
        return None;
    }
    let sig = fields.get("sig")?;
    let bytes: Vec<u8> = (0..sig.len())
        .step_by(2)
        .map(|i| {
            sig.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()?;
    mac(key, user, role, ts, method, path)
        .verify_slice(&bytes)
        .ok()
        .map(|()| (user.to_owned(), role.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fresh_signature_over_this_request_verifies() {
        let key = [7u8; 32];
        let h = sign(&key, "duty", "operator", 1_000, "GET", "/api/wall");
        let ok = verify(&key, &h, "GET", "/api/wall", 1_010, 30);
        assert_eq!(ok, Some(("duty".to_owned(), "operator".to_owned())));
        assert!(verify(&key, &h, "GET", "/api/alerts", 1_010, 30).is_none());
        assert!(verify(&key, &h, "POST", "/api/wall", 1_010, 30).is_none());
        assert!(
            verify(&key, &h, "GET", "/api/wall", 1_100, 30).is_none(),
            "stale"
        );
        assert!(verify(&[8u8; 32], &h, "GET", "/api/wall", 1_010, 30).is_none());
        let forged = h.replace("role=operator", "role=executive");
        assert!(verify(&key, &forged, "GET", "/api/wall", 1_010, 30).is_none());
        assert!(verify(&key, "user=x", "GET", "/", 0, 30).is_none());
    }
}
