//! How every PMOC program stops: on SIGTERM (systemd, the local stack's
//! supervisor) or SIGINT (Ctrl-C), cleanly and within a bounded time
//! whatever is down.
//!
//! A first signal asks the program to stop ([`Stop::requested`] resolves,
//! [`Stop::flag`] turns true). Nothing a PMOC program holds is lost by
//! being cut short (offsets are committed only for stored results, a
//! request answered with an error is resent), so a program that has not
//! exited `deadline` after the signal (a client still waiting on a broker
//! or ClickHouse that is gone) is ended then, and a second signal ends it
//! at once: a stop is never held hostage by an unreachable server.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;

/// The default for [`on_signals`]: inside systemd's and the supervisor's
/// 5-second expectation.
pub const STOP_DEADLINE: Duration = Duration::from_millis(4_500);

/// The exit status of a program ended by the deadline or a second signal
/// (128 + SIGTERM, as a shell reports a process killed by it).
const FORCED_EXIT: i32 = 143;

/// A stop request, shared by whoever needs to see it.
#[derive(Debug, Clone)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    rx: watch::Receiver<bool>,
}

impl Stop {
    /// Set once a stop was asked for: for threads that poll (timely workers).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    /// Resolves once a stop was asked for.
    pub async fn requested(mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}

/// Listens for SIGTERM and SIGINT on a small thread of its own (so it works
/// for synchronous programs too) and returns the stop request; after the
/// first signal, ends the process on a second one or after `deadline`.
pub fn on_signals(deadline: Duration) -> std::io::Result<Stop> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Registered here, before the thread starts, so a signal that arrives
    // at once is not missed and a failure is reported to the caller. (An
    // `enter`, not a `block_on`: the caller may be inside a runtime.)
    let (mut term, mut int) = {
        let _in_rt = rt.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    let flag = Arc::new(AtomicBool::new(false));
    let (tx, rx) = watch::channel(false);
    let set = flag.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            rt.block_on(async {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                tracing::info!("stopping");
                set.store(true, Ordering::SeqCst);
                let _ = tx.send(true);
                tokio::select! {
                    _ = term.recv() => tracing::warn!("second signal: exiting now"),
                    _ = int.recv() => tracing::warn!("second signal: exiting now"),
                    () = tokio::time::sleep(deadline) => {
                        tracing::warn!(?deadline, "not stopped in time: exiting now");
                    }
                }
                std::process::exit(FORCED_EXIT);
            });
        })?;
    Ok(Stop { flag, rx })
}
