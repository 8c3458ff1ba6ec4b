//! The drill-down's reads, shared: one ClickHouse read per area and range
//! per refresh, however many people look at it.
//!
//! An area (level, code, committee, range) enters the cache when someone
//! asks for it; from then on the refresher reads it once per tick while
//! it has a subscriber (a drill-down page's stream) or was asked for within
//! `keep`, and forgets it after. Every request and every subscriber is
//! served from the cached read, unrestricted: each caller's scope is
//! applied to it per request or per push, as for the wall
//! (`auth::scope::Access::area`). The first read of an area is shared too:
//! viewers who arrive together wait for one query.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::body::Bytes;
use futures::StreamExt;
use pmoc_schemas::{api::AreaDetail, committee::Committee};
use tokio::sync::watch;

use crate::{ServerError, auth::scope::Access, live::now_ms, read::Reader};

/// At most this many areas are read at once by a refresh: a crisis with
/// hundreds of watched areas must not take every ClickHouse connection.
const REFRESH_CONCURRENCY: usize = 4;

/// What one cached read is of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AreaKey {
    pub level: String,
    pub code: String,
    pub committee: Committee,
    /// A key of `api::RANGES`.
    pub range: &'static str,
}

/// An area's newest read, numbered: the number grows by one each time the
/// figures change, so a subscriber is pushed only real changes.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub version: u64,
    pub detail: Arc<AreaDetail>,
    encoded: Arc<Encoded>,
}

/// Most cuts of one read kept encoded: a cut per distinct geographic scope
/// among its viewers (everyone national shares one).
const ENCODED_CUTS: usize = 8;

/// A read as sent, encoded once per cut of its children (which of them the
/// viewer's scope keeps): two hundred viewers of an area cost one clone and
/// one JSON encoding a refresh, not two hundred.
#[derive(Debug, Default)]
struct Encoded(RwLock<Vec<(Vec<bool>, Bytes)>>);

impl Versioned {
    fn new(version: u64, detail: AreaDetail) -> Self {
        Self {
            version,
            detail: Arc::new(detail),
            encoded: Arc::default(),
        }
    }

    /// The read as JSON, cut to `access`'s scope (`Access::area`, the one
    /// rule every route cuts with); encoded on first use per cut.
    pub fn json_for(&self, access: &Access) -> Result<Bytes, serde_json::Error> {
        let kept: Vec<bool> = self
            .detail
            .children
            .iter()
            .map(|c| access.in_geo(&c.place.level, &c.place.code))
            .collect();
        {
            let cuts = self.encoded.0.read().unwrap_or_else(|p| p.into_inner());
            if let Some((_, body)) = cuts.iter().find(|(k, _)| *k == kept) {
                metrics::counter!("pmoc_dashboard_area_encoded_hits_total").increment(1);
                return Ok(body.clone());
            }
        }
        let body = Bytes::from(serde_json::to_vec(&access.area((*self.detail).clone()))?);
        let mut cuts = self.encoded.0.write().unwrap_or_else(|p| p.into_inner());
        if cuts.len() < ENCODED_CUTS && !cuts.iter().any(|(k, _)| *k == kept) {
            cuts.push((kept, body.clone()));
        }
        Ok(body)
    }
}

#[derive(Debug)]
struct Entry {
    current: watch::Sender<Option<Versioned>>,
    /// Held by whoever makes the first read, so others wait for it.
    first_read: tokio::sync::Mutex<()>,
    /// When someone last asked (server clock, ms).
    wanted_ms: AtomicI64,
}

impl Entry {
    fn current(&self) -> Option<Versioned> {
        self.current.borrow().clone()
    }

    /// Still worth refreshing: someone is subscribed or asked lately.
    fn wanted(&self, now_ms: i64, keep_ms: i64) -> bool {
        self.current.receiver_count() > 0
            || now_ms - self.wanted_ms.load(Ordering::Relaxed) <= keep_ms
    }
}

/// Shared by every request (cheap to clone).
#[derive(Clone)]
pub struct AreaCache {
    reader: Reader,
    entries: Arc<Mutex<HashMap<AreaKey, Arc<Entry>>>>,
    keep_ms: i64,
}

impl AreaCache {
    /// Areas nobody subscribes to are kept `keep` after the last request.
    pub fn new(reader: Reader, keep: Duration) -> Self {
        Self {
            reader,
            entries: Arc::default(),
            keep_ms: keep.as_millis() as i64,
        }
    }

    fn entry(&self, key: &AreaKey) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(Entry {
                    current: watch::channel(None).0,
                    first_read: tokio::sync::Mutex::new(()),
                    wanted_ms: AtomicI64::new(0),
                })
            })
            .clone();
        entry.wanted_ms.store(now_ms(), Ordering::Relaxed);
        entry
    }

    /// The area's newest read: from the cache, or read now if nobody has
    /// asked for it lately (once, for everyone asking at the same time).
    pub async fn get(&self, key: &AreaKey) -> Result<Versioned, ServerError> {
        let entry = self.entry(key);
        if let Some(v) = entry.current() {
            metrics::counter!("pmoc_dashboard_area_cache_hits_total").increment(1);
            return Ok(v);
        }
        let _reading = entry.first_read.lock().await;
        if let Some(v) = entry.current() {
            metrics::counter!("pmoc_dashboard_area_cache_hits_total").increment(1);
            return Ok(v);
        }
        let v = Versioned::new(1, self.read(key).await?);
        entry.current.send_replace(Some(v.clone()));
        Ok(v)
    }

    /// The area's read now and every change after, for a page's stream.
    /// The area stays refreshed while the receiver lives.
    pub async fn subscribe(
        &self,
        key: &AreaKey,
    ) -> Result<watch::Receiver<Option<Versioned>>, ServerError> {
        self.get(key).await?;
        Ok(self.entry(key).current.subscribe())
    }

    async fn read(&self, key: &AreaKey) -> Result<AreaDetail, ServerError> {
        metrics::counter!("pmoc_dashboard_area_queries_total").increment(1);
        self.reader
            .area_detail(
                &key.level,
                &key.code,
                key.committee,
                Some(key.range),
                now_ms(),
            )
            .await
    }

    /// Reads every wanted area again and publishes those that changed;
    /// forgets the areas nobody wants any more.
    pub async fn refresh(&self) {
        let now = now_ms();
        let due: Vec<(AreaKey, Arc<Entry>)> = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.retain(|_, e| e.wanted(now, self.keep_ms));
            metrics::gauge!("pmoc_dashboard_area_cache_entries").set(entries.len() as f64);
            entries
                .iter()
                .filter(|(_, e)| e.current.borrow().is_some())
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect()
        };
        metrics::counter!("pmoc_dashboard_area_refreshes_total").increment(1);
        futures::stream::iter(due)
            .for_each_concurrent(REFRESH_CONCURRENCY, |(key, entry)| async move {
                match self.read(&key).await {
                    Ok(detail) => {
                        entry.current.send_if_modified(|current| {
                            let old = current.as_ref();
                            if old.is_some_and(|o| same_figures(&o.detail, &detail)) {
                                return false;
                            }
                            *current =
                                Some(Versioned::new(old.map_or(1, |o| o.version + 1), detail));
                            true
                        });
                    }
                    Err(error) => {
                        metrics::counter!("pmoc_dashboard_clickhouse_errors_total").increment(1);
                        tracing::warn!(
                            error = %pmoc_schemas::error::chain(&error),
                            level = key.level, code = key.code, "refreshing an area failed"
                        );
                    }
                }
            })
            .await;
    }

    /// Refreshes every `every` until `stop` turns true.
    pub async fn run(self, every: Duration, mut stop: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => self.refresh().await,
                _ = stop.changed() => return,
            }
        }
    }
}

/// Whether two reads differ in anything but when they were made.
fn same_figures(old: &AreaDetail, new: &AreaDetail) -> bool {
    AreaDetail {
        generated_at_ms: new.generated_at_ms,
        ..old.clone()
    } == *new
}

#[cfg(test)]
mod tests {
    use pmoc_schemas::{
        api::{AreaDetail, ChildRow, breadcrumbs, children},
        auth::{RoleKind, RoleSettings},
        committee::{Committee, security::Classification},
    };

    use super::*;

    fn access(name: &str, role: RoleSettings) -> Access {
        Access::from_settings(name, &role).expect("a valid role")
    }

    #[test]
    fn each_scope_gets_its_cut_encoded_once() {
        // The nation's four regions and Bangkok.
        let v = Versioned::new(
            3,
            AreaDetail {
                breadcrumbs: breadcrumbs("nation", "TH"),
                committee: "water".to_owned(),
                range: "1d".to_owned(),
                window_seconds: 3600,
                series: Vec::new(),
                children: children("nation", "TH")
                    .into_iter()
                    .map(|place| ChildRow {
                        place,
                        values: Vec::new(),
                    })
                    .collect(),
                complete_up_to_ms: None,
                generated_at_ms: 0,
            },
        );
        let national = access(
            "executive",
            RoleSettings::new(RoleKind::Executive, Classification::Secret),
        );
        let ne = access(
            "ne",
            RoleSettings {
                committees: vec![Committee::Water],
                region: "NE".to_owned(),
                ..RoleSettings::new(RoleKind::Liaison, Classification::Restricted)
            },
        );
        let codes = |body: &Bytes| {
            let d: AreaDetail = serde_json::from_slice(body).expect("an area");
            d.children
                .into_iter()
                .map(|c| c.place.code)
                .collect::<Vec<_>>()
        };
        let all = v.json_for(&national).expect("encodes");
        let mine = v.json_for(&ne).expect("encodes");
        assert_eq!(codes(&all).len(), 5);
        assert_eq!(codes(&mine), ["NE"], "cut by the one rule (Access::area)");
        // Asked again (on a clone, as each request holds one): the same
        // bytes, not a second encoding.
        let again = v.clone();
        assert_eq!(
            again.json_for(&national).expect("encodes").as_ptr(),
            all.as_ptr()
        );
        assert_eq!(
            again.json_for(&ne).expect("encodes").as_ptr(),
            mine.as_ptr()
        );
    }
}
