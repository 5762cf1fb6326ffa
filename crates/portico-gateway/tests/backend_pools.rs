//! Pool backends and circuit breakers over real sockets: weights spread requests, priorities
//! fail over, a tripped breaker answers 503 without touching the backend and closes again.

mod common;

use common::{get, TestGateway};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A backend that answers `status` with `x-backend: name`, counting the requests it gets.
struct Labelled {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
}

async fn labelled(name: &'static str) -> Labelled {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let status = Arc::new(AtomicU16::new(200));
    let (h, s) = (hits.clone(), status.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (h, s) = (h.clone(), s.clone());
            let svc = service_fn(move |_req: Request<Incoming>| {
                h.fetch_add(1, Ordering::SeqCst);
                let code = s.load(Ordering::SeqCst);
                async move {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .status(code)
                            .header("x-backend", name)
                            .body(common::empty())
                            .unwrap(),
                    )
                }
            });
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Labelled { addr, hits, status }
}

fn document(backends: &str) -> String {
    format!(
        "apis:\n  - id: api\n    path: api\n    backendId: front\n    subscriptionRequired: false\n    operations:\n      - {{ id: all, method: '*', urlTemplate: '/*' }}\nbackends:\n{backends}"
    )
}

const BREAKER: &str = "    circuitBreaker:\n      rules:\n        - name: five-hundreds\n          failureCondition: { count: 3, interval: PT1M, statusCodeRanges: [{ min: 500, max: 599 }] }\n          tripDuration: PT1S\n";

#[tokio::test]
async fn a_pool_spreads_by_weight_and_fails_over_by_priority() {
    let (a, b, c) = (
        labelled("a").await,
        labelled("b").await,
        labelled("c").await,
    );
    let backends = format!(
        "  - id: a\n    url: http://{}\n{BREAKER}  - id: b\n    url: http://{}\n  - id: c\n    url: http://{}\n  - id: front\n    type: Pool\n    pool:\n      services: [{{ id: a, weight: 3 }}, {{ id: /backends/b, weight: 1 }}, {{ id: c, priority: 1 }}]\n",
        a.addr, b.addr, c.addr
    );
    let gw = TestGateway::start(&document(&backends)).await;
    for _ in 0..40 {
        assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    }
    let (ha, hb, hc) = (
        a.hits.load(Ordering::SeqCst),
        b.hits.load(Ordering::SeqCst),
        c.hits.load(Ordering::SeqCst),
    );
    assert_eq!(
        (ha, hb, hc),
        (30, 10, 0),
        "weights 3:1 within priority 0; priority 1 unused"
    );

    // `a` starts failing: its breaker trips after three failures and `b` takes everything.
    a.status.store(500, Ordering::SeqCst);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(get(&gw.url("/api/x"), &[]).await.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 500).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        a.hits.load(Ordering::SeqCst),
        ha + 3,
        "a tripped breaker gets no requests"
    );
    assert!(
        statuses[statuses.len() - 10..].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    assert_eq!(
        c.hits.load(Ordering::SeqCst),
        0,
        "b still serves priority 0"
    );
}

#[tokio::test]
async fn a_tripped_breaker_answers_503_at_once_and_closes_after_the_trip() {
    let a = labelled("a").await;
    a.status.store(503, Ordering::SeqCst);
    let backends = format!("  - id: front\n    url: http://{}\n{BREAKER}", a.addr);
    let gw = TestGateway::start(&document(&backends)).await;
    for _ in 0..3 {
        assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 503);
    }
    let open = get(&gw.url("/api/x"), &[]).await;
    common::assert_apim_error(&open, 503, "Service Unavailable");
    assert!(
        open.backend_header("x-backend").is_none(),
        "answered by the gateway"
    );
    assert_eq!(a.hits.load(Ordering::SeqCst), 3);

    // A config push that keeps the rule keeps the breaker open.
    let pushed = format!(
        "  - id: front\n    description: pushed\n    url: http://{}\n{BREAKER}",
        a.addr
    );
    gw.gateway
        .apply(&common::snapshot(&document(&pushed), 2))
        .unwrap();
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 503);
    assert_eq!(
        a.hits.load(Ordering::SeqCst),
        3,
        "still open after the push"
    );

    a.status.store(200, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&gw.url("/api/x"), &[]).await.status, 200);
    assert_eq!(a.hits.load(Ordering::SeqCst), 4);
}
