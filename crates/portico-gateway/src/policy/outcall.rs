//! One HTTP call the gateway makes for a policy (`send-request`, `send-one-way-request`,
//! OpenID discovery for `validate-jwt`), over the same connection pools as forwarding. The
//! answer is read whole, up to [`BODY_CAP`](super::BODY_CAP), so the connection goes back to
//! its pool before any policy looks at it.

use super::backend_certificate::BackendCertificate;
use super::body::{self, TooLarge};
use crate::proxy::body::{RequestBody, ResponseBody};
use crate::proxy::pool::Upstreams;
use crate::runtime::{BackendTarget, TlsVerification};
use bytes::Bytes;
use http::uri::PathAndQuery;
use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// A request to send.
#[derive(Debug)]
pub struct Call {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub timeout: Duration,
    /// A client certificate to present if the URL is `https`.
    pub certificate: Option<Arc<BackendCertificate>>,
}

/// The answer, in memory.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a call failed; the message is safe to show in `context.LastError` (no secrets: the
/// URL's query is left out).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the URL is not usable: {0}")]
    Url(String),
    #[error("no answer from {0} in time")]
    Timeout(String),
    #[error("{0} could not be reached")]
    Unreachable(String),
    #[error("the answer from {0} is larger than a policy may buffer or broke off")]
    Body(String),
    #[error("the call was cancelled: the gateway is shutting down")]
    Cancelled,
}

/// Where a URL goes: the pooled target and the path and query to ask for.
fn locate(url: &str, upstreams: &Upstreams) -> Result<(BackendTarget, PathAndQuery), CallError> {
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|_| CallError::Url("not an absolute http(s) URL".into()))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(CallError::Url("not an absolute http(s) URL".into()));
    };
    let target = BackendTarget::parse(
        &format!("{scheme}://{authority}"),
        TlsVerification::FULL,
        upstreams,
    )
    .map_err(CallError::Url)?;
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    Ok((target, path))
}

/// A call ready to go: owns everything it needs, so it can be sent from a spawned task.
#[derive(Debug)]
pub struct Prepared {
    target: BackendTarget,
    request: Request<RequestBody>,
    path: PathAndQuery,
    timeout: Duration,
}

/// Resolves the URL to its pool and readies the request.
pub fn prepare(call: Call, upstreams: &Upstreams) -> Result<Prepared, CallError> {
    let (mut target, path) = locate(&call.url, upstreams)?;
    if let Some(certificate) = &call.certificate {
        target = certificate
            .apply(&target, upstreams)
            .map_err(CallError::Url)?;
    }
    let mut request = Request::new(RequestBody::full(
        call.body.clone(),
        Arc::new(AtomicU64::new(0)),
    ));
    *request.method_mut() = call.method;
    *request.headers_mut() = call.headers;
    let h = request.headers_mut();
    h.insert(header::HOST, target.host.clone());
    h.remove(header::TRANSFER_ENCODING);
    if !call.body.is_empty() || h.contains_key(header::CONTENT_LENGTH) {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(call.body.len()));
    }
    Ok(Prepared {
        target,
        request,
        path,
        timeout: call.timeout,
    })
}

/// Sends `call` and reads the answer whole.
pub async fn send(call: Call, upstreams: &Upstreams) -> Result<Answer, CallError> {
    prepare(call, upstreams)?.send().await
}

impl Prepared {
    pub async fn send(self) -> Result<Answer, CallError> {
        let who = self.target.endpoint.authority().to_string();
        let endpoint = self.target.endpoint.clone();
        let exchange = async {
            let (resp, lease) = endpoint
                .send(self.request, self.path, false)
                .await
                .map_err(|_| CallError::Unreachable(who.clone()))?;
            let (parts, incoming) = resp.into_parts();
            // The lease goes back to the pool once the body has been read to its end.
            let mut body = ResponseBody::upstream(incoming, lease);
            let bytes = body::collect(&mut body)
                .await
                .map_err(|_: TooLarge| CallError::Body(who.clone()))?;
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body: bytes,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| CallError::Timeout(who.clone()))?
    }
}
