//! [`Gateway`]: the state every request shares (the current runtime behind one `ArcSwap`,
//! backend clients, telemetry) and the one way to change it, [`Gateway::apply`], which
//! compiles a snapshot off the hot path and swaps it in atomically.

use crate::access_log::AccessLog;
use crate::exchange::Telemetry;
use crate::metrics::Metrics;
use crate::net::TrustedProxies;
use crate::policy::identity::IdentityEndpoint;
use crate::proxy::pool::{PoolSettings, Upstreams};
use crate::runtime::Runtime;
use crate::tls::Catalog;
use arc_swap::ArcSwapOption;
use portico_model::Snapshot;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Behaviour settings of the data plane (listener settings are in [`crate::server`]).
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// How long the backend may take to send response headers (APIM's default is 300 s).
    pub backend_timeout: Duration,
    pub backend_connect_timeout: Duration,
    /// Front proxies whose `X-Forwarded-Proto`/`-Host` are believed.
    pub trusted_proxies: TrustedProxies,
    /// Write one JSON access-log line per request to standard output.
    pub access_log: bool,
    /// Where `authentication-managed-identity` gets tokens; the default reads the
    /// environment once ([`IdentityEndpoint::from_env`]).
    pub managed_identity: IdentityEndpoint,
    /// The Redis shared with other replicas (`--redis`) for rate limits, quotas and the
    /// external cache; `None` keeps them in this process. Needs a Tokio runtime.
    pub redis: Option<crate::redis::RedisOptions>,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            backend_timeout: Duration::from_secs(300),
            backend_connect_timeout: Duration::from_secs(10),
            trusted_proxies: TrustedProxies::default(),
            access_log: true,
            managed_identity: IdentityEndpoint::from_env(),
            redis: None,
        }
    }
}

/// State shared by every request.
#[derive(Debug)]
pub struct Shared {
    pub runtime: ArcSwapOption<Runtime>,
    pub upstreams: Upstreams,
    /// The policies' internal cache: outlives configuration changes, like the pools.
    pub cache: crate::policy::cache::Cache,
    /// Rate-limit and quota counts: outlive configuration changes.
    pub counters: Arc<crate::policy::counters::Counters>,
    /// The Redis shared with other replicas, if any: counters and the external cache.
    pub redis: Option<Arc<crate::redis::Redis>>,
    /// `limit-concurrency` in-flight counts.
    pub concurrency: crate::policy::concurrency::Concurrency,
    /// Managed-identity tokens: outlive configuration changes.
    pub identity: crate::policy::identity::Tokens,
    pub telemetry: Arc<Telemetry>,
    pub trusted_proxies: TrustedProxies,
    pub backend_timeout: Duration,
    /// Set once shutdown begins: `/readyz` then says no so load balancers move away.
    pub draining: AtomicBool,
    /// What the config source says about readiness (`/readyz` detail).
    pub readiness: crate::readiness::Readiness,
    /// The certificates TLS handshakes get.
    pub tls: crate::tls::TlsState,
}

/// A gateway: cheap to clone, all clones share one state.
#[derive(Debug, Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

impl Gateway {
    pub fn new(options: GatewayOptions) -> Self {
        Self::with_access_log(options.clone(), options.access_log.then(AccessLog::stdout))
    }

    /// A gateway whose access log goes to `access_log` (tests capture it this way).
    pub fn with_access_log(options: GatewayOptions, access_log: Option<AccessLog>) -> Self {
        let upstreams = Upstreams::new(PoolSettings {
            connect_timeout: options.backend_connect_timeout,
            idle_timeout: Duration::from_secs(60),
            max_idle_per_endpoint: 1024,
        });
        let readiness = crate::readiness::Readiness::default();
        let (metrics, redis) = match options.redis {
            Some(redis) => {
                let metrics = Metrics::with_redis();
                let series = metrics.redis.clone().unwrap_or_default();
                let redis = crate::redis::Redis::start(redis, series, readiness.part("redis"));
                (metrics, Some(redis))
            }
            None => (Metrics::new(), None),
        };
        Self {
            shared: Arc::new(Shared {
                runtime: ArcSwapOption::empty(),
                upstreams,
                cache: crate::policy::cache::Cache::new(crate::policy::cache::CACHE_CAPACITY),
                counters: Arc::new(match &redis {
                    Some(r) => crate::policy::counters::Counters::shared(r.clone()),
                    None => Default::default(),
                }),
                redis,
                concurrency: Default::default(),
                identity: crate::policy::identity::Tokens::new(options.managed_identity),
                telemetry: Arc::new(Telemetry {
                    metrics,
                    access_log,
                }),
                trusted_proxies: options.trusted_proxies,
                backend_timeout: options.backend_timeout,
                draining: AtomicBool::new(false),
                readiness,
                tls: Default::default(),
            }),
        }
    }

    /// Compiles `snapshot` and makes it the configuration every new request sees. Requests
    /// already in flight finish on the runtime they started with. On error nothing changes.
    pub fn apply(&self, snapshot: &Snapshot) -> Result<(), String> {
        let started = Instant::now();
        let metrics = &self.shared.telemetry.metrics;
        let tls = &self.shared.tls;
        let external_cache = self.shared.redis.is_some();
        let result = Catalog::compile(snapshot.document(), &tls.catalog()).and_then(|catalog| {
            Runtime::compile(snapshot, metrics, &self.shared.upstreams, external_cache)
                .map(|r| (r, catalog))
        });
        match result {
            Ok((runtime, catalog)) => {
                // Certificates first: a request on the new runtime never meets an old site.
                tls.set_catalog(catalog);
                self.publish_certificates();
                self.shared.runtime.store(Some(Arc::new(runtime)));
                metrics.record_reload(true, Some(snapshot.revision()));
                tracing::info!(
                    revision = snapshot.revision(),
                    took_ms = started.elapsed().as_secs_f64() * 1e3,
                    "configuration applied"
                );
                Ok(())
            }
            Err(e) => {
                metrics.record_reload(false, None);
                Err(e)
            }
        }
    }

    /// Serves `site` to handshakes no hostname configuration answers (a certificate from
    /// local files).
    pub fn set_local_certificate(&self, site: Arc<crate::tls::Site>) {
        self.shared.tls.set_local(site);
        self.publish_certificates();
    }

    /// Sets `portico_certificate_expiry_seconds` to the certificates served now.
    fn publish_certificates(&self) {
        let tls = &self.shared.tls;
        let catalog = tls.catalog();
        let local = tls.local();
        self.metrics()
            .set_served_certificates(catalog.sites().chain(local.as_ref()).map(|s| s.as_ref()));
    }

    /// Each certificate served now, by hostname.
    pub fn served_certificates(&self) -> Vec<Arc<crate::tls::Site>> {
        let tls = &self.shared.tls;
        let mut sites: Vec<_> = tls.catalog().sites().cloned().collect();
        sites.extend(tls.local());
        sites
    }

    /// What TLS handshakes get.
    pub fn tls(&self) -> &crate::tls::TlsState {
        &self.shared.tls
    }

    /// Counts a configuration that was refused before it reached [`Gateway::apply`] (for
    /// example a file that failed validation).
    pub fn record_refused_config(&self) {
        self.shared.telemetry.metrics.record_reload(false, None);
    }

    /// The revision being served, if any.
    pub fn revision(&self) -> Option<u64> {
        self.shared.runtime.load().as_ref().map(|r| r.revision)
    }

    /// Whether a configuration has been applied and the gateway is not shutting down (what
    /// `/readyz` reports).
    pub fn is_ready(&self) -> bool {
        self.shared.runtime.load().is_some() && !self.is_draining()
    }

    /// Marks the gateway as shutting down.
    pub fn begin_draining(&self) {
        self.shared.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::Relaxed)
    }

    /// Writes out queued access-log lines, waiting at most `limit`.
    pub fn flush_access_log(&self, limit: Duration) {
        if let Some(log) = &self.shared.telemetry.access_log {
            log.flush(limit);
        }
    }

    /// The config source's readiness detail.
    pub fn readiness(&self) -> &crate::readiness::Readiness {
        &self.shared.readiness
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.telemetry.metrics
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}
