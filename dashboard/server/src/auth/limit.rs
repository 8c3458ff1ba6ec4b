//! Brakes on guessing passwords: a per-address budget of sign-in attempts
//! per minute, and a per-account lockout after repeated failures.
//!
//! Both are small keyed counters in memory (a crate like `governor` offers
//! more than the two rules here need). The lockout is per account, not per
//! address, so spreading a guess over many addresses does not help; its
//! cost, that anybody can lock an account out for `lockout_seconds`, is the
//! usual trade and is bounded by that setting.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

const WINDOW: Duration = Duration::from_secs(60);
/// Keys held at most; expired ones are dropped first.
const MAX_KEYS: usize = 100_000;

#[derive(Debug)]
pub struct Limits {
    per_minute: u32,
    max_failures: u32,
    lockout: Duration,
    addresses: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    accounts: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

impl Limits {
    pub fn new(per_minute: u32, max_failures: u32, lockout: Duration) -> Self {
        Self {
            per_minute,
            max_failures: max_failures.max(1),
            lockout,
            addresses: Mutex::new(HashMap::new()),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `peer`; `false` once its minute's budget is spent.
    pub fn attempt(&self, peer: IpAddr) -> bool {
        let now = Instant::now();
        let Ok(mut map) = self.addresses.lock() else {
            return false;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = map.entry(peer).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }

    /// Whether `user` is locked out now.
    pub fn locked(&self, user: &str) -> bool {
        let now = Instant::now();
        self.accounts
            .lock()
            .map(|map| {
                map.get(user)
                    .and_then(|f| f.locked_until)
                    .is_some_and(|until| now < until)
            })
            .unwrap_or(true)
    }

    /// Records a failed sign-in; locks the account at the limit.
    pub fn failed(&self, user: &str) {
        let now = Instant::now();
        if let Ok(mut map) = self.accounts.lock() {
            if map.len() >= MAX_KEYS {
                map.retain(|_, f| f.locked_until.is_some_and(|u| now < u));
            }
            let f = map.entry(user.to_owned()).or_insert(Failures {
                count: 0,
                locked_until: None,
            });
            if f.locked_until.is_some_and(|u| now >= u) {
                *f = Failures {
                    count: 0,
                    locked_until: None,
                };
            }
            f.count += 1;
            if f.count >= self.max_failures {
                f.locked_until = Some(now + self.lockout);
                metrics::counter!("pmoc_dashboard_lockouts_total").increment(1);
                tracing::warn!(user, "account locked after failed sign-ins");
            }
        }
    }

    /// A successful sign-in clears the account's failures.
    pub fn succeeded(&self, user: &str) {
        if let Ok(mut map) = self.accounts.lock() {
            map.remove(user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_lockouts() {
        let limits = Limits::new(2, 3, Duration::from_secs(60));
        let peer: IpAddr = [127, 0, 0, 1].into();
        assert!(limits.attempt(peer) && limits.attempt(peer));
        assert!(!limits.attempt(peer), "third attempt in a minute");
        assert!(limits.attempt([127, 0, 0, 2].into()), "per address");
        for _ in 0..2 {
            limits.failed("u");
        }
        assert!(!limits.locked("u"));
        limits.failed("u");
        assert!(limits.locked("u") && !limits.locked("v"));
        let quick = Limits::new(9, 1, Duration::from_millis(0));
        quick.failed("w");
        assert!(!quick.locked("w"), "a lockout ends");
    }
}
