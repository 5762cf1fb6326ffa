//! [`Redis`]: the connections, the per-call timeout, and the prober that finds Redis again
//! after an outage.

use super::health::Health;
use super::metrics::RedisMetrics;
use super::script::Script;
use super::{FailureMode, RedisOptions, Unavailable};
use crate::readiness::ReadinessPart;
use redis::aio::ConnectionManager;
use redis::{Cmd, FromRedisValue, RedisError, ServerErrorKind};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Between probes while Redis is unavailable: how soon counting goes back to it.
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// Between probes while it is up, so `/readyz` and the gauge notice an outage even when no
/// request does.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// A probe (and a connection attempt) may take this long; a cache call too, as it may move
/// a response of megabytes.
const SLOW_CALL: Duration = Duration::from_secs(1);

/// The shared Redis of a gateway. Cheap to share: every call clones a handle.
pub struct Redis {
    counters: ConnectionManager,
    cache: ConnectionManager,
    prefix: String,
    timeout: Duration,
    failure_mode: FailureMode,
    metrics: RedisMetrics,
    health: Arc<Health>,
}

impl fmt::Debug for Redis {
    // The connection managers' own Debug would print the client's settings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("failure_mode", &self.failure_mode)
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects in the background (the gateway starts whether Redis is up or not) and
    /// starts the prober. Needs a Tokio runtime; the prober ends when the last handle goes.
    pub fn start(
        options: RedisOptions,
        metrics: RedisMetrics,
        readiness: ReadinessPart,
    ) -> Arc<Self> {
        let target = options.target();
        // One connection attempt per call: retrying is the prober's job, and a request must
        // never wait out a series of reconnects.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(SLOW_CALL))
            .set_response_timeout(Some(SLOW_CALL));
        let manager = || {
            ConnectionManager::new_lazy_with_config(options.client.clone(), config.clone()).expect(
                "a lazy connection manager fails only with automatic resubscription, which is off",
            )
        };
        let redis = Arc::new(Self {
            counters: manager(),
            cache: manager(),
            prefix: options.key_prefix,
            timeout: options.timeout,
            failure_mode: options.failure_mode,
            health: Arc::new(Health::new(
                target,
                options.failure_mode,
                metrics.clone(),
                readiness,
            )),
            metrics,
        });
        tokio::spawn(probe_forever(Arc::downgrade(&redis), redis.health.clone()));
        redis
    }

    pub fn failure_mode(&self) -> FailureMode {
        self.failure_mode
    }

    pub fn metrics(&self) -> &RedisMetrics {
        &self.metrics
    }

    /// Whether calls go to Redis now (false during an outage).
    pub fn is_up(&self) -> bool {
        self.health.usable()
    }

    /// The Redis key for `key` of kind `kind` (`c:` counters, `r:`/`v:` cache entries).
    pub fn key(&self, kind: &str, key: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + kind.len() + key.len());
        k.extend_from_slice(self.prefix.as_bytes());
        k.extend_from_slice(kind.as_bytes());
        k.extend_from_slice(key.as_bytes());
        k
    }

    /// Runs `script` on `key` with the arguments `args` adds, on the counters' connection,
    /// within the per-call timeout.
    pub async fn eval<T: FromRedisValue>(
        &self,
        script: &Script,
        key: &[u8],
        args: &(dyn Fn(&mut Cmd) + Sync),
    ) -> Result<T, Unavailable> {
        let mut conn = self.counters.clone();
        self.guarded(self.timeout, async move {
            match script.by_hash(key, args).query_async(&mut conn).await {
                Err(e) if e.kind() == redis::ErrorKind::Server(ServerErrorKind::NoScript) => {
                    script.by_source(key, args).query_async(&mut conn).await
                }
                other => other,
            }
        })
        .await
    }

    /// Runs `cmd` on the cache's connection.
    pub async fn cache_query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, Unavailable> {
        let mut conn = self.cache.clone();
        let r = self
            .guarded(SLOW_CALL, async move { cmd.query_async(&mut conn).await })
            .await;
        if r.is_err() {
            self.metrics.cache_unavailable.inc();
        }
        r
    }

    /// Runs `call` unless Redis is known to be down; a failure or a call slower than
    /// `limit` makes it down for everyone until the prober reaches it again.
    async fn guarded<T>(
        &self,
        limit: Duration,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, Unavailable> {
        if !self.health.usable() {
            return Err(Unavailable);
        }
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(v)) => Ok(v),
            // Any error counts: a server that answers OOM, READONLY or NOAUTH cannot keep
            // counts either, and the prober's write decides when it can again.
            Ok(Err(e)) => {
                self.health.failed(&describe(&e));
                Err(Unavailable)
            }
            Err(_) => {
                self.health.failed(&format!(
                    "no answer within {}",
                    humantime::format_duration(limit)
                ));
                Err(Unavailable)
            }
        }
    }

    /// One write on each connection: what counting and caching need to work.
    async fn probe(&self) -> Result<(), String> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key("", "probe")).arg(1).arg("PX").arg(60_000);
        for conn in [&self.counters, &self.cache] {
            let mut conn = conn.clone();
            match tokio::time::timeout(SLOW_CALL, cmd.query_async::<()>(&mut conn)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(describe(&e)),
                Err(_) => return Err("no answer to the probe within 1s".to_owned()),
            }
        }
        Ok(())
    }
}

/// An error's text. The client's messages name the address at most, never credentials.
fn describe(e: &RedisError) -> String {
    e.to_string()
}

/// Probes Redis right away (so start-up says whether it is reachable), then every
/// [`CHECK_EVERY`] while it is up and every [`RETRY_EVERY`] while it is not, or at once when
/// a request finds it unavailable. Holds the gateway's Redis only while probing.
async fn probe_forever(redis: Weak<Redis>, health: Arc<Health>) {
    loop {
        let Some(r) = redis.upgrade() else { return };
        match r.probe().await {
            Ok(()) => health.reached(),
            Err(e) => health.failed(&e),
        }
        drop(r);
        let pause = if health.is_down() {
            RETRY_EVERY
        } else {
            CHECK_EVERY
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = health.lost.notified() => {
                // Give the outage a moment before knocking again.
                tokio::time::sleep(RETRY_EVERY).await;
            }
        }
    }
}
