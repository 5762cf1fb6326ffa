//! The request path through the gateway: health probe, then API by path prefix, protocol,
//! operation by method and template, subscription key, then forwarding. Each step either
//! narrows the match or ends the request with APIM's answer.

use crate::errors::GatewayError;
use crate::exchange::Exchange;
use crate::gateway::Shared;
use crate::proxy::body::ResponseBody;
use crate::proxy::forward::{forward, Forward};
use crate::proxy::headers::{self, ClientSide};
use crate::query;
use crate::runtime::{CompiledApi, KeyCheck, Params, Runtime};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use portico_model::Protocol;
use std::borrow::Cow;
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
    /// The peer's address as `X-Forwarded-For` text.
    pub client_ip: HeaderValue,
    /// Whether the peer is a trusted front proxy.
    pub trusted: bool,
}

impl Connection {
    pub fn new(peer: SocketAddr, tls: bool, trusted_proxies: &crate::net::TrustedProxies) -> Self {
        Self {
            peer,
            tls,
            client_ip: headers::ip_header_value(peer.ip()),
            trusted: trusted_proxies.contains(peer.ip()),
        }
    }
}

/// What routing matched, for the steps after it (and, later, policies).
#[derive(Debug)]
pub struct MatchedRoute<'r> {
    pub api: &'r CompiledApi,
    pub operation: usize,
    pub params: Params<'r>,
    pub product: Option<usize>,
    pub subscription: Option<usize>,
}

/// Answers one request. Never fails: every error becomes an APIM-shaped response.
pub async fn handle(
    shared: Arc<Shared>,
    conn: Connection,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let started = Instant::now();
    if req.uri().path() == STATUS_PATH {
        let mut resp = Response::new(ResponseBody::empty());
        *resp.status_mut() = StatusCode::OK;
        return resp;
    }
    let mut exchange = Exchange::start(
        shared.telemetry.clone(),
        started,
        request_id(req.headers()),
        req.method().clone(),
        req.uri().path(),
        conn.peer.ip(),
    );
    let result = match shared.runtime.load_full() {
        Some(runtime) => route_and_forward(&shared, &runtime, conn, req, &mut exchange).await,
        None => Err(GatewayError::NotConfigured),
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
    conn: Connection,
    req: Request<Incoming>,
    exchange: &mut Exchange,
) -> Result<Response<ResponseBody>, GatewayError> {
    let uri = req.uri().clone();
    let path = uri.path();
    let found = rt.router.find(path).ok_or(GatewayError::NotFound)?;
    let api = &rt.apis[found.api];
    exchange.route = api.metrics.clone();

    let upgrade = headers::is_upgrade(req.headers());
    let protocol = match (upgrade, conn.tls) {
        (false, false) => Protocol::Http,
        (false, true) => Protocol::Https,
        (true, false) => Protocol::Ws,
        (true, true) => Protocol::Wss,
    };
    if !api.protocols.contains(&protocol) {
        return Err(GatewayError::NotFound);
    }

    let suffix = &path[found.suffix_start..];
    let mut params = Params::new();
    let operation = api
        .operations
        .find(req.method(), suffix, uri.query(), &mut params)
        .ok_or(GatewayError::NotFound)?;
    exchange.route = api.operation_metrics[operation].clone();

    let mut route = MatchedRoute {
        api,
        operation,
        params,
        product: None,
        subscription: None,
    };
    authorize(rt, &mut route, found.api, req.headers(), uri.query())?;
    if let Some(s) = route.subscription {
        exchange.subscription = Some(rt.subscriptions.get(s).id.clone());
    }
    if let Some(p) = route.product {
        exchange.product = Some(rt.products[p].clone());
    }

    let query = uri.query().and_then(|q| query::without(q, &api.key_query));
    let client = ClientSide {
        ip: &conn.client_ip,
        scheme: if conn.tls { "https" } else { "http" },
        trusted: conn.trusted,
    };
    let f = Forward {
        target: &route.api.backend,
        suffix,
        query: query.as_deref(),
        key_header: &route.api.key_header,
        client,
        timeout: shared.backend_timeout,
    };
    forward(req, f, exchange).await
}

/// Checks the subscription key as APIM does: a key, when sent, must be valid for the API
/// even if the API is open; an API that requires one refuses requests without it.
fn authorize(
    rt: &Runtime,
    route: &mut MatchedRoute<'_>,
    api_index: usize,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), GatewayError> {
    let api = route.api;
    let key: Option<Cow<'_, [u8]>> = match headers.get(&api.key_header) {
        Some(v) => Some(Cow::Borrowed(v.as_bytes())),
        None => query
            .and_then(|q| query::find(q, &api.key_query))
            .map(|k| match k {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }),
    };
    let Some(key) = key else {
        return if api.subscription_required {
            Err(GatewayError::MissingKey)
        } else {
            Ok(())
        };
    };
    match rt.subscriptions.check(&key, api_index, &api.products) {
        KeyCheck::Granted {
            subscription,
            product,
        } => {
            route.subscription = Some(subscription);
            route.product = product;
            Ok(())
        }
        KeyCheck::Denied => Err(GatewayError::InvalidKey),
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
