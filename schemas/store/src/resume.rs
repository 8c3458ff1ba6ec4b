//! What the pipeline reads back when it starts, to carry on where it
//! stopped: resume points, open alerts and the sources' last-seen times.
//! Each takes the newest version per key with `LIMIT 1 BY`, like the
//! dashboard's reads (see [`crate::read`]), rather than `FINAL`.

use pmoc_schemas::alert::AlertEvent;

use crate::{
    Result, Store,
    rows::{AlertRow, CheckpointRow, Table, WatermarkRow},
};

impl Store {
    /// The newest resume point of every partition read by `group_id`.
    pub async fn checkpoints(&self, group_id: &str) -> Result<Vec<CheckpointRow>> {
        self.servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {} WHERE group_id = ?
                     ORDER BY topic, partition, written_at_ms DESC
                     LIMIT 1 BY topic, partition",
                    CheckpointRow::TABLE
                ))
                .bind(group_id)
                .fetch_all()
            })
            .await
    }

    /// The alerts not resolved when the pipeline last stopped.
    pub async fn open_alerts(&self) -> Result<Vec<AlertEvent>> {
        let rows: Vec<AlertRow> = self
            .servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {} WHERE state != 'resolved'",
                    crate::read::latest_alerts()
                ))
                .fetch_all()
            })
            .await?;
        rows.into_iter().map(AlertEvent::try_from).collect()
    }

    /// The newest freshness row of every source and worker, so silence is
    /// judged across restarts.
    pub async fn watermarks(&self) -> Result<Vec<WatermarkRow>> {
        self.servers
            .run(|c| {
                c.query(&format!(
                    "SELECT ?fields FROM {}
                     ORDER BY committee, source_agency, source_system, schema, worker,
                       written_at_ms DESC
                     LIMIT 1 BY committee, source_agency, source_system, schema, worker",
                    WatermarkRow::TABLE
                ))
                .fetch_all()
            })
            .await
    }
}
