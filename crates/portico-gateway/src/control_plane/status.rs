//! [`Status`]: what the control-plane source knows about itself (where the configuration came
//! from, the last sync and its result, any problem such as a refused token, the certificates
//! served), published three ways at every change: the `/readyz` detail, the metrics, and the
//! heartbeat report.

use crate::gateway::Gateway;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the configuration being served came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    None,
    ControlPlane,
    Backup,
}

impl ConfigSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ControlPlane => "controlPlane",
            Self::Backup => "backup",
        }
    }
}

#[derive(Debug)]
struct Inner {
    source: ConfigSource,
    /// When the last exchange ended, whether it succeeded, and what happened.
    last_sync: Option<(SystemTime, bool, String)>,
    /// A problem operators must act on (unreachable control plane, refused token).
    problem: Option<String>,
    token_refused: bool,
}

/// The shared status of one control-plane source.
#[derive(Debug)]
pub struct Status {
    gateway: Gateway,
    inner: Mutex<Inner>,
}

impl Status {
    pub fn new(gateway: Gateway) -> Self {
        let status = Self {
            gateway,
            inner: Mutex::new(Inner {
                source: ConfigSource::None,
                last_sync: None,
                problem: None,
                token_refused: false,
            }),
        };
        status.publish(&status.lock());
        status
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A configuration from `source` was applied.
    pub fn applied(&self, source: ConfigSource) {
        let mut inner = self.lock();
        inner.source = source;
        self.publish(&inner);
    }

    /// An exchange with the control plane succeeded (a configuration or "no change").
    pub fn synced(&self, message: String) {
        let mut inner = self.lock();
        if inner.source == ConfigSource::Backup && self.gateway.revision().is_some() {
            // The control plane confirmed that the backup is current.
            inner.source = ConfigSource::ControlPlane;
        }
        inner.last_sync = Some((SystemTime::now(), true, message));
        inner.problem = None;
        inner.token_refused = false;
        self.gateway
            .metrics()
            .control_plane
            .last_sync
            .set(unix_now());
        self.publish(&inner);
    }

    /// An exchange failed; `reason` labels the metric, `message` says what to do.
    pub fn failed(&self, reason: &'static str, message: String, token_refused: bool) {
        self.gateway.metrics().control_plane.failed(reason);
        let mut inner = self.lock();
        inner.last_sync = Some((SystemTime::now(), false, message.clone()));
        inner.problem = Some(message);
        inner.token_refused = token_refused;
        self.publish(&inner);
    }

    fn publish(&self, inner: &Inner) {
        let metrics = &self.gateway.metrics().control_plane;
        let ok = inner.problem.is_none() && inner.last_sync.is_some();
        metrics.connected.set(i64::from(ok));
        metrics
            .from_backup
            .set(i64::from(inner.source == ConfigSource::Backup));
        metrics.token_valid.set(i64::from(!inner.token_refused));
        let mut detail = match inner.source {
            ConfigSource::None => {
                "config source: none yet (waiting for the control plane)".to_owned()
            }
            ConfigSource::ControlPlane => "config source: control plane".to_owned(),
            ConfigSource::Backup => {
                "config source: on-disk backup (the control plane has not been reached since start)"
                    .to_owned()
            }
        };
        if let Some(problem) = &inner.problem {
            detail.push_str("\nproblem: ");
            detail.push_str(problem);
        }
        self.gateway.readiness().set(Some(detail));
    }

    /// Each served hostname with its certificate's thumbprint and expiry, as handshakes get
    /// them now (including a certificate from local files).
    fn served_certificates(&self) -> Vec<Value> {
        self.gateway
            .served_certificates()
            .iter()
            .map(|site| {
                json!({
                    "hostname": site.hostname,
                    "thumbprint": site.certificate.thumbprint,
                    "expiry": site.certificate.expiration_date,
                })
            })
            .collect()
    }

    /// The fields of the heartbeat report this status owns.
    pub fn report(&self) -> Value {
        let inner = self.lock();
        let last_sync = inner.last_sync.as_ref().map(|(at, ok, message)| {
            json!({
                "at": humantime::format_rfc3339_millis(*at).to_string(),
                "result": if *ok { "ok" } else { "failed" },
                "message": message,
            })
        });
        json!({
            "configSource": inner.source.as_str(),
            "lastSync": last_sync,
            "certificates": self.served_certificates(),
        })
    }
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    i64::try_from(secs).unwrap_or(i64::MAX)
}
