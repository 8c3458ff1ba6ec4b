//! Server-side sessions: the cookie holds only a random id; who it is, when
//! it expires and its CSRF token stay here, in memory. A restart therefore
//! signs people out (wall screens are not affected: their kiosk token is
//! checked on every request, see `super::kiosk`), and nothing a browser
//! holds can be edited into more rights.
//!
//! Cookies are `HttpOnly` (no script reads them), `SameSite=Lax` (not sent
//! on cross-site requests other than top-level navigation; Lax rather than
//! Strict because the OpenID provider's redirect back is such a navigation,
//! and every state-changing request also needs the CSRF token) and, unless
//! the development setting `dev_insecure_cookies` is on, `Secure` with the
//! `__Host-` prefix (the browser then also refuses a cookie set for another
//! path or domain). Chromium and Firefox keep `Secure` cookies on plain
//! `http://127.0.0.1` and `localhost` (secure contexts), so the local stack
//! runs with the secure default.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use subtle::ConstantTimeEq;

/// Most sessions held at once; beyond it the oldest is dropped, so a flood
/// of sign-ins cannot exhaust memory.
const MAX_SESSIONS: usize = 10_000;

/// 256 random bits, URL-safe: session ids, CSRF and kiosk tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// How a session was signed in, to check it is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A local account at this generation (a reset or disable bumps it).
    Local { generation: u32 },
    /// An OpenID provider's ID token.
    Oidc,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: String,
    pub origin: Origin,
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// All sessions, with their absolute and idle limits.
#[derive(Debug)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
    idle: Duration,
}

impl Sessions {
    pub fn new(lifetime: Duration, idle: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            lifetime,
            idle,
        }
    }

    /// Opens a session; returns its id (the cookie's value).
    pub fn open(&self, user: &str, role: &str, origin: Origin) -> String {
        let id = random_token();
        let now = Instant::now();
        let session = Session {
            user: user.to_owned(),
            role: role.to_owned(),
            origin,
            csrf: random_token(),
            created: now,
            last_seen: now,
        };
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| self.alive(s, now));
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.created)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
            map.insert(id.clone(), session);
        }
        id
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.created) < self.lifetime && now.duration_since(s.last_seen) < self.idle
    }

    /// The live session with this id, touched (idle timer restarted); an
    /// expired one is removed.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock().ok()?;
        let alive = map.get(id).map(|s| self.alive(s, now))?;
        if !alive {
            map.remove(id);
            return None;
        }
        let session = map.get_mut(id)?;
        session.last_seen = now;
        Some(session.clone())
    }

    pub fn close(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

/// How cookies are named and flagged (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    pub secure: bool,
}

pub const SESSION: &str = "pmoc_session";
pub const KIOSK: &str = "pmoc_kiosk";
/// The sign-in form's double-submit CSRF cookie.
pub const SIGN_IN: &str = "pmoc_signin";
/// The pending OpenID sign-in's `state`, binding the callback to this browser.
pub const OIDC_STATE: &str = "pmoc_oidc";

impl CookiePolicy {
    /// The cookie's name as sent (`__Host-` prefixed when secure).
    pub fn name(self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// A `Set-Cookie` value; `max_age` in seconds, 0 deletes.
    pub fn set(self, base: &str, value: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.name(base)
        )
    }

    /// The value of cookie `base` in a request's `Cookie` headers.
    pub fn get(self, headers: &axum::http::HeaderMap, base: &str) -> Option<String> {
        let name = self.name(base);
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_millis(0));
        let id = sessions.open("a", "operator", Origin::Oidc);
        assert!(sessions.touch(&id).is_none(), "idle limit of zero");
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let id = sessions.open("a", "operator", Origin::Oidc);
        let s = sessions.touch(&id).expect("live");
        assert_eq!((s.user.as_str(), s.csrf.len()), ("a", 43));
        sessions.close(&id);
        assert!(sessions.touch(&id).is_none());
        assert!(!same_secret("", ""));
    }

    #[test]
    fn cookies_are_host_prefixed_when_secure() {
        let secure = CookiePolicy { secure: true };
        let set = secure.set(SESSION, "abc", 60);
        assert!(set.starts_with("__Host-pmoc_session=abc;"));
        assert!(set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite"));
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "x=1; __Host-pmoc_session=abc".parse().expect("header"),
        );
        assert_eq!(secure.get(&h, SESSION).as_deref(), Some("abc"));
        assert_eq!(CookiePolicy { secure: false }.get(&h, SESSION), None);
    }
}
