//! The dataflow: Kafka sources -> exchange by area -> event-time windows ->
//! rollups -> revisions by late values -> alerts -> ClickHouse sink, with a probe on the sink that tells
//! the sources which event times are durably stored (and so which offsets
//! may be committed).

use std::sync::{Arc, atomic::AtomicBool};

use pmoc_schemas::{
    alert::{AlertEvent, AlertRules},
    privacy::PrivacySettings,
};
use timely::dataflow::{ProbeHandle, Scope, operators::Probe};
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    alerting::alerts,
    backlog::Backlog,
    revision::{ReadBack, revisions},
    rollup::rollups,
    sink::{WriterMessage, sink},
    source::{SourceConfig, kafka_source},
    windowing::windows,
};

/// Everything one worker needs to build its part of the dataflow.
#[derive(Clone, Debug)]
pub struct DataflowConfig {
    pub source: SourceConfig,
    pub alert_rules: Arc<AlertRules>,
    /// How alerts about people counts publish their figures.
    pub privacy: PrivacySettings,
    /// Alerts open when the pipeline last stopped.
    pub open_alerts: Vec<AlertEvent>,
    /// Rows awaiting ClickHouse in this process; sources pause when full.
    pub backlog: Backlog,
    /// Where revisions read the stored state of final windows.
    pub read_back: Arc<dyn ReadBack>,
}

impl std::fmt::Debug for dyn ReadBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadBack")
    }
}

/// Builds the dataflow in `scope`; returns the probe of stored event time.
pub fn build(
    scope: Scope<'_, u64>,
    config: DataflowConfig,
    writer: UnboundedSender<WriterMessage>,
    failed: Arc<AtomicBool>,
) -> ProbeHandle<u64> {
    let stored = ProbeHandle::new();
    let widths = config.source.widths_ms.clone();
    let records = kafka_source(
        scope,
        config.source.clone(),
        stored.clone(),
        writer.clone(),
        failed,
        config.backlog.clone(),
    );
    let windowed = windows(scope, records, widths.clone());
    let outputs = rollups(windowed);
    let outputs = revisions(scope, outputs, widths, stored.clone(), config.read_back);
    let outputs = alerts(
        outputs,
        &config.alert_rules,
        config.privacy,
        config.open_alerts,
        config.source.correction_horizon_ms,
    );
    sink(scope, outputs, writer, config.backlog).probe_with(&stored);
    stored
}
