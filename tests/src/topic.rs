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
