//! Whether Redis is usable, and telling people when that changes: a warning in the log, the
//! `portico_redis_up` gauge and a `/readyz` line, each once per outage (on the change, not
//! per request), then "reachable again" when a probe succeeds. Requests read one atomic;
//! only changes take the lock.

use super::metrics::RedisMetrics;
use super::FailureMode;
use crate::readiness::ReadinessPart;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;
use tokio::sync::Notify;

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// Redis's state as the gateway last saw it.
#[derive(Debug)]
pub(super) struct Health {
    /// Until the first call or probe, Redis is presumed usable, so requests do not fall
    /// back while the first connection is being made.
    state: AtomicU8,
    /// Serialises the transitions, so their log lines and readiness text come in order.
    changes: Mutex<()>,
    /// Wakes the prober when a request finds Redis unavailable.
    pub(super) lost: Notify,
    target: String,
    mode: FailureMode,
    metrics: RedisMetrics,
    readiness: ReadinessPart,
}

impl Health {
    pub(super) fn new(
        target: String,
        mode: FailureMode,
        metrics: RedisMetrics,
        readiness: ReadinessPart,
    ) -> Self {
        readiness.set(Some(format!("redis: connecting to {target}")));
        Self {
            state: AtomicU8::new(UNKNOWN),
            changes: Mutex::new(()),
            lost: Notify::new(),
            target,
            mode,
            metrics,
            readiness,
        }
    }

    /// Whether calls should go to Redis now.
    #[inline]
    pub(super) fn usable(&self) -> bool {
        self.state.load(Ordering::Relaxed) != DOWN
    }

    pub(super) fn is_down(&self) -> bool {
        self.state.load(Ordering::Relaxed) == DOWN
    }

    /// A call or probe failed because of `why` (an error message naming no credentials).
    pub(super) fn failed(&self, why: &str) {
        if self.state.load(Ordering::Relaxed) == DOWN {
            return;
        }
        let _order = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        if self.state.swap(DOWN, Ordering::Relaxed) == DOWN {
            return;
        }
        self.metrics.up.set(0);
        let meanwhile = match self.mode {
            FailureMode::FailOpen => {
                "rate limits and quotas are counted by each replica alone (fail-open)"
            }
            FailureMode::FailClosed => {
                "calls that rate limits or quotas must count are refused with 503 (fail-closed)"
            }
        };
        tracing::warn!(
            redis = %self.target,
            error = why,
            "Redis unavailable: {meanwhile}; the external cache misses; retrying in the background"
        );
        let since = humantime::format_rfc3339_seconds(SystemTime::now());
        self.readiness.set(Some(format!(
            "redis: unavailable since {since} ({why}): {meanwhile}"
        )));
        self.lost.notify_one();
    }

    /// A probe succeeded.
    pub(super) fn reached(&self) {
        if self.state.load(Ordering::Relaxed) == UP {
            return;
        }
        let _order = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let before = self.state.swap(UP, Ordering::Relaxed);
        if before == UP {
            return;
        }
        self.metrics.up.set(1);
        if before == DOWN {
            tracing::info!(redis = %self.target, "Redis reachable again: rate limits, quotas and the external cache are shared again");
        } else {
            tracing::info!(redis = %self.target, "Redis connected: rate limits, quotas and the external cache are shared by every replica using it");
        }
        self.readiness
            .set(Some(format!("redis: connected to {}", self.target)));
    }
}
