//! `POST /v1/events`: the HTTP door for agencies that cannot speak Kafka.
//!
//! A batch (a JSON array, or NDJSON) is authenticated by a bearer token that
//! belongs to one agency, each record is decoded and validated exactly as
//! the pipeline would ([`pmoc_schemas::envelope::decode`]), and then:
//!
//! - a valid record is published, byte for byte, to its committee's topic,
//!   keyed by province code;
//! - a rejected record (including a valid envelope of another agency,
//!   `agency_not_authorised`) is published, byte for byte, to the dead-letter
//!   topic with the reason in headers, and listed in the response.
//!
//! The answer waits for the broker's acknowledgement of every message, so a
//! 200 means durable. If the broker does not acknowledge within
//! `ack_timeout_ms` the answer is 503 and the client sends the batch again;
//! some records may have been stored already, which is safe because the
//! pipeline deduplicates on `event_id`.
//!
//! `build` prepares the router; `run` serves on a listener the caller bound
//! until the shutdown future completes, so tests run it on port 0.

pub mod auth;
pub mod body;
pub mod records;
mod telemetry;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header::WWW_AUTHENTICATE},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::{FutureExt, StreamExt, TryStreamExt, future::BoxFuture, stream};
use pmoc_schemas::{
    config::{CommitteeTopics, Settings},
    dead_letter::header,
};
use tokio::net::TcpListener;

pub use auth::{Tokens, hash_token};
pub use records::{IngestResponse, Rejected};

use crate::{IngestError, Publisher, kafka::Delivered};

/// Messages awaiting acknowledgement at once within one request.
const IN_FLIGHT: usize = 2048;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    #[error(transparent)]
    Tokens(#[from] auth::InvalidTokenHash),
    #[error("creating the producer")]
    Kafka(#[from] IngestError),
    #[error("serving http")]
    Io(#[from] std::io::Error),
    #[error("tls")]
    Tls(#[from] pmoc_tls::TlsError),
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    tokens: Arc<Tokens>,
    publisher: Publisher,
    topics: Arc<CommitteeTopics>,
    dead_letter_topic: Arc<str>,
    max_body_bytes: usize,
    max_record_bytes: usize,
    ack_timeout: Duration,
}

/// The routes, with a producer for `settings.kafka.brokers` (connecting
/// lazily: a broker that is down shows as 503 on requests, not here).
pub fn build(settings: &Settings) -> Result<Router, HttpError> {
    let http = &settings.http_ingest;
    let tokens = Tokens::from_config(&http.agencies)?;
    if tokens.agencies().next().is_none() {
        tracing::warn!("no agencies in http_ingest.agencies: every request will get 401");
    }
    let state = AppState {
        tokens: Arc::new(tokens),
        publisher: Publisher::new(&settings.kafka.brokers)?,
        topics: Arc::new(settings.kafka.topics.clone()),
        dead_letter_topic: settings.kafka.dead_letter_topic.as_str().into(),
        max_body_bytes: http.max_body_bytes,
        max_record_bytes: http.max_record_bytes,
        ack_timeout: Duration::from_millis(http.ack_timeout_ms),
    };
    // Installs the recorder before the first request is counted.
    pmoc_telemetry::metrics_handle();
    Ok(Router::new()
        .route("/v1/events", post(post_events))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state))
}

/// `/metrics`, served on `http_ingest.metrics_listen` only: never on the
/// agency-facing listener, where anyone holding a network path could read
/// per-agency counters.
pub fn metrics_router() -> Router {
    let handle = pmoc_telemetry::metrics_handle();
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    )
}

/// Serves until `shutdown` resolves; requests in progress finish first.
/// With `[http_ingest.tls]` set the listener speaks TLS; with
/// `metrics_listen` set, `/metrics` is served there.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError> {
    let app = build(&settings)?;
    let addr = listener.local_addr()?;
    let listener = match settings.http_ingest.tls.files() {
        Some((cert, key)) => {
            pmoc_tls::Listener::tls(listener, pmoc_tls::server_config(cert, key)?)?
        }
        None => pmoc_tls::Listener::plain(listener)?,
    };
    let metrics = match settings.http_ingest.metrics_listen.as_str() {
        "" => None,
        at => {
            let bound = TcpListener::bind(at).await?;
            tracing::info!(addr = %bound.local_addr()?, "http ingest metrics listening");
            Some(tokio::spawn(async move {
                let _ = axum::serve(bound, metrics_router()).await;
            }))
        }
    };
    tracing::info!(%addr, tls = listener.is_tls(), "http ingest listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    if let Some(m) = metrics {
        m.abort();
    }
    Ok(())
}

/// A JSON `{"error": message}` answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (status, Json(body)).into_response()
}

async fn post_events(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let agency = match state.tokens.authenticate(&headers) {
        Ok(agency) => agency.to_owned(),
        Err(failure) => {
            telemetry::unauthorised(failure);
            let mut response = error(StatusCode::UNAUTHORIZED, failure.to_string());
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let read = async {
        let format = body::format(&headers)?;
        let bytes = body::read(&headers, body, state.max_body_bytes).await?;
        Ok::<_, body::BodyError>((bytes, format))
    };
    let (bytes, format) = match read.await {
        Ok(ok) => ok,
        Err(e) => {
            telemetry::refused(Some(&agency), e.status().as_u16(), &e.to_string());
            return error(e.status(), e.to_string());
        }
    };
    let records = match body::split(&bytes, format) {
        Ok(records) => records,
        Err(e) => {
            telemetry::refused(Some(&agency), e.status().as_u16(), &e.to_string());
            return error(e.status(), e.to_string());
        }
    };
    let (valid, invalid) = records::sort(&records, &agency, now_ms(), state.max_record_bytes);

    let publishing = publish(&state, &agency, &valid, &invalid);
    match tokio::time::timeout(state.ack_timeout, publishing).await {
        Ok(Ok(())) => {}
        failed => {
            let why = match failed {
                Ok(Err(e)) => pmoc_schemas::error::chain(&e),
                _ => format!("no acknowledgement within {:?}", state.ack_timeout),
            };
            telemetry::broker_unavailable(&agency, records.len(), &why);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event broker did not acknowledge the whole batch in time: send the \
                 same batch again later (records already stored are deduplicated by event_id)",
            );
        }
    }
    let response = IngestResponse {
        agency,
        received: records.len(),
        accepted: valid.len(),
        rejected: invalid.into_iter().map(|i| i.rejected).collect(),
    };
    let status = response.status();
    telemetry::batch_done(
        &response.agency,
        response.accepted,
        &response.rejected,
        status.as_u16(),
    );
    (status, Json(response)).into_response()
}

/// Publishes the valid records to their committee topics and the rejects to
/// the dead-letter topic, and waits until the broker acknowledged them all.
async fn publish(
    state: &AppState,
    agency: &str,
    valid: &[records::Valid<'_>],
    invalid: &[records::Invalid<'_>],
) -> Result<(), IngestError> {
    let source = format!("http:{agency}");
    let publisher = &state.publisher;
    // Boxed in a plain loop: closures over borrowed records trip the
    // compiler's higher-ranked `Send` check for the handler future.
    let mut sends: Vec<BoxFuture<'_, Result<Delivered, IngestError>>> =
        Vec::with_capacity(valid.len() + invalid.len());
    for v in valid {
        let topic = state.topics.of(v.committee);
        sends.push(publisher.send(topic, &v.province, v.bytes).boxed());
    }
    for i in invalid {
        let r = &i.rejected;
        // A record over the record limit is dead-lettered only up to it:
        // the broker's message limit would refuse it whole and fail the
        // batch forever; the client has the full reason in the response.
        let bytes = &i.bytes[..i.bytes.len().min(state.max_record_bytes)];
        let source = source.as_str();
        let topic = &*state.dead_letter_topic;
        sends.push(
            async move {
                let headers = [
                    (header::REASON_KIND, r.kind.as_str()),
                    (header::REASON, r.reason.as_str()),
                    (header::SOURCE, source),
                ];
                publisher
                    .send_with_headers(topic, source, bytes, &headers)
                    .await
            }
            .boxed(),
        );
    }
    stream::iter(sends)
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
}

fn now_ms() -> i64 {
    pmoc_schemas::event::unix_ms(time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests;
