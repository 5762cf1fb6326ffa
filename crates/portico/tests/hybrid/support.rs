//! A control plane and self-hosted gateways as real processes on 127.0.0.1, and the admin
//! calls the hybrid tests make.
#![allow(dead_code)] // Each test binary uses part of it.

use crate::common::*;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub const ADMIN_TOKEN: &str = "hybrid-test-admin-token-0123456789";

/// Starts `portico control-plane` on `admin` with its SQLite database in `dir`.
pub fn start_control_plane(dir: &Path, admin: SocketAddr) -> Process {
    let database = format!("sqlite://{}/portico.db", dir.display());
    start_control_plane_with(&database, admin, &[], &[], Stdio::null())
}

/// Starts `portico control-plane --database DATABASE` on `admin` with `extra` arguments and
/// `env`, its log going to `stderr`; returns once it listens.
pub fn start_control_plane_with(
    database: &str,
    admin: SocketAddr,
    extra: &[&str],
    env: &[(&str, &str)],
    stderr: Stdio,
) -> Process {
    let child = Command::new(BIN)
        .args(["control-plane", "--database", database])
        .args(["--admin-listen", &admin.to_string()])
        .args(extra)
        .env("PORTICO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("PORTICO_MASTER_KEY")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    wait_for_port(admin);
    Process(child)
}

/// An admin call; returns the status, the revision in the ETag (0 if none) and the body.
pub fn admin(cp: SocketAddr, method: &str, path: &str, body: &str) -> (u16, u64, String) {
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}\r\n");
    let (status, head, body) = http_full(cp, method, path, &auth, body);
    let revision = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("etag")
                .then(|| value.trim().trim_matches('"').parse().ok())?
        })
        .unwrap_or(0);
    (status, revision, body)
}

/// `PUT path {"properties": properties}`; returns the revision it made.
pub fn put(cp: SocketAddr, path: &str, properties: &str) -> u64 {
    let (status, revision, body) = admin(
        cp,
        "PUT",
        path,
        &format!("{{\"properties\": {properties}}}"),
    );
    assert!(
        status == 200 || status == 201,
        "PUT {path}: {status} {body}"
    );
    revision
}

/// An API at `/{id}` with one operation `GET /hello`, forwarding to `backend`.
pub fn put_api(cp: SocketAddr, id: &str, backend: SocketAddr, description: &str) -> u64 {
    put(
        cp,
        &format!("/apis/{id}"),
        &format!(
            r#"{{"path": "{id}", "serviceUrl": "http://{backend}", "subscriptionRequired": false, "description": "{description}"}}"#
        ),
    );
    put(
        cp,
        &format!("/apis/{id}/operations/hello"),
        r#"{"method": "GET", "urlTemplate": "/hello"}"#,
    )
}

/// A gateway resource serving `apis`; returns a token for it (valid for a day).
pub fn put_gateway(cp: SocketAddr, id: &str, apis: &[&str]) -> String {
    put(
        cp,
        &format!("/gateways/{id}"),
        r#"{"locationData": {"name": "test"}}"#,
    );
    for api in apis {
        put(cp, &format!("/gateways/{id}/apis/{api}"), "{}");
    }
    token(cp, id)
}

pub fn token(cp: SocketAddr, gateway: &str) -> String {
    let expiry = humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(86400));
    let (status, _, body) = admin(
        cp,
        "POST",
        &format!("/gateways/{gateway}/generateToken"),
        &format!(r#"{{"keyType": "primary", "expiry": "{expiry}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["value"].as_str().unwrap().to_owned()
}

/// A running self-hosted gateway.
pub struct Gw {
    /// Kept so the gateway is killed when this is dropped.
    pub _process: Process,
    pub listen: SocketAddr,
    pub ops: SocketAddr,
    /// The HTTPS listener (`hybrid_tls` speaks to it).
    pub tls: SocketAddr,
}

/// Starts `portico gateway --control-plane …` with `extra` arguments (token, backup, …).
pub fn start_gateway(control_planes: &str, extra: &[&str]) -> Gw {
    start_gateway_env(control_planes, extra, &[])
}

pub fn start_gateway_env(control_planes: &str, extra: &[&str], env: &[(&str, &str)]) -> Gw {
    start_gateway_with(control_planes, extra, env, Stdio::null())
}

/// Like [`start_gateway_env`], with the gateway's log going to `stderr`.
pub fn start_gateway_with(
    control_planes: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    stderr: Stdio,
) -> Gw {
    let (listen, ops, tls) = (free_addr(), free_addr(), free_addr());
    let child = Command::new(BIN)
        .args(["gateway", "--control-plane", control_planes])
        .args([
            "--listen",
            &listen.to_string(),
            "--ops-listen",
            &ops.to_string(),
            "--tls-listen",
            &tls.to_string(),
        ])
        .args([
            "--heartbeat-interval",
            "1s",
            "--workers",
            "1",
            "--access-log",
            "off",
        ])
        .args(extra)
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    wait_for_port(ops);
    Gw {
        _process: Process(child),
        listen,
        ops,
        tls,
    }
}

impl Gw {
    pub fn readyz(&self) -> (u16, String) {
        http_get(self.ops, "/readyz", "")
    }

    /// The revision `/readyz` reports, if ready.
    pub fn revision(&self) -> Option<u64> {
        let (status, body) = self.readyz();
        (status == 200).then(|| {
            body.lines()
                .next()?
                .strip_prefix("ready: revision ")?
                .parse()
                .ok()
        })?
    }

    /// Waits until the gateway serves `revision` or newer; returns how long that took.
    pub fn wait_revision(&self, revision: u64, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.revision().is_some_and(|r| r >= revision) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "revision {revision} not applied within {limit:?}: {:?}",
                self.readyz()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits until the gateway serves some configuration; returns its revision.
    pub fn revision_after(&self, limit: Duration) -> u64 {
        let started = Instant::now();
        loop {
            if let Some(r) = self.revision() {
                return r;
            }
            assert!(
                started.elapsed() < limit,
                "never ready: {:?}",
                self.readyz()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> u16 {
        http_get(self.listen, path, "").0
    }

    pub fn metrics(&self) -> String {
        http_get(self.ops, "/metrics", "").1
    }
}

/// Waits until `check` holds, polling; panics with `what` after `limit`.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client calling `path` on a gateway in a loop on its own thread until finished, counting
/// what came back: the load the fail-over and fail-static tests keep up through an outage.
pub struct ClientLoad {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl ClientLoad {
    pub fn start(listen: SocketAddr, path: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let thread = {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let counter = if http_get(listen, path, "").0 == 200 {
                        &ok
                    } else {
                        &failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Self {
            stop,
            ok,
            failed,
            thread,
        }
    }

    /// Stops the client: (requests answered 200, requests that were not).
    pub fn finish(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}
