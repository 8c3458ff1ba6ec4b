//! What operators do about alerts.
//!
//! The pipeline owns `alerts`; the dashboard only appends to
//! `alert_actions`, so an acknowledgement can never be lost to the
//! pipeline rewriting an alert's row.

use pmoc_schemas::api::AlertAction;

use crate::{ServerError, read::Reader};

impl Reader {
    /// Appends one action (the history is never rewritten), counted and
    /// logged.
    pub async fn record_action(&self, action: &AlertAction) -> Result<(), ServerError> {
        self.store.record_action(action).await?;
        metrics::counter!("pmoc_dashboard_alert_actions_total", "action" => action.action.clone())
            .increment(1);
        tracing::info!(alert_id = %action.alert_id, action = %action.action, actor = %action.actor, "alert action recorded");
        Ok(())
    }
}
