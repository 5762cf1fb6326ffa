//! The control plane the hybrid scenarios (propagation, certificate rotation) drive:
//! `portico control-plane` on a SQLite file in a scratch directory, started the way the
//! `portico` crate's hybrid tests start it, and the management calls those scenarios make.

use crate::http::{self, Response};
use crate::portico::binary;
use crate::process::{wait_for_port, Extras, Proc};
use anyhow::Context;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The admin token the bench's control planes accept (`PORTICO_ADMIN_TOKEN`).
const ADMIN_TOKEN: &str = "portico-bench-admin-token-0123456789";

/// A running control plane, stopped when dropped.
#[derive(Debug)]
pub struct ControlPlane {
    _proc: Proc,
    addr: SocketAddr,
}

impl ControlPlane {
    /// Starts it on `addr` with its database, master key and log (`control-plane.log`) in
    /// `dir`; returns once the management API listens.
    pub fn start(dir: &Path, addr: SocketAddr) -> anyhow::Result<Self> {
        let database = format!("sqlite://{}/portico.db", dir.display());
        let admin_listen = addr.to_string();
        let log = dir.join("control-plane.log");
        let bin = binary()?;
        let proc = Proc::spawn(
            "portico control-plane",
            None,
            bin.to_str().unwrap_or_default(),
            &[
                "control-plane",
                "--database",
                &database,
                "--admin-listen",
                &admin_listen,
            ],
            Extras {
                stderr: Some(&log),
                env: &[("PORTICO_ADMIN_TOKEN", ADMIN_TOKEN)],
                // A master key from the environment belongs to someone else's database; the
                // control plane makes its own beside this one.
                env_remove: &["PORTICO_MASTER_KEY"],
                ..Extras::default()
            },
        )?;
        wait_for_port(addr, "portico control-plane")
            .with_context(|| format!("its log: {}", log.display()))?;
        Ok(Self { _proc: proc, addr })
    }

    /// The base URL gateways are given.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `PUT path {"properties": properties}`, which must succeed.
    pub fn put(&self, path: &str, properties: Value) -> anyhow::Result<()> {
        self.call("PUT", path, &json!({ "properties": properties }))
            .map(drop)
    }

    /// An admin call on a new connection; a status other than 2xx is an error that quotes the
    /// control plane's answer.
    fn call(&self, method: &str, path: &str, body: &Value) -> anyhow::Result<Response> {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let response = http::connect(self.addr)?
            .request(
                method,
                path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                    ("Connection", "close"),
                ],
                body.to_string().as_bytes(),
            )
            .with_context(|| format!("{method} {path} on the control plane"))?;
        anyhow::ensure!(
            (200..300).contains(&response.status),
            "{method} {path} on the control plane: {} {}",
            response.status,
            response.text()
        );
        Ok(response)
    }

    /// An API at `/{id}` forwarding everything (`* /*`) to `backend`, without subscription.
    pub fn put_open_api(&self, id: &str, backend: &str) -> anyhow::Result<()> {
        self.put(
            &format!("/apis/{id}"),
            json!({"displayName": id, "path": id, "serviceUrl": format!("http://{backend}"),
                   "subscriptionRequired": false}),
        )?;
        self.put(
            &format!("/apis/{id}/operations/all"),
            json!({"displayName": "all", "method": "*", "urlTemplate": "/*"}),
        )
    }

    /// A policy on API `api` (`rawxml`, so expressions may stay unescaped).
    pub fn put_api_policy(&self, api: &str, xml: &str) -> anyhow::Result<()> {
        self.put(
            &format!("/apis/{api}/policies/policy"),
            json!({"format": "rawxml", "value": xml}),
        )
    }

    /// A gateway resource serving `apis`, and a token for it valid for a day.
    pub fn put_gateway(&self, id: &str, apis: &[&str]) -> anyhow::Result<String> {
        self.put(
            &format!("/gateways/{id}"),
            json!({"locationData": {"name": "bench"}}),
        )?;
        for api in apis {
            self.put(&format!("/gateways/{id}/apis/{api}"), json!({}))?;
        }
        let expiry = SystemTime::now() + Duration::from_secs(86_400);
        let answer = self.call(
            "POST",
            &format!("/gateways/{id}/generateToken"),
            &json!({"keyType": "primary",
                    "expiry": humantime::format_rfc3339_seconds(expiry).to_string()}),
        )?;
        let token: Value = serde_json::from_slice(&answer.body)
            .with_context(|| format!("reading the token for gateway {id}"))?;
        token["value"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no token in {}", answer.text()))
    }
}
