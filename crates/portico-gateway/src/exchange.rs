//! [`Exchange`]: what the gateway learns about one request as it passes through (matched
//! API, operation, product, subscription, backend time, bytes). Dropping it records the
//! metrics and writes the access-log line: normally when the response body is done, or, if
//! the client went away before an answer existed, as status 499 (nginx's "client closed
//! request") so abandoned requests are never invisible.

use crate::access_log::{AccessLog, AccessRecord};
use crate::metrics::{Label, Metrics, RouteMetrics};
use http::{HeaderValue, Method};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Metrics and access log, shared by every request.
#[derive(Debug)]
pub struct Telemetry {
    pub metrics: Metrics,
    pub access_log: Option<AccessLog>,
}

/// One request's record.
#[derive(Debug)]
pub struct Exchange {
    telemetry: Arc<Telemetry>,
    started: Instant,
    pub request_id: HeaderValue,
    method: Method,
    /// Path without the query string (which may hold a subscription key); only kept when
    /// the access log is on.
    path: Option<Box<str>>,
    /// The client address as text (formatted once per connection).
    client_ip: HeaderValue,
    /// The matched route's metric series; its labels name the API and operation.
    pub route: Arc<RouteMetrics>,
    pub product: Option<Arc<str>>,
    pub subscription: Option<Arc<str>>,
    pub status: u16,
    pub backend_time: Option<Duration>,
    pub error: Option<&'static str>,
    pub bytes_in: Arc<AtomicU64>,
    pub bytes_out: u64,
    /// Work waiting for the final byte counts, run when the exchange ends.
    pub tally: Option<ByteTally>,
}

/// Something that needs the bytes a request and its response carried (request + response
/// body bytes), known only once the response body has been sent.
pub struct ByteTally(Box<dyn FnOnce(u64) + Send + Sync>);

impl ByteTally {
    pub fn new(f: impl FnOnce(u64) + Send + Sync + 'static) -> Self {
        Self(Box::new(f))
    }
}

impl std::fmt::Debug for ByteTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ByteTally")
    }
}

/// Status recorded for requests whose client left before an answer existed.
const CLIENT_CLOSED: u16 = 499;

impl Exchange {
    /// When the request arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn start(
        telemetry: Arc<Telemetry>,
        started: Instant,
        request_id: HeaderValue,
        method: Method,
        path: &str,
        client_ip: HeaderValue,
    ) -> Box<Self> {
        let path = telemetry.access_log.as_ref().map(|_| path.into());
        Box::new(Self {
            telemetry: telemetry.clone(),
            started,
            request_id,
            method,
            path,
            client_ip,
            route: telemetry.metrics.unmatched().clone(),
            product: None,
            subscription: None,
            status: 0,
            backend_time: None,
            error: None,
            bytes_in: Arc::new(AtomicU64::new(0)),
            bytes_out: 0,
            tally: None,
        })
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.status == 0 {
            self.status = CLIENT_CLOSED;
            self.error = Some("client_closed");
        }
        let took = self.started.elapsed();
        self.route.record(self.status, took);
        if let Some(tally) = self.tally.take() {
            (tally.0)(self.bytes_in.load(Ordering::Relaxed) + self.bytes_out);
        }
        let Some(log) = &self.telemetry.access_log else {
            return;
        };
        let non_empty = |l: &Label| (!l.0.is_empty()).then(|| l.0.clone());
        let (api, operation) = (non_empty(&self.route.api), non_empty(&self.route.operation));
        log.write(&AccessRecord {
            time: SystemTime::now(),
            request_id: self.request_id.to_str().unwrap_or(""),
            client_ip: self.client_ip.to_str().unwrap_or(""),
            method: self.method.as_str(),
            path: self.path.as_deref().unwrap_or(""),
            status: self.status,
            api: api.as_deref(),
            operation: operation.as_deref(),
            product: self.product.as_deref(),
            subscription: self.subscription.as_deref(),
            duration: took,
            backend: self.backend_time,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out,
            error: self.error,
        });
    }
}
