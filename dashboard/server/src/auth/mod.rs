//! Sign-in, roles and scopes: nobody sees anything until signed in.
//!
//! The [`layer`] runs before every route. It refuses requests for a host
//! this server does not serve (DNS rebinding), finds out who is asking (a
//! session cookie, a wall screen's kiosk cookie, or a trusted proxy's signed
//! header), refuses state-changing session requests without the CSRF
//! token, turns away anonymous requests (401 for the API, the sign-in page
//! for pages), adds the security headers and writes the audit entry.
//! Handlers then take a [`Principal`], [`Person`] or [`Operator`] and cut
//! every result down with its [`scope::Access`].
//!
//! | module | what |
//! | --- | --- |
//! | [`local`] | local accounts (argon2id), managed from the command line |
//! | [`oidc`] | OpenID Connect, authorization code with PKCE |
//! | [`session`] | server-side sessions and cookies |
//! | [`kiosk`] | wall screens' display-only tokens |
//! | [`proxy`] | a reverse proxy's HMAC-signed identity header |
//! | [`limit`] | sign-in rate limit and lockout |
//! | [`scope`] | what each role sees |
//! | [`signin`] | the sign-in pages and their handlers |
//! | [`refusal`] | the one way a request is refused |

pub mod file;
pub mod headers;
pub mod kiosk;
pub mod limit;
pub mod local;
pub mod oidc;
pub mod principal;
pub mod proxy;
pub mod refusal;
pub mod scope;
pub mod session;
pub mod signin;

use std::{collections::HashMap, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use pmoc_schemas::{auth::AuditEntry, config::Settings};
use pmoc_tls::Peer;

pub use principal::{Operator, Person, Principal, Via};
pub use refusal::{Reason, Refusal};

use crate::audit::{AuditLog, MAX_PARAMS_CHARS};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error(transparent)]
    Scope(#[from] scope::ScopeError),
    #[error(transparent)]
    File(#[from] file::FileError),
    #[error(transparent)]
    Oidc(#[from] oidc::OidcError),
    #[error("[auth.oidc.roles] maps {0:?} to a role not in [auth.roles]")]
    OidcRole(String),
    #[error("reading the proxy key {0}")]
    ProxyKey(String, #[source] std::io::Error),
    #[error("the proxy key must be at least {} bytes", proxy::MIN_KEY_BYTES)]
    ShortProxyKey,
    #[error(
        "refusing to listen on {0}: beyond loopback, sign-in must be configured \
         (a local account from `pmoc-dashboard accounts add`, or [auth.oidc])"
    )]
    NoSignIn(SocketAddr),
    #[error(
        "refusing to listen on {0} over plain http: beyond loopback, configure \
         [dashboard.tls] or, behind a TLS-terminating proxy, auth.behind_tls_proxy"
    )]
    PlainHttp(SocketAddr),
    #[error("auth.dev_insecure_cookies is for loopback only, not {0}")]
    InsecureCookies(SocketAddr),
    #[error("beyond loopback ({0}), list the dashboard's host names in auth.allowed_hosts")]
    NoHosts(SocketAddr),
}

/// Everything sign-in needs, shared by every request.
pub struct Auth {
    pub settings: pmoc_schemas::auth::AuthSettings,
    roles: HashMap<String, Arc<scope::Access>>,
    pub accounts: Option<file::Watched<local::Accounts>>,
    pub kiosks: Option<file::Watched<kiosk::Kiosks>>,
    pub sessions: session::Sessions,
    pub limits: limit::Limits,
    pub cookies: session::CookiePolicy,
    pub oidc: Option<oidc::Oidc>,
    proxy_key: Option<Vec<u8>>,
    hosts: Vec<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("roles", &self.roles.keys())
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

fn watched<T: serde::de::DeserializeOwned + Default>(
    path: &str,
) -> Result<Option<file::Watched<T>>, file::FileError> {
    (!path.is_empty())
        .then(|| file::Watched::open(Path::new(path)))
        .transpose()
}

impl Auth {
    /// Checks the settings against where the server listens (`local`) and
    /// whether the listener is TLS; refuses what would be unsafe.
    pub fn build(settings: &Settings, local: SocketAddr, tls: bool) -> Result<Self, AuthError> {
        let a = &settings.auth;
        let roles = a
            .roles
            .iter()
            .map(|(name, r)| {
                Ok((
                    name.clone(),
                    Arc::new(scope::Access::from_settings(name, r)?),
                ))
            })
            .collect::<Result<HashMap<_, _>, scope::ScopeError>>()?;
        if let Some(bad) = a.oidc.roles.values().find(|r| !roles.contains_key(*r)) {
            return Err(AuthError::OidcRole(bad.clone()));
        }
        let proxy_key = (!a.proxy.hmac_key_file.is_empty())
            .then(|| {
                std::fs::read(&a.proxy.hmac_key_file)
                    .map_err(|e| AuthError::ProxyKey(a.proxy.hmac_key_file.clone(), e))
            })
            .transpose()?;
        if proxy_key
            .as_ref()
            .is_some_and(|k| k.len() < proxy::MIN_KEY_BYTES)
        {
            return Err(AuthError::ShortProxyKey);
        }
        let auth = Self {
            roles,
            accounts: watched(&a.accounts_file)?,
            kiosks: watched(&a.kiosks_file)?,
            sessions: session::Sessions::new(
                Duration::from_secs(a.session_seconds),
                Duration::from_secs(a.idle_seconds),
            ),
            limits: limit::Limits::new(
                a.sign_ins_per_minute,
                a.max_failed_sign_ins,
                Duration::from_secs(a.lockout_seconds),
            ),
            cookies: session::CookiePolicy {
                secure: !a.dev_insecure_cookies,
            },
            oidc: a
                .oidc
                .enabled()
                .then(|| oidc::Oidc::new(&a.oidc))
                .transpose()?,
            proxy_key,
            hosts: if a.allowed_hosts.is_empty() {
                let port = local.port();
                vec![
                    local.to_string(),
                    format!("localhost:{port}"),
                    format!("127.0.0.1:{port}"),
                    format!("[::1]:{port}"),
                ]
            } else {
                a.allowed_hosts
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect()
            },
            settings: a.clone(),
        };
        if !local.ip().is_loopback() {
            if !auth.sign_in_configured() {
                return Err(AuthError::NoSignIn(local));
            }
            if !tls && !a.behind_tls_proxy {
                return Err(AuthError::PlainHttp(local));
            }
            if a.dev_insecure_cookies {
                return Err(AuthError::InsecureCookies(local));
            }
            if a.allowed_hosts.is_empty() {
                return Err(AuthError::NoHosts(local));
            }
        }
        Ok(auth)
    }

    /// Whether anybody can sign in at all.
    pub fn sign_in_configured(&self) -> bool {
        self.oidc.is_some()
            || self.proxy_key.is_some()
            || self
                .accounts
                .as_ref()
                .is_some_and(|a| a.get().any_enabled())
    }

    /// The resolved scope of a role name.
    pub fn access(&self, role: &str) -> Option<Arc<scope::Access>> {
        self.roles.get(role).cloned()
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase)
            .is_some_and(|h| self.hosts.contains(&h))
    }

    /// Who sent this request, if anyone; a bad proxy signature is refused
    /// rather than treated as anonymous.
    fn identify(&self, request: &Request) -> Result<Option<Principal>, Reason> {
        let headers = request.headers();
        if let Some(key) = &self.proxy_key
            && let Some(value) = headers.get(proxy::HEADER)
        {
            let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let (user, role) = value
                .to_str()
                .ok()
                .and_then(|v| {
                    proxy::verify(
                        key,
                        v,
                        request.method().as_str(),
                        path,
                        crate::live::now_ms() / 1000,
                        self.settings.proxy.max_skew_seconds,
                    )
                })
                .filter(|(user, _)| local::valid_user(user))
                .ok_or(Reason::BadProxySignature)?;
            let access = self.access(&role).ok_or(Reason::BadProxySignature)?;
            return Ok(Some(Principal {
                user,
                access,
                via: Via::Proxy,
            }));
        }
        if let Some(token) = self.cookies.get(headers, session::KIOSK)
            && let Some(kiosks) = &self.kiosks
        {
            let all = kiosks.get();
            if let Some((name, kiosk)) = all.find(&token)
                && let Some(access) = self.access(&kiosk.role)
            {
                return Ok(Some(Principal {
                    user: format!("kiosk:{name}"),
                    access,
                    via: Via::Kiosk {
                        id: name.to_owned(),
                    },
                }));
            }
        }
        let Some(id) = self.cookies.get(headers, session::SESSION) else {
            return Ok(None);
        };
        let Some(session) = self.sessions.touch(&id) else {
            return Ok(None);
        };
        if let session::Origin::Local { generation } = session.origin {
            let still_valid = self.accounts.as_ref().is_some_and(|a| {
                a.get().accounts.get(&session.user).is_some_and(|acc| {
                    !acc.disabled && acc.generation == generation && acc.role == session.role
                })
            });
            if !still_valid {
                self.sessions.close(&id);
                return Ok(None);
            }
        }
        Ok(self.access(&session.role).map(|access| Principal {
            user: session.user,
            access,
            via: Via::Session {
                id,
                csrf: session.csrf,
            },
        }))
    }
}

/// Paths anybody may fetch: the sign-in flow and the static shell it needs.
fn public(path: &str) -> bool {
    matches!(
        path,
        "/signin"
            | "/signin/oidc"
            | "/oidc/callback"
            | "/kiosk"
            | "/healthz"
            | "/style.css"
            | "/boot.js"
            | "/favicon.ico"
    ) || path.starts_with(headers::STATIC_PREFIX)
        || path.starts_with("/fonts/")
}

/// Query keys whose values are secrets and never reach the audit log.
const REDACTED: [&str; 3] = ["token", "code", "state"];

fn params(request: &Request) -> String {
    let uri = request.uri();
    let query = uri.query().map(|q| {
        q.split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if REDACTED.contains(&k) => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let text = match query {
        Some(q) => format!("{}?{q}", uri.path()),
        None => uri.path().to_owned(),
    };
    text.chars().take(MAX_PARAMS_CHARS).collect()
}

/// The state the layer needs.
#[derive(Debug, Clone)]
pub struct Gate {
    pub auth: Arc<Auth>,
    pub audit: AuditLog,
}

/// See the module comment.
pub async fn layer(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    mut request: Request,
    next: Next,
) -> Response {
    let at_ms = crate::live::now_ms();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().chars().take(200).collect());
    let params = params(&request);
    let path = request.uri().path().to_owned();
    let outcome = decide(&gate.auth, &mut request, &path);
    let principal = request.extensions().get::<Principal>().cloned();
    let mut response = match outcome {
        Ok(()) => next.run(request).await,
        Err(response) => *response,
    };
    headers::secure(&path, response.headers_mut());
    let reason = response.extensions().get::<Reason>().copied();
    let status = response.status();
    gate.audit.record(AuditEntry {
        at_ms,
        user: principal
            .as_ref()
            .map(|p| p.user.clone())
            .unwrap_or_default(),
        role: principal
            .as_ref()
            .map(|p| p.access.role.clone())
            .unwrap_or_default(),
        method: method.to_string(),
        route,
        params,
        decision: match (reason, status) {
            (Some(_), _) => "deny",
            (None, s) if s.is_server_error() => "error",
            (None, s) if s.is_client_error() => "invalid",
            _ => "allow",
        }
        .to_owned(),
        reason: reason.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        status: status.as_u16(),
        peer: peer.0.to_string(),
    });
    response
}

/// Host check, identity and CSRF; `Err` is the refusal to send instead.
fn decide(auth: &Auth, request: &mut Request, path: &str) -> Result<(), Box<Response>> {
    if !auth.host_allowed(request.headers()) {
        return Err(Box::new(Refusal::new(Reason::BadHost).into_response()));
    }
    let principal = auth
        .identify(request)
        .map_err(|r| Box::new(Refusal::new(r).into_response()))?;
    let Some(principal) = principal else {
        if public(path) {
            return Ok(());
        }
        if path.starts_with("/api/") || path == "/metrics" || request.method() != Method::GET {
            return Err(Box::new(Refusal::new(Reason::NoSession).into_response()));
        }
        // A page: to the sign-in page, and back here afterwards.
        let mut response =
            Redirect::to(&format!("/signin?next={}", signin::encode(path))).into_response();
        *response.status_mut() = StatusCode::SEE_OTHER;
        response
            .extensions_mut()
            .insert(Refusal::new(Reason::NoSession).0);
        return Err(Box::new(response));
    };
    // Known before any refusal below, so the audit names who was refused.
    request.extensions_mut().insert(principal.clone());
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && path.starts_with("/api/") {
        if let Via::Session { csrf, .. } = &principal.via {
            let sent = request
                .headers()
                .get(pmoc_schemas::auth::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !session::same_secret(csrf, sent) {
                return Err(Box::new(Refusal::new(Reason::Csrf).into_response()));
            }
        }
        if principal.is_kiosk() {
            return Err(Box::new(
                Refusal::new(Reason::KioskDisplayOnly).into_response(),
            ));
        }
    }
    Ok(())
}
