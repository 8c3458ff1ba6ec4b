//! One poller reads ClickHouse and publishes a snapshot when it changes;
//! every connected browser is fed from that one watch channel, so a hundred
//! wall screens cost one query per refresh, not a hundred.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use pmoc_schemas::{
    api::{WallSnapshot, WaterSnapshot},
    health::Health,
};
use tokio::sync::watch;

use crate::{marks::Marks, read::Reader};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Follows the two things that move while data flows (see
/// `pmoc_schemas::health`): the pipeline's stored frontier and this
/// server's successful reads.
#[derive(Debug)]
struct FlowWatch {
    stall_after_ms: i64,
    last_read_ok_ms: i64,
    frontier_ms: Option<i64>,
    frontier_moved_at_ms: Option<i64>,
    /// When the last health was published, to publish about once a second.
    published_ms: i64,
}

impl FlowWatch {
    fn read_ok(&mut self, now_ms: i64, wall: &WallSnapshot) {
        self.last_read_ok_ms = now_ms;
        let frontier = wall.freshness.iter().map(|f| f.final_up_to_ms).max();
        if frontier > self.frontier_ms {
            self.frontier_ms = frontier;
            self.frontier_moved_at_ms = Some(now_ms);
        }
    }

    fn health(&self, now_ms: i64) -> Health {
        Health::judge(
            now_ms,
            self.last_read_ok_ms,
            self.frontier_ms,
            self.frontier_moved_at_ms,
            self.stall_after_ms,
        )
    }

    /// Publishes the health when a second has passed or the verdict changed.
    fn publish(&mut self, now_ms: i64, tx: &watch::Sender<Health>) {
        let health = self.health(now_ms);
        tx.send_if_modified(|current| {
            let due = now_ms - self.published_ms >= 1_000 || current.stalled != health.stalled;
            if due {
                if current.stalled.is_none() && health.stalled.is_some() {
                    tracing::warn!(stalled = ?health.stalled, "data has stopped flowing");
                } else if current.stalled.is_some() && health.stalled.is_none() {
                    tracing::info!("data is flowing again");
                }
                metrics::gauge!("pmoc_dashboard_stalled")
                    .set(f64::from(u8::from(health.stalled.is_some())));
                *current = health;
                self.published_ms = now_ms;
            }
            due
        });
    }
}

/// Where the poller publishes what it reads.
#[derive(Debug)]
pub struct Channels {
    pub water: watch::Sender<Arc<WaterSnapshot>>,
    pub wall: watch::Sender<Arc<WallSnapshot>>,
    pub health: watch::Sender<Health>,
    /// Each committee's stored-figures mark, from the wall's reads, for
    /// the shared reads' refresher (`marks`).
    pub marks: watch::Sender<Marks>,
}

/// Polls until `stop` turns true.
pub async fn poll(
    reader: Reader,
    out: Channels,
    every: Duration,
    stall_after: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut flow = FlowWatch {
        stall_after_ms: stall_after.as_millis() as i64,
        last_read_ok_ms: 0,
        frontier_ms: None,
        frontier_moved_at_ms: None,
        published_ms: 0,
    };
    // A ClickHouse that hangs instead of refusing must not freeze the
    // health pushes: a read that takes this long counts as failed.
    let read_timeout = (every * 4).max(Duration::from_secs(5));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        // The two snapshots are independent: read together.
        let read_at = now_ms();
        let (water, wall) = tokio::join!(
            within(read_timeout, reader.water_snapshot(read_at)),
            within(read_timeout, reader.wall_read(read_at)),
        );
        match water {
            Some(Ok(snapshot)) => {
                out.water.send_if_modified(|current| {
                    let changed = current.provinces != snapshot.provinces;
                    if changed {
                        metrics::counter!("pmoc_dashboard_snapshots_published_total").increment(1);
                        *current = Arc::new(snapshot);
                    }
                    changed
                });
            }
            Some(Err(error)) => {
                metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                tracing::warn!(error = %pmoc_schemas::error::chain(&error), "reading snapshot failed");
            }
            None => {
                metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                tracing::warn!(timeout = ?read_timeout, "reading snapshot timed out");
            }
        }
        match wall {
            Some(Ok((mut snapshot, marks))) => {
                flow.read_ok(read_at, &snapshot);
                out.marks.send_if_modified(|current| {
                    let changed = *current != marks;
                    if changed {
                        *current = marks;
                    }
                    changed
                });
                out.wall.send_if_modified(|current| {
                    crate::wall::settle(current, &mut snapshot);
                    let changed = crate::wall::changed(current, &snapshot);
                    if changed {
                        metrics::counter!("pmoc_dashboard_wall_snapshots_published_total")
                            .increment(1);
                        *current = Arc::new(snapshot);
                    }
                    changed
                });
            }
            Some(Err(error)) => {
                metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                tracing::warn!(error = %pmoc_schemas::error::chain(&error), "reading wall snapshot failed");
            }
            None => {
                metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                tracing::warn!(timeout = ?read_timeout, "reading wall snapshot timed out");
            }
        }
        flow.publish(now_ms(), &out.health);
    }
}

async fn within<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, f).await.ok()
}
