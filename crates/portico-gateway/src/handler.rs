//! The request path through the gateway: health probe, then API by path prefix, protocol,
//! operation by method and template, subscription key ([`crate::subscription_key`]), then
//! forwarding. Each step either narrows the match or ends the request with APIM's answer.

use crate::errors::GatewayError;
use crate::exchange::Exchange;
use crate::gateway::Shared;
use crate::policy::{self, entry::Routed};
use crate::proxy::body::ResponseBody;
use crate::proxy::forward::{forward, Forward};
use crate::proxy::headers::{self, ClientSide};
use crate::query;
use crate::runtime::{CompiledApi, Runtime};
use crate::subscription_key::{self, Admission};
use crate::tls::ClientCertificate;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use hyper::body::Incoming;
use portico_model::Protocol;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// APIM's gateway health probe path, answered before any routing.
pub const STATUS_PATH: &str = "/status-0123456789abcdef";

/// Longest incoming `x-request-id` kept; longer ones are replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The connection a request arrived on, with what is derived from its peer address
/// computed once per connection rather than per request.
#[derive(Debug, Clone)]
pub struct Connection {
    pub peer: SocketAddr,
    pub tls: bool,
    /// The certificate the client presented in the TLS handshake, if asked and given.
    pub client_certificate: Option<Arc<ClientCertificate>>,
    /// The peer's address as `X-Forwarded-For` text.
    pub client_ip: HeaderValue,
    /// Whether the peer is a trusted front proxy.
    pub trusted: bool,
}

impl Connection {
    /// A plain-TCP connection.
    pub fn plain(peer: SocketAddr, trusted_proxies: &crate::net::TrustedProxies) -> Self {
        Self {
            peer,
            tls: false,
            client_certificate: None,
            client_ip: headers::ip_header_value(peer.ip()),
            trusted: trusted_proxies.contains(peer.ip()),
        }
    }

    /// A TLS connection, with the client's certificate when it sent one.
    pub fn tls(
        peer: SocketAddr,
        trusted_proxies: &crate::net::TrustedProxies,
        client_certificate: Option<Arc<ClientCertificate>>,
    ) -> Self {
        Self {
            tls: true,
            client_certificate,
            ..Self::plain(peer, trusted_proxies)
        }
    }
}

/// What routing and the key check matched, for the steps after them (and policies).
#[derive(Debug)]
pub struct MatchedRoute<'r> {
    pub api: &'r CompiledApi,
    pub operation: usize,
    pub admission: Admission,
}

/// Answers one request. Never fails: every error becomes an APIM-shaped response.
pub async fn handle(
    shared: Arc<Shared>,
    conn: Connection,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let started = Instant::now();
    let mut exchange = Exchange::start(
        shared.telemetry.clone(),
        started,
        request_id(req.headers()),
        req.method().clone(),
        req.uri().path(),
        conn.client_ip.clone(),
    );
    let result = if req.uri().path() == STATUS_PATH {
        Ok(Response::new(ResponseBody::empty()))
    } else {
        match shared.runtime.load_full() {
            Some(runtime) => route_and_forward(&shared, &runtime, &conn, req, &mut exchange).await,
            None => Err(GatewayError::NotConfigured),
        }
    };
    let response = result.unwrap_or_else(|e| {
        if let Some(reason) = e.backend_reason() {
            shared
                .telemetry
                .metrics
                .record_backend_error(&exchange.route.api, reason);
        }
        exchange.error = Some(e.reason());
        e.into_response()
    });
    exchange.status = response.status().as_u16();
    response.map(|body| body.finishing(exchange))
}

async fn route_and_forward(
    shared: &Shared,
    rt: &Runtime,
    conn: &Connection,
    req: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<ResponseBody>, GatewayError> {
    let uri = req.uri().clone();
    let path = uri.path();
    // Only origin-form targets address an API (not `OPTIONS *` or a CONNECT authority).
    if !path.starts_with('/') || req.method() == Method::CONNECT {
        return Err(GatewayError::NotFound);
    }
    if has_dot_segment(path) {
        return Err(GatewayError::DotSegments);
    }
    let found = rt.router.find(path).ok_or(GatewayError::NotFound)?;
    let api = &rt.apis[found.api];
    exchange.route = api.metrics.clone();

    let upgrade = headers::is_upgrade(req.headers());
    let secure = conn.tls || (conn.trusted && forwarded_https(req.headers()));
    let protocol = match (upgrade, secure) {
        (false, false) => Protocol::Http,
        (false, true) => Protocol::Https,
        (true, false) => Protocol::Ws,
        (true, true) => Protocol::Wss,
    };
    if !api.protocols.contains(&protocol) {
        return Err(GatewayError::NotFound);
    }

    let suffix = &path[found.suffix_start..];
    let operation = api
        .operations
        .find(req.method(), suffix, uri.query())
        .or_else(|| preflight_operation(api, &req, suffix))
        .ok_or(GatewayError::NotFound)?;
    exchange.route = api.operation_metrics[operation].clone();

    let route = MatchedRoute {
        api,
        operation,
        admission: subscription_key::admit(rt, api, found.api, req.headers(), uri.query())?,
    };
    if let Some(s) = route.admission.subscription {
        exchange.subscription = Some(rt.subscriptions.get(s).id.clone());
    }
    if let Some(p) = route.admission.product {
        exchange.product = Some(rt.products[p].clone());
    }

    let query = uri.query().and_then(|q| query::without(q, &api.key_query));
    let client = ClientSide {
        ip: &conn.client_ip,
        scheme: if conn.tls { "https" } else { "http" },
        trusted: conn.trusted,
    };
    if let Some(plan) = api.plan(operation, route.admission.product) {
        let routed = Routed {
            route: &route,
            suffix,
            query: query.as_deref(),
            client,
            upgrade,
            started: exchange.started(),
        };
        // Boxed, like `forward` below (see there); no `let`: a moved-from local still takes
        // room in this function's future.
        return Ok(Box::pin(policy::entry::run(
            shared, rt, conn, req, routed, plan, exchange,
        ))
        .await);
    }
    let target = route.api.backend.pick(Instant::now())?;
    let f = Forward {
        target,
        suffix,
        query: query.as_deref(),
        key_header: &route.api.key_header,
        client,
        upgrade,
        timeout: shared.backend_timeout,
    };
    // Boxed so that this function's future, which hyper moves (memcpy) more than once per
    // request, stays small: awaited inline, the policy and forwarding futures made it 17 KiB
    // and the copies cost 16 % of a passthrough request's instructions (callgrind: 60.6 k →
    // 50.8 k per request); boxed, it is 1.5 KiB and the allocation costs far less.
    Box::pin(forward(req, f, exchange)).await
}

/// A CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) for which the API has
/// no `OPTIONS` operation goes to the operation of the method it asks about, as in APIM,
/// so that a `cors` policy can answer it.
fn preflight_operation(api: &CompiledApi, req: &Request<Incoming>, suffix: &str) -> Option<usize> {
    if req.method() != Method::OPTIONS {
        return None;
    }
    let asked = req
        .headers()
        .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let method = Method::from_bytes(asked.as_bytes()).ok()?;
    api.operations.find(&method, suffix, req.uri().query())
}

/// Whether a trusted front proxy says the client used HTTPS.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// Whether a path could climb out of an API's base path at a backend that normalises it: a
/// `.` or `..` segment, written plainly or percent-encoded, including segments ended by an
/// encoded slash or backslash (`..%2f`) or by a `;` parameter (`..;`). Such paths are refused
/// rather than forwarded.
fn has_dot_segment(path: &str) -> bool {
    // One pass, no allocation: it runs on every request.
    let bytes = path.as_bytes();
    let escaped = |i: usize, hex: &[u8]| {
        bytes.get(i) == Some(&b'%')
            && bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.eq_ignore_ascii_case(hex))
    };
    let (mut dots, mut only_dots, mut in_params) = (0u32, true, false);
    let mut i = 0;
    loop {
        let separator = match bytes.get(i) {
            None => Some(0),
            Some(b'/' | b'\\') => Some(1),
            Some(_) if escaped(i, b"2f") || escaped(i, b"5c") => Some(3),
            Some(_) => None,
        };
        if let Some(width) = separator {
            if only_dots && (dots == 1 || dots == 2) {
                return true;
            }
            if i >= bytes.len() {
                return false;
            }
            (dots, only_dots, in_params) = (0, true, false);
            i += width;
        } else if in_params {
            i += 1;
        } else if bytes[i] == b';' {
            in_params = true;
            i += 1;
        } else if bytes[i] == b'.' {
            dots += 1;
            i += 1;
        } else if escaped(i, b"2e") {
            dots += 1;
            i += 3;
        } else {
            only_dots = false;
            i += 1;
        }
    }
}

/// The incoming `x-request-id` when it is sane, otherwise a new UUID.
fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get("x-request-id")
        .filter(|v| !v.is_empty() && v.len() <= MAX_REQUEST_ID_LEN && v.to_str().is_ok())
        .cloned()
        .unwrap_or_else(|| {
            let id = uuid::Uuid::new_v4();
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
                .expect("a UUID is a valid header value")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_found_plain_or_encoded() {
        for bad in [
            "/a/../b",
            "/a/./b",
            "/..",
            "/a/%2e%2E/b",
            "/a/.%2e",
            "/a/%2e",
        ] {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for good in [
            "/a/b",
            "/a/.../b",
            "/a/.hidden",
            "/a/b.json",
            "/",
            "/a/%2ex",
            "/é",
            "/%2é",
        ] {
            assert!(!has_dot_segment(good), "{good}");
        }
    }
}
