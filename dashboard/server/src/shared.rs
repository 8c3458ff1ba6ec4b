//! Reads shared by every viewer: one ClickHouse read per key per refresh,
//! however many people look at it (the drill-down's areas, the national
//! district map; `area_cache` names the two).
//!
//! A key enters its cache when someone asks for it; from then on the
//! refresher reads it again while it has a subscriber (a page's stream) or
//! was asked for within `keep`, and forgets it after, but only when its
//! committee's stored figures moved since the last read or the read is
//! older than the safety age (`marks`). Every request and every subscriber
//! is served from the cached read, unrestricted: each caller's scope is
//! applied to it per request or per push, as for the wall
//! (`auth::scope::Access`). The first read of a key is shared too: viewers
//! who arrive together wait for one query.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{
        Arc, LazyLock, Mutex, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use pmoc_schemas::committee::Committee;
use serde::Serialize;
use tokio::sync::watch;

use crate::{
    ServerError,
    auth::scope::Access,
    body::Body,
    live::now_ms,
    marks::{Marks, Plan},
    read::Reader,
};

/// At most this many reads of one cache run at once in a refresh: a crisis
/// with hundreds of watched areas must not take every ClickHouse connection.
const REFRESH_CONCURRENCY: usize = 4;

/// Most cuts of one read kept encoded: a cut per distinct geographic scope
/// among its viewers (everyone national shares one).
const ENCODED_CUTS: usize = 8;

/// The metric names of one kind of shared read.
#[derive(Debug)]
pub struct Names {
    /// Reads made (first reads and repeated ones).
    pub queries: &'static str,
    /// Requests answered from the cache.
    pub hits: &'static str,
    /// Answers sent already encoded.
    pub encoded_hits: &'static str,
    /// Reads held.
    pub entries: &'static str,
    /// Reads not repeated in a refresh: nothing they show had moved.
    pub skipped: &'static str,
}

/// The metric names of a kind of shared read, all from one prefix.
macro_rules! names {
    ($prefix:literal) => {
        $crate::shared::Names {
            queries: concat!($prefix, "_queries_total"),
            hits: concat!($prefix, "_cache_hits_total"),
            encoded_hits: concat!($prefix, "_encoded_hits_total"),
            entries: concat!($prefix, "_cache_entries"),
            skipped: concat!($prefix, "_reads_skipped_total"),
        }
    };
}
pub(crate) use names;

/// What one cached read is of, and how it is made and cut.
pub trait SharedKey: std::fmt::Debug + Clone + Eq + Hash + Send + Sync + 'static {
    type Value: Serialize + Send + Sync + 'static;
    const NAMES: Names;
    /// Whose stored figures the read shows (`marks`).
    fn committee(&self) -> Committee;
    fn read(
        &self,
        reader: &Reader,
        now_ms: i64,
    ) -> impl Future<Output = Result<Self::Value, ServerError>> + Send;
    /// Which of the read's places `access` keeps: viewers keeping the same
    /// ones share one encoding.
    fn kept(value: &Self::Value, access: &Access) -> Vec<bool>;
    /// The read cut to `access`, by the one rule every route cuts with.
    fn cut(value: &Self::Value, access: &Access) -> Self::Value;
    /// Whether two reads differ in anything but when they were made.
    fn same(old: &Self::Value, new: &Self::Value) -> bool;
}

/// Numbers every version of every shared read in this process, so an ETag
/// names one content even across an entry forgotten and asked for again.
static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);
/// This process's start, in ETags: a restarted server numbers from 1 again.
static BOOT: LazyLock<i64> = LazyLock::new(now_ms);

/// A key's newest read, numbered: the number grows each time the figures
/// change, so a subscriber is pushed only real changes.
#[derive(Debug)]
pub struct Versioned<V> {
    pub version: u64,
    pub value: Arc<V>,
    encoded: Arc<Encoded>,
}

impl<V> Clone for Versioned<V> {
    fn clone(&self) -> Self {
        Self {
            version: self.version,
            value: self.value.clone(),
            encoded: self.encoded.clone(),
        }
    }
}

/// A read as sent, encoded once per cut: two hundred viewers of an area
/// cost one clone and one JSON encoding a refresh, not two hundred.
#[derive(Debug, Default)]
struct Encoded(RwLock<Vec<(Vec<bool>, Body)>>);

impl<V: Serialize> Versioned<V> {
    pub(crate) fn new(value: V) -> Self {
        Self {
            version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed),
            value: Arc::new(value),
            encoded: Arc::default(),
        }
    }

    /// The read as JSON, cut to `access`'s scope; encoded on first use per
    /// cut.
    pub fn json_for<K: SharedKey<Value = V>>(&self, access: &Access) -> std::io::Result<Body> {
        let kept = K::kept(&self.value, access);
        {
            let cuts = self.encoded.0.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, body)) = cuts.iter().find(|(k, _)| *k == kept) {
                metrics::counter!(K::NAMES.encoded_hits).increment(1);
                return Ok(body.clone());
            }
        }
        let encode = || {
            let mut cut = DefaultHasher::new();
            kept.hash(&mut cut);
            Body::new(
                serde_json::to_vec(&K::cut(&self.value, access))?,
                format!("\"{:x}-{}-{:x}\"", *BOOT, self.version, cut.finish()),
            )
        };
        // Encoded under the lock while there is room to keep the cut: two
        // hundred viewers arriving with a new version wait a few ms for one
        // encoding (and gzip) instead of each making their own.
        let mut cuts = self.encoded.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, body)) = cuts.iter().find(|(k, _)| *k == kept) {
            metrics::counter!(K::NAMES.encoded_hits).increment(1);
            return Ok(body.clone());
        }
        if cuts.len() >= ENCODED_CUTS {
            drop(cuts);
            return encode();
        }
        let body = encode()?;
        cuts.push((kept, body.clone()));
        Ok(body)
    }
}

#[derive(Debug)]
struct Entry<V> {
    current: watch::Sender<Option<Versioned<V>>>,
    /// Held by whoever makes the first read, so others wait for it.
    first_read: tokio::sync::Mutex<()>,
    /// When someone last asked (server clock, ms).
    wanted_ms: AtomicI64,
    /// The committee's mark when the newest read began (`None`: unknown).
    read_mark: Mutex<Option<u64>>,
}

impl<V> Entry<V> {
    fn current(&self) -> Option<Versioned<V>> {
        self.current.borrow().clone()
    }

    /// Still worth refreshing: someone is subscribed or asked lately.
    fn wanted(&self, now_ms: i64, keep_ms: i64) -> bool {
        self.current.receiver_count() > 0
            || now_ms - self.wanted_ms.load(Ordering::Relaxed) <= keep_ms
    }

    fn read_mark(&self) -> Option<u64> {
        *self.read_mark.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_read_mark(&self, mark: Option<u64>) {
        *self.read_mark.lock().unwrap_or_else(|e| e.into_inner()) = mark;
    }
}

/// The reads of one kind held, by key.
type Entries<K> = Mutex<HashMap<K, Arc<Entry<<K as SharedKey>::Value>>>>;

/// One kind of shared read, shared by every request (cheap to clone).
pub struct SharedReads<K: SharedKey> {
    reader: Reader,
    entries: Arc<Entries<K>>,
    keep_ms: i64,
    /// The committees' marks, as the wall's poller last read them.
    marks: watch::Receiver<Marks>,
}

impl<K: SharedKey> Clone for SharedReads<K> {
    fn clone(&self) -> Self {
        Self {
            reader: self.reader.clone(),
            entries: self.entries.clone(),
            keep_ms: self.keep_ms,
            marks: self.marks.clone(),
        }
    }
}

impl<K: SharedKey> SharedReads<K> {
    /// Keys nobody subscribes to are kept `keep` after the last request.
    pub fn new(reader: Reader, keep: Duration, marks: watch::Receiver<Marks>) -> Self {
        Self {
            reader,
            entries: Arc::default(),
            keep_ms: keep.as_millis() as i64,
            marks,
        }
    }

    fn entry(&self, key: &K) -> Arc<Entry<K::Value>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Entry {
                    current: watch::channel(None).0,
                    first_read: tokio::sync::Mutex::new(()),
                    wanted_ms: AtomicI64::new(0),
                    read_mark: Mutex::new(None),
                })
            })
            .clone();
        entry.wanted_ms.store(now_ms(), Ordering::Relaxed);
        entry
    }

    /// The key's newest read: from the cache, or read now if nobody has
    /// asked for it lately (once, for everyone asking at the same time).
    pub async fn get(&self, key: &K) -> Result<Versioned<K::Value>, ServerError> {
        let entry = self.entry(key);
        if let Some(v) = entry.current() {
            metrics::counter!(K::NAMES.hits).increment(1);
            return Ok(v);
        }
        let _reading = entry.first_read.lock().await;
        if let Some(v) = entry.current() {
            metrics::counter!(K::NAMES.hits).increment(1);
            return Ok(v);
        }
        let mark = self.marks.borrow().of_committee(key.committee());
        let v = Versioned::new(self.read(key).await?);
        entry.set_read_mark(mark);
        entry.current.send_replace(Some(v.clone()));
        Ok(v)
    }

    /// The key's read now and every change after, for a page's stream.
    /// The key stays refreshed while the receiver lives.
    pub async fn subscribe(
        &self,
        key: &K,
    ) -> Result<watch::Receiver<Option<Versioned<K::Value>>>, ServerError> {
        self.get(key).await?;
        Ok(self.entry(key).current.subscribe())
    }

    async fn read(&self, key: &K) -> Result<K::Value, ServerError> {
        metrics::counter!(K::NAMES.queries).increment(1);
        key.read(&self.reader, now_ms()).await
    }

    /// Reads again the wanted keys `plan` says are due, publishes those
    /// whose figures changed and forgets the keys nobody wants any more.
    /// Returns the committees whose reads were repeated.
    pub async fn refresh(&self, plan: &Plan) -> HashSet<Committee> {
        let now = now_ms();
        let mut skipped = 0u64;
        let due: Vec<(K, Arc<Entry<K::Value>>)> = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.retain(|_, e| e.wanted(now, self.keep_ms));
            metrics::gauge!(K::NAMES.entries).set(entries.len() as f64);
            entries
                .iter()
                .filter(|(_, e)| e.current.borrow().is_some())
                .filter(|(k, e)| {
                    let reads = plan.reads(k.committee(), e.read_mark());
                    skipped += u64::from(!reads);
                    reads
                })
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect()
        };
        metrics::counter!(K::NAMES.skipped).increment(skipped);
        let read: HashSet<Committee> = due.iter().map(|(k, _)| k.committee()).collect();
        futures::stream::iter(due)
            .for_each_concurrent(REFRESH_CONCURRENCY, |(key, entry)| async move {
                let mark = plan.mark(key.committee());
                match self.read(&key).await {
                    Ok(value) => {
                        entry.set_read_mark(mark);
                        entry.current.send_if_modified(|current| {
                            if current.as_ref().is_some_and(|o| K::same(&o.value, &value)) {
                                return false;
                            }
                            *current = Some(Versioned::new(value));
                            true
                        });
                    }
                    Err(error) => {
                        metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                        tracing::warn!(
                            error = %pmoc_schemas::error::chain(&error),
                            ?key,
                            "refreshing a shared read failed"
                        );
                    }
                }
            })
            .await;
        read
    }
}
