//! Connection pools to backends, one [`Endpoint`] per scheme, authority and TLS mode.
//!
//! Endpoints are looked up when a snapshot is compiled and held by the compiled backend, so
//! a request reaches its pool with no hashing. HTTP/1.1 connections are kept in a LIFO stack
//! of idle connections (the warmest first) and leased to one request at a time: the lease
//! returns when the response body has been read to its end, and a connection whose body was
//! abandoned is closed instead. An HTTP/2 connection is shared by all requests.
//!
//! A pooled connection the backend closed while idle is detected before use, and a request
//! that could not be written to a stale connection is retried on another one: the request
//! was never sent, so retrying is safe whatever its method.

use crate::proxy::body::RequestBody;
use crate::proxy::connect::{ConnectError, ConnectTarget, Connected};
use crate::proxy::tls::{Alpn, BackendTls};
use crate::runtime::breaker::{Breaker, BreakerRule};
use crate::runtime::BackendTlsSettings;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

/// Pool settings shared by every endpoint.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub connect_timeout: Duration,
    /// Idle connections older than this are closed rather than reused.
    pub idle_timeout: Duration,
    pub max_idle_per_endpoint: usize,
}

/// Why a request could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("the backend broke the exchange: {0}")]
    Request(#[from] hyper::Error),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EndpointKey {
    https: bool,
    authority: String,
    tls: BackendTlsSettings,
}

/// Every backend endpoint in use, shared across configuration reloads so warm connections
/// survive them.
#[derive(Debug)]
pub struct Upstreams {
    tls: BackendTls,
    settings: PoolSettings,
    endpoints: Mutex<HashMap<EndpointKey, Weak<Endpoint>>>,
    /// Circuit breakers by backend id and rule, so that a new snapshot keeping a backend's
    /// rule keeps its state (a tripped breaker stays tripped through a config push).
    breakers: Mutex<HashMap<(String, BreakerRule), Weak<Breaker>>>,
}

impl Upstreams {
    pub fn new(settings: PoolSettings) -> Self {
        Self {
            tls: BackendTls::load(),
            settings,
            endpoints: Mutex::new(HashMap::new()),
            breakers: Mutex::new(HashMap::new()),
        }
    }

    /// The circuit breaker of backend `id` with `rule`: the existing one while any runtime
    /// still uses it, else a new, closed one. Called when a snapshot is compiled.
    pub fn breaker(&self, id: &str, rule: BreakerRule) -> Arc<Breaker> {
        let key = (id.to_ascii_lowercase(), rule);
        let mut breakers = lock(&self.breakers);
        if let Some(existing) = breakers.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        breakers.retain(|_, b| b.strong_count() > 0);
        let breaker = Arc::new(Breaker::new(key.1.clone(), std::time::Instant::now()));
        breakers.insert(key, Arc::downgrade(&breaker));
        breaker
    }

    /// The endpoint for a backend: looked up when a snapshot is compiled, and otherwise only
    /// where a policy reaches an address it computed (`send-request`, and
    /// `authentication-certificate` the first time it presents its certificate to a backend).
    pub fn endpoint(
        &self,
        scheme: &Scheme,
        authority: &Authority,
        tls: BackendTlsSettings,
    ) -> Result<Arc<Endpoint>, String> {
        let https = *scheme == Scheme::HTTPS;
        let key = EndpointKey {
            https,
            authority: authority.as_str().to_ascii_lowercase(),
            tls,
        };
        let mut endpoints = lock(&self.endpoints);
        if let Some(existing) = endpoints.get(&key).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        endpoints.retain(|_, e| e.strong_count() > 0);
        let tls = match https {
            true => Some((
                self.tls.client_config(&key.tls, Alpn::H2OrHttp1)?,
                self.tls.client_config(&key.tls, Alpn::Http1)?,
            )),
            false => None,
        };
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let target =
            ConnectTarget::new(authority.host(), port, tls, self.settings.connect_timeout)?;
        let endpoint = Arc::new(Endpoint {
            tls_settings: key.tls.clone(),
            scheme: scheme.clone(),
            authority: authority.clone(),
            target,
            idle_timeout: self.settings.idle_timeout,
            max_idle: self.settings.max_idle_per_endpoint,
            idle: Mutex::new(Vec::new()),
            shared_h2: Mutex::new(None),
        });
        endpoints.insert(key, Arc::downgrade(&endpoint));
        Ok(endpoint)
    }
}

/// One backend address and its pooled connections.
#[derive(Debug)]
pub struct Endpoint {
    /// What the endpoint verifies and presents (for deriving the same endpoint with another
    /// client certificate).
    tls_settings: BackendTlsSettings,
    scheme: Scheme,
    authority: Authority,
    target: ConnectTarget,
    idle_timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<Idle>>,
    shared_h2: Mutex<Option<http2::SendRequest<RequestBody>>>,
}

#[derive(Debug)]
struct Idle {
    sender: http1::SendRequest<RequestBody>,
    since: Instant,
}

/// What trying the pool came to.
enum Pooled {
    Done(Result<(Response<Incoming>, Option<Lease>), SendError>),
    /// No pooled connection could take the request.
    Unsent(Request<RequestBody>),
}

enum Reusable {
    Http1(http1::SendRequest<RequestBody>),
    Http2(http2::SendRequest<RequestBody>),
}

/// An HTTP/1.1 connection lent to one request; [`Lease::release`] returns it to the pool.
#[derive(Debug)]
pub struct Lease {
    endpoint: Arc<Endpoint>,
    sender: http1::SendRequest<RequestBody>,
}

impl Lease {
    /// Returns the connection for reuse. Call only once its response was read to the end.
    pub fn release(self) {
        if self.sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = lock(&self.endpoint.idle);
        // The oldest sit at the bottom; drop those past their time.
        let expired = idle
            .iter()
            .take_while(|i| now.duration_since(i.since) > self.endpoint.idle_timeout)
            .count();
        idle.drain(..expired);
        if idle.len() < self.endpoint.max_idle {
            idle.push(Idle {
                sender: self.sender,
                since: now,
            });
        }
    }
}

impl Endpoint {
    /// `host:port` of this endpoint, for logs.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The TLS settings this endpoint was made with (ignored for `http`).
    pub fn tls_settings(&self) -> &BackendTlsSettings {
        &self.tls_settings
    }

    /// Sends a request whose URI is set here from `path`: origin-form for HTTP/1.1, absolute
    /// for HTTP/2. Returns the response and, for HTTP/1.1, the lease on its connection.
    ///
    /// A protocol upgrade (`upgrade`) always gets a fresh HTTP/1.1 connection: the connection
    /// becomes the tunnel, and HTTP/2 cannot carry an `Upgrade`.
    pub async fn send(
        self: &Arc<Self>,
        mut req: Request<RequestBody>,
        path: PathAndQuery,
        upgrade: bool,
    ) -> Result<(Response<Incoming>, Option<Lease>), SendError> {
        if upgrade {
            return match Box::pin(self.target.connect(Alpn::Http1)).await? {
                Connected::Http1(mut sender) => {
                    *req.uri_mut() = Uri::from(path);
                    let resp = sender.send_request(req).await?;
                    Ok((resp, Some(self.lease(sender))))
                }
                Connected::Http2(_) => unreachable!("only HTTP/1.1 was offered"),
            };
        }
        // Connections not ready at a glance (their task has not run since the last body
        // ended) go back to the pool afterwards rather than being closed.
        let mut not_ready = Vec::new();
        let outcome = self.send_pooled(req, &path, &mut not_ready).await;
        if !not_ready.is_empty() {
            let now = Instant::now();
            let mut idle = lock(&self.idle);
            idle.extend(
                not_ready
                    .into_iter()
                    .map(|sender| Idle { sender, since: now }),
            );
        }
        match outcome {
            Pooled::Done(result) => result,
            Pooled::Unsent(req) => self.send_new(req, path).await,
        }
    }

    /// Tries the pooled connections in turn.
    async fn send_pooled(
        self: &Arc<Self>,
        mut req: Request<RequestBody>,
        path: &PathAndQuery,
        not_ready: &mut Vec<http1::SendRequest<RequestBody>>,
    ) -> Pooled {
        while let Some(conn) = self.checkout() {
            let outcome = match conn {
                Reusable::Http2(mut sender) => {
                    *req.uri_mut() = self.absolute(path);
                    sender.try_send_request(req).await.map(|r| (r, None))
                }
                Reusable::Http1(mut sender) => {
                    // One look, no waiting.
                    match std::future::poll_fn(|cx| Poll::Ready(sender.poll_ready(cx))).await {
                        Poll::Ready(Ok(())) => {}
                        Poll::Pending => {
                            not_ready.push(sender);
                            continue;
                        }
                        Poll::Ready(Err(_)) => continue, // closed while idle
                    }
                    *req.uri_mut() = Uri::from(path.clone());
                    match sender.try_send_request(req).await {
                        Ok(resp) => Ok((resp, Some(self.lease(sender)))),
                        Err(e) => Err(e),
                    }
                }
            };
            match outcome {
                Ok(done) => return Pooled::Done(Ok(done)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent, // stale connection: try the next one
                    None => return Pooled::Done(Err(SendError::Request(e.into_error()))),
                },
            }
        }
        Pooled::Unsent(req)
    }

    /// Sends on a new connection.
    async fn send_new(
        self: &Arc<Self>,
        mut req: Request<RequestBody>,
        path: PathAndQuery,
    ) -> Result<(Response<Incoming>, Option<Lease>), SendError> {
        // Boxed: connecting (TCP, TLS, HTTP/2 handshake) is rare but its state is large, and
        // inline it would make every request's future that large too.
        match Box::pin(self.target.connect(Alpn::H2OrHttp1)).await? {
            Connected::Http1(mut sender) => {
                *req.uri_mut() = Uri::from(path);
                let resp = sender.send_request(req).await?;
                Ok((resp, Some(self.lease(sender))))
            }
            Connected::Http2(mut sender) => {
                *lock(&self.shared_h2) = Some(sender.clone());
                *req.uri_mut() = self.absolute(&path);
                Ok((sender.send_request(req).await?, None))
            }
        }
    }

    fn lease(self: &Arc<Self>, sender: http1::SendRequest<RequestBody>) -> Lease {
        Lease {
            endpoint: self.clone(),
            sender,
        }
    }

    fn checkout(&self) -> Option<Reusable> {
        {
            let mut h2 = lock(&self.shared_h2);
            match h2.as_ref() {
                Some(s) if !s.is_closed() => return Some(Reusable::Http2(s.clone())),
                Some(_) => *h2 = None,
                None => {}
            }
        }
        let now = Instant::now();
        let mut idle = lock(&self.idle);
        while let Some(i) = idle.pop() {
            if !i.sender.is_closed() && now.duration_since(i.since) <= self.idle_timeout {
                return Some(Reusable::Http1(i.sender));
            }
        }
        None
    }

    fn absolute(&self, path: &PathAndQuery) -> Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path.clone());
        Uri::from_parts(parts).expect("scheme, authority and path make a valid URI")
    }
}

/// Locks a mutex, ignoring poisoning: the pools hold no invariant a panic could break.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
