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

use crate::dataflow::RejectedMessage;

#[derive(Clone)]
pub struct DeadLetter {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetter {
    pub fn new(brokers: &str, topic: &str) -> Result<Self, KafkaError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create()?;
        Ok(Self {
            producer,
            topic: topic.to_owned(),
        })
    }

    /// Publishes every message and waits for all acknowledgements.
    pub async fn publish(&self, rejected: &[RejectedMessage]) -> Result<(), KafkaError> {
        let sends = rejected.iter().map(|r| {
            let partition = r.partition.to_string();
            let offset = r.offset.to_string();
            let headers = OwnedHeaders::new()
                .insert(header("pmoc-reason-kind", &r.kind))
                .insert(header("pmoc-reason", &r.reason))
                .insert(header("pmoc-source-topic", &r.topic))
                .insert(header("pmoc-source-partition", &partition))
                .insert(header("pmoc-source-offset", &offset));
            let key = format!("{}/{}/{}", r.topic, r.partition, r.offset);
            let producer = self.producer.clone();
            let topic = self.topic.clone();
            async move {
                let record = FutureRecord::to(&topic)
                    .key(&key)
                    .payload(&r.payload)
                    .headers(headers);
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
