//! A small client for the management API, used by `portico apply`, `export` and `import`. It
//! sends the admin token and turns APIM-shaped error bodies into readable errors. It speaks
//! HTTP/1.1 over plain TCP or, for `https://` servers, TLS ([`transport`]) trusting the
//! system's roots and `--ca`.

mod transport;

use crate::cli::ServerArgs;
use anyhow::{bail, Context};
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::path::Path;
use transport::Transport;

/// Where `portico up` keeps its generated admin token, tried when `PORTICO_ADMIN_TOKEN` is
/// not set.
const UP_TOKEN_FILE: &str = "portico-data/admin-token";

/// The management API at one address.
#[derive(Debug)]
pub struct ManagementClient {
    base: String,
    token: String,
    transport: Transport,
}

impl ManagementClient {
    pub fn new(args: &ServerArgs) -> anyhow::Result<Self> {
        let transport = Transport::new(&args.server, args.ca.as_deref())?;
        Ok(Self {
            base: args.server.trim_end_matches('/').to_owned(),
            token: admin_token()?,
            transport,
        })
    }

    /// Sends a request; answers the JSON body of a 2xx, or an error built from APIM's
    /// `{"error": {…}}` shape.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.transport.base_path()))
            .header(header::HOST, self.transport.authority())
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(bytes))?;
        let resp = self
            .transport
            .request(req)
            .await
            .with_context(|| format!("cannot reach the management API at {}", self.base))?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        let json: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .with_context(|| format!("{method} {path}: the answer is not JSON"))?
        };
        if status.is_success() {
            return Ok(json);
        }
        bail!("{method} {path}: {}", describe(status, &json))
    }
}

/// An APIM error body as lines an operator can act on.
fn describe(status: StatusCode, body: &Value) -> String {
    let error = &body["error"];
    let mut text = format!(
        "{status}: {}",
        error["message"].as_str().unwrap_or("(no message)")
    );
    for d in error["details"].as_array().into_iter().flatten() {
        let target = d["target"].as_str().unwrap_or("");
        let message = d["message"].as_str().unwrap_or("");
        text.push_str(&format!("\n  {target}: {message}"));
    }
    text
}

/// `PORTICO_ADMIN_TOKEN`, or the token `portico up` generated in its default data dir.
fn admin_token() -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("PORTICO_ADMIN_TOKEN") {
        return Ok(token);
    }
    match std::fs::read_to_string(Path::new(UP_TOKEN_FILE)) {
        Ok(token) => Ok(token.trim().to_owned()),
        Err(_) => bail!(
            "set PORTICO_ADMIN_TOKEN to the management API's admin token (`portico up` keeps it in {UP_TOKEN_FILE})"
        ),
    }
}
