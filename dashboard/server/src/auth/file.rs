//! The small JSON files that hold local accounts and kiosk tokens.
//!
//! Written atomically (a temporary file in the same folder, mode 0600,
//! synced, then renamed over the old one), so a crash never leaves half a
//! file and nobody else on the machine can read the hashes. The server
//! reads them through [`Watched`], which notices when the command line
//! changed them: disabling an account or revoking a kiosk takes effect on
//! the next request, without a restart.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use serde::{Serialize, de::DeserializeOwned};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    #[error("reading {0}")]
    Read(PathBuf, #[source] std::io::Error),
    #[error("{0} is not valid")]
    Parse(PathBuf, #[source] serde_json::Error),
    #[error("writing {0}")]
    Write(PathBuf, #[source] std::io::Error),
}

/// The file's contents; a missing file is the empty default.
pub fn load<T: DeserializeOwned + Default>(path: &Path) -> Result<T, FileError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| FileError::Parse(path.into(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(FileError::Read(path.into(), e)),
    }
}

/// Replaces the file atomically, readable by its owner only.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e| FileError::Write(path.into(), e);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("store");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| fail(e.into()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    file.write_all(&bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// How often a request may cause the file's modification time to be checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A file's parsed contents, read again when it changes on disk.
#[derive(Debug)]
pub struct Watched<T> {
    path: PathBuf,
    state: Mutex<WatchState<T>>,
}

#[derive(Debug)]
struct WatchState<T> {
    value: Arc<T>,
    modified: Option<SystemTime>,
    checked: Instant,
}

impl<T: DeserializeOwned + Default> Watched<T> {
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let modified = modified(path);
        Ok(Self {
            path: path.to_owned(),
            state: Mutex::new(WatchState {
                value: Arc::new(load(path)?),
                modified,
                checked: Instant::now(),
            }),
        })
    }

    /// The current contents. A file that became unreadable keeps the last
    /// good contents (and says so in the log) rather than locking everyone out.
    pub fn get(&self) -> Arc<T> {
        let Ok(mut state) = self.state.lock() else {
            return Arc::new(T::default());
        };
        if state.checked.elapsed() >= CHECK_EVERY {
            state.checked = Instant::now();
            let now = modified(&self.path);
            if now != state.modified {
                match load(&self.path) {
                    Ok(value) => {
                        state.value = Arc::new(value);
                        state.modified = now;
                        tracing::info!(path = %self.path.display(), "reloaded");
                    }
                    Err(error) => tracing::warn!(
                        error = %pmoc_schemas::error::chain(&error),
                        "keeping the last good contents"
                    ),
                }
            }
        }
        state.value.clone()
    }

    /// Reads the file now (tests, and right after this process wrote it).
    pub fn refresh(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.checked = Instant::now()
                .checked_sub(CHECK_EVERY)
                .unwrap_or(state.checked);
        }
        self.get();
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
