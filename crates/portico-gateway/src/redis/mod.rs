//! The Redis that gateway replicas share (`--redis`): rate-limit and quota counts and the
//! external cache. [`Redis`] holds two multiplexed, self-reconnecting connections (one for
//! counters, one for cached bodies, so a large cached response never delays a counter): any
//! number of requests pipeline on each and none waits on a lock. Every call has a timeout,
//! and [`health`] turns a failed or slow call into "unavailable" for every later call at
//! once, until a probe finds Redis again, so an outage costs requests no waiting. What a
//! caller does while Redis is unavailable (count locally, refuse, treat as a cache miss) is
//! its own business; this module only says so, in logs, metrics and `/readyz`.

mod client;
mod health;
pub mod metrics;
mod script;

pub use client::Redis;
pub use script::Script;

use std::fmt;
use std::time::Duration;

/// What rate limits and quotas do while Redis is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// Count in this process, as if there were no Redis: limits hold per replica.
    #[default]
    FailOpen,
    /// Refuse calls that must be counted, with 503.
    FailClosed,
}

impl FailureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureMode::FailOpen => "fail-open",
            FailureMode::FailClosed => "fail-closed",
        }
    }
}

/// How to reach Redis and what to do without it.
#[derive(Clone)]
pub struct RedisOptions {
    /// Made from the URL by [`RedisOptions::new`], so a malformed URL stops the gateway at
    /// start rather than at its first request. Connects only when used.
    pub(crate) client: redis::Client,
    pub failure_mode: FailureMode,
    /// How long one counter call may take before Redis counts as unavailable.
    pub timeout: Duration,
    /// Put before every key, so several deployments (or tests) can share one Redis.
    pub key_prefix: String,
}

impl RedisOptions {
    /// Options for the Redis at `url` (`redis://[user:password@]host[:port][/db]`), failing
    /// open with a 100 ms timeout and the `portico:` key prefix.
    pub fn new(url: &str) -> Result<Self, String> {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        if scheme.eq_ignore_ascii_case("rediss") || scheme.eq_ignore_ascii_case("valkeys") {
            return Err(
                "TLS to Redis (rediss://) is not supported by Portico yet: use redis:// over a \
                 private network, or a local TLS tunnel (such as stunnel) to the Redis server"
                    .to_owned(),
            );
        }
        // The parser's messages never repeat the URL, which may hold a password.
        let client = redis::Client::open(url).map_err(|e| {
            format!(
                "invalid Redis URL ({e}): expected redis://[user:password@]host[:port][/db] \
                 or redis+unix:///path/to/socket"
            )
        })?;
        Ok(Self {
            client,
            failure_mode: FailureMode::default(),
            timeout: Duration::from_millis(100),
            key_prefix: "portico:".to_owned(),
        })
    }

    /// Where Redis is, for logs: host and port (or socket) and database, never credentials.
    pub fn target(&self) -> String {
        let info = self.client.get_connection_info();
        let db = info.redis_settings().db();
        if db == 0 {
            info.addr().to_string()
        } else {
            format!("{}/{db}", info.addr())
        }
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("target", &self.target())
            .field("failure_mode", &self.failure_mode)
            .field("timeout", &self.timeout)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

/// Redis could not be used for this call (down, too slow, or refusing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_passwords_never_shown() {
        let o = RedisOptions::new("redis://user:s3cret@cache.internal:6380/2").unwrap();
        assert_eq!(o.target(), "cache.internal:6380/2");
        assert!(!format!("{o:?}").contains("s3cret"));
        let e = RedisOptions::new("http://:s3cret@cache.internal").unwrap_err();
        assert!(e.contains("redis://"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let e = RedisOptions::new("rediss://:s3cret@cache.internal:6380").unwrap_err();
        assert!(
            e.contains("TLS to Redis (rediss://) is not supported"),
            "{e}"
        );
    }
}
