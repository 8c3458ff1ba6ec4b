//! Local accounts: user name, role, argon2id password hash, in a JSON file
//! managed from the command line (`pmoc-dashboard accounts ...`).
//!
//! argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's
//! recommended minimum), in the PHC string format so the parameters travel
//! with each hash and can be raised later without invalidating old ones.
//! Verifying costs tens of milliseconds of CPU, so it runs on the blocking
//! pool; an unknown user is checked against a dummy hash so that the answer
//! takes as long as for a known one.

use std::{collections::BTreeMap, path::Path, sync::LazyLock};

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use serde::{Deserialize, Serialize};

use super::file::{self, FileError};

/// Longest accepted password, bytes: hashing is costly, so unbounded input
/// would be a way to burn CPU.
pub const MAX_PASSWORD_BYTES: usize = 256;
/// Shortest password `accounts add|reset` accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest user name (also the longest actor name stored with an action).
pub const MAX_USER_CHARS: usize = 64;

/// The file's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    pub accounts: BTreeMap<String, Account>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// A role name of `[auth.roles]`.
    pub role: String,
    /// argon2id, PHC string format.
    pub hash: String,
    pub disabled: bool,
    /// Bumped by every reset and disable: sessions signed in under an
    /// older generation end at their next request.
    pub generation: u32,
    pub created_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("user names are 1 to {MAX_USER_CHARS} letters, digits, '.', '_', '-' or '@'")]
    BadName,
    #[error("passwords are {MIN_PASSWORD_CHARS} characters to {MAX_PASSWORD_BYTES} bytes")]
    BadPassword,
    #[error("{0} already exists")]
    Exists(String),
    #[error("no account {0}")]
    Missing(String),
    #[error("hashing the password")]
    Hash,
}

/// A user name this server accepts anywhere (accounts, OIDC, the proxy).
pub fn valid_user(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_USER_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::BadPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AccountError::Hash)
}

/// A hash of nothing anybody knows, verified for unknown users.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"no such user; constant time", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Whether `password` matches `hash` (or, when `hash` is `None`, wastes the
/// same time and says no). Blocking: call from `spawn_blocking`.
pub fn verify(hash: Option<&str>, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let phc = hash.unwrap_or(&DUMMY);
    let ok = PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    });
    ok && hash.is_some()
}

/// The command line's operations on the file.
impl Accounts {
    pub fn add(path: &Path, user: &str, role: &str, password: &str) -> Result<(), AccountError> {
        if !valid_user(user) {
            return Err(AccountError::BadName);
        }
        let mut all: Self = file::load(path)?;
        if all.accounts.contains_key(user) {
            return Err(AccountError::Exists(user.to_owned()));
        }
        all.accounts.insert(
            user.to_owned(),
            Account {
                role: role.to_owned(),
                hash: hash_password(password)?,
                disabled: false,
                generation: 0,
                created_at_ms: crate::live::now_ms(),
            },
        );
        Ok(file::save(path, &all)?)
    }

    /// Sets a new password (and re-enables the account): every session of
    /// the account ends.
    pub fn reset(path: &Path, user: &str, password: &str) -> Result<(), AccountError> {
        let hash = hash_password(password)?;
        Self::update(path, user, |a| {
            a.hash = hash;
            a.disabled = false;
        })
    }

    pub fn disable(path: &Path, user: &str) -> Result<(), AccountError> {
        Self::update(path, user, |a| a.disabled = true)
    }

    fn update(
        path: &Path,
        user: &str,
        change: impl FnOnce(&mut Account),
    ) -> Result<(), AccountError> {
        let mut all: Self = file::load(path)?;
        let account = all
            .accounts
            .get_mut(user)
            .ok_or_else(|| AccountError::Missing(user.to_owned()))?;
        change(account);
        account.generation += 1;
        Ok(file::save(path, &all)?)
    }

    /// Whether any account can sign in.
    pub fn any_enabled(&self) -> bool {
        self.accounts.values().any(|a| !a.disabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_hashed_reset_and_disabled() -> Result<(), AccountError> {
        let dir = tempfile::tempdir().map_err(|e| FileError::Write("tmp".into(), e))?;
        let path = dir.path().join("accounts.json");
        Accounts::add(&path, "somchai", "operator", "correct horse battery")?;
        assert!(matches!(
            Accounts::add(&path, "somchai", "operator", "correct horse battery"),
            Err(AccountError::Exists(_))
        ));
        assert!(matches!(
            Accounts::add(&path, "bad name", "operator", "correct horse battery"),
            Err(AccountError::BadName)
        ));
        assert!(matches!(
            Accounts::add(&path, "short", "operator", "tooshort"),
            Err(AccountError::BadPassword)
        ));
        let all: Accounts = file::load(&path)?;
        let account = &all.accounts["somchai"];
        assert!(account.hash.starts_with("$argon2id$"), "{}", account.hash);
        assert!(!account.hash.contains("correct horse"));
        assert!(verify(Some(&account.hash), "correct horse battery"));
        assert!(!verify(Some(&account.hash), "wrong horse battery"));
        assert!(!verify(None, "correct horse battery"));

        Accounts::reset(&path, "somchai", "a new long password")?;
        Accounts::disable(&path, "somchai")?;
        let all: Accounts = file::load(&path)?;
        assert!(all.accounts["somchai"].disabled && all.accounts["somchai"].generation == 2);
        assert!(!all.any_enabled());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map_err(|e| FileError::Read(path.clone(), e))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }
}
