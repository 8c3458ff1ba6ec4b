//! Inserts: one statement per table and batch.

use crate::{Result, Store, rows::Table};

impl Store {
    /// Inserts `rows` into their table in one statement; nothing for none.
    /// Returns how many were written, for the caller's metrics.
    pub async fn insert<T: Table>(&self, rows: &[T]) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.servers
            .run(|c| async move {
                let mut insert = c.insert::<T>(T::TABLE).await?;
                for row in rows {
                    insert.write(row).await?;
                }
                insert.end().await
            })
            .await?;
        Ok(rows.len())
    }
}
