//! Test harness: real backends and a real gateway on 127.0.0.1 sockets, in-process.
#![allow(dead_code)]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use portico_gateway::access_log::AccessLog;
use portico_gateway::{
    serve_http, serve_https, serve_ops, Gateway, GatewayOptions, ListenerLimits,
};
use portico_model::{Document, DocumentFormat, Snapshot};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod tls;

pub type Body = BoxBody<Bytes, hyper::Error>;

/// Starts the echo backend. Paths starting with `/slow/{ms}` answer after that many
/// milliseconds; everything else is `portico_echo::echo`.
pub async fn start_backend() -> SocketAddr {
    start_counting_backend().await.0
}

/// [`start_backend`], also counting the connections it accepts.
pub async fn start_counting_backend() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service_fn(backend))
                    .await;
            });
        }
    });
    (addr, accepted)
}

/// Test backend routes, anywhere in the path:
/// - `/slow/{ms}`: wait, then echo;
/// - `/count`: read the whole body and answer with its length;
/// - `/bytes/{n}`: stream `n` zero bytes back in 64 KiB chunks;
/// - anything else: `portico_echo::echo`.
async fn backend(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    if let Some(rest) = path.split("/slow/").nth(1) {
        let ms: u64 = rest.split('/').next().unwrap_or("0").parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if path.ends_with("/count") {
        let mut body = req.into_body();
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                n += data.len() as u64;
            }
        }
        return Ok(Response::new(full(n.to_string())));
    }
    if let Some(rest) = path.split("/bytes/").nth(1) {
        let n: u64 = rest.parse().unwrap_or(0);
        return Ok(Response::new(zeros(n)));
    }
    portico_echo::echo(req).await
}

/// A streamed body of `n` zero bytes, produced chunk by chunk (never held in memory whole).
pub fn zeros(n: u64) -> Body {
    let chunk = Bytes::from(vec![0u8; 64 * 1024]);
    let chunks = (0..n.div_ceil(chunk.len() as u64)).map(move |i| {
        let len = (n - i * chunk.len() as u64).min(chunk.len() as u64) as usize;
        Ok::<_, hyper::Error>(hyper::body::Frame::data(chunk.slice(..len)))
    });
    http_body_util::StreamBody::new(futures_util::stream::iter(chunks)).boxed()
}

/// A gateway running in this process.
pub struct TestGateway {
    pub addr: SocketAddr,
    /// The HTTPS listener (serving the snapshot's hostname configurations).
    pub tls: SocketAddr,
    pub ops: SocketAddr,
    pub gateway: Gateway,
    pub access_log: Arc<Mutex<Vec<u8>>>,
    stop: watch::Sender<bool>,
    served: JoinHandle<()>,
}

/// Options most tests share: short timeouts so failures show quickly.
pub fn options() -> GatewayOptions {
    GatewayOptions {
        backend_timeout: Duration::from_secs(10),
        backend_connect_timeout: Duration::from_secs(2),
        ..GatewayOptions::default()
    }
}

pub fn snapshot(yaml: &str, revision: u64) -> Snapshot {
    let doc = Document::parse_valid(yaml, DocumentFormat::Yaml).expect("test document is valid");
    Snapshot::new(revision, doc).unwrap()
}

impl TestGateway {
    /// Starts a gateway serving `yaml`.
    pub async fn start(yaml: &str) -> Self {
        Self::start_with(yaml, options(), ListenerLimits::default()).await
    }

    pub async fn start_with(yaml: &str, options: GatewayOptions, limits: ListenerLimits) -> Self {
        let gateway = Self::unconfigured(options, limits).await;
        gateway.gateway.apply(&snapshot(yaml, 1)).unwrap();
        gateway
    }

    /// Starts a gateway with no configuration yet.
    pub async fn unconfigured(options: GatewayOptions, limits: ListenerLimits) -> Self {
        let access_log = Arc::new(Mutex::new(Vec::new()));
        let sink = SharedBuf(access_log.clone());
        let gateway = Gateway::with_access_log(options, Some(AccessLog::to_writer(sink)));
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let https = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ops = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (addr, ops_addr) = (http.local_addr().unwrap(), ops.local_addr().unwrap());
        let tls = https.local_addr().unwrap();
        let (stop, shutdown) = watch::channel(false);
        let served_https = tokio::spawn(serve_https(
            https,
            gateway.clone(),
            limits.clone(),
            shutdown.clone(),
        ));
        let served_http = tokio::spawn(serve_http(http, gateway.clone(), limits, shutdown.clone()));
        let served = tokio::spawn(async move {
            served_http.await.unwrap();
            served_https.await.unwrap();
        });
        tokio::spawn(serve_ops(ops, gateway.clone()));
        drop(shutdown);
        Self {
            addr,
            tls,
            ops: ops_addr,
            gateway,
            access_log,
            stop,
            served,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Signals shutdown and waits for the drain to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.served.await.unwrap();
    }

    /// Signals shutdown without waiting.
    pub fn begin_shutdown(&self) {
        let _ = self.stop.send(true);
    }

    pub async fn wait_stopped(self) {
        self.served.await.unwrap();
    }

    /// The access log lines written so far.
    pub async fn access_log_lines(&self) -> Vec<serde_json::Value> {
        // Let the gateway's tasks finish what they are doing, then wait until the writer
        // thread has written everything queued.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.gateway.flush_access_log(Duration::from_secs(5));
        let buf = self.access_log.lock().unwrap().clone();
        String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A plain HTTP/1.1 client.
pub fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A finished response: status, headers and the whole body.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// For echo answers: the header the backend saw.
    pub fn backend_header(&self, name: &str) -> Option<String> {
        self.json()["headers"][name].as_str().map(str::to_owned)
    }
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Sends a request and reads the whole answer.
pub async fn send(req: Request<Body>) -> Answer {
    let resp = client().request(req).await.expect("request sent");
    let (parts, body) = resp.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// GET with optional headers.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut b = Request::get(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(b.body(empty()).unwrap()).await
}

/// Checks an APIM-shaped error answer.
pub fn assert_apim_error(a: &Answer, status: u16, message_starts: &str) {
    assert_eq!(
        a.status,
        status,
        "body: {:?}",
        String::from_utf8_lossy(&a.body)
    );
    let j = a.json();
    assert_eq!(j["statusCode"], status);
    let msg = j["message"].as_str().unwrap();
    assert!(msg.starts_with(message_starts), "message {msg:?}");
}

pub const MISSING_KEY: &str = "Access denied due to missing subscription key.";
pub const INVALID_KEY: &str = "Access denied due to invalid subscription key.";

/// One open catch-all API (HTTP, HTTPS via a trusted proxy, and WebSocket) at path `api` in front of `service_url`.
pub fn open_api(service_url: &str) -> String {
    format!(
        "apis:\n  - id: api\n    path: api\n    serviceUrl: '{service_url}'\n    subscriptionRequired: false\n    protocols: [http, https, ws]\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\n"
    )
}

pub async fn open_gateway() -> TestGateway {
    open_gateway_with(options(), ListenerLimits::default()).await
}

/// An open API in front of the test backend, on a gateway with these settings.
pub async fn open_gateway_with(options: GatewayOptions, limits: ListenerLimits) -> TestGateway {
    let backend = start_backend().await;
    TestGateway::start_with(&open_api(&format!("http://{backend}")), options, limits).await
}

/// A backend that answers 500 to its first `failures` requests, then 200 with the body it got.
pub async fn flaky_backend(failures: usize) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move {
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let mut resp = http::Response::new(full(body));
                    if n < failures {
                        *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc),
            );
        }
    });
    (addr, calls)
}
