//! Prometheus metrics for the gateway, served in text form on the ops listener.
//!
//! Counters live outside the compiled runtime so they survive config reloads. Each compiled
//! operation holds a [`RouteMetrics`] with its series already resolved, so recording a request
//! is a few atomic increments: no label hashing, no allocation.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::counter::Counter as FloatCounterBase;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::fmt::Write;
use std::hash::{Hash, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A label value shared with the runtime.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct Label(pub Arc<str>);

impl Label {
    /// The label used when a request matched no API or operation.
    pub fn none() -> Self {
        Self(Arc::from(""))
    }
}

impl EncodeLabelValue for Label {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    api: Label,
    operation: Label,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    api: Label,
    operation: Label,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendErrorLabels {
    api: Label,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~26 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

/// Statuses whose request counters a route caches; others are looked up per request.
const COMMON_STATUSES: [u16; 14] = [
    200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 429, 500, 502,
];

/// The metric series of one route (an API and operation, either possibly unmatched).
#[derive(Debug)]
pub struct RouteMetrics {
    pub api: Label,
    pub operation: Label,
    duration: Histogram,
    requests: Family<RequestLabels, Counter>,
    by_status: [OnceLock<Counter>; COMMON_STATUSES.len()],
}

impl RouteMetrics {
    /// Records one finished request on this route.
    pub fn record(&self, status: u16, took: Duration) {
        self.duration.observe(took.as_secs_f64());
        match COMMON_STATUSES.iter().position(|s| *s == status) {
            Some(i) => self.by_status[i].get_or_init(|| self.counter(status)).inc(),
            None => self.counter(status).inc(),
        };
    }

    fn counter(&self, status: u16) -> Counter {
        let labels = RequestLabels {
            api: self.api.clone(),
            operation: self.operation.clone(),
            status,
        };
        self.requests.get_or_create(&labels).clone()
    }
}

fn new_route(
    durations: &Family<RouteLabels, Histogram, fn() -> Histogram>,
    requests: &Family<RequestLabels, Counter>,
    api: Label,
    operation: Label,
) -> Arc<RouteMetrics> {
    let labels = RouteLabels {
        api: api.clone(),
        operation: operation.clone(),
    };
    Arc::new(RouteMetrics {
        api,
        operation,
        duration: durations.get_or_create(&labels).clone(),
        requests: requests.clone(),
        by_status: Default::default(),
    })
}

/// `emit-metric` series: at most this many label combinations; later ones are counted
/// under one series whose dimension values are all [`OVERFLOW`], so a policy that puts an
/// unbounded value (a client IP, a user id) in a dimension cannot exhaust memory.
pub const MAX_POLICY_SERIES: usize = 1000;
/// Label values longer than this are cut.
pub const MAX_POLICY_LABEL: usize = 128;
/// The value every dimension takes once [`MAX_POLICY_SERIES`] is reached.
pub const OVERFLOW: &str = "_overflow";

type FloatCounter = FloatCounterBase<f64, AtomicU64>;
type PolicyLabels = Vec<(String, String)>;

/// All gateway metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    backend_errors: Family<BackendErrorLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    revision: Gauge,
    connections: Gauge,
    unmatched: Arc<RouteMetrics>,
    policy_metrics: Family<PolicyLabels, FloatCounter>,
    /// Hashes of the `emit-metric` label sets seen, to bound them.
    policy_series: Mutex<HashSet<u64>>,
    /// The control-plane config source's series.
    pub control_plane: crate::control_plane::metrics::SyncMetrics,
    /// The shared Redis's series, registered only for a gateway that has one.
    pub redis: Option<crate::redis::metrics::RedisMetrics>,
    certificate_expiry: Family<CertificateLabels, Gauge>,
    tls_handshake_failures: Family<ReasonLabels, Counter>,
    certificate_reload_failures: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    hostname: String,
    thumbprint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::build(false)
    }

    /// The metrics of a gateway with a shared Redis (`--redis`).
    pub fn with_redis() -> Self {
        Self::build(true)
    }

    fn build(redis: bool) -> Self {
        let mut registry = Registry::with_prefix("portico");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let backend_errors = Family::<BackendErrorLabels, Counter>::default();
        let reloads = Family::<ReloadLabels, Counter>::default();
        let revision = Gauge::default();
        let connections = Gauge::default();
        registry.register(
            "requests",
            "Requests answered, by API, operation and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from request received to response complete",
            durations.clone(),
        );
        registry.register(
            "backend_errors",
            "Requests that failed at the backend, by API and reason",
            backend_errors.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration applies, by result (success or failure)",
            reloads.clone(),
        );
        registry.register(
            "config_revision",
            "Revision of the configuration being served",
            revision.clone(),
        );
        registry.register(
            "connections_open",
            "Client connections currently open",
            connections.clone(),
        );
        let policy_metrics = Family::<PolicyLabels, FloatCounter>::default();
        registry.register(
            "policy_metric",
            "Values emitted by emit-metric policies: labels metric, namespace and one per \
             dimension (names lower-cased, non-alphanumerics as _)",
            policy_metrics.clone(),
        );
        let unmatched = new_route(&durations, &requests, Label::none(), Label::none());
        let control_plane = crate::control_plane::metrics::SyncMetrics::register(&mut registry);
        let certificate_expiry = Family::<CertificateLabels, Gauge>::default();
        registry.register(
            "certificate_expiry_seconds",
            "Unix time at which each served certificate expires, by hostname and SHA-1 thumbprint",
            certificate_expiry.clone(),
        );
        let tls_handshake_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed, by reason (no_certificate or handshake)",
            tls_handshake_failures.clone(),
        );
        let certificate_reload_failures = Counter::default();
        registry.register(
            "certificate_reload_failures",
            "Certificate files that changed but could not be loaded (the previous certificate kept serving)",
            certificate_reload_failures.clone(),
        );
        let redis = redis.then(|| crate::redis::metrics::RedisMetrics::register(&mut registry));
        Self {
            certificate_expiry,
            tls_handshake_failures,
            certificate_reload_failures,
            control_plane,
            redis,
            policy_metrics,
            policy_series: Mutex::new(HashSet::new()),
            registry,
            requests,
            durations,
            backend_errors,
            reloads,
            revision,
            connections,
            unmatched,
        }
    }

    /// Resolves the series of a route; called when a snapshot is compiled.
    pub fn route(&self, api: Label, operation: Label) -> Arc<RouteMetrics> {
        new_route(&self.durations, &self.requests, api, operation)
    }

    /// The series of requests that matched no API.
    pub fn unmatched(&self) -> &Arc<RouteMetrics> {
        &self.unmatched
    }

    /// Replaces the served-certificate series with `sites`.
    pub fn set_served_certificates<'a>(&self, sites: impl Iterator<Item = &'a crate::tls::Site>) {
        self.certificate_expiry.clear();
        for site in sites {
            self.certificate_expiry
                .get_or_create(&CertificateLabels {
                    hostname: site.hostname.clone(),
                    thumbprint: site.certificate.thumbprint.clone(),
                })
                .set(site.certificate.not_after_unix());
        }
    }

    /// Counts a failed TLS handshake; `reason` is one of a few fixed words.
    pub fn record_tls_handshake_failure(&self, reason: &'static str) {
        self.tls_handshake_failures
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts a certificate file change that could not be loaded.
    pub fn record_certificate_reload_failure(&self) {
        self.certificate_reload_failures.inc();
    }

    /// Records a backend failure; `reason` is one of a few fixed words.
    pub fn record_backend_error(&self, api: &Label, reason: &'static str) {
        self.backend_errors
            .get_or_create(&BackendErrorLabels {
                api: api.clone(),
                reason,
            })
            .inc();
    }

    /// Adds `value` to the `emit-metric` series `name` with these dimensions.
    pub fn record_policy_metric(
        &self,
        name: &str,
        namespace: &str,
        dimensions: &[(String, String)],
        value: f64,
    ) {
        let cut = |v: &str| v.chars().take(MAX_POLICY_LABEL).collect::<String>();
        let mut labels: PolicyLabels = vec![
            ("metric".into(), cut(name)),
            ("namespace".into(), cut(namespace)),
        ];
        for (n, v) in dimensions {
            let key: String = n
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            labels.push((format!("dim_{key}"), cut(v)));
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        labels.hash(&mut hasher);
        let seen = {
            let mut series = self.policy_series.lock().unwrap_or_else(|e| e.into_inner());
            series.contains(&hasher.finish())
                || (series.len() < MAX_POLICY_SERIES && series.insert(hasher.finish()))
        };
        if !seen {
            for l in &mut labels {
                l.1 = OVERFLOW.into();
            }
        }
        self.policy_metrics
            .get_or_create(&labels)
            .inc_by(value.max(0.0));
    }

    /// Records the result of applying a configuration.
    pub fn record_reload(&self, ok: bool, revision: Option<u64>) {
        let result = if ok { "success" } else { "failure" };
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
        if let Some(r) = revision {
            self.revision.set(i64::try_from(r).unwrap_or(i64::MAX));
        }
    }

    /// Tracks open client connections.
    pub fn connection_opened(&self) {
        self.connections.inc();
    }

    pub fn connection_closed(&self) {
        self.connections.dec();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            let _ = writeln!(out, "# encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_reloads_and_backend_errors() {
        let m = Metrics::new();
        let api = Label("echo".into());
        let op = Label("get".into());
        m.route(api.clone(), op)
            .record(200, Duration::from_millis(3));
        m.unmatched().record(599, Duration::from_millis(1));
        m.record_backend_error(&api, "connect");
        m.record_reload(false, None);
        m.record_reload(true, Some(7));
        let text = m.render();
        assert!(
            text.contains(r#"portico_requests_total{api="echo",operation="get",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"portico_backend_errors_total{api="echo",reason="connect"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"portico_config_reloads_total{result="failure"} 1"#),
            "{text}"
        );
        assert!(text.contains("portico_config_revision 7"), "{text}");
        assert!(
            text.contains("portico_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
