//! The router without a broker: everything answered before publishing, and
//! the 503 a missing broker produces.

use std::collections::BTreeMap;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use pmoc_schemas::config::Settings;
use tower::ServiceExt;

use super::{build, hash_token, metrics_router, records::tests::rainfall};

const TOKEN: &str = "test-token-hii";

/// Settings whose broker does not exist: a port nothing listens on.
fn settings() -> Settings {
    let mut s = Settings::default();
    s.kafka.brokers = "127.0.0.1:9".to_owned();
    s.http_ingest.max_body_bytes = 4096;
    s.http_ingest.ack_timeout_ms = 300;
    s.http_ingest.agencies = BTreeMap::from([("HII".to_owned(), hash_token(TOKEN))]);
    s
}

fn post(token: Option<&str>, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    let mut request = Request::post("/v1/events").header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    request.body(body.into()).expect("request")
}

async fn send(request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let (status, _, json) = send_to(&build(&settings()).expect("app"), request).await;
    (status, json)
}

/// Sends to an existing router (its admission state carries over), with
/// the `Retry-After` header of the answer.
async fn send_to(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, Option<u64>, serde_json::Value) {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, retry_after, json)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time")
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401() {
    for token in [None, Some("wrong"), Some("")] {
        let (status, body) = send(post(token, "application/json", "[]")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
}

#[tokio::test]
async fn bad_bodies_are_refused_whole() {
    let big = format!("[{}]", " ".repeat(5000));
    let (status, body) = send(post(Some(TOKEN), "application/json", big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("limit of 4096 bytes"), "{message}");

    let (status, _) = send(post(Some(TOKEN), "text/csv", "a,b")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = send(post(Some(TOKEN), "application/json", "{\"a\":1}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("JSON array"))
    );
}

#[tokio::test]
async fn an_empty_batch_is_accepted() {
    let (status, body) = send(post(Some(TOKEN), "application/x-ndjson", "\n")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"agency": "HII", "received": 0, "accepted": 0, "rejected": []})
    );
}

#[tokio::test]
async fn an_unreachable_broker_is_503() {
    let record = rainfall("r-1", "HII", "50", &now_rfc3339());
    let app = build(&settings()).expect("app");
    let (status, retry_after, body) =
        send_to(&app, post(Some(TOKEN), "application/x-ndjson", record)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("send the same batch again"), "{message}");
}

#[tokio::test]
async fn batches_over_max_records_are_413_with_the_bound() {
    let mut s = settings();
    s.http_ingest.max_records = 2;
    let app = build(&s).expect("app");
    let now = now_rfc3339();
    let lines = ["a", "b", "c"].map(|id| rainfall(id, "HII", "50", &now));
    let (status, _, body) = send_to(
        &app,
        post(Some(TOKEN), "application/x-ndjson", lines.join("\n")),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("limit of 2"), "{message}");
}

/// Messages the broker never answered keep their queue slots after their
/// request was answered 503, so the next batch that would not fit is 429
/// at once, with Retry-After, instead of piling up in the producer.
#[tokio::test]
async fn a_backlog_of_unacknowledged_messages_is_429_with_retry_after() {
    let mut s = settings();
    s.http_ingest.max_queued_messages = 3;
    let app = build(&s).expect("app");
    let now = now_rfc3339();
    let batch = |ids: [&str; 2]| ids.map(|id| rainfall(id, "HII", "50", &now)).join("\n");
    let (status, _, _) = send_to(
        &app,
        post(Some(TOKEN), "application/x-ndjson", batch(["q-1", "q-2"])),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "no broker answers");
    let started = std::time::Instant::now();
    let (status, retry_after, body) = send_to(
        &app,
        post(Some(TOKEN), "application/x-ndjson", batch(["q-3", "q-4"])),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(250),
        "answered at once"
    );
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("2 messages are awaiting the broker"),
        "{message}"
    );
}

#[tokio::test]
async fn health_and_metrics_are_served() {
    let app = build(&settings()).expect("app");
    let _ = app
        .clone()
        .oneshot(post(Some("nope"), "application/json", "[]"))
        .await;
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");
    let health = app.clone().oneshot(get("/healthz")).await.expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    let public = app.oneshot(get("/metrics")).await.expect("metrics");
    assert_eq!(
        public.status(),
        StatusCode::NOT_FOUND,
        "not on the agency-facing listener"
    );
    let metrics = metrics_router()
        .oneshot(get("/metrics"))
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("pmoc_http_ingest_unauthorised_total"),
        "{text}"
    );
}
