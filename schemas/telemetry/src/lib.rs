//! The one logging and metrics setup of every PMOC program: the pipeline,
//! the ingest CLI and its HTTP endpoint, the dashboard, and the tests that
//! run them in-process.
//!
//! Logs: `tracing` to stderr (stdout is left to results, such as a
//! connector's summary), filtered by `PMOC_LOG` (`EnvFilter` syntax) or the
//! program's default.
//!
//! Stopping: [`shutdown::on_signals`], SIGTERM and SIGINT handled alike
//! and a bounded time to stop, whatever is down.
//!
//! Metrics: one process-wide Prometheus recorder, installed on first use
//! and shared by everything in the process, so several servers in one test
//! process count into the same registry instead of racing to install their
//! own. Each program still says what it counts in its own telemetry module.
//!
//! A crate of its own rather than part of `pmoc-schemas` (which must build
//! for the browser, without these dependencies) or of `pmoc-store` (the
//! ingest has no ClickHouse).

pub mod shutdown;

use std::{net::SocketAddr, sync::OnceLock};

pub use metrics_exporter_prometheus::PrometheusHandle;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusRecorder};
use tracing_subscriber::EnvFilter;

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    #[error("building the metrics exporter")]
    Exporter(#[from] BuildError),
    #[error("starting the metrics thread")]
    Thread(#[from] std::io::Error),
    /// The recorder was installed before the listener was asked for.
    #[error("metrics are already being recorded; serve_metrics must come first")]
    AlreadyInstalled,
}

/// Logs to stderr at `PMOC_LOG`, else `default_filter` (e.g. `"info"`).
/// Coloured only on a terminal: redirected to a file or a journal, colour
/// codes are noise in every line an operator or a test greps.
/// A second call (a test calling it again) changes nothing.
pub fn init_logs(default_filter: &str) {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default_filter))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Logs for tests, captured per test by the test harness.
pub fn init_test_logs(default_filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default_filter))
        .with_test_writer()
        .try_init();
}

fn filter(default_filter: &str) -> EnvFilter {
    EnvFilter::try_from_env("PMOC_LOG").unwrap_or_else(|_| default_filter.into())
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Makes `recorder` the process's, unless one is already installed: then
/// its handle is returned and `recorder` is dropped.
fn install(recorder: PrometheusRecorder) -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = recorder.handle();
            // A recorder installed by something else (not through here)
            // keeps our counters from this handle; it still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The process-wide recorder's handle, for a server that renders
/// `/metrics` itself; installs the recorder on first use.
pub fn metrics_handle() -> PrometheusHandle {
    match HANDLE.get() {
        Some(handle) => handle.clone(),
        None => install(PrometheusBuilder::new().build_recorder()),
    }
}

/// Serves `/metrics` on `addr` from a thread of its own, for a program with
/// no HTTP server (the pipeline). Must come before anything is counted.
pub fn serve_metrics(addr: SocketAddr) -> Result<PrometheusHandle, TelemetryError> {
    if HANDLE.get().is_some() {
        return Err(TelemetryError::AlreadyInstalled);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (recorder, exporter) = {
        let _entered = runtime.enter();
        PrometheusBuilder::new().with_http_listener(addr).build()?
    };
    let handle = install(recorder);
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || runtime.block_on(exporter))?;
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_the_process_counts_into_one_recorder() {
        let first = metrics_handle();
        metrics::counter!("pmoc_telemetry_test_events_total").increment(2);
        let again = metrics_handle();
        for handle in [first, again] {
            assert!(
                handle
                    .render()
                    .contains("pmoc_telemetry_test_events_total 2"),
                "{}",
                handle.render()
            );
        }
        let late = serve_metrics(SocketAddr::from(([127, 0, 0, 1], 0)));
        assert!(matches!(late, Err(TelemetryError::AlreadyInstalled)));
    }
}
