//! Scale-out with timely's own cluster mode: the pipeline as two processes
//! (`-n 2 -p i -h hosts`) on loopback computes exactly what the oracle does.

use pmoc_ingest::{Publisher, kafka::ensure_topics};
use pmoc_tests::{clickhouse::ClickHouse, init_tracing, kafka::Broker, process::free_port};

use crate::support::{
    assert_equals_oracle, events, oracle, pipeline, publish, settings, wait_for_all,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_compute_the_same_windows_as_the_oracle() -> anyhow::Result<()> {
    let _heavy = crate::support::heavy().await;
    init_tracing();
    let dir = tempfile::tempdir()?;
    let clickhouse = ClickHouse::start(dir.path()).await?;
    let broker = Broker::start(dir.path()).await?;
    let settings = settings(&broker, &clickhouse, "it_scale_out");
    ensure_topics(&settings.kafka).await?;
    pmoc_store::migrate(&settings.clickhouse).await?;
    let publisher = Publisher::new(&settings.kafka.brokers)?;
    let delivered = publish(&publisher, &settings, &events(120)).await?;
    let expected = oracle(&delivered);

    let hosts = dir.path().join("hosts.txt");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port()?, free_port()?),
    )?;
    let cluster = |i: usize| -> Vec<String> {
        let host_file = hosts.to_string_lossy().into_owned();
        ["-w", "1", "-n", "2", "-p", &i.to_string(), "-h", &host_file]
            .map(str::to_owned)
            .to_vec()
    };
    let mut p0 = pipeline(&settings, 2, &dir.path().join("p0.log"), &cluster(0))?;
    let mut p1 = pipeline(&settings, 2, &dir.path().join("p1.log"), &cluster(1))?;
    let client = pmoc_store::client(&settings.clickhouse);
    let (rows, late) = wait_for_all(&client, &expected, &mut [&mut p0, &mut p1]).await?;
    assert_equals_oracle(&rows, &late, &expected);

    // Each process owned half of the 16 partitions (4 committee topics x 4).
    for log in ["p0.log", "p1.log"] {
        let text = std::fs::read_to_string(dir.path().join(log))?;
        assert_eq!(
            text.matches("assigned partition").count(),
            8,
            "{log}:\n{text}"
        );
    }
    eprintln!(
        "2 processes: {} windows, {} late, equal to the oracle",
        rows.len(),
        late.len()
    );
    Ok(())
}
