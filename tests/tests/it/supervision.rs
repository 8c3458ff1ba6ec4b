//! Stopping, whatever is down: every PMOC process (pipeline, dashboard,
//! HTTP ingest, simulators), running against a broker and a ClickHouse that
//! have both been SIGKILLed, stops cleanly (exit status 0) within 5 s of
//! SIGTERM, as systemd and the local stack's supervisor expect. And the local stack's start script
//! names a port that is already taken instead of fighting over it.

use std::{process::Command, time::Duration};

use pmoc_ingest::kafka::ensure_topics;
use pmoc_tests::{
    clickhouse::ClickHouse,
    init_tracing,
    kafka::Broker,
    process::{ChildGuard, free_port, wait_for},
    repo_root, workspace_binary,
};

use crate::support;

/// What systemd's stop timeout and the supervisor allow.
const STOP_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_stops_within_5_s_of_sigterm_with_broker_and_clickhouse_gone()
-> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let mut broker = Broker::start(dir.path()).await?;
    let mut clickhouse = ClickHouse::start(dir.path()).await?;
    let settings = support::settings(&broker, &clickhouse, "it_supervision");
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;

    let mut pipeline = support::pipeline(&settings, 30, &dir.path().join("pipeline.log"), &[])?;
    let dashboard_port = free_port()?;
    let mut dashboard = binary(
        "pmoc-dashboard",
        &settings,
        &[],
        &[(
            "PMOC_DASHBOARD__LISTEN",
            format!("127.0.0.1:{dashboard_port}"),
        )],
        &dir.path().join("dashboard.log"),
    )?;
    let ingest_port = free_port()?;
    let mut ingest = binary(
        "pmoc-ingest",
        &settings,
        &["serve"],
        &[
            (
                "PMOC_HTTP_INGEST__LISTEN",
                format!("127.0.0.1:{ingest_port}"),
            ),
            ("PMOC_HTTP_INGEST__METRICS_LISTEN", String::new()),
        ],
        &dir.path().join("ingest.log"),
    )?;
    let mut simulators = binary(
        "pmoc-ingest",
        &settings,
        &["simulate", "--committee", "all"],
        &[],
        &dir.path().join("simulate.log"),
    )?;

    // Everything up and data flowing: the pipeline has stored results.
    for port in [dashboard_port, ingest_port] {
        let url = format!("http://127.0.0.1:{port}/healthz");
        wait_for(&url.clone(), Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                Ok(reqwest::get(&url)
                    .await
                    .ok()
                    .filter(|r| r.status().is_success()))
            }
        })
        .await?;
    }
    let client = pmoc_store::client(&settings.clickhouse);
    wait_for("stored results", Duration::from_secs(90), || {
        let running = pipeline.check_running();
        let client = client.clone();
        async move {
            running?;
            Ok((support::inserted(&client, "window_aggregates").await? > 0).then_some(()))
        }
    })
    .await?;

    // Then the broker and ClickHouse die under them.
    broker.process.kill();
    clickhouse.stop();
    // Long enough for every client to notice and start retrying.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut took = Vec::new();
    for (name, process) in [
        ("pipeline", &mut pipeline),
        ("dashboard", &mut dashboard),
        ("http ingest", &mut ingest),
        ("simulators", &mut simulators),
    ] {
        let (t, status) = tokio::task::block_in_place(|| process.terminate(STOP_WITHIN))?;
        // A clean stop, not the forced exit (status 143) that ends a
        // process still hanging at the deadline.
        assert!(status.success(), "{name} exited with {status} after {t:?}");
        took.push((name, t));
    }
    tracing::info!(?took, "every process stopped after SIGTERM");
    Ok(())
}

#[test]
fn the_start_script_names_a_port_already_taken() -> anyhow::Result<()> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port();
    let state = tempfile::tempdir()?;
    let root = repo_root();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{root}/scripts/lib.sh' && STATE='{state}' && mkdir -p \"$STATE/log\" \
             && source '{root}/scripts/stack.sh' && require_free_port {port} dashboard",
            root = root.display(),
            state = state.path().display(),
        ))
        .output()?;
    assert!(!out.status.success(), "a taken port must stop the start");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("port {port} (dashboard) is already in use")),
        "{said}"
    );
    Ok(())
}

/// A workspace binary with the test's shared settings and `env`.
fn binary(
    name: &str,
    settings: &pmoc_schemas::config::Settings,
    args: &[&str],
    env: &[(&str, String)],
    log: &std::path::Path,
) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(workspace_binary(name)?);
    command
        .args(args)
        .envs(support::shared_env(settings))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    ChildGuard::spawn(name, command, log)
}
