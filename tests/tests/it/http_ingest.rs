//! The HTTP ingest endpoint against a real broker: what the client is told
//! matches what the topics hold, byte for byte; nothing valid is lost,
//! nothing refused reaches a committee topic.

use std::{collections::BTreeMap, time::Duration};

use pmoc_ingest::{
    http::{self, IngestResponse},
    kafka::ensure_topics,
};
use pmoc_schemas::config::Settings;
use pmoc_tests::{
    init_tracing,
    kafka::Broker,
    topic::{self, Stored},
    unique_name,
};
use rdkafka::{
    ClientConfig,
    consumer::{BaseConsumer, Consumer},
};
use reqwest::StatusCode;
use time::{OffsetDateTime, format_description::well_known::Rfc3339, macros::offset};

const TOKEN: &str = "it-token-hii";

fn settings(broker: &Broker) -> Settings {
    let mut s = Settings::default();
    s.kafka.brokers = broker.bootstrap.clone();
    s.kafka.partitions = 2;
    s.kafka.topics.population = unique_name("population");
    s.kafka.topics.security = unique_name("security");
    s.kafka.topics.water = unique_name("water");
    s.kafka.topics.resources = unique_name("resources");
    s.kafka.dead_letter_topic = unique_name("dead_letter");
    s.kafka.alerts_topic = unique_name("alerts");
    s.http_ingest.ack_timeout_ms = 5_000;
    s.http_ingest.agencies = BTreeMap::from([("HII".to_owned(), http::hash_token(TOKEN))]);
    // This deployment also takes HII's air-quality readings: the registry,
    // not the token, says which schemas an agency may send.
    let mut hii = s
        .sources
        .get("HII")
        .cloned()
        .expect("HII is a default source");
    hii.schemas.insert("pcd.air_quality".to_owned(), 3_600);
    s.sources.insert("HII", hii);
    s
}

/// A minute ago in Bangkok time, RFC 3339: valid for the decoder's clock.
fn recent() -> String {
    (OffsetDateTime::now_utc() - Duration::from_secs(60))
        .to_offset(offset!(+7))
        .format(&Rfc3339)
        .expect("format")
}

fn rainfall(id: &str, agency: &str, province: &str, time: &str) -> String {
    format!(
        r#"{{"schema":"hii.rainfall","schema_version":1,"event_id":"{id}","source_agency":"{agency}","source_system":"thaiwater","committee":"water","event_time":"{time}","area":{{"province":"{province}"}},"payload":{{"station_id":"S-{province}","rain_1h_mm":2.5,"rain_24h_mm":40.0}}}}"#
    )
}

fn air_quality(id: &str, province: &str, time: &str) -> String {
    format!(
        r#"{{"schema":"pcd.air_quality","schema_version":1,"event_id":"{id}","source_agency":"HII","source_system":"thaiwater","committee":"resources","event_time":"{time}","area":{{"province":"{province}"}},"payload":{{"station_id":"A-{province}","pm25_ugm3":37.5}}}}"#
    )
}
/// Every message of `topic` from the beginning (exactly `want`), sorted.
fn read_topic(settings: &Settings, topic: &str, want: usize) -> anyhow::Result<Vec<Stored>> {
    let k = &settings.kafka;
    let mut out = topic::read_topic(&k.brokers, topic, k.partitions, want)?;
    out.sort();
    Ok(out)
}

/// Messages ever stored on `topic`: the sum of its partitions' high
/// watermarks, exact once the producer was acknowledged.
fn stored_count(settings: &Settings, topic: &str) -> anyhow::Result<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &settings.kafka.brokers)
        .create()?;
    let mut total = 0;
    for p in 0..settings.kafka.partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        total += high - low;
    }
    Ok(total)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<(StatusCode, String)> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await?;
    Ok((response.status(), response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_ingest_publishes_valid_records_and_dead_letters_the_rest() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let mut broker = Broker::start(dir.path()).await?;
    let settings = settings(&broker);
    ensure_topics(&settings.kafka).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::run(listener, settings.clone(), async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/events");
    let t = recent();

    // A mixed NDJSON batch: three valid records of two committees, six bad.
    let lines = [
        rainfall("it-rain-50", "HII", "50", &t),
        air_quality("it-air-10", "10", &t),
        "{\"event_id\": \"it-broken\", \"schema\": ".to_owned(),
        rainfall("it-nsc-50", "NSC", "50", &t),
        rainfall("it-prov-99", "HII", "99", &t),
        rainfall("it-future", "HII", "50", "2099-01-01T00:00:00+07:00"),
        rainfall("it-rain-34", "HII", "34", &t),
        rainfall("it-system", "HII", "50", &t).replace("thaiwater", "spreadsheet"),
        air_quality("it-incident", "50", &t)
            .replace("pcd.air_quality", "nsc.incident")
            .replace("\"resources\"", "\"security\""),
    ];
    let body = lines.join("\n") + "\n";
    let (status, text) = post(&client, &url, TOKEN, "application/x-ndjson", body).await?;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{text}");
    let response: IngestResponse = serde_json::from_str(&text)?;
    assert_eq!(
        (
            response.agency.as_str(),
            response.received,
            response.accepted
        ),
        ("HII", 9, 3)
    );
    let rejects: Vec<(usize, Option<&str>, &str)> = response
        .rejected
        .iter()
        .map(|r| (r.index, r.event_id.as_deref(), r.kind.as_str()))
        .collect();
    assert_eq!(
        rejects,
        [
            (2, None, "malformed_json"),
            (3, Some("it-nsc-50"), "agency_not_authorised"),
            (4, Some("it-prov-99"), "unknown_province"),
            (5, Some("it-future"), "event_time_in_future"),
            (7, Some("it-system"), "unknown_source"),
            (8, Some("it-incident"), "schema_not_allowed_for_source"),
        ]
    );
    assert!(response.rejected.iter().all(|r| !r.reason.is_empty()));

    // Valid records are on their committee's topic, byte for byte, keyed by
    // province; the other agency's record is not.
    let stored = |key: &str, line: &String| Stored {
        key: key.to_owned(),
        payload: line.as_bytes().to_vec(),
        headers: BTreeMap::new(),
    };
    let water = read_topic(&settings, &settings.kafka.topics.water, 2)?;
    let mut want = vec![stored("34", &lines[6]), stored("50", &lines[0])];
    want.sort();
    assert_eq!(water, want, "water topic");
    assert_eq!(stored_count(&settings, &settings.kafka.topics.water)?, 2);
    let resources = read_topic(&settings, &settings.kafka.topics.resources, 1)?;
    assert_eq!(resources, [stored("10", &lines[1])], "resources topic");
    for topic in [
        &settings.kafka.topics.security,
        &settings.kafka.topics.population,
    ] {
        assert_eq!(stored_count(&settings, topic)?, 0, "{topic}");
    }

    // Rejects are on the dead-letter topic, byte for byte, with the reason.
    let dead = read_topic(&settings, &settings.kafka.dead_letter_topic, 6)?;
    let mut got: Vec<(String, Vec<u8>)> = dead
        .iter()
        .map(|d| {
            assert_eq!(d.headers["pmoc-source"], "http:HII");
            assert!(!d.headers["pmoc-reason"].is_empty());
            (d.headers["pmoc-reason-kind"].clone(), d.payload.clone())
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, Vec<u8>)> = response
        .rejected
        .iter()
        .map(|r| {
            (
                r.kind.as_str().to_owned(),
                lines[r.index].as_bytes().to_vec(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "dead-letter topic");

    // A JSON array works too; every record accepted is a 200.
    let array = format!("[{}]", air_quality("it-air-50", "50", &t));
    let (status, text) = post(&client, &url, TOKEN, "application/json", array).await?;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        stored_count(&settings, &settings.kafka.topics.resources)?,
        2
    );

    // A bad token publishes nothing anywhere.
    let line = rainfall("it-bad-token", "HII", "50", &t);
    let (status, _) = post(&client, &url, "not-a-token", "application/x-ndjson", line).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(stored_count(&settings, &settings.kafka.topics.water)?, 2);
    assert_eq!(
        stored_count(&settings, &settings.kafka.dead_letter_topic)?,
        6
    );

    // A batch with nothing acceptable is a 422; its record is dead-lettered.
    let line = rainfall("it-only-nsc", "NSC", "50", &t);
    let (status, text) = post(&client, &url, TOKEN, "application/x-ndjson", line).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert_eq!(
        stored_count(&settings, &settings.kafka.dead_letter_topic)?,
        7
    );
    assert_eq!(stored_count(&settings, &settings.kafka.topics.water)?, 2);

    // 10,000 records in one request, all acknowledged before the answer.
    let provinces = ["10", "11", "12", "20", "30", "34", "40", "50", "57", "90"];
    let batch: Vec<String> = (0..10_000)
        .map(|i| {
            let province = provinces[i % provinces.len()];
            if i % 2 == 0 {
                rainfall(&format!("it-bulk-{i}"), "HII", province, &t)
            } else {
                air_quality(&format!("it-bulk-{i}"), province, &t)
            }
        })
        .collect();
    let bytes: usize = batch.iter().map(|l| l.len() + 1).sum();
    let started = std::time::Instant::now();
    let (status, text) = post(
        &client,
        &url,
        TOKEN,
        "application/x-ndjson",
        batch.join("\n"),
    )
    .await?;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{text}");
    let response: IngestResponse = serde_json::from_str(&text)?;
    assert_eq!(response.accepted, 10_000);
    assert_eq!(
        stored_count(&settings, &settings.kafka.topics.water)?,
        2 + 5_000
    );
    eprintln!(
        "http ingest: 10000 records ({} KiB) acknowledged in {elapsed:.2?}: {:.0} records/s",
        bytes / 1024,
        10_000.0 / elapsed.as_secs_f64()
    );

    // Counters are asserted in pmoc-ingest's unit tests: in this binary
    // another server's Prometheus recorder may be the process-wide one.
    let metrics = client.get(format!("{base}/metrics")).send().await?;
    assert_eq!(
        metrics.status(),
        StatusCode::NOT_FOUND,
        "no metrics on the agency-facing listener"
    );

    // Without a broker the answer is 503, so the client knows to retry.
    broker.process.kill();
    let line = rainfall("it-no-broker", "HII", "50", &t);
    let (status, text) = post(&client, &url, TOKEN, "application/x-ndjson", line).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("send the same batch again"), "{text}");

    let _ = stop.send(());
    server.await??;
    Ok(())
}
