//! The sign-in flow, served as plain HTML from the server (no script, so it
//! lives under the same strict content security policy as everything else):
//!
//! | route | what |
//! | --- | --- |
//! | `GET /signin?next=/path` | the form (and the OpenID button when configured) |
//! | `POST /signin` | local account: user, password, CSRF (double-submit cookie) |
//! | `GET /signin/oidc?next=/path` | off to the OpenID provider |
//! | `GET /oidc/callback` | back from it |
//! | `GET /kiosk?token=...` | a wall screen enrols its browser |
//! | `POST /api/signout` | ends the session (CSRF header, as every API write) |
//! | `GET /api/session` | who is signed in, the role, the CSRF token |

use std::sync::Arc;

use axum::{
    Form, Json,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use pmoc_schemas::auth::SessionInfo;
use pmoc_tls::Peer;
use serde::Deserialize;

use super::{
    Auth, Principal, Reason, Refusal, Via, local,
    session::{self, OIDC_STATE, Origin, SESSION, SIGN_IN, random_token, same_secret},
};

/// How long the sign-in form and a pending OpenID sign-in stay valid.
const FORM_SECONDS: u64 = 600;
/// Browsers cap cookie lifetimes at 400 days; a kiosk re-enrols after that.
const KIOSK_SECONDS: u64 = 400 * 86_400;

/// Percent-encodes everything but unreserved characters and `/`.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A local path to return to after signing in; anything else (another
/// site, `//host`, odd characters) becomes `/`: no open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 512
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.~?=&:%".contains(&b)) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn page(auth: &Auth, next: &str, csrf: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| {
            format!(
                r#"<p id="signin-problem" class="problem">{}</p>"#,
                escape(p)
            )
        })
        .unwrap_or_default();
    let oidc = if auth.oidc.is_some() {
        format!(
            r#"<p class="or">หรือ · or</p><a id="signin-oidc" class="button" href="/signin/oidc?next={}">เข้าสู่ระบบผ่านผู้ให้บริการ · Sign in with the identity provider</a>"#,
            escape(&encode(next))
        )
    } else {
        String::new()
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="th"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PMOC · เข้าสู่ระบบ</title><link rel="stylesheet" href="/style.css"></head>
<body class="signin"><main class="signin-box">
<h1>ศูนย์ปฏิบัติการนายกรัฐมนตรี<br><small>Prime Minister's Operations Centre</small></h1>
{problem}
<form method="post" action="/signin">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{next}">
<label>ชื่อผู้ใช้ · User <input id="signin-user" name="user" autocomplete="username" required maxlength="{max_user}"></label>
<label>รหัสผ่าน · Password <input id="signin-password" name="password" type="password" autocomplete="current-password" required maxlength="{max_password}"></label>
<button id="signin-submit" type="submit">เข้าสู่ระบบ · Sign in</button>
</form>{oidc}
</main></body></html>"#,
        csrf = escape(csrf),
        next = escape(next),
        max_user = local::MAX_USER_CHARS,
        max_password = local::MAX_PASSWORD_BYTES,
    )
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The form, with a fresh double-submit CSRF token in a cookie and a field.
pub async fn form(State(auth): State<Arc<Auth>>, Query(q): Query<NextQuery>) -> Response {
    form_response(&auth, &safe_next(q.next.as_deref()), None, StatusCode::OK)
}

fn form_response(auth: &Auth, next: &str, problem: Option<&str>, status: StatusCode) -> Response {
    let csrf = random_token();
    (
        status,
        [(
            header::SET_COOKIE,
            auth.cookies.set(SIGN_IN, &csrf, FORM_SECONDS),
        )],
        Html(page(auth, next, &csrf, problem)),
    )
        .into_response()
}

/// The form again, with why, as a refusal (logged, counted, audited).
fn refused_form(auth: &Auth, next: &str, reason: Reason, problem: &str) -> Response {
    let refusal = Refusal::new(reason);
    let mut response = form_response(auth, next, Some(problem), reason.status());
    response.extensions_mut().insert(refusal.0);
    response
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    user: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// Checks a local account: CSRF, the address's budget, the account's
/// lockout, then the password (on the blocking pool).
pub async fn submit(
    State(auth): State<Arc<Auth>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let cookie = auth.cookies.get(&headers, SIGN_IN).unwrap_or_default();
    if !same_secret(&cookie, &form.csrf) {
        return refused_form(
            &auth,
            &next,
            Reason::Csrf,
            "แบบฟอร์มหมดอายุ · The form expired; try again",
        );
    }
    if !auth.limits.attempt(peer.0.ip()) {
        return refused_form(
            &auth,
            &next,
            Reason::RateLimited,
            "พยายามบ่อยเกินไป · Too many attempts; wait a minute",
        );
    }
    let user = form.user.trim().to_owned();
    if !local::valid_user(&user) {
        return refused_form(
            &auth,
            &next,
            Reason::BadCredentials,
            "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง · Wrong user name or password",
        );
    }
    if auth.limits.locked(&user) {
        return refused_form(
            &auth,
            &next,
            Reason::LockedOut,
            "บัญชีถูกล็อกชั่วคราว · Account locked after failed sign-ins; try later",
        );
    }
    let account = auth
        .accounts
        .as_ref()
        .and_then(|a| a.get().accounts.get(&user).cloned())
        .filter(|a| !a.disabled);
    let hash = account.as_ref().map(|a| a.hash.clone());
    let password = form.password;
    let ok = tokio::task::spawn_blocking(move || local::verify(hash.as_deref(), &password))
        .await
        .unwrap_or(false);
    let Some(account) = account.filter(|_| ok) else {
        auth.limits.failed(&user);
        return refused_form(
            &auth,
            &next,
            Reason::BadCredentials,
            "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง · Wrong user name or password",
        );
    };
    auth.limits.succeeded(&user);
    if auth.access(&account.role).is_none() {
        tracing::warn!(
            user,
            role = account.role,
            "account names a role not in [auth.roles]"
        );
        return refused_form(
            &auth,
            &next,
            Reason::BadCredentials,
            "บทบาทไม่ถูกต้อง · This account's role is not configured",
        );
    }
    let id = auth.sessions.open(
        &user,
        &account.role,
        Origin::Local {
            generation: account.generation,
        },
    );
    tracing::info!(user, role = account.role, "signed in");
    signed_in(&auth, &id, &next)
}

fn signed_in(auth: &Auth, id: &str, next: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, next.to_owned()),
            (
                header::SET_COOKIE,
                auth.cookies.set(SESSION, id, auth.settings.session_seconds),
            ),
        ],
    )
        .into_response()
}

/// Ends the session.
pub async fn sign_out(State(auth): State<Arc<Auth>>, principal: Principal) -> Response {
    if let Via::Session { id, .. } = &principal.via {
        auth.sessions.close(id);
    }
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth.cookies.set(SESSION, "", 0))],
    )
        .into_response()
}

/// Off to the OpenID provider.
pub async fn oidc_begin(State(auth): State<Arc<Auth>>, Query(q): Query<NextQuery>) -> Response {
    let Some(oidc) = &auth.oidc else {
        return (StatusCode::NOT_FOUND, "OpenID Connect is not configured").into_response();
    };
    match oidc.begin(&safe_next(q.next.as_deref())).await {
        Ok((url, state)) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, url),
                (
                    header::SET_COOKIE,
                    auth.cookies.set(OIDC_STATE, &state, FORM_SECONDS),
                ),
            ],
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(error = %pmoc_schemas::error::chain(&error), "oidc sign-in could not start");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the identity provider is not reachable; try again shortly",
            )
                .into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Back from the provider: the state must be this browser's, the code is
/// exchanged with the PKCE verifier, the ID token verified, the role mapped.
pub async fn oidc_callback(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let fail = |why: &str| {
        tracing::info!(why, "oidc sign-in failed");
        refused_form(
            &auth,
            "/",
            Reason::BadCredentials,
            "การเข้าสู่ระบบผ่านผู้ให้บริการไม่สำเร็จ · Sign-in with the identity provider failed",
        )
    };
    let (Some(oidc), Some(code), Some(state)) = (&auth.oidc, &q.code, &q.state) else {
        return fail(q.error.as_deref().unwrap_or("no code"));
    };
    let cookie = auth.cookies.get(&headers, OIDC_STATE).unwrap_or_default();
    if !same_secret(&cookie, state) {
        return fail("state does not match this browser");
    }
    let verified = match oidc.finish(state, code).await {
        Ok(v) => v,
        Err(error) => return fail(&pmoc_schemas::error::chain(&error)),
    };
    let Some(role) = oidc.role_for(&verified.role_claim).map(str::to_owned) else {
        return fail("role claim maps to no role");
    };
    if !local::valid_user(&verified.user) {
        return fail("user claim is not a valid user name");
    }
    let id = auth.sessions.open(&verified.user, &role, Origin::Oidc);
    tracing::info!(user = verified.user, role, "signed in with oidc");
    let mut response = signed_in(&auth, &id, &verified.next);
    if let Ok(clear) = auth.cookies.set(OIDC_STATE, "", 0).parse() {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct KioskQuery {
    token: Option<String>,
}

/// A wall screen enrols: the token moves into a cookie and off the URL.
pub async fn kiosk(State(auth): State<Arc<Auth>>, Query(q): Query<KioskQuery>) -> Response {
    let found = q.token.as_deref().and_then(|t| {
        let kiosks = auth.kiosks.as_ref()?.get();
        kiosks.find(t).map(|(name, _)| name.to_owned())
    });
    match (found, q.token) {
        (Some(name), Some(token)) => {
            tracing::info!(kiosk = name, "wall screen enrolled");
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/wall".to_owned()),
                    (
                        header::SET_COOKIE,
                        auth.cookies.set(session::KIOSK, &token, KIOSK_SECONDS),
                    ),
                ],
            )
                .into_response()
        }
        _ => Refusal::new(Reason::BadCredentials).into_response(),
    }
}

/// Who is signed in: the app reads its role and CSRF token from here.
pub async fn session_info(principal: Principal) -> Json<SessionInfo> {
    Json(SessionInfo {
        user: principal.user.clone(),
        role: principal.access.role.clone(),
        kind: principal.access.kind,
        kiosk: principal.is_kiosk(),
        committees: principal.access.committees.clone(),
        csrf: principal.csrf().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/area/province/34?range=1d")),
            "/area/province/34?range=1d"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/a\"><script>",
            "javascript:x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(encode("/a b?c=d"), "/a%20b%3Fc%3Dd");
        assert_eq!(escape("<a href=\"x\">"), "&lt;a href=&quot;x&quot;&gt;");
    }
}
