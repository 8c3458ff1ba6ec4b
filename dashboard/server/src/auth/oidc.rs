//! OpenID Connect sign-in: authorization code flow with PKCE (S256), a
//! nonce and a state bound to the browser by a cookie, through the
//! `openidconnect` crate, which checks the ID token's signature (against
//! the provider's published keys), issuer, audience, expiry and nonce.
//!
//! The role comes from one claim of the verified ID token
//! (`[auth.oidc] role_claim`), mapped to a role name through
//! `[auth.oidc.roles]`; a value not in the map signs nobody in. The claim is
//! read from the token's payload only after `claims()` verified it, which
//! spares declaring the provider's custom claims as Rust types.
//!
//! HTTP goes through the workspace's reqwest (openidconnect's own reqwest
//! feature would pull a second major version), with redirects off as the
//! crate advises against SSRF. Discovery happens on first use and is retried
//! until it succeeds, so a provider that is down at start does not stop the
//! dashboard (local accounts keep working).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use pmoc_schemas::auth::OidcSettings;
use tokio::sync::OnceCell;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long a started sign-in may take at the provider.
const PENDING_FOR: Duration = Duration::from_secs(600);
/// Started sign-ins held at most (a flood of starts cannot exhaust memory).
const MAX_PENDING: usize = 10_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    #[error("invalid [auth.oidc] {0}")]
    Config(&'static str),
    #[error("discovering the provider")]
    Discovery(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("unknown or expired sign-in state")]
    State,
    #[error("exchanging the code")]
    Exchange(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the provider returned no ID token")]
    NoIdToken,
    #[error("ID token rejected")]
    IdToken(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("claim {0:?} missing or not a string")]
    Claim(String),
}

fn boxed(
    e: impl std::error::Error + Send + Sync + 'static,
) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

struct Pending {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    next: String,
    started: Instant,
}

/// The provider, discovered lazily, and the sign-ins in progress.
pub struct Oidc {
    settings: OidcSettings,
    http: Http,
    client: OnceCell<Client>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Oidc({})", self.settings.issuer)
    }
}

/// A signed-in user as the provider vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub user: String,
    /// The role claim's value (not yet mapped to a role).
    pub role_claim: String,
    /// Where to go after signing in (a local path).
    pub next: String,
}

impl Oidc {
    pub fn new(settings: &OidcSettings) -> Result<Self, OidcError> {
        IssuerUrl::new(settings.issuer.clone()).map_err(|_| OidcError::Config("issuer"))?;
        RedirectUrl::new(settings.redirect_url.clone())
            .map_err(|_| OidcError::Config("redirect_url"))?;
        if settings.client_id.is_empty() {
            return Err(OidcError::Config("client_id"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|_| OidcError::Config("http client"))?;
        Ok(Self {
            settings: settings.clone(),
            http: Http(http),
            client: OnceCell::new(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> Result<&Client, OidcError> {
        self.client
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.settings.issuer.clone())
                    .map_err(|_| OidcError::Config("issuer"))?;
                let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                    .await
                    .map_err(|e| OidcError::Discovery(boxed(e)))?;
                let secret = (!self.settings.client_secret.is_empty())
                    .then(|| ClientSecret::new(self.settings.client_secret.clone()));
                let redirect = RedirectUrl::new(self.settings.redirect_url.clone())
                    .map_err(|_| OidcError::Config("redirect_url"))?;
                Ok(CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.settings.client_id.clone()),
                    secret,
                )
                .set_redirect_uri(redirect))
            })
            .await
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and the
    /// state to bind to the browser (cookie).
    pub async fn begin(&self, next: &str) -> Result<(String, String), OidcError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        if let Ok(mut pending) = self.pending.lock() {
            pending.retain(|_, p| p.started.elapsed() < PENDING_FOR);
            if pending.len() >= MAX_PENDING {
                return Err(OidcError::State);
            }
            pending.insert(
                state.secret().clone(),
                Pending {
                    verifier,
                    nonce,
                    next: next.to_owned(),
                    started: Instant::now(),
                },
            );
        }
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Finishes a sign-in: exchanges the code (with the PKCE verifier) and
    /// verifies the ID token.
    pub async fn finish(&self, state: &str, code: &str) -> Result<Verified, OidcError> {
        let pending = self
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(state))
            .filter(|p| p.started.elapsed() < PENDING_FOR)
            .ok_or(OidcError::State)?;
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Exchange(boxed(e)))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(boxed(e)))?;
        let token = response.id_token().ok_or(OidcError::NoIdToken)?;
        token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| OidcError::IdToken(boxed(e)))?;
        // Verified above; now read the configured claims from its payload.
        let jwt = token.to_string();
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .ok_or(OidcError::Claim("payload".to_owned()))?;
        let claim = |name: &str| {
            payload
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| OidcError::Claim(name.to_owned()))
        };
        Ok(Verified {
            user: claim(&self.settings.user_claim)?,
            role_claim: claim(&self.settings.role_claim)?,
            next: pending.next,
        })
    }

    /// The role name a claim value maps to.
    pub fn role_for(&self, claim: &str) -> Option<&str> {
        self.settings.roles.get(claim).map(String::as_str)
    }
}

/// `openidconnect`'s HTTP client, over reqwest (an owned future, so the
/// handlers that use it stay `Send`).
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<openidconnect::HttpResponse, Self::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        let http = self.0.clone();
        Box::pin(async move { send(http, request).await })
    }
}

/// One HTTP exchange for `openidconnect`, over reqwest.
async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut builder = axum::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    // Status and headers came from a valid response; building cannot fail.
    Ok(builder
        .body(body)
        .unwrap_or_else(|_| axum::http::Response::new(Vec::new())))
}
