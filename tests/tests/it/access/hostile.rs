//! Hostile input on every parameter: injection, traversal and oversized
//! values get a plain refusal (400/404/413), never data, a server error or
//! a changed database.

use pmoc_tests::auth::{http, post_sign_in, sign_in};
use reqwest::StatusCode;

use super::Stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_traversal_and_oversized_values_are_refused() -> anyhow::Result<()> {
    let stack = Stack::start("access_hostile", |_| {}).await?;
    let op = sign_in(&stack.base, "op").await?;
    let long = "9".repeat(5_000);
    let sql = "34'%20OR%201=1--";
    let gets: Vec<(String, &[u16])> = vec![
        // Path parameters.
        (format!("/api/area/province/{sql}?committee=water"), &[404]),
        (
            "/api/area/province/..%2F..%2Fetc%2Fpasswd?committee=water".into(),
            &[404],
        ),
        (format!("/api/area/{sql}/34?committee=water"), &[404]),
        (format!("/api/area/province/{long}?committee=water"), &[404]),
        (format!("/api/geo/districts/{sql}"), &[404]),
        (
            "/api/geo/districts/..%2F..%2F..%2Fetc%2Fpasswd".into(),
            &[404],
        ),
        // Query parameters.
        ("/api/area/province/34?committee=water'--".into(), &[400]),
        (
            "/api/area/province/34?committee=water&range=1d;DROP%20TABLE%20alerts".into(),
            &[400],
        ),
        (
            format!("/api/area/province/34?committee=water&range={long}"),
            &[400],
        ),
        ("/api/map/districts?committee=%00".into(), &[400]),
        ("/api/alerts?all=1%27".into(), &[400]),
        (format!("/api/audit?user={long}"), &[400]),
        ("/api/audit?user=x'%20OR%20'1'='1".into(), &[200]),
        ("/api/audit?limit=-1".into(), &[400]),
        (
            "/api/stream?committee=water%0d%0aSet-Cookie:x=1".into(),
            &[400],
        ),
        // Static files.
        ("/pkg/../../../../etc/passwd".into(), &[200, 400, 404]),
        (
            "/pkg/%2e%2e/%2e%2e/%2e%2e/etc/passwd".into(),
            &[200, 400, 404],
        ),
        ("/signin?next=//evil.example".into(), &[200]),
    ];
    for (path, allowed) in &gets {
        let r = op.get(&stack.url(path)).send().await?;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        assert!(allowed.contains(&status), "{path}: {status} {body:.200}");
        assert!(!body.contains("root:x:0:0"), "{path} leaked a file");
        assert!(
            !body.contains("evil.example"),
            "{path} echoed the foreign next"
        );
    }
    // The audit filter is bound, not spliced: the quote matched nobody.
    let entries: Vec<pmoc_schemas::auth::AuditEntry> = op
        .get(&stack.url("/api/audit?decision=all&user=x'%20OR%20'1'='1"))
        .send()
        .await?
        .json()
        .await?;
    assert!(entries.is_empty());

    // Bodies and ids of alert actions.
    let act = |id: &str| stack.url(&format!("/api/alerts/{id}/acknowledge"));
    let posts: Vec<(String, String, u16)> = vec![
        (
            act("a-water-34"),
            format!(r#"{{"comment": "{}"}}"#, "x".repeat(1_001)),
            413,
        ),
        (
            act("a-water-34"),
            format!(r#"{{"comment": "{}"}}"#, "x".repeat(20_000)),
            413,
        ),
        (
            act("a-water-34"),
            r#"{"comment": "x", "actor": "someone else"}"#.into(),
            422,
        ),
        (act("a-water-34"), "not json".into(), 400),
        (act("a-water-34"), r#"{"comment": ""}"#.into(), 400),
        (
            act("%27%3B%20DROP%20TABLE%20alerts--"),
            r#"{"comment": "x"}"#.into(),
            404,
        ),
        (act(&"a".repeat(300)), r#"{"comment": "x"}"#.into(), 404),
        (act("no-such-alert"), r#"{"comment": "x"}"#.into(), 404),
        (
            stack.url("/api/alerts/a-water-34/delete"),
            r#"{"comment": "x"}"#.into(),
            404,
        ),
    ];
    for (url, body, want) in &posts {
        let r = op
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), *want, "{url} {body:.80}");
    }
    let actions: u64 = stack
        .client
        .query("SELECT count() FROM alert_actions")
        .fetch_one()
        .await?;
    assert_eq!(actions, 0, "nothing hostile was recorded");
    let alerts: u64 = stack
        .client
        .query("SELECT count() FROM alerts")
        .fetch_one()
        .await?;
    assert_eq!(alerts, 3, "the alerts table is intact");

    // The sign-in form: oversized and hostile user names and passwords.
    for (user, password) in [
        (long.as_str(), "x"),
        ("op", long.as_str()),
        ("op' OR '1'='1", "x"),
        ("../../etc/passwd", "x"),
    ] {
        let r = post_sign_in(&stack.base, user, password).await?;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{user:.40}");
    }
    let huge = http()
        .post(stack.url("/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("user={}", "a".repeat(100_000)))
        .send()
        .await?;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    stack.stop().await
}
