//! The audit log: every request, written to ClickHouse's `audit_log`.
//!
//! Requests never wait for ClickHouse: the auth layer hands each entry to a
//! bounded channel ([`AuditLog::record`] never blocks) and one writer task
//! inserts them in batches (up to [`BATCH`] rows, at least every
//! [`FLUSH_EVERY`]). When the channel is full or an insert fails (ClickHouse
//! down), the entries are dropped and counted in
//! `pmoc_dashboard_audit_dropped_total`, and the log says so: a dashboard
//! that stops answering because its audit store is down would take the
//! operations room's view away exactly when it is needed. Alert the metric.

use std::time::Duration;

use pmoc_schemas::auth::AuditEntry;
use pmoc_store::{AuditFilter, AuditRow, Store};
use serde::Deserialize;
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{ServerError, read::Reader};

/// Entries waiting at most; beyond, new ones are dropped and counted.
const QUEUE: usize = 50_000;
/// Rows per insert at most.
const BATCH: usize = 20_000;
/// About one insert a second whatever the request rate: every insert is a
/// new part for ClickHouse to merge, and at 2,000 requests/s inserts every
/// 250 ms took ClickHouse to 1.5 cores of a 2-core machine and the
/// drill-down's p95 with it (BENCHMARKS.md).
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Longest `params` kept, characters.
pub const MAX_PARAMS_CHARS: usize = 512;

/// The sending side, shared by every request.
#[derive(Debug, Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AuditEntry>,
}

impl AuditLog {
    /// Starts the writer; it ends once every sender is gone and the queue is
    /// written.
    pub fn start(reader: &Reader) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = tokio::spawn(write(reader.store.clone(), rx));
        (Self { tx }, writer)
    }

    /// Queues an entry; never waits.
    pub fn record(&self, entry: AuditEntry) {
        if self.tx.try_send(entry).is_err() {
            metrics::counter!("pmoc_dashboard_audit_dropped_total").increment(1);
        }
    }
}

async fn write(store: Store, mut rx: mpsc::Receiver<AuditEntry>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(entry)) => batch.push(entry),
                Ok(None) | Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        let rows: Vec<AuditRow> = batch.drain(..).map(AuditRow::from).collect();
        if let Err(error) = store.insert(&rows).await {
            metrics::counter!("pmoc_dashboard_audit_dropped_total").increment(n);
            tracing::warn!(error = %pmoc_schemas::error::chain(&error), rows = n, "audit rows dropped");
        } else {
            metrics::counter!("pmoc_dashboard_audit_rows_total").increment(n);
        }
    }
}

/// Filters of the audit page (`GET /api/audit`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// `deny` (default), `allow`, `invalid`, `error` or `all`.
    pub decision: Option<String>,
    pub user: Option<String>,
    pub reason: Option<String>,
    /// Route pattern prefix, e.g. `/api/alerts`.
    pub route: Option<String>,
    pub limit: Option<u32>,
}

impl Reader {
    /// Audit entries, newest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, ServerError> {
        let filter = AuditFilter {
            decision: q.decision.as_deref().unwrap_or("deny"),
            user: q.user.as_deref(),
            reason: q.reason.as_deref(),
            route_prefix: q.route.as_deref(),
            limit: q.limit.unwrap_or(200).clamp(1, 1_000),
        };
        Ok(self.store.audit(&filter).await?)
    }
}
