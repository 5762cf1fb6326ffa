//! Counters behind `rate-limit`, `rate-limit-by-key`, `quota` and `quota-by-key`:
//! [`Counters`] keeps them in this process ([`LocalCounters`]) or, with `--redis`, in Redis
//! shared by every replica ([`shared`]), falling back to local counting or refusing (as
//! the failure mode says) while Redis is unavailable. They live with the gateway, not with a
//! snapshot, so counts survive configuration changes.

mod local;
mod shared;

pub use local::LocalCounters;

use crate::redis::Redis;
use std::sync::Arc;
use std::time::Duration;

/// A counting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Length in milliseconds; 0 means the count never renews.
    pub period_ms: u64,
    /// Periods are aligned on this instant (Unix ms, `quota-by-key first-period-start`);
    /// without it a period starts with the first call counted after the previous one ended.
    pub anchor_ms: Option<u64>,
}

/// The outcome of [`Counters::increment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The count after this call (unchanged when refused).
    pub count: u64,
    /// Until the window renews (`Duration::MAX` for a window that never does).
    pub reset_in: Duration,
}

/// Counts could not be kept: Redis is unavailable and the gateway fails closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// Where counts are kept.
#[derive(Debug, Default)]
pub struct Counters {
    local: LocalCounters,
    shared: Option<shared::SharedCounters>,
}

impl Counters {
    /// Counts in Redis, falling back to this process's counts as `redis` says.
    pub fn shared(redis: Arc<Redis>) -> Self {
        Self {
            local: LocalCounters::default(),
            shared: Some(shared::SharedCounters::new(redis)),
        }
    }

    /// Adds `cost` to `key`'s count in its current window unless that would take it above
    /// `limit` (then nothing is added and the call is refused). A `cost` of 0 only asks
    /// whether the count is still below `limit`. Atomic per key, across replicas with Redis.
    #[inline]
    pub async fn increment(
        &self,
        key: &str,
        window: Window,
        limit: u64,
        cost: u64,
    ) -> Result<Decision, Unavailable> {
        match &self.shared {
            // No await, no allocation: the local path costs what a mutex and a map do.
            None => Ok(self.local.increment(key, window, limit, cost)),
            // Boxed so the Redis call's state does not grow every policy future.
            Some(s) => Box::pin(s.increment(key, window, limit, cost, &self.local)).await,
        }
    }
}
