//! Child processes that die with their guard, free ports, and waiting on
//! conditions instead of sleeping.

use std::{
    future::Future,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// A free loopback port. The OS may hand it out again, but not in the
/// moment between this call and the server binding it in practice.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    /// Spawns `command` with stdout and stderr going to `log`, in a process
    /// group of its own, so that what it starts (chromedriver starts
    /// Chromium) dies with it even when a test fails halfway.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", command.get_program()))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        })
    }

    /// The last `lines` lines of the process's log, named, for a failure
    /// message: a test's temporary directory is gone once it fails, and on
    /// CI the message is all that is left of a stalled process.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!("--- last {lines} lines of {}'s log ---\n{tail}", self.name)
    }

    /// Fails if the process has already exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early with {status}", self.name);
        }
        Ok(())
    }

    /// Sends SIGTERM (to the process only, as a supervisor does) and waits
    /// up to `within` for it to exit; returns how long it took. The process
    /// is killed if it overstays. Its exit status comes with the time.
    pub fn terminate(
        &mut self,
        within: Duration,
    ) -> anyhow::Result<(Duration, std::process::ExitStatus)> {
        let started = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait()? {
                return Ok((started.elapsed(), status));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        bail!("{} did not stop within {within:?} of SIGTERM", self.name)
    }

    /// Sends SIGKILL now (to simulate a crash) to the process and its group,
    /// and reaps it.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The group id is the child's pid (`process_group(0)`).
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Longest one check of [`wait_for`] may take before it is given up and
/// tried again: a probe whose connection the server accepted but never
/// answers (ZooKeeper asked too early) must not hang the test for ever.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `check` until it returns `Ok(Some(v))`, failing after `timeout` with
/// the last error or `what`. Each check is bounded too (by
/// [`CHECK_TIMEOUT`] and what is left of `timeout`).
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        let bound = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(100), CHECK_TIMEOUT);
        match tokio::time::timeout(bound, check()).await {
            Ok(Ok(Some(v))) => return Ok(v),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {
                last_error = Some(anyhow::anyhow!(
                    "a check for {what} did not answer within {bound:?}"
                ))
            }
        }
        if Instant::now() >= deadline {
            return Err(match last_error {
                Some(e) => e.context(format!("waiting for {what}")),
                None => anyhow::anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `url` answers with a success status, failing early if
/// `process` exits.
pub async fn wait_http_ok(
    what: &str,
    process: &mut ChildGuard,
    url: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    wait_for(what, timeout, || {
        let running = process.check_running();
        let request = http.get(url).send();
        async move {
            running?;
            Ok(request
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ()))
        }
    })
    .await
}

/// Fails with install advice when a server binary is missing.
pub fn require_binary(path: &Path, install: &str) -> anyhow::Result<()> {
    if !path.exists() {
        bail!("{} not found; install it with: {install}", path.display());
    }
    Ok(())
}
