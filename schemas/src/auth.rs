//! Who may see and do what on the dashboard: the `[auth]` settings (sign-in,
//! roles and their scopes) and the payloads the server sends the browser
//! about the signed-in user and the audit log.
//!
//! Here rather than in the server because the front end (WASM) reads the
//! same role vocabulary to show only the actions a role may take; the server
//! still enforces every rule itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::committee::{Committee, security::Classification};

/// The three kinds of role; a configured role is one of these with a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// The operations room: sees and acts on everything.
    Operator,
    /// Sees everything, acts on nothing.
    Executive,
    /// A ministry's liaison officer: its own committees in full, the
    /// others' headline figures only, optionally within a region or a list
    /// of provinces.
    Liaison,
}

impl RoleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Executive => "executive",
            Self::Liaison => "liaison",
        }
    }
}

/// One configured role (`[auth.roles.<name>]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSettings {
    pub kind: RoleKind,
    /// A liaison's own committees; ignored for other kinds.
    #[serde(default)]
    pub committees: Vec<Committee>,
    /// A liaison's geographic scope: an NSO region key (`NE`), or empty.
    #[serde(default)]
    pub region: String,
    /// ...or a list of province codes (`["34", "35"]`); both empty: the nation.
    #[serde(default)]
    pub provinces: Vec<String>,
    /// The highest classification of incident-level detail this role may
    /// see (see the server's `auth::scope` on what counts as such detail).
    #[serde(default = "lowest")]
    pub clearance: Classification,
}

fn lowest() -> Classification {
    Classification::Public
}

impl RoleSettings {
    pub fn new(kind: RoleKind, clearance: Classification) -> Self {
        Self {
            kind,
            committees: Vec::new(),
            region: String::new(),
            provinces: Vec::new(),
            clearance,
        }
    }
}

/// `[auth]`: sign-in is always required (deny by default); these say how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Local accounts (argon2id hashes), managed with `pmoc-dashboard
    /// accounts add|disable|reset|list`. Read again when it changes, so a
    /// disabled account's sessions end without a restart.
    pub accounts_file: String,
    /// Wall-screen kiosk tokens (hashes only), managed with
    /// `pmoc-dashboard kiosk enrol|revoke|list`.
    pub kiosks_file: String,
    /// A session ends this long after sign-in, whatever happens.
    pub session_seconds: u64,
    /// ...or after this long without a request.
    pub idle_seconds: u64,
    /// Failed sign-ins of one account before it is locked...
    pub max_failed_sign_ins: u32,
    /// ...for this long.
    pub lockout_seconds: u64,
    /// Sign-in attempts one client address may make per minute.
    pub sign_ins_per_minute: u32,
    /// The dashboard is reached over https through a reverse proxy that
    /// terminates TLS: cookies are then `Secure` although this listener is
    /// plain http.
    pub behind_tls_proxy: bool,
    /// DEVELOPMENT ONLY, loopback only: session cookies without `Secure`, for
    /// browsers that drop `Secure` cookies on plain `http://127.0.0.1`.
    pub dev_insecure_cookies: bool,
    /// Host names (with port where not 80/443) requests may name, against
    /// DNS rebinding. Empty: the listen address, `localhost` and
    /// `127.0.0.1` on the listen port.
    pub allowed_hosts: Vec<String>,
    /// Roles by name; accounts and OIDC claims name one of these.
    pub roles: BTreeMap<String, RoleSettings>,
    pub oidc: OidcSettings,
    pub proxy: ProxySettings,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            accounts_file: "pmoc-accounts.json".to_owned(),
            kiosks_file: "pmoc-kiosks.json".to_owned(),
            session_seconds: 8 * 3_600,
            idle_seconds: 30 * 60,
            max_failed_sign_ins: 5,
            lockout_seconds: 15 * 60,
            sign_ins_per_minute: 30,
            behind_tls_proxy: false,
            dev_insecure_cookies: false,
            allowed_hosts: Vec::new(),
            roles: [
                (
                    "operator",
                    RoleSettings::new(RoleKind::Operator, Classification::Secret),
                ),
                (
                    "executive",
                    RoleSettings::new(RoleKind::Executive, Classification::Secret),
                ),
            ]
            .into_iter()
            .map(|(n, r)| (n.to_owned(), r))
            .collect(),
            oidc: OidcSettings::default(),
            proxy: ProxySettings::default(),
        }
    }
}

/// `[auth.oidc]`: sign-in through an OpenID provider (authorization code
/// with PKCE). Off while `issuer` is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// The issuer URL; its `/.well-known/openid-configuration` is read at start.
    pub issuer: String,
    pub client_id: String,
    /// Set it with `PMOC_AUTH__OIDC__CLIENT_SECRET`, not in the file.
    pub client_secret: String,
    /// This dashboard's `/oidc/callback` as the browser reaches it.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The ID-token claim that names the user (shown and audited).
    pub user_claim: String,
    /// The ID-token claim whose value picks the role...
    pub role_claim: String,
    /// ...through this map: claim value -> role name in `[auth.roles]`. A
    /// value not listed here signs nobody in.
    pub roles: BTreeMap<String, String>,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            redirect_url: String::new(),
            scopes: vec!["profile".to_owned()],
            user_claim: "preferred_username".to_owned(),
            role_claim: "pmoc_role".to_owned(),
            roles: BTreeMap::new(),
        }
    }
}

impl OidcSettings {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

/// `[auth.proxy]`: a reverse proxy that signs users in itself may assert
/// who they are, but only by proving it: an HMAC-SHA256 signature, with a
/// key only it and this server hold, over the identity and the request.
/// Off while `hmac_key_file` is empty (the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySettings {
    /// File with the shared key (at least 32 bytes).
    pub hmac_key_file: String,
    /// How old a signature may be.
    pub max_skew_seconds: u32,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            hmac_key_file: String::new(),
            max_skew_seconds: 30,
        }
    }
}

/// `GET /api/session`: who is signed in, what the role allows, and the
/// CSRF token the page sends back on every state-changing request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: String,
    pub role: String,
    pub kind: RoleKind,
    /// A kiosk (wall screen): display only.
    pub kiosk: bool,
    /// Committees seen in full; all four for operators and executives.
    pub committees: Vec<Committee>,
    /// Empty for a display-only kiosk.
    pub csrf: String,
}

impl SessionInfo {
    pub fn is_operator(&self) -> bool {
        self.kind == RoleKind::Operator && !self.kiosk
    }

    /// Whether this user may acknowledge an alert of `committee`.
    pub fn acts_on(&self, committee: Committee) -> bool {
        !self.kiosk && self.kind != RoleKind::Executive && self.committees.contains(&committee)
    }
}

/// Name of the header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// One row of the audit log (`GET /api/audit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub user: String,
    pub role: String,
    pub method: String,
    pub route: String,
    pub params: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// Why a request was refused (`no_session`, `out_of_scope`, ...).
    pub reason: String,
    pub status: u16,
    pub peer: String,
}
