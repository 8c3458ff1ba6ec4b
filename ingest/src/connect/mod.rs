//! Connectors for the public formats integrators already have: HII's
//! ThaiWater water-level and rain JSON, PCD's Air4Thai station JSON, and
//! GISTDA's hotspot CSV (or a raw FIRMS CSV) and GeoJSON API, read from a
//! file or a URL and published as PMOC envelopes.
//!
//! Each format module has a pure mapper (one source record to an
//! [`Envelope`] or a [`RejectReason`]) and a reader that splits a source into
//! records; this module does the I/O around them. A record that cannot be
//! mapped is never dropped: its original bytes go to the dead-letter topic
//! with the reason in headers, and it is counted by reason in the
//! [`Summary`].
//!
//! Event ids are made from the record itself (station and time, or satellite,
//! time and position), so running a connector twice over the same file
//! publishes the same ids and the pipeline deduplicates them.

pub mod air4thai;
pub mod fields;
pub mod gistda;
pub mod locate;
mod summary;
pub mod thaiwater;

use std::{
    fmt,
    io::{BufReader, Read},
    path::PathBuf,
    sync::Arc,
};

use pmoc_schemas::{
    RejectReason, committee::Committee, config::KafkaSettings, dead_letter::header,
    envelope::Envelope, event::unix_ms, source::Sources,
};
use time::OffsetDateTime;

pub use summary::Summary;

use crate::{IngestError, Publisher};

/// Largest JSON document read, bytes. The JSON feeds are snapshots of a few
/// thousand stations (a few MB); a bigger one is the wrong URL.
pub const MAX_JSON_BYTES: u64 = 256 * 1024 * 1024;

/// Records handed from the reading thread to the publisher at a time.
const BATCH: usize = 1024;

/// The public formats a connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// HII ThaiWater API water levels and rain (`waterlevel_load`,
    /// `rain_24h`, `thailand_main`), JSON.
    ThaiWater,
    /// PCD Air4Thai stations (`getNewAQI_JSON`), JSON.
    Air4Thai,
    /// GISTDA VIIRS/MODIS hotspots, CSV; a raw NASA FIRMS CSV too (its area
    /// from the point).
    Gistda,
    /// GISTDA's hotspot API, GeoJSON.
    GistdaApi,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::ThaiWater => "thaiwater",
            Self::Air4Thai => "air4thai",
            Self::Gistda => "gistda",
            Self::GistdaApi => "gistda-api",
        }
    }

    /// The committee whose topic the envelopes go to.
    pub fn committee(self) -> Committee {
        match self {
            Self::ThaiWater => Committee::Water,
            Self::Air4Thai | Self::Gistda | Self::GistdaApi => Committee::Resources,
        }
    }

    /// Splits `input` into records and maps each, in source order; stops at
    /// the first error `emit` returns.
    pub fn read(
        self,
        input: impl Read,
        now_ms: i64,
        emit: &mut dyn FnMut(Mapped) -> Result<(), ConnectError>,
    ) -> Result<(), ConnectError> {
        match self {
            Self::ThaiWater => {
                let doc = read_document(input)?;
                let records = thaiwater::records(&doc).map_err(|e| self.document_error(e))?;
                emit_json(
                    records,
                    |(kind, raw)| thaiwater::map(kind, raw, now_ms),
                    emit,
                )
            }
            Self::Air4Thai => {
                let doc = read_document(input)?;
                let records = air4thai::records(&doc).map_err(|e| self.document_error(e))?;
                let records = records.into_iter().map(|r| ((), r)).collect();
                emit_json(records, |((), raw)| air4thai::map_record(raw, now_ms), emit)
            }
            Self::Gistda => gistda::read(input, now_ms, emit),
            Self::GistdaApi => {
                let doc = read_document(input)?;
                let records = gistda::features(&doc).map_err(|e| self.document_error(e))?;
                let records = records.into_iter().map(|r| ((), r)).collect();
                emit_json(records, |((), raw)| gistda::map_feature(raw, now_ms), emit)
            }
        }
    }

    fn document_error(self, source: serde_json::Error) -> ConnectError {
        ConnectError::Document {
            format: self.name(),
            source,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One source record, mapped or rejected, with the bytes it was read from.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// Position in the source, from 1.
    pub record: u64,
    /// The record's original bytes: a JSON element, a CSV row.
    pub raw: Vec<u8>,
    pub outcome: Result<Envelope, RejectReason>,
}

/// Why a connector run stopped. Bad records are not errors (they are
/// rejected and counted); these are failures of the source or the broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("opening {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("fetching {url}")]
    Fetch {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("reading the source")]
    Read(#[source] std::io::Error),
    #[error("the source is larger than {MAX_JSON_BYTES} bytes, too large for a JSON snapshot")]
    TooLarge,
    #[error("the source is not a {format} document")]
    Document {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("reading CSV")]
    Csv(#[from] csv::Error),
    #[error("the CSV has no {0} column")]
    MissingColumn(&'static str),
    #[error("publishing")]
    Publish(#[from] IngestError),
    #[error("the publisher stopped")]
    Stopped,
    #[error("the reading thread failed")]
    Join(#[from] tokio::task::JoinError),
}

/// Where records are read from: a file, or an http(s) URL fetched once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Url(String),
}

impl Source {
    /// A URL when it starts with `http://` or `https://`, a path otherwise.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            Self::Url(s.to_owned())
        } else {
            Self::File(PathBuf::from(s))
        }
    }

    /// A streaming reader; blocking, so call it off the async runtime.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, ConnectError> {
        match self {
            Self::File(path) => std::fs::File::open(path)
                .map(|f| Box::new(BufReader::with_capacity(1 << 16, f)) as Box<dyn Read + Send>)
                .map_err(|source| ConnectError::Open {
                    path: path.clone(),
                    source,
                }),
            Self::Url(url) => {
                let fetch = |source| ConnectError::Fetch {
                    url: url.clone(),
                    source,
                };
                // No overall timeout: a large CSV may take minutes to stream;
                // connection and read stalls are bounded instead.
                let client = reqwest::blocking::Client::builder()
                    .connect_timeout(std::time::Duration::from_secs(30))
                    .timeout(None)
                    .build()
                    .map_err(fetch)?;
                let response = client
                    .get(url)
                    .send()
                    .and_then(|r| r.error_for_status())
                    .map_err(fetch)?;
                Ok(Box::new(response))
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Url(u) => f.write_str(u),
        }
    }
}

/// Reads a whole JSON document, refusing one beyond [`MAX_JSON_BYTES`].
fn read_document(input: impl Read) -> Result<Vec<u8>, ConnectError> {
    let mut doc = Vec::new();
    input
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut doc)
        .map_err(ConnectError::Read)?;
    if doc.len() as u64 > MAX_JSON_BYTES {
        return Err(ConnectError::TooLarge);
    }
    Ok(doc)
}

/// Maps and emits the elements of a JSON document, each with what says how
/// to read it (its kind, or nothing).
fn emit_json<K: Copy>(
    records: Vec<(K, &serde_json::value::RawValue)>,
    map: impl Fn((K, &str)) -> Result<Envelope, RejectReason>,
    emit: &mut dyn FnMut(Mapped) -> Result<(), ConnectError>,
) -> Result<(), ConnectError> {
    for (i, (kind, raw)) in records.into_iter().enumerate() {
        emit(Mapped {
            record: i as u64 + 1,
            raw: raw.get().as_bytes().to_vec(),
            outcome: map((kind, raw.get())),
        })?;
    }
    Ok(())
}

/// How a run reports and where it publishes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Map and validate only; publish nothing.
    pub dry_run: bool,
    /// Log progress every this many records (0: never).
    pub progress_every: u64,
    /// The known sources (`[sources]`): a mapped record from a source or
    /// schema the registry does not allow is rejected like any bad record,
    /// here rather than later by the pipeline.
    pub sources: Sources,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dry_run: false,
            progress_every: 10_000,
            sources: Sources::default(),
        }
    }
}

/// Reads `source` as `format` and publishes every mapped envelope to its
/// committee's topic (keyed by province, as the topics are partitioned) and
/// every rejected record to the dead-letter topic.
///
/// Reading and mapping run on a blocking thread, streaming; the publisher
/// takes batches from a small bounded channel, so a slow broker slows the
/// reader down instead of buffering the file in memory.
pub async fn run(
    format: Format,
    source: &Source,
    kafka: &KafkaSettings,
    options: &Options,
) -> Result<Summary, ConnectError> {
    let publisher = if options.dry_run {
        None
    } else {
        Some(Publisher::new(&kafka.brokers)?)
    };
    let topic = kafka.topics.of(format.committee()).to_owned();
    let origin: Arc<str> = format!("{format}:{source}").into();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Mapped>>(4);
    let reading = source.clone();
    let sources = options.sources.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let now_ms = unix_ms(OffsetDateTime::now_utc());
        let input = reading.open()?;
        let mut batch = Vec::with_capacity(BATCH);
        let mut emit = |mut m: Mapped| {
            m.outcome = m.outcome.and_then(|e| sources.check(&e).map(|()| e));
            batch.push(m);
            if batch.len() >= BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                tx.blocking_send(full).map_err(|_| ConnectError::Stopped)?;
            }
            Ok(())
        };
        format.read(input, now_ms, &mut emit)?;
        if !batch.is_empty() {
            tx.blocking_send(batch).map_err(|_| ConnectError::Stopped)?;
        }
        Ok::<(), ConnectError>(())
    });

    let mut summary = Summary::default();
    let started = std::time::Instant::now();
    let published = async {
        while let Some(batch) = rx.recv().await {
            let before = summary.read;
            publish_batch(
                batch,
                publisher.as_ref(),
                &topic,
                &kafka.dead_letter_topic,
                &origin,
                &mut summary,
            )
            .await?;
            let every = options.progress_every;
            if every > 0 && summary.read / every > before / every {
                tracing::info!(
                    %format,
                    read = summary.read,
                    published = summary.published,
                    rejected = summary.rejected_total(),
                    records_per_s = (summary.read as f64 / started.elapsed().as_secs_f64()) as u64,
                    "progress"
                );
            }
        }
        Ok::<(), ConnectError>(())
    }
    .await;
    // Dropping the receiver stops a reader still sending after a failure.
    drop(rx);
    let read = reader.await?;
    published?;
    read?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

async fn publish_batch(
    batch: Vec<Mapped>,
    publisher: Option<&Publisher>,
    topic: &str,
    dead_letter_topic: &str,
    origin: &str,
    summary: &mut Summary,
) -> Result<(), ConnectError> {
    let mut good = Vec::with_capacity(batch.len());
    let mut dead = Vec::new();
    for m in batch {
        summary.read += 1;
        match m
            .outcome
            .and_then(|e| Ok((e.area.province.to_string(), e.encode()?)))
        {
            Ok(message) => good.push(message),
            Err(reason) => {
                summary.reject(&reason);
                tracing::debug!(record = m.record, %reason, "rejected");
                dead.push((m.record, m.raw, reason));
            }
        }
    }
    let Some(publisher) = publisher else {
        summary.valid += good.len() as u64;
        return Ok(());
    };
    let n = good.len() as u64;
    publisher.send_all(topic, good).await?;
    summary.valid += n;
    summary.published += n;
    let letters = dead.iter().map(|(record, raw, reason)| {
        let record = record.to_string();
        let key = format!("{origin}#{record}");
        let headers = [
            (header::REASON_KIND, reason.kind.as_str().to_owned()),
            (header::REASON, reason.detail.clone()),
            (header::SOURCE, origin.to_owned()),
            (header::SOURCE_RECORD, record),
        ];
        (key, raw.clone(), headers)
    });
    let letters: Vec<_> = letters.collect();
    let n = letters.len() as u64;
    publisher
        .send_all_with_headers(dead_letter_topic, letters)
        .await?;
    summary.dead_lettered += n;
    Ok(())
}
