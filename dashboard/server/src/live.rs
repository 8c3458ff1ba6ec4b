//! One poller reads ClickHouse and publishes a snapshot when it changes;
//! every connected browser is fed from that one watch channel, so a hundred
//! wall screens cost one query per refresh, not a hundred.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use pmoc_schemas::api::{WallSnapshot, WaterSnapshot};
use tokio::sync::watch;

use crate::read::Reader;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Polls until `stop` turns true.
pub async fn poll(
    reader: Reader,
    tx: watch::Sender<Arc<WaterSnapshot>>,
    wall_tx: watch::Sender<Arc<WallSnapshot>>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        match reader.water_snapshot(now_ms()).await {
            Ok(snapshot) => {
                tx.send_if_modified(|current| {
                    let changed = current.provinces != snapshot.provinces;
                    if changed {
                        metrics::counter!("pmoc_dashboard_snapshots_published_total").increment(1);
                        *current = Arc::new(snapshot);
                    }
                    changed
                });
            }
            Err(error) => {
                metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                tracing::warn!(error = %pmoc_schemas::error::chain(&error), "reading snapshot failed");
            }
        }
        match reader.wall_snapshot(now_ms()).await {
            Ok(snapshot) => {
                wall_tx.send_if_modified(|current| {
                    let changed = crate::wall::changed(current, &snapshot);
                    if changed {
                        metrics::counter!("pmoc_dashboard_wall_snapshots_published_total")
                            .increment(1);
                        *current = Arc::new(snapshot);
                    }
                    changed
                });
            }
            Err(error) => {
                metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                tracing::warn!(error = %pmoc_schemas::error::chain(&error), "reading wall snapshot failed");
            }
        }
    }
}
