//! The dashboard starts only on a database at this build's schema version.

use pmoc_schemas::config::Settings;
use pmoc_server::ServerError;
use pmoc_store::{SCHEMA_VERSION, StoreError};
use pmoc_tests::{clickhouse::ClickHouse, init_tracing, unique_name};

/// Runs the dashboard until it has started (then stops it at once), or
/// returns why it would not start.
async fn start_dashboard(settings: &Settings) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    pmoc_server::run(listener, settings.clone(), std::future::ready(())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_refuses_another_schema_version() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let mut settings = Settings::default();
    settings.clickhouse.url = clickhouse.url.clone();
    settings.clickhouse.database = unique_name("schema");

    // Never migrated.
    match start_dashboard(&settings).await {
        Err(ServerError::Store(StoreError::NotMigrated { expected })) => {
            assert_eq!(expected, SCHEMA_VERSION);
        }
        other => panic!("started on an empty database: {other:?}"),
    }

    // At this build's version it starts.
    pmoc_store::migrate(&settings.clickhouse).await?;
    start_dashboard(&settings).await?;

    // Migrated further by a newer build: refused, naming both versions.
    let client = pmoc_store::client(&settings.clickhouse);
    client
        .query("INSERT INTO schema_migrations VALUES (?, 'from_a_newer_build', now())")
        .bind(SCHEMA_VERSION + 1)
        .execute()
        .await?;
    match start_dashboard(&settings).await {
        Err(ServerError::Store(e @ StoreError::SchemaVersion { expected, found })) => {
            assert_eq!((expected, found), (SCHEMA_VERSION, SCHEMA_VERSION + 1));
            let message = e.to_string();
            assert!(
                message.contains(&format!("version {found}"))
                    && message.contains(&format!("version {expected}")),
                "{message}"
            );
        }
        other => panic!("started on a newer schema: {other:?}"),
    }
    Ok(())
}
