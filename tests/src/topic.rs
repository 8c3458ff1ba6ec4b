//! Reading a topic back, for tests that check what was published.

use std::{collections::BTreeMap, time::Duration};

use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
    message::Headers,
};

/// One message read back: key, payload and headers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stored {
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: BTreeMap<String, String>,
}

/// Every message of `topic`'s `partitions` from the beginning: fails unless
/// exactly `want` arrive (it waits up to 30 s for them, then a second more
/// for anything beyond).
pub fn read_topic(
    brokers: &str,
    topic: &str,
    partitions: i32,
    want: usize,
) -> anyhow::Result<Vec<Stored>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", crate::unique_name("reader"))
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while out.len() < want && std::time::Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            out.push(stored(&message?));
        }
    }
    // Nothing beyond what was expected arrives either.
    if out.len() == want
        && let Some(extra) = consumer.poll(Duration::from_secs(1))
    {
        anyhow::bail!("unexpected message on {topic}: {:?}", extra?.key());
    }
    anyhow::ensure!(
        out.len() == want,
        "{topic}: read {} of {want} messages",
        out.len()
    );
    Ok(out)
}

fn stored(message: &impl Message) -> Stored {
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value.unwrap_or_default());
                    (h.key.to_owned(), value.into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    Stored {
        key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
        payload: message.payload().unwrap_or_default().to_vec(),
        headers,
    }
}

/// One message of a partition read back whole: where it sits and its bytes.
#[derive(Debug, Clone)]
pub struct Positioned {
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
}

/// Every message of every partition of `topic`, up to each partition's
/// high watermark as the broker states it now (so call it once producers
/// are done), in offset order per partition.
pub fn read_all(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<Vec<Positioned>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", crate::unique_name("reader"))
        .create()?;
    let mut tpl = TopicPartitionList::new();
    let mut highs = BTreeMap::new();
    for p in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        if high > low {
            tpl.add_partition_offset(topic, p, Offset::Offset(low))?;
            highs.insert(p, high);
        }
    }
    if highs.is_empty() {
        return Ok(Vec::new());
    }
    consumer.assign(&tpl)?;
    let want: i64 = highs.values().sum::<i64>();
    let mut out = Vec::new();
    let mut left = highs.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !left.is_empty() {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{topic}: read {} messages, partitions {left:?} not read to their end",
            out.len()
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message?;
        let (p, offset) = (message.partition(), message.offset());
        if highs.get(&p).is_some_and(|&h| offset < h) {
            out.push(Positioned {
                partition: p,
                offset,
                payload: message.payload().unwrap_or_default().to_vec(),
            });
        }
        if left.get(&p).is_some_and(|&h| offset + 1 >= h) {
            left.remove(&p);
        }
    }
    out.sort_by_key(|m| (m.partition, m.offset));
    tracing::debug!(
        topic,
        messages = out.len(),
        upper_bound = want,
        "topic read back"
    );
    Ok(out)
}

/// Messages ever stored on `topic`: the sum of its partitions' high
/// watermarks less their low ones.
pub fn message_count(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let mut total = 0;
    for p in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        total += high - low;
    }
    Ok(total)
}
