//! The control-plane config source of a self-hosted gateway: it dials out (only outbound
//! HTTPS, through a proxy if the environment says so) with its GatewayKey token, long-polls
//! for its configuration, applies and backs up every change, heartbeats, and keeps serving
//! through any control-plane outage.
//!
//! - [`sync`]: the long-poll loop, failover and backoff ([`backoff`]), fail-static start
//!   from [`backup`];
//! - [`heartbeat`]: the periodic report;
//! - [`client`] and [`proxy`]: HTTP/1.1 over TCP or rustls, optionally via `CONNECT`;
//! - [`token`]: the token, from the command line or a watched file;
//! - [`status`] and [`metrics`]: what `/readyz`, `/metrics` and heartbeats say about it.

pub mod backoff;
pub mod backup;
pub mod client;
pub mod heartbeat;
pub mod metrics;
pub mod proxy;
pub mod status;
pub mod sync;
pub mod token;

use crate::gateway::Gateway;
use crate::server::ShutdownSignal;
use client::{Client, Endpoint};
use portico_model::Secret;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where the token comes from. `Value` is a [`Secret`]: options are logged with `Debug`.
#[derive(Debug, Clone)]
pub enum TokenOption {
    Value(Secret),
    File(PathBuf),
}

/// How to reach the control plane.
#[derive(Debug, Clone)]
pub struct ControlPlaneOptions {
    /// Base URLs of the control-plane replicas, tried in order on failure.
    pub urls: Vec<String>,
    pub token: TokenOption,
    pub backup_dir: Option<PathBuf>,
    pub heartbeat_interval: Duration,
    /// Extra trusted CA certificates (PEM) for the control plane's TLS.
    pub ca_file: Option<PathBuf>,
}

/// What the sync and heartbeat tasks share.
#[derive(Debug)]
pub struct Shared {
    gateway: Gateway,
    client: Client,
    endpoints: Vec<Endpoint>,
    /// The endpoint in use; moved on by failures (failover).
    preferred: AtomicUsize,
    token: token::TokenSource,
    status: status::Status,
}

impl Shared {
    fn endpoint(&self) -> Endpoint {
        self.endpoints[self.preferred.load(Ordering::Relaxed) % self.endpoints.len()].clone()
    }

    fn next_endpoint(&self) {
        self.preferred.fetch_add(1, Ordering::Relaxed);
    }
}

/// A configured control-plane source, ready to run.
#[derive(Debug)]
pub struct ControlPlaneSource {
    shared: Arc<Shared>,
    backup: Option<backup::Backup>,
    heartbeat_interval: Duration,
}

impl ControlPlaneSource {
    /// Checks the options (URLs, token, CA file) and prepares the source; nothing is sent yet.
    pub fn new(options: ControlPlaneOptions, gateway: Gateway) -> Result<Self, String> {
        if options.urls.is_empty() {
            return Err("--control-plane needs at least one URL".into());
        }
        let endpoints = options
            .urls
            .iter()
            .map(|u| Endpoint::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let token = match &options.token {
            TokenOption::Value(t) => token::TokenSource::fixed(t.expose())?,
            TokenOption::File(f) => token::TokenSource::watch_file(f)?,
        };
        if options.heartbeat_interval < Duration::from_secs(1) {
            return Err("--heartbeat-interval must be at least 1s".into());
        }
        let client = Client::new(options.ca_file.as_deref(), proxy::ProxySettings::from_env())?;
        Ok(Self {
            shared: Arc::new(Shared {
                status: status::Status::new(gateway.clone()),
                gateway,
                client,
                endpoints,
                preferred: AtomicUsize::new(0),
                token,
            }),
            backup: options.backup_dir.map(backup::Backup::new),
            heartbeat_interval: options.heartbeat_interval,
        })
    }

    /// The gateway id the token names.
    pub fn gateway_id(&self) -> String {
        self.shared.token.gateway_id()
    }

    /// Syncs and heartbeats until `shutdown`.
    pub async fn run(self, shutdown: ShutdownSignal) {
        let beats = tokio::spawn(heartbeat::run(
            self.shared.clone(),
            self.heartbeat_interval,
            shutdown.clone(),
        ));
        sync::run(self.shared, self.backup, shutdown).await;
        let _ = beats.await;
    }
}
