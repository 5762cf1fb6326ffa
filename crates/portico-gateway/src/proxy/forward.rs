//! Forwarding one request to its backend: the backend URL is the service URL plus the path
//! after the API's path plus the query; headers are cleaned and the `X-Forwarded-*` set added;
//! the body streams through; the backend's answer streams back.

use crate::errors::GatewayError;
use crate::exchange::Exchange;
use crate::proxy::body::{RequestBody, ResponseBody};
use crate::proxy::connect::ConnectError;
use crate::proxy::headers::{self, ClientSide};
use crate::proxy::pool::{Lease, SendError};
use crate::proxy::upgrade;
use crate::runtime::breaker::Outcome;
use crate::runtime::BackendTarget;
use http::uri::PathAndQuery;
use http::{header, HeaderName, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use std::time::{Duration, Instant};

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything [`forward`] needs besides the request.
#[derive(Debug)]
pub struct Forward<'a> {
    pub target: &'a BackendTarget,
    /// The request path after the API's path.
    pub suffix: &'a str,
    /// The query to send on, with the subscription key already removed.
    pub query: Option<&'a str>,
    /// The header that carried the subscription key, removed before forwarding.
    pub key_header: &'a HeaderName,
    pub client: ClientSide<'a>,
    /// The request asks to switch protocols (a WebSocket handshake).
    pub upgrade: bool,
    pub timeout: Duration,
}

/// Sends `req` to the backend and returns its response, ready for the client.
pub async fn forward(
    mut req: Request<Incoming>,
    f: Forward<'_>,
    exchange: &mut Exchange,
) -> Result<Response<ResponseBody>, GatewayError> {
    let upgrade = f.upgrade;
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();

    let path = backend_path(f.target, f.suffix, f.query)?;
    prepare_request(
        &mut parts,
        f.target,
        f.key_header,
        f.client,
        upgrade,
        exchange,
    );
    let upstream = Request::from_parts(parts, RequestBody::new(body, exchange.bytes_in.clone()));
    let (resp, lease) = send(f.target, upstream, path, upgrade, f.timeout, exchange).await?;
    Ok(finish_response(resp, lease, upgrade, client_upgrade))
}

/// Readies request headers for the backend: HTTP/1.1, hop-by-hop headers and the
/// subscription key header removed, `X-Forwarded-*` added, the backend's `Host` and the
/// request id set.
pub fn prepare_request(
    parts: &mut http::request::Parts,
    target: &BackendTarget,
    key_header: &HeaderName,
    client: ClientSide<'_>,
    upgrade: bool,
    exchange: &Exchange,
) {
    parts.version = Version::HTTP_11;
    let original_host = parts
        .headers
        .get(header::HOST)
        .cloned()
        .or_else(|| parts.uri.authority().and_then(|a| a.as_str().parse().ok()));
    let h = &mut parts.headers;
    headers::strip_hop_by_hop(h, upgrade);
    h.remove(key_header);
    headers::add_forwarded(h, client, original_host);
    h.insert(header::HOST, target.host.clone());
    h.insert(X_REQUEST_ID.clone(), exchange.request_id.clone());
}

/// Sends a prepared request to `target` at `path`, waiting at most `timeout` for the
/// response headers. Failures are logged here and answered as APIM does.
pub async fn send(
    target: &BackendTarget,
    upstream: Request<RequestBody>,
    path: PathAndQuery,
    upgrade: bool,
    timeout: Duration,
    exchange: &mut Exchange,
) -> Result<(Response<Incoming>, Option<Lease>), GatewayError> {
    let endpoint = &target.endpoint;
    let sent = Instant::now();
    let result = tokio::time::timeout(timeout, endpoint.send(upstream, path, upgrade)).await;
    exchange.backend_time = Some(sent.elapsed());
    if target.breaker.is_some() {
        target.record(match &result {
            Ok(Ok((resp, _))) => {
                Outcome::Answered(resp.status().as_u16(), retry_after(resp.headers()))
            }
            _ => Outcome::NoAnswer,
        });
    }
    match result {
        Err(_) => Err(GatewayError::BackendTimeout(timeout)),
        Ok(Err(e)) => {
            let reason = match e {
                SendError::Connect(ConnectError::Tls { .. }) => "tls",
                SendError::Connect(_) => "connect",
                SendError::Request(_) => "protocol",
            };
            tracing::warn!(request_id = ?exchange.request_id, backend = %endpoint.authority(), error = %error_chain(&e), "backend request failed");
            Err(GatewayError::BackendUnavailable { reason })
        }
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// A `Retry-After` given in seconds (the form backends use when shedding load).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Turns the backend's answer into the client's: a protocol switch becomes a tunnel,
/// hop-by-hop headers go, and the body streams with its connection lease.
pub fn finish_response(
    mut resp: Response<Incoming>,
    lease: Option<Lease>,
    upgrade: bool,
    client_upgrade: Option<OnUpgrade>,
) -> Response<ResponseBody> {
    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    if let (true, Some(client_upgrade)) = (switching, client_upgrade) {
        upgrade::tunnel(client_upgrade, hyper::upgrade::on(&mut resp));
    }
    headers::strip_hop_by_hop(resp.headers_mut(), switching && upgrade);
    // An upgraded connection belongs to the tunnel now, never to the pool.
    let lease = lease.filter(|_| !switching);
    resp.map(|body| ResponseBody::upstream(body, lease))
}

/// Base path + suffix + `?query`.
pub fn backend_path(
    t: &BackendTarget,
    suffix: &str,
    query: Option<&str>,
) -> Result<PathAndQuery, GatewayError> {
    let mut pq = String::with_capacity(
        t.base_path.len() + suffix.len() + query.map_or(0, |q| q.len() + 1) + 1,
    );
    pq.push_str(&t.base_path);
    pq.push_str(suffix);
    if pq.is_empty() {
        pq.push('/');
    }
    if let Some(q) = query {
        pq.push('?');
        pq.push_str(q);
    }
    PathAndQuery::try_from(pq).map_err(|e| {
        tracing::error!(error = %e, "could not build the backend path");
        GatewayError::Internal
    })
}

/// The error with its causes, for the log (the client sees only a generic message).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::pool::{PoolSettings, Upstreams};
    use crate::runtime::TlsVerification;
    use std::time::Duration;

    #[test]
    fn backend_path_joins_base_suffix_and_query() {
        let up = Upstreams::new(PoolSettings {
            connect_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            max_idle_per_endpoint: 1,
        });
        let t = BackendTarget::parse("http://b:81/base", TlsVerification::FULL, &up).unwrap();
        assert_eq!(
            backend_path(&t, "/users/1", Some("a=1")).unwrap(),
            "/base/users/1?a=1"
        );
        assert_eq!(backend_path(&t, "", None).unwrap(), "/base");
        let t = BackendTarget::parse("http://b", TlsVerification::FULL, &up).unwrap();
        assert_eq!(backend_path(&t, "", None).unwrap(), "/");
    }
}
