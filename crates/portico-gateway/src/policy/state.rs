//! One request's state while its pipeline runs: the request as the policies have changed it
//! so far (method, headers, backend path and query, backend, body), the backend's response
//! once there is one, variables and the last error. Bodies stay streams until a policy
//! needs them in memory.

use super::body::{self, TooLarge};
use crate::proxy::body::ResponseBody;
use crate::runtime::BackendTarget;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use portico_policy::expr::Value;
use std::sync::Arc;

/// A request body: the client's stream until a policy reads or replaces it.
#[derive(Debug)]
pub enum RequestPayload {
    Stream(Incoming),
    Buffered(Bytes),
}

impl RequestPayload {
    /// The body in memory, reading the stream (up to the cap) the first time.
    pub async fn buffer(&mut self) -> Result<&Bytes, TooLarge> {
        if let RequestPayload::Stream(stream) = self {
            let bytes = body::collect(stream).await?;
            *self = RequestPayload::Buffered(bytes);
        }
        match self {
            RequestPayload::Buffered(b) => Ok(b),
            RequestPayload::Stream(_) => unreachable!("buffered just above"),
        }
    }

    /// The buffered body, if it is in memory.
    pub fn buffered(&self) -> Option<&Bytes> {
        match self {
            RequestPayload::Buffered(b) => Some(b),
            RequestPayload::Stream(_) => None,
        }
    }
}

/// A response body: the backend's stream (with its connection lease) or bytes in memory.
#[derive(Debug)]
pub enum ResponsePayload {
    Stream(ResponseBody),
    Buffered(Bytes),
}

/// The response the pipeline will answer with.
#[derive(Debug)]
pub struct ResponseState {
    pub status: StatusCode,
    pub reason: Option<String>,
    pub headers: HeaderMap,
    pub body: ResponsePayload,
}

impl ResponseState {
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            headers: HeaderMap::new(),
            body: ResponsePayload::Buffered(Bytes::new()),
        }
    }

    pub async fn buffer(&mut self) -> Result<&Bytes, TooLarge> {
        if let ResponsePayload::Stream(stream) = &mut self.body {
            let bytes = body::collect(stream).await?;
            self.body = ResponsePayload::Buffered(bytes);
        }
        match &self.body {
            ResponsePayload::Buffered(b) => Ok(b),
            ResponsePayload::Stream(_) => unreachable!("buffered just above"),
        }
    }
}

/// `context.LastError`.
#[derive(Debug, Clone)]
pub struct LastError {
    pub source: Arc<str>,
    pub reason: Arc<str>,
    pub message: Arc<str>,
    pub scope: Arc<str>,
    pub section: Arc<str>,
    pub path: Arc<str>,
    pub policy_id: Arc<str>,
}

/// The request as the pipeline sees and changes it.
#[derive(Debug)]
pub struct RequestState {
    pub method: http::Method,
    pub headers: HeaderMap,
    pub body: RequestPayload,
    /// The path sent to the backend after its base path (the API-relative path at first).
    pub path: String,
    /// The query sent to the backend (without the subscription key).
    pub query: Option<String>,
    pub backend: Arc<BackendTarget>,
    /// Template parameters the operation matched (captured only when a policy reads them).
    pub params: Vec<(Box<str>, Box<str>)>,
    pub variables: Vec<(String, Value)>,
    pub response: Option<ResponseState>,
    pub last_error: Option<LastError>,
    /// The key a `cache-lookup` missed, for `cache-store` to fill.
    pub cache_miss: Option<Box<super::cache::Pending>>,
    /// What traffic policies left for the end of the request (`after`).
    pub after: Option<Box<super::after::After>>,
    /// The client's side of a protocol switch, when it asked for one.
    pub upgrade: Option<OnUpgrade>,
    /// The certificate `authentication-certificate` chose for the backend's handshake.
    pub backend_certificate: Option<Arc<super::backend_certificate::BackendCertificate>>,
}

impl RequestState {
    /// Sets `context.Variables[name]`, replacing an earlier value of the same name.
    pub fn set_variable(&mut self, name: &str, value: Value) {
        match self.variables.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.variables.push((name.to_owned(), value)),
        }
    }
}
