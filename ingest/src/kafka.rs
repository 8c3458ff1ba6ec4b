//! Kafka plumbing shared by every publisher.

use std::time::Duration;

use pmoc_schemas::config::KafkaSettings;
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    util::Timeout,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("kafka client")]
    Client(#[source] KafkaError),
    #[error("creating topic {topic}: {code}")]
    CreateTopic {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("delivering to {topic}")]
    Delivery {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("encoding event")]
    Encode(#[from] serde_json::Error),
}

/// Every topic PMOC uses, from the settings.
pub fn topics(settings: &KafkaSettings) -> Vec<String> {
    let mut topics: Vec<String> = settings.topics.all().map(|(_, t)| t.to_owned()).collect();
    topics.push(settings.dead_letter_topic.clone());
    topics.push(settings.alerts_topic.clone());
    topics
}

/// Creates the topics that do not exist yet; existing ones are left alone, so
/// this is safe to run at every start (the broker does not auto-create).
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), IngestError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()
        .map_err(IngestError::Client)?;
    let names = topics(settings);
    let retention = settings.retention_ms.to_string();
    let new: Vec<NewTopic<'_>> = names
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
            .set("retention.ms", &retention)
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(new.iter(), &opts)
        .await
        .map_err(IngestError::Client)?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(%topic, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(IngestError::CreateTopic { topic, code }),
        }
    }
    Ok(())
}

/// Where the broker stored a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// An idempotent producer: retries never duplicate or reorder a partition.
///
/// A full local queue is waited out (backpressure) rather than reported as a
/// failure, so a slow broker slows the publisher down instead of losing data.
#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
}

impl Publisher {
    pub fn new(brokers: &str) -> Result<Self, IngestError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "20")
            .set("compression.type", "none")
            .set("message.timeout.ms", "300000")
            .create()
            .map_err(IngestError::Client)?;
        Ok(Self { producer })
    }

    /// Publishes one message and waits for the broker's acknowledgement.
    pub async fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
    ) -> Result<Delivered, IngestError> {
        self.send_with_headers::<&str>(topic, key, payload, &[])
            .await
    }

    /// [`Self::send`] with Kafka headers, for dead letters whose reason
    /// travels beside the untouched original bytes.
    pub async fn send_with_headers<V: AsRef<str>>(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: &[(&str, V)],
    ) -> Result<Delivered, IngestError> {
        let mut record = FutureRecord::to(topic).key(key).payload(payload);
        if !headers.is_empty() {
            let headers = headers.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
                h.insert(Header {
                    key,
                    value: Some(value.as_ref()),
                })
            });
            record = record.headers(headers);
        }
        self.producer
            .send(record, Timeout::Never)
            .await
            .map(|d| Delivered {
                partition: d.partition,
                offset: d.offset,
            })
            .map_err(|(source, _)| IngestError::Delivery {
                topic: topic.to_owned(),
                source,
            })
    }

    /// Publishes many messages, up to 1024 awaiting acknowledgement at once;
    /// returns where each was stored, in input order.
    pub async fn send_all<I>(&self, topic: &str, messages: I) -> Result<Vec<Delivered>, IngestError>
    where
        I: IntoIterator<Item = (String, Vec<u8>)>,
    {
        use futures::{StreamExt, TryStreamExt, stream};
        stream::iter(messages)
            .map(|(key, payload)| async move { self.send(topic, &key, &payload).await })
            .buffered(1024)
            .try_collect()
            .await
    }

    /// [`Self::send_all`] with headers on each message.
    pub async fn send_all_with_headers<I, const N: usize>(
        &self,
        topic: &str,
        messages: I,
    ) -> Result<Vec<Delivered>, IngestError>
    where
        I: IntoIterator<Item = (String, Vec<u8>, [(&'static str, String); N])>,
    {
        use futures::{StreamExt, TryStreamExt, stream};
        stream::iter(messages)
            .map(|(key, payload, headers)| async move {
                self.send_with_headers(topic, &key, &payload, &headers)
                    .await
            })
            .buffered(1024)
            .try_collect()
            .await
    }
}
