//! What the endpoint logs and counts, in one place.
//!
//! Label values come only from the configuration (agency ids), the stable
//! reject kinds and status codes, never from what a client sent, so a
//! hostile client cannot blow up the metrics' cardinality.

use metrics::counter;

use super::{auth::AuthFailure, records::Rejected};

/// A batch was answered after the broker acknowledged what it had to.
pub fn batch_done(agency: &str, accepted: usize, rejected: &[Rejected], status: u16) {
    let records = |outcome: &'static str, n: usize| {
        counter!("pmoc_http_ingest_records_total", "agency" => agency.to_owned(), "outcome" => outcome)
            .increment(n as u64);
    };
    records("accepted", accepted);
    records("rejected", rejected.len());
    for r in rejected {
        counter!("pmoc_http_ingest_rejects_total", "agency" => agency.to_owned(), "kind" => r.kind.as_str())
            .increment(1);
    }
    request(status);
    tracing::info!(
        agency,
        accepted,
        rejected = rejected.len(),
        status,
        "batch ingested"
    );
}

/// A request was refused before any record was looked at.
pub fn refused(agency: Option<&str>, status: u16, why: &str) {
    request(status);
    tracing::warn!(agency, status, why, "request refused");
}

/// A request without a valid token.
pub fn unauthorised(failure: AuthFailure) {
    counter!("pmoc_http_ingest_unauthorised_total", "reason" => failure.label()).increment(1);
    request(401);
    tracing::warn!(reason = failure.label(), "unauthorised request");
}

/// The broker did not acknowledge in time (or refused); answered 503.
pub fn broker_unavailable(agency: &str, records: usize, error: &str) {
    counter!("pmoc_http_ingest_broker_failures_total", "agency" => agency.to_owned()).increment(1);
    request(503);
    tracing::error!(agency, records, error, "publishing failed; answered 503");
}

/// Refused by admission control (answered 429 with Retry-After).
pub fn throttled(agency: &str, reason: &'static str) {
    counter!("pmoc_http_ingest_throttled_total", "agency" => agency.to_owned(), "reason" => reason)
        .increment(1);
    request(429);
    tracing::debug!(agency, reason, "request throttled");
}

/// Messages awaiting the broker, after a request took or gave back slots.
pub fn queued(messages: usize) {
    metrics::gauge!("pmoc_http_ingest_queued_messages").set(messages as f64);
}

fn request(status: u16) {
    counter!("pmoc_http_ingest_requests_total", "status" => status.to_string()).increment(1);
}
