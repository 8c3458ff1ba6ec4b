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

use clickhouse::Row;
use pmoc_schemas::auth::AuditEntry;
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::{ServerError, read::Reader};

/// Entries waiting at most; beyond, new ones are dropped and counted.
const QUEUE: usize = 10_000;
/// Rows per insert at most.
const BATCH: usize = 1_000;
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Longest `params` kept, characters.
pub const MAX_PARAMS_CHARS: usize = 512;

#[derive(Debug, Clone, Row, Serialize, Deserialize)]
struct AuditRow {
    at_ms: i64,
    user: String,
    role: String,
    method: String,
    route: String,
    params: String,
    decision: String,
    reason: String,
    status: u16,
    peer: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(e: AuditEntry) -> Self {
        Self {
            at_ms: e.at_ms,
            user: e.user,
            role: e.role,
            method: e.method,
            route: e.route,
            params: e.params,
            decision: e.decision,
            reason: e.reason,
            status: e.status,
            peer: e.peer,
        }
    }
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        Self {
            at_ms: r.at_ms,
            user: r.user,
            role: r.role,
            method: r.method,
            route: r.route,
            params: r.params,
            decision: r.decision,
            reason: r.reason,
            status: r.status,
            peer: r.peer,
        }
    }
}

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
        let writer = tokio::spawn(write(reader.db_client.clone(), rx));
        (Self { tx }, writer)
    }

    /// Queues an entry; never waits.
    pub fn record(&self, entry: AuditEntry) {
        if self.tx.try_send(entry).is_err() {
            metrics::counter!("pmoc_dashboard_audit_dropped_total").increment(1);
        }
    }
}

async fn write(client: clickhouse::Client, mut rx: mpsc::Receiver<AuditEntry>) {
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
        if let Err(error) = insert(&client, batch.drain(..)).await {
            metrics::counter!("pmoc_dashboard_audit_dropped_total").increment(n);
            tracing::warn!(error = %pmoc_schemas::error::chain(&error), rows = n, "audit rows dropped");
        } else {
            metrics::counter!("pmoc_dashboard_audit_rows_total").increment(n);
        }
    }
}

async fn insert(
    client: &clickhouse::Client,
    entries: impl Iterator<Item = AuditEntry>,
) -> Result<(), clickhouse::error::Error> {
    let mut insert = client.insert::<AuditRow>("audit_log").await?;
    for entry in entries {
        insert.write(&AuditRow::from(entry)).await?;
    }
    insert.end().await
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
        let db = &self.database;
        let decision = q.decision.as_deref().unwrap_or("deny");
        let mut sql =
            format!("SELECT ?fields FROM {db}.audit_log WHERE (? = 'all' OR decision = ?)");
        let mut binds: Vec<&str> = vec![decision, decision];
        for (column, value) in [("user", &q.user), ("reason", &q.reason)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                sql.push_str(&format!(" AND {column} = ?"));
                binds.push(v);
            }
        }
        if let Some(route) = q.route.as_deref().filter(|v| !v.is_empty()) {
            sql.push_str(" AND startsWith(route, ?)");
            binds.push(route);
        }
        let limit = q.limit.unwrap_or(200).clamp(1, 1_000);
        sql.push_str(&format!(" ORDER BY at_ms DESC LIMIT {limit}"));
        let mut query = self.client.query(&sql);
        for b in binds {
            query = query.bind(b);
        }
        let rows: Vec<AuditRow> = query.fetch_all().await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
