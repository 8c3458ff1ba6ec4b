//! The public-format connectors against a real broker: each sample file
//! (`ingest/tests/data/`) is connected in-process, then the committee topics
//! and the dead-letter topic are read back and compared with what the
//! mappers make of the same file.

use std::collections::BTreeMap;

use pmoc_ingest::{
    connect::{self, Format, Mapped, Options, Source},
    kafka::ensure_topics,
};
use pmoc_schemas::{
    committee::Committee,
    config::{KafkaSettings, Settings},
    envelope::{DEFAULT_MAX_MESSAGE_BYTES, decode},
    event::unix_ms,
    source::Sources,
};
use pmoc_tests::{
    init_tracing,
    kafka::Broker,
    repo_root,
    topic::{self, Stored},
    unique_name,
};
use time::OffsetDateTime;

const SAMPLES: [(Format, &str); 7] = [
    (Format::ThaiWater, "thaiwater_waterlevel_load.json"),
    (Format::Air4Thai, "air4thai_getNewAQI_JSON.json"),
    (Format::Gistda, "gistda_hotspot_viirs.csv"),
    // Water levels and rain from thailand_main, a rain feed keyed by id,
    // GISTDA's GeoJSON API and a raw FIRMS CSV (located by point): the
    // registry takes their systems (hotspot-api, firms) and hii.rainfall.
    (Format::ThaiWater, "thaiwater_thailand_main.json"),
    (Format::ThaiWater, "thaiwater_rain_24h.json"),
    (Format::GistdaApi, "gistda_hotspot_api.geojson"),
    (Format::Gistda, "firms_viirs_snpp_nrt.csv"),
];

fn settings(broker: &Broker) -> Settings {
    let mut s = Settings::default();
    let k = &mut s.kafka;
    k.brokers = broker.bootstrap.clone();
    k.partitions = 2;
    k.alerts_topic = unique_name("alerts");
    k.dead_letter_topic = unique_name("dead-letter");
    k.topics.population = unique_name("population");
    k.topics.security = unique_name("security");
    k.topics.water = unique_name("water");
    k.topics.resources = unique_name("resources");
    s
}

/// What the mappers make of a sample, read straight from the file.
fn expected(format: Format, name: &str) -> anyhow::Result<Vec<Mapped>> {
    let path = repo_root().join("ingest/tests/data").join(name);
    let mut out = Vec::new();
    let now_ms = unix_ms(OffsetDateTime::now_utc());
    format.read(std::fs::File::open(path)?, now_ms, &mut |m| {
        out.push(m);
        Ok(())
    })?;
    Ok(out)
}

/// Exactly `want` messages of every partition of `topic`.
fn read_topic(kafka: &KafkaSettings, topic: &str, want: usize) -> anyhow::Result<Vec<Stored>> {
    topic::read_topic(&kafka.brokers, topic, kafka.partitions, want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_publish_samples_and_dead_letter_their_bad_records() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let broker = Broker::start(dir.path()).await?;
    let settings = settings(&broker);
    let kafka = &settings.kafka;
    ensure_topics(kafka).await?;
    let options = Options {
        dry_run: false,
        progress_every: 0,
        ..Options::default()
    };

    let mut good: BTreeMap<Committee, Vec<(String, String)>> = BTreeMap::new();
    let mut bad = Vec::new();
    for (format, name) in SAMPLES {
        let source = Source::File(repo_root().join("ingest/tests/data").join(name));
        let summary = connect::run(format, &source, kafka, &options).await?;
        let mapped = expected(format, name)?;
        let (ok, rejected): (Vec<&Mapped>, Vec<&Mapped>) =
            mapped.iter().partition(|m| m.outcome.is_ok());
        assert_eq!(summary.read, mapped.len() as u64, "{format}");
        assert_eq!(summary.published, ok.len() as u64, "{format}");
        assert_eq!(summary.dead_lettered, rejected.len() as u64, "{format}");
        assert_eq!(summary.rejected_total(), rejected.len() as u64, "{format}");
        for m in ok {
            let e = m.outcome.as_ref().map_err(Clone::clone)?;
            good.entry(format.committee())
                .or_default()
                .push((e.area.province.to_string(), e.event_id.to_string()));
        }
        for m in rejected {
            let reason = m.outcome.as_ref().err().map(|r| r.kind.as_str().to_owned());
            bad.push((
                format!("{format}:{source}"),
                m.record.to_string(),
                reason.unwrap_or_default(),
                m.raw.clone(),
            ));
        }
    }
    assert_eq!(good[&Committee::Water].len(), 20 + 5 + 2);
    assert_eq!(good[&Committee::Resources].len(), 18 + 24 + 3 + 4);
    assert_eq!(bad.len(), 8 + 5 + 8 + 2 + 1 + 1 + 2);

    // Committee topics: every valid record once, decodable by the pipeline's
    // decoder, keyed by its province.
    let now_ms = unix_ms(OffsetDateTime::now_utc());
    for (committee, want) in &good {
        let topic = kafka.topics.of(*committee);
        let stored = read_topic(kafka, topic, want.len())?;
        let mut got = Vec::new();
        for s in &stored {
            let envelope = decode(
                &s.payload,
                now_ms,
                DEFAULT_MAX_MESSAGE_BYTES,
                &Sources::default(),
            )
            .map_err(|e| anyhow::anyhow!("{topic}: {e}"))?;
            envelope
                .check_topic_committee(*committee)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            got.push((s.key.clone(), envelope.event_id.to_string()));
        }
        got.sort();
        let mut want = want.clone();
        want.sort();
        assert_eq!(got, want, "{topic}");
    }

    // Dead letters: the original bytes, the reason and the source in headers.
    let stored = read_topic(kafka, &kafka.dead_letter_topic, bad.len())?;
    let mut got: Vec<_> = stored
        .iter()
        .map(|s| {
            assert!(
                s.headers.get("pmoc-reason").is_some_and(|r| !r.is_empty()),
                "{s:?}"
            );
            (
                s.headers.get("pmoc-source").cloned().unwrap_or_default(),
                s.headers
                    .get("pmoc-source-record")
                    .cloned()
                    .unwrap_or_default(),
                s.headers
                    .get("pmoc-reason-kind")
                    .cloned()
                    .unwrap_or_default(),
                s.payload.clone(),
            )
        })
        .collect();
    got.sort();
    bad.sort();
    assert_eq!(got, bad, "dead-letter topic");

    // Running a connector again publishes the same ids: duplicates the
    // pipeline drops, not new events.
    let (format, name) = SAMPLES[0];
    let source = Source::File(repo_root().join("ingest/tests/data").join(name));
    connect::run(format, &source, kafka, &options).await?;
    let topic = kafka.topics.of(Committee::Water);
    let water = good[&Committee::Water].len();
    let twice = read_topic(kafka, topic, water + 20)?;
    let mut ids: Vec<String> = twice
        .iter()
        .map(|s| {
            decode(
                &s.payload,
                now_ms,
                DEFAULT_MAX_MESSAGE_BYTES,
                &Sources::default(),
            )
        })
        .map(|e| e.map(|e| e.event_id.to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ids.sort();
    ids.dedup();
    // The samples share some stations and times: count each id once.
    let mut first: Vec<&str> = good[&Committee::Water]
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();
    first.sort_unstable();
    first.dedup();
    assert_eq!(ids, first, "a re-run adds no new ids");
    Ok(())
}
