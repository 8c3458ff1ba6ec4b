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
//! Backpressure ([`admission`]): a batch over `max_records` is 413; more
//! requests at once than `max_concurrent_requests`, or more messages
//! awaiting the broker than `max_queued_messages`, is 429 with
//! `Retry-After`, answered before anything of the request is queued. So a
//! broker that falls behind makes clients wait instead of making this
//! process grow until it dies.
//!
//! `build` prepares the router; `run` serves on a listener the caller bound
//! until the shutdown future completes, so tests run it on port 0.

pub mod admission;
pub mod auth;
pub mod body;
pub mod records;
mod telemetry;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::State,
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{RETRY_AFTER, WWW_AUTHENTICATE},
    },
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::{FutureExt, StreamExt, future::BoxFuture, stream};
use pmoc_schemas::{
    RejectKind,
    config::{CommitteeTopics, Settings},
    dead_letter::header,
};
use tokio::net::TcpListener;

pub use auth::{Tokens, hash_token};
pub use records::{IngestResponse, Rejected};

use crate::{IngestError, Publisher, kafka::Delivered};

/// Messages awaiting acknowledgement at once within one request.
const IN_FLIGHT: usize = 2048;
/// What a 503 asks the client to wait before sending the batch again.
const BROKER_RETRY_AFTER_S: u64 = 5;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    #[error(transparent)]
    Settings(#[from] pmoc_schemas::config::InvalidSetting),
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
    /// The known sources every record is checked against.
    sources: Arc<pmoc_schemas::source::Sources>,
    max_records: usize,
    read_timeout: Duration,
    ack_timeout: Duration,
    admission: admission::Admission,
}

/// The routes, with a producer for `settings.kafka.brokers` (connecting
/// lazily: a broker that is down shows as 503 on requests, not here).
pub fn build(settings: &Settings) -> Result<Router, HttpError> {
    settings.validate()?;
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
        sources: Arc::new(settings.sources.clone()),
        max_records: http.max_records,
        read_timeout: Duration::from_millis(http.read_timeout_ms),
        ack_timeout: Duration::from_millis(http.ack_timeout_ms),
        admission: admission::Admission::new(
            http.max_concurrent_requests,
            http.max_queued_messages,
            Duration::from_millis(http.ack_timeout_ms),
        ),
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

/// An error answer that tells the client when to send the same batch again.
fn retry_later(status: StatusCode, message: impl Into<String>, after: Duration) -> Response {
    let mut response = error(status, message);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
    response
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
    let _request = match state.admission.enter() {
        Ok(permit) => permit,
        Err(refusal) => return refuse(&agency, &refusal),
    };
    let read = async {
        let format = body::format(&headers)?;
        let bytes = body::read(&headers, body, state.max_body_bytes, state.read_timeout).await?;
        Ok::<_, body::BodyError>((bytes, format))
    };
    let (bytes, format) = match read.await {
        Ok(ok) => ok,
        Err(e) => {
            telemetry::refused(Some(&agency), e.status().as_u16(), &e.to_string());
            return error(e.status(), e.to_string());
        }
    };
    let records = match body::split(&bytes, format, state.max_records) {
        Ok(records) => records,
        Err(e) => {
            telemetry::refused(Some(&agency), e.status().as_u16(), &e.to_string());
            return error(e.status(), e.to_string());
        }
    };
    let (valid, invalid) = records::sort(
        &records,
        &agency,
        now_ms(),
        state.max_record_bytes,
        &state.sources,
    );
    let slots = match state.admission.reserve(records.len()) {
        Ok(slots) => slots,
        Err(refusal) => return refuse(&agency, &refusal),
    };
    telemetry::queued(state.admission.waiting());
    let outgoing = outgoing(&state, &agency, &bytes, &valid, &invalid);
    // Publishing runs on its own task, which holds the queue slots until the
    // broker has answered for every message, even after this request was
    // answered 503: librdkafka still holds those messages until then.
    let publishing = tokio::spawn(publish(
        state.publisher.clone(),
        outgoing,
        slots,
        state.admission.clone(),
    ));
    let failure = match tokio::time::timeout(state.ack_timeout, publishing).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(pmoc_schemas::error::chain(&e)),
        Ok(Err(join)) => Some(format!("publishing task failed: {join}")),
        Err(_) => Some(format!("no acknowledgement within {:?}", state.ack_timeout)),
    };
    if let Some(why) = failure {
        telemetry::broker_unavailable(&agency, records.len(), &why);
        return retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "the event broker did not acknowledge the whole batch in time: send the \
             same batch again later (records already stored are deduplicated by event_id)",
            Duration::from_secs(BROKER_RETRY_AFTER_S),
        );
    }
    let response = IngestResponse {
        agency,
        received: records.len(),
        accepted: valid.len(),
        rejected: invalid.into_iter().map(|i| i.rejected).collect(),
    };
    telemetry::queued(state.admission.waiting());
    let status = response.status();
    telemetry::batch_done(
        &response.agency,
        response.accepted,
        &response.rejected,
        status.as_u16(),
    );
    (status, Json(response)).into_response()
}

/// A request refused by admission control: 429 with `Retry-After`.
fn refuse(agency: &str, refusal: &admission::Refusal) -> Response {
    telemetry::throttled(agency, refusal.label());
    retry_later(
        StatusCode::TOO_MANY_REQUESTS,
        refusal.to_string(),
        refusal.retry_after(),
    )
}

/// One message to publish, owning (a shared slice of) the request body, so
/// publishing can outlive the request.
struct Outgoing {
    topic: Arc<str>,
    key: Arc<str>,
    payload: Bytes,
    /// Reason kind and reason, for a dead letter.
    dead_letter: Option<(RejectKind, String)>,
}

/// The valid records for their committee topics, the rejects for the
/// dead-letter topic, each the exact bytes the client sent.
fn outgoing(
    state: &AppState,
    agency: &str,
    body: &Bytes,
    valid: &[records::Valid<'_>],
    invalid: &[records::Invalid<'_>],
) -> Vec<Outgoing> {
    let source: Arc<str> = format!("http:{agency}").into();
    let mut out = Vec::with_capacity(valid.len() + invalid.len());
    for v in valid {
        out.push(Outgoing {
            topic: state.topics.of(v.committee).into(),
            key: v.province.as_str().into(),
            payload: body.slice_ref(v.bytes),
            dead_letter: None,
        });
    }
    for i in invalid {
        // A record over the record limit is dead-lettered only up to it:
        // the broker's message limit would refuse it whole and fail the
        // batch forever; the client has the full reason in the response.
        let bytes = &i.bytes[..i.bytes.len().min(state.max_record_bytes)];
        out.push(Outgoing {
            topic: state.dead_letter_topic.clone(),
            key: source.clone(),
            payload: body.slice_ref(bytes),
            dead_letter: Some((i.rejected.kind, i.rejected.reason.clone())),
        });
    }
    out
}

/// Publishes every message and waits until the broker has answered for
/// each (acknowledged or refused), so `slots` are given back only when
/// librdkafka no longer holds any of them. The first failure is returned.
async fn publish(
    publisher: Publisher,
    messages: Vec<Outgoing>,
    slots: Option<tokio::sync::OwnedSemaphorePermit>,
    admission: admission::Admission,
) -> Result<(), IngestError> {
    let publisher = &publisher;
    // Boxed in a plain loop: closures over borrowed messages trip the
    // compiler's higher-ranked `Send` check for the spawned future.
    let mut sends: Vec<BoxFuture<'_, Result<Delivered, IngestError>>> =
        Vec::with_capacity(messages.len());
    for m in &messages {
        sends.push(match &m.dead_letter {
            None => publisher.send(&m.topic, &m.key, &m.payload).boxed(),
            Some((kind, reason)) => async move {
                let headers = [
                    (header::REASON_KIND, kind.as_str()),
                    (header::REASON, reason.as_str()),
                    (header::SOURCE, &*m.key),
                ];
                publisher
                    .send_with_headers(&m.topic, &m.key, &m.payload, &headers)
                    .await
            }
            .boxed(),
        });
    }
    let queued = std::time::Instant::now();
    let outcome = stream::iter(sends)
        .buffer_unordered(IN_FLIGHT)
        .fold(Ok(()), |outcome, sent| async move {
            outcome.and(sent.map(|_| ()))
        })
        .await;
    admission.answered(queued, messages.len());
    drop(slots);
    outcome
}

fn now_ms() -> i64 {
    pmoc_schemas::event::unix_ms(time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests;
