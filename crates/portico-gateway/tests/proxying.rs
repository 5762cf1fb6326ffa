//! Proxying end to end: forwarded headers, streaming bodies, WebSocket, TLS backends,
//! backend failures and the listener's protections.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use portico_gateway::net::TrustedProxies;
use portico_gateway::{GatewayOptions, ListenerLimits};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn forwarding_headers_are_added_and_hop_by_hop_removed() {
    let gw = open_gateway().await;
    let a = get(
        &gw.url("/api/h"),
        &[
            ("Connection", "keep-alive, X-Secret"),
            ("X-Secret", "1"),
            ("Keep-Alive", "timeout=5"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
            ("X-Kept", "yes"),
        ],
    )
    .await;
    assert_eq!(a.status, 200);
    let seen = |h: &str| a.backend_header(h);
    assert_eq!(
        seen("x-forwarded-for").as_deref(),
        Some("203.0.113.9, 127.0.0.1")
    );
    assert_eq!(
        seen("x-forwarded-proto").as_deref(),
        Some("http"),
        "an untrusted peer cannot claim https"
    );
    assert_eq!(seen("x-forwarded-host"), Some(gw.addr.to_string()));
    assert_eq!(seen("x-kept").as_deref(), Some("yes"));
    assert_eq!(seen("x-secret"), None);
    assert_eq!(seen("keep-alive"), None);
    assert!(
        seen("host").unwrap().starts_with("127.0.0.1:"),
        "Host is the backend's"
    );
}

#[tokio::test]
async fn a_trusted_front_proxy_keeps_its_forwarded_proto_and_host() {
    let options = GatewayOptions {
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.0/8".parse().unwrap()]),
        ..options()
    };
    let gw = open_gateway_with(options, ListenerLimits::default()).await;
    let a = get(
        &gw.url("/api/h"),
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "api.contoso.com"),
        ],
    )
    .await;
    assert_eq!(
        a.backend_header("x-forwarded-proto").as_deref(),
        Some("https")
    );
    assert_eq!(
        a.backend_header("x-forwarded-host").as_deref(),
        Some("api.contoso.com")
    );
}

#[tokio::test]
async fn request_ids_and_trace_context_are_kept_or_created() {
    let gw = open_gateway().await;
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let a = get(
        &gw.url("/api/x"),
        &[("x-request-id", "abc-123"), ("traceparent", tp)],
    )
    .await;
    assert_eq!(a.backend_header("x-request-id").as_deref(), Some("abc-123"));
    assert_eq!(a.backend_header("traceparent").as_deref(), Some(tp));
    let a = get(&gw.url("/api/x"), &[]).await;
    let generated = a.backend_header("x-request-id").unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let log = gw.access_log_lines().await;
    assert_eq!(log[0]["requestId"], "abc-123");
    assert_eq!(log[1]["requestId"], generated.as_str());
    assert_eq!(log[1]["status"], 200);
    assert_eq!(log[1]["api"], "api");
    assert!(log[1]["durationMs"].as_f64().unwrap() > 0.0);
    assert!(log[1]["bytesOut"].as_u64().unwrap() > 0);
}

async fn start_websocket_echo() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        ws.send(msg).await.unwrap();
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn websocket_upgrades_pass_through() {
    let backend = start_websocket_echo().await;
    let gw = TestGateway::start(&open_api(&format!("ws://{backend}"))).await;
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/api/chat", gw.addr))
        .await
        .expect("upgrade through the gateway");
    assert_eq!(resp.status(), 101);
    for text in ["hello", "through", "portico"] {
        ws.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    ws.close(None).await.unwrap();

    // An API that does not list ws refuses the upgrade.
    let backend = start_websocket_echo().await;
    let doc = open_api(&format!("ws://{backend}")).replace("[http, https, ws]", "[http, https]");
    let gw = TestGateway::start(&doc).await;
    let err = tokio_tungstenite::connect_async(format!("ws://{}/api/chat", gw.addr))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn backend_down_is_502_and_counted() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gw = TestGateway::start(&open_api(&format!("http://127.0.0.1:{port}"))).await;
    let a = get(&gw.url("/api/x"), &[]).await;
    assert_apim_error(&a, 502, "The backend service could not be reached");
    let metrics = get(&format!("http://{}/metrics", gw.ops), &[]).await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains(r#"portico_backend_errors_total{api="api",reason="connect"} 1"#),
        "{text}"
    );
    assert_eq!(gw.access_log_lines().await[0]["error"], "connect");
}

#[tokio::test]
async fn backend_timeout_is_504() {
    let options = GatewayOptions {
        backend_timeout: Duration::from_millis(300),
        ..options()
    };
    let gw = open_gateway_with(options, ListenerLimits::default()).await;
    let started = Instant::now();
    let a = get(&gw.url("/api/slow/5000"), &[]).await;
    assert_apim_error(&a, 504, "The backend service did not respond within 0.3 s");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(get(&gw.url("/api/slow/10"), &[]).await.status, 200);
}

/// Sends raw bytes and returns what comes back until the server closes or 5 s pass.
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let gw = open_gateway().await;
    let big = "a".repeat(64 * 1024);
    let req =
        format!("GET /api/x HTTP/1.1\r\nHost: gw\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    let answer = raw_exchange(gw.addr, req.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.80}");
    // A normal request still works.
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_slot() {
    let limits = ListenerLimits {
        max_connections: 1,
        ..ListenerLimits::default()
    };
    let gw = open_gateway_with(options(), limits).await;
    let mut first = TcpStream::connect(gw.addr).await.unwrap();
    first
        .write_all(b"GET /api/x HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    first.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");

    let second = tokio::spawn({
        let addr = gw.addr;
        async move {
            raw_exchange(
                addr,
                b"GET /api/y HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second connection must wait while the first holds the only slot"
    );
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.80}");
}

#[tokio::test]
async fn the_apim_status_probe_answers_without_routing() {
    let gw = open_gateway().await;
    assert_eq!(
        get(&gw.url("/status-0123456789abcdef"), &[]).await.status,
        200
    );
}

/// A TLS acceptor with a self-signed certificate for `localhost`, offering HTTP/2 and
/// HTTP/1.1 by ALPN.
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
}

/// Accepts TLS connections ([`tls_acceptor`]) on a new port and hands each to `serve`.
async fn serve_tls<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(tokio_rustls::server::TlsStream<TcpStream>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let acceptor = tls_acceptor();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, serve) = (acceptor.clone(), serve.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve(tls).await;
                }
            });
        }
    });
    addr
}

/// A TLS backend that answers with the HTTP version it saw in `x-backend-version`.
async fn start_tls_backend() -> SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    serve_tls(|tls| async move {
        let service =
            hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                let version = format!("{:?}", req.version());
                let mut resp = portico_echo::echo(req).await?;
                resp.headers_mut()
                    .insert("x-backend-version", version.parse().unwrap());
                Ok::<_, std::convert::Infallible>(resp)
            });
        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(tls), service)
            .await;
    })
    .await
}

#[tokio::test]
async fn tls_backends_are_verified_and_spoken_to_over_http2() {
    let backend = start_tls_backend().await;
    let port = backend.port();
    let doc = format!(
        r#"
apis:
  - {{ id: verified, path: verified, serviceUrl: "https://localhost:{port}", subscriptionRequired: false,
       operations: [{{ id: all, method: GET, urlTemplate: "/*" }}] }}
  - {{ id: unverified, path: unverified, backendId: self-signed, subscriptionRequired: false,
       operations: [{{ id: all, method: GET, urlTemplate: "/*" }}] }}
backends:
  - id: self-signed
    url: https://localhost:{port}
    tls: {{ validateCertificateChain: false, validateCertificateName: false }}
"#
    );
    let gw = TestGateway::start(&doc).await;
    // The self-signed certificate is not in the system roots: refused by default.
    assert_apim_error(
        &get(&gw.url("/verified/x"), &[]).await,
        502,
        "The backend service could not be reached",
    );
    assert_eq!(
        gw.access_log_lines().await[0]["error"],
        "tls",
        "refused for its certificate"
    );
    // With verification turned off for that backend, the request goes through on HTTP/2.
    let a = get(&gw.url("/unverified/x"), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-backend-version"], "HTTP/2.0");
    assert_eq!(a.json()["path"], "/x");
}

#[tokio::test]
async fn backend_connections_are_pooled_and_reused() {
    let (backend, accepted) = start_counting_backend().await;
    let gw = TestGateway::start(&open_api(&format!("http://{backend}"))).await;
    // Fixed-length and chunked (streamed, unknown length) bodies both free their connection.
    for path in [
        "/api/a",
        "/api/bytes/100000",
        "/api/b",
        "/api/bytes/5",
        "/api/c",
    ] {
        let a = get(&gw.url(path), &[]).await;
        assert_eq!(a.status, 200, "{path}");
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one backend connection served every request"
    );
}

/// A backend that answers one request per connection and then closes it without saying so,
/// as a backend whose keep-alive timeout just expired does.
async fn start_one_shot_backend() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await
                    .unwrap();
                // Close without `Connection: close`.
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn a_pooled_connection_the_backend_closed_is_not_used() {
    let (backend, accepted) = start_one_shot_backend().await;
    let gw = TestGateway::start(&open_api(&format!("http://{backend}"))).await;
    for _ in 0..5 {
        let a = get(&gw.url("/api/x"), &[]).await;
        assert_eq!(a.status, 200);
        assert_eq!(&a.body[..], b"ok");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 5);
}

#[tokio::test]
async fn an_abandoned_response_does_not_poison_the_pool() {
    let gw = open_gateway().await;
    // Start a large download and drop it after the first bytes.
    let resp = client()
        .request(
            http::Request::get(gw.url("/api/bytes/50000000"))
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = resp.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    // The next requests get whole, correct answers.
    for _ in 0..3 {
        let a = get(&gw.url("/api/bytes/70000"), &[]).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body.len(), 70000);
    }
    let log = gw.access_log_lines().await;
    let abandoned = log
        .iter()
        .find(|l| l["path"] == "/api/bytes/50000000")
        .unwrap();
    assert_eq!(abandoned["status"], 200);
    assert_eq!(abandoned["error"], "response_incomplete", "{abandoned}");
}

#[tokio::test]
async fn clients_may_speak_http2_with_prior_knowledge() {
    let gw = open_gateway().await;
    let h2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Body>();
    let resp = h2
        .request(http::Request::get(gw.url("/api/x")).body(empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let seen: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(seen["path"], "/x");
    assert_eq!(
        seen["headers"]["x-forwarded-host"],
        gw.addr.to_string(),
        "the :authority becomes X-Forwarded-Host"
    );
}

#[tokio::test]
async fn an_overlong_request_line_is_refused() {
    let gw = open_gateway().await;
    let long = "a".repeat(64 * 1024);
    let answer = raw_exchange(
        gw.addr,
        format!("GET /api/{long} HTTP/1.1\r\nHost: gw\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 414") || answer.starts_with("HTTP/1.1 431"),
        "{answer:.80}"
    );
}

#[tokio::test]
async fn dot_segments_are_refused_and_odd_paths_answered_without_panic() {
    let gw = open_gateway().await;
    for path in ["/api/../secret", "/api/%2e%2e/secret", "/api/./x"] {
        let a = raw_exchange(
            gw.addr,
            format!("GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(a.starts_with("HTTP/1.1 400"), "{path}: {a:.80}");
    }
    // Non-ASCII (UTF-8) paths against patterns with literals.
    let backend = start_backend().await;
    let doc = format!(
        "apis:\n  - {{ id: v, path: v, serviceUrl: 'http://{backend}', subscriptionRequired: false, operations: [{{ id: o, method: GET, urlTemplate: '/v{{major}}.x' }}] }}\n"
    );
    let gw = TestGateway::start(&doc).await;
    for path in ["/v/é", "/v/vé.x", "/v/éé"] {
        let a = raw_exchange(
            gw.addr,
            format!("GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(
            a.starts_with("HTTP/1.1 200") || a.starts_with("HTTP/1.1 404"),
            "{path}: {a:.80}"
        );
    }
    assert_eq!(
        get(&gw.url("/v/v2.x"), &[]).await.status,
        200,
        "the gateway still serves"
    );
}

#[tokio::test]
async fn slow_or_silent_request_heads_are_cut_off() {
    let limits = ListenerLimits {
        header_timeout: Duration::from_millis(300),
        ..ListenerLimits::default()
    };
    let gw = open_gateway_with(options(), limits).await;
    // Half a request head (slowloris), then a connection that never sends a byte.
    for opening in [&b"GET /api/x HTTP/1.1\r\nHost: gw\r\n"[..], &b""[..]] {
        let started = Instant::now();
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(opening).await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the connection should have been closed");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test]
async fn a_client_that_leaves_before_the_answer_is_logged_as_499() {
    let gw = open_gateway().await;
    let url = gw.url("/api/slow/3000");
    let pending = tokio::spawn(async move { get(&url, &[]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    pending.abort();
    let started = Instant::now();
    loop {
        let log = gw.access_log_lines().await;
        if let Some(line) = log.iter().find(|l| l["status"] == 499) {
            assert_eq!(line["error"], "client_closed");
            assert_eq!(line["api"], "api");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no 499 line in {log:?}"
        );
    }
}

/// A TLS WebSocket echo that offers HTTP/2 as well as HTTP/1.1 by ALPN, as most TLS servers
/// do: an upgrade only works if the gateway asks for HTTP/1.1.
async fn start_tls_websocket_echo() -> SocketAddr {
    serve_tls(|tls| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
            return;
        };
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_text() {
                ws.send(msg).await.unwrap();
            }
        }
    })
    .await
}

#[tokio::test]
async fn websockets_reach_tls_backends_that_offer_http2() {
    let backend = start_tls_websocket_echo().await;
    let doc = format!(
        "apis:\n  - {{ id: ws, path: ws, backendId: b, subscriptionRequired: false, protocols: [ws], operations: [{{ id: o, method: GET, urlTemplate: '/*' }}] }}\nbackends:\n  - {{ id: b, url: 'https://localhost:{}', tls: {{ validateCertificateChain: false }} }}\n",
        backend.port()
    );
    let gw = TestGateway::start(&doc).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", gw.addr))
        .await
        .expect("upgrade through the gateway");
    ws.send(tokio_tungstenite::tungstenite::Message::text("over tls"))
        .await
        .unwrap();
    assert_eq!(
        ws.next()
            .await
            .unwrap()
            .unwrap()
            .into_text()
            .unwrap()
            .as_str(),
        "over tls"
    );
}

#[tokio::test]
async fn each_tls_check_can_be_turned_off_alone() {
    let backend = start_tls_backend().await;
    let port = backend.port();
    // The certificate is self-signed for "localhost".
    let doc = format!(
        r#"
apis:
  - {{ id: name-only, path: name-only, backendId: name-only, subscriptionRequired: false, operations: [{{ id: o, method: GET, urlTemplate: "/*" }}] }}
  - {{ id: name-wrong, path: name-wrong, backendId: name-wrong, subscriptionRequired: false, operations: [{{ id: o, method: GET, urlTemplate: "/*" }}] }}
  - {{ id: chain-only, path: chain-only, backendId: chain-only, subscriptionRequired: false, operations: [{{ id: o, method: GET, urlTemplate: "/*" }}] }}
backends:
  - {{ id: name-only, url: "https://localhost:{port}", tls: {{ validateCertificateChain: false }} }}
  - {{ id: name-wrong, url: "https://127.0.0.1:{port}", tls: {{ validateCertificateChain: false }} }}
  - {{ id: chain-only, url: "https://127.0.0.1:{port}", tls: {{ validateCertificateName: false }} }}
"#
    );
    let gw = TestGateway::start(&doc).await;
    assert_eq!(
        get(&gw.url("/name-only/x"), &[]).await.status,
        200,
        "chain unchecked, name matches"
    );
    assert_eq!(
        get(&gw.url("/name-wrong/x"), &[]).await.status,
        502,
        "the name is still checked"
    );
    assert_eq!(
        get(&gw.url("/chain-only/x"), &[]).await.status,
        502,
        "the chain is still checked"
    );
    let metrics = String::from_utf8(
        get(&format!("http://{}/metrics", gw.ops), &[])
            .await
            .body
            .to_vec(),
    )
    .unwrap();
    for api in ["name-wrong", "chain-only"] {
        assert!(
            metrics.contains(&format!(
                r#"portico_backend_errors_total{{api="{api}",reason="tls"}} 1"#
            )),
            "{metrics}"
        );
    }
}
