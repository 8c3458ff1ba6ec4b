//! Running the pipeline in this process: one ClickHouse writer per process,
//! timely workers per `-w`, and processes joined by timely's own cluster mode
//! (`-n/-p/-h`), so scaling out never needs a home-made coordinator.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures::FutureExt;
use pmoc_schemas::{committee::Committee, config::Settings, envelope::DEFAULT_MAX_MESSAGE_BYTES};
use pmoc_store::Store;

use crate::{
    PipelineError,
    dataflow::{self, DataflowConfig},
    dead_letter::DeadLetter,
    kafka::{Checkpoints, checkpoints},
    revision::{ReadBack, StoreReadBack},
    sink::run_writer,
    source::SourceConfig,
    window::MAX_WIDTHS,
};

/// How often workers commit the offsets made safe by stored results.
const COMMIT_EVERY: Duration = Duration::from_millis(500);

impl DataflowConfig {
    pub fn from_settings(
        settings: &Settings,
        checkpoints: Checkpoints,
        open_alerts: Vec<pmoc_schemas::alert::AlertEvent>,
        read_back: Arc<dyn ReadBack>,
    ) -> Self {
        let p = &settings.pipeline;
        let mut widths: Vec<i64> = p
            .windows_seconds
            .iter()
            .map(|&s| i64::from(s.max(1)) * 1000)
            .collect();
        widths.sort_unstable();
        widths.dedup();
        // `Settings::validate` refuses more; this keeps a dataflow built from
        // unvalidated settings within what an observation can carry.
        widths.truncate(MAX_WIDTHS);
        Self {
            source: SourceConfig {
                brokers: settings.kafka.brokers.clone(),
                group_id: p.group_id.clone(),
                topics: topics(settings),
                widths_ms: widths,
                lateness_ms: i64::from(p.allowed_lateness_seconds) * 1000,
                correction_horizon_ms: i64::from(p.correction_horizon_seconds) * 1000,
                idle: Duration::from_secs(u64::from(p.idle_partition_seconds)),
                commit_every: COMMIT_EVERY,
                max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
                dedup_horizon_ms: i64::from(p.dedup_horizon_seconds) * 1000,
                checkpoints: Arc::new(checkpoints),
                sources: Arc::new(settings.sources.clone()),
            },
            alert_rules: Arc::new(settings.alerts.clone()),
            privacy: settings.privacy,
            open_alerts,
            backlog: crate::backlog::Backlog::new(p.max_unstored_rows),
            read_back,
        }
    }
}

/// The committee topics the pipeline reads.
pub fn topics(settings: &Settings) -> Vec<(String, Committee)> {
    settings
        .kafka
        .topics
        .all()
        .map(|(c, t)| (t.to_owned(), c))
        .collect()
}

/// Runs until `shutdown` is set or a worker fails.
///
/// Stopping does not close open windows: they are rebuilt from Kafka on the
/// next start, because their offsets were never committed.
pub fn run(
    settings: &Settings,
    timely_config: timely::Config,
    shutdown: Arc<AtomicBool>,
) -> Result<(), PipelineError> {
    settings.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("clickhouse-writer")
        .build()
        .map_err(|e| PipelineError::Timely(e.to_string()))?;
    runtime.block_on(pmoc_store::migrate(&settings.clickhouse))?;
    let db = Store::new(&settings.clickhouse);
    let names: Vec<String> = topics(settings).into_iter().map(|(t, _)| t).collect();
    let checkpoints = checkpoints(
        runtime.block_on(db.checkpoints(&settings.pipeline.group_id))?,
        &names,
    );
    let open_alerts = runtime.block_on(db.open_alerts())?;
    let mut silence = crate::silence::Silence::new(settings.alerts.silence_factor, &open_alerts);
    silence.observe(&runtime.block_on(db.watermarks())?);

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let dead_letter = {
        let _rt = runtime.enter();
        DeadLetter::new(
            &settings.kafka.brokers,
            &settings.kafka.dead_letter_topic,
            &settings.kafka.alerts_topic,
        )
        .map_err(PipelineError::Kafka)?
    };
    let failed = Arc::new(AtomicBool::new(false));
    let writer_died = Arc::new(AtomicBool::new(false));
    let writer = {
        let run = run_writer(
            db,
            dead_letter,
            silence,
            rx,
            Duration::from_millis(settings.pipeline.flush_interval_ms),
            shutdown.clone(),
        );
        let (failed, died) = (failed.clone(), writer_died.clone());
        // A writer that panics must take the process down: workers running
        // on without anything being stored would only look alive.
        runtime.spawn(async move {
            if std::panic::AssertUnwindSafe(run)
                .catch_unwind()
                .await
                .is_err()
            {
                tracing::error!("clickhouse writer panicked; stopping the pipeline");
                died.store(true, Ordering::SeqCst);
                failed.store(true, Ordering::SeqCst);
            }
        })
    };

    let read_back = Arc::new(StoreReadBack {
        store: Store::new(&settings.clickhouse),
        runtime: runtime.handle().clone(),
    });
    let config = DataflowConfig::from_settings(settings, checkpoints, open_alerts, read_back);
    let worker_failed = failed.clone();
    let guards = timely::execute(timely_config, move |worker| {
        let config = config.clone();
        let tx = tx.clone();
        let failed = worker_failed.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            dataflow::build(scope, config, tx, failed.clone());
        });
        tracing::info!(
            worker = worker.index(),
            peers = worker.peers(),
            "worker running"
        );
        while !shutdown.load(Ordering::SeqCst) && !failed.load(Ordering::SeqCst) {
            worker.step_or_park(Some(Duration::from_millis(100)));
        }
        // Abandon open windows rather than run the dataflow to completion:
        // their offsets are uncommitted, so the next start rebuilds them.
        for id in worker.installed_dataflows() {
            worker.drop_dataflow(id);
        }
        shutdown.store(true, Ordering::SeqCst);
    })
    .map_err(PipelineError::Timely)?;
    let results = guards.join();
    // The workers set `shutdown` as they stop, which stops the writer too:
    // what it has not stored is replayed on the next start.
    if let Err(e) = runtime.block_on(writer) {
        tracing::error!(error = %pmoc_schemas::error::chain(&e), "clickhouse writer task failed");
    }
    // Kafka and ClickHouse clients still waiting on an unreachable server
    // must not hold the process: none of their work is needed any more.
    runtime.shutdown_timeout(Duration::from_millis(500));
    for r in results {
        r.map_err(PipelineError::Timely)?;
    }
    if writer_died.load(Ordering::SeqCst) {
        return Err(PipelineError::WriterFailed);
    }
    if failed.load(Ordering::SeqCst) {
        return Err(PipelineError::WorkerFailed);
    }
    Ok(())
}
