//! Sign-in's brakes and edges: lockout, rate limit, session expiry, CSRF,
//! disabled accounts and revoked kiosks, the security headers, the Host
//! check, refusing to listen beyond loopback without sign-in, and TLS.

use std::{path::Path, time::Duration};

use pmoc_schemas::config::Settings;
use pmoc_server::auth::{kiosk::Kiosks, local::Accounts};
use pmoc_tests::{
    auth::{http, password_of, post_sign_in, set_cookie, sign_in},
    process::wait_for,
};
use reqwest::StatusCode;

use super::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_rate_limit_expiry_csrf_and_revocation() -> anyhow::Result<()> {
    let stack = Stack::start("access_limits", |s| {
        s.auth.max_failed_sign_ins = 3;
        s.auth.idle_seconds = 2;
    })
    .await?;
    let base = &stack.base;

    // Three wrong passwords lock the account, even for the right one.
    for _ in 0..3 {
        let r = post_sign_in(base, "exec", "not-the-password-at-all").await?;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = post_sign_in(base, "exec", &password_of("exec")).await?;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        set_cookie(&r, "pmoc_session").is_none(),
        "no session while locked"
    );
    stack.audited("", "/signin", "locked_out").await?;
    stack.audited("", "/signin", "bad_credentials").await?;
    // Another account is not affected.
    sign_in(base, "op").await?;

    // The form's CSRF token must match its cookie.
    let r = http()
        .post(stack.url("/signin"))
        .form(&[
            ("user", "op"),
            ("password", &password_of("op")),
            ("csrf", "forged"),
        ])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    stack.audited("", "/signin", "csrf").await?;

    // API writes need the session's CSRF token.
    let op = sign_in(base, "op").await?;
    let url = stack.url("/api/alerts/a-sec-95/acknowledge");
    let without = http()
        .post(&url)
        .header("cookie", &op.cookie)
        .json(&serde_json::json!({"comment": "x"}))
        .send()
        .await?;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let wrong = http()
        .post(&url)
        .header("cookie", &op.cookie)
        .header("x-csrf-token", "wrong")
        .json(&serde_json::json!({"comment": "x"}))
        .send()
        .await?;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    stack
        .audited("op", "/api/alerts/{id}/{action}", "csrf")
        .await?;
    let actions: u64 = stack
        .client
        .query("SELECT count() FROM alert_actions")
        .fetch_one()
        .await?;
    assert_eq!(actions, 0, "nothing was recorded");

    // Sessions end when idle (2 s here), and sign-out ends them at once.
    let idle = sign_in(base, "wne").await?;
    let fresh = idle.get(&stack.url("/api/session")).send().await?;
    assert_eq!(fresh.status(), StatusCode::OK);
    // Any request restarts the idle timer, so the test must stay away for
    // the idle period itself: this wait is the behaviour under test.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let stale = idle.get(&stack.url("/api/session")).send().await?;
    assert_eq!(
        stale.status(),
        StatusCode::UNAUTHORIZED,
        "idle session expired"
    );
    let leaving = sign_in(base, "wne").await?;
    let out = leaving.post(&stack.url("/api/signout")).send().await?;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = leaving.get(&stack.url("/api/session")).send().await?;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // Disabling an account (the command line's store) ends its sessions.
    let sec = sign_in(base, "sec").await?;
    Accounts::disable(Path::new(&stack.settings.auth.accounts_file), "sec")?;
    wait_for(
        "disabled account signed out",
        Duration::from_secs(10),
        || async {
            let s = sec.get(&stack.url("/api/wall")).send().await?.status();
            Ok((s == StatusCode::UNAUTHORIZED).then_some(()))
        },
    )
    .await?;
    let r = post_sign_in(base, "sec", &password_of("sec")).await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Revoking a kiosk cuts the wall screen off.
    let kiosk = stack.kiosk_cookie().await?;
    let wall = http()
        .get(stack.url("/api/wall"))
        .header("cookie", &kiosk)
        .send()
        .await?;
    assert_eq!(wall.status(), StatusCode::OK);
    Kiosks::revoke(Path::new(&stack.settings.auth.kiosks_file), "wall-1")?;
    wait_for("revoked kiosk refused", Duration::from_secs(10), || async {
        let s = http()
            .get(stack.url("/api/wall"))
            .header("cookie", &kiosk)
            .send()
            .await?
            .status();
        Ok((s == StatusCode::UNAUTHORIZED).then_some(()))
    })
    .await?;
    let again = http()
        .get(stack.url(&format!("/kiosk?token={}", stack.kiosk)))
        .send()
        .await?;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // The token never reaches the audit log.
    let leaked: u64 = stack
        .client
        .query("SELECT count() FROM audit_log WHERE position(params, ?) > 0")
        .bind(stack.kiosk.as_str())
        .fetch_one()
        .await?;
    assert_eq!(leaked, 0);
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_headers_host_check_and_refusing_to_listen() -> anyhow::Result<()> {
    let stack = Stack::start("access_edges", |s| s.auth.sign_ins_per_minute = 4).await?;
    let base = &stack.base;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            post_sign_in(base, "nobody", "wrong-password-here")
                .await?
                .status(),
        );
    }
    assert_eq!(statuses[..4], [StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(statuses[4..], [StatusCode::TOO_MANY_REQUESTS; 2]);
    stack.audited("", "/signin", "rate_limited").await?;

    // Security headers.
    let page = http().get(stack.url("/signin")).send().await?;
    let h = page.headers();
    let csp = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert!(h.get("referrer-policy").is_some());
    let api = http().get(stack.url("/api/wall")).send().await?;
    assert_eq!(
        api.headers().get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let cookie = set_cookie(&page, "pmoc_signin").unwrap_or_default();
    assert!(
        cookie.starts_with("__Host-"),
        "secure cookies by default: {cookie}"
    );

    // DNS rebinding: a foreign Host is refused before anything else.
    let rebound = http()
        .get(stack.url("/signin"))
        .header("host", "evil.example")
        .send()
        .await?;
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);
    stack.audited("", "/signin", "bad_host").await?;

    // Beyond loopback, no sign-in configured: the server refuses to start.
    let mut open = stack.settings.clone();
    open.auth.accounts_file = String::new();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await?;
    let refused = pmoc_server::run(listener, open, async {}).await;
    let message = refused
        .err()
        .map(|e| pmoc_schemas::error::chain(&e))
        .unwrap_or_default();
    assert!(message.contains("sign-in must be configured"), "{message}");
    // With accounts but plain http, it refuses too.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await?;
    let refused = pmoc_server::run(listener, stack.settings.clone(), async {}).await;
    assert!(refused.is_err(), "plain http beyond loopback");
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_serves_tls() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()?;
    anyhow::ensure!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let stack = Stack::start("access_tls", |s: &mut Settings| {
        s.dashboard.tls.cert_file = cert.to_string_lossy().into_owned();
        s.dashboard.tls.key_file = key.to_string_lossy().into_owned();
    })
    .await?;
    let https = stack.base.replace("http://", "https://");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&cert)?)?)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let health = client.get(format!("{https}/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    let form = client.get(format!("{https}/signin")).send().await?;
    let set = form
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(set.contains("Secure") && set.contains("HttpOnly"), "{set}");
    let plain = http().get(stack.url("/healthz")).send().await;
    assert!(plain.is_err(), "no plain http on the TLS port");
    stack.stop().await
}
