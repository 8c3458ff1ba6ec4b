//! The dead-letter topic: every rejected message, byte for byte, with why it
//! was rejected and where it was read in its headers, so an integrator can
//! inspect, fix and re-publish it.
//!
//! Delivery is at least once: a crash between publishing and the offset
//! commit republishes on replay; the `pmoc-source-*` headers identify
//! duplicates.

use rdkafka::{
    ClientConfig,
    error::KafkaError,
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    util::Timeout,
};

use pmoc_schemas::dead_letter::{RejectedMessage, header as name};

#[derive(Clone)]
pub struct DeadLetter {
    producer: FutureProducer,
    topic: String,
    /// Alert transitions share the producer: both are the writer's side
    /// outputs, published before the rows that record them are acknowledged.
    alerts_topic: String,
}

impl DeadLetter {
    pub fn new(brokers: &str, topic: &str, alerts_topic: &str) -> Result<Self, KafkaError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create()?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
            alerts_topic: alerts_topic.to_owned(),
        })
    }

    /// Publishes every message and waits for all acknowledgements.
    pub async fn publish(&self, rejected: &[RejectedMessage]) -> Result<(), KafkaError> {
        let records = rejected.iter().map(|r| {
            let headers = OwnedHeaders::new()
                .insert(header(name::REASON_KIND, r.kind.as_str()))
                .insert(header(name::REASON, &r.reason))
                .insert(header(name::SOURCE_TOPIC, &r.topic))
                .insert(header(name::SOURCE_PARTITION, &r.partition.to_string()))
                .insert(header(name::SOURCE_OFFSET, &r.offset.to_string()));
            let key = format!("{}/{}/{}", r.topic, r.partition, r.offset);
            (key, r.payload.clone(), Some(headers))
        });
        self.send_all(&self.topic, records).await
    }

    /// Publishes alert transitions as JSON, keyed by alert id (so one
    /// alert's transitions stay in order on one partition).
    pub async fn publish_alerts(
        &self,
        alerts: &[pmoc_schemas::alert::AlertEvent],
    ) -> Result<(), KafkaError> {
        let records = alerts.iter().map(|a| {
            let payload = serde_json::to_vec(a).unwrap_or_default();
            (a.alert_id.clone(), payload, None)
        });
        self.send_all(&self.alerts_topic, records).await
    }

    /// Sends (key, payload, headers) records concurrently and waits for
    /// every acknowledgement; the first failure is returned.
    async fn send_all(
        &self,
        topic: &str,
        records: impl Iterator<Item = (String, Vec<u8>, Option<OwnedHeaders>)>,
    ) -> Result<(), KafkaError> {
        let sends = records.map(|(key, payload, headers)| {
            let producer = self.producer.clone();
            async move {
                let mut record = FutureRecord::to(topic).key(&key).payload(&payload);
                if let Some(h) = headers {
                    record = record.headers(h);
                }
                producer
                    .send(record, Timeout::Never)
                    .await
                    .map(|_| ())
                    .map_err(|(e, _)| e)
            }
        });
        for result in futures::future::join_all(sends).await {
            result?;
        }
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
