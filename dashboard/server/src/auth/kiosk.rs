//! Wall screens: revocable, display-only kiosk tokens.
//!
//! `pmoc-dashboard kiosk enrol NAME` prints a random token once (and the
//! URL to open on the screen); the file keeps only its SHA-256. A fast hash
//! is enough because the token is 256 random bits, not a password. The
//! screen opens `/kiosk?token=...` once; the server answers with the token
//! in an HttpOnly cookie and sends it to `/wall`, so the token leaves the
//! address bar and history. Every request then looks the token's hash up
//! again, so `kiosk revoke` cuts the screen off at its next request, and a
//! server restart does not sign the wall out.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    file::{self, FileError},
    local::valid_user,
    session::random_token,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kiosks {
    pub kiosks: BTreeMap<String, Kiosk>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kiosk {
    /// The role whose view the wall shows (display only whatever the role).
    pub role: String,
    /// `sha256:` and 64 hex digits.
    pub token_hash: String,
    pub revoked: bool,
    pub enrolled_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KioskError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("kiosk names are 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadName,
    #[error("no kiosk {0}")]
    Missing(String),
}

fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Kiosks {
    /// Creates (or replaces, revoking the old token) a kiosk; returns its token.
    pub fn enrol(path: &Path, name: &str, role: &str) -> Result<String, KioskError> {
        if !valid_user(name) {
            return Err(KioskError::BadName);
        }
        let mut all: Self = file::load(path)?;
        let token = random_token();
        all.kiosks.insert(
            name.to_owned(),
            Kiosk {
                role: role.to_owned(),
                token_hash: hash(&token),
                revoked: false,
                enrolled_at_ms: crate::live::now_ms(),
            },
        );
        file::save(path, &all)?;
        Ok(token)
    }

    pub fn revoke(path: &Path, name: &str) -> Result<(), KioskError> {
        let mut all: Self = file::load(path)?;
        all.kiosks
            .get_mut(name)
            .ok_or_else(|| KioskError::Missing(name.to_owned()))?
            .revoked = true;
        Ok(file::save(path, &all)?)
    }

    /// The kiosk a token belongs to (name, kiosk), if it is not revoked.
    pub fn find(&self, token: &str) -> Option<(&str, &Kiosk)> {
        let wanted = hash(token);
        // Compare every entry in constant time; there are a handful.
        let mut found = None;
        for (name, kiosk) in &self.kiosks {
            if bool::from(kiosk.token_hash.as_bytes().ct_eq(wanted.as_bytes())) && !kiosk.revoked {
                found = Some((name.as_str(), kiosk));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_revocable() -> Result<(), KioskError> {
        let dir = tempfile::tempdir().map_err(|e| FileError::Write("tmp".into(), e))?;
        let path = dir.path().join("kiosks.json");
        let token = Kiosks::enrol(&path, "ops-wall-1", "executive")?;
        let text = std::fs::read_to_string(&path).map_err(|e| FileError::Read(path.clone(), e))?;
        assert!(!text.contains(&token), "only the hash is stored");
        let all: Kiosks = file::load(&path)?;
        assert_eq!(all.find(&token).map(|k| k.0), Some("ops-wall-1"));
        assert!(all.find("guess").is_none());
        Kiosks::revoke(&path, "ops-wall-1")?;
        let all: Kiosks = file::load(&path)?;
        assert!(all.find(&token).is_none());
        assert!(matches!(
            Kiosks::revoke(&path, "nope"),
            Err(KioskError::Missing(_))
        ));
        Ok(())
    }
}
