//! Several servers of one cluster behind one [`crate::Store`]: a statement
//! goes to the server in use; when that server cannot be reached it goes to
//! the next configured one, which stays in use until it fails in turn.
//!
//! Only an unreachable server (connection refused or reset, a timeout)
//! moves on: a server that answers with an error has spoken, and asking
//! another would only hide the error. Repeating a statement elsewhere is
//! safe for PMOC's: reads have no effects, and an insert that may have
//! landed before the connection broke lands again as the same rows, which
//! the `ReplacingMergeTree` keys collapse and replicated tables drop as a
//! duplicate block.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use clickhouse::{Client, error::Error};

use crate::Result;

#[derive(Clone)]
pub(crate) struct Servers(Arc<Inner>);

struct Inner {
    /// `(url, client)`, in the configured order.
    servers: Vec<(String, Client)>,
    /// The index of the server in use.
    current: AtomicUsize,
}

impl Servers {
    /// `servers` is never empty: it holds at least the `url` setting's.
    pub(crate) fn new(servers: Vec<(String, Client)>) -> Self {
        Self(Arc::new(Inner {
            servers,
            current: AtomicUsize::new(0),
        }))
    }

    /// Runs `op` on the server in use, and on each next one in turn while
    /// the one asked cannot be reached; the first that answers becomes the
    /// server in use. With one server, this is `op` on it.
    pub(crate) async fn run<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let n = self.0.servers.len();
        let first = self.0.current.load(Ordering::Relaxed) % n;
        let mut tried = 0;
        loop {
            let i = (first + tried) % n;
            let (url, client) = &self.0.servers[i];
            match op(client.clone()).await {
                Ok(v) => {
                    if i != first
                        && self
                            .0
                            .current
                            .compare_exchange(first, i, Ordering::Relaxed, Ordering::Relaxed)
                            .is_ok()
                    {
                        tracing::warn!(%url, "clickhouse: failed over to another server");
                    }
                    return Ok(v);
                }
                Err(error) if unreachable(&error) && tried + 1 < n => {
                    tracing::warn!(%url, error = %error, "clickhouse server unreachable; trying the next");
                    tried += 1;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// Whether `error` says the server was not there to answer.
fn unreachable(error: &Error) -> bool {
    matches!(error, Error::Network(_) | Error::TimedOut)
}
