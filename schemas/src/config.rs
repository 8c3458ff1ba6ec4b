//! The one settings file every PMOC program reads.
//!
//! Defaults are embedded, so the local stack runs with no file at all; a TOML
//! file and then `PMOC_SECTION__KEY` environment variables override them.
//! Unknown keys are errors: a typo must fail loudly, not be ignored.

mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use validate::InvalidSetting;

use crate::committee::Committee;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub kafka: KafkaSettings,
    pub clickhouse: ClickHouseSettings,
    pub pipeline: PipelineSettings,
    pub dashboard: DashboardSettings,
    pub simulator: SimulatorSettings,
    pub http_ingest: HttpIngestSettings,
    /// Sign-in, roles and scopes of the dashboard.
    pub auth: crate::auth::AuthSettings,
    /// Alert rules the pipeline evaluates.
    pub alerts: crate::alert::AlertRules,
    /// How counts of people are published (rounded, small ones suppressed):
    /// see [`crate::privacy`].
    pub privacy: crate::privacy::PrivacySettings,
    /// The known sources, by agency id: their systems, the schemas each may
    /// send and how often (see [`crate::source`]). A message from anyone
    /// else is rejected; the freshness lights and silence alerts judge a
    /// source's age against its cadence here.
    pub sources: crate::source::Sources,
}

/// Most window widths the pipeline aggregates at once: each observation
/// carries one bit per width it still counts in (a `u8`).
pub const MAX_WINDOW_WIDTHS: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub brokers: String,
    /// Each committee's topic; a message on it must belong to that committee.
    pub topics: CommitteeTopics,
    /// Where alert transitions (open, updated, resolved) are published.
    pub alerts_topic: String,
    /// Where rejected messages go, with their original bytes and the reason
    /// in headers (`pmoc-reason-kind`, `pmoc-reason`, and where it came from:
    /// `pmoc-source-*` from the pipeline, `pmoc-source` from HTTP ingest).
    pub dead_letter_topic: String,
    /// Partitions created for each topic; more partitions, more parallelism.
    pub partitions: i32,
    pub replication_factor: i32,
    /// `retention.ms` of the topics this stack creates (Kafka's default,
    /// seven days): how long the broker keeps records. It bounds the
    /// broker's storage on a stack left running; less the widest window and
    /// the lateness, it is the longest the pipeline can be down or behind
    /// without loss (a restart resumes at the oldest window not yet stored),
    /// so a shorter one is refused. Records lost anyway are counted and
    /// logged. Topics that already exist (the ministries') keep their own.
    pub retention_ms: u64,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:19092".to_owned(),
            dead_letter_topic: "pmoc.dead-letter.v1".to_owned(),
            topics: CommitteeTopics::default(),
            alerts_topic: "pmoc.alerts.v1".to_owned(),
            partitions: 4,
            replication_factor: 1,
            retention_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// One topic per committee, partitioned by province code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommitteeTopics {
    pub population: String,
    pub security: String,
    pub water: String,
    pub resources: String,
}

impl Default for CommitteeTopics {
    fn default() -> Self {
        Self {
            population: "dopa.population.v1".to_owned(),
            security: "nsc.security.v1".to_owned(),
            water: "hii.water.v1".to_owned(),
            resources: "mnre.resources.v1".to_owned(),
        }
    }
}

impl CommitteeTopics {
    pub fn of(&self, committee: Committee) -> &str {
        match committee {
            Committee::Population => &self.population,
            Committee::Security => &self.security,
            Committee::Water => &self.water,
            Committee::Resources => &self.resources,
        }
    }

    /// The committee that owns `topic`, if it is one of these.
    pub fn committee_of(&self, topic: &str) -> Option<Committee> {
        Committee::ALL.into_iter().find(|&c| self.of(c) == topic)
    }

    pub fn all(&self) -> impl Iterator<Item = (Committee, &str)> {
        Committee::ALL.into_iter().map(|c| (c, self.of(c)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseSettings {
    /// HTTP interface URL.
    pub url: String,
    /// Other servers of the same cluster, tried in order when the one in
    /// use does not answer; the one that answered is kept until it fails.
    pub failover_urls: Vec<String>,
    pub database: String,
    pub user: String,
    pub password: String,
    /// A cluster of `remote_servers` in the servers' configuration; empty
    /// for a single server. When set, the migrations create replicated
    /// tables (`<table>_local`) on every server of the cluster and, under
    /// each table's name, a `Distributed` table over them, which every read
    /// and insert goes through.
    pub cluster: String,
}

impl ClickHouseSettings {
    /// Every configured server, `url` first.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.url.as_str()).chain(self.failover_urls.iter().map(String::as_str))
    }
}

impl Default for ClickHouseSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:18123".to_owned(),
            failover_urls: Vec::new(),
            database: "pmoc".to_owned(),
            user: "default".to_owned(),
            password: String::new(),
            cluster: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSettings {
    /// Kafka consumer group whose committed offsets mark what is safely stored.
    pub group_id: String,
    /// Widths of the tumbling event-time windows, each aggregated
    /// separately (days are Thai calendar days, UTC+7). One to 8, distinct.
    pub windows_seconds: Vec<u32>,
    /// How far behind the newest event of a partition an event may be and
    /// still count in its window as it closes; later events revise it (see
    /// `correction_horizon_seconds`).
    pub allowed_lateness_seconds: u32,
    /// How far behind the newest event of a partition a late event may be
    /// and still revise its windows and their roll-ups (a new version of
    /// the final row, marked revised, alerts evaluated again); older ones
    /// are kept only in `late_events`. At least the allowed lateness.
    pub correction_horizon_seconds: u32,
    /// How long (in event time, behind the newest event of a partition) an
    /// event id is remembered, so a republished copy is dropped rather than
    /// counted twice. At least the allowed lateness. Memory grows with it,
    /// one id per event of the horizon (about 80 bytes each): an hour at
    /// 1,000 events/s is about 300 MB, a week would be 50 GB, so it is not
    /// tied to the correction horizon. A copy of an on-time event arriving
    /// later than this is folded in as a late value: it shows, as one more
    /// in the figure's "revised by N" and in `late_events`, never silently.
    /// Late values themselves are deduplicated by the window they revise
    /// for the whole correction horizon.
    pub dedup_horizon_seconds: u32,
    /// A partition with no new message for this long stops holding windows
    /// open. At least `allowed_lateness_seconds`: a partition let go before
    /// its lateness has passed would turn its next on-time event late.
    pub idle_partition_seconds: u32,
    /// Time between two ClickHouse inserts into a table: the writer inserts
    /// everything gathered since the last insert at most this often, so
    /// the number of inserts (and of parts ClickHouse must merge) stays the
    /// same whatever the event rate.
    pub flush_interval_ms: u64,
    /// Rows handed to the ClickHouse writer and not yet acknowledged above
    /// which the pipeline stops reading Kafka until ClickHouse catches up:
    /// the bound on the pipeline's memory when ClickHouse is slow or down.
    pub max_unstored_rows: usize,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            group_id: "pmoc-pipeline".to_owned(),
            windows_seconds: vec![60, 3_600, 86_400],
            allowed_lateness_seconds: 30,
            correction_horizon_seconds: 604_800,
            dedup_horizon_seconds: 3_600,
            idle_partition_seconds: 120,
            flush_interval_ms: 1_000,
            max_unstored_rows: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSettings {
    /// Address the dashboard server listens on.
    pub listen: String,
    /// Folder with `index.html` and the built WASM bundle.
    pub assets_dir: String,
    /// How often the server reads ClickHouse for changes to push.
    pub refresh_ms: u64,
    /// How often a watched drill-down area (one place, committee and range)
    /// is read again. Slower than the wall: a 7-day area is a heavy read,
    /// and reading each watched one twice a second kept ClickHouse near
    /// 1.5 cores of a 2-core machine under the drill-down benchmark.
    pub area_refresh_ms: u64,
    /// The longest a watched area (and the national district map) goes
    /// without being read again. Between those reads an area is read only
    /// when its committee's stored figures moved (the wall's reads say so);
    /// this one catches what they cannot show: ranges sliding with the
    /// clock, revisions of windows older than the wall's sparklines, rows
    /// written by anything but the pipeline.
    pub area_max_age_ms: u64,
    /// How long the pipeline's stored frontier, or the server's reads of
    /// ClickHouse, may stand still before every page says the data is
    /// stalled (see `schemas::health`). The national feeds never pause
    /// this long; a stack that really receives nothing for a while is
    /// shown stalled until the pipeline's idle partitions let its frontier
    /// move on with the clock (`idle_partition_seconds`).
    pub stall_after_seconds: u32,
    /// The wall's focus views, in order: a committee (`water`), `alerts`,
    /// or a region of the NSO scheme (`region:NE`).
    pub rotation: Vec<String>,
    /// How long each focus view stays on the wall.
    pub rotation_seconds: u32,
    /// How long a new critical alert holds the wall if nobody acknowledges it.
    pub alert_hold_seconds: u32,
    /// Window width of the wall's headline figures and sparklines.
    pub wall_window_seconds: u32,
    /// How many windows a sparkline shows.
    pub sparkline_windows: u32,
    /// The metric each committee colours the map by, by catalogue name.
    pub map_metrics: Vec<String>,
    /// Serve https (both files set) instead of plain http.
    pub tls: TlsSettings,
    /// A second listener for Prometheus' `/metrics` (keep it private);
    /// empty: none. On the main listener `/metrics` needs an operator.
    pub metrics_listen: String,
}

/// A certificate chain and key in PEM files; both empty: plain http.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// Leaf certificate first, then intermediates.
    pub cert_file: String,
    /// PKCS#8, PKCS#1 or SEC1 private key.
    pub key_file: String,
}

impl TlsSettings {
    /// The two files when TLS is configured.
    pub fn files(&self) -> Option<(&std::path::Path, &std::path::Path)> {
        (!self.cert_file.is_empty() && !self.key_file.is_empty()).then(|| {
            (
                std::path::Path::new(&self.cert_file),
                std::path::Path::new(&self.key_file),
            )
        })
    }
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            assets_dir: "dist".to_owned(),
            refresh_ms: 500,
            area_refresh_ms: 2_000,
            area_max_age_ms: 10_000,
            stall_after_seconds: 60,
            rotation: [
                "water",
                "population",
                "security",
                "resources",
                "alerts",
                "region:NE",
            ]
            .map(str::to_owned)
            .to_vec(),
            rotation_seconds: 20,
            alert_hold_seconds: 120,
            wall_window_seconds: 3_600,
            sparkline_windows: 24,
            map_metrics: [
                "births",
                "incident_severity",
                "water_freeboard_m",
                "pm25_ugm3",
            ]
            .map(str::to_owned)
            .to_vec(),
            tls: TlsSettings::default(),
            metrics_listen: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorSettings {
    /// Seed for reproducible feeds.
    pub seed: u64,
    /// Wall-clock time between two rounds of every committee's simulator
    /// (`simulate`).
    pub interval_ms: u64,
    /// Seconds of national activity the committee simulators pack into one
    /// wall-clock second: at real rates a daily report would leave the
    /// local dashboard's freshness lights red for hours.
    pub speedup: f64,
    /// Scenarios switched on (`flood-ubon`, `haze-chiangmai`, `deep-south`,
    /// `stalled-budget`), in addition to any given on the command line.
    pub scenarios: Vec<String>,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        Self {
            seed: 2569,
            interval_ms: 2_000,
            speedup: 60.0,
            scenarios: Vec::new(),
        }
    }
}

/// `pmoc-ingest serve`: the HTTP endpoint for agencies that cannot speak Kafka.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpIngestSettings {
    /// Address the endpoint listens on.
    pub listen: String,
    /// Largest request body, bytes: bigger requests get 413 without being
    /// read, so one client cannot make the server buffer unbounded data.
    pub max_body_bytes: usize,
    /// Largest single record, bytes; the decoder's limit (a record is a
    /// Kafka message, and real ones are under 2 KB).
    pub max_record_bytes: usize,
    /// Most records in one request; more is answered 413 with the bound,
    /// so one request can never hold more than this in the producer.
    pub max_records: usize,
    /// Requests being read or published at once; more are answered 429 with
    /// `Retry-After` at once instead of queueing in memory.
    pub max_concurrent_requests: usize,
    /// Messages the producer may hold unacknowledged (all requests
    /// together, dead letters included). A request that would go over it is
    /// answered 429 with `Retry-After` before anything of it is queued:
    /// when the broker falls behind, clients wait instead of memory growing.
    pub max_queued_messages: usize,
    /// Longest time to receive a request's body; a slower client gets 408.
    pub read_timeout_ms: u64,
    /// How long a request waits for the broker's acknowledgements before it
    /// is answered 503; the client then retries (event ids make that safe).
    pub ack_timeout_ms: u64,
    /// Each agency's bearer token as `sha256:<64 hex digits>` of the token,
    /// by agency id (`HII = "sha256:…"`): the config never holds a usable
    /// token. Ids are matched in upper case, because environment variables
    /// (`PMOC_HTTP_INGEST__AGENCIES__HII`) arrive lower-cased. Empty by
    /// default: no token is valid until one is configured.
    pub agencies: BTreeMap<String, String>,
    /// Serve https (both files set) instead of plain http.
    pub tls: TlsSettings,
    /// A second, private listener for Prometheus' `/metrics`; empty: none.
    /// Never served on the agency-facing listener.
    pub metrics_listen: String,
}

impl Default for HttpIngestSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8090".to_owned(),
            max_body_bytes: 16 * 1024 * 1024,
            max_record_bytes: crate::envelope::DEFAULT_MAX_MESSAGE_BYTES,
            max_records: 10_000,
            max_concurrent_requests: 16,
            max_queued_messages: 50_000,
            read_timeout_ms: 30_000,
            ack_timeout_ms: 10_000,
            agencies: BTreeMap::new(),
            tls: TlsSettings::default(),
            metrics_listen: String::new(),
        }
    }
}

/// Why settings could not be loaded.
#[cfg(feature = "load")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// Not TOML, an unknown key, a value of the wrong type.
    #[error("invalid settings: {0}")]
    Parse(Box<figment::Error>),
    /// Well-formed, but inconsistent or naming something that does not exist.
    #[error(transparent)]
    Invalid(#[from] InvalidSetting),
}

#[cfg(feature = "load")]
impl Settings {
    /// Embedded defaults, then the TOML file if given, then `PMOC_*` variables
    /// (`PMOC_KAFKA__BROKERS=host:9092` sets `kafka.brokers`).
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, SettingsError> {
        use figment::{
            Figment,
            providers::{Env, Format, Serialized, Toml},
        };
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            // `file_exact` so a missing file is an error, not silently defaults.
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            // Only `PMOC_SECTION__KEY` names are settings; other PMOC_* variables
            // (PMOC_CONFIG, PMOC_LOG, script paths) are not.
            .merge(
                Env::prefixed("PMOC_")
                    .filter(|k| k.as_str().contains("__"))
                    .split("__"),
            )
            .extract::<Self>()
            .map_err(|e| SettingsError::Parse(Box::new(e)))
            .and_then(|s| Ok(s.validated()?))
    }
}

#[cfg(all(test, feature = "load"))]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn file_overrides_defaults_and_unknown_keys_fail() {
        let mut f = tempfile_in_target("ok.toml");
        writeln!(f.1, "[pipeline]\nwindows_seconds = [60, 300, 3600, 86400]").expect("write");
        let s = Settings::load(Some(&f.0)).expect("valid");
        assert_eq!(s.pipeline.windows_seconds, [60, 300, 3_600, 86_400]);

        // Well-formed but wrong: the error names the key.
        let mut f = tempfile_in_target("rule.toml");
        writeln!(
            f.1,
            "[alerts]\n[[alerts.thresholds]]\nname = \"x\"\nmetric = \"pm25\"\n\
             statistic = \"max\"\ncomparison = \"above\"\nlimit = 1.0\n\
             severity = \"warning\"\nwindow_seconds = 60"
        )
        .expect("write");
        let err = Settings::load(Some(&f.0)).unwrap_err().to_string();
        assert!(err.contains("alerts.thresholds[0].metric"), "{err}");
        assert_eq!(s.kafka, KafkaSettings::default());

        let mut f = tempfile_in_target("typo.toml");
        writeln!(f.1, "[pipeline]\nwindow_secs = 300").expect("write");
        let err = Settings::load(Some(&f.0)).unwrap_err().to_string();
        assert!(err.contains("window_secs"), "{err}");

        let example =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/pmoc.example.toml");
        assert_eq!(
            Settings::load(Some(&example)).expect("example parses"),
            Settings::default()
        );

        // The local stack's file only overrides: it must load, keep every
        // source and schema, and scale every cadence down (the simulators
        // run 60 times faster than the real feeds).
        let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/local.toml");
        let local = Settings::load(Some(&local)).expect("local settings parse");
        let defaults = Settings::default();
        let schemas = |s: &Settings| -> Vec<(String, String)> {
            s.sources
                .iter()
                .flat_map(|(a, src)| src.schemas.keys().map(move |k| (a.to_owned(), k.clone())))
                .collect()
        };
        assert_eq!(schemas(&local), schemas(&defaults));
        for (agency, source) in local.sources.iter() {
            for (schema, &cadence) in &source.schemas {
                let real = defaults.sources.cadence_of(agency, schema).expect("known");
                assert!(
                    cadence >= 5 && cadence < real,
                    "{agency} {schema}: {cadence} s against {real} s"
                );
            }
        }

        let missing = std::path::Path::new("/nonexistent/pmoc.toml");
        assert!(Settings::load(Some(missing)).is_err());
    }

    fn tempfile_in_target(name: &str) -> (std::path::PathBuf, std::fs::File) {
        let dir = std::env::temp_dir().join(format!("pmoc-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(name);
        let file = std::fs::File::create(&path).expect("create");
        (path, file)
    }
}
