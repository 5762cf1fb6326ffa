//! Forwarding one request to its backend: the backend URL is the service URL plus the path
//! after the API's path plus the query; headers are cleaned and the `X-Forwarded-*` set added;
//! the body streams through; the backend's answer streams back.

use crate::errors::GatewayError;
use crate::exchange::Exchange;
use crate::proxy::body::{RequestBody, ResponseBody};
use crate::proxy::client::UpstreamClients;
use crate::proxy::headers::{self, ClientSide};
use crate::proxy::upgrade;
use crate::runtime::BackendTarget;
use http::uri::PathAndQuery;
use http::{header, HeaderName, Request, Response, StatusCode, Uri, Version};
use hyper::body::Incoming;
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
    pub timeout: Duration,
}

/// Sends `req` to the backend and returns its response, ready for the client.
pub async fn forward(
    clients: &UpstreamClients,
    mut req: Request<Incoming>,
    f: Forward<'_>,
    exchange: &mut Exchange,
) -> Result<Response<ResponseBody>, GatewayError> {
    let upgrade = headers::is_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();

    parts.uri = backend_uri(f.target, f.suffix, f.query)?;
    parts.version = Version::HTTP_11;
    let original_host = parts
        .headers
        .get(header::HOST)
        .cloned()
        .or_else(|| parts.uri.authority().and_then(|a| a.as_str().parse().ok()));
    let h = &mut parts.headers;
    headers::strip_hop_by_hop(h, upgrade);
    h.remove(f.key_header);
    headers::add_forwarded(h, f.client, original_host);
    h.insert(header::HOST, f.target.host.clone());
    h.insert(X_REQUEST_ID.clone(), exchange.request_id.clone());

    let upstream = Request::from_parts(parts, RequestBody::new(body, exchange.bytes_in.clone()));
    let sent = Instant::now();
    let result =
        tokio::time::timeout(f.timeout, clients.for_tls(f.target.tls).request(upstream)).await;
    exchange.backend_time = Some(sent.elapsed());
    let mut resp = match result {
        Err(_) => return Err(GatewayError::BackendTimeout(f.timeout)),
        Ok(Err(e)) => {
            let reason = if e.is_connect() {
                "connect"
            } else {
                "protocol"
            };
            tracing::warn!(request_id = ?exchange.request_id, backend = %f.target.authority, error = %error_chain(&e), "backend request failed");
            return Err(GatewayError::BackendUnavailable { reason });
        }
        Ok(Ok(resp)) => resp,
    };

    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    if let (true, Some(client_upgrade)) = (switching, client_upgrade) {
        upgrade::tunnel(client_upgrade, hyper::upgrade::on(&mut resp));
    }
    headers::strip_hop_by_hop(resp.headers_mut(), switching && upgrade);
    Ok(resp.map(ResponseBody::upstream))
}

/// `scheme://authority` + base path + suffix + `?query`.
fn backend_uri(t: &BackendTarget, suffix: &str, query: Option<&str>) -> Result<Uri, GatewayError> {
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
    let pq = PathAndQuery::try_from(pq).map_err(|_| GatewayError::NotFound)?;
    Uri::builder()
        .scheme(t.scheme.clone())
        .authority(t.authority.clone())
        .path_and_query(pq)
        .build()
        .map_err(|_| GatewayError::NotFound)
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
    use crate::runtime::TlsVerification;

    #[test]
    fn backend_uri_joins_base_suffix_and_query() {
        let t = BackendTarget::parse("http://b:81/base", TlsVerification::Full).unwrap();
        assert_eq!(
            backend_uri(&t, "/users/1", Some("a=1")).unwrap(),
            "http://b:81/base/users/1?a=1"
        );
        assert_eq!(backend_uri(&t, "", None).unwrap(), "http://b:81/base");
        let t = BackendTarget::parse("http://b", TlsVerification::Full).unwrap();
        assert_eq!(backend_uri(&t, "", None).unwrap(), "http://b/");
    }
}
