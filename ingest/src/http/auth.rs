//! Bearer tokens, one agency each, configured only as SHA-256 hashes.
//!
//! The settings hold `sha256:<hex>` of each token, so a leaked config file or
//! repository grants nothing. A presented token is hashed and compared with
//! every configured hash in constant time, without stopping at the first
//! match, so response timing says nothing about how close a guess was.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header::AUTHORIZATION};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "sha256:";

/// A configured hash that is not `sha256:` and 64 hex digits.
#[derive(Debug, thiserror::Error)]
#[error(
    "http_ingest.agencies.{agency}: expected \"sha256:<64 hex digits>\" (see `pmoc-ingest hash-token`)"
)]
pub struct InvalidTokenHash {
    pub agency: String,
}

/// The agencies allowed to post and the hashes of their tokens.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// (agency id in upper case, SHA-256 of its token).
    agencies: Vec<(String, [u8; 32])>,
}

impl Tokens {
    /// Parses the `http_ingest.agencies` table. Agency ids are upper-cased
    /// because environment overrides arrive lower-cased.
    pub fn from_config(agencies: &BTreeMap<String, String>) -> Result<Self, InvalidTokenHash> {
        let agencies = agencies
            .iter()
            .map(|(agency, hash)| {
                parse_hash(hash)
                    .map(|h| (agency.to_ascii_uppercase(), h))
                    .ok_or_else(|| InvalidTokenHash {
                        agency: agency.clone(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { agencies })
    }

    /// The agency ids, for logs and metrics.
    pub fn agencies(&self) -> impl Iterator<Item = &str> {
        self.agencies.iter().map(|(a, _)| a.as_str())
    }

    /// The agency whose token is `token`, if any.
    pub fn agency_of(&self, token: &str) -> Option<&str> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        // Every hash is compared, whichever matches.
        for (agency, hash) in &self.agencies {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(agency.as_str());
            }
        }
        found
    }

    /// The agency that `headers` authenticate, from `Authorization: Bearer`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<&str, AuthFailure> {
        let value = headers
            .get(AUTHORIZATION)
            .ok_or(AuthFailure::Missing)?
            .to_str()
            .map_err(|_| AuthFailure::Malformed)?;
        let (scheme, token) = value.split_once(' ').ok_or(AuthFailure::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthFailure::Malformed);
        }
        self.agency_of(token.trim()).ok_or(AuthFailure::Unknown)
    }
}

/// Why a request was not authenticated; each is answered 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("missing Authorization header; send `Authorization: Bearer <token>`")]
    Missing,
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("unknown token")]
    Unknown,
}

impl AuthFailure {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
        }
    }
}

/// `sha256:<hex>` of `token`, the form the settings expect.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex = text.trim().strip_prefix(PREFIX)?;
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn tokens() -> Tokens {
        let config = BTreeMap::from([
            ("hii".to_owned(), hash_token("hii-secret")),
            (
                "NSC".to_owned(),
                hash_token("nsc-secret")
                    .to_uppercase()
                    .replace("SHA256:", "sha256:"),
            ),
        ]);
        Tokens::from_config(&config).expect("valid hashes")
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn a_token_authenticates_its_agency_only() {
        let t = tokens();
        assert_eq!(t.agency_of("hii-secret"), Some("HII"), "ids upper-cased");
        assert_eq!(t.agency_of("nsc-secret"), Some("NSC"), "hex of any case");
        assert_eq!(t.agency_of("hii-secreT"), None);
        assert_eq!(t.agency_of(""), None);
        assert_eq!(t.authenticate(&bearer("Bearer hii-secret")), Ok("HII"));
        assert_eq!(t.authenticate(&bearer("bearer  nsc-secret ")), Ok("NSC"));
    }

    #[test]
    fn wrong_missing_or_malformed_credentials_fail() {
        let t = tokens();
        assert_eq!(t.authenticate(&HeaderMap::new()), Err(AuthFailure::Missing));
        assert_eq!(
            t.authenticate(&bearer("Bearer wrong")),
            Err(AuthFailure::Unknown)
        );
        for bad in ["hii-secret", "Basic aGlpOnNlY3JldA==", "Bearer ", "Bearer"] {
            assert_eq!(
                t.authenticate(&bearer(bad)),
                Err(AuthFailure::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            Tokens::default().authenticate(&bearer("Bearer hii-secret")),
            Err(AuthFailure::Unknown),
            "no agencies configured: nothing is valid"
        );
    }

    #[test]
    fn hashes_are_checked_at_start() {
        assert_eq!(
            hash_token("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        for bad in [
            "",
            "abc",
            "sha256:12",
            "md5:ba7816bf",
            &hash_token("x")[1..],
        ] {
            let config = BTreeMap::from([("HII".to_owned(), bad.to_owned())]);
            let err = Tokens::from_config(&config).unwrap_err();
            assert_eq!(err.agency, "HII");
        }
        let mut not_hex = hash_token("x");
        not_hex.replace_range(10..11, "g");
        let config = BTreeMap::from([("HII".to_owned(), not_hex)]);
        assert!(Tokens::from_config(&config).is_err());
    }
}
